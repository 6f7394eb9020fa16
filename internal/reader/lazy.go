package reader

import (
	"container/list"
	"errors"
	"sync"

	"github.com/evalnll/evalnll/internal/column"
)

// Pool bounds the files held open at once by the lazy files that share it
// (see OpenLazy): a run over 10,000 files needs no more descriptors than
// the pool allows, plus one per file being read.
type Pool struct {
	mu   sync.Mutex
	max  int
	idle *list.List // *lazyFile held open, most recently used last
}

// NewPool returns a pool that keeps at most n files open while they are
// not being read (at least 1).
func NewPool(n int) *Pool { return &Pool{max: max(n, 1), idle: list.New()} }

// OpenLazy opens the file at path (named name in errors) to read its
// metadata, and then holds it open only while it is read, or while pool
// has room: a file closed by the pool is opened again for its next Scan.
// A stream (which can be read only once) is opened again for every Scan,
// so a lazy file can be read more than once whatever its format. A file
// whose units differ when it is opened again is an error: it changed
// while it was read.
func OpenLazy(path, name string, opt Options, pool *Pool) (File, error) {
	inner, err := openNamed(path, name, opt, nil)
	if err != nil {
		return nil, err
	}
	f := &lazyFile{pool: pool, path: path, name: name, opt: opt, inner: inner,
		format: inner.Format(), fields: inner.Fields(), rows: inner.Rows(),
		units: inner.Units(), meta: inner.Metadata()}
	pool.put(f)
	return f, nil
}

type lazyFile struct {
	pool       *Pool
	path, name string
	opt        Options
	format     Format
	fields     []Field
	rows       int64
	units      []Unit
	meta       [][2]string

	mu     sync.Mutex
	inner  File // nil while closed
	refs   int  // scanners and parts in use
	spent  bool // a stream was scanned: open it again for the next Scan
	closed bool
	elem   *list.Element // in pool.idle, while open and unused
}

func (f *lazyFile) Path() string          { return f.path }
func (f *lazyFile) Format() Format        { return f.format }
func (f *lazyFile) Fields() []Field       { return f.fields }
func (f *lazyFile) Rows() int64           { return f.rows }
func (f *lazyFile) Units() []Unit         { return f.units }
func (f *lazyFile) Metadata() [][2]string { return f.meta }

// acquire returns the open file, opening it if needed, and counts a user.
func (f *lazyFile) acquire() (File, error) {
	f.pool.take(f)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, newError(f.name, false, "", errors.New("file is closed"))
	}
	if f.inner != nil && f.spent && f.refs == 0 {
		f.inner.Close()
		f.inner = nil
	}
	if f.inner == nil {
		in, err := openNamed(f.path, f.name, f.opt, nil)
		if err != nil {
			return nil, err
		}
		if in.Rows() != f.rows || len(in.Units()) != len(f.units) {
			in.Close()
			return nil, newError(f.name, true, "", errors.New("the file changed while it was read"))
		}
		f.inner, f.spent = in, false
	}
	f.refs++
	return f.inner, nil
}

// release gives back n uses; an unused file goes back to the pool.
func (f *lazyFile) release(n int) {
	f.mu.Lock()
	f.refs -= n
	idle := f.refs == 0 && f.inner != nil && !f.closed
	f.mu.Unlock()
	if idle {
		f.pool.put(f)
	}
}

// put marks f open and unused, and closes the least recently used unused
// files beyond the pool's size.
func (p *Pool) put(f *lazyFile) {
	if f.units == nil {
		// A stream stays open: a pipe or FIFO cannot be opened again
		// at the same place.
		return
	}
	p.mu.Lock()
	if f.elem == nil {
		f.elem = p.idle.PushBack(f)
	} else {
		p.idle.MoveToBack(f.elem)
	}
	// Files are read in input order, in passes (metadata, sizes, data):
	// evicting the most recently used file other than f, rather than the
	// least, keeps the first files of a pass open for the next one,
	// where the least recently used would be closed just before it is
	// needed again, every time.
	var evict []*lazyFile
	for p.idle.Len() > p.max {
		g := p.idle.Remove(f.elem.Prev()).(*lazyFile)
		g.elem = nil
		evict = append(evict, g)
	}
	p.mu.Unlock()
	for _, g := range evict {
		g.mu.Lock()
		if g.refs == 0 && g.inner != nil {
			g.inner.Close()
			g.inner = nil
		}
		g.mu.Unlock()
	}
}

// take removes f from the unused files.
func (p *Pool) take(f *lazyFile) {
	p.mu.Lock()
	if f.elem != nil {
		p.idle.Remove(f.elem)
		f.elem = nil
	}
	p.mu.Unlock()
}

func (f *lazyFile) Close() error {
	f.pool.take(f)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.inner != nil {
		err := f.inner.Close()
		f.inner = nil
		return err
	}
	return nil
}

func (f *lazyFile) Scan(u int, cols []string, maxRows int) Scanner {
	in, err := f.acquire()
	if err != nil {
		return &errScanner{err: err}
	}
	if f.units == nil {
		f.mu.Lock()
		f.spent = true
		f.mu.Unlock()
	}
	return &lazyScanner{Scanner: in.Scan(u, cols, maxRows), f: f}
}

func (f *lazyFile) UnitBytes(u int, cols []string) int64 {
	in, err := f.acquire()
	if err != nil {
		return 0
	}
	defer f.release(1)
	if sp, ok := in.(Splitter); ok {
		return sp.UnitBytes(u, cols)
	}
	return 0
}

// Split keeps the file open until every part it returns has been read
// (the parts refer to the open file), or until Close.
func (f *lazyFile) Split(u int, cols []string, n int) ([]Part, error) {
	in, err := f.acquire()
	if err != nil {
		return nil, err
	}
	sp, ok := in.(Splitter)
	if !ok {
		f.release(1)
		return nil, errors.New("not splittable")
	}
	parts, err := sp.Split(u, cols, n)
	if err != nil || len(parts) < 2 {
		// Not cut: the caller reads the unit with Scan.
		f.release(1)
		return parts, err
	}
	f.mu.Lock()
	f.refs += len(parts) - 1 // one use per part, released by its scanner
	f.mu.Unlock()
	return parts, nil
}

func (f *lazyFile) ScanPart(p Part, cols []string, maxRows int) Scanner {
	f.mu.Lock()
	in := f.inner
	f.mu.Unlock()
	if in == nil {
		return &errScanner{err: newError(f.name, false, "", errors.New("file is closed"))}
	}
	// The part's use was counted by Split.
	return &lazyScanner{Scanner: in.(Splitter).ScanPart(p, cols, maxRows), f: f}
}

// lazyScanner gives its file's use back when closed.
type lazyScanner struct {
	Scanner
	f    *lazyFile
	done bool
}

func (s *lazyScanner) Close() {
	s.Scanner.Close()
	if !s.done {
		s.done = true
		s.f.release(1)
	}
}

// errScanner is a Scanner that failed before its first batch.
type errScanner struct{ err error }

func (s *errScanner) Next() bool           { return false }
func (s *errScanner) Batch() *column.Batch { return nil }
func (s *errScanner) Err() error           { return s.err }
func (s *errScanner) Close()               {}
