package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// listRun evaluates list rows (multiclass: labels y; multilabel: label
// lists ylist) over nev evaluators, in units of random size.
func listRun(t *testing.T, cfg *Config, y []int64, ylist []int64, p []float64, k int, w []float64, s []string, r *rand.Rand, nev int) Result {
	t.Helper()
	n := len(p) / k
	evs := make([]*Evaluator, nev)
	for i := range evs {
		evs[i] = NewEvaluator(cfg, k)
	}
	for lo, u := 0, 0; lo < n; u++ {
		hi := min(n, lo+1+r.IntN(500))
		off := make([]int64, hi-lo+1)
		for i := range off {
			off[i] = int64(i * k)
		}
		c := &Cols{Rows: hi - lo,
			Pred: &column.Column{Type: column.Float64, List: true, Len: hi - lo, F64: p[lo*k : hi*k], Offsets: off},
		}
		if ylist != nil {
			c.Label = &column.Column{Type: column.Int, List: true, Len: hi - lo, Ints: ylist[lo*k : hi*k], Offsets: off}
		} else {
			c.Label = &column.Column{Type: column.Int, Len: hi - lo, Ints: y[lo:hi]}
		}
		if cfg.Weighted {
			c.Weight = &column.Column{Type: column.Float64, Len: hi - lo, F64: w[lo:hi]}
		}
		if cfg.ByCols > 0 {
			c.By = []*column.Column{{Type: column.String, Len: hi - lo, Strs: s[lo:hi]}}
		}
		ev := evs[r.IntN(nev)]
		ev.BeginUnit(u)
		if !ev.Add(c, 0) {
			t.Fatalf("rows rejected: %+v", ev.State().Errs)
		}
		lo = hi
	}
	st := evs[0].State()
	for _, ev := range evs[1:] {
		st.Merge(ev.State())
	}
	return st.Summary()
}

// ovrDirect is the one-vs-rest AUROC and AP of scores sc with outcomes o
// (all pairs, plain sort), and the tie bound of the coarse cells.
func ovrDirect(o []int64, sc, w []float64) (auroc, ap, ties float64) {
	auroc, ap = directAUC(o, sc, w)
	var P, N float64
	pc, nc := map[int]float64{}, map[int]float64{}
	for i := range o {
		if o[i] == 1 {
			P += w[i]
			pc[ovrCell(sc[i])] += w[i]
		} else {
			N += w[i]
			nc[ovrCell(sc[i])] += w[i]
		}
	}
	for c, v := range pc {
		ties += v * nc[c]
	}
	return auroc, ap, ties / (P * N) / 2
}

