package reader

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/evalnll/evalnll/internal/column"
)

// arrowScanner reads record batches of an Arrow IPC file or stream, and
// yields them in slices of at most maxRows rows, without copying the value
// buffers where the types allow.
type arrowScanner struct {
	name   string
	sink   byte         // touchYielded XORs what it reads into it (per scanner: no data race)
	file   *arrowFile   // or
	stream *arrowStream // (nil when the scan failed to start)
	units  []int        // record batches of a file to read
	ui     int
	reader *ipc.FileReader
	sel    *selectReaderAt // the reader's, when the file is read selectively
	broken bool            // the reader failed: do not reuse it
	// mapping is the file's memory map while the scanner holds a reader,
	// or nil; yielded lists the parts of it the last batch pointed to.
	mapping []byte
	yielded []span // per batch column slice, see touchYielded
	maxRows int
	colIdx  []int
	cols    []*arrowCol

	// A part of a record batch (ScanPart): rows [lo, hi).
	part   bool
	lo, hi int64

	rec    arrow.RecordBatch
	owned  bool // rec is ours to release (file); a stream's is the reader's
	recNum int  // record batch number, for messages
	pos    int64
	batch  column.Batch
	err    error
	closed bool
}

func newArrowScanner(name string, fields []Field, cols []string, maxRows int) *arrowScanner {
	s := &arrowScanner{name: name, maxRows: maxRows, recNum: -1}
	if s.maxRows <= 0 {
		s.maxRows = defaultMaxRows
	}
	for _, n := range cols {
		idx := -1
		for i, f := range fields {
			if f.Name == n {
				idx = i
				break
			}
		}
		if idx < 0 {
			s.err = newError(name, false, "", unknownColumn(n, fields))
			return s
		}
		if fields[idx].Type == column.Unsupported {
			s.err = newError(name, false, "", unsupportedColumn(fields[idx]))
			return s
		}
		c := getArrowCol(fields[idx])
		s.colIdx = append(s.colIdx, idx)
		s.cols = append(s.cols, c)
		s.batch.Cols = append(s.batch.Cols, &c.out)
	}
	return s
}

func (s *arrowScanner) Batch() *column.Batch { return &s.batch }
func (s *arrowScanner) Err() error           { return s.err }

func (s *arrowScanner) fail(err error) {
	if s.err == nil {
		where := ""
		if s.recNum >= 0 {
			where = fmt.Sprintf("record batch %d", s.recNum)
		}
		s.err = newError(s.name, true, where, err)
	}
	s.broken = true
	s.releaseRecord()
}

func (s *arrowScanner) releaseRecord() {
	if s.rec != nil && s.owned {
		s.rec.Release()
		if s.mapping != nil && s.part {
			// Other parts of the record batch may be in use: drop only
			// what this one read.
			for i := range s.yielded {
				s.drop(&s.yielded[i], 0)
			}
		} else if s.mapping != nil && s.recNum >= 0 && s.recNum < len(s.file.blocks) {
			// Done with the record batch: its pages leave the resident set.
			blk := s.file.blocks[s.recNum]
			end := blk.offset + int64(blk.metaLen) + blk.bodyLen
			if blk.offset >= 0 && end <= int64(len(s.mapping)) && end >= blk.offset {
				dropPages(s.mapping, s.mapping[blk.offset:end])
			}
		}
	}
	s.rec = nil
	clear(s.yielded) // dropped with the record batch
}

// touchYielded maps the memory pages of the mapping that the batch points
// to (populate, one system call; where that fails, it reads a byte of each
// page), so that a file truncated since it was mapped fails here, inside
// Next, rather than in the caller; and notes those parts of the mapping
// for dropYielded.
//
// A file truncated after this, while the caller reads the batch, still
// faults in the caller (SIGBUS). Copying every value out of the mapping
// would prevent it at the cost of the copy this mapping avoids; like other
// memory-mapping readers, evalnll does not guard against input files
// being truncated while it reads them.
func (s *arrowScanner) touchYielded() {
	if want := 5 * len(s.batch.Cols); len(s.yielded) < want {
		s.yielded = make([]span, want)
	}
	for k, c := range s.batch.Cols {
		y := s.yielded[5*k:]
		s.touch(&y[0], bytesOf(c.F32))
		s.touch(&y[1], bytesOf(c.F64))
		s.touch(&y[2], bytesOf(c.Ints))
		s.touch(&y[3], bytesOf(c.Codes))
		s.touch(&y[4], bytesOf(c.Offsets))
	}
}

