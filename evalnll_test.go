package evalnll_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
)

func checked(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func specWith(f func(*evalnll.Spec)) evalnll.Spec {
	s := evalnll.DefaultSpec()
	s.Bootstrap = 0
	f(&s)
	return s
}

func TestSpecErrors(t *testing.T) {
	mem := checked(t)
	rec := predictions(mem, []int64{1, 0}, []float64{0.9, 0.2})
	defer rec.Release()
	for _, c := range []struct {
		field string
		spec  evalnll.Spec
	}{
		{"Eps", specWith(func(s *evalnll.Spec) { s.Eps = 0.5 })},
		{"Eps", specWith(func(s *evalnll.Spec) { s.Eps = -1e-300 })},
		{"Bins", specWith(func(s *evalnll.Spec) { s.Bins = 1000001 })},
		{"Bins", specWith(func(s *evalnll.Spec) { s.Bins = -1 })},
		{"Kind", specWith(func(s *evalnll.Spec) { s.Kind = evalnll.Logprob; s.Prob = "p" })},
		{"Kind", specWith(func(s *evalnll.Spec) { s.Kind = 200 })},
		{"Units", specWith(func(s *evalnll.Spec) { s.Units = 3 })},
		{"Prob", specWith(func(s *evalnll.Spec) { s.Prob, s.Logit = "p", "p" })},
		{"Mean", specWith(func(s *evalnll.Spec) { s.Mean = "p" })},
		{"Std", specWith(func(s *evalnll.Spec) { s.Mean, s.Std, s.Var = "p", "a", "b" })},
		{"Bootstrap", specWith(func(s *evalnll.Spec) { s.Bootstrap = 100001 })},
		{"By", specWith(func(s *evalnll.Spec) { s.By = []string{""} })},
		{"Worst", specWith(func(s *evalnll.Spec) { s.Worst = -1 })},
		{"Limits", specWith(func(s *evalnll.Spec) {
			l, _ := gate.ParseLimit("nll=0.1", true)
			s.Limits = []gate.Limit{l}
		})},
	} {
		t.Run(c.field, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				var se *evalnll.SpecError
				if !errors.As(err, &se) || se.Field != c.field || !errors.Is(err, evalnll.ErrSpec) {
					t.Fatalf("%s: got %v, want a *SpecError for %s", what, err, c.field)
				}
				if !strings.HasPrefix(err.Error(), "Spec."+c.field+": ") {
					t.Errorf("%s: message %q does not name Spec.%s", what, err, c.field)
				}
			}
			check("Check", c.spec.Check())
			_, err := evalnll.NewAccumulator(c.spec, rec.Schema())
			check("NewAccumulator", err)
			_, err = evalnll.Evaluate(context.Background(), c.spec, "no-such-file.parquet")
			check("Evaluate", err)
		})
	}
	if err := evalnll.DefaultSpec().Check(); err != nil {
		t.Errorf("DefaultSpec: %v", err)
	}
}

func TestSchemaErrors(t *testing.T) {
	mem := checked(t)
	rec := predictions(mem, []int64{1, 0}, []float64{0.9, 0.2})
	defer rec.Release()
	other := arrow.NewSchema([]arrow.Field{{Name: "label", Type: arrow.PrimitiveTypes.Int64}, {Name: "score", Type: arrow.PrimitiveTypes.Float64}}, nil)
	for _, c := range []struct {
		name   string
		spec   evalnll.Spec
		schema *arrow.Schema
		want   string
	}{
		// KindAuto never evaluates a table it cannot map (once nll 0).
		{"auto finds no prediction", specWith(func(s *evalnll.Spec) {}), other, "no prediction column found"},
		{"missing column", specWith(func(s *evalnll.Spec) { s.Prob = "q" }), rec.Schema(), `column "q" (Spec.Prob) not found`},
		{"label of wrong type", specWith(func(s *evalnll.Spec) { s.Label, s.Prob = "p", "p"; s.Weight = "y"; s.By = []string{"nope"} }), rec.Schema(), `column "nope" (Spec.By) not found`},
		{"multiclass needs lists", specWith(func(s *evalnll.Spec) { s.Kind = evalnll.Multiclass }), rec.Schema(), "Spec.Kind multiclass needs a list"},
		{"nil schema", specWith(func(s *evalnll.Spec) {}), nil, "no schema"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := evalnll.NewAccumulator(c.spec, c.schema)
			var se *evalnll.SchemaError
			if !errors.As(err, &se) || !errors.Is(err, evalnll.ErrSchema) {
				t.Fatalf("got %v, want a *SchemaError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("message %q lacks %q", err, c.want)
			}
		})
	}

	// A record of another schema than the accumulator's.
	acc, err := evalnll.NewAccumulator(specWith(func(s *evalnll.Spec) {}), rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(mem, other)
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.Float64Builder).Append(0.5)
	wrong := b.NewRecordBatch()
	b.Release()
	defer wrong.Release()
	var se *evalnll.SchemaError
	if err := acc.Add(wrong); !errors.As(err, &se) {
		t.Errorf("Add of another schema: got %v, want a *SchemaError", err)
	}
}

