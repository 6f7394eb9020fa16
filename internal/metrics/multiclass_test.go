package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// mcBatch is a batch of n multiclass probability rows of k classes with,
// when bad, every kind of invalid row among valid ones: lists of another
// length, labels out of range, elements outside [0, 1], NaN, ±Inf, sums
// off by more than 1e-3, and probabilities of the observed class that are
// 0, subnormal, tiny (clipped) or 1.
func mcBatch(r *rand.Rand, n, k int, bad bool) (y []int64, p []float64, off []int64) {
	off = []int64{0}
	for i := 0; i < n; i++ {
		m := k
		if bad && r.IntN(60) == 0 {
			m = r.IntN(2 * k)
		}
		row := make([]float64, m)
		var s float64
		for j := range row {
			row[j] = r.ExpFloat64()
			if r.IntN(9) == 0 {
				row[j] = 0
			}
			s += row[j]
		}
		for j := range row {
			if s > 0 {
				row[j] /= s
			}
		}
		if m >= 2 && r.IntN(10) == 0 {
			// Two equal largest probabilities: the first is the argmax.
			j := 1 + r.IntN(m-1)
			for l := range row {
				if row[l] > row[0] {
					row[0], row[l] = row[l], row[0]
				}
			}
			row[0] = (row[0] + row[j]) / 2
			row[j] = row[0]
		}
		lab := int64(r.IntN(k))
		if bad && m > 0 {
			j := r.IntN(m)
			switch r.IntN(40) {
			case 0:
				row[j] = math.NaN()
			case 1:
				row[j] = math.Inf(1 - 2*r.IntN(2))
			case 2:
				row[j] = -0.25
			case 3:
				row[j] = 1.5
			case 4:
				row[j] += 0.01 // the sum check fails
			case 5:
				lab = int64(k + r.IntN(3))
			case 6:
				lab = -1
			case 7:
				row[j] = math.Copysign(0, -1)
			case 8:
				row[j] = -1e-6 // the sum check passes
			case 9:
				row[j] = math.Nextafter(1, 2)
			}
		}
		if m > 0 && lab >= 0 && lab < int64(m) {
			switch r.IntN(30) {
			case 0:
				row[lab] = 0
			case 1:
				row[lab] = 5e-324
			case 2:
				row[lab] = 1e-300
			}
		}
		y = append(y, lab)
		p = append(p, row...)
		off = append(off, int64(len(p)))
	}
	return y, p, off
}

// compareTerms fails t unless the terms a columnar kernel filled are those
// of the per-row reference, row by row and bit for bit, and the batch
// mixes valid and invalid rows.
func compareTerms(t *testing.T, name string, fast, ref *terms) {
	t.Helper()
	invalid := 0
	for i := range ref.n {
		if fast.reason[i] != ref.reason[i] {
			t.Fatalf("%s row %d: reason %v, want %v", name, i, fast.reason[i], ref.reason[i])
		}
		if ref.reason[i] != ReasonNone {
			invalid++
			continue
		}
		same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
		if !same(fast.x[i], ref.x[i]) || !same(fast.conf[i], ref.conf[i]) || !same(fast.brier[i], ref.brier[i]) ||
			fast.correct[i] != ref.correct[i] || fast.out[i] != ref.out[i] || fast.class[i] != ref.class[i] || fast.clip[i] != ref.clip[i] {
			t.Fatalf("%s row %d: got x %v conf %v brier %v hit %v class %d clip %d, want %v %v %v %v %d %d", name, i,
				fast.x[i], fast.conf[i], fast.brier[i], fast.correct[i], fast.class[i], fast.clip[i],
				ref.x[i], ref.conf[i], ref.brier[i], ref.correct[i], ref.class[i], ref.clip[i])
		}
	}
	if invalid == 0 || invalid > ref.n/2 {
		t.Fatalf("%s: %d of %d rows invalid: the batch does not mix valid and invalid rows", name, invalid, ref.n)
	}
}

