package metrics

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/evalnll/evalnll/internal/exact"
)

// Calibration detail and discrimination: figures computed once at Summary
// from the calibration bins and the confidence histogram's cells.

// CalDetail are the calibration figures beyond ECE and MCE (nil: not
// computed).
type CalDetail struct {
	RMSCE                             *float64
	L2CEDebiased                      *float64
	BrierReliability, BrierResolution *float64
	BrierUncertainty                  *float64
	ECESweep                          *float64
	ECESweepBins                      *int
	SmECE, SmECESigma                 *float64
	// Curve is the smooth reliability curve at SmECESigma (with --auroc).
	Curve []CurvePoint
	// ClasswiseECE is the mean over classes of the one-vs-rest ECE
	// (multiclass, --classwise).
	ClasswiseECE *float64
}

func fp(v float64) *float64 { return &v }

func newBigF() *big.Float { return new(big.Float).SetPrec(prec) }

// binStats are a bin's weight, mean confidence and mean outcome (ok false
// for an empty bin), and its prediction count.
type binStats struct {
	w, conf, out float64
	n            int64
	ok           bool
}

func statsOf(bins []Bin, weighted bool) []binStats {
	out := make([]binStats, len(bins))
	for i := range bins {
		b := &bins[i]
		bw, conf, o := bigOf(&b.W), bigOf(&b.Conf), bigOf(&b.Out)
		if !weighted {
			bw, o = bigInt(b.Count), bigInt(b.OutN)
		}
		out[i].n = b.Count
		if b.Count == 0 || bw == nil || bw.Sign() == 0 {
			continue
		}
		out[i] = binStats{w: f64(bw), conf: quo(conf, bw), out: quo(o, bw), n: b.Count, ok: true}
	}
	return out
}

// binDetail computes rmsce, l2ce_debiased and Murphy's decomposition of the
// Brier score over the bins.
//
//   - rmsce = sqrt(Σ_b W_b/W (o_b - c_b)²);
//   - l2ce_debiased = sqrt(max(0, Σ_b W_b/W [(o_b - c_b)² - o_b(1-o_b)/(n_b-1)]))
//     (Kumar, Liang & Ma 2019; bins of fewer than 2 predictions add 0);
//   - brier_reliability = Σ_b W_b/W (c_b - o_b)², brier_resolution =
//     Σ_b W_b/W (o_b - ō)², brier_uncertainty = ō(1-ō), with c_b the bin's
//     mean confidence: the within-bin variance of the confidences is left
//     out, so reliability - resolution + uncertainty is the Brier score of
//     the bin-mean forecasts, not the reported Brier score (which it
//     undercuts by the within-bin terms).
func binDetail(d *CalDetail, st []binStats) {
	f, ok := binFigures(st)
	if !ok {
		return
	}
	d.RMSCE = fp(f.rmsce)
	d.L2CEDebiased = fp(f.l2ce)
	d.BrierReliability = fp(f.rel)
	d.BrierResolution = fp(f.res)
	d.BrierUncertainty = fp(f.unc)
}

// binFigs are binDetail's figures.
type binFigs struct{ rmsce, l2ce, rel, res, unc float64 }

// binFigures computes binDetail's figures from bin statistics (false when
// the bins hold no weight). The bootstrap's replicates use it too.
func binFigures(st []binStats) (binFigs, bool) {
	var W, Wo float64
	for _, b := range st {
		if b.ok {
			W += b.w
			Wo += b.w * b.out
		}
	}
	if !(W > 0) {
		return binFigs{}, false
	}
	obar := Wo / W
	var rel, res, deb float64
	for _, b := range st {
		if !b.ok {
			continue
		}
		p := b.w / W
		g := b.out - b.conf
		rel += p * g * g
		r := b.out - obar
		res += p * r * r
		if b.n >= 2 {
			deb += p * (g*g - b.out*(1-b.out)/float64(b.n-1))
		}
	}
	return binFigs{rmsce: math.Sqrt(rel), l2ce: math.Sqrt(max(deb, 0)), rel: rel, res: res, unc: obar * (1 - obar)}, true
}

// eceOf is the ECE of bin statistics: Σ W_b |o_b - c_b| / Σ W_b.
func eceOf(st []binStats) float64 {
	var W, s float64
	for _, b := range st {
		if b.ok {
			W += b.w
			s += b.w * math.Abs(b.out-b.conf)
		}
	}
	return s / W
}