func TestRowErrors(t *testing.T) {
	mem := checked(t)
	good := predictions(mem, []int64{1, 0}, []float64{0.9, 0.2})
	defer good.Release()
	bad := predictions(mem, []int64{1, 0, 1}, []float64{0.9, 1.5, 0.3})
	defer bad.Release()

	acc, err := evalnll.NewAccumulator(specWith(func(s *evalnll.Spec) {}), good.Schema())
	if err != nil {
		t.Fatal(err)
	}
	acc.Name = "shadow"
	if err := acc.Add(good); err != nil {
		t.Fatal(err)
	}
	err = acc.Add(bad)
	var re *evalnll.RowError
	if !errors.As(err, &re) || !errors.Is(err, evalnll.ErrInvalidRow) {
		t.Fatalf("got %v, want a *RowError", err)
	}
	// Rows count across every Add: the bad one is the 4th.
	want := evalnll.RowError{File: "shadow", Row: 4, Column: "p", Reason: "1.5 is outside [0, 1]"}
	if re.File != want.File || re.Row != want.Row || re.Column != want.Column || re.Reason != want.Reason {
		t.Errorf("got %+v, want %+v", *re, want)
	}
	if got := err.Error(); got != `shadow:4: column "p": 1.5 is outside [0, 1]` {
		t.Errorf("message %q", got)
	}
	// The error is kept.
	if err2 := acc.Add(good); err2 != err {
		t.Errorf("Add after an error: %v", err2)
	}
	if _, err2 := acc.Report(); err2 != err {
		t.Errorf("Report after an error: %v", err2)
	}

	// With SkipInvalid the row is counted instead.
	acc, err = evalnll.NewAccumulator(specWith(func(s *evalnll.Spec) { s.SkipInvalid = true }), good.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Add(bad); err != nil {
		t.Fatal(err)
	}
	m, err := acc.Report()
	if err != nil {
		t.Fatal(err)
	}
	if m.Overall.Rows != 2 || m.Overall.Skipped["out_of_range"] != 1 {
		t.Errorf("rows %d, skipped %v", m.Overall.Rows, m.Overall.Skipped)
	}

	// Evaluate over a file names the file and the row in it.
	type row struct {
		Y int64   `parquet:"y"`
		P float64 `parquet:"p"`
	}
	path := filepath.Join(t.TempDir(), "preds.parquet")
	if err := parquet.WriteFile(path, []row{{1, 0.5}, {0, 0.25}, {1, -0.5}}); err != nil {
		t.Fatal(err)
	}
	_, err = evalnll.Evaluate(context.Background(), specWith(func(s *evalnll.Spec) {}), path)
	if !errors.As(err, &re) || re.File != path || re.Row != 3 || re.Column != "p" || re.Reason != "-0.5 is outside [0, 1]" {
		t.Fatalf("Evaluate: got %v (%+v)", err, re)
	}
	if want := path + `:3: column "p": -0.5 is outside [0, 1]`; err.Error() != want {
		t.Errorf("Evaluate: message %q, want %q", err, want)
	}

	// No valid rows is an error, not a report of nll 0.
	empty, err := evalnll.NewAccumulator(specWith(func(s *evalnll.Spec) {}), good.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Report(); !errors.Is(err, evalnll.ErrNoRows) {
		t.Errorf("Report of no rows: %v", err)
	}
}

func TestMergeMismatch(t *testing.T) {
	mem := checked(t)
	rec := predictions(mem, []int64{1, 0}, []float64{0.9, 0.2})
	defer rec.Release()
	newAcc := func(f func(*evalnll.Spec)) *evalnll.Accumulator {
		acc, err := evalnll.NewAccumulator(specWith(f), rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Add(rec); err != nil {
			t.Fatal(err)
		}
		return acc
	}
	for _, c := range []struct {
		field string
		other func(*evalnll.Spec)
	}{
		{"Bins", func(s *evalnll.Spec) { s.Bins = 10 }},
		{"Eps", func(s *evalnll.Spec) { s.Eps = 1e-6 }},
		{"Units", func(s *evalnll.Spec) { s.Units = evalnll.Bits }},
		{"Binning", func(s *evalnll.Spec) { s.Binning = evalnll.Quantile }},
		{"SkipInvalid", func(s *evalnll.Spec) { s.SkipInvalid = true }},
		{"Bootstrap", func(s *evalnll.Spec) { s.Bootstrap = 10 }},
		{"Worst", func(s *evalnll.Spec) { s.Worst = 3 }},
		{"Weight", func(s *evalnll.Spec) { s.Weight = "p" }},
		{"ID", func(s *evalnll.Spec) { s.ID = "y" }},
		{"By", func(s *evalnll.Spec) { s.By = []string{"y"} }},
		{"AUROC", func(s *evalnll.Spec) { s.AUROC = true }},
	} {
		t.Run(c.field, func(t *testing.T) {
			a, b := newAcc(func(*evalnll.Spec) {}), newAcc(c.other)
			err := a.Merge(b)
			var me *evalnll.MismatchError
			if !errors.As(err, &me) || me.Field != c.field || !errors.Is(err, evalnll.ErrMismatch) {
				t.Fatalf("got %v, want a *MismatchError naming %s", err, c.field)
			}
			// a is unchanged and still reports.
			m, err := a.Report()
			if err != nil || m.Overall.Rows != 2 {
				t.Errorf("after a refused merge: %v", err)
			}
		})
	}

	// Lists of different lengths: class counts differ.
	lists := func(n int) arrow.RecordBatch {
		schema := arrow.NewSchema([]arrow.Field{{Name: "y", Type: arrow.PrimitiveTypes.Int64}, {Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}}, nil)
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(0)
		lb := b.Field(1).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float64Builder).AppendValues(make([]float64, n), nil)
		return b.NewRecordBatch()
	}
	r3, r4 := lists(3), lists(4)
	defer r3.Release()
	defer r4.Release()
	var accs []*evalnll.Accumulator
	for _, r := range []arrow.RecordBatch{r3, r4} {
		acc, err := evalnll.NewAccumulator(specWith(func(*evalnll.Spec) {}), r.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Add(r); err != nil {
			t.Fatal(err)
		}
		accs = append(accs, acc)
	}
	var me *evalnll.MismatchError
	if err := accs[0].Merge(accs[1]); !errors.As(err, &me) || me.Field != "classes" {
		t.Errorf("class counts 3 and 4: got %v", err)
	}

	// A merged accumulator is spent.
	a, b := newAcc(func(*evalnll.Spec) {}), newAcc(func(*evalnll.Spec) {})
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(rec); err == nil {
		t.Error("Add to an accumulator merged into another: no error")
	}
	if err := a.Merge(a); err == nil {
		t.Error("Merge into itself: no error")
	}
	// ... and the other goes on: rows added after a merge count too.
	if err := a.Add(rec); err != nil {
		t.Fatal(err)
	}
	if m, err := a.Report(); err != nil || m.Overall.Rows != 6 {
		t.Errorf("rows after merge and add: %v", err)
	}
}

func TestEvaluateRecords(t *testing.T) {
	mem := checked(t)
	a := predictions(mem, []int64{1, 0}, []float64{0.9, 0.2})
	defer a.Release()
	b := predictions(mem, []int64{1, 1}, []float64{0.6, 0.99})
	defer b.Release()
	rr, err := array.NewRecordReader(a.Schema(), []arrow.RecordBatch{a, b})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	spec := specWith(func(*evalnll.Spec) {})
	th, err := gate.ParseThreshold("nll > 0.2")
	if err != nil {
		t.Fatal(err)
	}
	spec.FailIf = []gate.Threshold{th}
	m, err := evalnll.EvaluateRecords(context.Background(), spec, rr)
	if err != nil {
		t.Fatal(err)
	}
	// -(ln 0.9 + ln 0.8 + ln 0.6 + ln 0.99) / 4
	if want := 0.21234500664788206; m.Overall.Rows != 4 || math.Abs(m.Overall.NLL-want) > 1e-15 {
		t.Errorf("rows %d nll %v, want 4 and %v", m.Overall.Rows, m.Overall.NLL, want)
	}
	if len(m.Gates) != 1 || !m.Gates[0].Failed {
		t.Errorf("gates %+v: want nll > 0.2 failed", m.Gates)
	}
	// A gate on a figure the kind has not: refused before any row.
	th, _ = gate.ParseThreshold("nll_per_token > 1")
	spec.FailIf = []gate.Threshold{th}
	var me *gate.MetricError
	if _, err := evalnll.NewAccumulator(spec, a.Schema()); !errors.As(err, &me) || !me.Before {
		t.Errorf("gate on nll_per_token: %v", err)
	}
}
