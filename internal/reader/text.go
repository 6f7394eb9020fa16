package reader

// CSV and JSON Lines inputs, read through arrow-go's CSV reader and JSON
// record builder into Arrow record batches, then into column.Batch like an
// Arrow IPC stream.
//
// The format is found from the content: a file that is not Parquet or
// Arrow IPC and whose first non-blank byte is '{' is JSON Lines, and one
// whose first line is UTF-8 text without NUL bytes is CSV (comma-separated;
// tab-separated when the header line has tabs and no commas). The column
// types come from the first inferRows rows (a CSV header names the
// columns; a JSON object's keys, in first-seen order):
//
//   - integers only: int64; numbers: float64 (NaN, Inf accepted in CSV);
//     true/false: bool; anything else: string;
//   - a JSON array of numbers: list<double> (in CSV, the field's text, as
//     DuckDB writes a list: "[0.1, 0.9]");
//   - empty, NULL, null and NA are null in CSV; a column null in every row
//     of the first block is string.
//
// A later value that does not fit the type is an error naming its line.
// Files are streamed: a batch of rows is parsed at a time.

import (
	"bufio"
	"bytes"
	stdcsv "encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/evalnll/evalnll/internal/column"
)

// inferRows is how many rows the column types are inferred from.
var inferRows = 1000

var csvNulls = []string{"", "NULL", "null", "NA"}

// sniffText tells CSV and JSON Lines apart from other content by the first
// bytes of a file.
func sniffText(head []byte) Format {
	if bytes.IndexByte(head, 0) >= 0 {
		return FormatUnknown
	}
	b := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return FormatJSONL
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(bytes.TrimSpace(line)) == 0 {
		return FormatUnknown
	}
	if len(head) == cap(head) && !bytes.Contains(head, []byte("\n")) {
		// A first line longer than the sniffed bytes: cut inside a rune.
		for len(line) > 0 && !utf8.Valid(line) {
			line = line[:len(line)-1]
		}
	}
	if !utf8.Valid(line) {
		return FormatUnknown
	}
	return FormatCSV
}

// textFile is an open CSV or JSON Lines file.
type textFile struct {
	path, name string
	src        io.ReaderAt
	closer     io.Closer // nil: not closed (standard input)
	size       int64
	format     Format
	opt        Options
	comma      rune
	fields     []Field
	schema     *arrow.Schema // what is read: the supported columns (JSON), every column (CSV)
	idx        []int         // field -> schema column, -1 when not read
	jsonList   []bool        // CSV columns whose text is a JSON array
}

func openText(path, name string, src io.ReaderAt, closer io.Closer, size int64, format Format, opt Options) (File, error) {
	f := &textFile{path: path, name: name, src: src, closer: closer, size: size, format: format, opt: opt, comma: ','}
	var err error
	if format == FormatCSV {
		err = f.inferCSV()
	} else {
		err = f.inferJSON()
	}
	if err != nil {
		return nil, newError(name, true, "", err)
	}
	return f, nil
}

func (f *textFile) Path() string    { return f.path }
func (f *textFile) Format() Format  { return f.format }
func (f *textFile) Fields() []Field { return f.fields }
func (f *textFile) Rows() int64     { return -1 }
func (f *textFile) Units() []Unit   { return nil }
func (f *textFile) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

func (f *textFile) Metadata() [][2]string {
	d := "comma"
	if f.comma == '\t' {
		d = "tab"
	}
	m := [][2]string{{"format", f.format.String()}, {"size", strconv.FormatInt(f.size, 10)},
		{"types", fmt.Sprintf("inferred from the first %d rows", inferRows)}}
	if f.format == FormatCSV {
		m = append(m, [2]string{"delimiter", d})
	}
	return m
}

// textType is what the values of a column seen so far have in common.
type textType uint8

const (
	ttNull textType = iota
	ttInt
	ttFloat
	ttBool
	ttList
	ttString
	ttOther // JSON objects, arrays of non-numbers
)

func joinType(a, b textType) textType {
	switch {
	case a == b || b == ttNull:
		return a
	case a == ttNull:
		return b
	case (a == ttInt && b == ttFloat) || (a == ttFloat && b == ttInt):
		return ttFloat
	case a == ttOther || b == ttOther:
		return ttOther
	}
	return ttString
}

