package reader

// A page reader of our own for the common case that parquet-go handles
// slowly and with a lot of memory: fixed-width numeric columns whose data
// pages (v1) are PLAIN encoded, uncompressed or snappy-compressed, such as
// the list<float> columns that DuckDB and Arrow write.
//
// parquet-go reads a whole compressed page, decompresses it into a second
// buffer, then expands both level streams to a byte per level before the
// first value is used: for a 100 MB page of a list column that is over
// 250 MB per page in flight, allocated afresh for each page. Here:
//
//   - the compressed bytes are never held whole: the snappy stream is
//     decoded from a small input window, and long literals (most of the
//     bytes of float data) are read from the file straight into place;
//   - the decompressed page goes into a buffer reused from page to page and
//     from row group to row group (pqFile.pageBuf), aligned so that the
//     PLAIN values are used in place;
//   - the levels are decoded a window at a time, after one pass over the
//     runs that checks them (and counts the values) without expanding
//     them, so that errors are found when the page is read, as before.
//
// The cursor sees each window as a page of its own (see nextRawWindow):
// fillFlat and fillList are unchanged. Chunks with any other page (a
// dictionary, another encoding, a v2 page, BIT_PACKED levels) or codec are
// read with parquet-go.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// rawWindow is how many levels the cursor sees at a time (a variable for
// tests).
var rawWindow = 1 << 17

// Pages of more than rawStreamMin bytes decompressed are streamed: only
// their levels are held whole, and the values are decoded a window at a
// time into a buffer of about rawWindow values plus streamHist bytes of
// history for snappy's back-references (the reference encoder refers back
// at most 64 KiB). DuckDB writes pages of 150 MB for list columns; held
// whole, such a page costs its size in RSS and, faulted in 4 KiB at a
// time, a third of a second of system time. A back-reference beyond the
// history (legal, but no encoder we know makes one) sends the page to be
// read whole after all (rawChunk.fallback). Variables for tests.
var (
	rawStreamMin = 4 << 20
	streamHist   = 64 << 10
)

// readWindow is how many bytes of a column chunk are read at a time when
// its pages are streamed, or when only their headers are wanted.
const readWindow = 64 << 10

// rawStats counts pages streamed and pages that fell back (for tests).
var rawStats struct{ streamed, fallbacks atomic.Int64 }

// Parquet encodings used here.
const (
	encRLE       = 3
	encBitPacked = 4
)

// rawPage is a data page of a chunk read by rawChunk.
type rawPage struct {
	pos          int64 // of the page data, after the header
	compressed   int
	uncompressed int
	numValues    int
	crc          uint32 // of the page data as stored, when not 0
}

// rawChunk reads the pages of one column chunk.
type rawChunk struct {
	f      *pqFile
	col    *pqCol
	snappy bool
	width  int // bytes per value
	pages  []rawPage
	pi     int // next page

	buf []byte // the decompressed page, or its levels when streaming (from f.pageBuf)
	in  []byte // input window of the snappy decoder

	// Streaming (pages over rawStreamMin bytes): the values come from vs,
	// decoded into vbuf; after a fallback, from whole.
	page      rawPage
	streaming bool
	streamAll bool // stream every page, whatever its size (parts of a row group)
	vs        pageStream
	vbuf      []byte
	whole     []byte
	at        int // the values start at this offset of the page

	// The current page: levels left, decoders, values.
	left     int
	rep, def rleLevels
	vals     []byte
	vpos     int // next value
	repWin   []byte
	defWin   []byte
}

// dataPageInfo is what rawChunk needs of a page header.
type dataPageInfo struct {
	pageHeader
	defEnc, repEnc int32
	crc            int32
}

