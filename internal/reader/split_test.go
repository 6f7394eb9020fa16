package reader

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/reader/pqwrite"
)

// readParts reads unit u of f as Split cuts it into at most n parts, each
// with ScanPart, into one set of columns, checking that the parts hold the
// unit's rows in order.
func readParts(t testing.TB, f File, u int, cols []string, n, maxRows int) ([]*colData, []Part, error) {
	t.Helper()
	sp := f.(Splitter)
	parts, err := sp.Split(u, cols, n)
	if err != nil {
		return nil, nil, err
	}
	var rows int64 = -1
	for _, un := range f.Units() {
		if un.Index == u {
			rows = un.Rows
		}
	}
	if len(parts) == 0 || len(parts) > max(n, 1) {
		t.Fatalf("unit %d: %d parts for at most %d", u, len(parts), n)
	}
	var next int64
	for k, p := range parts {
		if p.Unit != u || p.First != next || p.Rows <= 0 && rows > 0 || p.last != (k == len(parts)-1) {
			t.Fatalf("unit %d of %d rows: parts %+v", u, rows, parts)
		}
		next += p.Rows
	}
	if next != rows {
		t.Fatalf("unit %d: parts hold %d rows, the unit %d", u, next, rows)
	}
	out := make([]*colData, len(cols))
	for i := range out {
		out[i] = &colData{}
	}
	for _, p := range parts {
		s := sp.ScanPart(p, cols, maxRows)
		got := 0
		for s.Next() {
			b := s.Batch()
			if b.Rows <= 0 || b.Rows > maxRows {
				t.Fatalf("batch of %d rows, at most %d", b.Rows, maxRows)
			}
			for i, c := range b.Cols {
				out[i].appendBatch(t, c, b.Rows)
			}
			got += b.Rows
		}
		err := s.Err()
		s.Close()
		if err != nil {
			return nil, parts, err
		}
		if int64(got) != p.Rows {
			t.Fatalf("part %+v yielded %d rows", p, got)
		}
	}
	return out, parts, nil
}

// wholeReads keeps what units read whole, for checkSplitParts.
var wholeReads = map[wholeKey]wholeRead{}

type wholeKey struct {
	f    File
	u    int
	cols string
}

type wholeRead struct {
	cols []*colData
	err  error
}

// checkSplit reads unit u of f whole and in parts: when the whole unit
// reads, the parts must read and hold the same values; when it fails, so
// must one of the parts (or Split). It returns the number of parts.
func checkSplit(t *testing.T, f File, u int, cols []string, n, maxRows int) int {
	t.Helper()
	return len(checkSplitParts(t, f, u, cols, n, maxRows))
}

func checkSplitParts(t *testing.T, f File, u int, cols []string, n, maxRows int) []Part {
	t.Helper()
	key := wholeKey{f, u, strings.Join(cols, ",")}
	w, ok := wholeReads[key]
	if !ok {
		w.cols, _, w.err = scanAll(t, f, u, cols, 1000)
		floatBits(w.cols)
		wholeReads[key] = w
	}
	whole, werr := w.cols, w.err
	got, parts, perr := readParts(t, f, u, cols, n, maxRows)
	what := fmt.Sprintf("%s: unit %d, columns %v, %d parts (%d rows a batch)", f.Path(), u, cols, n, maxRows)
	switch {
	case werr != nil && perr == nil:
		t.Errorf("%s: the whole unit fails (%v), its parts do not", what, werr)
	case werr == nil && perr != nil:
		t.Errorf("%s: the whole unit reads, a part fails: %v", what, perr)
	case werr == nil:
		floatBits(got)
		if !reflect.DeepEqual(whole, got) {
			for i := range cols {
				if !reflect.DeepEqual(whole[i], got[i]) {
					t.Errorf("%s: column %q differs read in parts", what, cols[i])
				}
			}
		}
	default:
		checkMessage(t, perr, f.Path())
	}
	return parts
}

// splitFile describes a file of splitFiles: its list columns' page size
// in levels, and the rows of each row group, to tell where parts start.
type splitFile struct {
	path   string
	levels int // levels per page of "l"
	groups [][][]pqwrite.Cell
}

