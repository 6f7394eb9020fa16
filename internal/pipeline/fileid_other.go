//go:build !unix

package pipeline

import "os"

func sysID(os.FileInfo) (FileID, bool) { return FileID{}, false }

func processGone(int) bool { return false }
