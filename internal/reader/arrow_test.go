package reader

import (
	"bytes"
	"encoding/binary"
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

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/evalnll/evalnll/internal/column"
)

// arrowFixture is the content of Arrow IPC fixtures: the schema, the
// record batches and the values they hold.
type arrowFixture struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	names  []string
	want   []*colData
}

func (fx *arrowFixture) release() {
	for _, r := range fx.recs {
		r.Release()
	}
}

// newArrowFixture builds record batches of every type the reader handles,
// with nulls everywhere they can be, sliced so that arrays have offsets.
func newArrowFixture(t testing.TB, mem memory.Allocator, sizes []int) *arrowFixture {
	t.Helper()
	dictStr := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	dictF64 := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Float64}
	fields := []arrow.Field{
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f16", Type: arrow.FixedWidthTypes.Float16, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString},
		{Name: "sv", Type: arrow.BinaryTypes.StringView, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary},
		{Name: "d", Type: dictStr, Nullable: true},
		{Name: "dn", Type: dictF64, Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
		{Name: "ll", Type: arrow.LargeListOf(arrow.PrimitiveTypes.Float64)},
		{Name: "fl", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float64), Nullable: true},
		{Name: "ls8", Type: arrow.ListOf(arrow.PrimitiveTypes.Int8)},
	}
	fx := &arrowFixture{schema: arrow.NewSchema(fields, nil)}
	types := []column.Type{column.Float64, column.Float32, column.Float32, column.Int, column.Int, column.Int, column.Int, column.Int, column.Int, column.Int, column.Uint64, column.Bool, column.String, column.String, column.String, column.String, column.String, column.Float64, column.Float32, column.Float64, column.Float64, column.Int}
	for i, f := range fields {
		fx.names = append(fx.names, f.Name)
		c := &colData{typ: types[i]}
		switch f.Type.ID() {
		case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
			c.list = true
			c.offs = []int64{0}
		}
		fx.want = append(fx.want, c)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	words := []string{"alpha", "", "a string longer than twelve bytes", "b", "ünïcödé"}
	dictF := []float64{0.05, 0.2, 0.5, 0.8, 0.95}
	// One dictionary per field for all record batches, as IPC files need.
	sb := array.NewStringBuilder(mem)
	sb.AppendValues(words, nil)
	dictWords := sb.NewArray()
	sb.Release()
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues(dictF, nil)
	dictFloats := fb.NewArray()
	fb.Release()
	defer dictWords.Release()
	defer dictFloats.Release()
	row := 0
	for _, n := range sizes {
		idxS := array.NewInt32Builder(mem)
		idxF := array.NewInt8Builder(mem)
		// Build n+2 rows and keep [1, n+1): every array has an offset.
		rb := array.NewRecordBuilder(mem, fx.schema)
		for k := range n + 2 {
			keep := k >= 1 && k <= n
			null := func(p float64) bool { return rng.Float64() < p }
			scalar := func(i int, isNull bool, appendValue func(), appendNull func(), record func()) {
				if isNull {
					appendNull()
				} else {
					appendValue()
				}
				if keep {
					c := fx.want[i]
					c.rows++
					c.valid = append(c.valid, !isNull)
					record()
				}
			}
			f := rng.NormFloat64()
			if row%31 == 5 {
				f = math.NaN()
			}
			b0 := rb.Field(0).(*array.Float64Builder)
			scalar(0, null(0.2), func() { b0.Append(f) }, b0.AppendNull, func() { fx.want[0].f = append(fx.want[0].f, f) })
			f32 := float32(rng.NormFloat64())
			b1 := rb.Field(1).(*array.Float32Builder)
			scalar(1, false, func() { b1.Append(f32) }, b1.AppendNull, func() { fx.want[1].f = append(fx.want[1].f, float64(f32)) })
			h := float16.New(float32(rng.NormFloat64()))
			b2 := rb.Field(2).(*array.Float16Builder)
			scalar(2, null(0.2), func() { b2.Append(h) }, b2.AppendNull, func() { fx.want[2].f = append(fx.want[2].f, float64(h.Float32())) })
			ints := []int64{int64(int8(rng.Uint32())), int64(int16(rng.Uint32())), int64(int32(rng.Uint32())), int64(rng.Uint64()), int64(uint8(rng.Uint32())), int64(uint16(rng.Uint32())), int64(rng.Uint32())}
			b3 := rb.Field(3).(*array.Int8Builder)
			scalar(3, false, func() { b3.Append(int8(ints[0])) }, b3.AppendNull, func() { fx.want[3].ints = append(fx.want[3].ints, ints[0]) })
			b4 := rb.Field(4).(*array.Int16Builder)
			scalar(4, false, func() { b4.Append(int16(ints[1])) }, b4.AppendNull, func() { fx.want[4].ints = append(fx.want[4].ints, ints[1]) })
			b5 := rb.Field(5).(*array.Int32Builder)
			scalar(5, null(0.1), func() { b5.Append(int32(ints[2])) }, b5.AppendNull, func() { fx.want[5].ints = append(fx.want[5].ints, ints[2]) })
			b6 := rb.Field(6).(*array.Int64Builder)
			scalar(6, false, func() { b6.Append(ints[3]) }, b6.AppendNull, func() { fx.want[6].ints = append(fx.want[6].ints, ints[3]) })
			b7 := rb.Field(7).(*array.Uint8Builder)
			scalar(7, false, func() { b7.Append(uint8(ints[4])) }, b7.AppendNull, func() { fx.want[7].ints = append(fx.want[7].ints, ints[4]) })
			b8 := rb.Field(8).(*array.Uint16Builder)
			scalar(8, false, func() { b8.Append(uint16(ints[5])) }, b8.AppendNull, func() { fx.want[8].ints = append(fx.want[8].ints, ints[5]) })
			b9 := rb.Field(9).(*array.Uint32Builder)
			scalar(9, false, func() { b9.Append(uint32(ints[6])) }, b9.AppendNull, func() { fx.want[9].ints = append(fx.want[9].ints, ints[6]) })
			u := rng.Uint64()
			b10 := rb.Field(10).(*array.Uint64Builder)
			scalar(10, null(0.1), func() { b10.Append(u) }, b10.AppendNull, func() { fx.want[10].ints = append(fx.want[10].ints, int64(u)) })
			bv := rng.IntN(2) == 0
			b11 := rb.Field(11).(*array.BooleanBuilder)
			scalar(11, null(0.2), func() { b11.Append(bv) }, b11.AppendNull, func() { fx.want[11].bools = append(fx.want[11].bools, bv) })
			w := words[rng.IntN(len(words))]
			isNull := null(0.2)
			b12 := rb.Field(12).(*array.StringBuilder)
			scalar(12, isNull, func() { b12.Append(w) }, b12.AppendNull, func() { fx.want[12].strs = append(fx.want[12].strs, nullStr(w, isNull)) })
			id := fmt.Sprintf("row-%d", row)
			b13 := rb.Field(13).(*array.LargeStringBuilder)
			scalar(13, false, func() { b13.Append(id) }, b13.AppendNull, func() { fx.want[13].strs = append(fx.want[13].strs, id) })
			isNull = null(0.2)
			b14 := rb.Field(14).(*array.StringViewBuilder)
			scalar(14, isNull, func() { b14.Append(w + id) }, b14.AppendNull, func() { fx.want[14].strs = append(fx.want[14].strs, nullStr(w+id, isNull)) })
			b15 := rb.Field(15).(*array.BinaryBuilder)
			scalar(15, false, func() { b15.Append([]byte{0, byte(row), 0xff}) }, b15.AppendNull, func() { fx.want[15].strs = append(fx.want[15].strs, string([]byte{0, byte(row), 0xff})) })
			isNull = null(0.2)
			wi := slices.Index(words, w)
			rb.Field(16).AppendNull()
			scalar(16, isNull, func() { idxS.Append(int32(wi)) }, idxS.AppendNull, func() { fx.want[16].strs = append(fx.want[16].strs, nullStr(w, isNull)) })
			di := rng.IntN(len(dictF))
			rb.Field(17).AppendNull()
			scalar(17, null(0.1), func() { idxF.Append(int8(di)) }, idxF.AppendNull, func() { fx.want[17].f = append(fx.want[17].f, dictF[di]) })

			// Lists.
			list := func(i int, isNull bool, n int, appendList func(bool), appendElem func(e int) bool) {
				if isNull {
					appendList(false)
				} else {
					appendList(true)
				}
				c := fx.want[i]
				if keep {
					c.rows++
					c.valid = append(c.valid, !isNull)
				}
				if isNull {
					if keep {
						c.offs = append(c.offs, c.offs[len(c.offs)-1])
					}
					return
				}
				for e := range n {
					ok := appendElem(e)
					if keep {
						c.elemValid = append(c.elemValid, ok)
					}
				}
				if keep {
					c.offs = append(c.offs, c.offs[len(c.offs)-1]+int64(n))
				}
			}
			lb := rb.Field(18).(*array.ListBuilder)
			lv := lb.ValueBuilder().(*array.Float32Builder)
			list(18, null(0.15), rng.IntN(5), func(ok bool) {
				if ok {
					lb.Append(true)
				} else {
					lb.AppendNull()
				}
			}, func(e int) bool {
				v := float32(row) + float32(e)/4
				if null(0.1) {
					lv.AppendNull()
					if keep {
						fx.want[18].f = append(fx.want[18].f, 0)
					}
					return false
				}
				lv.Append(v)
				if keep {
					fx.want[18].f = append(fx.want[18].f, float64(v))
				}
				return true
			})
			llb := rb.Field(19).(*array.LargeListBuilder)
			llv := llb.ValueBuilder().(*array.Float64Builder)
			list(19, false, rng.IntN(30), func(bool) { llb.Append(true) }, func(e int) bool {
				v := rng.NormFloat64()
				llv.Append(v)
				if keep {
					fx.want[19].f = append(fx.want[19].f, v)
				}
				return true
			})
			fb := rb.Field(20).(*array.FixedSizeListBuilder)
			fv := fb.ValueBuilder().(*array.Float64Builder)
			list(20, null(0.15), 3, func(ok bool) {
				if ok {
					fb.Append(true)
				} else {
					fb.AppendNull()
				}
			}, func(e int) bool {
				v := float64(row*3 + e)
				fv.Append(v)
				if keep {
					fx.want[20].f = append(fx.want[20].f, v)
				}
				return true
			})
			l8 := rb.Field(21).(*array.ListBuilder)
			l8v := l8.ValueBuilder().(*array.Int8Builder)
			list(21, false, rng.IntN(3), func(bool) { l8.Append(true) }, func(e int) bool {
				v := int8(e - 1)
				l8v.Append(v)
				if keep {
					fx.want[21].ints = append(fx.want[21].ints, int64(v))
				}
				return true
			})
			if keep {
				row++
			}
		}
		built := rb.NewRecordBatch()
		rb.Release()
		cols := slices.Clone(built.Columns())
		is, ifl := idxS.NewArray(), idxF.NewArray()
		cols[16] = array.NewDictionaryArray(dictStr, is, dictWords)
		cols[17] = array.NewDictionaryArray(dictF64, ifl, dictFloats)
		rec := array.NewRecordBatch(fx.schema, cols, int64(n+2))
		cols[16].Release()
		cols[17].Release()
		is.Release()
		ifl.Release()
		idxS.Release()
		idxF.Release()
		built.Release()
		fx.recs = append(fx.recs, rec.NewSlice(1, int64(n+1)))
		rec.Release()
	}
	return fx
}