func TestClassDetailMulticlass(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n, k = 1200, 4
	y := make([]int64, n)
	p := make([]float64, n*k)
	w := make([]float64, n)
	s := make([]string, n)
	for i := range n {
		var sum float64
		y[i] = int64(r.IntN(k))
		for j := range k {
			v := r.ExpFloat64()
			if int64(j) == y[i] {
				v *= 2.5 // informative
			}
			if i%5 == 0 {
				v = math.Round(v*4) / 4 // ties
			}
			p[i*k+j] = v
			sum += v
		}
		for j := range k {
			p[i*k+j] /= sum
		}
		w[i] = 0.5 + r.Float64()
		s[i] = []string{"a", "b"}[r.IntN(2)]
	}
	for _, weighted := range []bool{false, true} {
		name := fmt.Sprintf("weighted=%v", weighted)
		cfg := DefaultConfig()
		cfg.Kind, cfg.Weighted, cfg.ByCols = Multiclass, weighted, 1
		cfg.TopK, cfg.Discrim, cfg.Classwise = 2, true, true
		res := listRun(t, &cfg, y, nil, p, k, w, s, r, 1)
		if a, b := fmt.Sprint(summaryValues(res)), fmt.Sprint(summaryValues(listRun(t, &cfg, y, nil, p, k, w, s, r, 3))); a != b {
			t.Fatalf("%s: figures depend on the split", name)
		}
		ww := w
		if !weighted {
			ww = make([]float64, n)
			for i := range ww {
				ww[i] = 1
			}
		}
		var W, top float64
		for i := range n {
			W += ww[i]
			rank := 0
			for j := range k {
				if pj, py := p[i*k+j], p[i*k+int(y[i])]; pj > py || (pj == py && j < int(y[i])) {
					rank++
				}
			}
			if rank < 2 {
				top += ww[i]
			}
		}
		f := res.Overall
		if f.TopKN != 2 || !near(*f.TopK, top/W, 1e-12) {
			t.Errorf("%s: top-2 accuracy %v, direct %v", name, *f.TopK, top/W)
		}
		var mroc, map_, mties, cwece float64
		for c := range k {
			o, sc := make([]int64, n), make([]float64, n)
			nb := cfg.Bins
			bw, b1, bp := make([]float64, nb), make([]float64, nb), make([]float64, nb)
			for i := range n {
				sc[i] = p[i*k+c]
				if y[i] == int64(c) {
					o[i] = 1
				}
				b := UniformBin(sc[i], nb)
				bw[b] += ww[i]
				b1[b] += ww[i] * float64(o[i])
				bp[b] += ww[i] * sc[i]
			}
			roc, ap, ties := ovrDirect(o, sc, ww)
			mroc += roc / k
			map_ += ap / k
			mties += ties / k
			var gap float64
			for b := range nb {
				gap += math.Abs(b1[b] - bp[b])
			}
			cwece += gap / W / k
			for _, pc := range res.PerClass {
				if pc.Class == c && !near(*pc.ECE, gap/W, 1e-9) {
					t.Errorf("%s: class %d ECE %v, direct %v", name, c, *pc.ECE, gap/W)
				}
			}
		}
		if !(math.Abs(*f.AUROC-mroc) <= mties+1e-12) {
			t.Errorf("%s: macro auroc %v, direct %v, beyond the tie bound %v", name, *f.AUROC, mroc, mties)
		}
		if !(math.Abs(*f.AUPRC-map_) <= 0.01) {
			t.Errorf("%s: macro auprc %v, direct %v", name, *f.AUPRC, map_)
		}
		if !near(*f.Detail.ClasswiseECE, cwece, 1e-9) {
			t.Errorf("%s: classwise_ece %v, direct %v", name, *f.Detail.ClasswiseECE, cwece)
		}
		if res.Slices[0].TopK == nil || res.Slices[0].AUROC == nil {
			t.Errorf("%s: slices lack top-k or auroc", name)
		}
	}
}

func TestClassDetailMultilabel(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n, k = 1000, 3
	yl := make([]int64, n*k)
	p := make([]float64, n*k)
	w := make([]float64, n)
	s := make([]string, n)
	for i := range n {
		for j := range k {
			v := r.Float64()
			p[i*k+j] = v
			if r.Float64() < v*v {
				yl[i*k+j] = 1
			}
		}
		w[i] = 0.5 + r.Float64()
	}
	for _, weighted := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Kind, cfg.Weighted, cfg.Discrim = Multilabel, weighted, true
		res := listRun(t, &cfg, nil, yl, p, k, w, s, r, 2)
		ww := w
		if !weighted {
			ww = make([]float64, n)
			for i := range ww {
				ww[i] = 1
			}
		}
		var mroc, mties float64
		for j := range k {
			o, sc := make([]int64, n), make([]float64, n)
			for i := range n {
				o[i], sc[i] = yl[i*k+j], p[i*k+j]
			}
			roc, _, ties := ovrDirect(o, sc, ww)
			mroc += roc / k
			mties += ties / k
		}
		if f := res.Overall; !(math.Abs(*f.AUROC-mroc) <= mties+1e-12) {
			t.Errorf("weighted=%v: macro auroc %v, direct %v, beyond the tie bound %v", weighted, *f.AUROC, mroc, mties)
		}
	}
}
