package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/evalnll/evalnll/store"
	"github.com/evalnll/evalnll/store/storetest"
)

// TestPlannedReads: ranges announced with WillRead are fetched by one GET
// per piece (ranges a few bytes apart coalesced, long ones cut), within the
// byte budget, and dropped once read; probes of page headers ahead of the
// window do not start their pieces; a reader ahead of the queue starts its
// own; every byte read is the object's.
func TestPlannedReads(t *testing.T) {
	s := storetest.StartS3(t)
	data := randomBytes(6<<20, 7)
	s.Put(t, "obj", data)
	const piece, budget = 256 << 10, 1 << 20
	c := store.NewClient(store.Options{BlockSize: 16 << 10, CacheBytes: 64 << 10, PieceSize: piece, PlanBytes: budget, PlanGets: 3, Coalesce: 4 << 10})
	defer c.Close()
	o, err := c.Open(context.Background(), s.URL("obj"))
	if err != nil {
		t.Fatal(err)
	}
	// Column chunks: pairs 2 KiB apart (one GET each pair), the pairs
	// 300 KiB apart, and one long chunk of 1.5 MiB (six pieces).
	type rng struct{ lo, n int64 }
	var chunks []rng
	want := int64(0)
	for at := int64(0); at < 3<<20; at += 400 << 10 {
		chunks = append(chunks, rng{at, 30 << 10}, rng{at + 32<<10, 60 << 10})
		want += 92 << 10 // with the gap between them
	}
	chunks = append(chunks, rng{4 << 20, 3 << 19})
	want += 3 << 19
	r0, b0, _ := c.Snapshot()
	for i := 0; i+1 < len(chunks); i += 2 {
		o.WillReadRanges([][2]int64{{chunks[i].lo, chunks[i].n}, {chunks[i+1].lo, chunks[i+1].n}}) // a row group
	}
	o.WillRead(chunks[len(chunks)-1].lo, chunks[len(chunks)-1].n)
	o.WillRead(chunks[0].lo, chunks[0].n) // announced twice: planned once
	buf := make([]byte, 7000)
	check := func(lo, n int64) {
		t.Helper()
		for off := lo; off < lo+n; {
			k := min(int64(len(buf)), lo+n-off)
			if _, err := o.ReadAt(buf[:k], off); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:k], data[off:off+k]) {
				t.Fatalf("bytes at %d differ", off)
			}
			off += k
		}
	}
	for i, ch := range chunks {
		if i+2 < len(chunks) {
			// A probe of a later chunk's header, then this chunk.
			check(chunks[i+2].lo, 100)
		}
		check(ch.lo, ch.n)
	}
	r1, b1, _ := c.Snapshot()
	now, peak := c.PlanBytes()
	t.Logf("%d GETs, %d bytes for %d bytes planned; peak %d planned bytes", r1-r0, b1-b0, want, peak)
	if now != 0 {
		t.Errorf("%d planned bytes still held after every byte was read", now)
	}
	if peak > budget+4*piece {
		t.Errorf("peak of %d planned bytes, budget %d", peak, budget)
	}
	// One GET per pair, six for the long chunk, and the probes' blocks
	// (a probe reaches its piece before the queue does only at the start).
	pairs := int64(len(chunks)-1) / 2
	if r1-r0 > pairs+6+4 || b1-b0 < want || b1-b0 > want+4*(16<<10) {
		t.Errorf("%d GETs and %d bytes for %d pairs and a long chunk (%d bytes)", r1-r0, b1-b0, pairs, want)
	}

	// A reader ahead of the queue, then Close with pieces in flight and
	// queued: nothing stays held.
	o.WillRead(0, 6<<20)
	check(5<<20, 100<<10)
	o.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if now, _ := c.PlanBytes(); now == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d planned bytes held after Close", now)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