// parseDataPageInfo parses a page header, with the level encodings of a v1
// data page, which parsePageHeader skips.
func parseDataPageInfo(b []byte) (h dataPageInfo, n int, err error) {
	h.pageHeader, n, err = parsePageHeader(b)
	if err != nil || h.typ != pageData || !h.hasData {
		return h, n, err
	}
	h.defEnc, h.repEnc = encRLE, encRLE
	w := thriftWalker{b: b[:n]}
	err = w.walkStruct(0, func(id int16, t byte) (bool, error) {
		if id == fidCRC && t == tI32 {
			var err error
			h.crc, err = w.i32(t)
			return true, err
		}
		if id != fidDataPage || t != tStruct {
			return false, nil
		}
		return true, w.walkStruct(1, func(sid int16, st byte) (bool, error) {
			var err error
			switch sid {
			case fidDefEnc:
				h.defEnc, err = w.i32(st)
			case fidRepEnc:
				h.repEnc, err = w.i32(st)
			default:
				return false, nil
			}
			return true, err
		})
	})
	return h, n, err
}

// rawChunkFor returns a reader for the chunk of col in row group rg, or nil
// when parquet-go must read it. The chunk's page headers have been checked
// (checkRowGroup); they are read once (a row group cut into parts is read
// by several scanners).
func (f *pqFile) rawChunkFor(rg int, col *pqCol) *rawChunk {
	if f.noRaw || col.decimal {
		return nil
	}
	var width int
	switch col.conv {
	case convInt32, convUint32, convFloat:
		width = 4
	case convInt64, convDouble:
		width = 8
	default:
		return nil
	}
	key := chunkKey{rg: rg, leaf: col.leaf}
	f.mu.Lock()
	pages, done := f.rawPages[key]
	f.mu.Unlock()
	cm := &f.pf.Metadata().RowGroups[rg].Columns[col.leaf].MetaData
	if done {
		if pages == nil {
			return nil
		}
		return &rawChunk{f: f, col: col, snappy: cm.Codec == format.Snappy, width: width, pages: pages}
	}
	rc := f.readRawChunk(cm, col, width)
	f.mu.Lock()
	if f.rawPages == nil {
		f.rawPages = map[chunkKey][]rawPage{}
	}
	if rc != nil {
		f.rawPages[key] = rc.pages
	} else {
		f.rawPages[key] = nil
	}
	f.mu.Unlock()
	return rc
}

// readRawChunk reads the page headers of a column chunk, or returns nil
// when parquet-go must read it.
func (f *pqFile) readRawChunk(cm *format.ColumnMetaData, col *pqCol, width int) *rawChunk {
	var snappy bool
	switch cm.Codec {
	case format.Uncompressed:
	case format.Snappy:
		snappy = true
	default:
		return nil
	}
	start := cm.DataPageOffset
	if cm.DictionaryPageOffset != 0 {
		start = cm.DictionaryPageOffset
	}
	end := start + cm.TotalCompressedSize
	if start < 0 || cm.TotalCompressedSize < 0 || end > f.size || end < start {
		return nil
	}
	rc := &rawChunk{f: f, col: col, snappy: snappy, width: width}
	hdr := make([]byte, 1024)
	for pos := start; pos < end; {
		var h dataPageInfo
		var n int
		for window := int64(len(hdr)); ; window *= 4 {
			w := min(window, end-pos)
			if int64(len(hdr)) < w {
				hdr = make([]byte, w)
			}
			if k, _ := f.ra.ReadAt(hdr[:w], pos); int64(k) != w {
				return nil
			}
			var err error
			h, n, err = parseDataPageInfo(hdr[:w])
			if err == nil {
				break
			}
			if err != errThriftShort || w == end-pos || window >= 64<<20 {
				return nil
			}
		}
		pos += int64(n)
		if h.compressed < 0 || h.uncompressed < 0 || int64(h.compressed) > end-pos {
			return nil
		}
		switch {
		case h.typ == pageIndex:
		case h.typ == pageData && h.hasData && h.encoding == encPlain &&
			(col.maxDef == 0 || h.defEnc == encRLE) && (col.maxRep == 0 || h.repEnc == encRLE) &&
			h.numValues >= 0 && (snappy || h.compressed == h.uncompressed):
			rc.pages = append(rc.pages, rawPage{pos: pos, compressed: int(h.compressed), uncompressed: int(h.uncompressed), numValues: int(h.numValues), crc: uint32(h.crc)})
		default:
			return nil
		}
		pos += int64(h.compressed)
	}
	if rc.pages == nil {
		rc.pages = []rawPage{}
	}
	return rc
}

