package reader

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// TestLZ4HeaderLayout checks the page headers that parquet_lz4.go builds.
func TestLZ4HeaderLayout(t *testing.T) {
	v1 := &format.DataPageHeader{NumValues: 17, Encoding: format.RLEDictionary}
	if h := v1Header(v1); h.NumValues() != 17 || h.Encoding() != format.RLEDictionary {
		t.Fatalf("v1 header: %d values, %v", h.NumValues(), h.Encoding())
	}
	v2 := &format.DataPageHeaderV2{NumValues: 9, NumNulls: 2, NumRows: 5}
	if h := v2Header(v2); h.NumValues() != 9 || h.NumNulls() != 2 || h.NumRows() != 5 {
		t.Fatalf("v2 header: %d %d %d", h.NumValues(), h.NumNulls(), h.NumRows())
	}
	d := &format.DictionaryPageHeader{NumValues: 4, Encoding: format.Plain}
	if h := dictHeader(d); h.NumValues() != 4 || h.Encoding() != format.Plain {
		t.Fatalf("dictionary header: %d %v", h.NumValues(), h.Encoding())
	}
}

// TestLZ4IncompressiblePages reads LZ4_RAW pages that LZ4 cannot shrink
// (random float64 bits), large and many, which parquet-go decodes into a
// buffer it then drops (see parquet_lz4.go); optional and required, v1 and
// v2 pages, plain and dictionary-encoded.
func TestLZ4IncompressiblePages(t *testing.T) {
	type row struct {
		P *float64 `parquet:"p,optional"`
		Q float64  `parquet:"q"`
		D float64  `parquet:"d,dict"`
	}
	const n = 100000
	rows := make([]row, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rows {
		p := r.Float64()
		if i%97 != 5 {
			rows[i].P = &p
		}
		rows[i].Q = r.Float64()
		rows[i].D = float64(r.IntN(5000)) / 5000
	}
	for _, v := range []int{1, 2} {
		path := filepath.Join(t.TempDir(), "lz4.parquet")
		if err := parquet.WriteFile(path, rows, parquet.Compression(&parquet.Lz4Raw), parquet.DataPageVersion(v), parquet.PageBufferSize(64<<10)); err != nil {
			t.Fatal(err)
		}
		for _, noRaw := range []bool{false, true} {
			f, err := Open(path, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			f.(*pqFile).noRaw = noRaw
			if md := f.Metadata(); !strings.Contains(metaValue(md, "compression"), "LZ4_RAW") {
				t.Fatalf("compression %q", metaValue(md, "compression"))
			}
			got, _, err := scanAll(t, f, -1, []string{"p", "q", "d"}, 4096)
			f.Close()
			if err != nil {
				t.Fatalf("v%d: %v", v, err)
			}
			for i, w := range rows {
				switch {
				case (w.P == nil) != !got[0].valid[i]:
					t.Fatalf("v%d row %d: null %v", v, i, w.P == nil)
				case w.P != nil && math.Float64bits(got[0].f[i]) != math.Float64bits(*w.P),
					math.Float64bits(got[1].f[i]) != math.Float64bits(w.Q),
					math.Float64bits(got[2].f[i]) != math.Float64bits(w.D):
					t.Fatalf("v%d row %d: %v %v %v, want %+v", v, i, got[0].f[i], got[1].f[i], got[2].f[i], w)
				}
			}
		}
	}
}

func metaValue(md [][2]string, key string) string {
	for _, kv := range md {
		if kv[0] == key {
			return kv[1]
		}
	}
	return ""
}
