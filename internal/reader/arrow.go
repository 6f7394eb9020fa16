package reader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/evalnll/evalnll/internal/column"
)

// maxArrowMetadata bounds the flatbuffer metadata of one IPC message.
const maxArrowMetadata = 64 << 20

// allocLimit is how many bytes one Arrow reader may hold at once: a message
// body, and its buffers decompressed.
func allocLimit(opt Options) int64 { return 2*opt.MaxBatchBytes + maxArrowMetadata }

// arrowFields describes the fields of an Arrow schema.
func arrowFields(s *arrow.Schema) []Field {
	fields := make([]Field, s.NumFields())
	for i, f := range s.Fields() {
		t, list, fixed, desc := arrowTypeInfo(f.Type)
		fields[i] = Field{Name: f.Name, Type: t, List: list, FixedSize: fixed, Nullable: f.Nullable, Desc: desc}
	}
	return fields
}

// arrowTypeInfo maps an Arrow type to a column type: a scalar, or a list of
// scalars.
func arrowTypeInfo(dt arrow.DataType) (t column.Type, list bool, fixed int, desc string) {
	desc = arrowDesc(dt, 0)
	switch dt := dt.(type) {
	case *arrow.ListType:
		t = scalarType(dt.Elem())
	case *arrow.LargeListType:
		t = scalarType(dt.Elem())
	case *arrow.FixedSizeListType:
		if dt.Len() < 0 {
			return column.Unsupported, false, 0, desc
		}
		t, fixed = scalarType(dt.Elem()), int(dt.Len())
	default:
		return scalarType(dt), false, 0, desc
	}
	if t == column.Unsupported {
		return column.Unsupported, false, 0, desc
	}
	return t, true, fixed, desc
}

// scalarType is the column type of a scalar Arrow type, or Unsupported.
func scalarType(dt arrow.DataType) column.Type {
	switch dt.ID() {
	case arrow.BOOL:
		return column.Bool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return column.Int
	case arrow.UINT64:
		return column.Uint64
	case arrow.FLOAT16, arrow.FLOAT32:
		return column.Float32
	case arrow.FLOAT64:
		return column.Float64
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		if dt.(arrow.DecimalType).GetScale() >= 0 {
			return column.Float64 // see decimal.go
		}
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return column.String
	case arrow.DICTIONARY:
		d := dt.(*arrow.DictionaryType)
		if _, dec := d.ValueType.(arrow.DecimalType); dec || d.ValueType.ID() == arrow.DICTIONARY {
			return column.Unsupported
		}
		switch d.IndexType.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			return scalarType(d.ValueType)
		}
	}
	return column.Unsupported
}

// arrowDesc names an Arrow type the way Field.Desc does.
func arrowDesc(dt arrow.DataType, depth int) string {
	if depth > 4 {
		return "..."
	}
	switch dt := dt.(type) {
	case *arrow.ListType:
		return "list<" + arrowDesc(dt.Elem(), depth+1) + ">"
	case *arrow.LargeListType:
		return "large_list<" + arrowDesc(dt.Elem(), depth+1) + ">"
	case *arrow.FixedSizeListType:
		return "fixed_size_list<" + arrowDesc(dt.Elem(), depth+1) + ">[" + strconv.Itoa(int(dt.Len())) + "]"
	case *arrow.DictionaryType:
		return arrowDesc(dt.ValueType, depth+1) + " (dictionary)"
	case *arrow.StructType:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range dt.Fields() {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == 8 || b.Len() > 200 {
				b.WriteString("...")
				break
			}
			b.WriteString(f.Name)
			b.WriteString(": ")
			b.WriteString(arrowDesc(f.Type, depth+1))
		}
		b.WriteString(">")
		return b.String()
	case *arrow.MapType:
		return "map<" + arrowDesc(dt.KeyType(), depth+1) + ", " + arrowDesc(dt.ItemType(), depth+1) + ">"
	case arrow.ExtensionType:
		return "extension<" + dt.ExtensionName() + ">"
	}
	switch dt.ID() {
	case arrow.FLOAT32:
		return "float"
	case arrow.FLOAT64:
		return "double"
	case arrow.FLOAT16:
		return "float16"
	case arrow.STRING:
		return "string"
	case arrow.LARGE_STRING:
		return "large_string"
	}
	return dt.String()
}

