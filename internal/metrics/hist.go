package metrics

import (
	"math"
	"math/bits"

	"github.com/evalnll/evalnll/internal/exact"
)

// The confidence histogram: a fine, fixed grid of cells on [0, 1] with exact
// sums per cell, the bounded and mergeable state behind equal-mass bins,
// AUROC/AUPRC, the monotone-sweep ECE and the smooth ECE.
//
// A confidence c below 1/2 falls in the cell of its float64 exponent and the
// top histM bits of its mantissa; a confidence of 1/2 or more in the cell of
// 1-c (exact in float64) the same way, mirrored. Each cell is then at most
// 2^-histM of the distance to the nearer end of [0, 1] wide: a relative
// resolution of 2^-7 (0.8%) near 0 and near 1, and cells of at most 2^-9
// (0.002) in the middle. Confidences below 2^-53 share one cell, as do
// those above 1-2^-53 (only 1 itself). The cell index is monotone in c, so
// cells in index order are in confidence order; two confidences in one cell
// are treated as tied.
//
// Per cell: the count of outcomes 0 and 1, and the sum of the confidences
// as an integer (every confidence of a cell is an integer multiple of one
// power of two: the cell's float64 ulp), so the sums are exact and do not
// depend on order; weighted runs add the exact sums of the weights of each
// outcome and of w·c. The state is a few hundred KB whatever the row count.
//
// Up to HistExact predictions the exact predictions are kept beside it, and
// the figures are computed from them (every distinct confidence a cell):
// results are then exactly those of a sort. Beyond that the cells are used.
// Which one is used depends only on the total count, never on how the rows
// were split, so the figures stay deterministic.

const (
	histM     = 7
	histSide  = 1 + 53<<histM // keys of one half, [0, 1/2]
	histCells = 2 * histSide
	// HistExact is the prediction count up to which figures come from the
	// exact predictions.
	HistExact = 1 << 16
)

// histExact is HistExact; tests lower it to check the cells.
var histExact = HistExact

// halfKey is the cell key of x in [0, 1/2]: 0 below 2^-53, else 1 + the
// exponent (from 2^-53) and top histM mantissa bits.
func halfKey(x float64) int {
	b := math.Float64bits(x)
	e := int(b >> 52)
	if e < 1023-53 {
		return 0
	}
	return 1 + ((e-(1023-53))<<histM | int(b>>(52-histM))&(1<<histM-1))
}

// HistCell is the cell of confidence c in [0, 1].
func HistCell(c float64) int {
	if c < 0.5 {
		return halfKey(c)
	}
	return histCells - 1 - halfKey(1-c)
}

// cellScale is the power of two that the integer sum of a cell's
// confidences (cellMant) is in units of; ok is false for the lowest cell,
// whose confidences are summed apart.
func cellScale(k int) (exp int, ok bool) {
	if k >= histSide {
		return -53, true
	}
	if k == 0 {
		return 0, false
	}
	e := 1023 - 53 + (k-1)>>histM // biased exponent of the cell
	return e - 1075, true
}

// cellMant is c as an integer in the units of its cell (see cellScale).
func cellMant(c float64) uint64 {
	if c >= 0.5 {
		return uint64(c * 0x1p53)
	}
	return math.Float64bits(c)&(1<<52-1) | 1<<52
}

// Hist is the confidence histogram of one set of predictions.
type Hist struct {
	// N[2k] and N[2k+1] count the predictions of cell k with outcome 0
	// and 1.
	N []int64
	// M[2k+o] is the sum of cell k's confidences of outcome o in its
	// units (cellScale).
	M []u128
	// Tiny sums the confidences of cell 0 (below 2^-53), exactly.
	Tiny exact.Sum
	// Lo and Hi are the smallest and largest confidence of each cell
	// (quantile bins report them); nil when not needed.
	Lo, Hi []float64
	// Weighted runs: W[WIdx[k]-1] holds cell k's weighted sums.
	WIdx []int32
	W    []wcell
	// Pts holds the exact predictions while there are at most HistExact,
	// and the grid (N, M, Lo, Hi, WIdx, W) is not allocated; beyond, Over
	// is set, the points are moved into the grid and dropped. A slice of
	// few rows costs its points only.
	Pts  []Point
	Over bool
	// edges: keep Lo and Hi; weighted: keep W.
	edges, weighted bool
}

// wcell holds one cell's exact weighted sums: weights of outcomes 0 and 1,
// and w·c.
type wcell struct{ W0, W1, WC exact.Sum }

func newHist(edges, weighted bool) *Hist { return &Hist{edges: edges, weighted: weighted} }

// toGrid allocates the grid and moves the kept points into it.
func (h *Hist) toGrid() {
	h.N, h.M = make([]int64, 2*histCells), make([]u128, 2*histCells)
	if h.edges {
		h.Lo, h.Hi = make([]float64, histCells), make([]float64, histCells)
		for k := range h.Lo {
			h.Lo[k], h.Hi[k] = math.Inf(1), math.Inf(-1)
		}
	}
	if h.weighted {
		h.WIdx = make([]int32, histCells)
	}
	h.Over = true
	for _, p := range h.Pts {
		h.gridAdd(p.Conf, p.W, p.Out)
	}
	h.Pts = nil
}

