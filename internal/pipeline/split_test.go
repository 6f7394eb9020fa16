package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/internal/reader/pqwrite"
)

// forceSplit makes the planner cut every unit it can into many parts, for
// the rest of the test.
func forceSplit(t *testing.T) {
	t.Helper()
	m, w := splitMinBytes, splitPerWorker
	t.Cleanup(func() { splitMinBytes, splitPerWorker = m, w })
	splitMinBytes, splitPerWorker = 1, 64
}

// splitKind is an evaluation of a generated file.
type splitKind struct {
	name string
	cols []pqwrite.Col
	// row makes the cells of row i (one per column); bad asks for invalid
	// rows among them.
	row  func(rng *rand.Rand, i int, bad bool) []pqwrite.Cell
	cfg  func() metrics.Config
	pred string // the list column that fixes the class count
}

func (k splitKind) names() []string {
	var n []string
	for _, c := range k.cols {
		n = append(n, c.Name)
	}
	return n
}

func (k splitKind) bind(b *column.Batch) metrics.Cols {
	c := metrics.Cols{Rows: b.Rows}
	switch len(b.Cols) {
	case 1:
		c.Pred = b.Cols[0]
	case 2:
		c.Label, c.Pred = b.Cols[0], b.Cols[1]
	default:
		c.Label, c.Pred, c.By = b.Cols[0], b.Cols[1], []*column.Column{b.Cols[2]}
	}
	return c
}

func withExtras(c metrics.Config) metrics.Config {
	c.Worst = 9
	c.Bootstrap = metrics.BootstrapConfig{Replicates: 50, Buckets: 64, Seed: 7}
	return c
}

func list(rng *rand.Rand, n int, nullElem bool, v func() float64) pqwrite.Cell {
	c := pqwrite.Cell{List: []pqwrite.Elem{}}
	for range n {
		e := pqwrite.Elem{V: v()}
		if nullElem && rng.IntN(40) == 0 {
			e = pqwrite.Elem{Null: true}
		}
		c.List = append(c.List, e)
	}
	return c
}

var splitKinds = []splitKind{
	{
		name: "tokens",
		cols: []pqwrite.Col{{Name: "lp", Type: format.Float, List: true, Optional: true, ElemOptional: true, PageLevels: 89}},
		row: func(rng *rand.Rand, i int, bad bool) []pqwrite.Cell {
			n := rng.IntN(40)
			switch rng.IntN(25) {
			case 0:
				n = 0 // an empty sequence
			case 1:
				n = 150 + rng.IntN(100) // longer than a page
			case 2:
				if bad {
					return []pqwrite.Cell{{Null: true}}
				}
			}
			return []pqwrite.Cell{list(rng, n, bad, func() float64 { return -rng.ExpFloat64() })}
		},
		cfg: func() metrics.Config {
			c := metrics.DefaultConfig()
			c.Kind, c.Pred, c.Tokens = metrics.Logprob, metrics.PredLogprob, true
			return withExtras(c)
		},
	},
	{
		name: "logits",
		cols: []pqwrite.Col{
			{Name: "label", Type: format.Int32, Optional: true, Dict: true, PageLevels: 41},
			{Name: "logits", Type: format.Float, List: true, Optional: true, ElemOptional: true, PageLevels: 23},
		},
		row: func(rng *rand.Rand, i int, bad bool) []pqwrite.Cell {
			y := pqwrite.Cell{V: float64(rng.IntN(5))}
			k := 5
			if bad {
				switch rng.IntN(60) {
				case 0:
					y = pqwrite.Cell{Null: true}
				case 1:
					k = 4 + 2*rng.IntN(2) // a length other than the class count
				case 2:
					return []pqwrite.Cell{y, {Null: true}}
				}
				if i < 30 {
					// Null lists first: the class count comes from a later
					// row.
					return []pqwrite.Cell{y, {Null: true}}
				}
			}
			return []pqwrite.Cell{y, list(rng, k, bad, func() float64 { return 3 * rng.NormFloat64() })}
		},
		cfg: func() metrics.Config {
			c := metrics.DefaultConfig()
			c.Kind, c.Pred = metrics.Multiclass, metrics.PredLogit
			return withExtras(c)
		},
		pred: "logits",
	},
	{
		name: "probs",
		cols: []pqwrite.Col{
			{Name: "y", Type: format.Int64, PageLevels: 300},
			{Name: "probs", Type: format.Double, List: true, PageLevels: 13},
		},
		row: func(rng *rand.Rand, i int, bad bool) []pqwrite.Cell {
			p := make([]float64, 4)
			var s float64
			for j := range p {
				p[j] = rng.Float64() + 0.01
				s += p[j]
			}
			c := pqwrite.Cell{}
			for _, v := range p {
				c.List = append(c.List, pqwrite.Elem{V: v / s})
			}
			if bad && rng.IntN(50) == 0 {
				c.List[0].V = 2 // the probabilities do not sum to 1
			}
			return []pqwrite.Cell{{V: float64(rng.IntN(4))}, c}
		},
		cfg: func() metrics.Config {
			c := metrics.DefaultConfig()
			c.Kind, c.Pred = metrics.Multiclass, metrics.PredProb
			return withExtras(c)
		},
		pred: "probs",
	},
	{
		name: "binary",
		cols: []pqwrite.Col{
			{Name: "label", Type: format.Int32, Dict: true, PageLevels: 200},
			{Name: "p", Type: format.Double, Optional: true, PageLevels: 97},
			{Name: "slice", Type: format.Int32, Optional: true, PageLevels: 150},
		},
		row: func(rng *rand.Rand, i int, bad bool) []pqwrite.Cell {
			p := pqwrite.Cell{V: rng.Float64()}
			if bad && rng.IntN(50) == 0 {
				p = pqwrite.Cell{Null: true}
			}
			return []pqwrite.Cell{{V: float64(rng.IntN(2))}, p, {V: float64(rng.IntN(3)), Null: rng.IntN(9) == 0}}
		},
		cfg: func() metrics.Config {
			c := metrics.DefaultConfig()
			c.ByCols = 1
			return withExtras(c)
		},
	},
}

