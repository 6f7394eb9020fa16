package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/column"
)

// pqScanner reads the batches of one or all row groups of a Parquet file.
//
// Each requested column has a cursor over the pages of its column chunk;
// a batch takes the same number of rows from every cursor, whatever the
// page boundaries of each column.
type pqScanner struct {
	f       *pqFile
	rgs     []int
	maxRows int
	rgi     int   // index into rgs of the current row group
	opened  bool  // the cursors read rgs[rgi]
	left    int64 // rows of the current row group not yet yielded
	curs    []*pqCursor
	batch   column.Batch
	err     error
	closed  bool
	part    *Part // reading a part of the row group (ScanPart)
}

func (f *pqFile) Scan(u int, cols []string, maxRows int) Scanner {
	s := &pqScanner{f: f, maxRows: maxRows}
	if s.maxRows <= 0 {
		s.maxRows = defaultMaxRows
	}
	switch {
	case u < 0:
		for i := range f.units {
			s.rgs = append(s.rgs, i)
		}
	case u < len(f.units):
		s.rgs = []int{u}
	default:
		s.err = newError(f.name, false, "", fmt.Errorf("no row group %d (the file has %d)", u, len(f.units)))
		return s
	}
	for _, name := range cols {
		c, err := f.lookup(name)
		if err == nil && c.field.Type == column.Unsupported {
			err = unsupportedColumn(c.field)
		}
		if err != nil {
			s.err = newError(f.name, false, "", err)
			return s
		}
		cur := f.cursor(c, name)
		s.curs = append(s.curs, cur)
		s.batch.Cols = append(s.batch.Cols, &cur.out)
	}
	return s
}

func (s *pqScanner) Batch() *column.Batch { return &s.batch }
func (s *pqScanner) Err() error           { return s.err }

func (s *pqScanner) where() string {
	if s.rgi < len(s.rgs) {
		return fmt.Sprintf("row group %d", s.rgs[s.rgi])
	}
	return ""
}

func (s *pqScanner) fail(err error) {
	if s.err == nil {
		s.err = newError(s.f.name, true, s.where(), err)
	}
	s.closeCursors()
}

func (s *pqScanner) Next() (ok bool) {
	if s.err != nil || s.closed {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			s.fail(panicError(r))
			ok = false
		}
	}()
	for s.rgi < len(s.rgs) {
		rg := s.rgs[s.rgi]
		if !s.opened {
			if err := s.openRowGroup(rg); err != nil {
				s.fail(err)
				return false
			}
		}
		if s.left == 0 {
			for _, c := range s.curs {
				if s.part != nil && !s.part.last {
					// The next part reads on from here.
					c.dropAlias()
					continue
				}
				if err := c.finish(); err != nil {
					s.fail(fmt.Errorf("column %q: %w", c.name, err))
					return false
				}
			}
			s.closeCursors()
			s.opened = false
			s.rgi++
			continue
		}
		n := int(min(int64(s.maxRows), s.left))
		for _, c := range s.curs {
			var err error
			if c.col.maxRep > 0 {
				err = c.fillList(n)
			} else {
				err = c.fillFlat(n)
			}
			if err != nil {
				s.fail(fmt.Errorf("column %q: %w", c.name, err))
				return false
			}
		}
		s.left -= int64(n)
		s.batch.Rows = n
		return true
	}
	return false
}