// span is a part [lo, hi) of the mapping that batches pointed to and that
// is not yet dropped.
type span struct{ lo, hi int }

// dropMin is the least that dropYielded drops at once: each call is a
// system call and a TLB shootdown, too costly for every small batch.
const dropMin = 8 << 20

func (s *arrowScanner) touch(sp *span, b []byte) {
	if len(b) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(s.mapping)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p+uintptr(len(b)) > base+uintptr(len(s.mapping)) {
		return
	}
	if !populate(s.mapping, b) {
		var x byte
		for i := 0; i < len(b); i += 4096 {
			x ^= b[i]
		}
		s.sink ^= x ^ b[len(b)-1] // kept, so that the reads are not elided
	}
	lo := int(p - base)
	hi := lo + len(b)
	if sp.hi > sp.lo && (lo < sp.lo || lo > sp.hi+4096) {
		// Not where the last batch ended: drop what that left.
		s.drop(sp, 0)
	}
	if sp.hi <= sp.lo {
		sp.lo = lo
	}
	sp.hi = max(sp.hi, hi)
}

// drop drops the span once it holds at least least bytes, keeping its
// last memory page, which the next batch may share.
func (s *arrowScanner) drop(sp *span, least int) {
	if sp.hi-sp.lo < max(least, 1) {
		return
	}
	dropPages(s.mapping, s.mapping[sp.lo:sp.hi])
	sp.lo = sp.hi &^ (os.Getpagesize() - 1)
	if least == 0 {
		*sp = span{}
	}
}

// dropYielded lets the pages of the mapping that the last batches pointed
// to leave the resident set, so that a record batch of hundreds of
// megabytes is not resident whole by the time its last rows are read.
func (s *arrowScanner) dropYielded() {
	for i := range s.yielded {
		s.drop(&s.yielded[i], dropMin)
	}
}

func bytesOf[T any](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), uintptr(len(v))*unsafe.Sizeof(zero))
}

func (s *arrowScanner) Next() (ok bool) {
	if s.err != nil || s.closed || (s.file == nil && s.stream == nil) {
		return false
	}
	if s.file != nil {
		// A fault reading the file's mapping (the file was truncated since
		// it was mapped) becomes an error.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(interface{ Addr() uintptr }); ok && s.mapping != nil {
				s.fail(fmt.Errorf("the file changed while it was read (truncated?): memory fault at %#x", f.Addr()))
			} else {
				s.fail(panicError(r))
			}
			ok = false
		}
	}()
	s.dropYielded()
	for {
		if end := s.end(); s.rec != nil && s.pos < end {
			n := min(int64(s.maxRows), end-s.pos)
			for k, c := range s.cols {
				if err := c.extract(s.rec.Column(s.colIdx[k]), s.pos, s.pos+n); err != nil {
					s.fail(fmt.Errorf("column %q: %w", c.field.Name, err))
					return false
				}
			}
			if s.mapping != nil {
				s.touchYielded()
			}
			s.pos += n
			s.batch.Rows = int(n)
			return true
		}
		s.releaseRecord()
		if !s.load() {
			return false
		}
	}
}