func csvValueType(s string) textType {
	for _, n := range csvNulls {
		if s == n {
			return ttNull
		}
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ttInt
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return ttFloat
	}
	switch strings.ToLower(s) {
	case "true", "false":
		return ttBool
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if _, ok := parseNumberList(nil, s); ok {
			return ttList
		}
	}
	return ttString
}

// parseNumberList appends the numbers of a JSON array of numbers (nulls
// are NaN) and reports whether s is one.
func parseNumberList(dst []float64, s string) ([]float64, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return dst, false
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	if body == "" {
		return dst, true
	}
	for part := range strings.SplitSeq(body, ",") {
		part = strings.TrimSpace(part)
		if part == "null" {
			dst = append(dst, nan)
			continue
		}
		v, err := strconv.ParseFloat(part, 64)
		if err != nil || part == "" || strings.ContainsAny(part, "xXnNiI_") {
			return dst, false // JSON numbers only (no hex, NaN, Inf, underscores)
		}
		dst = append(dst, v)
	}
	return dst, true
}

var nan = func() float64 { var z float64; return z / z }()

func (f *textFile) section() *io.SectionReader { return io.NewSectionReader(f.src, 0, f.size) }

func (f *textFile) inferCSV() error {
	br := bufio.NewReader(f.section())
	head, _ := br.Peek(64 << 10)
	first, _, _ := bytes.Cut(head, []byte("\n"))
	if bytes.IndexByte(first, '\t') >= 0 && bytes.IndexByte(first, ',') < 0 {
		f.comma = '\t'
	}
	r := stdcsv.NewReader(br)
	r.Comma = f.comma
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("reading the CSV header: %w", err)
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimPrefix(h, "\ufeff")
	}
	types := make([]textType, len(names))
	for n := 0; n < inferRows && len(f.opt.TextTypes) < len(names); n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvError(err)
		}
		for i, v := range rec {
			types[i] = joinType(types[i], csvValueType(v))
		}
	}
	if err := f.givenTypes(names, types); err != nil {
		return err
	}
	fields := make([]arrow.Field, len(names))
	f.jsonList = make([]bool, len(names))
	for i, n := range names {
		var dt arrow.DataType = arrow.BinaryTypes.String
		fl := Field{Name: n, Type: column.String, Nullable: true, Desc: "string"}
		switch types[i] {
		case ttInt:
			dt, fl.Type, fl.Desc = arrow.PrimitiveTypes.Int64, column.Int, "int64"
		case ttFloat:
			dt, fl.Type, fl.Desc = arrow.PrimitiveTypes.Float64, column.Float64, "double"
		case ttBool:
			dt, fl.Type, fl.Desc = arrow.FixedWidthTypes.Boolean, column.Bool, "bool"
		case ttList:
			fl.Type, fl.List, fl.Desc = column.Float64, true, "list<double> (JSON text)"
			f.jsonList[i] = true
		}
		fields[i] = arrow.Field{Name: n, Type: dt, Nullable: true}
		f.fields = append(f.fields, fl)
		f.idx = append(f.idx, i)
	}
	f.schema = arrow.NewSchema(fields, nil)
	return nil
}

// givenTypes puts the types of Options.TextTypes in place of the inferred
// ones; a name that is not a column is an error.
func (f *textFile) givenTypes(names []string, types []textType) error {
	for col, t := range f.opt.TextTypes {
		i := slices.Index(names, col)
		if i < 0 {
			return fmt.Errorf("--types: no column %q", col)
		}
		switch t {
		case "int64", "int":
			types[i] = ttInt
		case "double", "float64", "float":
			types[i] = ttFloat
		case "bool":
			types[i] = ttBool
		case "string":
			types[i] = ttString
		case "list", "list<double>":
			types[i] = ttList
		default:
			return fmt.Errorf("--types: %q is not int64, double, bool, string or list", t)
		}
	}
	return nil
}

// csvError names the line of an encoding/csv error.
func csvError(err error) error {
	var pe *stdcsv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	return err
}

// lineReader yields the non-blank lines of a JSON Lines file, counting
// lines from 1. A line longer than limit bytes is an error.
type lineReader struct {
	src   *bufio.Reader
	long  []byte
	n     int64
	limit int64
}

