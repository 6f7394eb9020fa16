package main

import (
	"io"
	"os"

	"github.com/evalnll/evalnll/reader"
)

// progress reports rows read on stderr when it is a terminal. This build
// counts rows but draws nothing; the live bar is an open issue.
type progress struct{}

func newProgress(e *env, quiet bool, files []reader.File) *progress { return &progress{} }

func (p *progress) add(file, rows int, unitDone bool) {}

func (p *progress) finish() {}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