// add adds one prediction (w is 1 unless the run is weighted).
func (h *Hist) add(c, w float64, o bool) {
	if !h.Over {
		if len(h.Pts) < histExact {
			h.Pts = append(h.Pts, Point{Conf: c, W: w, Out: o})
			return
		}
		h.toGrid()
	}
	h.gridAdd(c, w, o)
}

// gridAdd adds one prediction to the grid.
func (h *Hist) gridAdd(c, w float64, o bool) {
	k := HistCell(c)
	i := 2*k + int(b2i(o))
	h.N[i]++
	if k == 0 {
		h.Tiny.Add(c)
	} else {
		h.M[i].add(cellMant(c))
	}
	if h.Lo != nil {
		h.Lo[k] = min(h.Lo[k], c)
		h.Hi[k] = max(h.Hi[k], c)
	}
	if h.WIdx != nil {
		if h.WIdx[k] == 0 {
			h.W = append(h.W, wcell{})
			h.WIdx[k] = int32(len(h.W))
		}
		wc := &h.W[h.WIdx[k]-1]
		if o {
			wc.W1.Add(w)
		} else {
			wc.W0.Add(w)
		}
		wc.WC.Add(w * c)
	}
}

// addAll adds unweighted predictions conf[j], out[j] for j in idx (every
// j < len(conf) when idx is nil).
func (h *Hist) addAll(conf []float64, out []bool, idx []int32) {
	// One at a time while the points are kept (and weighted), then the
	// grid's loop for the rest.
	n := len(conf)
	if idx != nil {
		n = len(idx)
	}
	at := 0
	for ; at < n && (!h.Over || h.weighted); at++ {
		j := at
		if idx != nil {
			j = int(idx[at])
		}
		h.add(conf[j], 1, out[j])
	}
	if at == n {
		return
	}
	if idx != nil {
		idx = idx[at:]
	} else {
		conf, out = conf[at:], out[at:]
	}
	N, M, Lo, Hi := h.N, h.M, h.Lo, h.Hi
	one := func(c float64, o bool) {
		// HistCell and cellMant without a branch on c < 1/2, which random
		// probabilities would mispredict half the time: both halves are
		// worked out and one is selected.
		up := b2i(c >= 0.5)
		mask := -uint64(up) // all ones for c >= 1/2
		xb := math.Float64bits(c)&^mask | math.Float64bits(1-c)&mask
		e := int(xb >> 52)
		if e < 1023-53 { // below 2^-53: rare
			k := HistCell(c)
			N[2*k+int(b2i(o))]++
			if Lo != nil {
				Lo[k] = min(Lo[k], c)
				Hi[k] = max(Hi[k], c)
			}
			if k == 0 {
				h.Tiny.Add(c)
			} else {
				M[2*k+int(b2i(o))].add(cellMant(c))
			}
			return
		}
		key := 1 + ((e-(1023-53))<<histM | int(xb>>(52-histM))&(1<<histM-1))
		k := key ^ int(up)*(key^(histCells-1-key))
		i := 2*k + int(b2i(o))
		N[i]++
		if Lo != nil {
			// Here c and 1 - c are at least 2^-53 (0 and 1 took the
			// branch above; invalid rows, NaN, never come here): plain
			// compares, rarely taken once a cell has seen a few
			// predictions, give min and max's result without their NaN
			// and signed-zero handling.
			if c < Lo[k] {
				Lo[k] = c
			}
			if c > Hi[k] {
				Hi[k] = c
			}
		}
		mant := (math.Float64bits(c)&(1<<52-1)|1<<52)&^mask | uint64(c*0x1p53)&mask
		m := &M[i]
		var cy uint64
		m.lo, cy = bits.Add64(m.lo, mant, 0)
		m.hi += cy
	}
	if idx == nil {
		out = out[:len(conf)]
		for j, c := range conf {
			one(c, out[j])
		}
		return
	}
	for _, j := range idx {
		one(conf[j], out[j])
	}
}

// merge adds o into h (same configuration).
func (h *Hist) merge(o *Hist) {
	if !h.Over && !o.Over && len(h.Pts)+len(o.Pts) <= histExact {
		h.Pts = append(h.Pts, o.Pts...)
		return
	}
	if !h.Over {
		h.toGrid()
	}
	if !o.Over {
		for _, p := range o.Pts {
			h.gridAdd(p.Conf, p.W, p.Out)
		}
		return
	}
	for i, v := range o.N {
		h.N[i] += v
	}
	for k := range o.M {
		h.M[k].merge(o.M[k])
	}
	h.Tiny.Merge(&o.Tiny)
	if h.Lo != nil {
		for k := range h.Lo {
			h.Lo[k] = min(h.Lo[k], o.Lo[k])
			h.Hi[k] = max(h.Hi[k], o.Hi[k])
		}
	}
	if h.WIdx != nil {
		for k, i := range o.WIdx {
			if i == 0 {
				continue
			}
			if h.WIdx[k] == 0 {
				h.W = append(h.W, wcell{})
				h.WIdx[k] = int32(len(h.W))
			}
			a, b := &h.W[h.WIdx[k]-1], &o.W[i-1]
			a.W0.Merge(&b.W0)
			a.W1.Merge(&b.W1)
			a.WC.Merge(&b.WC)
		}
	}
}

