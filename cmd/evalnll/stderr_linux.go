package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"syscall"
)

// runtimeNoise starts the lines that libraries print with the runtime's
// println straight to descriptor 2, bypassing evalnll's error line:
// parquet-go warns so of corrupt byte-array pages ("parquet: warning:
// column 0 byte array page has 152 offsets ..."), and evalnll reports the
// same file as one line of its own.
var runtimeNoise = [][]byte{[]byte("parquet: warning: ")}

// filterStderr moves the process's standard error to a new descriptor,
// returned as a file for evalnll's own messages, and puts a pipe on
// descriptor 2 whose lines are copied to it except the library noise
// above. Crashes are written to the real standard error too
// (debug.SetCrashOutput). flush restores descriptor 2 and waits for the
// copy to end; call it before exiting. On failure it returns os.Stderr.
func filterStderr() (stderr *os.File, flush func()) {
	orig, err := syscall.Dup(2)
	if err != nil {
		return os.Stderr, func() {}
	}
	syscall.CloseOnExec(orig)
	real := os.NewFile(uintptr(orig), "/dev/stderr")
	r, w, err := os.Pipe()
	if err != nil {
		real.Close()
		return os.Stderr, func() {}
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		r.Close()
		w.Close()
		real.Close()
		return os.Stderr, func() {}
	}
	w.Close()
	debug.SetCrashOutput(real, debug.CrashOptions{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyFiltered(real, r)
	}()
	return real, func() {
		// Descriptor 2 back on the real standard error closes the
		// pipe's last writer: the copy sees the end.
		syscall.Dup3(orig, 2, 0)
		<-done
	}
}

// copyFiltered copies the lines of r to w, except those that start with
// runtimeNoise.
func copyFiltered(w io.Writer, r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && !isNoise(line) {
			w.Write(line)
		}
		if err != nil {
			return
		}
	}
}

func isNoise(line []byte) bool {
	for _, p := range runtimeNoise {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	return sdkNoise.Match(line)
}

// sdkNoise is the AWS SDK's default logger ("SDK 2026/12/06 12:43:25 WARN
// falling back to IMDSv1: ..." when no instance metadata answers): what
// it warns of reaches the user as evalnll's own one-line error, if it
// matters.
var sdkNoise = regexp.MustCompile(`^SDK \d{4}/\d\d/\d\d \d\d:\d\d:\d\d (WARN|DEBUG) `)
