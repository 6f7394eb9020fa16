package reader

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Open opens the file at path, choosing the format by its magic bytes (not
// its name); "-" is an Arrow IPC stream on standard input, read in order and
// never buffered whole. When standard input is redirected from a regular file,
// that file may be in any of the supported formats.
//
// A 0-byte, truncated or unrecognised file is an error wrapping ErrFormat
// whose message starts with the file name.
func Open(path string, opt Options) (File, error) {
	return open(path, opt, nil)
}

// magic numbers.
var (
	magicParquet          = []byte("PAR1")
	magicParquetEncrypted = []byte("PARE")
	magicArrow            = []byte("ARROW1")
	contToken             = []byte{0xff, 0xff, 0xff, 0xff}
)

// defaultMaxRows is used when Scan is given maxRows <= 0.
const defaultMaxRows = 65536

// open is Open with an injectable Arrow allocator (nil: the Go allocator).
func open(path string, opt Options, alloc memory.Allocator) (f File, err error) {
	name := path
	if path == "-" {
		name = "stdin"
	}
	return openNamed(path, name, opt, alloc)
}

// openNamed is open with the name used in errors.
func openNamed(path, name string, opt Options, alloc memory.Allocator) (f File, err error) {
	if opt.MaxBatchBytes <= 0 {
		opt.MaxBatchBytes = DefaultOptions().MaxBatchBytes
	}
	if alloc == nil {
		alloc = memory.NewGoAllocator()
	}
	defer func() {
		if r := recover(); r != nil {
			f = nil
			err = newError(name, true, "", panicError(r))
		}
	}()
	if path == "-" {
		return openStdin(opt, alloc)
	}
	osf, err := os.Open(path)
	if err != nil {
		return nil, newError(name, false, "", unwrapPathError(err))
	}
	f, err = openOS(path, name, osf, opt, alloc)
	if err != nil {
		osf.Close()
		return nil, err
	}
	return f, nil
}

// unwrapPathError drops the path that *os.PathError repeats, since every
// message already starts with the file name.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func openStdin(opt Options, alloc memory.Allocator) (File, error) {
	const name = "stdin"
	if st, err := os.Stdin.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		// Redirected from a file: it can be read at random like any other.
		f, err := openOS("-", name, os.Stdin, opt, alloc)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	br := bufio.NewReaderSize(os.Stdin, 1<<20)
	head, err := br.Peek(8)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return nil, newError(name, false, "", err)
		}
		return nil, newError(name, true, "", errors.New("empty input"))
	}
	switch {
	case bytes.HasPrefix(head, magicParquet) || bytes.HasPrefix(head, magicParquetEncrypted):
		return nil, newError(name, true, "", errors.New("a Parquet file cannot be read from a pipe; pass its path instead of -"))
	case bytes.HasPrefix(head, magicArrow):
		return nil, newError(name, true, "", errors.New("an Arrow IPC file cannot be read from a pipe; pass its path, or send an Arrow IPC stream"))
	}
	return openArrowStream("-", name, br, nil, -1, opt, alloc)
}

// openOS detects the format of an open regular file and opens it.
func openOS(path, name string, osf *os.File, opt Options, alloc memory.Allocator) (File, error) {
	st, err := osf.Stat()
	if err != nil {
		return nil, newError(name, false, "", unwrapPathError(err))
	}
	if st.IsDir() {
		return nil, newError(name, false, "", errors.New("is a directory"))
	}
	size := st.Size()
	var closer io.Closer = osf
	if path == "-" {
		closer = nil // never close standard input
	}
	if !st.Mode().IsRegular() {
		// A pipe or device given by name: only a stream can be read.
		br := bufio.NewReaderSize(osf, 1<<20)
		if _, err := br.Peek(1); err != nil {
			if err == io.EOF {
				return nil, newError(name, true, "", errors.New("empty input"))
			}
			return nil, newError(name, false, "", err)
		}
		return openArrowStream(path, name, br, closer, -1, opt, alloc)
	}
	return openAt(path, name, osf, closer, size, opt, alloc)
}

