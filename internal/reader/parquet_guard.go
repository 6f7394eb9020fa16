package reader

// Checks on Parquet metadata and page headers made before parquet-go sees
// them. parquet-go trusts the sizes and counts a file claims (a list length
// in the footer, a page's compressed, uncompressed and value counts) and
// allocates them up front; a hostile file could make it allocate gigabytes.
// These checks walk the same Thrift compact-protocol bytes without
// allocating, and bound every claimed size by the bytes that really exist or
// by Options.MaxBatchBytes.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go/format"
)

// Thrift compact protocol type ids.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

const thriftMaxDepth = 64

var errThriftShort = errors.New("thrift data cut short")

// thriftWalker walks Thrift compact-protocol data without allocating.
type thriftWalker struct {
	b []byte
	p int
	// elems counts the list, set and map elements seen, structElems the
	// list elements that are structs (which decode to large Go values).
	elems       int64
	structElems int64
}

func (w *thriftWalker) remaining() int { return len(w.b) - w.p }

func (w *thriftWalker) byte() (byte, error) {
	if w.p >= len(w.b) {
		return 0, errThriftShort
	}
	c := w.b[w.p]
	w.p++
	return c, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	var x uint64
	for s := uint(0); s < 70; s += 7 {
		c, err := w.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("thrift varint too long")
}

func (w *thriftWalker) varint() (int64, error) {
	u, err := w.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

func (w *thriftWalker) skipN(n uint64) error {
	if n > uint64(w.remaining()) {
		return errThriftShort
	}
	w.p += int(n)
	return nil
}

// skip skips one value of type t; inList is set for list and map elements,
// where booleans take one byte.
func (w *thriftWalker) skip(t byte, inList bool, depth int) error {
	if depth > thriftMaxDepth {
		return errors.New("thrift data nested too deeply")
	}
	switch t {
	case tTrue, tFalse:
		if inList {
			return w.skipN(1)
		}
		return nil
	case tByte:
		return w.skipN(1)
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		return w.skipN(8)
	case tBinary:
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		return w.skipN(n)
	case tList, tSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		et := h & 0x0f
		if n == 15 {
			if n, err = w.uvarint(); err != nil {
				return err
			}
		}
		// Every element takes at least one byte.
		if n > uint64(w.remaining()) {
			return fmt.Errorf("thrift list claims %d elements in %d bytes", n, w.remaining())
		}
		w.elems += int64(n)
		if et == tStruct {
			w.structElems += int64(n)
		}
		for range n {
			if err := w.skip(et, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		if n > uint64(w.remaining())/2 {
			return fmt.Errorf("thrift map claims %d entries in %d bytes", n, w.remaining())
		}
		w.elems += int64(2 * n)
		for range n {
			if err := w.skip(kv>>4, true, depth+1); err != nil {
				return err
			}
			if err := w.skip(kv&0x0f, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		return w.walkStruct(depth+1, nil)
	}
	return fmt.Errorf("invalid thrift type %d", t)
}

// walkStruct walks the fields of a struct up to its STOP byte. fn, when not
// nil, is offered every field first; it returns handled=true when it has
// consumed the value itself.
func (w *thriftWalker) walkStruct(depth int, fn func(id int16, t byte) (bool, error)) error {
	if depth > thriftMaxDepth {
		return errors.New("thrift data nested too deeply")
	}
	var id int16
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		if h == tStop {
			return nil
		}
		t := h & 0x0f
		if d := h >> 4; d != 0 {
			id += int16(d)
		} else {
			v, err := w.varint()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		if fn != nil {
			handled, err := fn(id, t)
			if err != nil {
				return err
			}
			if handled {
				continue
			}
		}
		if err := w.skip(t, false, depth); err != nil {
			return err
		}
	}
}

// i32 reads an integer field value of type t as an int32.
func (w *thriftWalker) i32(t byte) (int32, error) {
	if t != tI32 && t != tI16 && t != tI64 {
		return 0, fmt.Errorf("thrift field has type %d, want an integer", t)
	}
	v, err := w.varint()
	if err != nil {
		return 0, err
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, fmt.Errorf("thrift i32 out of range: %d", v)
	}
	return int32(v), nil
}

// checkFooter validates the Thrift-encoded FileMetaData of a Parquet file
// before parquet-go decodes it: every length is within the footer, and the
// Go values it decodes to stay within budget bytes.
func checkFooter(footer []byte, budget int64) error {
	w := thriftWalker{b: footer}
	if err := w.walkStruct(0, nil); err != nil {
		if err == errThriftShort {
			return errors.New("file metadata is cut short")
		}
		return fmt.Errorf("corrupt file metadata: %w", err)
	}
	// The largest struct in FileMetaData lists (ColumnChunk) is 560 bytes;
	// other elements are at most a string header.
	if est := w.structElems*600 + w.elems*24; est > budget {
		return fmt.Errorf("file metadata would take %d bytes to decode (limit %d)", est, budget)
	}
	return nil
}

// pageHeader holds the fields of a Parquet PageHeader that the checks need.
type pageHeader struct {
	typ                      int32
	uncompressed, compressed int32
	hasData, hasDict, hasV2  bool
	numValues                int32
	numNulls, numRows        int32
	defLen, repLen           int32
	encoding                 int32
	v2Plain                  bool // a v2 data page with is_compressed false
}

// encPlain is the PLAIN encoding.
const encPlain = 0

// Parquet page types.
const (
	pageData       = 0
	pageIndex      = 1
	pageDictionary = 2
	pageDataV2     = 3
)

// Thrift field ids of parquet.thrift's PageHeader and of the page headers
// it holds.
const (
	fidPageType         = 1 // PageHeader.type
	fidUncompressedSize = 2 // PageHeader.uncompressed_page_size
	fidCompressedSize   = 3 // PageHeader.compressed_page_size
	fidCRC              = 4 // PageHeader.crc
	fidDataPage         = 5 // PageHeader.data_page_header
	fidDictionaryPage   = 7 // PageHeader.dictionary_page_header
	fidDataPageV2       = 8 // PageHeader.data_page_header_v2

	fidNumValues = 1 // DataPageHeader, DictionaryPageHeader, DataPageHeaderV2: num_values
	fidEncoding  = 2 // DataPageHeader.encoding (DictionaryPageHeader's too)
	fidDefEnc    = 3 // DataPageHeader.definition_level_encoding
	fidRepEnc    = 4 // DataPageHeader.repetition_level_encoding

	fidV2NumNulls     = 2 // DataPageHeaderV2.num_nulls
	fidV2NumRows      = 3 // DataPageHeaderV2.num_rows
	fidV2Encoding     = 4 // DataPageHeaderV2.encoding
	fidV2DefLen       = 5 // DataPageHeaderV2.definition_levels_byte_length
	fidV2RepLen       = 6 // DataPageHeaderV2.repetition_levels_byte_length
	fidV2IsCompressed = 7 // DataPageHeaderV2.is_compressed
)

// parsePageHeader reads a PageHeader from b, returning it and its length.
func parsePageHeader(b []byte) (h pageHeader, n int, err error) {
	w := thriftWalker{b: b}
	err = w.walkStruct(0, func(id int16, t byte) (bool, error) {
		var err error
		switch id {
		case fidPageType:
			h.typ, err = w.i32(t)
		case fidUncompressedSize:
			h.uncompressed, err = w.i32(t)
		case fidCompressedSize:
			h.compressed, err = w.i32(t)
		case fidDataPage, fidDictionaryPage, fidDataPageV2:
			if t != tStruct {
				return false, nil
			}
			switch id {
			case fidDataPage:
				h.hasData = true
			case fidDictionaryPage:
				h.hasDict = true
			case fidDataPageV2:
				h.hasV2 = true
			}
			v2 := id == fidDataPageV2
			err = w.walkStruct(1, func(sid int16, st byte) (bool, error) {
				var err error
				switch {
				case sid == fidNumValues:
					h.numValues, err = w.i32(st)
				case (id == fidDataPage && sid == fidEncoding) || (v2 && sid == fidV2Encoding):
					h.encoding, err = w.i32(st)
				case v2 && sid == fidV2NumNulls:
					h.numNulls, err = w.i32(st)
				case v2 && sid == fidV2NumRows:
					h.numRows, err = w.i32(st)
				case v2 && sid == fidV2DefLen:
					h.defLen, err = w.i32(st)
				case v2 && sid == fidV2RepLen:
					h.repLen, err = w.i32(st)
				case v2 && sid == fidV2IsCompressed:
					h.v2Plain = st == tFalse
					return true, nil
				default:
					return false, nil
				}
				return true, err
			})
		default:
			return false, nil
		}
		return true, err
	})
	return h, w.p, err
}

// chunkLimits are the bounds a column chunk's pages must respect.
type chunkLimits struct {
	fileSize      int64
	maxPageBytes  int64 // largest uncompressed page
	maxPageValues int64 // most values (levels) in one page
	rowGroupRows  int64
	chunkValues   int64 // the value count of the column chunk metadata
	repeated      bool  // the column has repetition levels
	required      bool  // the column has no levels at all
	plainBits     int64 // bits per PLAIN-encoded value of a fixed-width type, else 0
	compressed    bool  // the chunk's codec compresses
	// codec is the codec the decoder applies to the chunk's pages; when
	// inflate is set, compressed pages are held to inflateLimit(inflate, ...)
	// and checked with checkPageData (see inflate.go).
	codec   format.CompressionCodec
	inflate int64
}

// checkChunkPages walks the page headers of the column chunk at
// [start, start+length) of r, checking each against lim, before parquet-go
// reads the chunk.
func checkChunkPages(r io.ReaderAt, start, length int64, lim chunkLimits) error {
	if start < 0 || length < 0 || start > lim.fileSize || length > lim.fileSize-start {
		return fmt.Errorf("column chunk at offset %d with length %d is outside the file (%d bytes)", start, length, lim.fileSize)
	}
	end := start + length
	buf := make([]byte, 0, 4096)
	var values int64
	for pos, page := start, 0; pos < end; page++ {
		var (
			h   pageHeader
			n   int
			err error
		)
		for window := int64(4096); ; window *= 4 {
			w := min(window, end-pos)
			if int64(cap(buf)) < w {
				buf = make([]byte, w)
			}
			buf = buf[:w]
			if k, rerr := r.ReadAt(buf, pos); int64(k) != w {
				if rerr == nil || rerr == io.EOF {
					rerr = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("page %d: reading page header: %w", page, rerr)
			}
			h, n, err = parsePageHeader(buf)
			if err != errThriftShort || w == end-pos || window >= 64<<20 {
				break
			}
		}
		if err != nil {
			if err == errThriftShort {
				return fmt.Errorf("page %d: page header cut short at offset %d", page, pos)
			}
			return fmt.Errorf("page %d: corrupt page header: %w", page, err)
		}
		pos += int64(n)
		switch {
		case h.compressed < 0 || h.uncompressed < 0:
			return fmt.Errorf("page %d: negative page size (compressed %d, uncompressed %d)", page, h.compressed, h.uncompressed)
		case int64(h.compressed) > end-pos:
			return fmt.Errorf("page %d: page of %d bytes extends past the end of its column chunk (%d bytes left)", page, h.compressed, end-pos)
		case int64(h.uncompressed) > lim.maxPageBytes:
			return fmt.Errorf("page %d: uncompressed page size %d exceeds the limit of %d bytes", page, h.uncompressed, lim.maxPageBytes)
		}
		switch h.typ {
		case pageData, pageDataV2:
			if (h.typ == pageData && !h.hasData) || (h.typ == pageDataV2 && !h.hasV2) {
				return fmt.Errorf("page %d: data page without its header", page)
			}
			nv := int64(h.numValues)
			switch {
			case nv < 0:
				return fmt.Errorf("page %d: negative value count %d", page, nv)
			case nv > lim.maxPageValues:
				return fmt.Errorf("page %d: page claims %d values (limit %d)", page, nv, lim.maxPageValues)
			case !lim.repeated && nv > lim.rowGroupRows:
				return fmt.Errorf("page %d: page claims %d values in a row group of %d rows", page, nv, lim.rowGroupRows)
			}
			if h.typ == pageDataV2 {
				switch {
				case h.numNulls < 0 || h.numNulls > h.numValues:
					return fmt.Errorf("page %d: invalid null count %d of %d values", page, h.numNulls, h.numValues)
				case h.numRows < 0 || int64(h.numRows) > lim.rowGroupRows || h.numRows > h.numValues:
					return fmt.Errorf("page %d: invalid row count %d", page, h.numRows)
				case h.defLen < 0 || h.repLen < 0 || int64(h.defLen)+int64(h.repLen) > int64(h.compressed):
					return fmt.Errorf("page %d: level lengths %d+%d exceed the page size %d", page, h.repLen, h.defLen, h.compressed)
				case lim.compressed && h.defLen+h.repLen == h.compressed:
					// Valid (all nulls, or no values), but parquet-go
					// hands the empty data section to the decompressor,
					// which rejects it.
					return fmt.Errorf("page %d: %w: a compressed data page v2 with an empty data section, which parquet-go cannot decode", page, ErrUnsupported)
				}
			}
			// parquet-go slices fixed-width values up to the claimed count
			// without checking that the page holds them: check here that a
			// PLAIN page is big enough.
			if h.encoding == encPlain && lim.plainBits > 0 {
				present, room := nv, int64(h.uncompressed)
				if h.typ == pageDataV2 {
					present -= int64(h.numNulls)
					room -= int64(h.defLen) + int64(h.repLen)
				} else if !lim.required {
					present = 0 // the levels say how many; unknown here
				}
				if (present*lim.plainBits+7)/8 > room {
					return fmt.Errorf("page %d: %d values need %d bytes, the page holds %d", page, present, (present*lim.plainBits+7)/8, room)
				}
			}
			values += nv
		case pageDictionary:
			if !h.hasDict {
				return fmt.Errorf("page %d: dictionary page without its header", page)
			}
			// A dictionary is PLAIN-encoded: a fixed-width value takes its
			// width, a byte array at least its 4-byte length.
			bits := lim.plainBits
			if bits == 0 {
				bits = 32
			}
			if h.numValues < 0 || int64(h.numValues)*bits > 8*int64(h.uncompressed) {
				return fmt.Errorf("page %d: dictionary page claims %d values in %d bytes", page, h.numValues, h.uncompressed)
			}
		case pageIndex:
		default:
			return fmt.Errorf("page %d: unknown page type %d", page, h.typ)
		}
		if lim.inflate > 0 && lim.codec != format.Uncompressed && h.typ != pageIndex && !h.v2Plain {
			if err := checkPageInflate(r, pos, h, lim, &buf); err != nil {
				return fmt.Errorf("page %d: %w", page, err)
			}
		}
		pos += int64(h.compressed)
	}
	if values != lim.chunkValues {
		return fmt.Errorf("pages hold %d values, the column chunk metadata says %d", values, lim.chunkValues)
	}
	if !lim.repeated && values != lim.rowGroupRows {
		return fmt.Errorf("pages hold %d values in a row group of %d rows", values, lim.rowGroupRows)
	}
	return nil
}

// checkPageInflate holds the compressed data of the page at pos, with
// header h, to its claimed size (see inflate.go). buf is reused.
func checkPageInflate(r io.ReaderAt, pos int64, h pageHeader, lim chunkLimits, buf *[]byte) error {
	// The levels of a v2 page are not compressed.
	var levels int64
	if h.typ == pageDataV2 {
		levels = int64(h.defLen) + int64(h.repLen)
	}
	comp, claimed := int64(h.compressed)-levels, int64(h.uncompressed)-levels
	if claimed < 0 {
		return fmt.Errorf("level lengths %d+%d exceed the uncompressed page size %d", h.repLen, h.defLen, h.uncompressed)
	}
	if err := checkInflate("page", claimed, comp, lim.inflate); err != nil {
		return err
	}
	n := comp
	if lim.codec == format.Snappy {
		n = min(n, 10) // its length header
	}
	if int64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if k, err := r.ReadAt(b, pos+levels); int64(k) != n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading page data: %w", err)
	}
	return checkPageData(lim.codec, b, claimed)
}

// readFooter reads and checks the footer of a Parquet file of the given size
// whose first and last four bytes are "PAR1". It returns the footer, fixed
// up when needed (see patchFooter), and where it starts.
func readFooter(r io.ReaderAt, size int64, budget int64) (footer []byte, start int64, err error) {
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, 0, fmt.Errorf("reading footer: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n == 0 || n > size-12 {
		return nil, 0, fmt.Errorf("truncated Parquet file (footer of %d bytes in a file of %d bytes)", n, size)
	}
	footer = make([]byte, n)
	if _, err := r.ReadAt(footer, size-8-n); err != nil {
		return nil, 0, fmt.Errorf("reading footer: %w", err)
	}
	if err := checkFooter(footer, budget); err != nil {
		return nil, 0, err
	}
	return footer, size - 8 - n, nil
}

// patchFooter adds the empty value that parquet-go requires (the format
// does not) to key/value metadata entries without one, in the file and in
// column chunk metadata, and marks LZ4_RAW column chunks UNCOMPRESSED (see
// parquet_lz4.go), listing them as (row group, column) pairs. It returns a
// nil footer when nothing needs patching.
func patchFooter(footer []byte) ([]byte, [][2]int) {
	type insertion struct {
		pos  int
		last int16
	}
	var ins []insertion
	var codecs []int    // offsets of the one-byte LZ4_RAW codec values
	var lz4raw [][2]int // their (row group, column)
	rg, cc := -1, -1
	w := thriftWalker{b: footer}
	// keyValues walks a list<KeyValue> field of type t.
	keyValues := func(t byte) (bool, error) {
		return w.structList(t, func() error {
			var id int16
			hasValue := false
			for {
				at := w.p
				h, err := w.byte()
				if err != nil {
					return err
				}
				if h == tStop {
					if !hasValue {
						ins = append(ins, insertion{pos: at, last: id})
					}
					return nil
				}
				ft := h & 0x0f
				if d := h >> 4; d != 0 {
					id += int16(d)
				} else {
					v, err := w.varint()
					if err != nil {
						return err
					}
					id = int16(v)
				}
				if id == 2 {
					hasValue = true
				}
				if err := w.skip(ft, false, 2); err != nil {
					return err
				}
			}
		})
	}
	err := w.walkStruct(0, func(id int16, t byte) (bool, error) {
		switch id {
		case 5: // FileMetaData.key_value_metadata
			return keyValues(t)
		case 4: // FileMetaData.row_groups
			return w.structList(t, func() error {
				rg, cc = rg+1, -1
				return w.walkStruct(1, func(id int16, t byte) (bool, error) {
					if id != 1 { // RowGroup.columns
						return false, nil
					}
					return w.structList(t, func() error {
						cc++
						return w.walkStruct(2, func(id int16, t byte) (bool, error) {
							if id != 3 || t != tStruct { // ColumnChunk.meta_data
								return false, nil
							}
							return true, w.walkStruct(3, func(id int16, t byte) (bool, error) {
								switch {
								case id == 4 && t == tI32: // ColumnMetaData.codec
									at := w.p
									v, err := w.varint()
									if err == nil && v == int64(format.Lz4Raw) && w.p == at+1 {
										codecs = append(codecs, at)
										lz4raw = append(lz4raw, [2]int{rg, cc})
									}
									return true, err
								case id == 8: // ColumnMetaData.key_value_metadata
									return keyValues(t)
								}
								return false, nil
							})
						})
					})
				})
			})
		}
		return false, nil
	})
	if err != nil || len(ins)+len(codecs) == 0 {
		return nil, nil
	}
	if len(codecs) > 0 {
		footer = slices.Clone(footer)
		for _, at := range codecs {
			footer[at] = 0 // zigzag 0: UNCOMPRESSED, in the same one byte
		}
	}
	out := make([]byte, 0, len(footer)+3*len(ins))
	prev := 0
	for _, in := range ins {
		out = append(out, footer[prev:in.pos]...)
		if d := 2 - in.last; d > 0 && d <= 15 {
			out = append(out, byte(d)<<4|tBinary)
		} else {
			out = append(out, tBinary, 0x04) // field id 2, zigzag-encoded
		}
		out = append(out, 0) // an empty string
		prev = in.pos
	}
	return append(out, footer[prev:]...), lz4raw
}

// structList walks a list field of type t whose elements are structs,
// calling each once per element with the walker at its start. It reports
// handled=false, consuming nothing, when t is not a list.
func (w *thriftWalker) structList(t byte, each func() error) (bool, error) {
	if t != tList && t != tSet {
		return false, nil
	}
	h, err := w.byte()
	if err != nil {
		return true, err
	}
	n := uint64(h >> 4)
	et := h & 0x0f
	if n == 15 {
		if n, err = w.uvarint(); err != nil {
			return true, err
		}
	}
	if n > uint64(w.remaining()) {
		return true, errThriftShort
	}
	for range n {
		if et != tStruct {
			err = w.skip(et, true, 1)
		} else {
			err = each()
		}
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

// footerPatchedFile presents a Parquet file with its footer replaced.
type footerPatchedFile struct {
	r    io.ReaderAt
	cut  int64  // where the footer started
	tail []byte // the new footer, its length and the magic number
}

func newFooterPatchedFile(r io.ReaderAt, cut int64, footer []byte) *footerPatchedFile {
	tail := make([]byte, 0, len(footer)+8)
	tail = append(tail, footer...)
	tail = binary.LittleEndian.AppendUint32(tail, uint32(len(footer)))
	tail = append(tail, "PAR1"...)
	return &footerPatchedFile{r: r, cut: cut, tail: tail}
}

func (p *footerPatchedFile) size() int64 { return p.cut + int64(len(p.tail)) }

func (p *footerPatchedFile) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	if off < p.cut {
		k := int(min(int64(len(b)), p.cut-off))
		m, err := p.r.ReadAt(b[:k], off)
		n += m
		if m < k {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		b, off = b[k:], off+int64(k)
	}
	if len(b) == 0 {
		return n, nil
	}
	i := off - p.cut
	if i >= int64(len(p.tail)) {
		return n, io.EOF
	}
	m := copy(b, p.tail[i:])
	n += m
	if m < len(b) {
		return n, io.EOF
	}
	return n, nil
}