// writeSplitFiles writes Parquet files whose list columns' pages start in
// the middle of rows (as DuckDB's do), with null rows, empty lists, null
// elements, rows longer than a page, a dictionary-encoded label read by
// parquet-go, and several row groups.
func writeSplitFiles(t testing.TB, dir string, mangle func(col string, group, page int, h *format.PageHeader, body []byte) []byte) []splitFile {
	t.Helper()
	cols := []pqwrite.Col{
		{Name: "y", Type: format.Int32, Optional: true, Dict: true, PageLevels: 37},
		{Name: "p", Type: format.Double, Optional: true, PageLevels: 53},
		{Name: "k", Type: format.Int64},
		{Name: "l", Type: format.Float, List: true, Optional: true, ElemOptional: true, PageLevels: 97},
		{Name: "m", Type: format.Double, List: true, PageLevels: 61},
		// Read by parquet-go (dictionary-encoded), its pages starting in
		// the middle of rows too.
		{Name: "d", Type: format.Int32, List: true, Optional: true, ElemOptional: true, Dict: true, PageLevels: 29},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var groups [][][]pqwrite.Cell
	for _, rows := range []int{2, 700, 1500} {
		g := make([][]pqwrite.Cell, len(cols))
		for r := range rows {
			y := pqwrite.Cell{V: float64(rng.IntN(5))}
			if rng.IntN(9) == 0 {
				y = pqwrite.Cell{Null: true}
			}
			p := pqwrite.Cell{V: rng.Float64()}
			if rng.IntN(7) == 0 {
				p = pqwrite.Cell{Null: true}
			}
			var l pqwrite.Cell
			switch k := rng.IntN(20); {
			case k == 0:
				l.Null = true
			case k == 1:
				l.List = []pqwrite.Elem{}
			default:
				n := rng.IntN(12)
				if k == 2 {
					n = 150 + rng.IntN(200) // longer than a page
				}
				for range n + 1 {
					l.List = append(l.List, pqwrite.Elem{Null: rng.IntN(15) == 0, V: rng.NormFloat64()})
				}
			}
			m := pqwrite.Cell{List: []pqwrite.Elem{}}
			for range rng.IntN(9) {
				m.List = append(m.List, pqwrite.Elem{V: rng.Float64()})
			}
			g[0] = append(g[0], y)
			g[1] = append(g[1], p)
			g[2] = append(g[2], pqwrite.Cell{V: float64(r*7 + 1)})
			g[3] = append(g[3], l)
			g[4] = append(g[4], m)
			d := pqwrite.Cell{Null: rng.IntN(11) == 0}
			if !d.Null {
				d.List = []pqwrite.Elem{}
				for range rng.IntN(7) {
					d.List = append(d.List, pqwrite.Elem{V: float64(rng.IntN(9)), Null: rng.IntN(13) == 0})
				}
			}
			g[5] = append(g[5], d)
		}
		groups = append(groups, g)
	}
	var files []splitFile
	for _, snappy := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("midrow-snappy=%v.parquet", snappy))
		f := pqwrite.File{Cols: cols, Groups: groups, Snappy: snappy, CRC: true, Mangle: mangle}
		if err := f.Write(path); err != nil {
			t.Fatal(err)
		}
		files = append(files, splitFile{path: path, levels: 97, groups: groups})
	}
	return files
}

