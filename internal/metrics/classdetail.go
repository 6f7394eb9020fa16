package metrics

import (
	"math"
	"math/big"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/exact"
)

// Per-class figures of multiclass and multilabel runs: top-k accuracy
// (--topk), one-vs-rest AUROC/AUPRC per class or label (--auroc), and the
// one-vs-rest ECE of each class (--classwise). Each costs a pass over every
// class probability of a row, so each is asked for.
//
// One-vs-rest AUROC uses a coarser grid than the confidence histogram, to
// bound the state at many classes: 2^-4 relative resolution (the same
// construction with 4 mantissa bits), 1,698 cells per class, each holding
// the count (unweighted: 8 B) or the weight on a 2^-40 fixed-point grid
// (weighted: 16 B) of each outcome: 27 KB per class per accumulator, 27 MB
// at 1000 classes (54 MB weighted).

const (
	ovrM     = 4
	ovrSide  = 1 + 53<<ovrM
	ovrCells = 2 * ovrSide
)

// ovrCell is HistCell on the coarse grid.
func ovrCell(c float64) int {
	key := func(x float64) int {
		b := math.Float64bits(x)
		e := int(b >> 52)
		if e < 1023-53 {
			return 0
		}
		return 1 + ((e-(1023-53))<<ovrM | int(b>>(52-ovrM))&(1<<ovrM-1))
	}
	if c < 0.5 {
		return key(c)
	}
	return ovrCells - 1 - key(1-c)
}

// classDetail accumulates the per-class figures of one set of rows.
type classDetail struct {
	// Top-k hits: count (unweighted) or weight.
	TopN int64
	TopW exact.Sum
	// Ovr (unweighted: counts) or OvrW (weighted: weights times 2^40,
	// truncated) hold class k's cells at [k·2·ovrCells + 2·cell +
	// outcome]: K classes, allocated at the first row.
	Ovr  []int64
	OvrW []u128
	// OvrBad is set by a weight of 2^24 or more (beyond the fixed-point
	// grid): the AUROC is then NaN.
	OvrBad bool
	// CW[k*bins+b] are class k's one-vs-rest uniform bins: weight, weight
	// of outcome 1 and w·p, on the 2^-40 grid of the bootstrap sums;
	// unweighted runs sum conf62(p) in P62 instead of WP (exact for p of
	// 2^-10 or more, below 2^-62 off for smaller ones).
	CW []cwBin
}

type cwBin struct {
	W, W1, WP fx
	P62       u128
	N, N1     int64 // unweighted: W and W1 as counts
}

func (d *classDetail) merge(o *classDetail) {
	d.TopN += o.TopN
	d.TopW.Merge(&o.TopW)
	d.OvrBad = d.OvrBad || o.OvrBad
	if d.Ovr == nil && o.Ovr != nil {
		d.Ovr = make([]int64, len(o.Ovr))
	}
	for i, x := range o.Ovr {
		d.Ovr[i] += x
	}
	if d.OvrW == nil && o.OvrW != nil {
		d.OvrW = make([]u128, len(o.OvrW))
	}
	for i := range o.OvrW {
		d.OvrW[i].merge(o.OvrW[i])
	}
	if d.CW == nil && o.CW != nil {
		d.CW = make([]cwBin, len(o.CW))
	}
	for i := range o.CW {
		d.CW[i].W.merge(&o.CW[i].W)
		d.CW[i].W1.merge(&o.CW[i].W1)
		d.CW[i].WP.merge(&o.CW[i].WP)
		d.CW[i].P62.merge(o.CW[i].P62)
		d.CW[i].N += o.CW[i].N
		d.CW[i].N1 += o.CW[i].N1
	}
}

// wantClassDetail reports whether rows need the per-class pass.
func (c *Config) wantClassDetail() bool {
	switch c.Kind {
	case Multiclass:
		return c.TopK > 0 || c.Discrim || c.Classwise
	case Multilabel:
		return c.Discrim
	}
	return false
}

