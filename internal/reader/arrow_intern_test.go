package reader

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/evalnll/evalnll/internal/column"
)

// internFixture writes an Arrow IPC file (or stream) whose columns hold the
// same string values as String, LargeString, Binary, LargeBinary and a
// dictionary of strings (one dictionary for the file, pool: with no pool,
// no such column), with nulls, in record batches of the given sizes;
// value(r) is row r's value, and false for a null.
func internFixture(t *testing.T, path string, stream bool, sizes []int, pool []string, value func(r int) (string, bool)) {
	t.Helper()
	mem := memory.NewGoAllocator()
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	fields := []arrow.Field{
		{Name: "u", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "l", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "lb", Type: arrow.BinaryTypes.LargeBinary, Nullable: true},
	}
	var dict arrow.Array
	code := map[string]int16{}
	if pool != nil {
		fields = append(fields, arrow.Field{Name: "d", Type: dictType, Nullable: true})
		db := array.NewStringBuilder(mem)
		for i, v := range pool {
			db.Append(v)
			code[v] = int16(i)
		}
		dict = db.NewArray()
		defer dict.Release()
	}
	schema := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	} else {
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	row := 0
	for _, n := range sizes {
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields[:4], nil))
		ib := array.NewInt16Builder(mem)
		for range n {
			v, ok := value(row)
			row++
			if !ok {
				for _, f := range b.Fields() {
					f.AppendNull()
				}
				ib.AppendNull()
				continue
			}
			b.Field(0).(*array.StringBuilder).Append(v)
			b.Field(1).(*array.LargeStringBuilder).Append(v)
			b.Field(2).(*array.BinaryBuilder).Append([]byte(v))
			b.Field(3).(*array.BinaryBuilder).Append([]byte(v))
			ib.Append(code[v])
		}
		plain := b.NewRecordBatch()
		cols := plain.Columns()
		if pool != nil {
			idx := ib.NewArray()
			d := array.NewDictionaryArray(dictType, idx, dict)
			idx.Release()
			defer d.Release()
			cols = append(cols, d)
		}
		rec := array.NewRecordBatch(schema, cols, int64(n))
		plain.Release()
		ib.Release()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkInterned reads every column of the fixture at path with several
