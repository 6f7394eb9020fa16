package metrics

import (
	"slices"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

func TestLabelsTranslate(t *testing.T) {
	mc, err := ClassLabels([]string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClassLabels([]string{"a", "a"}); err == nil {
		t.Fatal("duplicate class names accepted")
	}
	for _, tc := range []struct {
		labels *Labels
		col    column.Column
		want   []int64
	}{
		{mc, column.Column{Type: column.String, Len: 4, Strs: []string{"c", "a", "zz", "b"}}, []int64{2, 0, -1, 1}},
		{mc, column.Column{Type: column.String, Len: 4, Dict: []string{"b", "x", "c"}, Codes: []int32{0, 2, 1, 0}, Valid: []bool{true, true, true, false}}, []int64{1, 2, -1, 1}},
		{PositiveLabel("spam"), column.Column{Type: column.String, Len: 3, Strs: []string{"ham", "spam", "Spam"}}, []int64{0, 1, 0}},
		{PositiveLabel("spam"), column.Column{Type: column.String, Len: 3, Dict: []string{"spam", "ham"}, Codes: []int32{1, 0, 0}}, []int64{0, 1, 1}},
	} {
		e := &Evaluator{cfg: &Config{Labels: tc.labels}}
		c := &Cols{Rows: tc.col.Len, Label: &tc.col}
		got := e.translate(c)
		if got.Label.Type != column.Int || !slices.Equal(got.Label.Ints, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.col, got.Label.Ints, tc.want)
		}
		if c.Label != &tc.col {
			t.Error("translate changed its argument")
		}
		if tc.col.Valid != nil && &got.Label.Valid[0] != &tc.col.Valid[0] {
			t.Error("validity not kept")
		}
	}
	// The table of a dictionary is made once, and again for another one.
	e := &Evaluator{cfg: &Config{Labels: mc}}
	d1 := []string{"a", "b"}
	e.translate(&Cols{Rows: 1, Label: &column.Column{Type: column.String, Len: 1, Dict: d1, Codes: []int32{1}}})
	e.labels.table[1] = 99 // marks the cached table
	if got := e.translate(&Cols{Rows: 1, Label: &column.Column{Type: column.String, Len: 1, Dict: d1, Codes: []int32{1}}}); got.Label.Ints[0] != 99 {
		t.Error("the table was remade for the same dictionary")
	}
	d2 := []string{"c", "b"}
	if got := e.translate(&Cols{Rows: 1, Label: &column.Column{Type: column.String, Len: 1, Dict: d2, Codes: []int32{1}}}); got.Label.Ints[0] != 1 {
		t.Errorf("another dictionary: %d", got.Label.Ints[0])
	}
}

func TestPairColumn(t *testing.T) {
	// Rows: a pair, a null row, a pair with a null P(y=1), a list of 3, a pair.
	p := &column.Column{Type: column.Float64, List: true, Len: 5,
		Valid:     []bool{true, false, true, true, true},
		Offsets:   []int64{0, 2, 2, 4, 7, 9},
		F64:       []float64{0.1, 0.9, 0.5, 0.5, 0.2, 0.3, 0.5, 0.7, 0.3},
		ElemValid: []bool{true, true, true, false, true, true, true, true, true}}
	e := &Evaluator{cfg: &Config{Pair: true}}
	got, bad := e.pairColumn(&Cols{Rows: 5, Pred: p})
	if got.Pred.List || got.Pred.Type != column.Float64 {
		t.Fatalf("%+v", got.Pred)
	}
	if !slices.Equal(got.Pred.Valid, []bool{true, false, false, false, true}) || got.Pred.F64[0] != 0.9 || got.Pred.F64[4] != 0.3 {
		t.Errorf("valid %v, values %v", got.Pred.Valid, got.Pred.F64)
	}
	if len(bad) != 1 || bad[0] != (pairRow{3, 3}) {
		t.Errorf("bad rows %v", bad)
	}
	if re, ok := pairError(bad, 3); !ok || re.Reason != ReasonLength || re.Len != 3 || re.Want != 2 {
		t.Errorf("%+v", re)
	}
}