// ovrKey is ovrCell without a branch on p < 1/2 (2·cell + outcome).
func ovrKey(p float64, o bool) int {
	up := b2i(p >= 0.5)
	mask := -uint64(up)
	xb := math.Float64bits(p)&^mask | math.Float64bits(1-p)&mask
	e := int(xb >> 52)
	if e < 1023-53 {
		return 2*ovrCell(p) + int(b2i(o))
	}
	key := 1 + ((e-(1023-53))<<ovrM | int(xb>>(52-ovrM))&(1<<ovrM-1))
	k := key ^ int(up)*(key^(ovrCells-1-key))
	return 2*k + int(b2i(o))
}

// ovrAdd adds score p with outcome o (weight w) to class k's cells, of K.
func (d *classDetail) ovrAdd(k, K int, p, w float64, o bool, weighted bool) {
	i := k*2*ovrCells + ovrKey(p, o)
	if !weighted {
		if d.Ovr == nil {
			d.Ovr = make([]int64, K*2*ovrCells)
		}
		if i < len(d.Ovr) {
			d.Ovr[i]++
		}
		return
	}
	if d.OvrW == nil {
		d.OvrW = make([]u128, K*2*ovrCells)
	}
	if !(w < 0x1p24) {
		d.OvrBad = true
		return
	}
	if i < len(d.OvrW) {
		d.OvrW[i].add(uint64(w * 0x1p40))
	}
}

// addClassDetail adds the valid rows of a batch to their slices' per-class
// figures.
func (e *Evaluator) addClassDetail(c *Cols, t *terms) {
	cfg := e.cfg
	if cfg.Kind == Multilabel {
		for i := 0; i < t.n; i++ {
			if t.reason[i] != ReasonNone {
				continue
			}
			d := e.accs[t.sliceOf[i]].classDetail()
			K := int(t.pOff[i+1] - t.pOff[i])
			for j := t.pOff[i]; j < t.pOff[i+1]; j++ {
				d.ovrAdd(int(j-t.pOff[i]), K, t.conf[j], t.w[i], t.out[j], cfg.Weighted)
			}
		}
		return
	}
	p := c.Pred
	buf := e.probBuf[:0]
	for i := 0; i < t.n; i++ {
		if t.reason[i] != ReasonNone {
			continue
		}
		lo, hi := p.Offsets[i], p.Offsets[i+1]
		buf = buf[:0]
		switch {
		case p.ElemValid == nil && p.Type == column.Float64:
			buf = append(buf, p.F64[lo:hi]...)
		case p.ElemValid == nil && p.Type == column.Float32:
			for _, v := range p.F32[lo:hi] {
				buf = append(buf, float64(v))
			}
		default:
			for j := lo; j < hi; j++ {
				v, _ := elem(p, j)
				buf = append(buf, v)
			}
		}
		y := int(t.class[i])
		w := t.w[i]
		d := e.accs[t.sliceOf[i]].classDetail()
		if cfg.TopK > 0 {
			// The rank of the label: classes scored above it, and those
			// scored equal before it (the first argmax wins a tie).
			rank := 0
			for k, v := range buf {
				if v > buf[y] || (v == buf[y] && k < y) {
					rank++
				}
			}
			if rank < cfg.TopK {
				if cfg.Weighted {
					d.TopW.Add(w)
				} else {
					d.TopN++
				}
				if e.st.boot != nil {
					b := &e.st.boot[e.bucketOf(c, i)]
					if cfg.Weighted {
						b.TopW.add(w)
					} else {
						b.TopN++
					}
				}
			}
		}
		if !cfg.Discrim && !cfg.Classwise {
			continue
		}
		if cfg.Pred == PredLogit {
			m := math.Inf(-1)
			for _, v := range buf {
				m = max(m, v)
			}
			var s float64
			for k, v := range buf {
				buf[k] = math.Exp(v - m)
				s += buf[k]
			}
			for k := range buf {
				buf[k] /= s
			}
		}
		nb := cfg.Bins
		if cfg.Classwise && d.CW == nil {
			d.CW = make([]cwBin, len(buf)*nb)
		}
		K := len(buf)
		if cfg.Discrim {
			for k, v := range buf {
				d.ovrAdd(k, K, v, w, k == y, cfg.Weighted)
			}
		}
		if cfg.Classwise && K*nb <= len(d.CW) {
			cw := d.CW[:K*nb]
			for k, v := range buf {
				b := &cw[k*nb+UniformBin(v, nb)]
				if cfg.Weighted {
					b.W.add(w)
					b.WP.add(w * v)
				} else {
					b.N++
					b.P62.add(conf62(v))
				}
			}
			if y < K {
				b := &cw[y*nb+UniformBin(buf[y], nb)]
				if cfg.Weighted {
					b.W1.add(w)
				} else {
					b.N1++
				}
			}
		}
	}
	e.probBuf = buf
}