// arrowFile is an open Arrow IPC file.
type arrowFile struct {
	path, name string
	src        io.ReaderAt
	closer     io.Closer // nil: not closed (standard input)
	size       int64
	opt        Options
	alloc      memory.Allocator
	schema     *arrow.Schema
	fields     []Field
	units      []Unit
	rows       int64
	meta       [][2]string

	// data maps the file (see mapFile) when it can be: record batch
	// bodies are then used in place, not read into memory. blocks are the
	// record batches' places in it.
	data       []byte
	blocks     []arrowBlock
	compressed []bool // per record batch

	// selective: record batches are read by copying the buffers of the
	// columns scanned (see arrow_pread.go), not mapped; fieldBuf[i] is the
	// first buffer of field i in a body, buffers the buffers of each
	// record batch, zeroBuf whether a buffer is one that
	// selectReaderAt zeroes for a column not read (bufferKinds), sels
	// the readers' selectReaderAt.
	selective bool
	fieldBuf  []int
	zeroBuf   []bool
	buffers   [][]bodyRange
	sels      map[*ipc.FileReader]*selectReaderAt

	// plainStrs[i] is set once a scan found string column i not worth
	// dictionary-encoding (see strIntern).
	plainStrs []atomic.Bool

	mu     sync.Mutex
	free   []*ipc.FileReader // readers not in use by a scanner
	users  int               // readers in use by scanners
	closed bool
}

// Prefetch announces record batch u (Prefetcher; only for a file read
// through a RangeHinter). Arrow IPC reads whole record batches, so every
// column's buffers are in the range.
func (f *arrowFile) Prefetches() bool {
	_, ok := f.src.(RangeHinter)
	return ok
}

func (f *arrowFile) Prefetch(u int, cols []string) {
	if h, ok := f.src.(RangeHinter); ok && u >= 0 && u < len(f.blocks) {
		b := f.blocks[u]
		h.WillRead(b.offset, int64(b.metaLen)+b.bodyLen)
	}
}

func openArrowFile(path, name string, src io.ReaderAt, closer io.Closer, size int64, opt Options, alloc memory.Allocator) (File, error) {
	ft, err := readArrowFooter(src, size, min(maxArrowMetadata, size), opt.MaxBatchBytes)
	if err != nil {
		return nil, newError(name, true, "", err)
	}
	f := &arrowFile{path: path, name: name, src: src, closer: closer, size: size, opt: opt, alloc: alloc, blocks: ft.batches, compressed: ft.compressed,
		buffers: ft.buffers, sels: map[*ipc.FileReader]*selectReaderAt{}}
	osf, isOS := src.(*os.File)
	f.selective = isOS && !opt.noMmap && !opt.mmap && !slices.Contains(ft.compressed, true) && smallBatches(ft.batches)
	if f.selective {
		r, err := f.newReader()
		if err == nil {
			var ok bool
			if f.fieldBuf, f.zeroBuf, ok = fieldBuffers(r.Schema()); ok {
				return f.opened(r, ft, size, name)
			}
		}
		// A layout it cannot place, or a reader that failed: map it.
		f.mu.Lock()
		f.closeReader(r)
		f.mu.Unlock()
		f.selective = false
	}
	if isOS && !opt.noMmap {
		f.data = mapFile(osf, size)
	}
	r, err := f.newReader()
	if err != nil && f.data != nil {
		// arrow-go's mapped reader cannot read every file that its reader
		// can (it panics on dictionary-encoded fields): read this one.
		unmapFile(f.data)
		f.data = nil
		r, err = f.newReader()
	}
	if err != nil {
		unmapFile(f.data)
		return nil, newError(name, true, "", fmt.Errorf("corrupt Arrow IPC file: %w", err))
	}
	return f.opened(r, ft, size, name)
}