// cellSums are the exact sums of one cell (or of one distinct confidence):
// count, count of outcome 1, weights of outcome 0 and 1, and sum of w·c.
type cellSums struct {
	n, n1      int64
	w0, w1, wc exact.Sum
	lo, hi     float64
	// c1 is the mean confidence of the outcomes 1 and c0 of the outcomes
	// 0 (unweighted; NaN when there are none, or in weighted runs, which
	// use the cell's mean): where the smooth ECE places their residuals.
	c0, c1 float64
}

// cells lists the non-empty cells in confidence order: the distinct
// confidences of the exact predictions while they are kept, else the grid.
// Unweighted, w0 and w1 count the outcomes and wc sums the confidences.
func (h *Hist) cells(weighted bool) []cellSums {
	var out []cellSums
	if !h.Over {
		pts := h.Pts
		sortPoints(pts)
		for i := 0; i < len(pts); {
			c := cellSums{lo: pts[i].Conf, hi: pts[i].Conf, c0: pts[i].Conf, c1: pts[i].Conf}
			j := i
			for ; j < len(pts) && pts[j].Conf == pts[i].Conf; j++ {
				p := pts[j]
				w := pw(p, weighted)
				c.n++
				if p.Out {
					c.n1++
					c.w1.Add(w)
				} else {
					c.w0.Add(w)
				}
				c.wc.Add(w * p.Conf)
			}
			out = append(out, c)
			i = j
		}
		return out
	}
	for k := 0; k < histCells; k++ {
		n0, n1 := h.N[2*k], h.N[2*k+1]
		if n0+n1 == 0 {
			continue
		}
		c := cellSums{n: n0 + n1, n1: n1, lo: math.NaN(), hi: math.NaN(), c0: math.NaN(), c1: math.NaN()}
		if h.Lo != nil {
			c.lo, c.hi = h.Lo[k], h.Hi[k]
		}
		if weighted {
			wc := &h.W[h.WIdx[k]-1]
			c.w0, c.w1, c.wc = wc.W0, wc.W1, wc.WC
		} else {
			c.w0.AddInt(n0)
			c.w1.AddInt(n1)
			if exp, ok := cellScale(k); ok {
				var s0, s1 exact.Sum
				addFixed(&s0, h.M[2*k].lo, h.M[2*k].hi, exp)
				addFixed(&s1, h.M[2*k+1].lo, h.M[2*k+1].hi, exp)
				c.wc.Merge(&s0)
				c.wc.Merge(&s1)
				if n0 > 0 {
					c.c0 = quo(s0.Big(), bigInt(n0))
				}
				if n1 > 0 {
					c.c1 = quo(s1.Big(), bigInt(n1))
				}
			} else {
				c.wc = h.Tiny
			}
		}
		out = append(out, c)
	}
	return out
}

// addFixed adds the unsigned 128-bit integer hi:lo times 2^exp to s, in
// three parts of at most 52 bits.
func addFixed(s *exact.Sum, lo, hi uint64, exp int) {
	const m52 = 1<<52 - 1
	s.Add(math.Ldexp(float64(lo&m52), exp))
	s.Add(math.Ldexp(float64(lo>>52|hi<<12&m52), exp+52))
	s.Add(math.Ldexp(float64(hi>>40), exp+104))
}

// quantileFromCells cuts the cells into n bins of as near equal weight as
// the cells allow: a cell goes whole into the bin that holds the middle of
// its weight (the rule quantileBins applies to runs of equal confidences).
// It returns each cell's bin.
func quantileFromCells(cs []cellSums, n int) []int {
	var tot exact.Sum
	for i := range cs {
		tot.Merge(&cs[i].w0)
		tot.Merge(&cs[i].w1)
	}
	total := tot.Float64()
	var cum exact.Sum
	bin := make([]int, len(cs))
	for i := range cs {
		next := cum
		next.Merge(&cs[i].w0)
		next.Merge(&cs[i].w1)
		mid := (cum.Float64() + next.Float64()) / 2
		b := 0
		if total > 0 {
			b = int(math.Floor(mid / total * float64(n)))
		}
		bin[i] = min(max(b, 0), n-1)
		cum = next
	}
	return bin
}

// binsFromCells sums the cells into n bins by bin[i], as Bins.
func binsFromCells(cs []cellSums, bin []int, n int) []Bin {
	bins := make([]Bin, n)
	for i := range cs {
		c, b := &cs[i], &bins[bin[i]]
		b.Count += c.n
		b.OutN += c.n1
		b.W.Merge(&c.w0)
		b.W.Merge(&c.w1)
		b.Out.Merge(&c.w1)
		b.Conf.Merge(&c.wc)
	}
	return bins
}