// load makes the next record batch current.
func (s *arrowScanner) load() bool {
	var rec arrow.RecordBatch
	if s.file != nil {
		if s.ui >= len(s.units) {
			return false
		}
		if s.reader == nil {
			r, data, err := s.file.acquire()
			if err != nil {
				s.fail(err)
				return false
			}
			s.reader, s.mapping = r, data
			s.sel = s.file.selectOf(r)
		}
		s.recNum = s.units[s.ui]
		s.ui++
		if h, ok := s.file.src.(RangeHinter); ok && s.recNum < len(s.file.blocks) {
			b := s.file.blocks[s.recNum]
			h.WillRead(b.offset, int64(b.metaLen)+b.bodyLen)
		}
		var err error
		if s.sel != nil {
			s.sel.announce(s.recNum, s.colIdx)
		}
		rec, err = s.reader.RecordBatchAt(s.recNum)
		if s.sel != nil {
			s.sel.announce(-1, nil)
		}
		if err != nil {
			s.fail(err)
			return false
		}
		s.owned = true
	} else {
		rd := s.stream.rd
		if !rd.Next() {
			if err := rd.Err(); err != nil {
				s.recNum++
				s.fail(err)
			}
			return false
		}
		s.recNum++
		rec = rd.RecordBatch()
		s.owned = false
	}
	s.rec, s.pos = rec, 0
	for _, i := range s.colIdx {
		if i >= int(rec.NumCols()) {
			s.fail(fmt.Errorf("record batch has %d columns", rec.NumCols()))
			return false
		}
	}
	if rec.NumRows() < 0 {
		s.fail(fmt.Errorf("record batch claims %d rows", rec.NumRows()))
		return false
	}
	for k, c := range s.cols {
		arr := rec.Column(s.colIdx[k])
		if int64(arr.Len()) != rec.NumRows() {
			s.fail(fmt.Errorf("column %q: %d values in a record batch of %d rows", c.field.Name, arr.Len(), rec.NumRows()))
			return false
		}
		if err := validateArray(arr, 0); err != nil {
			s.fail(fmt.Errorf("column %q: %w", c.field.Name, err))
			return false
		}
	}
	if s.part {
		if want := s.file.units[s.recNum].Rows; rec.NumRows() != want {
			s.fail(fmt.Errorf("record batch of %d rows, the file's footer says %d", rec.NumRows(), want))
			return false
		}
		s.pos = s.lo
	}
	return true
}

// end is the row of the current record batch at which the scan stops.
func (s *arrowScanner) end() int64 {
	if s.rec == nil {
		return 0
	}
	if s.part {
		return s.hi
	}
	return s.rec.NumRows()
}

func (s *arrowScanner) Close() {
	if s.closed {
		return
	}
	s.closed = true
	defer func() { _ = recover() }()
	s.releaseRecord()
	if s.reader != nil {
		s.mapping = nil
		s.file.release(s.reader, s.broken)
		s.reader, s.sel = nil, nil
	}
	putArrowCols(s.cols)
	s.cols, s.batch = nil, column.Batch{}
}

// arrowCols keeps the buffers of closed scanners' columns (widened
// integers, string headers, offsets) for the scanners after them: a file of
// many record batches, each a scan of its own, would otherwise grow them
// afresh for each (binary.arrow --by slice: 600 MB allocated in a run).
var arrowCols struct {
	mu   sync.Mutex
	cols []*arrowCol
}

const spareArrowCols = 32

// getArrowCol returns a column for f, with a closed scanner's buffers when
// there are some.
func getArrowCol(f Field) *arrowCol {
	arrowCols.mu.Lock()
	var c *arrowCol
	if n := len(arrowCols.cols); n > 0 {
		c = arrowCols.cols[n-1]
		arrowCols.cols[n-1] = nil
		arrowCols.cols = arrowCols.cols[:n-1]
	}
	arrowCols.mu.Unlock()
	if c == nil {
		return &arrowCol{field: f}
	}
	in := c.in
	in.reset()
	*c = arrowCol{field: f, valid: c.valid[:0], elemValid: c.elemValid[:0], bools: c.bools[:0], ints: c.ints[:0],
		f32: c.f32[:0], f64: c.f64[:0], strs: c.strs[:0], codes: c.codes[:0], offs: c.offs[:0], in: in}
	return c
}

// putArrowCols keeps the buffers of cs. Their strings point into a file's
// buffers, which may be unmapped once it is closed: they are cleared.
func putArrowCols(cs []*arrowCol) {
	for _, c := range cs {
		clear(c.strs[:cap(c.strs)])
		c.out, c.dictData, c.dict = column.Column{}, nil, nil
		c.in.reset()
	}
	arrowCols.mu.Lock()
	defer arrowCols.mu.Unlock()
	for _, c := range cs {
		if len(arrowCols.cols) < spareArrowCols {
			arrowCols.cols = append(arrowCols.cols, c)
		}
	}
}