// batch sizes and compares each row with value; with encoded, the plain
// string columns must come dictionary-encoded (Dict and Codes, a dictionary
// of distinct values that only grows within a scan).
func checkInterned(t *testing.T, path string, rows int, value func(r int) (string, bool), encoded bool) {
	t.Helper()
	names := []string{"u", "l", "b", "lb"}
	if f, err := Open(path, DefaultOptions()); err == nil {
		if len(f.Fields()) == 5 {
			names = append(names, "d")
		}
		f.Close()
	}
	for _, maxRows := range []int{1, 7, 1000, 1 << 16} {
		f, err := Open(path, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		s := f.Scan(-1, names, maxRows)
		got := make([]*colData, len(names))
		for i := range got {
			got[i] = &colData{}
		}
		prevDict := make([][]string, len(names))
		seen := make([]map[string]bool, len(names))
		for s.Next() {
			b := s.Batch()
			for k, c := range b.Cols {
				if c.Type != column.String {
					t.Fatalf("%s: type %v", names[k], c.Type)
				}
				if k < 4 && encoded && c.Codes == nil {
					t.Fatalf("%s (maxRows %d): encoded %v, want %v", names[k], maxRows, c.Codes != nil, encoded)
				}
				if k < 4 && c.Codes != nil {
					// The entries added since the last batch are new;
					// the others are as they were (all checked in large
					// batches, the first and last in small ones).
					p := prevDict[k]
					if len(c.Dict) < len(p) {
						t.Fatalf("%s: dictionary shrank from %d to %d", names[k], len(p), len(c.Dict))
					}
					if seen[k] == nil {
						seen[k] = map[string]bool{}
					}
					for _, v := range c.Dict[len(p):] {
						if seen[k][v] {
							t.Fatalf("%s: %q twice in the dictionary", names[k], v)
						}
						seen[k][v] = true
						p = append(p, v)
					}
					for j := range p {
						if j > 0 && j < len(p)-1 && maxRows < 1000 {
							continue
						}
						if p[j] != c.Dict[j] {
							t.Fatalf("%s: dictionary entry %d changed from %q to %q", names[k], j, p[j], c.Dict[j])
						}
					}
					prevDict[k] = p
				}
				got[k].appendBatch(t, c, b.Rows)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		f.Close()
		for k, g := range got {
			if g.rows != rows {
				t.Fatalf("%s: %d rows, want %d", names[k], g.rows, rows)
			}
			for r := range rows {
				v, ok := value(r)
				if g.valid[r] != ok || ok && g.strs[r] != v {
					t.Fatalf("%s (maxRows %d) row %d: %q valid %v, want %q valid %v", names[k], maxRows, r, g.strs[r], g.valid[r], v, ok)
				}
			}
		}
	}
}

// TestArrowStringsEncoded: Arrow String, LargeString, Binary and
// LargeBinary columns are read dictionary-encoded, with every value as
// written: nulls, empty strings, bytes that are not UTF-8, values of 7, 8
// and 9 bytes, long values that share their length, first and last 8
// bytes, across record batches (an empty one too) and batches of any size,
// in a file and a stream; a dictionary-encoded column is read as before.
func TestArrowStringsEncoded(t *testing.T) {
	pool := []string{"", "web", "mobile", "seven77", "exactly8", "nine99999", "x\xff\xfe\x00y",
		"prefix!!AAAA!!suffix", "prefix!!BBBB!!suffix", "\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
	const rows = 4000
	value := randomStrings(pool, rows, 7, 8)
	dir := t.TempDir()
	for _, stream := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("s%v.arrow", stream))
		internFixture(t, path, stream, []int{1000, 0, 1, 2999}, pool, value)
		checkInterned(t, path, rows, value, true)
	}
}

// TestArrowStringsManyDistinct: a column of more distinct values than
// are worth encoding (each value once) is read as plain strings, every
// value as written, and so is every later record batch of the file; a
// column of 12,000 distinct values, each twice, is encoded.
func TestArrowStringsManyDistinct(t *testing.T) {
	dir := t.TempDir()
	unique := func(i int) (string, bool) { return "id-" + strconv.Itoa(i*7919), i%97 != 5 }
	path := filepath.Join(dir, "unique.arrow")
	const n = internFree + 5000
	internFixture(t, path, false, []int{n, 3000, 10}, nil, unique)
	f, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for u := range f.Units() {
		s := f.Scan(u, []string{"l"}, 1<<16)
		for s.Next() {
			if c := s.Batch().Cols[0]; c.Codes != nil || c.Strs == nil {
				t.Fatalf("record batch %d: unique values encoded (dictionary of %d)", u, len(c.Dict))
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	f.Close()
	checkInterned(t, path, n+3010, unique, false) // the first rows encoded, then plain

	perm := rand.New(rand.NewPCG(1, 2)).Perm(24000)
	twice := func(i int) (string, bool) { return "slice " + strconv.Itoa(perm[i]%12000), true }
	path = filepath.Join(dir, "twice.arrow")
	internFixture(t, path, false, []int{24000}, nil, twice)
	checkInterned(t, path, 24000, twice, true)
}

// internModes runs f with each way encodeStrings can take rows: the
// vector loop (where the build and processor have it), the scalar fast
// loop, and encodeScalar alone (scalar: the caller sets fastOff).
func internModes(t *testing.T, f func(t *testing.T, mode string), modes ...string) {
	if modes == nil {
		modes = []string{"vector", "fast", "scalar"}
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			if mode == "vector" && !useVecIntern {
				t.Skip("no vector loop in this build or on this processor")
			}
			defer func(v bool) { useVecIntern = v }(useVecIntern)
			useVecIntern = mode == "vector"
			f(t, mode)
		})
	}
}

// refCodes is the dictionary encoding encodeStrings must give: codes in
// the order values first appear.
func refCodes(vals []string) ([]string, []int32) {
	var dict []string
	idx := map[string]int32{}
	codes := make([]int32, len(vals))
	for i, v := range vals {
		c, ok := idx[v]
		if !ok {
			c = int32(len(dict))
			idx[v] = c
			dict = append(dict, v)
		}
		codes[i] = c
	}
	return dict, codes
}

// encodeAll encodes vals, laid out as an Arrow array of offsets of type T
// starting pre rows into the array (lo), in calls of at most chunk rows
// sharing one strIntern (as the record batches of a scan do); data ends
// where the last value does, so that the rows near its end cannot be read
// 8 or 64 bytes at a time. It reports false when encoding was given up.
func encodeAll[T int32 | int64](s *strIntern, vals []string, pre, chunk int, codes []int32) bool {
	offs := make([]T, 1, pre+len(vals)+1)
	var data []byte
	for i := range pre {
		data = append(data, "pre"[:i%4]...)
		offs = append(offs, T(len(data)))
	}
	for _, v := range vals {
		data = append(data, v...)
		offs = append(offs, T(len(data)))
	}
	data = data[:len(data):len(data)]
	for lo := 0; lo < len(vals); lo += chunk {
		n := min(chunk, len(vals)-lo)
		if !encodeStrings(s, codes[lo:lo+n], offs, data, pre+lo) {
			return false
		}
	}
	return true
}

// TestEncodeStringsPaths: every way of encoding (the vector loop, the
// scalar fast loop, encodeScalar alone), with 32- and 64-bit offsets, in
// calls of any size and any start, gives the codes of the values' first
// appearances and their dictionary: empty values, values that differ
// only in trailing zero bytes, values of 7, 8 and 9 bytes, long values
// sharing a prefix, bytes that are not UTF-8, more short values than the
// short set holds, in random order and in runs. The fast loops take most
// rows of a column of a few short values.
func TestEncodeStringsPaths(t *testing.T) {
	few := []string{"web", "mobile", "email", "search", "ads", "social", "news", "video"}
	tricky := []string{"", "\x00", "\x00\x00", "a", "a\x00", "exactly8", "exactly9!", "seven77",
		"x\xff\xfe\x00y", "\xff\xff\xff\xff\xff\xff\xff\xff", "prefix!!AAAA", "prefix!!BBBB", "prefix!!"}
	var many []string // more short values than the set holds
	for i := range 40 {
		many = append(many, "v"+strconv.Itoa(i))
	}
	pools := map[string][]string{"few": few, "tricky": tricky, "many": many}
	r := rand.New(rand.NewPCG(11, 12))
	internModes(t, func(t *testing.T, mode string) {
		for name, pool := range pools {
			for _, runs := range []bool{false, true} {
				vals := make([]string, 5000)
				for i := range vals {
					if runs && i > 0 && r.IntN(8) != 0 {
						vals[i] = vals[i-1]
					} else {
						vals[i] = pool[r.IntN(len(pool))]
					}
				}
				wantDict, wantCodes := refCodes(vals)
				for _, chunk := range []int{1, 7, 64, 1000, 5000} {
					for _, wide := range []bool{false, true} {
						var s strIntern
						s.fastOff = mode == "scalar"
						codes := make([]int32, len(vals))
						pre := chunk % 5
						var ok bool
						if wide {
							ok = encodeAll[int64](&s, vals, pre, chunk, codes)
						} else {
							ok = encodeAll[int32](&s, vals, pre, chunk, codes)
						}
						where := fmt.Sprintf("%s runs %v chunk %d wide %v", name, runs, chunk, wide)
						if !ok {
							t.Fatalf("%s: not encoded", where)
						}
						if !slices.Equal(s.dict, wantDict) {
							t.Fatalf("%s: dictionary %q, want %q", where, s.dict, wantDict)
						}
						for i := range codes {
							if codes[i] != wantCodes[i] {
								t.Fatalf("%s: row %d (%q) code %d, want %d", where, i, vals[i], codes[i], wantCodes[i])
							}
						}
						if s.rows != int64(len(vals)) {
							t.Fatalf("%s: %d rows counted, want %d", where, s.rows, len(vals))
						}
						// The fast loops took most rows of a few short values
						// (all but the first rows and those near the end of
						// each call's data), and none with encodeScalar alone.
						if mode == "scalar" && s.fastRows != 0 {
							t.Fatalf("%s: %d rows taken by the fast loops", where, s.fastRows)
						}
						if mode != "scalar" && name == "few" && chunk >= 1000 && s.fastRows < int64(len(vals))*9/10 {
							t.Fatalf("%s: %d of %d rows taken by the fast loops", where, s.fastRows, len(vals))
						}
					}
				}
			}
		}
	})
}

// TestEncodeStringsGivesUp: a column of distinct values stops being
// encoded, the same way whichever loop takes its rows.
func TestEncodeStringsGivesUp(t *testing.T) {
	vals := make([]string, internFree+10)
	for i := range vals {
		vals[i] = strconv.Itoa(i * 7)
	}
	internModes(t, func(t *testing.T, mode string) {
		var s strIntern
		s.fastOff = mode == "scalar"
		codes := make([]int32, len(vals))
		if encodeAll[int64](&s, vals, 0, 4096, codes) {
			t.Fatal("distinct values encoded")
		}
		if !s.off || len(s.dict) != internFree {
			t.Fatalf("off %v with %d values, want true with %d", s.off, len(s.dict), internFree)
		}
	})
}

// TestShortSetSeparates: the short set's table holds each of its values in
// a slot of its own, up to shortMax values, with their lengths and codes.
func TestShortSetSeparates(t *testing.T) {
	var s strIntern
	for i := range shortMax + 3 {
		v := fmt.Sprintf("%c%07d", 'a'+i, i*1000003)[:1+i%8] // distinct by the first byte
		var w uint64
		for k := len(v) - 1; k >= 0; k-- {
			w = w<<8 | uint64(v[k])
		}
		s.addShort(w, len(v), int32(i))
		if want := min(i+1, shortMax); s.nShort != want {
			t.Fatalf("%d values added: %d in the set, want %d", i+1, s.nShort, want)
		}
		for e := range s.nShort {
			k := shortSlot(shortKey(s.sw[e], s.sn[e]), s.shortMul)
			if s.tw[k] != s.sw[e] || s.tnc[k] != uint64(s.sn[e])<<32|uint64(s.sc[e]) {
				t.Fatalf("value %d: slot %d holds %#x %#x", e, k, s.tw[k], s.tnc[k])
			}
		}
	}
	empty := 0
	for k := range s.tw {
		if s.tnc[k]>>32 == 15 {
			empty++
		}
	}
	if empty != 16-shortMax {
		t.Fatalf("%d empty slots, want %d", empty, 16-shortMax)
	}
}

// TestArrowStringsEncodedShort: a file whose String, LargeString, Binary
// and LargeBinary columns hold a few short values and nulls (the case the
// fast loops take) reads as written, with the vector loop and the scalar
// one.
func TestArrowStringsEncodedShort(t *testing.T) {
	pool := []string{"", "web", "mobile", "exactly8", "\x00", "\x00\x00", "a", "a\x00", "\xff\xfe"}
	const rows = 6000
	value := randomStrings(pool, rows, 9, 10)
	path := filepath.Join(t.TempDir(), "short.arrow")
	internFixture(t, path, false, []int{3000, 0, 5, 2995}, pool, value)
	internModes(t, func(t *testing.T, mode string) {
		checkInterned(t, path, rows, value, true)
	}, "vector", "fast")
}

// BenchmarkEncodeStrings: dictionary-encoding a LargeString column of the
// peer benchmark's slice values (8 values, random rows), per row: the
// vector loop (where the build and processor have it), the scalar fast
// loop, and encodeScalar alone.
func BenchmarkEncodeStrings(b *testing.B) {
	pool := []string{"web", "mobile", "email", "search", "ads", "social", "news", "video"}
	r := rand.New(rand.NewPCG(3, 4))
	const n = 1 << 16
	offs := make([]int64, n+1)
	var data []byte
	for i := range n {
		data = append(data, pool[r.IntN(len(pool))]...)
		offs[i+1] = int64(len(data))
	}
	codes := make([]int32, n)
	for _, mode := range []string{"vector", "fast", "scalar"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "vector" && !useVecIntern {
				b.Skip("no vector loop")
			}
			defer func(v bool) { useVecIntern = v }(useVecIntern)
			useVecIntern = mode == "vector"
			var s strIntern
			b.ResetTimer()
			for range b.N {
				s.reset()
				s.fastOff = mode == "scalar"
				if !encodeStrings(&s, codes, offs, data, 0) {
					b.Fatal("not encoded")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
		})
	}
}

// FuzzEncodeStrings: any values, in calls of any size, encode to the codes
// of their first appearances with every loop. The input is read as values:
// a byte b, then (b%16 < 11) a new value of b%16 bytes, or a repeat of an
// earlier value; the first byte sets the size of the calls.
func FuzzEncodeStrings(f *testing.F) {
	f.Add([]byte("\x07\x03web\x06mobile\x20\x21\x05email\x08exactly8\x09nine99999\x00\x40\x41"))
	f.Add(bytes.Repeat([]byte("\x03abc\x13\x02\x00\x00\x01\x00"), 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		chunk := 1 + int(in[0])%97
		var vals []string
		for p := 1; p < len(in); {
			b := in[p]
			p++
			if n := int(b % 16); n < 11 {
				n = min(n, len(in)-p)
				vals = append(vals, string(in[p:p+n]))
				p += n
			} else if len(vals) > 0 {
				vals = append(vals, vals[int(b/16)%len(vals)])
			}
		}
		wantDict, wantCodes := refCodes(vals)
		internModes(t, func(t *testing.T, mode string) {
			for _, wide := range []bool{false, true} {
				var s strIntern
				s.fastOff = mode == "scalar"
				codes := make([]int32, len(vals))
				var ok bool
				if wide {
					ok = encodeAll[int64](&s, vals, chunk%3, chunk, codes)
				} else {
					ok = encodeAll[int32](&s, vals, chunk%3, chunk, codes)
				}
				if !ok {
					t.Fatal("not encoded")
				}
				if !slices.Equal(s.dict, wantDict) || !slices.Equal(codes, wantCodes) {
					t.Fatalf("wide %v: dictionary %q codes %v, want %q %v", wide, s.dict, codes, wantDict, wantCodes)
				}
			}
		})
	})
}

// randomStrings draws rows values from pool, one in 20 of them null (""),
// with the PCG seeds s1, s2; it returns them as a fixture's value function.
func randomStrings(pool []string, rows int, s1, s2 uint64) func(int) (string, bool) {
	r := rand.New(rand.NewPCG(s1, s2))
	vals := make([]string, rows)
	valid := make([]bool, rows)
	for i := range vals {
		vals[i], valid[i] = pool[r.IntN(len(pool))], r.IntN(20) != 0
		if !valid[i] {
			vals[i] = ""
		}
	}
	return func(i int) (string, bool) { return vals[i], valid[i] }
}
