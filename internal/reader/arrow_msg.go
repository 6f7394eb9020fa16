package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Flatbuffer field indexes of the Arrow IPC messages checked here.
const (
	fbRecordBatchNodes   = 1
	fbRecordBatchBuffers = 2
	fbDictionaryData     = 1
	fbNodeSize           = 16 // struct FieldNode { length: long; null_count: long }
	fbBufferSize         = 16 // struct Buffer { offset: long; length: long }
)

// maxArrayLength bounds the array lengths that messages may claim: arrow-go
// allocates in proportion to them (to concatenate dictionary deltas, for
// instance) even for arrays without buffers. An array with data takes at
// least a bit per value of the input, so lengths are bounded by 8 per byte
// of input, plus a slack for arrays of the null type.
func maxArrayLength(inputBytes int64) int64 { return 8*inputBytes + 1<<20 }

// lengthBudget is what the messages of one file or stream may claim in all.
type lengthBudget struct {
	used int64
}

func (b *lengthBudget) spend(n, inputBytes int64) error {
	b.used += n
	if b.used > maxArrayLength(inputBytes) || b.used < 0 {
		return fmt.Errorf("record batches claim %d values in %d bytes", b.used, inputBytes)
	}
	return nil
}

// checkBatchMeta checks the RecordBatch table of a record batch or
// dictionary batch message against the length of its body: lengths and
// null counts in range, buffers within the body.
// It adds the lengths it claims to budget, which inputBytes bound.
func checkBatchMeta(rb fbTable, bodyLen int64, budget *lengthBudget, inputBytes int64) error {
	maxLen := maxArrayLength(bodyLen)
	if n := rb.i64(fbRecordBatchLength, 0); n < 0 || n > maxLen {
		return fmt.Errorf("record batch claims %d rows in a body of %d bytes", n, bodyLen)
	}
	total := int64(0)
	p, n, ok := rb.vector(fbRecordBatchNodes, fbNodeSize)
	if !ok {
		if _, present := rb.field(fbRecordBatchNodes, 4); present {
			return errors.New("corrupt record batch metadata (field nodes)")
		}
	}
	for i := range n {
		b := rb.buf[p+i*fbNodeSize:]
		l := int64(binary.LittleEndian.Uint64(b))
		nc := int64(binary.LittleEndian.Uint64(b[8:]))
		if l < 0 || l > maxLen || nc < 0 || nc > l {
			return fmt.Errorf("array %d claims %d values (%d null) in a body of %d bytes", i, l, nc, bodyLen)
		}
		total += l
	}
	if err := budget.spend(total, inputBytes); err != nil {
		return err
	}
	p, n, ok = rb.vector(fbRecordBatchBuffers, fbBufferSize)
	if !ok {
		if _, present := rb.field(fbRecordBatchBuffers, 4); present {
			return errors.New("corrupt record batch metadata (buffers)")
		}
	}
	for i := range n {
		b := rb.buf[p+i*fbBufferSize:]
		off := int64(binary.LittleEndian.Uint64(b))
		l := int64(binary.LittleEndian.Uint64(b[8:]))
		if off < 0 || l < 0 || off > bodyLen || l > bodyLen-off {
			return fmt.Errorf("buffer %d (offset %d, %d bytes) is outside the body of %d bytes", i, off, l, bodyLen)
		}
	}
	return nil
}

