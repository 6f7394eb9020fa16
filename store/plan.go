package store

import (
	"slices"
)

// Planned reads. The table readers announce, in the order a run will read
// them, the byte ranges it needs (Parquet column chunks of the row groups
// it was given, Arrow IPC record batches) through Object.WillRead. The
// client turns them into pieces of at most Options.PieceSize bytes
// (ranges of one object closer than Options.Coalesce bytes are fetched
// together) and fetches the pieces in announcement order, Options.PlanGets
// GETs at a time, while the bytes fetched and not yet consumed stay within
// Options.PlanBytes. A piece is dropped once every byte of it has been read
// (the readers read a chunk's page headers, then its pages: a piece lives
// until both are done), so a row group of any size streams through a
// bounded window. A read that finds its piece still queued starts it at
// once (a reader ahead of the queue), and every reader keeps the next
// promoteAhead pieces of its object started; a small read of a queued
// piece (a page header ahead of the window) goes through the block cache
// instead.
//
// Memory: PlanBytes, plus 1+promoteAhead pieces per reader (the pieces a
// reader keeps started ahead of itself, when the queue has not).

type pieceState uint8

const (
	queued pieceState = iota
	inflight
	held
	released
)

type piece struct {
	o       *Object
	lo, hi  int64
	state   pieceState
	data    []byte
	err     error
	done    chan struct{}
	refs    int
	covered []span // bytes read (or skipped gaps), merged, sorted
	dead    bool   // the object was closed
}

func (p *piece) size() int64 { return p.hi - p.lo }

// cover records [lo, hi) as read.
func (p *piece) cover(lo, hi int64) {
	lo, hi = max(lo, p.lo), min(hi, p.hi)
	if lo >= hi {
		return
	}
	c := p.covered
	i := 0
	for i < len(c) && c[i].hi < lo {
		i++
	}
	j := i
	for j < len(c) && c[j].lo <= hi {
		lo, hi = min(lo, c[j].lo), max(hi, c[j].hi)
		j++
	}
	p.covered = slices.Replace(c, i, j, span{lo, hi})
}

func (p *piece) complete() bool {
	return len(p.covered) == 1 && p.covered[0].lo == p.lo && p.covered[0].hi == p.hi
}

// planner is the client's queue of planned pieces (under Client.pmu).
type planner struct {
	queue []*piece
	head  int   // queue[:head] started (or skipped)
	bytes int64 // held or in flight
	gets  int   // in flight
	peak  int64 // the most bytes held or in flight at once
}

// WillRead announces that [off, off+n) of o will be read, after what was
// announced before it. Ranges already planned are not planned again.
func (o *Object) WillRead(off, n int64) {
	o.WillReadRanges([][2]int64{{off, n}})
}

// WillReadRanges announces ranges (offset, length) in the order they will
// be read: the column chunks of a row group, coalesced with one another
// before any is fetched.
func (o *Object) WillReadRanges(rs [][2]int64) {
	c := o.c
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if o.closed {
		return
	}
	for _, r := range rs {
		o.planLocked(r[0], r[1])
	}
	c.pumpLocked()
}

func (o *Object) planLocked(off, n int64) {
	lo, hi := max(off, 0), min(off+n, o.size)
	if lo >= hi {
		return
	}
	// The gaps of [lo, hi) between pieces already planned: those read and
	// dropped are planned again (a run made twice).
	i, _ := slices.BinarySearchFunc(o.plan, lo, func(p *piece, x int64) int {
		if p.hi <= x {
			return -1
		}
		return 1
	})
	j := i
	for j < len(o.plan) && o.plan[j].lo < hi && o.plan[j].state == released {
		j++
	}
	o.plan = slices.Delete(o.plan, i, j)
	at := lo
	for ; at < hi; i++ {
		end := hi
		if i < len(o.plan) && o.plan[i].lo < hi {
			end = max(at, o.plan[i].lo)
		}
		if at < end {
			o.addLocked(at, end)
			i, _ = slices.BinarySearchFunc(o.plan, end, func(p *piece, x int64) int {
				if p.hi <= x {
					return -1
				}
				return 1
			})
		}
		if i >= len(o.plan) || o.plan[i].lo >= hi {
			break
		}
		at = o.plan[i].hi
	}
}

// addLocked plans [lo, hi), which overlaps no piece: it extends the last
// piece queued when that one is o's last and ends close before lo, else
// makes new pieces.
func (o *Object) addLocked(lo, hi int64) {
	c := o.c
	pl := &c.plan
	if n := len(pl.queue); n > pl.head && len(o.plan) > 0 {
		last := pl.queue[n-1]
		if last.o == o && last == o.plan[len(o.plan)-1] && last.state == queued &&
			lo >= last.hi && lo-last.hi <= c.opt.Coalesce && hi-last.lo <= c.opt.PieceSize {
			gap := last.hi
			last.hi = hi
			last.cover(gap, lo) // the gap is fetched, never read
			return
		}
	}
	pos, _ := slices.BinarySearchFunc(o.plan, lo, func(p *piece, x int64) int {
		if p.lo < x {
			return -1
		}
		return 1
	})
	var add []*piece
	for at := lo; at < hi; {
		end := min(hi, at+c.opt.PieceSize)
		p := &piece{o: o, lo: at, hi: end, done: make(chan struct{})}
		add = append(add, p)
		pl.queue = append(pl.queue, p)
		at = end
	}
	o.plan = slices.Insert(o.plan, pos, add...)
}