// opened finishes openArrowFile with its first reader.
func (f *arrowFile) opened(r *ipc.FileReader, ft *arrowFooter, size int64, name string) (File, error) {
	if r.NumRecords() != len(ft.batches) {
		f.mu.Lock()
		f.closeReader(r)
		f.mu.Unlock()
		unmapFile(f.data)
		return nil, newError(name, true, "", errors.New("corrupt Arrow IPC file footer"))
	}
	f.free = append(f.free, r)
	f.schema = r.Schema()
	f.fields = arrowFields(f.schema)
	f.plainStrs = make([]atomic.Bool, len(f.fields))
	for i, n := range ft.rows {
		f.units = append(f.units, Unit{Index: i, Rows: n})
		if f.rows += n; f.rows < 0 {
			f.Close()
			return nil, newError(name, true, "", errors.New("row count overflows"))
		}
	}
	f.meta = [][2]string{
		{"format", FormatArrowFile.String()},
		{"metadata version", "V" + strconv.Itoa(int(ft.version)+1)},
		{"rows", strconv.FormatInt(f.rows, 10)},
		{"record batches", strconv.Itoa(len(ft.batches))},
		{"dictionaries", strconv.Itoa(len(ft.dicts))},
		{"columns", strconv.Itoa(len(f.fields))},
		{"compression", strings.Join(ft.compression, ", ")},
		{"size", strconv.FormatInt(size, 10)},
	}
	return f, nil
}

// newReader opens an ipc.FileReader of its own: a scanner uses one at a
// time, since arrow-go may update a reader's dictionaries while reading.
func (f *arrowFile) newReader() (r *ipc.FileReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, panicError(p)
		}
	}()
	opts := []ipc.Option{
		ipc.WithBodySizeLimit(min(f.opt.MaxBatchBytes, f.size)),
		ipc.WithMetadataSizeLimit(min(maxArrowMetadata, f.size)),
	}
	if f.selective {
		pool := &bodyPool{base: f.alloc}
		sel := &selectReaderAt{src: f.src, f: f, pool: pool, rec: -1}
		opts = append(opts, ipc.WithAllocator(newLimitAlloc(pool, allocLimit(f.opt))))
		r, err := ipc.NewFileReader(io.NewSectionReader(sel, 0, f.size), opts...)
		if err != nil {
			pool.drain()
			return nil, err
		}
		f.mu.Lock()
		f.sels[r] = sel
		f.mu.Unlock()
		return r, nil
	}
	opts = append(opts, ipc.WithAllocator(newLimitAlloc(f.alloc, allocLimit(f.opt))))
	if f.data != nil {
		return ipc.NewMappedFileReader(f.data, opts...)
	}
	return ipc.NewFileReader(io.NewSectionReader(f.src, 0, f.size), opts...)
}

// selectOf returns the selectReaderAt of reader r, or nil.
func (f *arrowFile) selectOf(r *ipc.FileReader) *selectReaderAt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sels[r]
}

// acquire returns a reader for a scanner, and the file's mapping (nil
// when it is read), valid until the reader is released.
func (f *arrowFile) acquire() (*ipc.FileReader, []byte, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, nil, errors.New("file is closed")
	}
	f.users++
	data := f.data
	if n := len(f.free); n > 0 {
		r := f.free[n-1]
		f.free = f.free[:n-1]
		f.mu.Unlock()
		return r, data, nil
	}
	f.mu.Unlock()
	r, err := f.newReader()
	if err != nil {
		f.release(nil, true)
		return nil, nil, err
	}
	return r, data, nil
}

// release returns a reader to the pool; broken readers are closed.
func (f *arrowFile) release(r *ipc.FileReader, broken bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users--
	if f.closed && f.users == 0 {
		unmapFile(f.data)
		f.data = nil
	}
	if f.closed || broken || len(f.free) >= 8 {
		f.closeReader(r)
		return
	}
	f.free = append(f.free, r)
}

// closeReader closes r and gives back its body pool (f.mu held).
func (f *arrowFile) closeReader(r *ipc.FileReader) {
	closeFileReader(r)
	if sel := f.sels[r]; sel != nil {
		sel.pool.drain()
		delete(f.sels, r)
	}
}

func closeFileReader(r *ipc.FileReader) {
	if r == nil {
		return
	}
	defer func() { _ = recover() }()
	r.Close()
}