func newLineReader(r io.Reader, limit int64) *lineReader {
	return &lineReader{src: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

// next returns the next non-blank line, trimmed, valid until the next call;
// io.EOF at the end.
func (l *lineReader) next() ([]byte, error) {
	for {
		b, err := l.src.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			l.long = append(l.long[:0], b...)
			for err == bufio.ErrBufferFull {
				if int64(len(l.long)) > l.limit {
					return nil, fmt.Errorf("line %d: longer than %d bytes", l.n+1, l.limit)
				}
				b, err = l.src.ReadSlice('\n')
				l.long = append(l.long, b...)
			}
			b = l.long
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(b) > 0 {
			l.n++
			if t := bytes.TrimSpace(b); len(t) > 0 {
				return t, nil
			}
		}
		if err == io.EOF {
			return nil, io.EOF
		}
	}
}

func jsonValueType(v any) (textType, string) {
	switch x := v.(type) {
	case nil:
		return ttNull, ""
	case bool:
		return ttBool, ""
	case string:
		return ttString, ""
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return ttInt, ""
		}
		return ttFloat, ""
	case []any:
		for _, e := range x {
			if _, ok := e.(json.Number); !ok && e != nil {
				return ttOther, "list (not of numbers)"
			}
		}
		return ttList, ""
	}
	return ttOther, "object"
}

func (f *textFile) inferJSON() error {
	var names []string
	pos := map[string]int{}
	var types []textType
	var other []string
	lr := newLineReader(f.section(), f.opt.MaxBatchBytes)
	for rows := 0; rows < inferRows; rows++ {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n := lr.n
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return fmt.Errorf("line %d: not a JSON object", n)
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return fmt.Errorf("line %d: %v", n, err)
			}
			key, _ := t.(string)
			var v any
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("line %d: %v", n, err)
			}
			k, ok := pos[key]
			if !ok {
				k = len(names)
				pos[key] = k
				names = append(names, key)
				types = append(types, ttNull)
				other = append(other, "")
			}
			tt, desc := jsonValueType(v)
			types[k] = joinType(types[k], tt)
			if desc != "" {
				other[k] = desc
			}
		}
	}
	if err := f.givenTypes(names, types); err != nil {
		return err
	}
	var fields []arrow.Field
	for i, n := range names {
		fl := Field{Name: n, Nullable: true}
		var dt arrow.DataType
		switch types[i] {
		case ttInt:
			dt, fl.Type, fl.Desc = arrow.PrimitiveTypes.Int64, column.Int, "int64"
		case ttFloat:
			dt, fl.Type, fl.Desc = arrow.PrimitiveTypes.Float64, column.Float64, "double"
		case ttBool:
			dt, fl.Type, fl.Desc = arrow.FixedWidthTypes.Boolean, column.Bool, "bool"
		case ttList:
			dt, fl.Type, fl.List, fl.Desc = arrow.ListOf(arrow.PrimitiveTypes.Float64), column.Float64, true, "list<double>"
		case ttString, ttNull:
			dt, fl.Type, fl.Desc = arrow.BinaryTypes.String, column.String, "string"
		default:
			fl.Type, fl.Desc = column.Unsupported, other[i]
			if fl.Desc == "" {
				fl.Desc = "mixed JSON values"
			}
		}
		f.fields = append(f.fields, fl)
		if dt == nil {
			f.idx = append(f.idx, -1)
			continue
		}
		f.idx = append(f.idx, len(fields))
		fields = append(fields, arrow.Field{Name: n, Type: dt, Nullable: true})
	}
	f.schema = arrow.NewSchema(fields, nil)
	return nil
}

// textScanner reads a CSV or JSON Lines file in batches.
type textScanner struct {
	f       *textFile
	maxRows int
	colIdx  []int // per requested column: its field
	cols    []*arrowCol
	batch   column.Batch
	err     error
	done    bool

	rows int64 // data rows read before the current batch

	csv   *csv.Reader
	json  *array.RecordBuilder
	lines *lineReader
	rec   arrow.RecordBatch

	lists []listScratch
}

type listScratch struct {
	vals  []float64
	offs  []int64
	valid []bool
}

