package reader

import (
	"io"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Reading the record batches of an Arrow IPC file, when it can be done so
// (an uncompressed file of record batches of at most selectiveMaxBody
// bytes, whose columns are all of the types bufferCount knows), copies only the buffers of the columns a scan asks for from the
// file into a message body that is reused from record batch to record
// batch (bodyPool), rather than mapping the file: on the
// shared VMs evalnll is measured on, mapping a page of the page cache
// costs several times what copying it does (2.8 µs against 0.7 a page;
// 1.4 GB: 1.0 CPU-s mapped and touched, 0.25 read), and a scan of two of
// four columns reads a third of the file. arrow-go builds the arrays of
// every column from the body: the other columns' bitmaps and offsets are
// zeroed, which makes them valid arrays (no nulls counted from the
// bitmaps, zero offsets) that nothing reads; their values are not touched
// (what the body's memory held: zeros when new, else another record
// batch's bytes).

// selectiveMaxBody is the largest record batch body of a file read
// selectively. A body is read whole before its rows are used, and stays in
// memory until the next: a file of larger record batches (a few of hundreds
// of megabytes) is mapped instead, whose pages leave the resident set as
// its rows are read, and whose record batches can be cut into parts that
// workers share without each reading the whole batch.
const selectiveMaxBody = 8 << 20

// smallBatches reports whether every record batch body is at most
// selectiveMaxBody bytes.
func smallBatches(batches []arrowBlock) bool {
	for _, b := range batches {
		if b.bodyLen > selectiveMaxBody {
			return false
		}
	}
	return true
}

// bodyRange is a buffer of a record batch body: off and n bytes.
type bodyRange struct{ off, n int64 }

// bufferKinds appends, for each body buffer of an array of type dt (its
// children's included), whether it is a validity bitmap or offsets: the
// buffers that must hold valid values for arrow-go to build the array of a
// column that is not read (it checks the last offset against the values;
// nothing reads the values of such a column). It reports false for a type
// whose layout this reader does not place (views, unions, run-end encoded,
// null, extension types).
func bufferKinds(dt arrow.DataType, kinds []bool) ([]bool, bool) {
	switch t := dt.(type) {
	case *arrow.BooleanType, *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.Date32Type, *arrow.Date64Type, *arrow.Time32Type, *arrow.Time64Type,
		*arrow.TimestampType, *arrow.DurationType, *arrow.FixedSizeBinaryType,
		*arrow.Decimal32Type, *arrow.Decimal64Type, *arrow.Decimal128Type, *arrow.Decimal256Type:
		return append(kinds, true, false), true
	case *arrow.StringType, *arrow.BinaryType, *arrow.LargeStringType, *arrow.LargeBinaryType:
		return append(kinds, true, true, false), true
	case *arrow.DictionaryType:
		// The indices; the values are a dictionary batch.
		return append(kinds, true, false), true
	case *arrow.ListType:
		return bufferKinds(t.Elem(), append(kinds, true, true))
	case *arrow.LargeListType:
		return bufferKinds(t.Elem(), append(kinds, true, true))
	case *arrow.FixedSizeListType:
		return bufferKinds(t.Elem(), append(kinds, true))
	case *arrow.StructType:
		kinds = append(kinds, true)
		for _, f := range t.Fields() {
			var ok bool
			if kinds, ok = bufferKinds(f.Type, kinds); !ok {
				return nil, false
			}
		}
		return kinds, true
	}
	return nil, false
}

// bufferCount is how many body buffers an array of type dt takes (its
// children's included), or false for a type whose layout this reader does
// not place.
func bufferCount(dt arrow.DataType) (int, bool) {
	kinds, ok := bufferKinds(dt, nil)
	return len(kinds), ok
}

// fieldBuffers returns, for each field of schema, the index of its first
// buffer in a record batch body, and the total as a last entry, and for
// each buffer whether it is a bitmap or offsets (bufferKinds); ok false
// when a field's layout is not known.
func fieldBuffers(schema *arrow.Schema) (first []int, kinds []bool, ok bool) {
	first = []int{0}
	for _, f := range schema.Fields() {
		if kinds, ok = bufferKinds(f.Type, kinds); !ok {
			return nil, nil, false
		}
		first = append(first, len(kinds))
	}
	return first, kinds, true
}

// selectReaderAt is the io.ReaderAt of one ipc.FileReader of a file read
// selectively: when the scan using the reader has announced a record batch
// and its columns (want), the read of that batch's body copies only those
// columns' buffers; every other read passes through.
type selectReaderAt struct {
	src  io.ReaderAt
	f    *arrowFile
	pool *bodyPool

	rec  int   // the announced record batch, or -1
	want []int // its columns (field indexes)
	// ranges are the parts of the body to read, merged (scratch).
	ranges []bodyRange
}

// announce sets the record batch (-1: none) and columns of the next read.
func (r *selectReaderAt) announce(rec int, cols []int) {
	r.rec, r.want = rec, cols
	r.pool.expect = 0
	if rec >= 0 {
		r.pool.expect = roundUp64(int(r.f.blocks[rec].bodyLen))
	}
}

func roundUp64(n int) int { return (n + 63) &^ 63 }

func (r *selectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if r.rec < 0 || r.rec >= len(r.f.blocks) || r.rec >= len(r.f.buffers) {
		return r.src.ReadAt(p, off)
	}
	blk := r.f.blocks[r.rec]
	if off != blk.offset+int64(blk.metaLen) || int64(len(p)) != blk.bodyLen {
		return r.src.ReadAt(p, off)
	}
	bufs := r.f.buffers[r.rec]
	rs := r.ranges[:0]
	for _, c := range r.want {
		if c+1 >= len(r.f.fieldBuf) || r.f.fieldBuf[c+1] > len(bufs) {
			return r.src.ReadAt(p, off) // not as the schema says: read it whole
		}
		for _, b := range bufs[r.f.fieldBuf[c]:r.f.fieldBuf[c+1]] {
			if b.n > 0 {
				rs = append(rs, b)
			}
		}
	}
	slices.SortFunc(rs, func(a, b bodyRange) int { return int(a.off - b.off) })
	// Merge ranges closer than a page: one read each.
	m := rs[:0]
	for _, b := range rs {
		if k := len(m) - 1; k >= 0 && b.off <= m[k].off+m[k].n+4096 {
			m[k].n = max(m[k].n, b.off+b.n-m[k].off)
			continue
		}
		m = append(m, b)
	}
	r.ranges = m
	for _, b := range m {
		if _, err := r.src.ReadAt(p[b.off:b.off+b.n], off+b.off); err != nil {
			return 0, err
		}
	}
	// The other columns: their bitmaps and offsets zeroed (no nulls
	// counted, zero offsets); their values are left as the body's memory
	// held them, which nothing reads.
	for c := 0; c+1 < len(r.f.fieldBuf); c++ {
		if slices.Contains(r.want, c) {
			continue
		}
		for i := r.f.fieldBuf[c]; i < r.f.fieldBuf[c+1] && i < len(bufs); i++ {
			if b := bufs[i]; r.f.zeroBuf[i] {
				clear(p[b.off : b.off+b.n])
			}
		}
	}
	return len(p), nil
}

// bodyPool is the allocator of a selectively read file's reader: it keeps
// a record batch body that was freed for the next, so that each is not
// fresh memory (faulted in, zeroed, collected). Only the allocation of an
// announced body (expect bytes), which selectReaderAt writes whole, is
// given that memory, not zeroed; every other allocation comes from base.
type bodyPool struct {
	base   memory.Allocator
	mu     sync.Mutex
	spare  []byte // a body's memory from base, as base allocated it, or nil
	lent   []byte // the spare while it is lent out
	expect int
	closed bool // drained: keep nothing more
}

func (a *bodyPool) Allocate(size int) []byte {
	a.mu.Lock()
	if size != a.expect || size == 0 || a.lent != nil || a.closed {
		a.mu.Unlock()
		return a.base.Allocate(size)
	}
	a.expect = 0
	if len(a.spare) < size || len(a.spare) > 2*size {
		// None kept, or not of a size for this body: a new one, with room
		// for the next bodies, which differ by the lengths of their
		// strings.
		if a.spare != nil {
			a.base.Free(a.spare)
		}
		a.spare = a.base.Allocate(roundUp64(size + size/8))
	}
	a.lent, a.spare = a.spare, nil
	b := a.lent[:size:size]
	a.mu.Unlock()
	return b
}

func (a *bodyPool) Reallocate(size int, b []byte) []byte {
	nb := a.base.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

func (a *bodyPool) Free(b []byte) {
	if len(b) == 0 {
		a.base.Free(b)
		return
	}
	a.mu.Lock()
	switch {
	case a.lent != nil && &b[0] == &a.lent[0] && !a.closed:
		a.spare, a.lent = a.lent, nil
		a.mu.Unlock()
		return
	case a.lent != nil && &b[0] == &a.lent[0]:
		full := a.lent
		a.lent = nil
		a.mu.Unlock()
		a.base.Free(full)
		return
	}
	a.mu.Unlock()
	a.base.Free(b)
}

// drain gives the kept body back to base; one that is lent out goes back
// when it is freed.
func (a *bodyPool) drain() {
	a.mu.Lock()
	b := a.spare
	a.spare, a.closed = nil, true
	a.mu.Unlock()
	if b != nil {
		a.base.Free(b)
	}
}
