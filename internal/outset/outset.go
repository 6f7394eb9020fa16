// Package outset writes a command's outputs all or nothing. A caller adds
// each output to a Set with its Sink (FileSink, AppendSink, WriterSink, or
// a Sink of its own such as an object store's), then calls Stage, which
// writes every output where it is not yet visible, and Commit, which makes
// them visible in order (or Abort). When one fails, none replaces anything.
package outset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// A Sink is where one output goes. Writing an output is cut in two: Stage
// puts the data where it can be made visible later (a temporary file
// beside the target), Commit makes it visible (a rename), so that a set of
// outputs is committed only when every one was staged. Another store plugs
// in its own Sink: an object store stages in memory or as a multipart
// upload and commits with a PUT.
type Sink interface {
	// Name is the output's name, for messages.
	Name() string
	// Stage writes data where Commit can make it visible; nothing the
	// user sees changes.
	Stage(data []byte) error
	// Commit makes the staged data visible.
	Commit() error
	// Rollback undoes a Commit, when a later output of the set could not
	// be committed (best effort; false when it cannot be undone).
	Rollback() bool
	// Abort drops what Stage left behind. It is safe to call at any time,
	// from another goroutine too, and more than once.
	Abort()
}

// ErrAborted is returned by Set.Commit after Abort.
var ErrAborted = errors.New("outputs discarded")

// Set writes several outputs all or nothing: every one is staged
// before any is committed, and when one fails none replaces anything.
type Set struct {
	mu      sync.Mutex
	items   []outItem
	aborted bool
}

type outItem struct {
	sink Sink
	data []byte
	last bool // committed after the others (a stream that cannot be undone)
}

// Add adds an output. Outputs are committed in the order added, those
// added with AddLast after the others.
func (s *Set) Add(sink Sink, data []byte) {
	s.items = append(s.items, outItem{sink: sink, data: data})
}

// AddLast adds an output that cannot be rolled back (standard output): it
// is written once every other output is committed.
func (s *Set) AddLast(sink Sink, data []byte) {
	s.items = append(s.items, outItem{sink: sink, data: data, last: true})
}

// Stage stages every output; on the first failure it aborts them all and
// returns the error.
func (s *Set) Stage() error {
	for _, it := range s.items {
		s.mu.Lock()
		aborted := s.aborted
		s.mu.Unlock()
		if aborted {
			return ErrAborted
		}
		if err := it.sink.Stage(it.data); err != nil {
			s.Abort()
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		// Abort ran while the last output was staged: drop it too.
		for _, it := range s.items {
			it.sink.Abort()
		}
		return ErrAborted
	}
	return nil
}

// Commit commits every staged output, those added with AddLast last. When
// one fails, the ones committed before it are rolled back. ctx ends a
// commit blocked opening a FIFO no one reads (as a failure: rolled back).
func (s *Set) Commit(ctx context.Context) error {
	s.mu.Lock()
	if s.aborted {
		s.mu.Unlock()
		return ErrAborted
	}
	var done []Sink
	fail := func(err error) error {
		for i := len(done) - 1; i >= 0; i-- {
			done[i].Rollback()
		}
		for _, it := range s.items {
			it.sink.Abort()
		}
		return err
	}
	for _, it := range s.items {
		if it.last {
			continue
		}
		if fs, ok := it.sink.(*fileSink); ok {
			fs.ctx = ctx
		}
		if err := it.sink.Commit(); err != nil {
			err = fail(err)
			s.mu.Unlock()
			return err
		}
		done = append(done, it.sink)
	}
	s.forget()
	s.mu.Unlock()
	for _, it := range s.items {
		if it.last {
			if err := it.sink.Commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Abort drops every staged output. Once Commit has begun it waits for it
// and drops nothing.
func (s *Set) Abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	for _, it := range s.items {
		it.sink.Abort()
	}
}

// FileSink writes a file through a temporary file in its directory, renamed
// into place by Commit; an existing file keeps its permissions, and is
// kept (hard-linked) until the set is committed so that Rollback can put it
// back. A path that is not a regular file (a device, a FIFO) is written
// directly at Commit.
func FileSink(path string) Sink { return &fileSink{path: path} }

type fileSink struct {
	ctx     context.Context // ends a blocked open of a FIFO (nil: none)
	path    string
	mu      sync.Mutex
	tmp     string // staged data
	backup  string // the previous file, hard-linked, during Commit
	direct  []byte // data for a device or FIFO, written at Commit
	existed bool
	aborted bool
}

func (f *fileSink) Name() string { return f.path }

func (f *fileSink) Stage(data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(f.path); err == nil {
		switch {
		case st.IsDir():
			return fmt.Errorf("%s: is a directory", f.path)
		case !st.Mode().IsRegular():
			f.direct = data
			return nil
		}
		mode = st.Mode().Perm()
		f.existed = true
	}
	dir := filepath.Dir(f.path)
	f.mu.Lock()
	if f.aborted {
		f.mu.Unlock()
		return ErrAborted
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp-*")
	if err != nil {
		f.mu.Unlock()
		return fmt.Errorf("%s: %w", f.path, unwrapPath(err))
	}
	f.tmp = tmp.Name()
	f.mu.Unlock()
	err = func() error {
		if _, err := tmp.Write(data); err != nil {
			return err
		}
		if err := tmp.Chmod(mode); err != nil {
			return err
		}
		if err := tmp.Sync(); err != nil {
			return err
		}
		return nil
	}()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.path, unwrapPath(err))
	}
	return nil
}

func (f *fileSink) Commit() error {
	if f.direct != nil {
		w, err := openWrite(f.ctx, f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, unwrapPath(err))
		}
		_, err = w.Write(f.direct)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, unwrapPath(err))
		}
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.aborted || f.tmp == "" {
		return ErrAborted
	}
	if f.existed {
		// Keep the previous file under another name until the set is
		// committed (a hard link: no copy). Without one, Rollback
		// cannot restore it.
		b := f.tmp + ".old"
		if os.Link(f.path, b) == nil {
			f.backup = b
		}
	}
	if err := os.Rename(f.tmp, f.path); err != nil {
		return fmt.Errorf("%s: %w", f.path, unwrapPath(err))
	}
	f.tmp = ""
	return nil
}