// release gives the page buffers back to the file.
func (rc *rawChunk) release() {
	for _, b := range []*[]byte{&rc.buf, &rc.vbuf, &rc.whole} {
		if *b != nil {
			rc.f.putPageBuf(*b)
			*b = nil
		}
	}
	if rc.streaming {
		rc.in = rc.vs.in
	}
	rc.vs = pageStream{}
	rc.streaming = false
	rc.vals = nil
	rc.left = 0
}

// nextPage reads the next page with at least one level, decompressed, its
// levels checked; io.EOF after the last.
func (rc *rawChunk) nextPage() error {
	for {
		if rc.pi >= len(rc.pages) {
			rc.release()
			return io.EOF
		}
		p := rc.pages[rc.pi]
		rc.pi++
		if p.numValues == 0 {
			continue
		}
		return rc.load(p)
	}
}

// load reads page p: whole, or, when streaming, its levels only.
func (rc *rawChunk) load(p rawPage) error {
	col := rc.col
	size := p.uncompressed
	rc.page = p
	if rc.streaming {
		rc.in = rc.vs.in
		rc.vs = pageStream{}
	}
	if rc.whole != nil {
		rc.f.putPageBuf(rc.whole)
		rc.whole = nil
	}
	rc.streaming = size > rawStreamMin || rc.streamAll
	if rc.streaming {
		rawStats.streamed.Add(1)
	}
	want := size + 8
	if rc.streaming {
		want = min(want, readWindow)
	}
	if rc.buf == nil || cap(rc.buf) < want {
		if rc.buf != nil {
			rc.f.putPageBuf(rc.buf)
		}
		rc.buf = rc.f.pageBuf(want)
	}
	s := pageStream{r: rc.f.ra, pos: p.pos, end: p.pos + int64(p.compressed), in: rc.in, dst: rc.buf[:min(size, cap(rc.buf))], total: size, wantCRC: p.crc != 0}
	if rc.snappy {
		if err := s.startSnappy(); err != nil {
			return err
		}
	} else {
		s.lit = p.compressed
	}
	// The levels, each a 4-byte length and RLE/bit-packed data.
	var spans [2][2]int
	at := 0
	for i, max := range [2]byte{col.maxRep, col.maxDef} {
		if max == 0 {
			continue
		}
		if err := rc.untilLevels(&s, at+4); err != nil {
			return err
		}
		n := int(binary.LittleEndian.Uint32(s.dst[at:]))
		if n < 0 || n > size-at-4 {
			return fmt.Errorf("levels of %d bytes in a page of %d", n, size)
		}
		spans[i] = [2]int{at + 4, at + 4 + n}
		at += 4 + n
	}
	rc.at = at
	var levels []byte
	if rc.streaming {
		if err := rc.untilLevels(&s, at); err != nil {
			return err
		}
		levels = s.dst[:at]
		rc.startValues(&s)
	} else {
		// Move what is decoded so far so that the values start 8-aligned.
		if shift := (8 - at%8) % 8; shift != 0 {
			copy(rc.buf[shift:], rc.buf[:s.d])
			s.dst = rc.buf[shift : shift+size]
		}
		if err := s.until(size); err != nil {
			return err
		}
		rc.in = s.in
		if err := rc.finish(&s); err != nil {
			return err
		}
		levels = s.dst
		rc.vals = s.dst[at:]
	}
	if (size-at)%rc.width != 0 {
		return fmt.Errorf("PLAIN page data of %d bytes for %d-byte values", size-at, rc.width)
	}
	nvals := (size - at) / rc.width
	nonNull := p.numValues
	if col.maxRep > 0 {
		rc.rep = rleLevels{b: levels[spans[0][0]:spans[0][1]], width: uint(bits.Len8(col.maxRep))}
		d := rc.rep
		if _, err := d.scan(p.numValues, col.maxRep); err != nil {
			if err == errLevelAbove {
				return fmt.Errorf("repetition level above the maximum %d", col.maxRep)
			}
			return err
		}
	}
	if col.maxDef > 0 {
		rc.def = rleLevels{b: levels[spans[1][0]:spans[1][1]], width: uint(bits.Len8(col.maxDef))}
		d := rc.def
		var err error
		if nonNull, err = d.scan(p.numValues, col.maxDef); err != nil {
			if err == errLevelAbove {
				return fmt.Errorf("definition level above the maximum %d", col.maxDef)
			}
			return err
		}
	}
	if nonNull > nvals {
		return fmt.Errorf("page levels call for %d values but it holds %d", nonNull, nvals)
	}
	rc.left, rc.vpos = p.numValues, 0
	return nil
}

