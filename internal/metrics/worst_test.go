package metrics

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// TestWorstPerToken: a token-list run keeps two worst lists, by NLL per
// sequence and by NLL per token, each the top N of a brute-force ranking
// (ties by position; an empty list ranks as 0 per token), whatever the
// split into units and evaluators. Enough rows that the lists are trimmed
// while they fill.
func TestWorstPerToken(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, keep = 600, 5
	off := []int64{0}
	var vals []float64
	type ref struct {
		row       int
		nll, tok  float64
		perTokKey float64
	}
	refs := make([]ref, n)
	for i := range n {
		k := r.IntN(40)
		if i%97 == 0 {
			k = 0
		}
		var s float64
		for range k {
			// Multiples of 1/8: the sum is exact in any order.
			v := -float64(r.IntN(40)) / 8
			vals = append(vals, v)
			s += v
		}
		off = append(off, int64(len(vals)))
		key := 0.0
		if k > 0 {
			key = -s / float64(k)
		}
		refs[i] = ref{i, -s, float64(k), key}
	}
	col := &column.Column{Type: column.Float64, List: true, Len: n, Offsets: off, F64: vals}
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred, cfg.Tokens, cfg.Worst = Logprob, PredLogprob, true, keep
	cfg.Bootstrap.Replicates = 0

	bySeq := append([]ref(nil), refs...)
	sort.SliceStable(bySeq, func(i, j int) bool { return bySeq[i].nll > bySeq[j].nll })
	byTok := append([]ref(nil), refs...)
	sort.SliceStable(byTok, func(i, j int) bool { return byTok[i].perTokKey > byTok[j].perTokKey })

	for _, split := range []int{n, 250, 37} {
		var st *State
		for lo := 0; lo < n; lo += split {
			hi := min(lo+split, n)
			e := NewEvaluator(&cfg, 0)
			e.BeginUnit(0)
			c := Cols{Rows: n, Pred: col}
			part := c.Slice(lo, hi)
			if !e.Add(&part, int64(lo)) {
				t.Fatal("Add failed")
			}
			if st == nil {
				st = e.State()
			} else {
				st.Merge(e.State())
			}
		}
		res := st.Summary()
		if len(res.Worst) != keep || len(res.WorstPerToken) != keep {
			t.Fatalf("split %d: %d and %d worst rows, want %d", split, len(res.Worst), len(res.WorstPerToken), keep)
		}
		for i := range keep {
			if w := res.Worst[i]; w.Row != int64(bySeq[i].row) || w.NLL != bySeq[i].nll || w.Tokens != bySeq[i].tok {
				t.Errorf("split %d: worst[%d] = row %d (nll %v, %v tokens), want row %d (nll %v)", split, i, w.Row, w.NLL, w.Tokens, bySeq[i].row, bySeq[i].nll)
			}
			w := res.WorstPerToken[i]
			if w.Row != int64(byTok[i].row) || w.Tokens != byTok[i].tok {
				t.Errorf("split %d: worst per token[%d] = row %d, want row %d (%v per token)", split, i, w.Row, byTok[i].row, byTok[i].perTokKey)
			}
			if got := w.NLLPerToken(); got != byTok[i].perTokKey {
				t.Errorf("split %d: worst per token[%d]: %v per token, want %v", split, i, got, byTok[i].perTokKey)
			}
		}
	}
	// Not a token run: no per-token list.
	cfg.Tokens = false
	if res := NewEvaluator(&cfg, 0).State().Summary(); res.WorstPerToken != nil {
		t.Error("a per-token list for a run that is not of token lists")
	}
}

// TestWorstDescribesRows: a worst row carries its label and prediction:
// binary as given, multiclass the top class and its probability (softmax
// of logits), gaussian the mean and the std.
func TestWorstDescribesRows(t *testing.T) {
	f64 := func(v ...float64) *column.Column {
		return &column.Column{Type: column.Float64, Len: len(v), F64: v}
	}
	ints := func(v ...int64) *column.Column { return &column.Column{Type: column.Int, Len: len(v), Ints: v} }
	run := func(cfg Config, c Cols) []WorstRow {
		cfg.Worst, cfg.Bootstrap.Replicates = 2, 0
		e := NewEvaluator(&cfg, 0)
		e.BeginUnit(0)
		if !e.Add(&c, 0) {
			t.Fatal("Add failed")
		}
		return e.State().Summary().Worst
	}

	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred = Binary, PredProb
	w := run(cfg, Cols{Rows: 3, Label: ints(1, 0, 1), Pred: f64(0.9, 0.8, 0.25)})
	if w[0].Row != 1 || w[0].Label != (Value{Kind: VInt, I: 0}) || w[0].Pred != 0.8 || w[0].PredClass != -1 || !math.IsNaN(w[0].Scale) {
		t.Errorf("binary: %+v", w[0])
	}
	if w[1].Row != 2 || w[1].Pred != 0.25 || w[1].Label.I != 1 {
		t.Errorf("binary: %+v", w[1])
	}

	cfg.Pred = PredLogit
	w = run(cfg, Cols{Rows: 2, Label: ints(1, 0), Pred: f64(-3, 0.5)})
	if w[0].Row != 0 || w[0].Pred != -3 {
		t.Errorf("binary logit: %+v", w[0])
	}

	cfg.Kind, cfg.Pred = Multiclass, PredLogit
	logits := &column.Column{Type: column.Float64, List: true, Len: 2, Offsets: []int64{0, 3, 6}, F64: []float64{0, 2, math.Log(2) + 2, 5, 0, 0}}
	w = run(cfg, Cols{Rows: 2, Label: ints(0, 0), Pred: logits})
	// Row 0: softmax (1, e², 2e²)/(1+3e²), top class 2.
	want := 2 * math.Exp(2) / (1 + 3*math.Exp(2))
	if w[0].Row != 0 || w[0].PredClass != 2 || math.Abs(w[0].Pred-want) > 1e-15 || w[0].Label.I != 0 {
		t.Errorf("multiclass: %+v, want class 2 with p %v", w[0], want)
	}

	cfg.Kind, cfg.Pred = Gaussian, PredStd
	w = run(cfg, Cols{Rows: 2, Label: f64(1, 10), Pred: f64(1, 0), Scale: f64(2, 0.5)})
	if w[0].Row != 1 || w[0].Pred != 0 || w[0].Scale != 0.5 || w[0].Label != (Value{Kind: VFloat, F: 10}) {
		t.Errorf("gaussian: %+v", w[0])
	}
}