func (s *pqScanner) openRowGroup(rg int) error {
	s.f.mu.Lock()
	closed := s.f.closed
	s.f.mu.Unlock()
	if closed {
		return errors.New("file is closed")
	}
	group := s.f.pf.RowGroups()[rg]
	chunks := group.ColumnChunks()
	s.left = group.NumRows()
	read := make([]int, len(s.curs))
	for i, c := range s.curs {
		read[i] = c.col.leaf
	}
	if err := s.f.checkRowGroup(rg, read, s.part == nil); err != nil {
		return err
	}
	md := s.f.pf.Metadata().RowGroups[rg].Columns
	for _, c := range s.curs {
		if leaf := c.col.leaf; leaf < len(md) {
			switch codec := md[leaf].MetaData.Codec; codec {
			case format.Lz4, format.LZO:
				return fmt.Errorf("column %q: %w: compression codec %s (deprecated; rewrite the file with LZ4_RAW, ZSTD or SNAPPY)", c.name, ErrUnsupported, codec)
			}
		}
	}
	for _, c := range s.curs {
		if rc := s.f.rawChunkFor(rg, c.col); rc != nil {
			c.resetRaw(rc)
		} else if s.f.lz4raw[[2]int{rg, c.col.leaf}] {
			c.reset(s.f.lz4Pages(rg, c.col.leaf))
		} else {
			c.reset(chunks[c.col.leaf].Pages())
		}
	}
	s.opened = true
	if s.part != nil {
		return s.startPart()
	}
	return nil
}

func (s *pqScanner) closeCursors() {
	for _, c := range s.curs {
		c.close()
	}
}

func (s *pqScanner) Close() {
	if s.closed {
		return
	}
	s.closed = true
	defer func() { _ = recover() }()
	s.closeCursors()
	s.f.putCursors(s.curs)
	s.curs = nil
}

// cursor returns a cursor for col, recycled when there is a spare one:
// one that read a column of the same name if it can (its buffers are of
// the right type and size).
func (f *pqFile) cursor(col *pqCol, name string) *pqCursor {
	c := spare.cursor(name)
	if c == nil {
		return &pqCursor{col: col, name: name}
	}
	c.recycle(col, name)
	return c
}

// putCursors keeps closed cursors for reuse (see spares).
func (f *pqFile) putCursors(cs []*pqCursor) {
	spare.give(nil, cs)
}

// spare holds the page buffers and cursors that finished column chunks
// gave back, for any file: a run over many shards reuses the buffers of
// the first instead of growing fresh ones per file.
var spare spares

type spares struct {
	mu      sync.Mutex
	bufs    [][]byte
	cursors []*pqCursor
}

const (
	spareBufs    = 8
	spareCursors = 32
)

// give keeps buffers and cursors, up to the limits (the largest buffers,
// the latest cursors).
func (s *spares) give(bufs [][]byte, cursors []*pqCursor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bufs = append(s.bufs, bufs...)
	slices.SortFunc(s.bufs, func(a, b []byte) int { return cap(b) - cap(a) })
	clear(s.bufs[min(len(s.bufs), spareBufs):])
	s.bufs = s.bufs[:min(len(s.bufs), spareBufs)]
	s.cursors = append(s.cursors, cursors...)
	if n := len(s.cursors); n > spareCursors {
		clear(s.cursors[:n-spareCursors])
		s.cursors = append(s.cursors[:0], s.cursors[n-spareCursors:]...)
	}
}

