package store

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
)

// Object is one version of an object, read with ranged GETs. It is an
// io.ReaderAt safe for concurrent use.
type Object struct {
	c    *Client
	b    *blob.Bucket
	loc  Loc
	ctx  context.Context
	size int64
	etag string
	gen  int64 // GCS generation, else 0
	mod  time.Time

	runs map[int64]int // block index → length of the sequential run ending there (under cache.mu)

	plan   []*piece // planned reads, by offset (under Client.pmu)
	closed bool     // (under Client.pmu)
}

// Size is the size of the version opened.
func (o *Object) Size() int64 { return o.size }

// Name is the URL as messages show it.
func (o *Object) Name() string { return o.loc.String() }

// Close drops the object's cached blocks and planned reads.
func (o *Object) Close() error {
	o.dropPlan()
	o.c.cache.drop(o)
	return nil
}

// ReadAt reads len(p) bytes at off. Reads of at least a block go to the
// service directly; smaller ones through the cache.
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= o.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), o.size-off))
	for q, at := p[:n], off; len(q) > 0; {
		planned, k, err := o.readPlanned(q, at)
		if err != nil {
			return 0, err
		}
		if !planned {
			if int64(k) >= o.c.opt.BlockSize {
				err = o.readLarge(q[:k], at)
			} else {
				err = o.readCached(q[:k], at)
			}
			if err != nil {
				return 0, err
			}
		}
		q, at = q[k:], at+int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (o *Object) readCached(p []byte, off int64) error {
	bs := o.c.opt.BlockSize
	for len(p) > 0 {
		idx := off / bs
		b := o.c.cache.get(o, idx, true)
		<-b.done
		if b.err != nil {
			o.c.cache.release(b)
			return b.err
		}
		k := copy(p, b.data[off-idx*bs:])
		o.c.cache.release(b)
		p = p[k:]
		off += int64(k)
		if k == 0 {
			return &Error{URL: o.loc.String(), Op: "read", Err: io.ErrUnexpectedEOF, Kind: Transient}
		}
	}
	return nil
}

// readLarge serves a read of a block or more: from the blocks held or in
// flight (read ahead) where there are some, with one direct GET for each
// stretch that has none, not kept in the cache.
func (o *Object) readLarge(p []byte, off int64) error {
	bs := o.c.opt.BlockSize
	c := o.c.cache
	for len(p) > 0 {
		idx := off / bs
		c.mu.Lock()
		b := c.blocks[blockKey{o, idx}]
		if b != nil {
			b.refs++
			if b.elem != nil {
				c.lru.Remove(b.elem)
				b.elem = nil
			}
		}
		var n int64
		if b == nil {
			// The stretch of absent blocks from here.
			end := (idx + 1) * bs
			for end < off+int64(len(p)) && c.blocks[blockKey{o, end / bs}] == nil {
				end += bs
			}
			n = min(end, off+int64(len(p))) - off
		}
		c.mu.Unlock()
		if b == nil {
			if _, err := o.readDirect(p[:n], off); err != nil {
				return err
			}
		} else {
			<-b.done
			if b.err != nil {
				c.release(b)
				return b.err
			}
			n = int64(copy(p, b.data[off-idx*bs:]))
			c.release(b)
			if n == 0 {
				return &Error{URL: o.loc.String(), Op: "read", Err: io.ErrUnexpectedEOF, Kind: Transient}
			}
		}
		p = p[n:]
		off += n
	}
	return nil
}

// readDirect fills p from off with one ranged GET (retried).
func (o *Object) readDirect(p []byte, off int64) (int, error) {
	err := o.c.retry(o.ctx, o.loc, "read", func(ctx context.Context) error {
		return o.get(ctx, p, off)
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// get is one ranged GET of len(p) bytes at off, checked against the
// version opened, with a stall timer re-armed at every chunk received.
func (o *Object) get(ctx context.Context, p []byte, off int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timeout := o.c.opt.ReadTimeout
	var mu sync.Mutex
	fired := false
	t := time.AfterFunc(timeout, func() {
		mu.Lock()
		fired = true
		mu.Unlock()
		cancel()
	})
	defer t.Stop()
	wrapStall := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		if fired {
			return stalled{timeout}
		}
		return err
	}
	o.c.count(1, 0, 0)
	r, err := o.b.NewRangeReader(ctx, o.loc.Key, off, int64(len(p)), &blob.ReaderOptions{BeforeRead: o.beforeRead})
	if err != nil {
		return wrapStall(err)
	}
	defer r.Close()
	if err := o.checkVersion(r); err != nil {
		return err
	}
	got := 0
	for got < len(p) {
		t.Reset(timeout)
		m, err := r.Read(p[got:min(len(p), got+256<<10)])
		got += m
		o.c.count(0, int64(m), 0)
		if err != nil {
			if err == io.EOF {
				if got < len(p) {
					return fmt.Errorf("body cut short at %d of %d bytes: %w", got, len(p), io.ErrUnexpectedEOF)
				}
				break
			}
			return wrapStall(err)
		}
	}
	return nil
}

// checkVersion compares what a response says of the object with the
// version opened.
func (o *Object) checkVersion(r *blob.Reader) error {
	if r.Size() != o.size {
		return fmt.Errorf("%w (size %d, was %d)", ErrChanged, r.Size(), o.size)
	}
	var so s3.GetObjectOutput
	if r.As(&so) {
		if e := aws.ToString(so.ETag); e != "" && o.etag != "" && e != o.etag {
			return ErrChanged
		}
		return nil
	}
	var gr *storage.Reader
	if r.As(&gr) {
		if gr != nil && o.gen != 0 && gr.Attrs.Generation != 0 && gr.Attrs.Generation != o.gen {
			return ErrChanged
		}
		return nil
	}
	var ar azblobblob.DownloadStreamResponse
	if r.As(&ar) {
		if ar.ETag != nil && o.etag != "" && string(*ar.ETag) != o.etag {
			return ErrChanged
		}
		return nil
	}
	if o.loc.Scheme == "file" && !r.ModTime().Equal(o.mod) {
		return ErrChanged
	}
	return nil
}

func beforeReadAzure(o *Object, as func(any) bool) error {
	var ao *azblobblob.DownloadStreamOptions
	if as(&ao) && ao != nil && o.etag != "" {
		e := azcore.ETag(o.etag)
		if ao.AccessConditions == nil {
			ao.AccessConditions = &azblobblob.AccessConditions{}
		}
		if ao.AccessConditions.ModifiedAccessConditions == nil {
			ao.AccessConditions.ModifiedAccessConditions = &azblobblob.ModifiedAccessConditions{}
		}
		ao.AccessConditions.ModifiedAccessConditions.IfMatch = &e
	}
	return nil
}

// cache holds blocks of objects, fetched on demand or ahead of a
// sequential reader, up to a byte budget.
type cache struct {
	mu     sync.Mutex
	limit  int64
	used   int64
	lru    *list.List // of *block, unreferenced and complete
	blocks map[blockKey]*block
}

type blockKey struct {
	o   *Object
	idx int64
}

type block struct {
	key  blockKey
	data []byte
	err  error
	done chan struct{}
	refs int
	elem *list.Element
}

func newCache(limit int64) *cache {
	return &cache{limit: limit, lru: list.New(), blocks: map[blockKey]*block{}}
}

// get returns block idx of o, referenced (release it), starting its fetch
// when absent. A demand read also keeps a few blocks ahead of it fetched
// once reads run sequentially across blocks (reads of announced ranges go
// through the planner instead: see plan.go).
func (c *cache) get(o *Object, idx int64, demand bool) *block {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.lookupLocked(o, idx)
	if b == nil {
		c.startLocked(o, idx, 1)
		b = c.blocks[blockKey{o, idx}]
	}
	b.refs++
	if demand {
		to := idx + 1
		{
			if o.runs == nil {
				o.runs = map[int64]int{}
			}
			run, ok := o.runs[idx]
			if prev, seq := o.runs[idx-1]; seq && !ok {
				run = prev + 1
				delete(o.runs, idx-1)
			} else if !ok {
				run = 1
			}
			if len(o.runs) > 64 {
				clear(o.runs)
			}
			o.runs[idx] = run
			to = idx + 1 + int64(min(run-1, o.c.opt.ReadAhead))
		}
		c.ensureLocked(o, idx+1, to)
	}
	return b
}

// maxGroup is the most blocks fetched by one GET.
const maxGroup = 4

// ensureLocked starts the fetch of the blocks [from, to) of o that are
// neither held nor in flight, a run of up to maxGroup blocks per GET, while
// the budget allows.
func (c *cache) ensureLocked(o *Object, from, to int64) {
	bs := o.c.opt.BlockSize
	to = min(to, (o.size+bs-1)/bs)
	for i := from; i < to; {
		if c.blocks[blockKey{o, i}] != nil {
			i++
			continue
		}
		k := int64(1)
		for k < maxGroup && i+k < to && c.blocks[blockKey{o, i + k}] == nil {
			k++
		}
		c.evictLocked(k * bs)
		if c.used+k*bs > c.limit {
			return // no room to read ahead
		}
		c.startLocked(o, i, k)
		for j := i; j < i+k; j++ {
			c.toLRULocked(c.blocks[blockKey{o, j}]) // unreferenced until read
		}
		i += k
	}
}

type span struct{ lo, hi int64 }

func (c *cache) lookupLocked(o *Object, idx int64) *block {
	b := c.blocks[blockKey{o, idx}]
	if b != nil && b.elem != nil {
		c.lru.Remove(b.elem)
		b.elem = nil
	}
	return b
}

func (c *cache) toLRULocked(b *block) {
	if b.refs == 0 && b.elem == nil {
		b.elem = c.lru.PushBack(b)
	}
}

// startLocked registers the k blocks from idx of o and fetches them with
// one ranged GET in the background.
func (c *cache) startLocked(o *Object, idx, k int64) {
	bs := o.c.opt.BlockSize
	lo := idx * bs
	hi := min((idx+k)*bs, o.size)
	c.evictLocked(hi - lo)
	bl := make([]*block, 0, k)
	for i := idx; i < idx+k; i++ {
		b := &block{key: blockKey{o, i}, data: nil, done: make(chan struct{})}
		c.blocks[b.key] = b
		c.used += min(bs, o.size-i*bs)
		bl = append(bl, b)
	}
	go func() {
		buf := make([]byte, hi-lo)
		_, err := o.readDirect(buf, lo)
		c.mu.Lock()
		defer c.mu.Unlock()
		for j, b := range bl {
			n := min(bs, o.size-b.key.idx*bs)
			b.data = buf[int64(j)*bs : int64(j)*bs+n : int64(j)*bs+n]
			b.err = err
			close(b.done)
			if err != nil && c.blocks[b.key] == b {
				// Not kept: the next read retries.
				c.removeLocked(b)
			}
		}
	}()
}

// evictLocked drops least recently used complete blocks until n more bytes
// fit, or none is left to drop.
func (c *cache) evictLocked(n int64) {
	for c.used+n > c.limit {
		e := c.lru.Front()
		if e == nil {
			return
		}
		b := e.Value.(*block)
		select {
		case <-b.done:
		default:
			// A read-ahead in flight: move on to the next.
			c.lru.MoveToBack(e)
			if c.lru.Front() == e {
				return
			}
			allInFlight := true
			for x := c.lru.Front(); x != nil; x = x.Next() {
				select {
				case <-x.Value.(*block).done:
					allInFlight = false
				default:
				}
			}
			if allInFlight {
				return
			}
			continue
		}
		c.removeLocked(b)
	}
}

func (c *cache) removeLocked(b *block) {
	if b.elem != nil {
		c.lru.Remove(b.elem)
		b.elem = nil
	}
	if c.blocks[b.key] == b {
		delete(c.blocks, b.key)
		bs := b.key.o.c.opt.BlockSize
		c.used -= min(bs, b.key.o.size-b.key.idx*bs)
	}
}

func (c *cache) release(b *block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.refs--
	if c.blocks[b.key] == b {
		c.toLRULocked(b)
	}
}

// drop forgets o's blocks (those in flight finish and are dropped).
func (c *cache) drop(o *Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, b := range c.blocks {
		if k.o == o {
			c.removeLocked(b)
		}
	}
	o.runs = nil
}
