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
	// C[k] holds cell k's counts and sums (nil while the points are kept).
	C []hcell
	// Tiny sums the confidences of cell 0 (below 2^-53), exactly.
	Tiny exact.Sum
	// Weighted runs: W[WIdx[k]-1] holds cell k's weighted sums.
	WIdx []int32
	W    []wcell
	// Pts holds the exact predictions while there are at most HistExact,
	// and the grid (C, WIdx, W) is not allocated; beyond, Over is set, the
	// points are moved into the grid and dropped. A slice of few rows
	// costs its points only.
	Pts  []Point
	Over bool
	// edges: report each cell's smallest and largest confidence;
	// weighted: keep W.
	edges, weighted bool
}

// hcell is one cell of the grid, in one 64-byte record, so that a
// prediction touches one cache line: the count of predictions with outcome
// 0 and 1 (n), the sum of their confidences in the cell's units
// (cellScale) per outcome (m), and the smallest and largest confidence
// (kept always; read only for quantile bins, whose edges report them).
type hcell struct {
	n      [2]int64
	m      [2]u128
	lo, hi float64
}

// wcell holds one cell's exact weighted sums: weights of outcomes 0 and 1,
// and w·c.
type wcell struct{ W0, W1, WC exact.Sum }

func newHist(edges, weighted bool) *Hist { return &Hist{edges: edges, weighted: weighted} }