// TestMulticlassProbsKernel: the columnar kernel gives every row the
// reason, NLL, confidence, Brier score, hit, class and clip count of the
// per-row reference (multiclassRow), bit for bit, for float64 and float32
// lists, with and without clipping.
func TestMulticlassProbsKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, k := range []int{1, 2, 3, 10, 37} {
		for _, f32 := range []bool{false, true} {
			for _, eps := range []float64{1e-15, 0} {
				y, p, off := mcBatch(r, 3000, k, true)
				pred := &column.Column{Type: column.Float64, List: true, Len: len(y), F64: p, Offsets: off}
				if f32 {
					q := make([]float32, len(p))
					for i, v := range p {
						q[i] = float32(v)
					}
					pred.Type, pred.F64, pred.F32 = column.Float32, nil, q
				}
				c := &Cols{Rows: len(y), Label: &column.Column{Type: column.Int, Len: len(y), Ints: y}, Pred: pred}
				cfg := DefaultConfig()
				cfg.Kind, cfg.Pred, cfg.Eps = Multiclass, PredProb, eps
				e := NewEvaluator(&cfg, k)
				if !e.mcProbsFast(c) {
					t.Fatal("the kernel does not take the batch")
				}
				fast, ref := &terms{}, &terms{}
				fast.reset(c.Rows, c.Rows)
				ref.reset(c.Rows, c.Rows)
				if f32 {
					multiclassProbsKernel(e, c, pred.F32, fast)
				} else {
					multiclassProbsKernel(e, c, pred.F64, fast)
				}
				NewEvaluator(&cfg, k).rowKernel(c, ref)
				compareTerms(t, fmt.Sprintf("k=%d f32=%v eps=%v", k, f32, eps), fast, ref)
			}
		}
	}
}

// TestClassFiguresUnweighted: the per-class figures of an unweighted run
// (addClasses: grouped by class, or row by row when there are few rows per
// class) are those of the same rows with weights of 1.
func TestClassFiguresUnweighted(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, k := range []int{3, 10, 300} {
		y, p, off := mcBatch(r, 5000, k, true)
		run := func(weighted bool, batch int) string {
			cfg := DefaultConfig()
			cfg.Kind, cfg.Pred, cfg.Skip, cfg.Weighted = Multiclass, PredProb, true, weighted
			e := NewEvaluator(&cfg, k)
			e.BeginUnit(0)
			for lo := 0; lo < len(y); lo += batch {
				hi := min(len(y), lo+batch)
				o := off[lo : hi+1]
				rel := make([]int64, len(o))
				for i := range o {
					rel[i] = o[i] - o[0]
				}
				c := &Cols{Rows: hi - lo, Label: &column.Column{Type: column.Int, Len: hi - lo, Ints: y[lo:hi]},
					Pred: &column.Column{Type: column.Float64, List: true, Len: hi - lo, F64: p[o[0]:o[len(o)-1]], Offsets: rel}}
				if weighted {
					w := make([]float64, hi-lo)
					for i := range w {
						w[i] = 1
					}
					c.Weight = &column.Column{Type: column.Float64, Len: hi - lo, F64: w}
				}
				if !e.Add(c, int64(lo)) {
					t.Fatal("stopped in skip mode")
				}
			}
			res := e.State().Summary()
			if len(res.PerClass) == 0 {
				t.Fatal("no per-class figures")
			}
			return fmt.Sprintf("%+v", res.PerClass)
		}
		want := run(true, 5000)
		for _, batch := range []int{5000, 777, 16} {
			if got := run(false, batch); got != want {
				t.Errorf("k=%d batch %d: unweighted per-class figures\n%s\nwant (weights of 1)\n%s", k, batch, got, want)
			}
		}
	}
}