func (a *Acc) classDetail() *classDetail {
	if a.CD == nil {
		a.CD = &classDetail{}
	}
	return a.CD
}

// ovrDiscrim is class k's one-vs-rest discrimination (see
// discrimination) over its non-empty cells; ok is false when the class
// has no cells.
func (d *classDetail) ovrDiscrim(k int, weighted bool) (auroc, auprc float64, ok bool) {
	base := k * 2 * ovrCells
	if weighted {
		if base+2*ovrCells > len(d.OvrW) {
			return 0, 0, false
		}
		var b0, b1 []*big.Float
		fixed := func(v u128) *big.Float {
			f := newBigF().SetInt(bigU128(v))
			return f.SetMantExp(f, -40)
		}
		for c := 0; c < ovrCells; c++ {
			v0, v1 := d.OvrW[base+2*c], d.OvrW[base+2*c+1]
			if v0.lo|v0.hi|v1.lo|v1.hi == 0 {
				continue
			}
			b0, b1 = append(b0, fixed(v0)), append(b1, fixed(v1))
		}
		if b0 == nil {
			return 0, 0, false
		}
		r, p, _ := discrimBig(b0, b1)
		return r, p, true
	}
	if base+2*ovrCells > len(d.Ovr) {
		return 0, 0, false
	}
	var n0, n1 []int64
	for c := 0; c < ovrCells; c++ {
		a, b := d.Ovr[base+2*c], d.Ovr[base+2*c+1]
		if a+b == 0 {
			continue
		}
		n0, n1 = append(n0, a), append(n1, b)
	}
	if n0 == nil {
		return 0, 0, false
	}
	r, p, _ := discrimCounts(n0, n1)
	return r, p, true
}

// macro is the mean over classes (or labels) with both outcomes of the
// one-vs-rest AUROC and average precision.
func (d *classDetail) macro(weighted bool) (auroc, auprc float64) {
	if d.OvrBad {
		return math.NaN(), math.NaN()
	}
	n := max(len(d.Ovr), len(d.OvrW)) / (2 * ovrCells)
	var sr, sp float64
	m := 0
	for k := range n {
		r, p, ok := d.ovrDiscrim(k, weighted)
		if !ok || math.IsNaN(r) {
			continue // a class without cells, positives or negatives
		}
		sr += r
		sp += p
		m++
	}
	if m == 0 {
		return math.NaN(), math.NaN()
	}
	return sr / float64(m), sp / float64(m)
}

// classECE is class k's one-vs-rest ECE over its uniform bins (NaN when
// the class has no rows).
func (d *classDetail) classECE(k, nb int) float64 {
	if (k+1)*nb > len(d.CW) {
		return math.NaN()
	}
	var W, gap float64
	for b := range nb {
		c := &d.CW[k*nb+b]
		if c.N > 0 || c.P62.lo|c.P62.hi != 0 {
			// Unweighted: counts and p·2^62 sums, exactly.
			W += float64(c.N)
			var s exact.Sum
			addFixed(&s, c.P62.lo, c.P62.hi, -62)
			s.AddInt(-c.N1)
			gap += math.Abs(s.Float64())
			continue
		}
		W += c.W.float()
		gap += math.Abs(c.W1.float() - c.WP.float())
	}
	return gap / W
}

// classwise is the mean over classes of classECE.
func (d *classDetail) classwise(nb int) float64 {
	if nb == 0 || len(d.CW) == 0 {
		return math.NaN()
	}
	k := len(d.CW) / nb
	var s float64
	for c := range k {
		s += d.classECE(c, nb)
	}
	return s / float64(k)
}