// toGrid allocates the grid and moves the kept points into it.
func (h *Hist) toGrid() {
	h.C = make([]hcell, histCells)
	for k := range h.C {
		h.C[k].lo, h.C[k].hi = math.Inf(1), math.Inf(-1)
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
	hc := &h.C[k]
	hc.n[b2i(o)]++
	if k == 0 {
		h.Tiny.Add(c)
	} else {
		hc.m[b2i(o)].add(cellMant(c))
	}
	hc.lo = min(hc.lo, c)
	hc.hi = max(hc.hi, c)
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

// histChunk is the number of predictions addAll works out the cells of
// before adding them to the grid.
const histChunk = 512

// histScratch is addAll's working space (the evaluator's, reused): the
// cell and the integer confidence (cellMant) of up to histChunk
// predictions, and, for a list of rows, their gathered confidences and
// outcomes.
type histScratch struct {
	key  [histChunk]int32
	mant [histChunk]uint64
	conf [histChunk]float64
	out  [histChunk]bool
}

// addAll adds unweighted predictions conf[j], out[j] for j in idx (every
// j < len(conf) when idx is nil); s is working space.
func (h *Hist) addAll(conf []float64, out []bool, idx []int32, s *histScratch) {
	// One at a time while the points are kept (and weighted), then the
	// grid's loop for the rest.
	n := len(conf)
	if idx != nil {
		n = len(idx)
	}
	if !h.Over && len(h.Pts)+n > cap(h.Pts) {
		// Room for the points this batch keeps at once (a large batch:
		// one allocation rather than append's doublings).
		h.Pts = append(make([]Point, 0, min(histExact, max(2*cap(h.Pts), len(h.Pts)+n))), h.Pts...)
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
		conf, out = conf[at:], out[at:len(conf)]
	}
	// In chunks: the cells and integer confidences first (the vector
	// loop, eight at a time), then the grid's sums, so that the loads of
	// the grid do not wait on the arithmetic that finds their cell.
	for len(conf) > 0 && idx == nil || len(idx) > 0 {
		var cs []float64
		var os []bool
		if idx == nil {
			m := min(len(conf), histChunk)
			cs, os = conf[:m], out[:m]
			conf, out = conf[m:], out[m:]
		} else {
			m := min(len(idx), histChunk)
			cs, os = s.conf[:m], s.out[:m]
			for i, j := range idx[:m] {
				cs[i], os[i] = conf[j], out[j]
			}
			idx = idx[m:]
		}
		h.addChunk(cs, os, s)
	}
}

// addChunk adds at most histChunk predictions to the grid.
func (h *Hist) addChunk(conf []float64, out []bool, s *histScratch) {
	n := len(conf)
	key, mant := s.key[:n], s.mant[:n]
	out = out[:n]
	for i := 0; i < n; i++ {
		if i = histKeysVec(conf, key, mant, i); i == n {
			break
		}
		key[i], mant[i] = histKey(conf[i])
	}
	C := h.C[:histCells]
	if !h.edges {
		// The cells' smallest and largest confidences are reported by
		// quantile bins only: other runs leave them out of the loop.
		for i, k := range key {
			if k < 0 { // below 2^-53 or above 1 - 2^-53: rare
				h.gridAdd(conf[i], 1, out[i])
				continue
			}
			hc := &C[k]
			ob := b2i(out[i]) & 1
			hc.n[ob]++
			m := &hc.m[ob]
			var cy uint64
			m.lo, cy = bits.Add64(m.lo, mant[i], 0)
			m.hi += cy
		}
		return
	}
	for i, k := range key {
		c, o := conf[i], out[i]
		if k < 0 { // below 2^-53 or above 1 - 2^-53: rare
			h.gridAdd(c, 1, o)
			continue
		}
		hc := &C[k]
		ob := b2i(o) & 1
		hc.n[ob]++
		// Here c and 1 - c are at least 2^-53 (0 and 1 took the branch
		// above; invalid rows, NaN, never come here): plain compares,
		// rarely taken once a cell has seen a few predictions, give min
		// and max's result without their NaN and signed-zero handling.
		if c < hc.lo {
			hc.lo = c
		}
		if c > hc.hi {
			hc.hi = c
		}
		m := &hc.m[ob]
		var cy uint64
		m.lo, cy = bits.Add64(m.lo, mant[i], 0)
		m.hi += cy
	}
}

// histKey is HistCell(c) and cellMant(c) for c and 1 - c at least 2^-53,
// and key -1 otherwise (gridAdd takes those). It works out both halves
// and selects one rather than branch on c < 1/2, which random
// probabilities would mispredict half the time.
func histKey(c float64) (int32, uint64) {
	up := b2i(c >= 0.5)
	mask := -uint64(up) // all ones for c >= 1/2
	xb := math.Float64bits(c)&^mask | math.Float64bits(1-c)&mask
	if !(math.Float64frombits(xb) >= 0x1p-53) { // also NaN
		return -1, 0
	}
	// The exponent (from 2^-53) and top histM mantissa bits, plus 1.
	key := int(xb>>(52-histM)) - (1023-53)<<histM + 1
	k := key ^ int(up)*(key^(histCells-1-key))
	return int32(k), (math.Float64bits(c)&(1<<52-1)|1<<52)&^mask | uint64(c*0x1p53)&mask
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
	for k := range o.C {
		a, b := &h.C[k], &o.C[k]
		for j := range 2 {
			a.n[j] += b.n[j]
			a.m[j].merge(b.m[j])
		}
		a.lo, a.hi = min(a.lo, b.lo), max(a.hi, b.hi)
	}
	h.Tiny.Merge(&o.Tiny)
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

// cellSums describes one cell (or one distinct confidence of the kept
// points): its counts, its weight, outcome-1 weight and sum of w·c each
// rounded once to float64 (computed once, in cells), and where its exact
// sums are, for the figures that need them (addW0, addW1, addWC).
type cellSums struct {
	n, n1  int64
	lo, hi float64
	// c1 is the mean confidence of the outcomes 1 and c0 of the outcomes
	// 0 (unweighted; NaN when there are none, or in weighted runs, which
	// use the cell's mean): where the smooth ECE places their residuals.
	c0, c1 float64
	// w = Σw, w1 = Σw over outcomes 1, wc = Σw·c, each the exact sum
	// rounded once; unweighted, w and w1 are the counts.
	w, w1, wc float64
	// Where the exact sums are: kept points (pts, all of confidence lo),
	// a weighted grid cell (x), the cell below 2^-53 (tiny), or, for an
	// unweighted grid cell, the counts and Σc = m·2^exp.
	pts      []Point
	x        *wcell
	tiny     *exact.Sum
	m        u128
	exp      int
	weighted bool
}

// addW0 adds the cell's weight of outcome 0 to s, exactly.
func (c *cellSums) addW0(s *exact.Sum) {
	switch {
	case !c.weighted:
		s.AddInt(c.n - c.n1)
	case c.x != nil:
		s.Merge(&c.x.W0)
	default:
		for _, p := range c.pts {
			if !p.Out {
				s.Add(p.W)
			}
		}
	}
}

// addW1 adds the cell's weight of outcome 1 to s, exactly.
func (c *cellSums) addW1(s *exact.Sum) {
	switch {
	case !c.weighted:
		s.AddInt(c.n1)
	case c.x != nil:
		s.Merge(&c.x.W1)
	default:
		for _, p := range c.pts {
			if p.Out {
				s.Add(p.W)
			}
		}
	}
}

// addWC adds the cell's Σw·c to s, exactly (each w·c of a weighted
// prediction rounded, as it was added).
func (c *cellSums) addWC(s *exact.Sum) {
	switch {
	case c.x != nil:
		s.Merge(&c.x.WC)
	case c.pts != nil:
		for _, p := range c.pts {
			s.Add(pw(p, c.weighted) * p.Conf)
		}
	case c.tiny != nil:
		s.Merge(c.tiny)
	default:
		addFixed(s, c.m.lo, c.m.hi, c.exp)
	}
}

// cells lists the non-empty cells in confidence order: the distinct
// confidences of the exact predictions while they are kept, else the grid.
// Unweighted, w and w1 count the outcomes and wc sums the confidences.
func (h *Hist) cells(weighted bool) []cellSums {
	var out []cellSums
	var s exact.Sum
	if !h.Over {
		pts := h.Pts
		sortPoints(pts)
		distinct := 0
		for i := range pts {
			if i == 0 || pts[i].Conf != pts[i-1].Conf {
				distinct++
			}
		}
		out = make([]cellSums, 0, distinct)
		for i := 0; i < len(pts); {
			conf := pts[i].Conf
			j := i
			var n1 int64
			for ; j < len(pts) && pts[j].Conf == conf; j++ {
				n1 += int64(b2i(pts[j].Out))
			}
			c := cellSums{n: int64(j - i), n1: n1, lo: conf, hi: conf, c0: conf, c1: conf, pts: pts[i:j:j], weighted: weighted}
			if weighted {
				s = exact.Sum{}
				c.addW1(&s)
				c.w1 = s.Float64()
				c.addW0(&s)
				c.w = s.Float64()
				s = exact.Sum{}
				c.addWC(&s)
				c.wc = s.Float64()
			} else {
				// Σc over n equal confidences is n·c, rounded once.
				c.w, c.w1, c.wc = float64(c.n), float64(n1), float64(c.n)*conf
			}
			out = append(out, c)
			i = j
		}
		return out
	}
	used := 0
	for k := range h.C {
		if h.C[k].n != [2]int64{} {
			used++
		}
	}
	out = make([]cellSums, 0, used)
	for k := range h.C {
		hc := &h.C[k]
		n0, n1 := hc.n[0], hc.n[1]
		if n0+n1 == 0 {
			continue
		}
		c := cellSums{n: n0 + n1, n1: n1, lo: math.NaN(), hi: math.NaN(), c0: math.NaN(), c1: math.NaN(), weighted: weighted}
		if h.edges {
			c.lo, c.hi = hc.lo, hc.hi
		}
		if weighted {
			c.x = &h.W[h.WIdx[k]-1]
			c.w1 = c.x.W1.Float64()
			s = c.x.W0
			s.Merge(&c.x.W1)
			c.w = s.Float64()
			c.wc = c.x.WC.Float64()
		} else {
			c.w, c.w1 = float64(c.n), float64(n1)
			if exp, ok := cellScale(k); ok {
				c.m, c.exp = hc.m[0], exp
				c.m.merge(hc.m[1])
				c.wc = fixedFloat(c.m, exp)
				if n0 > 0 {
					c.c0 = fixedQuo(hc.m[0], exp, n0)
				}
				if n1 > 0 {
					c.c1 = fixedQuo(hc.m[1], exp, n1)
				}
			} else {
				c.tiny = &h.Tiny
				c.wc = h.Tiny.Float64()
			}
		}
		out = append(out, c)
	}
	return out
}

// fixedFloat is m·2^exp rounded once to float64 (m below 2^127, the
// result a normal float64).
func fixedFloat(m u128, exp int) float64 {
	if m.hi == 0 {
		return math.Ldexp(float64(m.lo), exp) // one rounding; Ldexp exact
	}
	// The top 64 bits with a sticky bit 0 for those below: the conversion
	// then rounds as the whole integer would.
	n := uint(bits.Len64(m.hi))
	x := m.hi<<(64-n) | m.lo>>n
	if m.lo<<(64-n) != 0 {
		x |= 1
	}
	return math.Ldexp(float64(x), exp+int(n))
}

// fixedQuo is m·2^exp / n rounded once to float64 (m > 0, n > 0, the
// result a normal float64): m shifted to fill 128 bits, divided by n in
// integers (a quotient of at least 64 bits), the remainder kept as a
// sticky bit 0.
func fixedQuo(m u128, exp int, n int64) float64 {
	s := 128 - (64 + bits.Len64(m.hi))
	if m.hi == 0 {
		s = 128 - bits.Len64(m.lo)
	}
	hi, lo := m.hi, m.lo
	switch {
	case s >= 64:
		hi, lo = lo<<(s-64), 0
	case s > 0:
		hi, lo = hi<<s|lo>>(64-s), lo<<s
	}
	d := uint64(n)
	qh := hi / d
	ql, r := bits.Div64(hi%d, lo, d)
	if r != 0 {
		ql |= 1
	}
	return fixedFloat(u128{lo: ql, hi: qh}, exp-s)
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
	// cum[i] is the exact weight of cells before i, rounded once.
	cum := make([]float64, len(cs)+1)
	if len(cs) > 0 && !cs[0].weighted {
		var t int64
		for i := range cs {
			t += cs[i].n
			cum[i+1] = float64(t)
		}
	} else {
		var t exact.Sum
		for i := range cs {
			cs[i].addW0(&t)
			cs[i].addW1(&t)
			cum[i+1] = t.Float64()
		}
	}
	total := cum[len(cs)]
	bin := make([]int, len(cs))
	for i := range cs {
		mid := (cum[i] + cum[i+1]) / 2
		b := 0
		if total > 0 {
			b = int(math.Floor(mid / total * float64(n)))
		}
		bin[i] = min(max(b, 0), n-1)
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
		c.addW0(&b.W)
		c.addW1(&b.W)
		c.addW1(&b.Out)
		c.addWC(&b.Conf)
	}
	return bins
}