func writeArrowFile(t testing.TB, mem memory.Allocator, path string, fx *arrowFixture, opts ...ipc.Option) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(out, append([]ipc.Option{ipc.WithSchema(fx.schema), ipc.WithAllocator(mem)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range fx.recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeArrowStream(t testing.TB, mem memory.Allocator, out io.Writer, fx *arrowFixture, opts ...ipc.Option) {
	t.Helper()
	w := ipc.NewWriter(out, append([]ipc.Option{ipc.WithSchema(fx.schema), ipc.WithAllocator(mem)}, opts...)...)
	for _, r := range fx.recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestArrowRoundTrip writes IPC files and streams with arrow-go, plain and
// compressed, and reads every column back in batches of several sizes.
func TestArrowRoundTrip(t *testing.T) {
	dir := t.TempDir()
	wmem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer wmem.AssertSize(t, 0)
	fx := newArrowFixture(t, wmem, []int{1, 57, 0, 300, 13})
	defer fx.release()
	for _, codec := range []struct {
		name string
		opts []ipc.Option
	}{{"none", nil}, {"lz4", []ipc.Option{ipc.WithLZ4()}}, {"zstd", []ipc.Option{ipc.WithZstd()}}} {
		for _, stream := range []bool{false, true} {
			name := codec.name + "-file"
			if stream {
				name = codec.name + "-stream"
			}
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, name+".arrow")
				if stream {
					var buf bytes.Buffer
					writeArrowStream(t, wmem, &buf, fx, codec.opts...)
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				} else {
					writeArrowFile(t, wmem, path, fx, codec.opts...)
				}
				for _, maxRows := range []int{1, 10, 1000} {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					f, err := open(path, DefaultOptions(), mem)
					if err != nil {
						t.Fatal(err)
					}
					if stream != (f.Format() == FormatArrowStream) {
						t.Fatalf("format %v", f.Format())
					}
					for i, fl := range f.Fields() {
						if fl.Name != fx.names[i] || fl.Type != fx.want[i].typ || fl.List != fx.want[i].list {
							t.Fatalf("field %d: %+v", i, fl)
						}
					}
					if fl := fieldByName(f, "fl"); fl.FixedSize != 3 {
						t.Fatalf("fl: %+v", fl)
					}
					if !stream {
						if f.Rows() != 371 || len(f.Units()) != 5 || f.Units()[3].Rows != 300 {
							t.Fatalf("rows %d, units %v", f.Rows(), f.Units())
						}
					}
					got, _, err := scanAll(t, f, -1, fx.names, maxRows)
					if err != nil {
						t.Fatal(err)
					}
					for i, n := range fx.names {
						compareCol(t, fmt.Sprintf("%s (maxRows %d)", n, maxRows), got[i], fx.want[i])
					}
					if err := f.Close(); err != nil {
						t.Fatal(err)
					}
					mem.AssertSize(t, 0)
				}
			})
		}
	}
}

// TestArrowZeroCopy checks that float and int64 columns point into the
// record batch, and that a string dictionary comes as Dict+Codes.
func TestArrowZeroCopy(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fx := newArrowFixture(t, mem, []int{100})
	defer fx.release()
	path := filepath.Join(t.TempDir(), "z.arrow")
	writeArrowFile(t, mem, path, fx)
	f, err := open(path, DefaultOptions(), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Scan(0, []string{"f64", "f32", "i64", "d", "l"}, 40)
	defer s.Close()
	if !s.Next() {
		t.Fatal(s.Err())
	}
	sc := s.(*arrowScanner)
	b := s.Batch()
	if &b.Cols[0].F64[0] != &sc.rec.Column(0).(*array.Float64).Float64Values()[0] {
		t.Errorf("f64 copied")
	}
	if &b.Cols[1].F32[0] != &sc.rec.Column(1).(*array.Float32).Float32Values()[0] {
		t.Errorf("f32 copied")
	}
	if &b.Cols[2].Ints[0] != &sc.rec.Column(6).(*array.Int64).Int64Values()[0] {
		t.Errorf("i64 copied")
	}
	if d := b.Cols[3]; d.Dict == nil || d.Strs != nil || len(d.Codes) != 40 {
		t.Errorf("dictionary: %+v", d)
	}
	if !s.Next() {
		t.Fatal(s.Err())
	}
	if &s.Batch().Cols[0].F64[0] != &sc.rec.Column(0).(*array.Float64).Float64Values()[40] {
		t.Errorf("second slice copied")
	}
}

// TestArrowConcurrentUnits reads the record batches of one file at once.
func TestArrowConcurrentUnits(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fx := newArrowFixture(t, mem, []int{10, 20, 30, 40, 50, 60, 70, 80})
	defer fx.release()
	path := filepath.Join(t.TempDir(), "c.arrow")
	writeArrowFile(t, mem, path, fx, ipc.WithZstd())
	f, err := open(path, DefaultOptions(), mem)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		parts := make([][]*colData, len(f.Units()))
		errs := make([]error, len(parts))
		var wg sync.WaitGroup
		for i, u := range f.Units() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				parts[i], _, errs[i] = scanAll(t, f, u.Index, fx.names, 16)
			}()
		}
		wg.Wait()
		for k, n := range fx.names {
			var all *colData
			for i, p := range parts {
				if errs[i] != nil {
					t.Fatalf("round %d unit %d: %v", round, i, errs[i])
				}
				all = concat(all, p[k])
			}
			compareCol(t, n, all, fx.want[k])
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestArrowStdin reads a stream from standard input, in order.
func TestArrowStdin(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fx := newArrowFixture(t, mem, []int{5, 500, 7})
	defer fx.release()
	var buf bytes.Buffer
	writeArrowStream(t, mem, &buf, fx, ipc.WithLZ4())
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		pw.Write(buf.Bytes())
		pw.Close()
	}()
	stdin := os.Stdin
	os.Stdin = pr
	defer func() { os.Stdin = stdin; pr.Close() }()
	f, err := open("-", DefaultOptions(), mem)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != "-" || f.Format() != FormatArrowStream || f.Units() != nil || f.Rows() != -1 {
		t.Fatalf("%s %v %v %d", f.Path(), f.Format(), f.Units(), f.Rows())
	}
	if s := f.Scan(0, []string{"f64"}, 10); s.Next() || s.Err() == nil {
		t.Errorf("Scan(0) of a stream: %v", s.Err())
	}
	got, _, err := scanAll(t, f, -1, fx.names, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range fx.names {
		compareCol(t, n, got[i], fx.want[i])
	}
	if _, _, err := scanAll(t, f, -1, fx.names, 64); err == nil {
		t.Errorf("a stream read twice")
	}
	f.Close()
}

// TestArrowErrors checks truncated, corrupt and oversized inputs.
func TestArrowErrors(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	fx := newArrowFixture(t, mem, []int{1000, 10})
	defer fx.release()
	path := filepath.Join(dir, "ok.arrow")
	writeArrowFile(t, mem, path, fx)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	writeArrowStream(t, mem, &stream, fx)
	var lz4 bytes.Buffer
	writeArrowStream(t, mem, &lz4, fx, ipc.WithLZ4())

	// A compressed buffer claiming a petabyte once decompressed: its
	// uncompressed length (8000 bytes of f64) is the first 8 bytes of it.
	huge := lz4.Bytes()
	pat := binary.LittleEndian.AppendUint64(nil, 8000)
	i := bytes.Index(huge, pat)
	if i < 0 {
		t.Fatal("no compressed buffer of 8000 bytes")
	}
	huge = slices.Clone(huge)
	binary.LittleEndian.PutUint64(huge[i:], 1<<50)

	cases := map[string][]byte{
		"empty.arrow":     nil,
		"cut.arrow":       data[:len(data)/2],
		"magic.arrow":     data[:8],
		"cutstream.arrow": stream.Bytes()[:stream.Len()/2],
		"schemaonly.arrows": func() []byte {
			// The schema message alone, cut in its middle.
			return stream.Bytes()[:40]
		}(),
		"huge.arrows": huge,
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(p, DefaultOptions())
		if err == nil {
			_, _, err = scanAll(t, f, -1, supported(f), 100)
			f.Close()
		}
		if err == nil || !isFormat(err) {
			t.Errorf("%s: want an ErrFormat error, got %v", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
		checkMessage(t, err, p)
		if name == "huge.arrows" && !strings.Contains(err.Error(), "record batch 0") {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A record batch body over MaxBatchBytes.
	for _, p := range []string{path, filepath.Join(dir, "stream.arrows")} {
		os.WriteFile(filepath.Join(dir, "stream.arrows"), stream.Bytes(), 0o644)
		f, err := Open(p, Options{MaxBatchBytes: 4096})
		if err == nil {
			_, _, err = scanAll(t, f, -1, []string{"f64"}, 100)
			f.Close()
		}
		t.Logf("%v", err)
		if err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Errorf("%s: body over MaxBatchBytes: %v", p, err)
		}
	}

	f := openT(t, path)
	for _, cols := range [][]string{{"nosuch"}, {"f64", ""}} {
		_, _, err := scanAll(t, f, -1, cols, 10)
		if err == nil || isFormat(err) {
			t.Errorf("%v: %v", cols, err)
		} else {
			checkMessage(t, err, path)
		}
	}
}

// TestArrowUnsupported checks that a struct column is described, and that
// scanning it is an error.
func TestArrowUnsupported(t *testing.T) {
	f := openT(t, "../../testdata/interop/arrow-testing/data/arrow-ipc-stream/integration/1.0.0-littleendian/generated_nested.arrow_file")
	fl := fieldByName(f, "struct_nullable")
	if fl.Type != column.Unsupported || !strings.HasPrefix(fl.Desc, "struct<") {
		t.Fatalf("%+v", fl)
	}
	_, _, err := scanAll(t, f, 0, []string{"list_nullable", "struct_nullable"}, 10)
	if err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("scan of a struct: %v", err)
	}
	cols, _, err := scanAll(t, f, -1, []string{"list_nullable", "fixedsizelist_nullable"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if cols[0].rows != 17 {
		t.Errorf("%d rows", cols[0].rows)
	}
}

// TestStdinRedirected reads standard input redirected from a regular file,
// which may be in any format, and leaves it open.
func TestStdinRedirected(t *testing.T) {
	for _, p := range []string{
		filepath.Join(goldenDir, "binary_prob_basic", "preds.parquet"),
		filepath.Join(goldenDir, "ipc_stream_polars", "preds.arrows"),
		filepath.Join(goldenDir, "ipc_file_arrowjs", "preds.arrow"),
	} {
		in, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		stdin := os.Stdin
		os.Stdin = in
		f, err := Open("-", DefaultOptions())
		if err != nil {
			os.Stdin = stdin
			t.Fatal(err)
		}
		cols, _, err := scanAll(t, f, -1, []string{"p", "y"}, 5)
		f.Close()
		os.Stdin = stdin
		if err != nil {
			t.Fatal(err)
		}
		if cols[0].rows == 0 {
			t.Errorf("%s: no rows", p)
		}
		if _, err := in.Stat(); err != nil {
			t.Errorf("%s: standard input closed: %v", p, err)
		}
		in.Close()
	}
}

// TestArrowMessageCustomMetadataLength: a Message whose custom metadata
// vector claims more entries than its metadata holds is refused before
// arrow-go sizes slices by that length (a 358-byte stream found by
// FuzzArrowIPC made it allocate 16 GB; the seed is kept in
// testdata/fuzz/FuzzArrowIPC).
func TestArrowMessageCustomMetadataLength(t *testing.T) {
	msg := func(n uint32) []byte {
		b := make([]byte, 32)
		binary.LittleEndian.PutUint32(b[0:], 20) // root: the table at 20
		// vtable at 4: its size, the table's size, fields 0..4 (only 4 set)
		for i, v := range []uint16{14, 8, 0, 0, 0, 0, 4} {
			binary.LittleEndian.PutUint16(b[4+2*i:], v)
		}
		binary.LittleEndian.PutUint32(b[20:], 16) // table at 20 - 16 = vtable at 4
		binary.LittleEndian.PutUint32(b[24:], 4)  // field 4: the vector at 24 + 4
		binary.LittleEndian.PutUint32(b[28:], n)  // the vector's length
		return b
	}
	var budget lengthBudget
	if _, _, err := checkMessageMeta(msg(0), &budget, 1<<20); err != nil {
		t.Fatalf("empty custom metadata refused: %v", err)
	}
	for _, n := range []uint32{1, 1 << 20, 1<<31 - 1} {
		_, _, err := checkMessageMeta(msg(n), &budget, 1<<20)
		if err == nil || !strings.Contains(err.Error(), "custom metadata") {
			t.Errorf("custom metadata vector of %d entries in 32 bytes: err %v", n, err)
		}
	}
}