// checkCompressed checks the uncompressed sizes that the compressed
// buffers of a batch claim (the first 8 bytes of each, read by claim from
// the body's offset off) against the limits of inflate.go: in all, at most
// inflateLimit(maxBatch, bodyLen).
func checkCompressed(rb fbTable, bodyLen int64, claim func(off int64) (int64, error), maxBatch int64) error {
	if _, ok := rb.table(fbRecordBatchCompression); !ok {
		return nil
	}
	p, n, _ := rb.vector(fbRecordBatchBuffers, fbBufferSize)
	var total, comp int64
	for i := range n {
		b := rb.buf[p+i*fbBufferSize:]
		off := int64(binary.LittleEndian.Uint64(b))
		l := int64(binary.LittleEndian.Uint64(b[8:]))
		if l == 0 {
			continue
		}
		if l < 8 || off < 0 || off > bodyLen-8 {
			return fmt.Errorf("compressed buffer %d of %d bytes", i, l)
		}
		u, err := claim(off)
		if err != nil {
			return err
		}
		if u == -1 {
			continue
		}
		if u < 0 || u > maxBatch-total {
			return fmt.Errorf("compressed buffers claim more than the limit of %d bytes uncompressed in all (buffer %d adds %d to %d); a larger --max-batch-bytes raises it", maxBatch, i, u, total)
		}
		total += u
		comp += l - 8
	}
	return checkInflate("record batch", total, comp, maxBatch)
}

// batchTable returns the RecordBatch table of a record batch or dictionary
// batch message.
func batchTable(meta []byte) (fbTable, bool) {
	msg, ok := fbRoot(meta)
	if !ok {
		return fbTable{}, false
	}
	h, ok := msg.table(fbMessageHeader)
	if !ok {
		return fbTable{}, false
	}
	switch msg.u8(fbMessageHeaderType, 0) {
	case fbHeaderRecordBatch:
		return h, true
	case fbHeaderDictionaryBatch:
		return h.table(fbDictionaryData)
	}
	return fbTable{}, false
}

// checkMessageMeta checks a Message flatbuffer; it returns its type and
// body length.
func checkMessageMeta(meta []byte, budget *lengthBudget, inputBytes int64) (typ uint8, bodyLen int64, err error) {
	msg, ok := fbRoot(meta)
	if !ok {
		return 0, 0, errors.New("corrupt message metadata")
	}
	typ = msg.u8(fbMessageHeaderType, 0)
	bodyLen = msg.i64(fbMessageBodyLength, 0)
	if bodyLen < 0 {
		return typ, 0, fmt.Errorf("message claims a body of %d bytes", bodyLen)
	}
	// arrow-go sizes two slices by the length of the message's custom
	// metadata vector before reading it (metadataFromFB): a corrupt length
	// made it allocate 16 GB for a 358-byte stream (FuzzArrowIPC).
	if _, present := msg.field(fbMessageMetadata, 4); present {
		if _, _, ok := msg.vector(fbMessageMetadata, fbOffsetElementSize); !ok {
			return typ, 0, errors.New("corrupt message metadata (custom metadata outside the message)")
		}
	}
	switch typ {
	case fbHeaderSchema:
		h, ok := msg.table(fbMessageHeader)
		if !ok {
			return typ, 0, errors.New("corrupt schema message")
		}
		err = checkSchemaFB(h)
	case fbHeaderRecordBatch:
		h, ok := msg.table(fbMessageHeader)
		if !ok {
			return typ, 0, errors.New("corrupt record batch metadata")
		}
		err = checkBatchMeta(h, bodyLen, budget, inputBytes)
	case fbHeaderDictionaryBatch:
		h, ok := msg.table(fbMessageHeader)
		if !ok {
			return typ, 0, errors.New("corrupt dictionary batch metadata")
		}
		if data, ok := h.table(fbDictionaryData); ok {
			err = checkBatchMeta(data, bodyLen, budget, inputBytes)
		}
	}
	return typ, bodyLen, err
}

// checkedMessageReader reads the messages of an IPC stream, as arrow-go's
// reader does, but checks each message's metadata against its body before
// arrow-go decodes it, and its body against the limits before allocating.
type checkedMessageReader struct {
	r        io.Reader
	mem      memory.Allocator
	maxMeta  int64
	maxBody  int64
	refCount atomic.Int64
	msg      *ipc.Message
	eos      bool
	size     int64 // of the input, or -1 when unknown
	read     int64 // bytes read
	budget   lengthBudget
}