func (f *textFile) Scan(u int, cols []string, maxRows int) Scanner {
	s := &textScanner{f: f, maxRows: maxRows}
	if s.maxRows <= 0 {
		s.maxRows = defaultMaxRows
	}
	if u >= 0 {
		s.err = newError(f.name, false, "", fmt.Errorf("a %s file has no units; read it whole", f.format))
		return s
	}
	for _, n := range cols {
		idx := -1
		for i, fl := range f.fields {
			if fl.Name == n {
				idx = i
				break
			}
		}
		if idx < 0 {
			s.err = newError(f.name, false, "", unknownColumn(n, f.fields))
			return s
		}
		if f.fields[idx].Type == column.Unsupported {
			s.err = newError(f.name, false, "", unsupportedColumn(f.fields[idx]))
			return s
		}
		c := getArrowCol(f.fields[idx])
		s.colIdx = append(s.colIdx, idx)
		s.cols = append(s.cols, c)
		s.batch.Cols = append(s.batch.Cols, &c.out)
	}
	s.lists = make([]listScratch, len(cols))
	mem := memory.NewGoAllocator()
	if f.format == FormatCSV {
		s.csv = csv.NewReader(f.section(), f.schema, csv.WithHeader(true), csv.WithComma(f.comma),
			csv.WithChunk(s.maxRows), csv.WithNullReader(true, csvNulls...), csv.WithAllocator(mem))
		return s
	}
	s.json = array.NewRecordBuilder(mem, f.schema)
	s.lines = newLineReader(f.section(), f.opt.MaxBatchBytes)
	return s
}

// nextJSON reads up to n rows of a JSON Lines file into a record batch;
// io.EOF when none is left.
func (s *textScanner) nextJSON(n int) (arrow.RecordBatch, error) {
	k := 0
	for k < n {
		line, err := s.lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if line[0] != '{' {
			return nil, fmt.Errorf("line %d: not a JSON object", s.lines.n)
		}
		if err := s.json.UnmarshalJSON(line); err != nil {
			return nil, fmt.Errorf("line %d: %v", s.lines.n, s.f.locateJSON(line, err))
		}
		k++
	}
	if k == 0 {
		return nil, io.EOF
	}
	return s.json.NewRecordBatch(), nil
}

// locateJSON names the column of a line that arrow-go's JSON builder
// refused: the first whose value does not fit the inferred type.
func (f *textFile) locateJSON(line []byte, err error) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return err
	}
	for _, fl := range f.fields {
		raw, ok := obj[fl.Name]
		if !ok || fl.Type == column.Unsupported {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			continue
		}
		t, _ := jsonValueType(v)
		bad := false
		switch {
		case t == ttNull:
		case fl.List:
			bad = t != ttList
		case fl.Type == column.Int:
			bad = t != ttInt
		case fl.Type == column.Float64:
			bad = t != ttInt && t != ttFloat
		case fl.Type == column.Bool:
			bad = t != ttBool
		case fl.Type == column.String:
			bad = t != ttString
		}
		if bad {
			v := oneLine(string(raw))
			if len(v) > 80 {
				v = v[:77] + "..."
			}
			return fmt.Errorf("column %q: %s is not %s (the column's type, from the first %d rows or --types)", fl.Name, v, fl.Desc, inferRows)
		}
	}
	return err
}

func (s *textScanner) Batch() *column.Batch { return &s.batch }
func (s *textScanner) Err() error           { return s.err }

func (s *textScanner) fail(where string, err error) {
	if s.err == nil {
		s.err = newError(s.f.name, true, where, err)
	}
	s.done = true
}

