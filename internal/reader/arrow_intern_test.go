package reader

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
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
	r := rand.New(rand.NewPCG(7, 8))
	const rows = 4000
	vals := make([]string, rows)
	valid := make([]bool, rows)
	for i := range vals {
		vals[i], valid[i] = pool[r.IntN(len(pool))], r.IntN(20) != 0
		if !valid[i] {
			vals[i] = ""
		}
	}
	value := func(i int) (string, bool) { return vals[i], valid[i] }
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

// BenchmarkEncodeStrings: dictionary-encoding a LargeString column of the
// peer benchmark's slice values (8 values, random rows), per row.
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
	var s strIntern
	b.ResetTimer()
	for range b.N {
		s.reset()
		if !encodeStrings(&s, codes, offs, data, 0) {
			b.Fatal("not encoded")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}