// sweep is the monotone-sweep ECE (Roelofs et al., AISTATS 2022): the ECE
// over equal-mass bins, with the largest bin count b for which the bins'
// mean outcomes are non-decreasing in confidence (counts tried from 1 up,
// stopping at the first that is not monotone, and at most the number of
// cells).
func sweep(cs []cellSums) (float64, int) {
	if len(cs) == 0 {
		return math.NaN(), 0
	}
	// Each cell's weight, outcome weight and w·c, rounded once; bins are
	// differences of their prefix sums.
	nc := len(cs)
	cw, co, cc := make([]float64, nc+1), make([]float64, nc+1), make([]float64, nc+1)
	for i := range cs {
		cw[i+1] = cw[i] + cs[i].w
		co[i+1] = co[i] + cs[i].w1
		cc[i+1] = cc[i] + cs[i].wc
	}
	total := cw[nc]
	if !(total > 0) {
		return math.NaN(), 0
	}
	best, bestN := math.NaN(), 0
	for n := 1; n <= nc; n++ {
		// Cell i goes to the bin holding the middle of its weight.
		prev, mono := math.Inf(-1), true
		var ece float64
		start := 0
		for start < nc && mono {
			b := binOfMid(cw, start, total, n)
			end := start + 1
			for end < nc && binOfMid(cw, end, total, n) == b {
				end++
			}
			w := cw[end] - cw[start]
			if w > 0 {
				o, c := (co[end]-co[start])/w, (cc[end]-cc[start])/w
				if o < prev {
					mono = false
				}
				prev = o
				ece += w * math.Abs(o-c)
			}
			start = end
		}
		if !mono {
			break
		}
		best, bestN = ece/total, n
	}
	return best, bestN
}

func binOfMid(cw []float64, i int, total float64, n int) int {
	mid := (cw[i] + cw[i+1]) / 2
	return min(max(int(math.Floor(mid/total*float64(n))), 0), n-1)
}

// discrimination is the AUROC (ties count one half) and the average
// precision (sklearn's average_precision_score: Σ over thresholds, from
// the highest, of the recall gained times the precision there), with the
// cells as thresholds: confidences in one cell are tied. NaN when there are
// no positives or no negatives. tie, the tie bound, is half the share of
// (positive, negative) pairs that fall in one cell: how far the AUROC from
// cells can be from the AUROC of a sort that breaks the ties within cells.
func discrimination(cs []cellSums) (auroc, auprc, tie float64) {
	if len(cs) == 0 || !cs[0].weighted {
		n0, n1 := make([]int64, len(cs)), make([]int64, len(cs))
		for i := range cs {
			n0[i], n1[i] = cs[i].n-cs[i].n1, cs[i].n1
		}
		return discrimCounts(n0, n1)
	}
	b0, b1 := make([]*big.Float, len(cs)), make([]*big.Float, len(cs))
	for i := range cs {
		var s exact.Sum
		cs[i].addW0(&s)
		b0[i] = bigOr0(&s)
		s = exact.Sum{}
		cs[i].addW1(&s)
		b1[i] = bigOr0(&s)
	}
	return discrimBig(b0, b1)
}

// discrimBig is discrimination of cells with the weights of outcomes 0
// and 1 in b0 and b1, in big.Float arithmetic at prec bits.
func discrimBig(b0, b1 []*big.Float) (auroc, auprc, tie float64) {
	P, N := newBigF(), newBigF()
	for i := range b0 {
		P.Add(P, b1[i])
		N.Add(N, b0[i])
	}
	if P.Sign() <= 0 || N.Sign() <= 0 || P.IsInf() || N.IsInf() {
		return math.NaN(), math.NaN(), math.NaN()
	}
	// AUROC: Σ_c neg_c (positives above c + pos_c/2) / (P N).
	above, area := newBigF(), newBigF()
	t := newBigF()
	half := big.NewFloat(0.5)
	ap, tp, fp := newBigF(), newBigF(), newBigF()
	T := newBigF()
	for i := range b0 {
		T.Add(T, newBigF().Mul(b1[i], b0[i]))
	}
	for i := len(b0) - 1; i >= 0; i-- {
		p, n := b1[i], b0[i]
		t.Mul(p, half)
		t.Add(t, above)
		t.Mul(t, n)
		area.Add(area, t)
		above.Add(above, p)
		tp.Add(tp, p)
		fp.Add(fp, n)
		if p.Sign() > 0 {
			// recall gained p/P times precision tp/(tp+fp)
			den := newBigF().Add(tp, fp)
			x := newBigF().Mul(p, tp)
			x.Quo(x, den)
			ap.Add(ap, x)
		}
	}
	area.Quo(area, P)
	auroc = quo(area, N)
	auprc = quo(ap, P)
	T.Quo(T, P)
	tie = quo(T, N) / 2
	return
}