// finish checks that a page's stream, decoded to its end, used all of its
// input and matches its checksum.
func (rc *rawChunk) finish(s *pageStream) error {
	if err := s.done(); err != nil {
		return err
	}
	if p := rc.page; p.crc != 0 && s.crc != p.crc {
		// As parquet-go says it.
		return fmt.Errorf("crc32 checksum mismatch in page of column %q: want=0x%08X got=0x%08X: %w",
			rc.f.leaves[rc.col.leaf].path, p.crc, s.crc, parquet.ErrCorrupted)
	}
	return nil
}

// untilLevels decodes the page up to offset n into rc.buf, growing it: the
// levels of a streamed page are held whole.
func (rc *rawChunk) untilLevels(s *pageStream, n int) error {
	if n > len(s.dst) && n <= s.total {
		nb := rc.f.pageBuf(min(max(n, 2*len(s.dst)), s.total) + 8)
		copy(nb, s.dst[:s.d])
		rc.f.putPageBuf(rc.buf)
		rc.buf = nb
		s.dst = nb[:min(len(nb), s.total)]
	}
	return s.until(n)
}

// startValues moves the stream of a page whose levels are decoded to the
// value buffer, with up to streamHist bytes of history, placed so that the
// values start 8-aligned.
func (rc *rawChunk) startValues(s *pageStream) {
	need := rawWindow*rc.width + streamHist + 256
	if cap(rc.vbuf) < need {
		if rc.vbuf != nil {
			rc.f.putPageBuf(rc.vbuf)
		}
		rc.vbuf = rc.f.pageBuf(need)
	}
	keep := max(0, s.d-streamHist)
	o := (8 - (rc.at-keep)%8) % 8
	copy(rc.vbuf[o:], s.dst[keep:s.d])
	s.dst = rc.vbuf[o:need]
	s.base, s.d = keep, s.d-keep
	rc.vs = *s
}