// OpenReaderAt opens a table held by r, of size bytes, as Open opens a
// file: the format is found from its magic bytes. name is used in every
// message (and returned by Path); closer, when not nil, is closed by the
// File's Close. A Parquet file is read footer first, then only the column
// chunks scanned; an Arrow IPC file its footer, then the record batches
// scanned; an Arrow IPC stream from start to end, once. It is how objects
// in object storage are read (package store), without downloading them.
func OpenReaderAt(name string, r io.ReaderAt, size int64, closer io.Closer, opt Options) (f File, err error) {
	if opt.MaxBatchBytes <= 0 {
		opt.MaxBatchBytes = DefaultOptions().MaxBatchBytes
	}
	defer func() {
		if p := recover(); p != nil {
			f = nil
			err = newError(name, true, "", panicError(p))
		}
	}()
	return openAt(name, name, r, closer, size, opt, memory.NewGoAllocator())
}

// openAt detects the format of a table that can be read at random.
func openAt(path, name string, src io.ReaderAt, closer io.Closer, size int64, opt Options, alloc memory.Allocator) (File, error) {
	if size == 0 {
		return nil, newError(name, true, "", errors.New("empty file (0 bytes)"))
	}
	var head [8]byte
	nh, err := src.ReadAt(head[:min(int64(8), size)], 0)
	if err != nil && err != io.EOF {
		// An I/O error (object storage: one that retries did not cure).
		return nil, newError(name, false, "", err)
	}
	h := head[:nh]
	var tail [8]byte
	var t []byte
	if size >= 8 {
		n, err := src.ReadAt(tail[:], size-8)
		if err != nil && err != io.EOF {
			return nil, newError(name, false, "", err)
		}
		if n == 8 {
			t = tail[:]
		}
	}
	switch {
	case bytes.HasPrefix(h, magicParquet):
		if size < 12 || t == nil {
			return nil, newError(name, true, "", errors.New("truncated Parquet file (no footer)"))
		}
		switch {
		case bytes.Equal(t[4:], magicParquet):
		case bytes.Equal(t[4:], magicParquetEncrypted):
			return nil, newError(name, true, "", errors.New("encrypted Parquet files are not supported"))
		default:
			return nil, newError(name, true, "", errors.New("truncated Parquet file (no footer)"))
		}
		return openParquet(path, name, src, closer, size, opt)
	case bytes.HasPrefix(h, magicParquetEncrypted):
		return nil, newError(name, true, "", errors.New("encrypted Parquet files are not supported"))
	case bytes.HasPrefix(h, magicArrow):
		if len(h) < 8 || size < 18 || t == nil || !bytes.Equal(t[2:], magicArrow) {
			return nil, newError(name, true, "", errors.New("truncated Arrow IPC file (no footer)"))
		}
		return openArrowFile(path, name, src, closer, size, opt, alloc)
	case looksLikeStream(src, h, size):
		return openArrowStream(path, name, bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 1<<20), closer, size, opt, alloc)
	}
	sniff := make([]byte, min(size, 64<<10))
	if n, _ := src.ReadAt(sniff, 0); n == len(sniff) {
		if tf := sniffText(sniff); tf != FormatUnknown {
			return openText(path, name, src, closer, size, tf, opt)
		}
	}
	if size < 8 {
		return nil, newError(name, true, "", fmt.Errorf("not a Parquet, Arrow IPC, CSV or JSON Lines file (only %d bytes)", size))
	}
	return nil, newError(name, true, "", fmt.Errorf("not a Parquet, Arrow IPC, CSV or JSON Lines file (starts with %q)", h))
}