// discrimCounts is discrimBig of integer counts, with the same result:
// the sums that are integers (the area, twice over, and the tie mass) are
// taken in 128-bit integers, and only the few divisions, and the average
// precision's terms, in big.Float at prec bits as discrimBig takes them.
func discrimCounts(n0, n1 []int64) (auroc, auprc, tie float64) {
	var P, N int64
	for i := range n0 {
		P += n1[i]
		N += n0[i]
	}
	if P <= 0 || N <= 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	// area·2 = Σ_c n_c (2·above + p_c) and T = Σ_c p_c n_c, below
	// 2·P·N < 2^127.
	var area2, T u128
	var above, tp, fp int64
	ap := newBigF()
	x, den := newBigF(), newBigF()
	for i := len(n0) - 1; i >= 0; i-- {
		p, n := n1[i], n0[i]
		h, l := bits.Mul64(uint64(n), uint64(2*above+p))
		area2.merge(u128{lo: l, hi: h})
		h, l = bits.Mul64(uint64(p), uint64(n))
		T.merge(u128{lo: l, hi: h})
		above += p
		tp += p
		fp += n
		if p > 0 {
			h, l = bits.Mul64(uint64(p), uint64(tp))
			x.SetInt(bigU128(u128{lo: l, hi: h}))
			den.SetInt64(tp + fp)
			x.Quo(x, den)
			ap.Add(ap, x)
		}
	}
	Pb, Nb := bigInt(P), bigInt(N)
	area := newBigF().SetInt(bigU128(area2))
	area.SetMantExp(area, -1)
	area.Quo(area, Pb)
	auroc = quo(area, Nb)
	auprc = quo(ap, Pb)
	Tb := newBigF().SetInt(bigU128(T))
	Tb.Quo(Tb, Pb)
	tie = quo(Tb, Nb) / 2
	return
}

// bigU128 is u as a big.Int.
func bigU128(u u128) *big.Int {
	z := new(big.Int).SetUint64(u.hi)
	z.Lsh(z, 64)
	return z.Or(z, new(big.Int).SetUint64(u.lo))
}

// delongSE is the standard error of the AUROC of unweighted cells by the
// method of DeLong, DeLong & Clarke-Pearson (Biometrics 1988): the
// placement of a positive is the share of negatives below it (ties one
// half), of a negative the share of positives above it; the AUROC is the
// mean placement of the positives, and its variance S10/m + S01/n, with
// S10 and S01 the sample variances of the m positives' and the n
// negatives' placements. Every prediction of a cell has its cell's
// placement, so the sums run over the cells: exactly DeLong's figure for
// the kept points (each distinct confidence a cell), and for the grid that
// of the predictions tied at cell resolution (the AUROC reported). NaN
// with fewer than 2 of either outcome.
func delongSE(cs []cellSums) float64 {
	var m, n float64
	for i := range cs {
		m += float64(cs[i].n1)
		n += float64(cs[i].n - cs[i].n1)
	}
	if m < 2 || n < 2 {
		return math.NaN()
	}
	v10, v01 := make([]float64, len(cs)), make([]float64, len(cs))
	var below, above float64
	for i := range cs {
		neg := float64(cs[i].n - cs[i].n1)
		v10[i] = (below + neg/2) / n
		below += neg
	}
	for i := len(cs) - 1; i >= 0; i-- {
		pos := float64(cs[i].n1)
		v01[i] = (above + pos/2) / m
		above += pos
	}
	var auc float64
	for i := range cs {
		auc += float64(cs[i].n1) * v10[i]
	}
	auc /= m
	var s10, s01 float64
	for i := range cs {
		d, e := v10[i]-auc, v01[i]-auc
		s10 += float64(cs[i].n1) * d * d
		s01 += float64(cs[i].n-cs[i].n1) * e * e
	}
	return math.Sqrt(s10/(m-1)/m + s01/(n-1)/n)
}

func bigOr0(s *exact.Sum) *big.Float {
	if b := s.Big(); b != nil {
		return b
	}
	return newBigF()
}

// smPoint is a residual mass r placed at confidence x.
type smPoint struct{ x, r, w float64 }

// smPoints turns cells into residual masses for the smooth ECE: a cell's
// residual Σ w(y - c) is placed at its outcomes' mean confidences
// (unweighted) or at its mean confidence (weighted).
func smPoints(cs []cellSums, weighted bool) (pts []smPoint, W float64) {
	for i := range cs {
		c := &cs[i]
		cw := c.w
		W += cw
		if !weighted && (!math.IsNaN(c.c0) || !math.IsNaN(c.c1)) {
			if c.n1 > 0 {
				// Σ over outcomes 1 of (1 - c) = n1 (1 - c1)
				pts = append(pts, smPoint{c.c1, float64(c.n1) * (1 - c.c1), float64(c.n1)})
			}
			if n0 := c.n - c.n1; n0 > 0 {
				pts = append(pts, smPoint{c.c0, -float64(n0) * c.c0, float64(n0)})
			}
			continue
		}
		if cw > 0 {
			wc := c.wc
			var r exact.Sum
			c.addW1(&r)
			r.Add(-wc) // rounded w·c sum: the residual to float64 precision
			pts = append(pts, smPoint{wc / cw, r.Float64(), cw})
		}
	}
	return pts, W
}