// validateArray checks that the buffers of an array of a supported type
// hold what its length and offsets claim, so that slicing them cannot go out
// of range. arrow-go checks some of this when it builds the arrays, not all.
func validateArray(arr arrow.Array, depth int) error {
	if depth > 4 {
		return errors.New("array nested too deeply")
	}
	d := arr.Data()
	off, n := int64(d.Offset()), int64(d.Len())
	if off < 0 || n < 0 {
		return fmt.Errorf("invalid array offset %d or length %d", off, n)
	}
	end := off + n
	bufs := d.Buffers()
	if len(bufs) > 0 && bufs[0] != nil && bufs[0].Len() > 0 && int64(bufs[0].Len())*8 < end {
		return fmt.Errorf("validity bitmap of %d bytes for %d values", bufs[0].Len(), end)
	}
	switch a := arr.(type) {
	case *array.Boolean:
		if n > 0 && (len(bufs) < 2 || bufs[1] == nil || int64(bufs[1].Len())*8 < end) {
			return errors.New("boolean values buffer too short")
		}
	case *array.String:
		return checkOffsets(offsetsOf32(bufs), off, n, int64(len(bufBytes(bufs, 2))))
	case *array.Binary:
		return checkOffsets(offsetsOf32(bufs), off, n, int64(len(bufBytes(bufs, 2))))
	case *array.LargeString:
		return checkOffsets(offsetsOf64(bufs), off, n, int64(len(bufBytes(bufs, 2))))
	case *array.LargeBinary:
		return checkOffsets(offsetsOf64(bufs), off, n, int64(len(bufBytes(bufs, 2))))
	case *array.StringView, *array.BinaryView:
		return checkViews(bufs, off, n)
	case *array.List:
		child := a.ListValues()
		if err := checkOffsets(a.Offsets(), off, n, int64(child.Len())); err != nil {
			return err
		}
		return validateArray(child, depth+1)
	case *array.LargeList:
		child := a.ListValues()
		if err := checkOffsets(a.Offsets(), off, n, int64(child.Len())); err != nil {
			return err
		}
		return validateArray(child, depth+1)
	case *array.FixedSizeList:
		child := a.ListValues()
		size := int64(a.DataType().(*arrow.FixedSizeListType).Len())
		if size < 0 || (size > 0 && int64(child.Len())/size < end) {
			return fmt.Errorf("fixed-size list of %d rows of %d needs %d values, has %d", n, size, end*size, child.Len())
		}
		return validateArray(child, depth+1)
	case *array.Dictionary:
		if err := validateArray(a.Indices(), depth+1); err != nil {
			return err
		}
		if a.Dictionary() == nil {
			return errors.New("dictionary-encoded array without a dictionary")
		}
		return validateArray(a.Dictionary(), depth+1)
	}
	return nil
}

func offsetsOf32(bufs []*arrowBuffer) []int32 {
	if len(bufs) < 2 || bufs[1] == nil {
		return nil
	}
	b := bufs[1].Bytes()
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func offsetsOf64(bufs []*arrowBuffer) []int64 {
	if len(bufs) < 2 || bufs[1] == nil {
		return nil
	}
	b := bufs[1].Bytes()
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

// checkOffsets checks offsets [off, off+n] of a variable-size array: in
// order, and within [0, limit].
func checkOffsets[T int32 | int64](offs []T, off, n, limit int64) error {
	if n == 0 {
		return nil
	}
	if int64(len(offs)) < off+n+1 {
		return fmt.Errorf("offsets buffer holds %d offsets, needs %d", len(offs), off+n+1)
	}
	prev := offs[off]
	if prev < 0 {
		return fmt.Errorf("negative offset %d", prev)
	}
	for _, o := range offs[off+1 : off+n+1] {
		if o < prev {
			return errors.New("offsets out of order")
		}
		prev = o
	}
	if int64(prev) > limit {
		return fmt.Errorf("offset %d beyond the %d values", prev, limit)
	}
	return nil
}

// checkViews checks the views of a string or binary view array.
func checkViews(bufs []*arrowBuffer, off, n int64) error {
	if n == 0 {
		return nil
	}
	if len(bufs) < 2 || bufs[1] == nil {
		return errors.New("view array without views")
	}
	b := bufs[1].Bytes()
	views := unsafe.Slice((*arrow.ViewHeader)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/arrow.ViewHeaderSizeBytes)
	if int64(len(views)) < off+n {
		return fmt.Errorf("views buffer holds %d views, needs %d", len(views), off+n)
	}
	data := bufs[2:]
	for i := off; i < off+n; i++ {
		v := &views[i]
		if v.Len() < 0 {
			return fmt.Errorf("view %d has negative length", i)
		}
		if v.IsInline() {
			continue
		}
		bi, bo := int64(v.BufferIndex()), int64(v.BufferOffset())
		if bi < 0 || bi >= int64(len(data)) || data[bi] == nil || bo < 0 || bo+int64(v.Len()) > int64(data[bi].Len()) {
			return fmt.Errorf("view %d points outside its data buffers", i)
		}
	}
	return nil
}