// looksLikeStream reports whether a file starts like an Arrow IPC stream: a
// continuation token, or (before Arrow 0.15) a little-endian message length
// followed by a flatbuffer Message holding a Schema.
func looksLikeStream(r io.ReaderAt, head []byte, size int64) bool {
	if len(head) < 8 {
		return false
	}
	if bytes.HasPrefix(head, contToken) {
		return true
	}
	l := int64(int32(binary.LittleEndian.Uint32(head)))
	if l < 8 || l > 1<<20 || 4+l > size {
		return false
	}
	buf := make([]byte, l)
	if n, _ := r.ReadAt(buf, 4); int64(n) != l {
		return false
	}
	msg, ok := fbRoot(buf)
	return ok && msg.u8(fbMessageHeaderType, 0) == fbHeaderSchema
}

// fileError is the error type of this package: it names the file, and the
// part of it (row group, record batch, column) where the error was found.
type fileError struct {
	name   string
	where  string
	err    error
	format bool // wraps ErrFormat
}

func (e *fileError) Error() string {
	var b strings.Builder
	b.WriteString(e.name)
	b.WriteString(": ")
	if e.where != "" {
		b.WriteString(e.where)
		b.WriteString(": ")
	}
	b.WriteString(oneLine(e.err.Error()))
	return b.String()
}

func (e *fileError) Unwrap() []error {
	if e.format {
		return []error{ErrFormat, e.err}
	}
	return []error{e.err}
}

// newError wraps err so that it names the file; format marks it as wrapping
// ErrFormat. An error that already names the file is returned as is.
func newError(name string, format bool, where string, err error) error {
	var fe *fileError
	if errors.As(err, &fe) && fe.name == name {
		return err
	}
	if strings.HasPrefix(err.Error(), name+": ") {
		// Already named (the errors of an object store reader).
		return err
	}
	return &fileError{name: name, where: where, err: err, format: format}
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// panicError turns a recovered panic into an error. A runtime error of a
// decoder (a length or index the file gives that does not fit) becomes a
// sentence about the data; the runtime's words stay in the wrapped error.
func panicError(r any) error {
	e, ok := r.(error)
	if !ok {
		return fmt.Errorf("corrupt data (decoder failed: %v)", r)
	}
	var re runtime.Error
	if errors.As(e, &re) {
		if msg := runtimeSentence(re.Error()); msg != "" {
			return &decoderError{msg: msg, err: e}
		}
	}
	return fmt.Errorf("corrupt data (decoder failed: %w)", e)
}

// decoderError is a decoder's runtime error told as a sentence.
type decoderError struct {
	msg string
	err error
}

func (e *decoderError) Error() string { return e.msg }
func (e *decoderError) Unwrap() error { return e.err }

var (
	reSliceCap   = regexp.MustCompile(`slice bounds out of range \[(?:\d*:)?(-?\d+)(?::\d+)?\] with (?:capacity|length) (\d+)`)
	reSliceOrder = regexp.MustCompile(`slice bounds out of range \[(?:\d*:)?(-?\d+):(-?\d+)\]`)
	reIndex      = regexp.MustCompile(`index out of range \[(-?\d+)\] with length (\d+)`)
)

// runtimeSentence words a runtime error message about corrupt data, or
// returns "" for one it does not know.
func runtimeSentence(m string) string {
	if g := reSliceCap.FindStringSubmatch(m); g != nil {
		return fmt.Sprintf("corrupt data: a length or offset of %s exceeds the %s bytes it refers to", g[1], g[2])
	}
	if g := reSliceOrder.FindStringSubmatch(m); g != nil {
		return fmt.Sprintf("corrupt data: a range starts at %s, after its end %s", g[1], g[2])
	}
	if g := reIndex.FindStringSubmatch(m); g != nil {
		return fmt.Sprintf("corrupt data: an index of %s exceeds a table of %s entries", g[1], g[2])
	}
	switch {
	case strings.Contains(m, "makeslice") || strings.Contains(m, "makemap"):
		return "corrupt data: a length or count is out of range"
	case strings.Contains(m, "integer divide by zero"):
		return "corrupt data: a size or count of zero where one is needed"
	case strings.Contains(m, "nil pointer dereference"):
		return "corrupt data: a required part is missing"
	case strings.Contains(m, "integer overflow"):
		return "corrupt data: a length or count overflows"
	}
	return ""
}