func (f *arrowFile) Path() string          { return f.path }
func (f *arrowFile) Format() Format        { return FormatArrowFile }
func (f *arrowFile) Fields() []Field       { return f.fields }
func (f *arrowFile) Rows() int64           { return f.rows }
func (f *arrowFile) Units() []Unit         { return f.units }
func (f *arrowFile) Metadata() [][2]string { return f.meta }

func (f *arrowFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	for _, r := range f.free {
		f.closeReader(r)
	}
	f.free = nil
	if f.users == 0 {
		// Else the last scanner to finish unmaps it (release).
		unmapFile(f.data)
		f.data = nil
	}
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

func (f *arrowFile) Scan(u int, cols []string, maxRows int) Scanner {
	s := newArrowScanner(f.name, f.fields, cols, maxRows)
	s.file = f
	if s.err != nil {
		return s
	}
	for k, c := range s.cols {
		c.fileOff = &f.plainStrs[s.colIdx[k]]
		c.in.off = c.fileOff.Load()
	}
	switch {
	case u < 0:
		for i := range f.units {
			s.units = append(s.units, i)
		}
	case u < len(f.units):
		s.units = []int{u}
	default:
		s.err = newError(f.name, false, "", fmt.Errorf("no record batch %d (the file has %d)", u, len(f.units)))
	}
	return s
}

// arrowStream is an open Arrow IPC stream, read once, in order.
type arrowStream struct {
	path, name string
	rd         *ipc.Reader
	closer     io.Closer
	fields     []Field
	meta       [][2]string

	mu      sync.Mutex
	scanned bool
	closed  bool
}

func openArrowStream(path, name string, r io.Reader, closer io.Closer, size int64, opt Options, alloc memory.Allocator) (f File, err error) {
	la := newLimitAlloc(alloc, allocLimit(opt))
	// Not ipc.NewReader: it reads messages without size limits, and
	// without checking their metadata against their bodies.
	mr := newCheckedMessageReader(r, size, la, maxArrowMetadata, opt.MaxBatchBytes)
	rd, err := func() (rd *ipc.Reader, err error) {
		defer func() {
			if p := recover(); p != nil {
				rd, err = nil, panicError(p)
			}
		}()
		return ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(la))
	}()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, errTruncatedStream) {
			return nil, newError(name, true, "", errors.New("truncated Arrow IPC stream (no complete schema message)"))
		}
		return nil, newError(name, true, "", fmt.Errorf("corrupt Arrow IPC stream: %w", err))
	}
	s := &arrowStream{path: path, name: name, rd: rd, closer: closer}
	s.fields = arrowFields(rd.Schema())
	s.meta = [][2]string{
		{"format", FormatArrowStream.String()},
		{"columns", strconv.Itoa(len(s.fields))},
	}
	if size >= 0 {
		s.meta = append(s.meta, [2]string{"size", strconv.FormatInt(size, 10)})
	}
	return s, nil
}

func (s *arrowStream) Path() string          { return s.path }
func (s *arrowStream) Format() Format        { return FormatArrowStream }
func (s *arrowStream) Fields() []Field       { return s.fields }
func (s *arrowStream) Rows() int64           { return -1 }
func (s *arrowStream) Units() []Unit         { return nil }
func (s *arrowStream) Metadata() [][2]string { return s.meta }

func (s *arrowStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	func() {
		defer func() { _ = recover() }()
		s.rd.Release()
	}()
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

func (s *arrowStream) Scan(u int, cols []string, maxRows int) Scanner {
	sc := newArrowScanner(s.name, s.fields, cols, maxRows)
	if sc.err != nil {
		return sc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case u >= 0:
		sc.err = newError(s.name, false, "", errors.New("an Arrow IPC stream has no units: read it whole with Scan(-1, ...)"))
	case s.closed:
		sc.err = newError(s.name, false, "", errors.New("file is closed"))
	case s.scanned:
		sc.err = newError(s.name, false, "", errors.New("an Arrow IPC stream can be read only once"))
	default:
		s.scanned = true
		sc.stream = s
	}
	return sc
}
