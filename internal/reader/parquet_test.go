package reader

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/evalnll/evalnll/internal/column"
)

// compareCol checks a column read against the expected one: validity,
// offsets, element validity, and the values of non-null entries.
func compareCol(t *testing.T, name string, got, want *colData) {
	t.Helper()
	if got.rows != want.rows {
		t.Fatalf("%s: %d rows, want %d", name, got.rows, want.rows)
	}
	if got.typ != want.typ || got.list != want.list {
		t.Fatalf("%s: type %v list %v, want %v %v", name, got.typ, got.list, want.typ, want.list)
	}
	if !slices.Equal(got.valid, want.valid) {
		t.Fatalf("%s: validity\n got %v\nwant %v", name, got.valid, want.valid)
	}
	entries := want.rows
	ev := want.valid
	if want.list {
		if !slices.Equal(got.offs, want.offs) {
			t.Fatalf("%s: offsets\n got %v\nwant %v", name, got.offs, want.offs)
		}
		if !slices.Equal(got.elemValid, want.elemValid) {
			t.Fatalf("%s: element validity\n got %v\nwant %v", name, got.elemValid, want.elemValid)
		}
		entries = int(want.offs[len(want.offs)-1])
		ev = want.elemValid
	}
	if got.values() != entries {
		t.Fatalf("%s: %d values, want %d", name, got.values(), entries)
	}
	for i := range entries {
		if !ev[i] {
			continue
		}
		var ok bool
		switch want.typ {
		case column.Bool:
			ok = got.bools[i] == want.bools[i]
		case column.Int, column.Uint64:
			ok = got.ints[i] == want.ints[i]
		case column.String:
			ok = got.strs[i] == want.strs[i]
		default:
			ok = floatEq(got.f[i], want.f[i]) && math.Signbit(got.f[i]) == math.Signbit(want.f[i])
		}
		if !ok {
			t.Fatalf("%s: value %d differs", name, i)
		}
	}
}

// pqFixture is a Parquet file written by parquet-go with the values it holds.
type pqFixture struct {
	path  string
	names []string
	want  []*colData
}