// values returns the bytes of values lo..lo+n of the page. When streaming,
// the bytes before lo may be dropped (c's batch is first unaliased from
// them), and at the page's last window the stream is decoded to its end
// and checked.
func (rc *rawChunk) values(c *pqCursor, lo, n int, last bool) ([]byte, error) {
	w := rc.width
	if !rc.streaming {
		return rc.vals[lo*w : (lo+n)*w], nil
	}
	s := &rc.vs
	plo, phi := rc.at+lo*w-s.base, rc.at+(lo+n)*w-s.base
	const slack = 64 // a snappy copy may go this far past what was asked
	if phi > len(s.dst)-slack {
		// Drop what was used, keeping the history; 8 bytes at a time,
		// which keeps the values aligned.
		if drop := min(plo, s.d-streamHist) &^ 7; drop > 0 {
			c.unalias()
			copy(s.dst, s.dst[drop:s.d])
			s.d -= drop
			s.base += drop
			plo -= drop
			phi -= drop
		}
		if phi > len(s.dst)-slack {
			return nil, fmt.Errorf("internal error: a window of %d values does not fit the value buffer", n)
		}
	}
	err := s.until(phi)
	if err == nil && last {
		// The rest of the page (values beyond the levels' count, if any).
		if rest := s.total - s.base; rest <= len(s.dst) {
			if err = s.until(rest); err == nil {
				err = rc.finish(s)
			}
		} else {
			err = errWindow
		}
	}
	if err == errWindow {
		c.unalias()
		if err := rc.fallback(); err != nil {
			return nil, err
		}
		return rc.vals[lo*w : (lo+n)*w], nil
	}
	if err != nil {
		return nil, err
	}
	return s.dst[plo:phi], nil
}

// fallback reads the current page whole, for its values, when streaming
// cannot go on.
func (rc *rawChunk) fallback() error {
	rawStats.fallbacks.Add(1)
	p := rc.page
	size := p.uncompressed
	rc.in = rc.vs.in
	rc.vs = pageStream{}
	rc.streaming = false
	rc.whole = rc.f.pageBuf(size + 8)
	shift := (8 - rc.at%8) % 8
	s := pageStream{r: rc.f.ra, pos: p.pos, end: p.pos + int64(p.compressed), in: rc.in, dst: rc.whole[shift : shift+size], total: size, wantCRC: p.crc != 0}
	if rc.snappy {
		if err := s.startSnappy(); err != nil {
			return err
		}
	} else {
		s.lit = p.compressed
	}
	if err := s.until(size); err != nil {
		return err
	}
	rc.in = s.in
	if err := rc.finish(&s); err != nil {
		return err
	}
	rc.vals = s.dst[rc.at:]
	return nil
}

// nextRawWindow makes the next window of levels of the chunk the cursor's
// page, reading pages as needed; io.EOF at the end of the chunk.
func (c *pqCursor) nextRawWindow() error {
	c.releasePage()
	rc := c.raw
	if rc.left == 0 {
		c.unalias() // the batch may point into the page about to be overwritten
		if err := rc.nextPage(); err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reading page: %w", err)
			}
			return err
		}
	}
	col := c.col
	k := min(rc.left, rawWindow)
	nonNull := k
	if col.maxRep > 0 {
		rc.repWin = grow(rc.repWin[:0], k)
		if err := rc.rep.read(rc.repWin); err != nil {
			return fmt.Errorf("reading page: %w", err)
		}
		c.rep = rc.repWin
	}
	switch {
	case col.maxDef > 0 && rc.def.skipRun(k, col.maxDef):
		// A window inside one run of the maximum level (a column without
		// nulls): nothing to expand or count, and fillFlat and fillList
		// read no definition levels of a window without nulls.
		c.def = nil
	case col.maxDef > 0:
		rc.defWin = grow(rc.defWin[:0], k)
		if err := rc.def.read(rc.defWin); err != nil {
			return fmt.Errorf("reading page: %w", err)
		}
		c.def = rc.defWin
		nonNull = countLevels(c.def, col.maxDef)
	}
	if col.maxRep > 0 && col.maxDef == 0 {
		// Not a shape analyseColumn makes, but keep fillList's invariant.
		c.def = grow(rc.defWin[:0], k)
		clear(c.def)
		nonNull = 0
	}
	v, err := rc.values(c, rc.vpos, nonNull, k == rc.left)
	if err != nil {
		return fmt.Errorf("reading page: %w", err)
	}
	p := unsafe.Pointer(unsafe.SliceData(v))
	switch col.conv {
	case convInt32, convUint32:
		c.i32 = unsafe.Slice((*int32)(p), nonNull)
	case convFloat:
		c.f32 = unsafe.Slice((*float32)(p), nonNull)
	case convInt64:
		c.i64 = unsafe.Slice((*int64)(p), nonNull)
	case convDouble:
		c.f64 = unsafe.Slice((*float64)(p), nonNull)
	}
	rc.vpos += nonNull
	rc.left -= k
	c.nlvl, c.nvals, c.pageNulls = k, nonNull, k-nonNull
	return nil
}