// pumpLocked starts the queued pieces that the budget allows.
func (c *Client) pumpLocked() {
	pl := &c.plan
	for pl.head < len(pl.queue) && pl.gets < c.opt.PlanGets {
		p := pl.queue[pl.head]
		if p.state != queued {
			pl.head++
			continue
		}
		if pl.bytes > 0 && pl.bytes+p.size() > c.opt.PlanBytes {
			// Pieces are dropped as they are read. One that a reader
			// left unfinished stays until its object is closed; the
			// queue then moves on as readers start their pieces
			// themselves.
			break
		}
		pl.head++
		c.startLocked(p)
	}
	if pl.head > 4096 && pl.head > len(pl.queue)/2 {
		pl.queue = slices.Delete(pl.queue, 0, pl.head)
		pl.head = 0
	}
}

// startLocked fetches p in the background.
func (c *Client) startLocked(p *piece) {
	p.state = inflight
	c.plan.bytes += p.size()
	c.plan.peak = max(c.plan.peak, c.plan.bytes)
	c.plan.gets++
	go func() {
		buf := make([]byte, p.size())
		_, err := p.o.readDirect(buf, p.lo)
		c.pmu.Lock()
		defer c.pmu.Unlock()
		c.plan.gets--
		p.data, p.err = buf, err
		p.state = held
		close(p.done)
		if p.dead || p.complete() || err != nil && p.refs == 0 {
			c.releaseLocked(p)
		}
		c.pumpLocked()
	}()
}

func (c *Client) releaseLocked(p *piece) {
	if p.state == held || p.state == inflight {
		c.plan.bytes -= p.size()
	}
	p.state = released
	p.data = nil
}

// readPlanned serves p at off from the planned pieces; it returns false
// when no piece holds off (and then reads nothing): n is how much of p
// lies before the next piece.
func (o *Object) readPlanned(p []byte, off int64) (handled bool, n int, err error) {
	c := o.c
	c.pmu.Lock()
	i, found := slices.BinarySearchFunc(o.plan, off, func(pc *piece, x int64) int {
		switch {
		case pc.hi <= x:
			return -1
		case pc.lo > x:
			return 1
		}
		return 0
	})
	if !found {
		n = len(p)
		if i < len(o.plan) {
			n = int(min(int64(n), o.plan[i].lo-off))
		}
		c.pmu.Unlock()
		return false, n, nil
	}
	pc := o.plan[i]
	n = int(min(int64(len(p)), pc.hi-off))
	switch pc.state {
	case released:
		c.pmu.Unlock()
		return false, n, nil
	case queued:
		if int64(n) < smallRead && !pc.extends(off, off+int64(n)) {
			// A probe (a page header ahead of the window).
			pc.cover(off, off+int64(n))
			c.pmu.Unlock()
			return false, n, nil
		}
		c.startLocked(pc) // a reader ahead of the queue
	}
	// The reader's next pieces are kept in flight, whatever the queue
	// does (a reader ahead of it streams too).
	for k := i + 1; k < len(o.plan) && k <= i+promoteAhead; k++ {
		if o.plan[k].state == queued {
			c.startLocked(o.plan[k])
		}
	}
	pc.refs++
	c.pmu.Unlock()
	<-pc.done
	c.pmu.Lock()
	defer c.pmu.Unlock()
	pc.refs--
	if pc.err != nil {
		err = pc.err
		if pc.refs == 0 && pc.state == held {
			c.releaseLocked(pc) // not kept: a later read tries again
		}
		return true, 0, err
	}
	if pc.state == released {
		// Dropped while this read waited (the object closed, or evicted).
		return false, n, nil
	}
	copy(p[:n], pc.data[off-pc.lo:])
	pc.cover(off, off+int64(n))
	if pc.complete() && pc.refs == 0 {
		c.releaseLocked(pc)
		c.pumpLocked()
	}
	return true, n, nil
}

// smallRead: reads shorter than this of a piece not yet started go
// through the block cache rather than start the piece, unless they read on
// from bytes read before (a sequential reader).
const smallRead = 64 << 10

// promoteAhead is the number of pieces after the one it reads that a
// reader keeps started.
const promoteAhead = 3

// extends reports whether [lo, hi) reads on past bytes read before: it
// touches a covered span and goes beyond it.
func (p *piece) extends(lo, hi int64) bool {
	for _, c := range p.covered {
		if lo <= c.hi && hi > c.hi && lo >= c.lo {
			return true
		}
	}
	return false
}

// dropPlan forgets o's pieces (those in flight are dropped when done).
func (o *Object) dropPlan() {
	c := o.c
	c.pmu.Lock()
	defer c.pmu.Unlock()
	o.closed = true
	for _, p := range o.plan {
		switch p.state {
		case queued:
			p.state = released
		case held:
			c.releaseLocked(p)
		case inflight:
			p.dead = true
		}
	}
	o.plan = nil
	c.pumpLocked()
}
