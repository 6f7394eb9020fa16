package reader

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// OpenNamed opens the file at path as Open does, naming it name in every
// error (a spool file of standard input is named "-").
func OpenNamed(path, name string, opt Options) (File, error) {
	return openNamed(path, name, opt, nil)
}

// OpenReader opens standard input, or any reader, named name in errors.
// A regular file (standard input redirected from a file) is read at
// random like any other file and never closed; anything else must hold an
// Arrow IPC stream, read in order, once.
func OpenReader(name string, r io.Reader, opt Options) (f File, err error) {
	if opt.MaxBatchBytes <= 0 {
		opt.MaxBatchBytes = DefaultOptions().MaxBatchBytes
	}
	alloc := memory.NewGoAllocator()
	defer func() {
		if p := recover(); p != nil {
			f = nil
			err = newError(name, true, "", panicError(p))
		}
	}()
	if osf, ok := r.(*os.File); ok {
		if st, err := osf.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			return openOS("-", name, osf, opt, alloc)
		}
	}
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(8)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return nil, newError(name, false, "", err)
		}
		return nil, newError(name, true, "", errors.New("empty input"))
	}
	switch {
	case bytes.HasPrefix(head, magicParquet) || bytes.HasPrefix(head, magicParquetEncrypted):
		return nil, newError(name, true, "", errors.New("a Parquet file cannot be read from a pipe; pass its path instead of -"))
	case bytes.HasPrefix(head, magicArrow):
		return nil, newError(name, true, "", errors.New("an Arrow IPC file cannot be read from a pipe; pass its path, or send an Arrow IPC stream"))
	}
	return openArrowStream("-", name, br, nil, -1, opt, alloc)
}