// smoothECE is the smooth ECE at bandwidth sigma (Błasiok & Nakkiran,
// ICLR 2024): (1/W) ∫_0^1 |Σ_i r_i K_σ(t, x_i)| dt with the reflected
// Gaussian kernel K_σ(t, x) = Σ_m φ_σ(t - x - 2m) + φ_σ(t + x - 2m). The
// masses are spread linearly over a mesh of spacing h (about σ/50), the
// kernel sum is taken on the mesh, and the integral by the
// trapezoid rule.
func smoothECE(pts []smPoint, W, sigma float64) float64 {
	// A mesh of spacing σ/50 (at least 201 and at most 40001 points):
	// the linear spreading then moves kernel values by about (1/50)²/8 of
	// themselves.
	m := min(max(201, int(math.Ceil(50/sigma))+1), 40001)
	h := 1 / float64(m-1)
	v := make([]float64, m)
	for _, p := range pts {
		x := min(max(p.x, 0), 1) * float64(m-1)
		i := min(int(x), m-2)
		f := x - float64(i)
		v[i] += (1 - f) * p.r
		v[i+1] += f * p.r
	}
	// φ at multiples of h, up to 10σ (or the reflections' reach).
	reach := int(math.Ceil(10 * sigma / h))
	span := min(reach, 5*(m-1))
	phi := make([]float64, span+1)
	for k := range phi {
		d := float64(k) * h / sigma
		phi[k] = math.Exp(-d*d/2) / (sigma * math.Sqrt(2*math.Pi))
	}
	n1 := m - 1
	g := make([]float64, m)
	for i, vi := range v {
		if vi == 0 {
			continue
		}
		for r := -2; r <= 2; r++ {
			for _, p := range [2]int{i + 2*r*n1, -i + 2*r*n1} {
				lo, hi := max(0, p-span), min(n1, p+span)
				for j := lo; j <= hi; j++ {
					d := j - p
					if d < 0 {
						d = -d
					}
					g[j] += vi * phi[d]
				}
			}
		}
	}
	var integral float64
	for j, x := range g {
		a := math.Abs(x)
		if j == 0 || j == n1 {
			a /= 2
		}
		integral += a
	}
	return integral * h / W
}

// smECE is the smooth ECE at its fixed-point bandwidth, found as relplot
// does: σ = 1 if smECE_1 > 1, else bisection on [0, 1] for ten steps,
// keeping the upper end, where smECE_σ <= σ (or σ < 0.001).
func smECE(cs []cellSums, weighted bool) (ece, sigma float64) {
	pts, W := smPoints(cs, weighted)
	if !(W > 0) {
		return math.NaN(), math.NaN()
	}
	check := func(a float64) bool { return a < 0.001 || a < smoothECE(pts, W, a) }
	s := 1.0
	if !check(1) {
		lo, hi := 0.0, 1.0
		for range 10 {
			mid := (lo + hi) / 2
			if check(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		s = hi
	}
	return smoothECE(pts, W, s), s
}

// CurvePoint is a point of the smooth reliability curve: at confidence T,
// the kernel-smoothed mean outcome and the density of the confidences.
type CurvePoint struct{ T, Outcome, Density float64 }

// smoothCurve evaluates the kernel regression of the outcomes on the
// confidences, t + Σ r_i K(t, x_i) / Σ w_i K(t, x_i), and the density
// Σ w_i K(t, x_i) / W, at n+1 points of [0, 1] with the reflected Gaussian
// kernel of bandwidth sigma (relplot's smooth reliability diagram).
func smoothCurve(cs []cellSums, weighted bool, sigma float64, n int) []CurvePoint {
	pts, W := smPoints(cs, weighted)
	if !(W > 0) || !(sigma > 0) {
		return nil
	}
	out := make([]CurvePoint, n+1)
	norm := 1 / (sigma * math.Sqrt(2*math.Pi))
	for j := range out {
		t := float64(j) / float64(n)
		var gr, gw float64
		for _, p := range pts {
			for r := -2.0; r <= 2; r++ {
				for _, d := range [2]float64{t - p.x - 2*r, t + p.x - 2*r} {
					if math.Abs(d) > 10*sigma {
						continue
					}
					k := norm * math.Exp(-d*d/(2*sigma*sigma))
					gr += p.r * k
					gw += p.w * k
				}
			}
		}
		o := math.NaN()
		if gw > 0 {
			o = min(max(t+gr/gw, 0), 1)
		}
		out[j] = CurvePoint{T: t, Outcome: o, Density: gw / W}
	}
	return out
}
