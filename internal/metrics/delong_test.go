package metrics

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// directDeLong is DeLong's standard error of the AUROC of scores sc with
// outcomes o, over the rows (all pairs, ties one half).
func directDeLong(o []int64, sc []float64) (auc, se float64) {
	var pos, neg []float64
	for i := range o {
		if o[i] == 1 {
			pos = append(pos, sc[i])
		} else {
			neg = append(neg, sc[i])
		}
	}
	psi := func(x, y float64) float64 {
		switch {
		case x > y:
			return 1
		case x == y:
			return 0.5
		}
		return 0
	}
	m, n := float64(len(pos)), float64(len(neg))
	v10, v01 := make([]float64, len(pos)), make([]float64, len(neg))
	for i, x := range pos {
		for j, y := range neg {
			s := psi(x, y)
			v10[i] += s / n
			v01[j] += s / m
		}
	}
	for _, v := range v10 {
		auc += v / m
	}
	var s10, s01 float64
	for _, v := range v10 {
		s10 += (v - auc) * (v - auc) / (m - 1)
	}
	for _, v := range v01 {
		s01 += (v - auc) * (v - auc) / (n - 1)
	}
	return auc, math.Sqrt(s10/m + s01/n)
}

// TestDeLong checks the AUROC's DeLong standard error against the
// definition over the rows: from the kept points (every distinct
// confidence a cell) and from the grid (the rows scored by their cell, so
// tied at cell resolution as the reported AUROC is), over several
// evaluators.
func TestDeLong(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 3))
	const n = 1500
	y, p := make([]int64, n), make([]float64, n)
	for i := range n {
		z := r.NormFloat64()
		p[i] = 1 / (1 + math.Exp(-2*z))
		if i%4 == 0 {
			p[i] = math.Round(p[i]*20) / 20 // ties
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	cfg := DefaultConfig()
	cfg.Discrim = true
	for _, grid := range []bool{false, true} {
		func() {
			defer func(v int) { histExact = v }(histExact)
			sc := p
			if grid {
				histExact = 0
				sc = make([]float64, n)
				for i := range sc {
					sc[i] = float64(HistCell(p[i]))
				}
			}
			f := runBinary(t, &cfg, y, p, nil, nil, r, 3).Overall
			auc, se := directDeLong(y, sc)
			t.Logf("grid=%v: auroc %.6f (direct %.6f), DeLong se %.6f (direct %.6f)", grid, *f.AUROC, auc, *f.AUROCSE, se)
			if f.AUROCSE == nil || !(math.Abs(*f.AUROCSE-se) <= 1e-12) || !(math.Abs(*f.AUROC-auc) <= 1e-12) {
				t.Errorf("grid=%v: auroc %v, se %v; direct %v, %v", grid, *f.AUROC, f.AUROCSE, auc, se)
			}
		}()
	}
	cfg.Weighted = true
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 + float64(i%3)
	}
	if f := runBinary(t, &cfg, y, p, w, nil, r, 2).Overall; f.AUROCSE != nil {
		t.Errorf("weighted: DeLong se %v, want none", *f.AUROCSE)
	}
}

// TestDeLongCoverage: 2000 samples of 2000 rows of a binormal model (the
// score of a positive N(0.8, 1), of a negative N(0, 1), a third of the
// rows positive, as probabilities through the logistic function, rounded
// to 3 decimals in half the samples); population AUROC Φ(0.8/√2) without
// rounding. The DeLong 95% interval must hold it about 95% of the time
// (unrounded samples; the rounded ones, whose population AUROC with ties
// differs a little, are reported). EVALNLL_LONG=1.
func TestDeLongCoverage(t *testing.T) {
	if os.Getenv("EVALNLL_LONG") == "" {
		t.Skip("set EVALNLL_LONG=1 to run the coverage simulation")
	}
	const sims, n, mu = 2000, 2000, 0.8
	truth := 0.5 * math.Erfc(-mu/math.Sqrt2/math.Sqrt2)
	r := rand.New(rand.NewPCG(2026, 26))
	y, p := make([]int64, n), make([]float64, n)
	covered := [2]int{}
	for s := range sims {
		rounded := s%2 == 1
		for i := range n {
			z := r.NormFloat64()
			y[i] = 0
			if r.IntN(3) == 0 {
				y[i], z = 1, z+mu
			}
			p[i] = 1 / (1 + math.Exp(-z))
			if rounded {
				p[i] = math.Round(p[i]*1000) / 1000
			}
		}
		cfg := DefaultConfig()
		cfg.Discrim, cfg.Bootstrap.Replicates = true, 0
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnit(0)
		if !ev.Add(cols(y, p, nil, nil, 0, n, false, false), 0) {
			t.Fatalf("rows rejected: %+v", ev.State().Errs)
		}
		f := ev.State().Summary().Overall
		if lo, hi := *f.AUROC-1.96**f.AUROCSE, *f.AUROC+1.96**f.AUROCSE; lo <= truth && truth <= hi {
			covered[s%2]++
		}
	}
	for k, name := range []string{"unrounded", "rounded to 3 decimals"} {
		rate := float64(covered[k]) / (sims / 2)
		t.Logf("%s: the DeLong 95%% interval held the population AUROC %.4f in %d of %d samples (%.1f%%)", name, truth, covered[k], sims/2, 100*rate)
		if k == 0 && (rate < 0.93 || rate > 0.97) {
			t.Errorf("%s: coverage %.3f, want about 0.95", name, rate)
		}
	}
}
