package reader

// A minimal, bounds-checked flatbuffer reader for the parts of the Arrow IPC
// metadata that arrow-go does not expose: the record batch blocks of a file
// footer, and the row count and body compression of each record batch.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

type fbTable struct {
	buf []byte
	pos int
	vt  int // vtable position
	vsz int // vtable size in bytes
}

// fbRoot returns the root table of a flatbuffer.
func fbRoot(buf []byte) (fbTable, bool) {
	if len(buf) < 4 {
		return fbTable{}, false
	}
	return fbTableAt(buf, int(binary.LittleEndian.Uint32(buf)))
}

func fbTableAt(buf []byte, pos int) (fbTable, bool) {
	if pos < 0 || pos > len(buf)-4 {
		return fbTable{}, false
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(buf[pos:])))
	if vt < 0 || vt > len(buf)-4 {
		return fbTable{}, false
	}
	vsz := int(binary.LittleEndian.Uint16(buf[vt:]))
	if vsz < 4 || vsz%2 != 0 || vt+vsz > len(buf) {
		return fbTable{}, false
	}
	return fbTable{buf: buf, pos: pos, vt: vt, vsz: vsz}, true
}

// field returns the position of field i, if present and within the buffer
// for size bytes.
func (t fbTable) field(i, size int) (int, bool) {
	if t.buf == nil {
		return 0, false
	}
	o := 4 + 2*i
	if o+2 > t.vsz {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint16(t.buf[t.vt+o:]))
	if off == 0 {
		return 0, false
	}
	p := t.pos + off
	if p+size > len(t.buf) {
		return 0, false
	}
	return p, true
}

func (t fbTable) u8(i int, def uint8) uint8 {
	if p, ok := t.field(i, 1); ok {
		return t.buf[p]
	}
	return def
}

func (t fbTable) i16(i int, def int16) int16 {
	if p, ok := t.field(i, 2); ok {
		return int16(binary.LittleEndian.Uint16(t.buf[p:]))
	}
	return def
}

func (t fbTable) i64(i int, def int64) int64 {
	if p, ok := t.field(i, 8); ok {
		return int64(binary.LittleEndian.Uint64(t.buf[p:]))
	}
	return def
}

// indirect follows the offset stored in field i.
func (t fbTable) indirect(i int) (int, bool) {
	p, ok := t.field(i, 4)
	if !ok {
		return 0, false
	}
	q := p + int(binary.LittleEndian.Uint32(t.buf[p:]))
	if q < 0 || q >= len(t.buf) {
		return 0, false
	}
	return q, true
}

func (t fbTable) table(i int) (fbTable, bool) {
	q, ok := t.indirect(i)
	if !ok {
		return fbTable{}, false
	}
	return fbTableAt(t.buf, q)
}

// vector returns the position and length of the vector in field i, whose
// elements are elemSize bytes.
func (t fbTable) vector(i, elemSize int) (pos, n int, ok bool) {
	q, ok := t.indirect(i)
	if !ok || q+4 > len(t.buf) {
		return 0, 0, false
	}
	n = int(binary.LittleEndian.Uint32(t.buf[q:]))
	if n < 0 || n > (len(t.buf)-q-4)/elemSize {
		return 0, 0, false
	}
	return q + 4, n, true
}

// Field indexes in the Arrow IPC flatbuffer schemas.
const (
	fbMessageVersion    = 0
	fbMessageHeaderType = 1
	fbMessageHeader     = 2
	fbMessageBodyLength = 3
	fbMessageMetadata   = 4

	fbHeaderSchema          = 1
	fbHeaderDictionaryBatch = 2
	fbHeaderRecordBatch     = 3

	fbFooterVersion       = 0
	fbFooterDictionaries  = 2
	fbFooterRecordBatches = 3

	fbRecordBatchLength      = 0
	fbRecordBatchCompression = 3

	fbBlockSize = 24 // struct Block { offset: long; metaDataLength: int; bodyLength: long }
)

// Field indexes of the Schema and Field tables.
const (
	fbFooterSchema      = 1
	fbSchemaFields      = 1
	fbSchemaMetadata    = 2
	fbFieldChildren     = 5
	fbFieldMetadata     = 6
	fbSchemaMaxDepth    = 64
	fbSchemaMaxFields   = 1 << 16
	fbOffsetElementSize = 4
)