// splitSeeds are small files of the kind writeSplitFiles writes, for the
// fuzz targets: row groups that Split cuts.
func splitSeeds(t testing.TB) [][]byte {
	cols := []pqwrite.Col{
		{Name: "y", Type: format.Int32, Optional: true, Dict: true, PageLevels: 7},
		{Name: "p", Type: format.Double, Optional: true, PageLevels: 11},
		{Name: "l", Type: format.Float, List: true, Optional: true, ElemOptional: true, PageLevels: 13},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var groups [][][]pqwrite.Cell
	for _, rows := range []int{3, 40} {
		g := make([][]pqwrite.Cell, len(cols))
		for range rows {
			l := pqwrite.Cell{Null: rng.IntN(9) == 0}
			if !l.Null {
				l.List = []pqwrite.Elem{}
				for range rng.IntN(6) {
					l.List = append(l.List, pqwrite.Elem{Null: rng.IntN(9) == 0, V: rng.NormFloat64()})
				}
			}
			g[0] = append(g[0], pqwrite.Cell{V: float64(rng.IntN(3)), Null: rng.IntN(9) == 0})
			g[1] = append(g[1], pqwrite.Cell{V: rng.Float64(), Null: rng.IntN(9) == 0})
			g[2] = append(g[2], l)
		}
		groups = append(groups, g)
	}
	var seeds [][]byte
	for _, snappy := range []bool{false, true} {
		b, err := (&pqwrite.File{Cols: cols, Groups: groups, Snappy: snappy, CRC: snappy}).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// midRow reports whether row r of the list column "l" of a row group
// starts in the middle of a page: whether a part that starts there skips
// the end of the row before.
func (sf splitFile) midRow(group int, r int64) bool {
	at := 0
	for _, c := range sf.groups[group][3][:r] {
		at += max(len(c.List), 1)
	}
	return at%sf.levels != 0
}

var splitColSets = [][]string{
	{"l"}, {"y", "l"}, {"p", "l", "k"}, {"y", "p", "k", "l", "m", "d"}, {"m", "l"}, {"p"}, {"y", "k"}, {"k", "m"}, {"d", "l"},
}

// TestSplitParquetMidRow: row groups cut at page boundaries of a list
// column whose pages start in the middle of rows read, part after part, as
// the whole row group does, for every mix of columns (raw and parquet-go,
// flat and list), batch size and number of parts; also with every page
// streamed through a small window.
func TestSplitParquetMidRow(t *testing.T) {
	defer clear(wholeReads)
	files := writeSplitFiles(t, t.TempDir(), nil)
	defer func(w, m int) { rawWindow, rawStreamMin = w, m }(rawWindow, rawStreamMin)
	for _, stream := range []bool{false, true} {
		if stream {
			rawWindow, rawStreamMin = 300, 0
		}
		split, mid := 0, 0
		for _, sf := range files {
			f, err := Open(sf.path, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range f.Units() {
				for _, cols := range splitColSets {
					for _, n := range []int{2, 3, 7, 1000} {
						for _, maxRows := range []int{1, 9, 300} {
							if maxRows == 1 && (n != 3 || len(cols) > 2) {
								continue
							}
							parts := checkSplitParts(t, f, u.Index, cols, n, maxRows)
							if len(parts) > 1 {
								split++
							}
							for _, p := range parts[1:] {
								if p.pq != nil && cols[p.pq.primary] == "l" && sf.midRow(u.Index, p.First) {
									mid++
								}
							}
						}
					}
				}
			}
			f.Close()
		}
		if split == 0 || mid == 0 {
			t.Errorf("streamed %v: %d units cut, %d parts starting in the middle of a row of a page", stream, split, mid)
		}
	}
}

// TestSplitParquetCorpus: files that parquet-go writes (pages cut at row
// boundaries; dictionaries, strings, booleans, legacy lists read by
// parquet-go beside a raw column) and the Parquet files of testdata, valid
// or not, read in parts as they read whole.
func TestSplitParquetCorpus(t *testing.T) {
	defer clear(wholeReads)
	dir := t.TempDir()
	files := writeRawTestFiles(t)
	for _, page := range []int{512, 4096} {
		fx := writeParquetFixture(t, dir, 3000, parquet.PageBufferSize(page), parquet.MaxRowsPerRowGroup(1100), parquet.DataPageVersion(1))
		files = append(files, fx.path)
	}
	filepath.Walk(filepath.Join("..", "..", "testdata"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	split := 0
	for _, path := range files {
		f, err := Open(path, DefaultOptions())
		if err != nil {
			continue
		}
		cols := supported(f)
		sets := [][]string{cols}
		for _, c := range cols {
			sets = append(sets, []string{c})
		}
		for _, u := range f.Units() {
			for _, set := range sets {
				if len(set) == 0 {
					continue
				}
				// A unit that is not cut is read by Scan as before.
				if parts, err := f.(Splitter).Split(u.Index, set, 3); err == nil && len(parts) < 2 {
					continue
				}
				if checkSplit(t, f, u.Index, set, 3, 7) > 1 {
					split++
				}
			}
		}
		f.Close()
	}
	if split == 0 {
		t.Error("no unit was cut")
	}
	t.Logf("%d files, %d units cut", len(files), split)
}

// splitArrowFixture is newArrowFixture without its dictionary-encoded
// columns, which arrow-go's mapped reader cannot read (such a file is read,
// not mapped, and not cut).
func splitArrowFixture(t testing.TB, mem memory.Allocator, sizes []int) *arrowFixture {
	fx := newArrowFixture(t, mem, sizes)
	var keep []int
	var fields []arrow.Field
	out := &arrowFixture{}
	for i, fl := range fx.schema.Fields() {
		if fl.Type.ID() == arrow.DICTIONARY {
			continue
		}
		keep = append(keep, i)
		fields = append(fields, fl)
		out.names = append(out.names, fx.names[i])
		out.want = append(out.want, fx.want[i])
	}
	out.schema = arrow.NewSchema(fields, nil)
	for _, r := range fx.recs {
		var arrs []arrow.Array
		for _, i := range keep {
			arrs = append(arrs, r.Column(i))
		}
		out.recs = append(out.recs, array.NewRecordBatch(out.schema, arrs, r.NumRows()))
	}
	fx.release()
	return out
}

// TestSplitArrow: record batches cut into row ranges read as they read
// whole, every column type; compressed record batches, and files read
// rather than mapped, are not cut.
func TestSplitArrow(t *testing.T) {
	defer clear(wholeReads)
	dir := t.TempDir()
	mem := memory.NewGoAllocator()
	fx := splitArrowFixture(t, mem, []int{1, 57, 0, 300, 13})
	defer fx.release()
	plain := filepath.Join(dir, "plain.arrow")
	writeArrowFile(t, mem, plain, fx)
	zstd := filepath.Join(dir, "zstd.arrow")
	writeArrowFile(t, mem, zstd, fx, ipc.WithZstd())
	split := 0
	f, err := Open(plain, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.(*arrowFile).data == nil {
		t.Skip("the file is not mapped here")
	}
	for _, u := range f.Units() {
		sets := [][]string{fx.names, {"l"}, {"ll", "f64"}, {"fl", "s", "b"}}
		for _, set := range sets {
			for _, n := range []int{2, 3, 50} {
				for _, maxRows := range []int{1, 4, 1000} {
					if checkSplit(t, f, u.Index, set, n, maxRows) > 1 {
						split++
					}
				}
			}
		}
	}
	if split == 0 {
		t.Error("no record batch was cut")
	}
	for _, opt := range []Options{DefaultOptions(), {MaxBatchBytes: 1 << 30, noMmap: true}} {
		path := zstd
		if opt.noMmap {
			path = plain
		}
		g, err := Open(path, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range g.Units() {
			if parts, err := g.(Splitter).Split(u.Index, fx.names, 3); err != nil || len(parts) != 1 {
				t.Errorf("%s (mapped: %v): record batch %d cut into %d parts (%v)", path, !opt.noMmap, u.Index, len(parts), err)
			}
			checkSplit(t, g, u.Index, fx.names, 3, 10)
		}
		g.Close()
	}
}

// TestSplitMisuse: a part read with other columns than it was cut for, or
// of another file, is an error.
func TestSplitMisuse(t *testing.T) {
	files := writeSplitFiles(t, t.TempDir(), nil)
	f, err := Open(files[0].path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := Open(files[1].path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	parts, err := f.(Splitter).Split(2, []string{"y", "l"}, 3)
	if err != nil || len(parts) < 2 {
		t.Fatalf("%d parts, %v", len(parts), err)
	}
	for _, s := range []Scanner{
		f.(Splitter).ScanPart(parts[1], []string{"l", "y"}, 10),
		g.(Splitter).ScanPart(parts[1], []string{"y", "l"}, 10),
		f.(Splitter).ScanPart(Part{Unit: 2, First: 5, Rows: 1, last: true}, []string{"y", "l"}, 10),
	} {
		if s.Next() || s.Err() == nil {
			t.Errorf("misused part read: %v", s.Err())
		}
		s.Close()
	}
}

// TestSplitParquetCorrupt: corrupt levels, a cut-off snappy stream, and a
// page that lies about its values, in a row group that is cut: planning the
// cut, or reading the part that holds the page, fails with an error that
// names the file, never a panic; the parts before read.
func TestSplitParquetCorrupt(t *testing.T) {
	cases := []struct {
		name   string
		mangle func(h *format.PageHeader, body []byte) []byte
		want   string
	}{
		{"levels length", func(h *format.PageHeader, body []byte) []byte {
			body[0], body[1], body[2], body[3] = 0xff, 0xff, 0xff, 0x0f
			return body
		}, "levels of"},
		{"level runs", func(h *format.PageHeader, body []byte) []byte {
			// The repetition levels: one bit-packed run that claims more
			// groups than its bytes hold.
			for i := 4; i < 12 && i < len(body); i++ {
				body[i] = 0xff
			}
			return body
		}, "level"},
		{"levels above the maximum", func(h *format.PageHeader, body []byte) []byte {
			// An RLE run of 2s where the maximum is 1.
			body[4], body[5] = 2, 2
			return body
		}, "above the maximum"},
		{"truncated", func(h *format.PageHeader, body []byte) []byte {
			return body[:len(body)/2]
		}, ""},
		{"values short", func(h *format.PageHeader, body []byte) []byte {
			h.DataPageHeader.V.NumValues += 40
			return body
		}, ""},
	}
	// The pages of "l" in the last row group: corrupt one early (before
	// the last cut, whose levels Split counts) and one late (after it).
	probe := writeSplitFiles(t, t.TempDir(), nil)
	pf, err := Open(probe[0].path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	pages := len(pf.(*pqFile).rawChunkFor(2, pf.(*pqFile).mustLookup("l")).pages)
	pf.Close()
	for _, tc := range cases {
		for _, target := range []int{9, pages - 3} {
			t.Run(fmt.Sprintf("%s/page%d", tc.name, target), func(t *testing.T) {
				files := writeSplitFiles(t, t.TempDir(), func(col string, group, page int, h *format.PageHeader, body []byte) []byte {
					if col == "l" && group == 2 && page == target {
						return tc.mangle(h, append([]byte(nil), body...))
					}
					return body
				})
				for _, sf := range files {
					f, err := Open(sf.path, DefaultOptions())
					if err != nil {
						t.Fatal(err)
					}
					cols := []string{"y", "p", "l"}
					if _, _, err := scanAll(t, f, 2, cols, 100); err == nil {
						t.Fatalf("%s: the corrupt row group reads whole", sf.path)
					}
					parts, err := f.(Splitter).Split(2, cols, 8)
					if err != nil {
						checkMessage(t, err, sf.path)
						if !strings.Contains(err.Error(), tc.want) {
							t.Errorf("%s: Split: %v, want %q", sf.path, err, tc.want)
						}
						f.Close()
						continue
					}
					if len(parts) < 3 {
						t.Fatalf("%s: %d parts", sf.path, len(parts))
					}
					failed := false
					for k, p := range parts {
						s := f.(Splitter).ScanPart(p, cols, 100)
						for s.Next() {
						}
						err := s.Err()
						s.Close()
						if err == nil {
							continue
						}
						checkMessage(t, err, sf.path)
						if !strings.Contains(err.Error(), tc.want) {
							t.Errorf("%s: part %d: %v, want %q", sf.path, k, err, tc.want)
						}
						if k == 0 && target != 9 {
							t.Errorf("%s: the first part, before the corrupt page, fails: %v", sf.path, err)
						}
						failed = true
					}
					if !failed {
						t.Errorf("%s: no part fails", sf.path)
					}
					f.Close()
				}
			})
		}
	}
}

// TestSplitRowCounts: a row group whose list column holds fewer or more
// rows than its footer claims fails in parts as it does whole.
func TestSplitRowCounts(t *testing.T) {
	defer clear(wholeReads)
	dir := t.TempDir()
	files := writeSplitFiles(t, dir, nil)
	for _, delta := range []int64{-3, 2} {
		data, err := os.ReadFile(files[1].path)
		if err != nil {
			t.Fatal(err)
		}
		// Rewrite the footer with row group 2 claiming other rows.
		f, err := Open(files[1].path, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		md := *f.(*pqFile).pf.Metadata()
		f.Close()
		rgs := append([]format.RowGroup(nil), md.RowGroups...)
		rgs[2].NumRows += delta
		md.RowGroups = rgs
		md.NumRows += delta
		path := filepath.Join(dir, fmt.Sprintf("rows%+d.parquet", delta))
		if err := os.WriteFile(path, withFooter(t, data, &md), 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := Open(path, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, cols := range splitColSets {
			_, _, werr := scanAll(t, g, 2, cols, 100)
			if werr == nil {
				t.Fatalf("%+d rows: columns %v read whole", delta, cols)
			}
			checkSplit(t, g, 2, cols, 4, 100)
		}
		g.Close()
	}
}

// withFooter replaces the footer of a Parquet file.
func withFooter(t testing.TB, data []byte, md *format.FileMetaData) []byte {
	t.Helper()
	n := int(uint32(data[len(data)-8]) | uint32(data[len(data)-7])<<8 | uint32(data[len(data)-6])<<16 | uint32(data[len(data)-5])<<24)
	body := data[:len(data)-8-n]
	b, err := thrift.Marshal(new(thrift.CompactProtocol), md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(append([]byte(nil), body...), b...)
	out = append(out, byte(len(b)), byte(len(b)>>8), byte(len(b)>>16), byte(len(b)>>24))
	return append(out, "PAR1"...)
}
