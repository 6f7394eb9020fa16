package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestHistCellOrderAndWidth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var xs []float64
	for range 200000 {
		switch r.IntN(4) {
		case 0:
			xs = append(xs, r.Float64())
		case 1:
			xs = append(xs, math.Ldexp(r.Float64(), -r.IntN(60)))
		case 2:
			xs = append(xs, 1-math.Ldexp(r.Float64(), -r.IntN(60)))
		default:
			xs = append(xs, 0.5+(r.Float64()-0.5)*1e-3)
		}
	}
	xs = append(xs, 0, 1, 0.5, math.Nextafter(0.5, 0), 0x1p-53, 0x1p-54, 1-0x1p-53, math.SmallestNonzeroFloat64)
	sort.Float64s(xs)
	lo, hi := map[int]float64{}, map[int]float64{}
	for i, x := range xs {
		k := HistCell(x)
		if k < 0 || k >= histCells {
			t.Fatalf("cell %d of %g out of range", k, x)
		}
		if i > 0 && k < HistCell(xs[i-1]) {
			t.Fatalf("cells not monotone: %g in %d, %g in %d", xs[i-1], HistCell(xs[i-1]), x, k)
		}
		if _, ok := lo[k]; !ok {
			lo[k] = x
		}
		hi[k] = x
		// The cell's integer sum scale holds x exactly.
		if exp, ok := cellScale(k); ok && math.Ldexp(float64(cellMant(x)), exp) != x {
			t.Fatalf("cellMant(%g) in cell %d is not exact", x, k)
		}
	}
	for k, a := range lo {
		b := hi[k]
		d := math.Max(math.Min(a, 1-a), math.Min(b, 1-b)) // to the nearer end
		if k != 0 && k != histCells-1 && b-a > d*0x1p-7 {
			t.Fatalf("cell %d spans [%g, %g], wider than 2^-7 of %g", k, a, b, d)
		}
	}
}

// directAUC is the AUROC and average precision of the rows over all pairs
// and a plain sort, in float64.
func directAUC(y []int64, p, w []float64) (auroc, ap float64) {
	var P, N, num float64
	for i := range y {
		if y[i] == 1 {
			P += w[i]
		} else {
			N += w[i]
		}
	}
	for i := range y {
		if y[i] != 1 {
			continue
		}
		for j := range y {
			if y[j] == 1 {
				continue
			}
			if p[i] > p[j] {
				num += w[i] * w[j]
			} else if p[i] == p[j] {
				num += w[i] * w[j] / 2
			}
		}
	}
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	var tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		var dtp float64
		for ; j < len(idx) && p[idx[j]] == p[idx[i]]; j++ {
			if y[idx[j]] == 1 {
				dtp += w[idx[j]]
			} else {
				fp += w[idx[j]]
			}
		}
		tp += dtp
		if dtp > 0 {
			ap += dtp / P * tp / (tp + fp)
		}
		i = j
	}
	return num / (P * N), ap
}

// directSmooth is the smooth ECE at sigma as its definition reads: the
// kernel sum over the rows themselves at 2001 quadrature nodes.
func directSmooth(y []int64, p, w []float64, sigma float64) float64 {
	const m = 2001
	var W float64
	for _, v := range w {
		W += v
	}
	phi := func(d float64) float64 {
		d /= sigma
		return math.Exp(-d*d/2) / (sigma * math.Sqrt(2*math.Pi))
	}
	var integral float64
	for j := 0; j < m; j++ {
		tt := float64(j) / (m - 1)
		var g float64
		for i := range y {
			k := 0.0
			for r := -1.0; r <= 1; r++ {
				k += phi(tt-p[i]-2*r) + phi(tt+p[i]-2*r)
			}
			g += w[i] * (float64(y[i]) - p[i]) * k
		}
		a := math.Abs(g)
		if j == 0 || j == m-1 {
			a /= 2
		}
		integral += a
	}
	return integral / (m - 1) / W
}

