package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/report"
)

type libRow struct {
	ID     int64     `parquet:"id"`
	Y      int64     `parquet:"y"`
	Cls    int64     `parquet:"cls"`
	P      float64   `parquet:"p"`
	W      float64   `parquet:"w"`
	Grp    string    `parquet:"grp"`
	Logits []float32 `parquet:"logits"`
}

func libRows(n int) []libRow {
	r := rand.New(rand.NewPCG(7, 11))
	rows := make([]libRow, n)
	for i := range rows {
		y := int64(r.IntN(3))
		lg := make([]float32, 3)
		for k := range lg {
			lg[k] = float32(r.NormFloat64())
		}
		lg[y] += 1
		p := r.Float64()
		rows[i] = libRow{ID: int64(1000 + i), Y: int64(r.IntN(2)), Cls: y, P: p, W: r.Float64() * 2, Grp: []string{"a", "b", "c"}[r.IntN(3)], Logits: lg}
	}
	return rows
}

// libRecord builds rows [lo, hi) as an Arrow record batch in memory.
func libRecord(mem memory.Allocator, rows []libRow) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "y", Type: arrow.PrimitiveTypes.Int64},
		{Name: "cls", Type: arrow.PrimitiveTypes.Int64},
		{Name: "p", Type: arrow.PrimitiveTypes.Float64},
		{Name: "w", Type: arrow.PrimitiveTypes.Float64},
		{Name: "grp", Type: arrow.BinaryTypes.String},
		{Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	lb := b.Field(6).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.Int64Builder).Append(r.Y)
		b.Field(2).(*array.Int64Builder).Append(r.Cls)
		b.Field(3).(*array.Float64Builder).Append(r.P)
		b.Field(4).(*array.Float64Builder).Append(r.W)
		b.Field(5).(*array.StringBuilder).Append(r.Grp)
		lb.Append(true)
		vb.AppendValues(r.Logits, nil)
	}
	return b.NewRecordBatch()
}

// TestAccumulatorMatchesEval: rows built as Arrow records in memory, fed
// to accumulators (several records, two accumulators merged), give the
// JSON report `evalnll eval` writes over the same rows in a Parquet file.
func TestAccumulatorMatchesEval(t *testing.T) {
	rows := libRows(3000)
	dir := t.TempDir()
	path := filepath.Join(dir, "preds.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[libRow](f, parquet.MaxRowsPerRowGroup(700))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, c := range []struct {
		name string
		args []string
		spec func(*evalnll.Spec)
	}{
		{"binary", []string{"--label", "y", "--prob", "p", "--weight", "w", "--by", "grp", "--id", "id", "--worst", "5", "--bootstrap", "200", "--bins", "7"},
			func(s *evalnll.Spec) {
				s.Label, s.Prob, s.Weight, s.By, s.ID, s.Worst, s.Bootstrap, s.Bins = "y", "p", "w", []string{"grp"}, "id", 5, 200, 7
			}},
		{"binary_bits_quantile_gate", []string{"--label", "y", "--prob", "p", "--base", "2", "--binning", "quantile", "--bootstrap", "0", "--fail-if", "nll > 0.5"},
			func(s *evalnll.Spec) {
				s.Label, s.Prob, s.Units, s.Binning, s.Bootstrap = "y", "p", evalnll.Bits, evalnll.Quantile, 0
				th, err := gate.ParseThreshold("nll > 0.5")
				if err != nil {
					t.Fatal(err)
				}
				s.FailIf = []gate.Threshold{th}
			}},
		{"multiclass_logits", []string{"--label", "cls", "--logit", "logits", "--by", "grp", "--id", "id", "--worst", "3", "--auroc", "--classwise", "--topk", "2"},
			func(s *evalnll.Spec) {
				s.Label, s.Logit, s.By, s.ID, s.Worst = "cls", "logits", []string{"grp"}, "id", 3
				s.AUROC, s.Classwise, s.TopK = true, true, 2
			}},
		// Without --id, rows are bootstrapped and named by position: one
		// accumulator named as the file fed every row in order.
		{"by_position", []string{"--label", "y", "--prob", "p", "--worst", "4", "--bootstrap", "100"},
			func(s *evalnll.Spec) { s.Label, s.Prob, s.Worst, s.Bootstrap = "y", "p", 4, 100 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".json")
			var so, se bytes.Buffer
			args := append(append([]string{"eval", "--workers", "2", "--quiet"}, c.args...), "--json", out, path)
			if code := run(context.Background(), strings.NewReader(""), &so, &se, args); code > 1 {
				t.Fatalf("evalnll eval: exit %d: %s", code, se.String())
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}

			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			spec := evalnll.DefaultSpec()
			c.spec(&spec)
			// Rows 0-999 and 1001-2999 go to one accumulator, in two
			// records; row 1000 to another, which the first is merged into.
			accs := make([]*evalnll.Accumulator, 2)
			if c.name == "by_position" {
				accs = accs[:1]
			}
			for i := range accs {
				empty := libRecord(mem, nil)
				accs[i], err = evalnll.NewAccumulator(spec, empty.Schema())
				empty.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			parts := []struct{ acc, lo, hi int }{{0, 0, 1000}, {1, 1000, 1001}, {0, 1001, 3000}}
			if len(accs) == 1 {
				accs[0].Name = "preds.parquet" // the key evalnll gives a file argument
				parts = []struct{ acc, lo, hi int }{{0, 0, 1000}, {0, 1000, 1001}, {0, 1001, 3000}}
			}
			for _, part := range parts {
				rec := libRecord(mem, rows[part.lo:part.hi])
				if err := accs[part.acc].Add(rec); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if len(accs) == 2 {
				if err := accs[1].Merge(accs[0]); err != nil {
					t.Fatal(err)
				}
				accs = accs[1:]
			}
			m, err := accs[0].Report()
			if err != nil {
				t.Fatal(err)
			}
			m.Inputs = []report.Input{{Path: path, Rows: int64(len(rows)), Format: "parquet"}}
			for i := range m.Worst {
				if s := m.Worst[i].ID.S; c.name == "by_position" {
					m.Worst[i].ID.S = filepath.Join(dir, s) // the CLI names a row by the path given
				}
			}
			if got := m.JSON(); !bytes.Equal(got, want) {
				t.Errorf("accumulator JSON differs from evalnll eval's:\n%s", firstDiff(string(want), string(got)))
			}
		})
	}
}
