package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// spoolPrefix starts the name of a spool file of standard input, followed
// by the process id of its owner.
const spoolPrefix = "evalnll-stdin-"

// ErrSpoolLimit is wrapped when standard input holds more than the spool
// may take.
var ErrSpoolLimit = errors.New("standard input is larger than the spool limit")

// Spool copies head and then the rest of r into a temporary file of at
// most limit bytes, so that standard input can be read more than once. It
// stops with ctx. created is called with the file's name as soon as it
// exists (the caller registers its removal); the caller removes the file.
// Spools left by processes that no longer run (killed before they could
// remove theirs) are removed first.
func Spool(ctx context.Context, head []byte, r io.Reader, limit int64, created func(string)) (string, error) {
	CleanStaleSpools(os.TempDir())
	f, err := os.CreateTemp("", spoolPrefix+strconv.Itoa(os.Getpid())+"-*.arrows")
	if err != nil {
		return "", fmt.Errorf("-: %w", err)
	}
	name := f.Name()
	created(name)
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if int64(len(head)) > limit {
		return fail(fmt.Errorf("-: %w (%d bytes; --max-stdin-bytes)", ErrSpoolLimit, limit))
	}
	if _, err := f.Write(head); err != nil {
		return fail(fmt.Errorf("-: spooling standard input: %w", err))
	}
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, limit-int64(len(head))+1))
	switch {
	case ctx.Err() != nil:
		return fail(ctx.Err())
	case err != nil:
		return fail(fmt.Errorf("-: reading standard input: %w", err))
	case int64(len(head))+n > limit:
		return fail(fmt.Errorf("-: %w (%d bytes; --max-stdin-bytes)", ErrSpoolLimit, limit))
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("-: %w", err)
	}
	return name, nil
}

// CleanStaleSpools removes the spool files in dir whose process is gone.
func CleanStaleSpools(dir string) {
	ms, _ := filepath.Glob(filepath.Join(dir, spoolPrefix+"*"))
	for _, m := range ms {
		rest := strings.TrimPrefix(filepath.Base(m), spoolPrefix)
		i := strings.IndexAny(rest, "-.")
		if i <= 0 {
			continue
		}
		pid, err := strconv.Atoi(rest[:i])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if processGone(pid) {
			os.Remove(m)
		}
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

// Interruptible returns a reader of r whose Read returns ctx's error as
// soon as ctx is done, even while r blocks (standard input that never
// closes): r is read by a goroutine of its own, ahead by at most one
// buffer of 64 KiB.
func Interruptible(ctx context.Context, r io.Reader) io.Reader {
	return &pump{ctx: ctx, r: r}
}

type chunk struct {
	b   []byte
	err error
}

type pump struct {
	ctx   context.Context
	r     io.Reader
	ch    chan chunk
	free  chan []byte
	cur   []byte
	spent []byte
	err   error
}

func (p *pump) start() {
	p.ch = make(chan chunk)
	p.free = make(chan []byte, 2)
	p.free <- make([]byte, 64<<10)
	p.free <- make([]byte, 64<<10)
	go func() {
		for {
			var buf []byte
			select {
			case buf = <-p.free:
			case <-p.ctx.Done():
				return
			}
			n, err := p.r.Read(buf)
			select {
			case p.ch <- chunk{buf[:n], err}:
			case <-p.ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

func (p *pump) Read(b []byte) (int, error) {
	if p.ch == nil {
		p.start()
	}
	for len(p.cur) == 0 {
		if p.spent != nil {
			p.free <- p.spent[:cap(p.spent)]
			p.spent = nil
		}
		if p.err != nil {
			return 0, p.err
		}
		select {
		case c := <-p.ch:
			p.cur, p.spent, p.err = c.b, c.b, c.err
		case <-p.ctx.Done():
			return 0, p.ctx.Err()
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}