func (f *fileSink) Rollback() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.direct != nil {
		return false
	}
	if f.backup != "" {
		err := os.Rename(f.backup, f.path)
		f.backup = ""
		return err == nil
	}
	if !f.existed {
		return os.Remove(f.path) == nil
	}
	return false
}

func (f *fileSink) Abort() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborted = true
	if f.tmp != "" {
		os.Remove(f.tmp)
		f.tmp = ""
	}
	// After a commit, the backup is only a second name of the old file.
	if f.backup != "" {
		os.Remove(f.backup)
		f.backup = ""
	}
}

// forget drops the backups of the committed files of a set.
func (s *Set) forget() {
	for _, it := range s.items {
		if fs, ok := it.sink.(*fileSink); ok {
			fs.mu.Lock()
			if fs.backup != "" {
				os.Remove(fs.backup)
				fs.backup = ""
			}
			fs.mu.Unlock()
		}
	}
}

// AppendSink appends to a file (a step summary that collects several
// sections), or creates it; Stage checks that it can be opened for
// appending, Commit appends.
func AppendSink(path string) Sink { return &appendSink{path: path} }

type appendSink struct {
	path    string
	mu      sync.Mutex
	data    []byte
	f       *os.File
	created bool
	size    int64
}

func (a *appendSink) Name() string { return a.path }

func (a *appendSink) Stage(data []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
		a.created = err == nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a.path, unwrapPath(err))
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		a.size = st.Size()
	}
	a.f, a.data = f, data
	return nil
}

func (a *appendSink) Commit() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return ErrAborted
	}
	_, err := a.f.Write(a.data)
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f = nil
	if err != nil {
		return fmt.Errorf("%s: %w", a.path, unwrapPath(err))
	}
	return nil
}

func (a *appendSink) Rollback() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.created {
		return os.Remove(a.path) == nil
	}
	return os.Truncate(a.path, a.size) == nil
}

func (a *appendSink) Abort() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f != nil {
		a.f.Close()
		a.f = nil
		if a.created {
			os.Remove(a.path)
		}
	}
}

// WriterSink writes to w (standard output) at Commit; it cannot be rolled
// back, so a set commits it last.
func WriterSink(name string, w io.Writer) Sink { return &writerSink{name: name, w: w} }

type writerSink struct {
	name string
	w    io.Writer
	data []byte
}

func (s *writerSink) Name() string            { return s.name }
func (s *writerSink) Stage(data []byte) error { s.data = data; return nil }
func (s *writerSink) Commit() error {
	_, err := s.w.Write(s.data)
	return err
}
func (s *writerSink) Rollback() bool { return false }
func (s *writerSink) Abort()         {}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openWrite opens path for writing, giving up when ctx ends: opening a
// FIFO for writing blocks until a reader opens it.
func openWrite(ctx context.Context, path string) (*os.File, error) {
	if ctx == nil {
		return os.OpenFile(path, os.O_WRONLY, 0)
	}
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
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