var errLevelAbove = errors.New("level above the maximum")

// rleLevels decodes levels in the RLE/bit-packed hybrid encoding.
type rleLevels struct {
	b     []byte // encoded runs not yet started
	width uint   // bits per level, 1..8
	n     int    // levels left in the current run
	rle   bool   // the current run repeats val; else bit-packed from bp
	val   byte
	bp    []byte
	bi    int // next level of the bit-packed run
}

var errLevelsShort = errors.New("corrupt page: level data ends early")

// run starts the next run.
func (d *rleLevels) run() error {
	h, k := binary.Uvarint(d.b)
	if k <= 0 {
		return errLevelsShort
	}
	d.b = d.b[k:]
	if h&1 == 0 {
		if h>>1 > 1<<31 || len(d.b) < 1 {
			return errLevelsShort
		}
		d.rle, d.n, d.val = true, int(h>>1), d.b[0]
		d.b = d.b[1:]
		return nil
	}
	groups := h >> 1
	if groups > uint64(len(d.b))/uint64(d.width) {
		return errLevelsShort
	}
	nb := int(groups) * int(d.width)
	d.rle, d.n, d.bp, d.bi = false, int(groups)*8, d.b[:nb], 0
	d.b = d.b[nb:]
	return nil
}

// group returns the 8 levels of bit-packed group g, one per byte.
func (d *rleLevels) group(g int) uint64 {
	w := d.width
	src := d.bp[g*int(w) : (g+1)*int(w)]
	var x uint64
	for i, c := range src {
		x |= uint64(c) << (8 * i)
	}
	if w == 1 {
		return bits1[x&0xff]
	}
	mask := uint64(1)<<w - 1
	var out uint64
	for i := range 8 {
		out |= ((x >> (uint(i) * w)) & mask) << (8 * i)
	}
	return out
}

// bits1 spreads the 8 bits of a byte over 8 bytes.
var bits1 = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			t[b] |= uint64(b>>i&1) << (8 * i)
		}
	}
	return t
}()

// skipRun skips the next k levels if they all lie in one RLE run of v,
// and reports whether it did (otherwise read and scan go on as before; a
// run header it could not decode is read's to report).
func (d *rleLevels) skipRun(k int, v byte) bool {
	if d.n == 0 && (len(d.b) == 0 || d.run() != nil) {
		return false
	}
	if !d.rle || d.val != v || d.n < k {
		return false
	}
	d.n -= k
	return true
}

// read fills dst with the next len(dst) levels.
func (d *rleLevels) read(dst []byte) error {
	for len(dst) > 0 {
		if d.n == 0 {
			if err := d.run(); err != nil {
				return err
			}
			continue
		}
		k := min(d.n, len(dst))
		if d.rle {
			v := d.val
			out := dst[:k]
			for i := range out {
				out[i] = v
			}
		} else {
			i, out := d.bi, dst[:k]
			for len(out) > 0 {
				if i%8 == 0 && len(out) >= 8 {
					binary.LittleEndian.PutUint64(out, d.group(i/8))
					out, i = out[8:], i+8
					continue
				}
				out[0] = byte(d.group(i/8) >> (8 * (i % 8)))
				out, i = out[1:], i+1
			}
			d.bi = i
		}
		d.n -= k
		dst = dst[k:]
	}
	return nil
}

