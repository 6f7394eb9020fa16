// Package reader streams prediction tables out of Parquet files and Arrow IPC
// files and streams into column.Batch values.
//
// Callers Open a file (the format is found from its magic bytes, not its
// name), look at its Fields, then read it by units: a Parquet row group or an
// Arrow IPC file record batch. Scanners of different units of one File may run
// concurrently; an Arrow IPC stream has no units and is read in order with
// Scan(-1, ...). A file that is a Splitter can also cut a unit into parts
// that are read concurrently, each with ScanPart.
//
//	f, err := reader.Open(path, reader.DefaultOptions())
//	defer f.Close()
//	for _, u := range f.Units() {
//		s := f.Scan(u.Index, []string{"y", "p"}, 65536)
//		for s.Next() {
//			b := s.Batch() // borrowed until the next call to Next or Close
//		}
//		err := s.Err()
//		s.Close()
//	}
//
// Every error a reader returns names the file, and a panic inside a decoder is
// recovered into an error: a hostile file never crashes the caller.
package reader

import (
	"errors"

	"github.com/evalnll/evalnll/internal/column"
)

// Format is a table file format.
type Format uint8

const (
	FormatUnknown Format = iota
	FormatParquet
	FormatArrowFile
	FormatArrowStream
	FormatCSV
	FormatJSONL
)

// String returns the name used in the JSON report: "parquet", "arrow-file"
// or "arrow-stream".
func (f Format) String() string {
	switch f {
	case FormatParquet:
		return "parquet"
	case FormatArrowFile:
		return "arrow-file"
	case FormatArrowStream:
		return "arrow-stream"
	case FormatCSV:
		return "csv"
	case FormatJSONL:
		return "jsonl"
	}
	return "unknown"
}

// ErrFormat is wrapped by errors for inputs that are not a table evalnll can
// read: empty, truncated, corrupt or of another format.
var ErrFormat = errors.New("not a readable Parquet or Arrow IPC table")

// ErrUnsupported is wrapped by errors for valid data that evalnll cannot
// decode (a deprecated compression codec, an empty compressed v2 page).
var ErrUnsupported = errors.New("not supported by the Parquet decoder")

// Field describes one top-level column of a file.
type Field struct {
	Name string
	// Type is the normalised element type; column.Unsupported when evalnll
	// cannot read the column (Desc then says what it is).
	Type column.Type
	// List is set for list, large list and fixed-size list columns.
	List bool
	// FixedSize is the length of a fixed-size list, else 0.
	FixedSize int
	Nullable  bool
	// Desc is the type as the file states it, for messages and `inspect`,
	// for example "double", "list<float>", "int8 (dictionary)".
	Desc string
}

// Unit is a part of a file that can be read on its own.
type Unit struct {
	Index int
	// Rows is the number of rows, or -1 when only reading tells.
	Rows int64
}

// Options are limits on what a file may make the reader allocate.
type Options struct {
	// MaxBatchBytes is the largest Arrow IPC record batch body, and the
	// largest Parquet page, accepted.
	MaxBatchBytes int64
	// TextTypes gives the type of CSV and JSON Lines columns by name
	// ("int64", "double", "bool", "string" or "list", a list of doubles)
	// instead of inferring it from the first rows.
	TextTypes map[string]string

	// noMmap reads Arrow IPC files whole instead of mapping them or
	// reading their scanned columns (tests); mmap maps them (tests).
	noMmap, mmap bool
}

// DefaultOptions reads 100k rows × 1000 float32 logits in one record batch.
func DefaultOptions() Options {
	return Options{MaxBatchBytes: 1 << 30}
}

// File is an open input table.
type File interface {
	Path() string
	Format() Format
	Fields() []Field
	// Rows is the number of rows, or -1 when it is not known before reading
	// (an Arrow IPC stream).
	Rows() int64
	// Units lists the independently readable parts in file order; nil for an
	// Arrow IPC stream.
	Units() []Unit
	// Scan reads unit u (u < 0: the whole file, in order; the only way to read
	// a stream), yielding batches of at most maxRows rows that hold the named
	// columns in the order given. A name that is not a column of the file is
	// an error from Err.
	Scan(u int, cols []string, maxRows int) Scanner
	// Metadata is extra key/value information for `inspect` (writer,
	// row groups, compression ...), in a stable order.
	Metadata() [][2]string
	Close() error
}

// Part is a run of consecutive rows of a unit, cut by a Splitter and read
// on its own with ScanPart. The parts of a unit, in order, hold its rows in
// order.
type Part struct {
	Unit  int   // the Index of the unit
	First int64 // the part's first row within the unit
	Rows  int64

	last bool    // the unit's last part: it checks that the unit ends there
	pq   *pqPlan // how a Parquet row group was cut
}

// Splitter is implemented by the files whose units can be cut into parts
// that are decoded independently (Parquet and Arrow IPC files), so that
// several workers can share the decoding of one large unit.
type Splitter interface {
	// UnitBytes estimates the work of reading cols of unit u: the bytes
	// decoded, or 0 when it is not known.
	UnitBytes(u int, cols []string) int64
	// Split cuts unit u, read for cols, into at most n parts of about equal
	// work, in row order. It returns the whole unit as one part when the
	// unit cannot be cut cheaply, and an error when planning the cut found
	// the file corrupt; the caller then reads the unit with Scan, which
	// reports any problem at its place.
	Split(u int, cols []string, n int) ([]Part, error)
	// ScanPart reads a part that Split returned, for the same cols, as Scan
	// reads a unit. The last part of a unit checks, as Scan does at the end
	// of a unit, that its column chunks hold no more rows.
	ScanPart(p Part, cols []string, maxRows int) Scanner
}

// Scanner yields the batches of one unit.
type Scanner interface {
	Next() bool
	// Batch is the current batch, borrowed until the next call to Next or
	// Close.
	Batch() *column.Batch
	// Err is the error that stopped Next, or nil at a clean end.
	Err() error
	Close()
}

// RangeHinter is implemented by the io.ReaderAt of a table given to
// OpenReaderAt that gains from knowing which byte range is about to be read
// in order: an object store reader fetches ahead within it, and not beyond.
// The readers announce each Parquet column chunk read, and each Arrow IPC
// record batch, before reading it.
type RangeHinter interface {
	WillRead(off, n int64)
}

// RangesHinter is a RangeHinter that takes several ranges (offset, length)
// at once, in the order they will be read (and can fetch neighbours
// together).
type RangesHinter interface {
	WillReadRanges(rs [][2]int64)
}

// Prefetcher is implemented by files read through a RangeHinter: a run
// announces each unit it will scan (with the columns), in the order it
// will scan them, before it starts, so that an object store reader
// fetches the next units' bytes while the current ones are decoded.
type Prefetcher interface {
	// Prefetches reports whether Prefetch does anything (the file is read
	// through a RangeHinter).
	Prefetches() bool
	Prefetch(u int, cols []string)
}

// Open (in open.go) opens the file at path, choosing the format by magic
// bytes; "-" is an Arrow IPC stream on standard input, read in order.
//
//	func Open(path string, opt Options) (File, error)
