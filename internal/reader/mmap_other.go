//go:build !linux

package reader

import "os"

func mapFile(*os.File, int64) []byte { return nil }
func unmapFile([]byte)               {}
func dropPages(m, b []byte)          {}
func populate(m, b []byte) bool      { return false }
