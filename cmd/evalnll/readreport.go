package main

import (
	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/store"

	"context"
	"fmt"
	"io"
	"os"
)

// defaultMaxReportBytes is the largest JSON report read back (a baseline,
// compare's two reports): a report of 100,000 slices with 15 bins each is
// about 150 MB.
const defaultMaxReportBytes = evalcmd.DefaultMaxReportBytes

// readReport reads a JSON report of at most max bytes. It stops with the
// context (a FIFO with no writer, a device that never ends), and refuses a
// file larger than max without reading more than max+1 bytes of it.
func readReport(ctx context.Context, what, path string, max int64) ([]byte, error) {
	if store.IsURL(path) {
		return store.ReadAll(ctx, path, max)
	}
	f, err := openCtx(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %v", what, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", what)
	}
	data, err := io.ReadAll(io.LimitReader(ctxReader{ctx, f}, max+1))
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, unwrapPath(err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes, the most read as a JSON report (--max-report-bytes)", what, max)
	}
	return data, nil
}

// openCtx opens path for reading, giving up when ctx is done: opening a
// FIFO blocks until a writer opens it.
func openCtx(ctx context.Context, path string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		return o.f, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