// scan goes over the next n levels without expanding runs: it counts those
// equal to max, and fails with errLevelAbove when one is above it.
func (d *rleLevels) scan(n int, max byte) (int, error) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	mm := uint64(max) * ones
	over := uint64(0x7f-max) * ones
	cnt := 0
	for n > 0 {
		if d.n == 0 {
			if err := d.run(); err != nil {
				return 0, err
			}
			continue
		}
		k := min(d.n, n)
		if d.rle {
			if d.val > max {
				return 0, errLevelAbove
			}
			if d.val == max {
				cnt += k
			}
		} else if d.width == 1 {
			// max is 1: no level is above it, and those at it are the bits
			// set.
			cnt += popBits(d.bp, d.bi, d.bi+k)
			d.bi += k
		} else {
			i := d.bi
			for j := 0; j < k; {
				x := d.group(i/8) >> (8 * uint(i%8))
				m := min(8-i%8, k-j)
				if m == 8 && max <= 0x7f {
					if (x|((x&^highs)+over))&highs != 0 {
						return 0, errLevelAbove
					}
					y := x ^ mm
					t := ((y &^ highs) + (^uint64(0) &^ highs)) | y
					cnt += 8 - bits.OnesCount64(t&highs)
				} else {
					for b := range m {
						switch v := byte(x >> (8 * uint(b))); {
						case v > max:
							return 0, errLevelAbove
						case v == max:
							cnt++
						}
					}
				}
				i += m
				j += m
			}
			d.bi = i
		}
		d.n -= k
		n -= k
	}
	return cnt, nil
}

// popBits counts the bits set in bits [lo, hi) of b, least significant
// first.
func popBits(b []byte, lo, hi int) int {
	n := 0
	for ; lo < hi && lo%8 != 0; lo++ {
		n += int(b[lo/8] >> (lo % 8) & 1)
	}
	for ; lo+64 <= hi; lo += 64 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b[lo/8:]))
	}
	for ; lo+8 <= hi; lo += 8 {
		n += bits.OnesCount8(b[lo/8])
	}
	for ; lo < hi; lo++ {
		n += int(b[lo/8] >> (lo % 8) & 1)
	}
	return n
}

// pageStream decompresses a page from the file into dst, on demand: until
// decodes up to a given length of output. Snappy literals are copied from a
// small input window, or read from the file into place when long; an
// uncompressed page is one long literal.
type pageStream struct {
	r        io.ReaderAt
	pos, end int64 // input not yet in the window
	in       []byte
	bi, bn   int // window [bi, bn) of in
	dst      []byte
	d        int // next byte of dst to write
	base     int // offset in the page of dst[0] (streaming drops what was used)
	total    int // the page's size decompressed
	lit      int // literal bytes still to copy
	snappy   bool
	crc      uint32 // CRC-32 of the input read so far, when wantCRC
	wantCRC  bool
}

var errSnappy = errors.New("corrupt snappy page")

// errWindow: a back-reference to output that streaming has dropped.
var errWindow = errors.New("snappy back-reference beyond the streaming window")

// refill keeps what is left of the window and reads more, up to want bytes
// in all.
func (s *pageStream) refill(want int) error {
	if len(s.in) == 0 {
		s.in = make([]byte, readWindow)
	}
	n := copy(s.in, s.in[s.bi:s.bn])
	s.bi, s.bn = 0, n
	k := min(int64(len(s.in)-n), s.end-s.pos, int64(max(want, 4096)))
	if k <= 0 {
		return nil
	}
	m, err := s.r.ReadAt(s.in[n:n+int(k)], s.pos)
	if m < int(k) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if s.wantCRC {
		s.crc = crc32.Update(s.crc, crc32.IEEETable, s.in[n:n+m])
	}
	s.pos += k
	s.bn += m
	return nil
}