// checkSchemaFB checks the vectors of a Schema table that arrow-go sizes
// its slices by (fields, children, custom metadata) before it decodes them:
// arrow-go trusts their lengths (a corrupt length made it allocate tens of
// GiB, found by FuzzArrowIPC). Fields visited are counted, so that tables
// shared between vectors cannot multiply.
func checkSchemaFB(schema fbTable) error {
	visited := 0
	var fields func(t fbTable, vec, meta, depth int) error
	fields = func(t fbTable, vec, meta, depth int) error {
		if depth > fbSchemaMaxDepth {
			return errors.New("corrupt Arrow schema (nested too deeply)")
		}
		for _, i := range []int{vec, meta} {
			if _, present := t.field(i, 4); present {
				if _, _, ok := t.vector(i, fbOffsetElementSize); !ok {
					return errors.New("corrupt Arrow schema (vector outside the metadata)")
				}
			}
		}
		p, n, _ := t.vector(vec, fbOffsetElementSize)
		for k := range n {
			if visited++; visited > fbSchemaMaxFields {
				return fmt.Errorf("Arrow schema with more than %d fields", fbSchemaMaxFields)
			}
			e := p + k*fbOffsetElementSize
			f, ok := fbTableAt(t.buf, e+int(binary.LittleEndian.Uint32(t.buf[e:])))
			if !ok {
				return errors.New("corrupt Arrow schema (field)")
			}
			if err := fields(f, fbFieldChildren, fbFieldMetadata, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fields(schema, fbSchemaFields, fbSchemaMetadata, 0)
}

// arrowBlock is a record batch or dictionary of an Arrow IPC file.
type arrowBlock struct {
	offset  int64
	metaLen int32
	bodyLen int64
}

// arrowFooter is what evalnll reads from an Arrow IPC file footer itself.
type arrowFooter struct {
	version     int16
	dicts       []arrowBlock
	batches     []arrowBlock
	rows        []int64       // per record batch
	compressed  []bool        // per record batch: its body is compressed
	buffers     [][]bodyRange // per record batch: its buffers, in order
	compression []string
}

// readArrowFooter reads the footer of an Arrow IPC file and the metadata of
// each record batch, checking every block against the file size.
func readArrowFooter(r io.ReaderAt, size int64, maxMeta, maxBatch int64) (*arrowFooter, error) {
	var tail [10]byte
	if _, err := r.ReadAt(tail[:], size-10); err != nil {
		return nil, fmt.Errorf("reading footer: %w", err)
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	footerEnd := size - 10
	if n <= 0 || n > footerEnd-8 {
		return nil, fmt.Errorf("truncated Arrow IPC file (footer of %d bytes in a file of %d bytes)", n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, footerEnd-n); err != nil {
		return nil, fmt.Errorf("reading footer: %w", err)
	}
	root, ok := fbRoot(buf)
	if !ok {
		return nil, errors.New("corrupt Arrow IPC file footer")
	}
	schema, ok := root.table(fbFooterSchema)
	if !ok {
		return nil, errors.New("corrupt Arrow IPC file footer (no schema)")
	}
	if err := checkSchemaFB(schema); err != nil {
		return nil, err
	}
	ft := &arrowFooter{version: root.i16(fbFooterVersion, 0)}
	dataEnd := footerEnd - n
	blocks := func(field int) ([]arrowBlock, error) {
		p, cnt, ok := root.vector(field, fbBlockSize)
		if !ok {
			if _, present := root.field(field, 4); present {
				return nil, errors.New("corrupt Arrow IPC file footer (block list)")
			}
			return nil, nil
		}
		out := make([]arrowBlock, cnt)
		for i := range out {
			b := buf[p+i*fbBlockSize:]
			blk := arrowBlock{
				offset:  int64(binary.LittleEndian.Uint64(b)),
				metaLen: int32(binary.LittleEndian.Uint32(b[8:])),
				bodyLen: int64(binary.LittleEndian.Uint64(b[16:])),
			}
			if blk.offset < 8 || blk.metaLen < 8 || blk.bodyLen < 0 || blk.offset > dataEnd ||
				int64(blk.metaLen) > dataEnd-blk.offset || blk.bodyLen > dataEnd-blk.offset-int64(blk.metaLen) {
				return nil, fmt.Errorf("block %d (offset %d, metadata %d bytes, body %d bytes) is outside the file", i, blk.offset, blk.metaLen, blk.bodyLen)
			}
			out[i] = blk
		}
		return out, nil
	}
	var err error
	if ft.dicts, err = blocks(fbFooterDictionaries); err != nil {
		return nil, fmt.Errorf("dictionaries: %w", err)
	}
	if ft.batches, err = blocks(fbFooterRecordBatches); err != nil {
		return nil, fmt.Errorf("record batches: %w", err)
	}
	// Blocks may not overlap: together they fit in the file.
	var total int64
	for _, blk := range append(slices.Clip(ft.dicts), ft.batches...) {
		if total += int64(blk.metaLen) + blk.bodyLen; total > dataEnd {
			return nil, fmt.Errorf("record batches and dictionaries claim more than the %d bytes of the file", size)
		}
	}
	var budget lengthBudget
	var meta []byte
	// claimOf reads the uncompressed size of a compressed buffer at offset
	// off of the body of blk.
	claimOf := func(blk arrowBlock) func(off int64) (int64, error) {
		return func(off int64) (int64, error) {
			var w [8]byte
			if _, err := r.ReadAt(w[:], blk.offset+int64(blk.metaLen)+off); err != nil {
				return 0, fmt.Errorf("reading a compressed buffer: %w", err)
			}
			return int64(binary.LittleEndian.Uint64(w[:])), nil
		}
	}
	readMeta := func(blk arrowBlock) ([]byte, error) {
		if int64(blk.metaLen) > maxMeta {
			return nil, fmt.Errorf("metadata of %d bytes exceeds the limit", blk.metaLen)
		}
		if cap(meta) < int(blk.metaLen) {
			meta = make([]byte, blk.metaLen)
		}
		meta = meta[:blk.metaLen]
		if _, err := r.ReadAt(meta, blk.offset); err != nil {
			return nil, fmt.Errorf("reading metadata: %w", err)
		}
		return meta, nil
	}
	for i, blk := range ft.dicts {
		meta, err := readMeta(blk)
		if err == nil {
			_, err = parseBlockMeta(meta, blk.bodyLen, fbHeaderDictionaryBatch, &budget, size, claimOf(blk), maxBatch)
		}
		if err != nil {
			return nil, fmt.Errorf("dictionary %d: %w", i, err)
		}
	}
	seen := map[string]bool{}
	for i, blk := range ft.batches {
		meta, err := readMeta(blk)
		var rb recordBatchMeta
		if err == nil {
			rb, err = parseBlockMeta(meta, blk.bodyLen, fbHeaderRecordBatch, &budget, size, claimOf(blk), maxBatch)
		}
		if err != nil {
			return nil, fmt.Errorf("record batch %d: %w", i, err)
		}
		ft.rows = append(ft.rows, rb.length)
		ft.compressed = append(ft.compressed, rb.compression != "")
		ft.buffers = append(ft.buffers, rb.buffers)
		c := rb.compression
		if c == "" {
			c = "none"
		}
		if !seen[c] {
			seen[c] = true
			ft.compression = append(ft.compression, c)
		}
	}
	return ft, nil
}

type recordBatchMeta struct {
	length      int64
	compression string // "", "lz4_frame" or "zstd"
	buffers     []bodyRange
}

// parseBlockMeta parses and checks the encapsulated message (continuation
// token and length, or just the length) of a file block of type want, whose
// body has bodyLen bytes; claim reads the uncompressed sizes of compressed
// buffers for checkCompressed.
func parseBlockMeta(b []byte, bodyLen int64, want uint8, budget *lengthBudget, fileSize int64, claim func(off int64) (int64, error), maxBatch int64) (recordBatchMeta, error) {
	var rb recordBatchMeta
	if len(b) < 8 {
		return rb, errors.New("message metadata cut short")
	}
	p := 4
	if binary.LittleEndian.Uint32(b) == 0xffffffff {
		p = 8
	}
	l := int(int32(binary.LittleEndian.Uint32(b[p-4:])))
	if l < 4 || l > len(b)-p {
		return rb, fmt.Errorf("message metadata length %d out of range", l)
	}
	fb := b[p : p+l]
	typ, msgBody, err := checkMessageMeta(fb, budget, fileSize)
	if err != nil {
		return rb, err
	}
	if typ != want {
		return rb, fmt.Errorf("message of type %d, want %d", typ, want)
	}
	if msgBody > bodyLen {
		return rb, fmt.Errorf("message body of %d bytes in a block of %d", msgBody, bodyLen)
	}
	if t, ok := batchTable(fb); ok {
		if err := checkCompressed(t, msgBody, claim, maxBatch); err != nil {
			return rb, err
		}
	}
	if want != fbHeaderRecordBatch {
		return rb, nil
	}
	msg, _ := fbRoot(fb)
	h, _ := msg.table(fbMessageHeader)
	rb.length = h.i64(fbRecordBatchLength, 0)
	// The buffers (checkBatchMeta checked them within the body).
	p, n, _ := h.vector(fbRecordBatchBuffers, fbBufferSize)
	rb.buffers = make([]bodyRange, n)
	for i := range rb.buffers {
		b := h.buf[p+i*fbBufferSize:]
		rb.buffers[i] = bodyRange{off: int64(binary.LittleEndian.Uint64(b)), n: int64(binary.LittleEndian.Uint64(b[8:]))}
	}
	if c, ok := h.table(fbRecordBatchCompression); ok {
		switch codec := c.u8(0, 0); codec {
		case 0:
			rb.compression = "lz4_frame"
		case 1:
			rb.compression = "zstd"
		default:
			rb.compression = fmt.Sprintf("codec %d", codec)
		}
	}
	return rb, nil
}