// TestBySliceOverall: the overall figures of a run with --by (every slice
// accumulated apart, rows grouped by groupRows) are those of the same rows
// without --by, bit for bit, for binary, multiclass and multilabel rows,
// weighted or not, with quantile bins too, and invalid rows skipped.
func TestBySliceOverall(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	const n, k = 6000, 4
	yb, pb, w, s := binaryRows(r, n)
	ym, pm, om := mcBatch(r, n, k, true)
	// Multilabel: k labels of 0/1 and k probabilities per row.
	var yl []int64
	var pl []float64
	ol := []int64{0}
	for i := range n {
		for range k {
			q := r.Float64()
			yl = append(yl, b2i(r.Float64() < q))
			pl = append(pl, q)
		}
		if i%97 == 0 {
			pl[len(pl)-1] = math.NaN()
		}
		ol = append(ol, int64(len(pl)))
	}
	sliceCol := &column.Column{Type: column.String, Len: n, Strs: s}
	wCol := &column.Column{Type: column.Float64, Len: n, F64: w}
	for _, kind := range []Kind{Binary, Multiclass, Multilabel} {
		for _, weighted := range []bool{false, true} {
			for _, binning := range []Binning{Uniform, Quantile} {
				run := func(by bool) string {
					cfg := DefaultConfig()
					cfg.Kind, cfg.Pred, cfg.Skip, cfg.Weighted, cfg.Binning = kind, PredProb, true, weighted, binning
					if by {
						cfg.ByCols = 1
					}
					c := &Cols{Rows: n}
					switch kind {
					case Binary:
						c.Label = &column.Column{Type: column.Int, Len: n, Ints: yb}
						c.Pred = &column.Column{Type: column.Float64, Len: n, F64: pb}
					case Multiclass:
						c.Label = &column.Column{Type: column.Int, Len: n, Ints: ym}
						c.Pred = &column.Column{Type: column.Float64, List: true, Len: n, F64: pm, Offsets: om}
					case Multilabel:
						c.Label = &column.Column{Type: column.Int, List: true, Len: n, Ints: yl, Offsets: ol}
						c.Pred = &column.Column{Type: column.Float64, List: true, Len: n, F64: pl, Offsets: ol}
					}
					if weighted {
						c.Weight = wCol
					}
					if by {
						c.By = []*column.Column{sliceCol}
					}
					e := NewEvaluator(&cfg, k)
					e.BeginUnit(0)
					if !e.Add(c, 0) {
						t.Fatal("stopped in skip mode")
					}
					res := e.State().Summary()
					if by && len(res.Slices) != 3 {
						t.Fatalf("%d slices", len(res.Slices))
					}
					return fmt.Sprintf("%+v", summaryValues(Result{Overall: res.Overall}))
				}
				if a, b := run(false), run(true); a != b {
					t.Errorf("kind %v weighted %v binning %v: overall figures with --by\n%s\nwithout\n%s", kind, weighted, binning, b, a)
				}
			}
		}
	}
}

// TestMulticlassLogitsKernel: the columnar kernel of logit lists gives
// every row the reason, NLL, confidence, Brier score, hit and class of the
// per-row reference (multiclassRow), bit for bit, for float32 and float64
// lists shorter and longer than a vector, with NaN and ±Inf anywhere
// (the tail included), lists of another length, labels out of range, ties
// for the largest logit, and logits far apart.
func TestMulticlassLogitsKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	for _, k := range []int{1, 2, 7, 16, 17, 40, 1000} {
		for _, f32 := range []bool{false, true} {
			n := 600
			var y []int64
			var z []float64
			off := []int64{0}
			for range n {
				m := k
				if r.IntN(50) == 0 {
					m = r.IntN(2*k + 1)
				}
				row := make([]float64, m)
				for j := range row {
					row[j] = r.NormFloat64() * 3
					if r.IntN(200) == 0 {
						row[j] = 800 * float64(1-2*r.IntN(2)) // beyond exp's range from the max
					}
				}
				if m >= 2 && r.IntN(8) == 0 {
					// A tie for the largest logit (when j != l).
					j, l := r.IntN(m), r.IntN(m)
					hi := max(row[j], row[l]) + 1
					row[j], row[l] = hi, hi
				}
				if m > 0 && r.IntN(25) == 0 {
					row[r.IntN(m)] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)]
				}
				lab := int64(r.IntN(k))
				if r.IntN(60) == 0 {
					lab = []int64{-1, int64(k), int64(k + 5)}[r.IntN(3)]
				}
				y = append(y, lab)
				z = append(z, row...)
				off = append(off, int64(len(z)))
			}
			pred := &column.Column{Type: column.Float64, List: true, Len: n, F64: z, Offsets: off}
			if f32 {
				q := make([]float32, len(z))
				for i, v := range z {
					q[i] = float32(v)
				}
				pred.Type, pred.F64, pred.F32 = column.Float32, nil, q
			}
			c := &Cols{Rows: n, Label: &column.Column{Type: column.Int, Len: n, Ints: y}, Pred: pred}
			cfg := DefaultConfig()
			cfg.Kind, cfg.Pred = Multiclass, PredLogit
			e := NewEvaluator(&cfg, k)
			if !e.mcLogitsFast(c) {
				t.Fatal("the kernel does not take the batch")
			}
			fast, ref := &terms{}, &terms{}
			fast.reset(n, n)
			ref.reset(n, n)
			if f32 {
				multiclassLogitsKernel(e, c, pred.F32, fast)
			} else {
				multiclassLogitsKernel(e, c, pred.F64, fast)
			}
			NewEvaluator(&cfg, k).rowKernel(c, ref)
			compareTerms(t, fmt.Sprintf("k=%d f32=%v", k, f32), fast, ref)
		}
	}
}