// writeParquetFixture writes rows of every shape the reader handles: all the
// scalar types, nullable or not, plain and dictionary-encoded, and lists
// with null lists, empty lists and null elements.
func writeParquetFixture(t testing.TB, dir string, rows int, opts ...parquet.WriterOption) *pqFixture {
	t.Helper()
	schema := parquet.NewSchema("fixture", parquet.Group{
		"a_f64":      parquet.Optional(parquet.Leaf(parquet.DoubleType)),
		"b_i32":      parquet.Leaf(parquet.Int32Type),
		"c_i8":       parquet.Optional(parquet.Int(8)),
		"d_u64":      parquet.Optional(parquet.Uint(64)),
		"e_u16":      parquet.Uint(16),
		"f_f32":      parquet.Optional(parquet.Leaf(parquet.FloatType)),
		"g_bool":     parquet.Optional(parquet.Leaf(parquet.BooleanType)),
		"h_dict":     parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
		"i_str":      parquet.Optional(parquet.String()),
		"j_list":     parquet.Optional(parquet.List(parquet.Optional(parquet.Leaf(parquet.DoubleType)))),
		"k_list":     parquet.List(parquet.Leaf(parquet.FloatType)),
		"l_rep":      parquet.Repeated(parquet.Leaf(parquet.Int64Type)),
		"m_dict_f64": parquet.Optional(parquet.Encoded(parquet.Leaf(parquet.DoubleType), &parquet.RLEDictionary)),
		"n_liststr":  parquet.Optional(parquet.List(parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)))),
	})
	fx := &pqFixture{
		path:  filepath.Join(dir, fmt.Sprintf("fixture-%d.parquet", rand.Int())),
		names: []string{"a_f64", "b_i32", "c_i8", "d_u64", "e_u16", "f_f32", "g_bool", "h_dict", "i_str", "j_list", "k_list", "l_rep", "m_dict_f64", "n_liststr"},
	}
	types := []column.Type{column.Float64, column.Int, column.Int, column.Uint64, column.Int, column.Float32, column.Bool, column.String, column.String, column.Float64, column.Float32, column.Int, column.Float64, column.String}
	lists := map[int]bool{9: true, 10: true, 11: true, 13: true}
	for i, typ := range types {
		c := &colData{typ: typ, list: lists[i]}
		if c.list {
			c.offs = []int64{0}
		}
		fx.want = append(fx.want, c)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	labels := []string{"ios", "android", "web", "", "a much longer label with spaces"}
	var buf []parquet.Row
	w := parquet.NewWriter(new(bytes.Buffer), schema) // replaced below
	_ = w
	out, err := os.Create(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	w = parquet.NewWriter(out, append([]parquet.WriterOption{schema}, opts...)...)
	for r := range rows {
		var row parquet.Row
		null := func(p float64) bool { return rng.Float64() < p }
		scalar := func(col int, v parquet.Value, isNull, optional bool) {
			c := fx.want[col]
			c.rows++
			c.valid = append(c.valid, !isNull)
			def := 0
			if optional && !isNull {
				def = 1
			}
			if isNull {
				row = append(row, parquet.NullValue().Level(0, 0, col))
			} else {
				row = append(row, v.Level(0, def, col))
			}
		}
		// a_f64: optional double, with special values.
		f := rng.NormFloat64()
		switch r % 50 {
		case 7:
			f = math.NaN()
		case 8:
			f = math.Inf(-1)
		case 9:
			f = math.Copysign(0, -1)
		}
		isNull := null(0.2)
		fx.want[0].f = append(fx.want[0].f, f)
		scalar(0, parquet.DoubleValue(f), isNull, true)
		i32 := rng.Int32() - 1<<30
		fx.want[1].ints = append(fx.want[1].ints, int64(i32))
		scalar(1, parquet.Int32Value(i32), false, false)
		i8 := int8(rng.IntN(256) - 128)
		fx.want[2].ints = append(fx.want[2].ints, int64(i8))
		scalar(2, parquet.Int32Value(int32(i8)), null(0.1), true)
		u64 := rng.Uint64()
		fx.want[3].ints = append(fx.want[3].ints, int64(u64))
		scalar(3, parquet.Int64Value(int64(u64)), null(0.1), true)
		u16 := uint16(rng.IntN(65536))
		fx.want[4].ints = append(fx.want[4].ints, int64(u16))
		scalar(4, parquet.Int32Value(int32(u16)), false, false)
		f32 := float32(rng.NormFloat64())
		fx.want[5].f = append(fx.want[5].f, float64(f32))
		scalar(5, parquet.FloatValue(f32), null(0.3), true)
		b := rng.IntN(2) == 1
		fx.want[6].bools = append(fx.want[6].bools, b)
		scalar(6, parquet.BooleanValue(b), null(0.3), true)
		s := labels[rng.IntN(len(labels))]
		isNull = null(0.1)
		fx.want[7].strs = append(fx.want[7].strs, nullStr(s, isNull))
		scalar(7, parquet.ByteArrayValue([]byte(s)), isNull, true)
		s = fmt.Sprintf("id-%d-%s", r, strings.Repeat("x", rng.IntN(20)))
		isNull = null(0.1)
		fx.want[8].strs = append(fx.want[8].strs, nullStr(s, isNull))
		scalar(8, parquet.ByteArrayValue([]byte(s)), isNull, true)

		// j_list: optional list of optional doubles (max def 3).
		list := func(col int, optionalList, optionalElem bool, n int, elem func(k int) (parquet.Value, bool)) {
			c := fx.want[col]
			c.rows++
			base := 0
			if optionalList {
				base = 1
			}
			if optionalList && null(0.1) {
				c.valid = append(c.valid, false)
				c.offs = append(c.offs, c.offs[len(c.offs)-1])
				row = append(row, parquet.NullValue().Level(0, 0, col))
				return
			}
			c.valid = append(c.valid, true)
			c.offs = append(c.offs, c.offs[len(c.offs)-1]+int64(n))
			if n == 0 {
				row = append(row, parquet.NullValue().Level(0, base, col))
				return
			}
			for k := range n {
				rep := 1
				if k == 0 {
					rep = 0
				}
				v, ok := elem(k)
				c.elemValid = append(c.elemValid, ok)
				def := base + 1
				if optionalElem && ok {
					def++
				}
				if ok {
					row = append(row, v.Level(rep, def, col))
				} else {
					row = append(row, parquet.NullValue().Level(rep, def, col))
				}
			}
		}
		n := rng.IntN(6)
		list(9, true, true, n, func(k int) (parquet.Value, bool) {
			v := float64(r) + float64(k)/10
			fx.want[9].f = append(fx.want[9].f, v)
			return parquet.DoubleValue(v), !null(0.15)
		})
		// k_list: required list of required floats, long lists.
		n = rng.IntN(40)
		list(10, false, false, n, func(k int) (parquet.Value, bool) {
			v := float32(rng.NormFloat64())
			fx.want[10].f = append(fx.want[10].f, float64(v))
			return parquet.FloatValue(v), true
		})
		// l_rep: a bare repeated int64.
		n = rng.IntN(4)
		list(11, false, false, n, func(k int) (parquet.Value, bool) {
			v := int64(r*10 + k)
			fx.want[11].ints = append(fx.want[11].ints, v)
			return parquet.Int64Value(v), true
		})
		// m_dict_f64: few distinct doubles, dictionary-encoded.
		f = []float64{0.05, 0.2, 0.5, 0.8, 0.95}[rng.IntN(5)]
		fx.want[12].f = append(fx.want[12].f, f)
		scalar(12, parquet.DoubleValue(f), null(0.05), true)
		// n_liststr: optional list of optional dictionary strings.
		n = rng.IntN(4)
		list(13, true, true, n, func(k int) (parquet.Value, bool) {
			s := labels[rng.IntN(len(labels))]
			isNull := null(0.2)
			fx.want[13].strs = append(fx.want[13].strs, nullStr(s, isNull))
			return parquet.ByteArrayValue([]byte(s)), !isNull
		})
		buf = append(buf, row)
		if len(buf) == 97 {
			if _, err := w.WriteRows(buf); err != nil {
				t.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	if _, err := w.WriteRows(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.want {
		if c.list {
			for len(c.elemValid) < int(c.offs[len(c.offs)-1]) {
				c.elemValid = append(c.elemValid, true)
			}
		}
	}
	return fx
}

func nullStr(s string, null bool) string {
	if null {
		return ""
	}
	return s
}

// TestParquetRoundTrip writes files with parquet-go in several layouts (data
// page v1 and v2, tiny pages, many row groups) and reads them back in
// batches smaller and larger than pages, checking every value, validity,
// offset and element validity.
func TestParquetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	layouts := []struct {
		name string
		opts []parquet.WriterOption
	}{
		{"v2", nil},
		{"v1-small-pages", []parquet.WriterOption{parquet.DataPageVersion(1), parquet.PageBufferSize(512), parquet.MaxRowsPerRowGroup(700)}},
		{"v2-small-pages-snappy", []parquet.WriterOption{parquet.PageBufferSize(300), parquet.MaxRowsPerRowGroup(450), parquet.Compression(&parquet.Snappy)}},
		{"v1-zstd", []parquet.WriterOption{parquet.DataPageVersion(1), parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(1000)}},
		// LZ4_RAW is read by parquet_lz4.go: v1 and v2 pages, dictionaries.
		{"v1-lz4", []parquet.WriterOption{parquet.DataPageVersion(1), parquet.Compression(&parquet.Lz4Raw), parquet.MaxRowsPerRowGroup(1000)}},
		{"v2-small-pages-lz4", []parquet.WriterOption{parquet.PageBufferSize(300), parquet.MaxRowsPerRowGroup(450), parquet.Compression(&parquet.Lz4Raw)}},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			fx := writeParquetFixture(t, dir, 2100, l.opts...)
			f, err := Open(fx.path, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Rows() != 2100 {
				t.Fatalf("%d rows", f.Rows())
			}
			for i, fl := range f.Fields() {
				if fl.Name != fx.names[i] || fl.Type != fx.want[i].typ || fl.List != fx.want[i].list {
					t.Fatalf("field %d: %+v", i, fl)
				}
			}
			for _, maxRows := range []int{1, 7, 100, 4096} {
				got, _, err := scanAll(t, f, -1, fx.names, maxRows)
				if err != nil {
					t.Fatal(err)
				}
				for i, name := range fx.names {
					compareCol(t, fmt.Sprintf("%s (maxRows %d)", name, maxRows), got[i], fx.want[i])
				}
			}
			// Unit by unit, columns in another order and one twice.
			cols := []string{"n_liststr", "a_f64", "k_list", "a_f64"}
			idx := []int{13, 0, 10, 0}
			parts := make([]*colData, len(cols))
			for _, u := range f.Units() {
				got, _, err := scanAll(t, f, u.Index, cols, 33)
				if err != nil {
					t.Fatal(err)
				}
				for i := range parts {
					parts[i] = concat(parts[i], got[i])
				}
			}
			for i, k := range idx {
				compareCol(t, cols[i], parts[i], fx.want[k])
			}
		})
	}
}

// concat appends b to a (nil a: b).
func concat(a, b *colData) *colData {
	if a == nil {
		return b
	}
	if a.list {
		base := a.offs[len(a.offs)-1]
		for _, o := range b.offs[1:] {
			a.offs = append(a.offs, base+o)
		}
		a.elemValid = append(a.elemValid, b.elemValid...)
	}
	a.rows += b.rows
	a.valid = append(a.valid, b.valid...)
	a.f = append(a.f, b.f...)
	a.ints = append(a.ints, b.ints...)
	a.bools = append(a.bools, b.bools...)
	a.strs = append(a.strs, b.strs...)
	return a
}

// TestParquetDictionaryStrings checks that a string column of a
// dictionary-encoded chunk comes as Dict+Codes.
func TestParquetDictionaryStrings(t *testing.T) {
	fx := writeParquetFixture(t, t.TempDir(), 300)
	f := openT(t, fx.path)
	s := f.Scan(0, []string{"h_dict", "i_str"}, 50)
	defer s.Close()
	for s.Next() {
		d, p := s.Batch().Cols[0], s.Batch().Cols[1]
		if d.Dict == nil || d.Strs != nil || len(d.Codes) != d.Len {
			t.Fatalf("dictionary column: %+v", d)
		}
		if p.Strs == nil || p.Dict != nil {
			t.Fatalf("plain column: %+v", p)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestParquetConcurrentUnits reads the row groups of one file at once.
func TestParquetConcurrentUnits(t *testing.T) {
	fx := writeParquetFixture(t, t.TempDir(), 3000, parquet.MaxRowsPerRowGroup(250), parquet.PageBufferSize(1024))
	f := openT(t, fx.path)
	units := f.Units()
	if len(units) != 12 {
		t.Fatalf("%d units", len(units))
	}
	parts := make([][]*colData, len(units))
	var wg sync.WaitGroup
	errs := make([]error, len(units))
	for i, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i], _, errs[i] = scanAll(t, f, u.Index, fx.names, 64)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
	}
	for k, name := range fx.names {
		var all *colData
		for _, p := range parts {
			all = concat(all, p[k])
		}
		compareCol(t, name, all, fx.want[k])
	}
}

// TestParquetErrors checks the errors of bad requests and bad files.
func TestParquetErrors(t *testing.T) {
	dir := t.TempDir()
	fx := writeParquetFixture(t, dir, 100)
	f := openT(t, fx.path)

	_, _, err := scanAll(t, f, -1, []string{"a_f64", "nosuch"}, 10)
	if err == nil || isFormat(err) || !strings.Contains(err.Error(), `no column "nosuch"`) {
		t.Errorf("unknown column: %v", err)
	}
	checkMessage(t, err, fx.path)
	_, _, err = scanAll(t, f, 5, []string{"a_f64"}, 10)
	if err == nil {
		t.Errorf("no error for a unit out of range")
	}

	data, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string][]byte{
		"empty.parquet":     nil,
		"magic.parquet":     []byte("PAR1"),
		"cut.parquet":       data[:len(data)/2],
		"nofooter.parquet":  append(append([]byte{}, data[:len(data)-8]...), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'),
		"notatable.png":     []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), // a CSV is read (text.go)
		"badfooter.parquet": append(append(append([]byte{}, data[:len(data)-40]...), bytes.Repeat([]byte{0xff}, 32)...), data[len(data)-8:]...),
	}
	for name, b := range cases {
		p := write(name, b)
		f, err := Open(p, DefaultOptions())
		if err == nil {
			_, _, err = scanAll(t, f, -1, supported(f), 10)
			f.Close()
		}
		if err == nil || !isFormat(err) {
			t.Errorf("%s: want an ErrFormat error, got %v", name, err)
			continue
		}
		checkMessage(t, err, p)
	}
	if _, err := Open(filepath.Join(dir, "missing.parquet"), DefaultOptions()); err == nil || isFormat(err) {
		t.Errorf("missing file: %v", err)
	}

	// A page larger than MaxBatchBytes.
	f2, err := Open(fx.path, Options{MaxBatchBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	_, _, err = scanAll(t, f2, -1, []string{"k_list"}, 10)
	if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("page over MaxBatchBytes: %v", err)
	}
}

// TestParquetCorruptPages flips bytes all over a file: every read must end
// in an error or in data, never in a panic.
func TestParquetCorruptPages(t *testing.T) {
	dir := t.TempDir()
	fx := writeParquetFixture(t, dir, 300, parquet.PageBufferSize(256), parquet.Compression(&parquet.Snappy))
	data, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	p := filepath.Join(dir, "corrupt.parquet")
	for range 300 {
		b := slices.Clone(data)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(p, DefaultOptions())
		if err != nil {
			checkMessage(t, err, p)
			continue
		}
		for _, n := range supported(f) {
			if _, _, err := scanAll(t, f, -1, []string{n}, 100); err != nil {
				checkMessage(t, err, p)
			}
		}
		f.Close()
	}
}

// TestParquetFloat16 reads the FLOAT16 files of parquet-testing, whose
// values its README lists.
func TestParquetFloat16(t *testing.T) {
	f := openT(t, "../../testdata/interop/parquet-testing/data/float16_nonzeros_and_nans.parquet")
	if fl := fieldByName(f, "x"); fl.Type != column.Float32 || fl.Desc != "float16" {
		t.Fatalf("x: %+v", fl)
	}
	cols, _, err := scanAll(t, f, -1, []string{"x"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := cols[0]
	want := []float64{0, 1, -2, math.NaN(), 0, -1, math.Copysign(0, -1), 2}
	for i, w := range want {
		if c.valid[i] != (i != 0) || (i != 0 && (!floatEq(c.f[i], w) || math.Signbit(c.f[i]) != math.Signbit(w))) {
			t.Errorf("row %d: %v (valid %v), want %v", i, c.f[i], c.valid[i], w)
		}
	}
	for h, want := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x0001: 5.960464477539063e-08, 0x7bff: 65504, 0x8400: -6.103515625e-05, 0x7c00: float32(math.Inf(1))} {
		if got := halfToFloat32(h); got != want {
			t.Errorf("half %#04x = %v, want %v", h, got, want)
		}
	}
}

// TestParquetLegacyLists reads the two-level and bare repeated lists of
// parquet-testing.
func TestParquetLegacyLists(t *testing.T) {
	f := openT(t, "../../testdata/interop/parquet-testing/data/repeated_primitive_no_list.parquet")
	cols, _, err := scanAll(t, f, -1, []string{"Int32_list", "String_list"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := range cols[0].rows {
		rows = append(rows, fmtRow(cols, i))
	}
	want := []string{`[0,1,2,3]|["foo","zero","one","two"]`, `[]|["three"]`, `[4]|["four"]`, `[5,6,7,8]|["five","six","seven","eight"]`}
	if !slices.Equal(rows, want) {
		t.Errorf("rows\n got %v\nwant %v", rows, want)
	}
	f = openT(t, "../../testdata/interop/parquet-testing/data/nullable.impala.parquet")
	cols, _, err = scanAll(t, f, -1, []string{"int_array"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[:0]
	for i := range cols[0].rows {
		rows = append(rows, fmtRow(cols, i))
	}
	want = []string{"[1,2,3]", "[null,1,2,null,3,null]", "[]", "null", "null", "null", "null"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows\n got %v\nwant %v", rows, want)
	}
}

// fakePages serves pages built in memory; the last one comes with io.EOF.
type fakePages struct {
	pages []parquet.Page
	i     int
}

func (f *fakePages) ReadPage() (parquet.Page, error) {
	if f.i >= len(f.pages) {
		return nil, io.EOF
	}
	p := f.pages[f.i]
	f.i++
	if f.i == len(f.pages) {
		return p, io.EOF
	}
	return p, nil
}

func (f *fakePages) SeekToRow(int64) error { return nil }
func (f *fakePages) Close() error          { return nil }

// TestParquetRowsAcrossPages feeds a cursor pages that split list rows at
// arbitrary levels (as data page v1 allows), and empty pages, and reads them
// in batches of every size.
func TestParquetRowsAcrossPages(t *testing.T) {
	schema := parquet.NewSchema("x", parquet.Group{"l": parquet.Optional(parquet.List(parquet.Optional(parquet.Leaf(parquet.DoubleType))))})
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 50 {
		rows := 1 + rng.IntN(60)
		want := &colData{typ: column.Float64, list: true, offs: []int64{0}}
		var levels []parquet.Value
		for r := range rows {
			want.rows++
			switch k := rng.IntN(8); {
			case k == 0: // null list
				want.valid = append(want.valid, false)
				want.offs = append(want.offs, want.offs[r])
				levels = append(levels, parquet.NullValue().Level(0, 0, 0))
			case k == 1: // empty list
				want.valid = append(want.valid, true)
				want.offs = append(want.offs, want.offs[r])
				levels = append(levels, parquet.NullValue().Level(0, 1, 0))
			default:
				n := 1 + rng.IntN(7)
				want.valid = append(want.valid, true)
				want.offs = append(want.offs, want.offs[r]+int64(n))
				for e := range n {
					rep := 1
					if e == 0 {
						rep = 0
					}
					v := float64(r) + float64(e)/8
					want.f = append(want.f, v)
					if rng.IntN(5) == 0 {
						want.elemValid = append(want.elemValid, false)
						levels = append(levels, parquet.NullValue().Level(rep, 2, 0))
					} else {
						want.elemValid = append(want.elemValid, true)
						levels = append(levels, parquet.DoubleValue(v).Level(rep, 3, 0))
					}
				}
			}
		}
		// Split the levels into pages anywhere, with empty pages between.
		var pages []parquet.Page
		for i := 0; i < len(levels); {
			n := min(rng.IntN(9), len(levels)-i)
			cb := parquet.NewBuffer(schema).ColumnBuffers()[0]
			if _, err := cb.WriteValues(levels[i : i+n]); err != nil {
				t.Fatal(err)
			}
			pages = append(pages, cb.Page())
			i += n
		}
		col := &pqCol{field: Field{Name: "l", Type: column.Float64, List: true}, conv: convDouble, maxDef: 3, maxRep: 1, listDef: 1, elemDef: 2}
		cur := &pqCursor{col: col, name: "l"}
		cur.reset(&fakePages{pages: pages})
		got := &colData{}
		maxRows := 1 + rng.IntN(rows)
		for left := rows; left > 0; {
			n := min(maxRows, left)
			if err := cur.fillList(n); err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			got.appendBatch(t, &cur.out, n)
			left -= n
		}
		if err := cur.finish(); err != nil {
			t.Fatalf("trial %d: finish: %v", trial, err)
		}
		compareCol(t, fmt.Sprintf("trial %d", trial), got, want)
	}
}

func TestCountLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		max := byte(rng.IntN(4))
		if rng.IntN(10) == 0 {
			max = byte(rng.IntN(256))
		}
		levels := make([]byte, rng.IntN(40))
		if rng.IntN(3) == 0 { // whole blocks of 64 for the vector loop
			levels = make([]byte, 64+rng.IntN(300))
		}
		for i := range levels {
			levels[i] = byte(rng.IntN(int(max) + 1))
			if rng.IntN(50) == 0 {
				levels[i] = byte(rng.IntN(256))
			}
		}
		if got, want := countLevels(levels, max), countLevelsSlow(levels, max); got != want {
			t.Fatalf("countLevels(%v, %d) = %d, want %d", levels, max, got, want)
		}
	}
}
