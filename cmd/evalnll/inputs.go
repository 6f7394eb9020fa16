package main

import (
	"github.com/evalnll/evalnll/store"

	"errors"
	"io"
	"os"
	"syscall"

	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
)

// defaultMaxStdinBytes is the most standard input spooled to disk.
const defaultMaxStdinBytes = evalcmd.DefaultMaxStdinBytes

// inputs are the opened inputs of a command. Files are opened lazily: each
// is opened once for its metadata, then held open only while read or
// while a pool of a few hundred has room (a folder of 10,000 files runs
// under `ulimit -n 1024`).
type inputs struct {
	files []reader.File
	names []string
	opt   reader.Options
	pool  *reader.Pool

	// Standard input, when it is a pipe: read as a stream through rec,
	// which keeps what was read until settleStdin decides whether to
	// spool it.
	stdin    int // index in files, or -1
	rec      *recorder
	maxStdin int64
	spool    string
}

// openFilesBudget is the number of files the pool keeps open: a quarter of
// the descriptor limit (which Go raises to the hard limit at start), between
// 8 and 1024.
func openFilesBudget() int {
	var rl syscall.Rlimit
	n := 256
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		n = int(min(rl.Cur/4, 1024))
	}
	return max(n, 8)
}

// openInputs opens the expanded input paths ("-" is standard input).
func openInputs(e *env, paths []string, opt reader.Options, maxStdin int64) (*inputs, error) {
	in := &inputs{opt: opt, pool: reader.NewPool(openFilesBudget()), stdin: -1, maxStdin: maxStdin}
	// Objects are opened concurrently: each costs round trips (attributes,
	// then the footer). Errors are still reported in input order.
	pre := openURLs(e.ctx, paths, opt)
	defer func() {
		for _, o := range pre {
			if o.f != nil {
				o.f.Close()
			}
		}
	}()
	for i, p := range paths {
		if e.ctx.Err() != nil {
			return in, e.ctx.Err()
		}
		var f reader.File
		var err error
		name := p
		if store.IsURL(p) {
			f, err = pre[i].f, pre[i].err
			pre[i].f = nil
			name = store.Redact(p)
		} else {
			f, err = in.open(e, p)
		}
		if err != nil {
			return in, err
		}
		in.files = append(in.files, f)
		in.names = append(in.names, name)
	}
	return in, nil
}

func (in *inputs) open(e *env, p string) (reader.File, error) {
	if p != "-" {
		return reader.OpenLazy(p, p, in.opt, in.pool)
	}
	in.stdin = len(in.files)
	if f, ok := e.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			// Redirected from a file: read it like any other file,
			// through its descriptor (it can be read twice).
			if lf, err := reader.OpenLazy("/dev/stdin", "-", in.opt, in.pool); err == nil {
				return lf, nil
			}
			return reader.OpenReader("-", f, in.opt)
		}
	}
	in.rec = &recorder{r: pipeline.Interruptible(e.ctx, e.stdin), on: true, limit: in.maxStdin}
	return reader.OpenReader("-", in.rec, in.opt)
}

// settleStdin decides how standard input, when it is a pipe, is read:
// as a stream, once, or, when twice may be needed, from a spool file of at
// most maxStdin bytes (removed by close, or on an interrupt; a spool left
// by a killed process is removed by the next run).
func (in *inputs) settleStdin(e *env, twice bool) error {
	if in.rec == nil {
		return nil
	}
	rec := in.rec
	in.rec = nil
	if !twice {
		rec.stop()
		return nil
	}
	if rec.err != nil {
		return rec.err
	}
	head := rec.stop()
	path, err := pipeline.Spool(e.ctx, head, rec.r, in.maxStdin, func(name string) {
		in.spool = name
		e.atInterrupt(func() { os.Remove(name) })
	})
	if err != nil {
		return err
	}
	in.files[in.stdin].Close()
	f, err := reader.OpenLazy(path, "-", in.opt, in.pool)
	if err != nil {
		return err
	}
	in.files[in.stdin] = f
	return nil
}

func (in *inputs) close() {
	for _, f := range in.files {
		f.Close()
	}
	if in.spool != "" {
		os.Remove(in.spool)
	}
}

// recorder keeps a copy of what is read through it while on, up to limit
// bytes (then reading fails).
type recorder struct {
	r     io.Reader
	buf   []byte
	on    bool
	limit int64
	err   error
}

var errStdinTooLarge = errors.New("-: standard input read before its schema was known exceeds --max-stdin-bytes")

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.on {
		if int64(len(r.buf)+n) > r.limit {
			r.err = errStdinTooLarge
			return 0, r.err
		}
		r.buf = append(r.buf, p[:n]...)
	}
	return n, err
}

// stop stops recording and returns what was recorded.
func (r *recorder) stop() []byte {
	r.on = false
	b := r.buf
	r.buf = nil
	return b
}
