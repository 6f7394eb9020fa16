package pqwrite

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// TestReadByParquetGo: parquet-go reads back what File writes: nulls,
// empty lists, null elements, pages cut in the middle of rows, a
// dictionary, snappy.
func TestReadByParquetGo(t *testing.T) {
	cols := []Col{
		{Name: "y", Type: format.Int32, Optional: true, Dict: true, PageLevels: 3},
		{Name: "l", Type: format.Double, List: true, Optional: true, ElemOptional: true, PageLevels: 4},
		{Name: "k", Type: format.Int64},
		{Name: "f", Type: format.Float, Optional: true, PageLevels: 2},
	}
	rows := [][]Cell{
		{{V: 1}, {List: []Elem{{V: 0.5}, {Null: true}, {V: -2}}}, {V: 7}, {V: 1.5}},
		{{Null: true}, {Null: true}, {V: 8}, {Null: true}},
		{{V: 2}, {List: []Elem{}}, {V: 9}, {V: 2.5}},
		{{V: 1}, {List: []Elem{{V: 3}, {V: 4}, {V: 5}, {V: 6}, {V: 7}}}, {V: 10}, {V: -1}},
	}
	g := make([][]Cell, len(cols))
	for _, r := range rows {
		for i, c := range r {
			g[i] = append(g[i], c)
		}
	}
	for _, snappy := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "f.parquet")
		if err := (&File{Cols: cols, Groups: [][][]Cell{g, g}, Snappy: snappy, CRC: true}).Write(path); err != nil {
			t.Fatal(err)
		}
		type row struct {
			Y *int32     `parquet:"y,optional"`
			L []*float64 `parquet:"l,list,optional"`
			K int64      `parquet:"k"`
			F *float32   `parquet:"f,optional"`
		}
		got, err := parquet.ReadFile[row](path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2*len(rows) {
			t.Fatalf("%d rows", len(got))
		}
		for i, r := range got {
			w := rows[i%len(rows)]
			if (r.Y == nil) != w[0].Null || r.Y != nil && float64(*r.Y) != w[0].V {
				t.Errorf("row %d: y %v", i, r.Y)
			}
			if len(r.L) != len(w[1].List) {
				t.Errorf("row %d: l %v", i, r.L)
			}
			for j, e := range w[1].List {
				if j < len(r.L) && ((r.L[j] == nil) != e.Null || r.L[j] != nil && *r.L[j] != e.V) {
					t.Errorf("row %d: l[%d] %v", i, j, r.L[j])
				}
			}
			if r.K != int64(w[2].V) {
				t.Errorf("row %d: k %d", i, r.K)
			}
			if (r.F == nil) != w[3].Null || r.F != nil && float64(*r.F) != w[3].V && !math.IsNaN(w[3].V) {
				t.Errorf("row %d: f %v", i, r.F)
			}
		}
	}
}