func runBinary(t *testing.T, cfg *Config, y []int64, p, w []float64, s []string, r *rand.Rand, nev int) Result {
	t.Helper()
	evs := make([]*Evaluator, nev)
	for i := range evs {
		evs[i] = NewEvaluator(cfg, 0)
	}
	for lo, u := 0, 0; lo < len(y); u++ {
		hi := min(len(y), lo+1+r.IntN(3000))
		ev := evs[r.IntN(nev)]
		ev.BeginUnit(u)
		if !ev.Add(cols(y, p, w, s, lo, hi, cfg.Weighted, cfg.ByCols > 0), 0) {
			t.Fatal("valid rows rejected")
		}
		lo = hi
	}
	st := evs[0].State()
	for _, ev := range evs[1:] {
		st.Merge(ev.State())
	}
	return st.Summary()
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestDetailAgainstDirect checks the new figures against direct
// computations over the rows, weighted or not, with --by, from the exact
// predictions and from the cells, and their independence of the split.
func TestDetailAgainstDirect(t *testing.T) {
	defer func(v int) { histExact = v }(histExact)
	r := rand.New(rand.NewPCG(5, 6))
	const n = 1500
	var y []int64
	var p, w []float64
	var s []string
	for i := range n {
		q := r.Float64()
		if i%7 == 0 {
			q = math.Round(q*20) / 20 // ties
		}
		lab := int64(0)
		if r.Float64() < q*q*0.8+0.1 { // miscalibrated
			lab = 1
		}
		y, p = append(y, lab), append(p, q)
		w = append(w, 0.25+r.Float64())
		s = append(s, []string{"a", "b"}[r.IntN(2)])
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	// The exact points; the grid from the start; and points moved to the
	// grid part way, at different rows in different evaluators (700 < n/2).
	fromGrid := map[string]string{}
	for _, limit := range []int{HistExact, 0, 700} {
		histExact = limit
		exactMode := limit == HistExact
		for _, weighted := range []bool{false, true} {
			for _, binning := range []Binning{Uniform, Quantile} {
				name := fmt.Sprintf("limit=%d weighted=%v %v", limit, weighted, binning)
				cfg := DefaultConfig()
				cfg.Weighted, cfg.Discrim, cfg.ByCols, cfg.Binning = weighted, true, 1, binning
				ww := ones
				if weighted {
					ww = w
				}
				res := runBinary(t, &cfg, y, p, w, s, r, 1)
				res2 := runBinary(t, &cfg, y, p, w, s, r, 3)
				got := fmt.Sprint(summaryValues(res))
				if got != fmt.Sprint(summaryValues(res2)) {
					t.Fatalf("%s: figures depend on the split", name)
				}
				key := fmt.Sprint(weighted, binning)
				if limit == 700 {
					// Every slice passed 700 rows: the same grid as limit 0.
					if got != fromGrid[key] {
						t.Fatalf("%s: points moved to the grid part way differ from the grid", name)
					}
					continue
				}
				if limit == 0 {
					fromGrid[key] = got
				}
				f := res.Overall
				roc, ap := directAUC(y, p, ww)
				if exactMode {
					if !near(*f.AUROC, roc, 1e-12) || !near(*f.AUPRC, ap, 1e-12) {
						t.Errorf("%s: auroc %v auprc %v, direct %v %v", name, *f.AUROC, *f.AUPRC, roc, ap)
					}
				} else {
					if !(math.Abs(*f.AUROC-roc) <= *f.AUROCTies+1e-12) {
						t.Errorf("%s: auroc %v, direct %v, beyond the tie bound %v", name, *f.AUROC, roc, *f.AUROCTies)
					}
					if !(math.Abs(*f.AUPRC-ap) <= 2e-3) {
						t.Errorf("%s: auprc %v, direct %v", name, *f.AUPRC, ap)
					}
				}
				// A slice against its own rows.
				var sy []int64
				var sp, sw []float64
				for i := range y {
					if s[i] == "b" {
						sy, sp, sw = append(sy, y[i]), append(sp, p[i]), append(sw, ww[i])
					}
				}
				sroc, _ := directAUC(sy, sp, sw)
				if sl := res.Slices[1].Figures; exactMode && !near(*sl.AUROC, sroc, 1e-12) {
					t.Errorf("%s: slice auroc %v, direct %v", name, *sl.AUROC, sroc)
				}
				// Bin figures from the bins, computed here from the rows.
				if binning == Uniform {
					checkBinDetail(t, name, &f, y, p, ww, cfg.Bins)
				}
				// (the same cells, so the same smooth ECE, for either binning)
				if binning == Uniform {
					sm := directSmooth(y, p, ww, *f.Detail.SmECESigma)
					t.Logf("%s: smece %.7f, direct %.7f, sigma %v", name, *f.Detail.SmECE, sm, *f.Detail.SmECESigma)
					if !(math.Abs(*f.Detail.SmECE-sm) <= 1e-4) {
						t.Errorf("%s: smece %v, direct %v (sigma %v)", name, *f.Detail.SmECE, sm, *f.Detail.SmECESigma)
					}
				}
				if binning == Quantile && !exactMode {
					checkQuantileBound(t, name, &f, y, p, ww, cfg.Bins)
				}
			}
		}
	}
}

func checkBinDetail(t *testing.T, name string, f *Figures, y []int64, p, w []float64, nb int) {
	t.Helper()
	bw, bc, bo := make([]float64, nb), make([]float64, nb), make([]float64, nb)
	bn := make([]int, nb)
	var W, O float64
	for i := range y {
		b := UniformBin(p[i], nb)
		bw[b] += w[i]
		bc[b] += w[i] * p[i]
		bo[b] += w[i] * float64(y[i])
		bn[b]++
		W += w[i]
		O += w[i] * float64(y[i])
	}
	obar := O / W
	var rel, res, deb float64
	for b := range nb {
		if bn[b] == 0 {
			continue
		}
		c, o := bc[b]/bw[b], bo[b]/bw[b]
		rel += bw[b] / W * (o - c) * (o - c)
		res += bw[b] / W * (o - obar) * (o - obar)
		if bn[b] > 1 {
			deb += bw[b] / W * ((o-c)*(o-c) - o*(1-o)/float64(bn[b]-1))
		}
	}
	d := &f.Detail
	for _, c := range []struct {
		k         string
		got, want float64
	}{
		{"rmsce", *d.RMSCE, math.Sqrt(rel)},
		{"brier_reliability", *d.BrierReliability, rel},
		{"brier_resolution", *d.BrierResolution, res},
		{"brier_uncertainty", *d.BrierUncertainty, obar * (1 - obar)},
		{"l2ce_debiased", *d.L2CEDebiased, math.Sqrt(math.Max(deb, 0))},
	} {
		if !near(c.got, c.want, 1e-10) {
			t.Errorf("%s: %s = %v, direct %v", name, c.k, c.got, c.want)
		}
	}
}

// checkQuantileBound: from the cells, each quantile bin's weight is within
// the heaviest cell's weight of an exact equal-mass cut.
func checkQuantileBound(t *testing.T, name string, f *Figures, y []int64, p, w []float64, nb int) {
	t.Helper()
	cw := map[int]float64{}
	var W float64
	for i := range p {
		cw[HistCell(p[i])] += w[i]
		W += w[i]
	}
	var maxCell float64
	for _, v := range cw {
		maxCell = math.Max(maxCell, v)
	}
	var sum float64
	for _, b := range f.Calibration {
		sum += b.Weight
		if !(math.Abs(b.Weight-W/float64(nb)) <= maxCell+1e-9) {
			t.Errorf("%s: bin weight %v, equal mass %v, heaviest cell %v", name, b.Weight, W/float64(nb), maxCell)
		}
	}
	if !near(sum, W, 1e-12) {
		t.Errorf("%s: bins hold %v of %v", name, sum, W)
	}
}

// TestSweepDirect checks ece_sweep on distinct confidences against a
// direct sweep over the sorted rows (row of rank k in bin floor((k+1/2)B/n)).
func TestSweepDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 2000
	y, p := make([]int64, n), make([]float64, n)
	w, s := make([]float64, n), make([]string, n)
	for i := range p {
		p[i] = r.Float64()
		if r.Float64() < p[i] {
			y[i] = 1
		}
		w[i] = 1
	}
	cfg := DefaultConfig()
	cfg.Discrim = true
	res := runBinary(t, &cfg, y, p, w, s, r, 2)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	best, bestB := math.NaN(), 0
	for B := 1; B <= n; B++ {
		sw, so, sc := make([]float64, B), make([]float64, B), make([]float64, B)
		for k, i := range idx {
			b := int(math.Floor((float64(k) + 0.5) / n * float64(B)))
			sw[b]++
			so[b] += float64(y[i])
			sc[b] += p[i]
		}
		prev, mono, ece := -1.0, true, 0.0
		for b := range B {
			if sw[b] == 0 {
				continue
			}
			o := so[b] / sw[b]
			if o < prev {
				mono = false
			}
			prev = o
			ece += math.Abs(so[b] - sc[b])
		}
		if !mono {
			break
		}
		best, bestB = ece/n, B
	}
	d := res.Overall.Detail
	// A calibrated model: a small bandwidth, from the points and the grid.
	sm := directSmooth(y, p, w, *d.SmECESigma)
	defer func(v int) { histExact = v }(histExact)
	histExact = 0
	g := runBinary(t, &cfg, y, p, w, s, r, 2).Overall.Detail
	t.Logf("calibrated: smece %.7f (grid %.7f, sigma %v), direct %.7f", *d.SmECE, *g.SmECE, *d.SmECESigma, sm)
	if !(math.Abs(*d.SmECE-sm) <= 1e-4) || *g.SmECESigma != *d.SmECESigma || !(math.Abs(*g.SmECE-sm) <= 1e-4) {
		t.Errorf("calibrated: smece %v (grid %v, sigma %v / %v), direct %v", *d.SmECE, *g.SmECE, *d.SmECESigma, *g.SmECESigma, sm)
	}
	if *d.ECESweepBins != bestB || !near(*d.ECESweep, best, 1e-10) {
		t.Errorf("ece_sweep %v over %d bins, direct %v over %d", *d.ECESweep, *d.ECESweepBins, best, bestB)
	}
}