func (s *textScanner) Next() (ok bool) {
	if s.err != nil || s.done {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			s.fail("", panicError(r))
			ok = false
		}
	}()
	if s.rec != nil {
		s.rows += s.rec.NumRows()
		s.rec.Release()
		s.rec = nil
	}
	var rec arrow.RecordBatch
	if s.csv != nil {
		if !s.csv.Next() {
			if err := s.csv.Err(); err != nil {
				s.fail("", s.locateCSV(err))
				return false
			}
			s.done = true
			return false
		}
		if err := s.csv.Err(); err != nil {
			s.fail("", s.locateCSV(err))
			return false
		}
		rec = s.csv.RecordBatch()
		rec.Retain()
	} else {
		r, err := s.nextJSON(s.maxRows)
		if err == io.EOF {
			s.done = true
			return false
		}
		if err != nil {
			s.fail("", err)
			return false
		}
		rec = r
	}
	s.rec = rec
	n := rec.NumRows()
	for k, c := range s.cols {
		fi := s.colIdx[k]
		arr := rec.Column(s.f.idx[fi])
		if s.f.format == FormatCSV && s.f.jsonList[fi] {
			if err := s.listColumn(k, arr, c); err != nil {
				s.fail("", err)
				return false
			}
			continue
		}
		if err := c.extract(arr, 0, n); err != nil {
			s.fail("", fmt.Errorf("column %q: %w", c.field.Name, err))
			return false
		}
	}
	s.batch.Rows = int(n)
	return true
}

// listColumn parses a CSV column of JSON arrays into a list column.
func (s *textScanner) listColumn(k int, arr arrow.Array, c *arrowCol) error {
	a, ok := arr.(*array.String)
	if !ok {
		return fmt.Errorf("column %q: read as %s", c.field.Name, arr.DataType())
	}
	l := &s.lists[k]
	n := a.Len()
	l.vals, l.offs, l.valid = l.vals[:0], grow(l.offs[:0], n+1), grow(l.valid[:0], n)
	nulls := false
	for i := range n {
		l.offs[i] = int64(len(l.vals))
		l.valid[i] = a.IsValid(i)
		if !l.valid[i] {
			nulls = true
			continue
		}
		var ok bool
		if l.vals, ok = parseNumberList(l.vals, a.Value(i)); !ok {
			return fmt.Errorf("line %d: column %q: %q is not a JSON array of numbers", s.csvLine(i), c.field.Name, a.Value(i))
		}
	}
	l.offs[n] = int64(len(l.vals))
	c.out = column.Column{Type: column.Float64, List: true, Len: n, Offsets: l.offs, F64: l.vals}
	if nulls {
		c.out.Valid = l.valid
	}
	// A null element (JSON null) is NaN in vals: mark it null.
	var ev []bool
	for j, v := range l.vals {
		if v != v {
			if ev == nil {
				ev = make([]bool, len(l.vals))
				for i := range ev {
					ev[i] = true
				}
			}
			ev[j] = false
		}
	}
	c.out.ElemValid = ev
	return nil
}

// csvLine is the line of data row i of the current batch, assuming no
// field spans lines (the header is line 1).
func (s *textScanner) csvLine(i int) int64 { return s.rows + int64(i) + 2 }

// locateCSV names the line and column of a CSV conversion error: the rows
// of the failed batch are read again and checked against the types.
func (s *textScanner) locateCSV(err error) error {
	var pe *stdcsv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	r := stdcsv.NewReader(s.f.section())
	r.Comma = s.f.comma
	r.ReuseRecord = true
	if _, herr := r.Read(); herr != nil {
		return err
	}
	for range s.rows {
		if _, rerr := r.Read(); rerr != nil {
			return err
		}
	}
	for range s.maxRows {
		rec, rerr := r.Read()
		if rerr != nil {
			break
		}
		for i, v := range rec {
			if i >= len(s.f.fields) {
				break
			}
			t := csvValueType(v)
			fl := s.f.fields[i]
			bad := false
			switch {
			case t == ttNull:
			case fl.List:
			case fl.Type == column.Int:
				bad = t != ttInt
			case fl.Type == column.Float64:
				bad = t != ttInt && t != ttFloat
			case fl.Type == column.Bool:
				_, perr := strconv.ParseBool(v)
				bad = perr != nil
			}
			if bad {
				line, _ := r.FieldPos(i)
				return fmt.Errorf("line %d: column %q: %q is not %s (the column's type, from the first %d rows or --types)", line, fl.Name, v, fl.Desc, inferRows)
			}
		}
	}
	return err
}

func (s *textScanner) Close() {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	if s.csv != nil {
		s.csv.Release()
		s.csv = nil
	}
	if s.json != nil {
		s.json.Release()
		s.json = nil
	}
	putArrowCols(s.cols)
	s.cols = nil
	s.done = true
}