func (s *pageStream) startSnappy() error {
	s.snappy = true
	if err := s.refill(16); err != nil {
		return err
	}
	n, k := binary.Uvarint(s.in[s.bi:s.bn])
	if k <= 0 {
		return errSnappy
	}
	s.bi += k
	if n != uint64(s.total) {
		return fmt.Errorf("snappy page decodes to %d bytes, its header says %d", n, s.total)
	}
	return nil
}

// copyLit copies up to k bytes of the current literal.
func (s *pageStream) copyLit(k int) error {
	m := copy(s.dst[s.d:s.d+k], s.in[s.bi:s.bn])
	s.bi += m
	s.d += m
	s.lit -= m
	k -= m
	if k > 0 {
		if int64(k) > s.end-s.pos {
			return errSnappy
		}
		got, err := s.r.ReadAt(s.dst[s.d:s.d+k], s.pos)
		if got < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if s.wantCRC {
			s.crc = crc32.Update(s.crc, crc32.IEEETable, s.dst[s.d:s.d+k])
		}
		s.pos += int64(k)
		s.d += k
		s.lit -= k
	}
	return nil
}

// until decodes at least n bytes of output (all of it when n is len(dst)).
func (s *pageStream) until(n int) error {
	n = min(n, len(s.dst))
	for s.d < n {
		if s.lit > 0 {
			if err := s.copyLit(min(s.lit, n-s.d)); err != nil {
				return err
			}
			continue
		}
		if !s.snappy {
			return io.ErrUnexpectedEOF
		}
		if s.bn-s.bi < 5 && s.pos < s.end {
			if err := s.refill(5); err != nil {
				return err
			}
		}
		in := s.in[s.bi:s.bn]
		if len(in) == 0 {
			return errSnappy
		}
		tag := in[0]
		var length, offset int
		switch tag & 3 {
		case 0:
			l := int(tag >> 2)
			if l < 60 {
				s.bi++
			} else {
				nb := l - 59
				if len(in) < 1+nb {
					return errSnappy
				}
				x := 0
				for i := nb; i >= 1; i-- {
					x = x<<8 | int(in[i])
				}
				l = x
				s.bi += 1 + nb
			}
			s.lit = l + 1
			if s.lit > s.total-s.base-s.d {
				return errSnappy
			}
			continue
		case 1:
			if len(in) < 2 {
				return errSnappy
			}
			length = 4 + int(tag>>2)&7
			offset = int(tag&0xe0)<<3 | int(in[1])
			s.bi += 2
		case 2:
			if len(in) < 3 {
				return errSnappy
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint16(in[1:]))
			s.bi += 3
		case 3:
			if len(in) < 5 {
				return errSnappy
			}
			length = 1 + int(tag>>2)
			offset = int(binary.LittleEndian.Uint32(in[1:]))
			s.bi += 5
		}
		if offset <= 0 || length > s.total-s.base-s.d || length > len(s.dst)-s.d {
			return errSnappy
		}
		if offset > s.d {
			if offset <= s.base+s.d {
				return errWindow
			}
			return errSnappy
		}
		d := s.d
		if offset >= length {
			copy(s.dst[d:d+length], s.dst[d-offset:])
		} else {
			out := s.dst
			for i := d; i < d+length; i++ {
				out[i] = out[i-offset]
			}
		}
		s.d += length
	}
	return nil
}

// done checks that the whole input was used.
func (s *pageStream) done() error {
	if s.base+s.d != s.total || s.lit != 0 || s.bi != s.bn || s.pos != s.end {
		return errSnappy
	}
	return nil
}

// pageBuf returns a buffer of at least n bytes for a decompressed page,
// reusing one that a finished chunk, of this file or another, gave back.
func (f *pqFile) pageBuf(n int) []byte {
	if b := spare.buf(n); b != nil {
		return b
	}
	return make([]byte, n)
}

// putPageBuf keeps a page buffer for reuse (see spares).
func (f *pqFile) putPageBuf(b []byte) {
	spare.give([][]byte{b}, nil)
}