func newCheckedMessageReader(r io.Reader, size int64, mem memory.Allocator, maxMeta, maxBody int64) *checkedMessageReader {
	mr := &checkedMessageReader{r: r, mem: mem, maxMeta: maxMeta, maxBody: maxBody, size: size}
	mr.refCount.Add(1)
	return mr
}

func (r *checkedMessageReader) Retain() { r.refCount.Add(1) }

func (r *checkedMessageReader) Release() {
	if r.refCount.Add(-1) == 0 && r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

var errTruncatedStream = errors.New("truncated Arrow IPC stream")

// fits checks that n more bytes can be in the input.
func (r *checkedMessageReader) fits(n int64, what string) error {
	if r.size >= 0 && n > r.size-r.read {
		return fmt.Errorf("%w (message %s of %d bytes, %d left in the file)", errTruncatedStream, what, n, r.size-r.read)
	}
	return nil
}

func (r *checkedMessageReader) readPart(b []byte, what string) error {
	if err := r.fits(int64(len(b)), what); err != nil {
		return err
	}
	n, err := io.ReadFull(r.r, b)
	r.read += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w (in the %s of a message)", errTruncatedStream, what)
	}
	return err
}

func (r *checkedMessageReader) Message() (*ipc.Message, error) {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
	if r.eos {
		return nil, io.EOF
	}
	var word [4]byte
	k, err := io.ReadFull(r.r, word[:])
	r.read += int64(k)
	switch {
	case err == io.EOF:
		// A stream may end without its end-of-stream marker.
		r.eos = true
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("%w (in the length of a message)", errTruncatedStream)
	case err != nil:
		return nil, err
	}
	n := binary.LittleEndian.Uint32(word[:])
	if n == 0xffffffff {
		if err := r.readPart(word[:], "length"); err != nil {
			return nil, err
		}
		n = binary.LittleEndian.Uint32(word[:])
	}
	if n == 0 {
		r.eos = true
		return nil, io.EOF
	}
	if err := r.fits(int64(n), "metadata"); err != nil {
		return nil, err
	}
	if int64(n) > r.maxMeta || n < 4 {
		return nil, fmt.Errorf("message metadata of %d bytes (limit %d)", n, r.maxMeta)
	}
	meta := make([]byte, n)
	if err := r.readPart(meta, "metadata"); err != nil {
		return nil, err
	}
	msg, ok := fbRoot(meta)
	if !ok {
		return nil, errors.New("corrupt message metadata")
	}
	bodyLen := msg.i64(fbMessageBodyLength, 0)
	if bodyLen < 0 {
		return nil, fmt.Errorf("message claims a body of %d bytes", bodyLen)
	}
	if err := r.fits(bodyLen, "body"); err != nil {
		return nil, err
	}
	if bodyLen > r.maxBody {
		return nil, fmt.Errorf("message body of %d bytes exceeds the limit of %d bytes", bodyLen, r.maxBody)
	}
	body := memory.NewResizableBuffer(r.mem)
	defer body.Release()
	body.Resize(int(bodyLen))
	if err := r.readPart(body.Bytes(), "body"); err != nil {
		return nil, err
	}
	// The lengths the message claims are bounded by what was read.
	if _, _, err := checkMessageMeta(meta, &r.budget, r.read); err != nil {
		return nil, err
	}
	if rb, ok := batchTable(meta); ok {
		b := body.Bytes()
		claim := func(off int64) (int64, error) { return int64(binary.LittleEndian.Uint64(b[off:])), nil }
		if err := checkCompressed(rb, bodyLen, claim, r.maxBody); err != nil {
			return nil, err
		}
	}
	metaBuf := memory.NewBufferBytes(meta)
	defer metaBuf.Release()
	r.msg = ipc.NewMessage(metaBuf, body)
	return r.msg, nil
}