var splitGroups = []int{3, 900, 2500, 40}

// writeKind writes a Parquet file of kind k, in row groups of the sizes
// given, and returns its rows; edit, if set, may change each row.
func writeKind(t *testing.T, path string, k splitKind, sizes []int, bad bool, edit func(i int, cells []pqwrite.Cell), mangle func(col string, group, page int, h *format.PageHeader, body []byte) []byte) [][]pqwrite.Cell {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	var groups [][][]pqwrite.Cell
	var all [][]pqwrite.Cell
	i := 0
	for _, rows := range sizes {
		g := make([][]pqwrite.Cell, len(k.cols))
		for range rows {
			cells := k.row(rng, i, bad)
			if edit != nil {
				edit(i, cells)
			}
			for j := range g {
				g[j] = append(g[j], cells[j])
			}
			all = append(all, cells)
			i++
		}
		groups = append(groups, g)
	}
	f := pqwrite.File{Cols: k.cols, Groups: groups, Snappy: true, Mangle: mangle}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	return all
}

// writeKindArrow writes the rows of writeKind to an Arrow IPC file, in
// record batches of splitGroups rows.
func writeKindArrow(t *testing.T, path string, k splitKind, bad bool) {
	t.Helper()
	mem := memory.NewGoAllocator()
	var fields []arrow.Field
	for _, c := range k.cols {
		var dt arrow.DataType
		switch c.Type {
		case format.Int32:
			dt = arrow.PrimitiveTypes.Int32
		case format.Int64:
			dt = arrow.PrimitiveTypes.Int64
		case format.Float:
			dt = arrow.PrimitiveTypes.Float32
		default:
			dt = arrow.PrimitiveTypes.Float64
		}
		if c.List {
			dt = arrow.LargeListOf(dt)
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: dt, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	i := 0
	for _, rows := range splitGroups {
		b := array.NewRecordBuilder(mem, schema)
		for range rows {
			for j, cell := range k.row(rng, i, bad) {
				appendCell(b.Field(j), cell)
			}
			i++
		}
		rec := b.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func appendCell(b array.Builder, c pqwrite.Cell) {
	if c.Null {
		b.AppendNull()
		return
	}
	if lb, ok := b.(*array.LargeListBuilder); ok {
		lb.Append(true)
		for _, e := range c.List {
			if e.Null {
				lb.ValueBuilder().AppendNull()
			} else {
				appendValue(lb.ValueBuilder(), e.V)
			}
		}
		return
	}
	appendValue(b, c.V)
}

func appendValue(b array.Builder, v float64) {
	switch b := b.(type) {
	case *array.Int32Builder:
		b.Append(int32(v))
	case *array.Int64Builder:
		b.Append(int64(v))
	case *array.Float32Builder:
		b.Append(float32(v))
	case *array.Float64Builder:
		b.Append(v)
	}
}

// runKind evaluates the file at path as kind k with workers, and returns
// everything a report is made of: the figures, the worst rows by name, the
// rows per file and the class count.
func runKind(t *testing.T, path string, k splitKind, skip bool, workers int, progress func(int, int, bool)) (string, error) {
	t.Helper()
	f, err := reader.Open(path, reader.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := k.cfg()
	cfg.Skip = skip
	job := &Job{
		Files: []reader.File{f}, Names: []string{path}, Columns: k.names(), Config: &cfg,
		Bind: k.bind, ColumnOf: func(metrics.Role) string { return "?" }, PredColumn: k.pred,
		Options: Options{Workers: workers, BatchRows: 100}, Progress: progress,
	}
	res, err := Run(context.Background(), job)
	if err != nil {
		return "", err
	}
	sum := res.State.Summary()
	var worst []string
	for _, w := range sum.Worst {
		worst = append(worst, fmt.Sprintf("%s %v", res.RowName(w.Unit, w.Row), w.NLL))
	}
	for _, w := range sum.WorstPerToken {
		worst = append(worst, fmt.Sprintf("per token %s %v", res.RowName(w.Unit, w.Row), w.NLL))
	}
	sum.Worst, sum.WorstPerToken = nil, nil // their Pred may be NaN (none)
	js, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s\nworst %v\nrows %v classes %d", js, worst, res.FileRows, res.Classes), nil
}

// TestSplitReportsIdentical: every figure, the worst rows' FILE:ROW names
// and the class count are the same whatever --workers and however the
// units are cut: Parquet files whose list columns' pages start in the
// middle of rows, with null rows, null elements, empty lists, several row
// groups, invalid rows skipped; and Arrow IPC files.
func TestSplitReportsIdentical(t *testing.T) {
	dir := t.TempDir()
	forceSplit(t)
	for _, k := range splitKinds {
		for _, skip := range []bool{false, true} {
			for _, format := range []string{"parquet", "arrow"} {
				path := filepath.Join(dir, fmt.Sprintf("%s-%v.%s", k.name, skip, format))
				if format == "parquet" {
					writeKind(t, path, k, splitGroups, skip, nil, nil)
				} else {
					writeKindArrow(t, path, k, skip)
				}
				// The reference: one worker, units whole.
				splitMinBytes = math.MaxInt64
				want, err := runKind(t, path, k, skip, 1, nil)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				splitMinBytes = 1
				c0 := cutUnits.Load()
				for w := 1; w <= 4; w++ {
					var units atomic.Int64
					got, err := runKind(t, path, k, skip, w, func(_, _ int, done bool) {
						if done {
							units.Add(1)
						}
					})
					if err != nil {
						t.Fatalf("%s, %d workers: %v", path, w, err)
					}
					if got != want {
						t.Errorf("%s, %d workers, units cut: the report differs:\n%s\n%s", path, w, want, got)
					}
					if units.Load() != int64(len(splitGroups)) {
						t.Errorf("%s, %d workers: %d units reported done, want %d", path, w, units.Load(), len(splitGroups))
					}
				}
				if cutUnits.Load() == c0 {
					t.Errorf("%s: no unit was cut", path)
				}
			}
		}
	}
}

// TestSplitFirstInvalidRow: with an invalid row at the end of a part of a
// row group and another at the start of the next part (found first when
// the parts are read at once, with 3 workers or more), the earlier one is
// reported, with its row number in the file, whatever --workers; and with
// only the later one, that one.
func TestSplitFirstInvalidRow(t *testing.T) {
	dir := t.TempDir()
	forceSplit(t)
	k := splitKinds[0] // tokens
	sizes := []int{3, 2500}
	start := sizes[0]
	// Where the parts of the large row group start. Making a row invalid
	// below changes a value, not the pages: the parts stay the same.
	path := filepath.Join(dir, "valid.parquet")
	rows := writeKind(t, path, k, sizes, false, nil, nil)
	f, err := reader.Open(path, reader.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := newPlanner([]reader.File{f}, k.names(), 2, Shard{})
	parts := p.split(p.units[1], 0)
	f.Close()
	if len(parts) < 4 {
		t.Fatalf("%d parts", len(parts))
	}
	// The last row of part 1 and the first of part 2 that hold a token.
	cut := start + int(parts[2].part.First)
	early, late := cut-1, cut
	for len(rows[early][0].List) == 0 {
		early--
	}
	for len(rows[late][0].List) == 0 {
		late++
	}
	if early < start+int(parts[1].part.First) || late >= start+int(parts[3].part.First) {
		t.Fatalf("rows %d and %d are not in parts 1 and 2 (%+v)", early, late, parts)
	}
	positive := func(rows ...int) func(int, []pqwrite.Cell) {
		return func(i int, cells []pqwrite.Cell) {
			for _, r := range rows {
				if i == r {
					cells[0].List[0].V = 0.5 // a log-probability above 0
				}
			}
		}
	}
	both := filepath.Join(dir, "both.parquet")
	writeKind(t, both, k, sizes, false, positive(early, late), nil)
	only := filepath.Join(dir, "late.parquet")
	writeKind(t, only, k, sizes, false, positive(late), nil)
	for _, tc := range []struct {
		path string
		row  int
	}{{both, early}, {only, late}} {
		for w := 1; w <= 4; w++ {
			for range 3 {
				_, err := runKind(t, tc.path, k, false, w, nil)
				var ie *InputError
				if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidRow) || ie.Row != int64(tc.row+1) || ie.File != tc.path {
					t.Fatalf("%s, %d workers: error %v; want row %d", tc.path, w, err, tc.row+1)
				}
			}
		}
	}
}

// TestSplitCorrupt: a corrupt page in a unit that is cut, or a row count
// that the pages do not hold, is an error that names the file, as when
// the unit is read whole, never a panic.
func TestSplitCorrupt(t *testing.T) {
	dir := t.TempDir()
	k := splitKinds[1] // logits
	cases := map[string]func(h *format.PageHeader, body []byte) []byte{
		"levels": func(h *format.PageHeader, body []byte) []byte {
			for i := 4; i < 12; i++ {
				body[i] = 0xff
			}
			return body
		},
		"truncated": func(h *format.PageHeader, body []byte) []byte { return body[:len(body)/2] },
		"values":    func(h *format.PageHeader, body []byte) []byte { h.DataPageHeader.V.NumValues += 7; return body },
	}
	for name, mangle := range cases {
		for _, page := range []int{3, 200} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%d.parquet", name, page))
			writeKind(t, path, k, splitGroups, false, nil, func(col string, group, pg int, h *format.PageHeader, body []byte) []byte {
				if col == "logits" && group == 2 && pg == page {
					return mangle(h, append([]byte(nil), body...))
				}
				return body
			})
			f, err := reader.Open(path, reader.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			splitMinBytes = math.MaxInt64
			_, whole := runKind(t, path, k, false, 1, nil)
			forceSplit(t)
			for w := 1; w <= 3; w++ {
				_, err := runKind(t, path, k, false, w, nil)
				if err == nil || whole == nil {
					t.Fatalf("%s, %d workers: errors %v (cut), %v (whole)", path, w, err, whole)
				}
				if !strings.HasPrefix(err.Error(), path+":") || strings.Contains(err.Error(), "internal error") {
					t.Errorf("%s, %d workers: %v", path, w, err)
				}
				if err.Error() != whole.Error() {
					t.Logf("%s, %d workers: %v; whole: %v", path, w, err, whole)
				}
			}
		}
	}
}