// buf takes the smallest spare buffer of at least n bytes, or returns nil.
func (s *spares) buf(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := -1
	for i, b := range s.bufs {
		if cap(b) >= n && (best < 0 || cap(b) < cap(s.bufs[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := s.bufs[best]
	s.bufs = slices.Delete(s.bufs, best, best+1)
	return b[:cap(b)]
}

// cursor takes a spare cursor, one that read a column of this name if
// there is one, or returns nil. The caller recycles it.
func (s *spares) cursor(name string) *pqCursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.cursors)
	if n == 0 {
		return nil
	}
	k := n - 1
	for i := n - 1; i >= 0; i-- {
		if s.cursors[i].name == name {
			k = i
			break
		}
	}
	c := s.cursors[k]
	s.cursors = slices.Delete(s.cursors, k, k+1)
	return c
}

// String output modes of a batch.
const (
	strNone  = iota
	strCodes // Dict + Codes
	strStrs  // Strs
)

// pqCursor reads the pages of one column chunk into one column of a batch.
type pqCursor struct {
	col  *pqCol
	name string

	pages      parquet.Pages
	raw        *rawChunk // instead of pages, for the chunks it can read
	page       parquet.Page
	pendingErr error // an error ReadPage returned along with a page

	// Levels of the current page. Without levels, nlvl is the value count.
	def, rep  []byte
	lvl, nlvl int
	pageNulls int // levels of the page below the maximum
	// Values of the current page: vi is the next one, nvals their count.
	vi, nvals int

	// Page data, by kind; idx and dict for a dictionary-encoded page.
	dict      parquet.Dictionary
	idx       []int32
	bits      []byte
	i32       []int32
	i64       []int64
	f32       []float32
	f64       []float64
	ba        []byte
	baOff     []uint32
	fixed     []byte
	fixedSize int

	// The dictionary of cachedDict, converted to the output type.
	cachedDict parquet.Dictionary
	dLen       int
	dBool      []bool
	dInt       []int64
	dF32       []float32
	dF64       []float64
	dStr       []string

	// The values of the current run, dense (no nulls), in the output type.
	vBool  []bool
	vInt   []int64
	vF32   []float32
	vF64   []float64
	vStr   []string
	vCodes []int32 // with vDict, for a dictionary-encoded string run
	vDict  []string

	// Scratch buffers for converted runs, and the arena holding the bytes
	// of the strings of the batch.
	sBool []bool
	sInt  []int64
	sF32  []float32
	sF64  []float64
	sStr  []string
	arena []byte

	// The batch column and the buffers it is built in.
	out      column.Column
	valid    validity // rows (scalar) or elements (list)
	rowValid validity // rows of a list
	strMode  int
	strDict  []string // the dictionary of the codes in bCodes
	bBool    []bool
	bInt     []int64
	bF32     []float32
	bF64     []float64
	bStr     []string
	bCodes   []int32
	bOff     []int64

	// Set while bInt, bF32 or bF64 points into the page buffer of raw
	// (see appendVals); own* are then the batch's own buffers.
	aliasable, aliased bool
	ownInt             []int64
	ownF32             []float32
	ownF64             []float64

	// Scratch of the raw page reader, kept from chunk to chunk.
	rawIn, rawRep, rawDef []byte
}

// recycle makes c a fresh cursor for col, keeping its buffers: a scanner
// gives its cursors back to the file when it closes, and the next scanner
// takes them, so that the buffers of a batch are not allocated (and
// faulted in) afresh for every row group.
func (c *pqCursor) recycle(col *pqCol, name string) {
	if c.aliased {
		c.bInt, c.bF32, c.bF64 = c.ownInt, c.ownF32, c.ownF64
	}
	*c = pqCursor{
		col: col, name: name,
		sBool: c.sBool[:0], sInt: c.sInt[:0], sF32: c.sF32[:0], sF64: c.sF64[:0], sStr: c.sStr[:0], arena: c.arena[:0],
		valid: validity{buf: c.valid.buf[:0]}, rowValid: validity{buf: c.rowValid.buf[:0]},
		bBool: c.bBool[:0], bInt: c.bInt[:0], bF32: c.bF32[:0], bF64: c.bF64[:0], bStr: c.bStr[:0], bCodes: c.bCodes[:0], bOff: c.bOff[:0],
		rawIn: c.rawIn, rawRep: c.rawRep, rawDef: c.rawDef,
	}
	clear(c.bStr[:cap(c.bStr)]) // no strings of another file kept alive
	clear(c.sStr[:cap(c.sStr)])
}

func (c *pqCursor) reset(pages parquet.Pages) {
	c.close()
	c.aliasable = false
	c.pages = pages
	c.pendingErr = nil
	c.cachedDict = nil
	c.dBool, c.dInt, c.dF32, c.dF64, c.dStr = nil, nil, nil, nil, nil
}

// resetRaw starts reading a column chunk with rc.
func (c *pqCursor) resetRaw(rc *rawChunk) {
	c.close()
	c.raw = rc
	rc.in, rc.repWin, rc.defWin = c.rawIn, c.rawRep, c.rawDef
	switch rc.col.conv {
	case convInt64, convFloat, convDouble:
		c.aliasable = true
	}
	c.pendingErr = nil
	c.cachedDict = nil
	c.dBool, c.dInt, c.dF32, c.dF64, c.dStr = nil, nil, nil, nil, nil
}

func (c *pqCursor) close() {
	c.releasePage()
	if c.raw != nil {
		c.raw.release()
		c.rawIn, c.rawRep, c.rawDef = c.raw.in, c.raw.repWin, c.raw.defWin
		c.raw = nil
	}
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
}

func (c *pqCursor) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.def, c.rep = nil, nil
	c.lvl, c.nlvl, c.vi, c.nvals = 0, 0, 0, 0
	c.dict, c.idx, c.bits, c.i32, c.i64, c.f32, c.f64 = nil, nil, nil, nil, nil, nil, nil
	c.ba, c.baOff, c.fixed = nil, nil, nil
}

// nextPage makes the next page with at least one level current. It returns
// io.EOF at the end of the column chunk.
func (c *pqCursor) nextPage() error {
	if c.raw != nil {
		return c.nextRawWindow()
	}
	c.releasePage()
	for {
		if c.pendingErr != nil {
			return c.pendingErr
		}
		if c.pages == nil {
			return io.EOF
		}
		p, err := c.pages.ReadPage()
		if p != nil {
			c.pendingErr = err
			if err := c.setPage(p); err != nil {
				c.releasePage()
				return err
			}
			if c.nlvl > 0 {
				return nil
			}
			c.releasePage()
			continue
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		if err != io.EOF {
			err = fmt.Errorf("reading page: %w", err)
		}
		c.pendingErr = err
	}
}

// setPage takes the levels and typed values of a page, checking that they
// agree with each other so that later loops can trust them.
func (c *pqCursor) setPage(p parquet.Page) error {
	c.page = p
	col := c.col
	data := p.Data()
	if d := p.Dictionary(); d != nil {
		if data.Kind() != encoding.Int32 {
			return fmt.Errorf("dictionary-encoded page holds %v values", data.Kind())
		}
		if err := c.useDict(d); err != nil {
			return err
		}
		c.dict = d
		c.idx = data.Int32()
		c.nvals = len(c.idx)
		if maxIndex(c.idx) >= uint32(c.dLen) {
			for _, k := range c.idx {
				if uint32(k) >= uint32(c.dLen) {
					return fmt.Errorf("dictionary index %d out of range (dictionary of %d values)", k, c.dLen)
				}
			}
		}
	} else {
		if k := data.Kind(); k != col.conv.kind() {
			return fmt.Errorf("page holds %v values, want %v", k, col.conv.kind())
		}
		switch col.conv {
		case convBool:
			c.bits = data.Boolean()
			c.nvals = -1 // from the levels
		case convInt32, convUint32:
			c.i32 = data.Int32()
			c.nvals = len(c.i32)
		case convInt64:
			c.i64 = data.Int64()
			c.nvals = len(c.i64)
		case convFloat:
			c.f32 = data.Float()
			c.nvals = len(c.f32)
		case convDouble:
			c.f64 = data.Double()
			c.nvals = len(c.f64)
		case convBytes:
			c.ba, c.baOff = data.ByteArray()
			c.nvals = max(len(c.baOff)-1, 0)
			if len(c.baOff) > 0 && (c.baOff[0] > c.baOff[len(c.baOff)-1] || int(c.baOff[len(c.baOff)-1]) > len(c.ba)) {
				return errors.New("byte array offsets out of range")
			}
		case convFixed, convFloat16:
			c.fixed, c.fixedSize = data.FixedLenByteArray()
			if c.fixedSize <= 0 || (col.conv == convFloat16 && c.fixedSize != 2) {
				return fmt.Errorf("fixed-length values of %d bytes", c.fixedSize)
			}
			c.nvals = len(c.fixed) / c.fixedSize
		default:
			return fmt.Errorf("cannot read %v values", data.Kind())
		}
	}
	nonNull := 0
	switch {
	case col.maxRep > 0:
		c.def, c.rep = p.DefinitionLevels(), p.RepetitionLevels()
		if len(c.def) != len(c.rep) {
			return fmt.Errorf("page has %d definition and %d repetition levels", len(c.def), len(c.rep))
		}
		if countLevels(c.rep, col.maxRep) < 0 {
			return fmt.Errorf("repetition level above the maximum %d", col.maxRep)
		}
		c.nlvl = len(c.def)
		nonNull = countLevels(c.def, col.maxDef)
	case col.maxDef > 0:
		c.def = p.DefinitionLevels()
		c.nlvl = len(c.def)
		nonNull = countLevels(c.def, col.maxDef)
	default:
		c.nlvl = int(p.NumValues())
		nonNull = c.nlvl
	}
	if nonNull < 0 {
		return fmt.Errorf("definition level above the maximum %d", col.maxDef)
	}
	if c.nvals < 0 {
		c.nvals = nonNull
		if len(c.bits)*8 < nonNull {
			return fmt.Errorf("boolean page holds %d bits for %d values", len(c.bits)*8, nonNull)
		}
	}
	if nonNull > c.nvals {
		return fmt.Errorf("page levels call for %d values but it holds %d", nonNull, c.nvals)
	}
	c.pageNulls = c.nlvl - nonNull
	return nil
}

// maxIndex is the largest of idx taken as unsigned (a negative index is
// out of any dictionary's range), 0 for none.
func maxIndex(idx []int32) uint32 {
	m, i := maxIndexVec(idx)
	for _, k := range idx[i:] {
		m = max(m, uint32(k))
	}
	return m
}

// countLevels counts the levels equal to max, or returns -1 when one is
// above it. It looks at 64 levels at a time in the vector unit, if there
// is one, and 8 at a time after that.
func countLevels(levels []byte, max byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	mm := uint64(max) * ones
	over := uint64(0x7f-max) * ones // adding it sets the high bit of bytes > max
	n, i, above := countLevelsVec(levels, max)
	if above {
		return -1
	}
	bad := uint64(0)
	for ; i+8 <= len(levels); i += 8 {
		x := binary.LittleEndian.Uint64(levels[i:])
		bad |= x | ((x &^ highs) + over)
		y := x ^ mm // zero bytes are levels equal to max
		t := ((y &^ highs) + (^uint64(0) &^ highs)) | y
		n += 8 - bits.OnesCount64(t&highs)
	}
	if max > 0x7f || bad&highs != 0 {
		return countLevelsSlow(levels, max)
	}
	for _, l := range levels[i:] {
		if l == max {
			n++
		}
		if l > max {
			return -1
		}
	}
	return n
}

func countLevelsSlow(levels []byte, max byte) int {
	n := 0
	for _, l := range levels {
		if l == max {
			n++
		} else if l > max {
			return -1
		}
	}
	return n
}

// useDict converts a page dictionary to the output type, once per
// dictionary.
func (c *pqCursor) useDict(d parquet.Dictionary) error {
	if d == c.cachedDict {
		return nil
	}
	c.cachedDict = nil
	data := d.Page().Data()
	n := d.Len()
	if n < 0 {
		return errors.New("negative dictionary size")
	}
	if k := data.Kind(); k != c.col.conv.kind() {
		return fmt.Errorf("dictionary holds %v values, want %v", k, c.col.conv.kind())
	}
	short := func(have int) error {
		return fmt.Errorf("dictionary of %d values holds only %d", n, have)
	}
	if c.col.decimal {
		switch c.col.conv {
		case convInt32:
			v := data.Int32()
			if len(v) < n {
				return short(len(v))
			}
			c.dF64 = decimalsInt32(c.dF64[:0], v[:n], c.col.scale)
		case convInt64:
			v := data.Int64()
			if len(v) < n {
				return short(len(v))
			}
			c.dF64 = decimalsInt64(c.dF64[:0], v[:n], c.col.scale)
		case convFixed:
			b, size := data.FixedLenByteArray()
			if size <= 0 || len(b) < size*n {
				return short(0)
			}
			c.dF64 = decimalsFixed(c.dF64[:0], b[:size*n], size, c.col.scale)
		}
		c.dLen = n
		c.cachedDict = d
		return nil
	}
	switch c.col.conv {
	case convBool:
		bits := data.Boolean()
		if len(bits)*8 < n {
			return short(len(bits) * 8)
		}
		c.dBool = unpackBits(c.dBool[:0], bits, 0, n)
	case convInt32:
		v := data.Int32()
		if len(v) < n {
			return short(len(v))
		}
		c.dInt = widenInt32(c.dInt[:0], v[:n])
	case convUint32:
		v := data.Uint32()
		if len(v) < n {
			return short(len(v))
		}
		c.dInt = widenUint32(c.dInt[:0], v[:n])
	case convInt64:
		v := data.Int64()
		if len(v) < n {
			return short(len(v))
		}
		c.dInt = v[:n]
	case convFloat:
		v := data.Float()
		if len(v) < n {
			return short(len(v))
		}
		c.dF32 = v[:n]
	case convDouble:
		v := data.Double()
		if len(v) < n {
			return short(len(v))
		}
		c.dF64 = v[:n]
	case convFloat16:
		b, size := data.FixedLenByteArray()
		if size != 2 || len(b) < 2*n {
			return short(len(b) / 2)
		}
		c.dF32 = halfsToFloat32(c.dF32[:0], b[:2*n])
	case convBytes:
		b, offs := data.ByteArray()
		if len(offs) < n+1 {
			return short(max(len(offs)-1, 0))
		}
		strs, err := bytesToStrings(make([]string, 0, n), b, offs[:n+1])
		if err != nil {
			return err
		}
		c.dStr = strs
	case convFixed:
		b, size := data.FixedLenByteArray()
		if size <= 0 || len(b) < size*n {
			return short(0)
		}
		own := append([]byte(nil), b[:size*n]...)
		strs := make([]string, n)
		for i := range strs {
			strs[i] = unsafe.String(&own[i*size], size)
		}
		c.dStr = strs
	}
	c.dLen = n
	c.cachedDict = d
	return nil
}

// bytesToStrings copies byte array values (with offsets) into one new buffer
// and returns strings that alias it.
func bytesToStrings(dst []string, b []byte, offs []uint32) ([]string, error) {
	if len(offs) == 0 {
		return dst, nil
	}
	lo, hi := offs[0], offs[len(offs)-1]
	if lo > hi || int(hi) > len(b) {
		return nil, errors.New("byte array offsets out of range")
	}
	own := append([]byte(nil), b[lo:hi]...)
	for i := 0; i+1 < len(offs); i++ {
		a, z := offs[i]-lo, offs[i+1]-lo
		if a > z || int(z) > len(own) {
			return nil, errors.New("byte array offsets out of order")
		}
		if a == z {
			dst = append(dst, "")
		} else {
			dst = append(dst, unsafe.String(&own[a], z-a))
		}
	}
	return dst, nil
}

// take makes the next cnt values of the page the current run.
func (c *pqCursor) take(cnt int) error {
	lo, hi := c.vi, c.vi+cnt
	if hi > c.nvals {
		return fmt.Errorf("page ran out of values (%d of %d)", hi, c.nvals)
	}
	c.vi = hi
	c.vCodes, c.vDict = nil, nil
	if c.col.decimal {
		switch {
		case c.dict != nil:
			c.sF64 = gather(c.sF64[:0], c.dF64, c.idx[lo:hi])
		case c.col.conv == convInt32:
			c.sF64 = decimalsInt32(c.sF64[:0], c.i32[lo:hi], c.col.scale)
		case c.col.conv == convInt64:
			c.sF64 = decimalsInt64(c.sF64[:0], c.i64[lo:hi], c.col.scale)
		default:
			c.sF64 = decimalsFixed(c.sF64[:0], c.fixed[lo*c.fixedSize:hi*c.fixedSize], c.fixedSize, c.col.scale)
		}
		c.vF64 = c.sF64
		return nil
	}
	if c.dict != nil {
		idx := c.idx[lo:hi]
		switch c.col.conv {
		case convBool:
			c.sBool = gather(c.sBool[:0], c.dBool, idx)
			c.vBool = c.sBool
		case convInt32, convUint32, convInt64:
			c.sInt = gather(c.sInt[:0], c.dInt, idx)
			c.vInt = c.sInt
		case convFloat, convFloat16:
			c.sF32 = gather(c.sF32[:0], c.dF32, idx)
			c.vF32 = c.sF32
		case convDouble:
			c.sF64 = gather(c.sF64[:0], c.dF64, idx)
			c.vF64 = c.sF64
		case convBytes, convFixed:
			c.vCodes, c.vDict = idx, c.dStr
		}
		return nil
	}
	switch c.col.conv {
	case convBool:
		c.sBool = unpackBits(c.sBool[:0], c.bits, lo, hi)
		c.vBool = c.sBool
	case convInt32:
		c.sInt = widenInt32(c.sInt[:0], c.i32[lo:hi])
		c.vInt = c.sInt
	case convUint32:
		c.sInt = widenUint32(c.sInt[:0], unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(c.i32))), len(c.i32))[lo:hi])
		c.vInt = c.sInt
	case convInt64:
		c.vInt = c.i64[lo:hi]
	case convFloat:
		c.vF32 = c.f32[lo:hi]
	case convDouble:
		c.vF64 = c.f64[lo:hi]
	case convFloat16:
		c.sF32 = halfsToFloat32(c.sF32[:0], c.fixed[2*lo:2*hi])
		c.vF32 = c.sF32
	case convBytes:
		offs := c.baOff[lo : hi+1]
		need := int(offs[len(offs)-1] - offs[0])
		if cap(c.arena)-len(c.arena) < need {
			// A new arena: strings already made keep the old one alive.
			c.arena = make([]byte, 0, max(2*cap(c.arena), need, 1<<16))
		}
		start := len(c.arena)
		c.arena = append(c.arena, c.ba[offs[0]:offs[len(offs)-1]]...)
		own := c.arena[start:]
		c.sStr = c.sStr[:0]
		base := offs[0]
		for i := 0; i+1 < len(offs); i++ {
			a, z := offs[i]-base, offs[i+1]-base
			if a >= z {
				c.sStr = append(c.sStr, "")
			} else {
				c.sStr = append(c.sStr, unsafe.String(&own[a], z-a))
			}
		}
		c.vStr = c.sStr
	case convFixed:
		size := c.fixedSize
		need := size * cnt
		if cap(c.arena)-len(c.arena) < need {
			c.arena = make([]byte, 0, max(2*cap(c.arena), need, 1<<16))
		}
		start := len(c.arena)
		c.arena = append(c.arena, c.fixed[lo*size:hi*size]...)
		own := c.arena[start:]
		c.sStr = c.sStr[:0]
		for i := range cnt {
			c.sStr = append(c.sStr, unsafe.String(&own[i*size], size))
		}
		c.vStr = c.sStr
	}
	return nil
}
