package metrics

import "math"

// Encodings of the accumulator parts added by the calibration figures:
// the confidence histogram, the per-class detail and the Gaussian scores.
// Each is written as a presence flag and its fields; decoders check every
// length against the configuration and every count against the bytes left.

func (e *enc) u128(u u128) { e.uv(u.lo); e.uv(u.hi) }

func (d *dec) u128(what string) u128 {
	u := u128{lo: d.uv(what), hi: d.uv(what)}
	if u.hi > 1<<60 {
		d.fail(what)
	}
	return u
}

func (e *enc) fx(f *fx) {
	g := *f
	g.flush()
	e.v(g.hi)
	e.uv(g.lo)
	e.flag(g.bad)
}

func (d *dec) fx(what string) fx {
	f := fx{hi: d.v(what), lo: d.uv(what), bad: d.flag(what)}
	if f.hi > 1<<60 || f.hi < -1<<60 {
		d.fail(what)
	}
	return f
}

func appendHist(e *enc, h *Hist) {
	e.flag(h != nil)
	if h == nil {
		return
	}
	e.flag(h.Over)
	if !h.Over {
		pts := append([]Point(nil), h.Pts...)
		sortPoints(pts)
		e.uv(uint64(len(pts)))
		for _, p := range pts {
			e.f(p.Conf)
			e.f(p.W)
			e.flag(p.Out)
		}
		return
	}
	e.sum(&h.Tiny)
	var ks []int
	for k := 0; k < histCells; k++ {
		if h.C[k].n[0] != 0 || h.C[k].n[1] != 0 {
			ks = append(ks, k)
		}
	}
	e.uv(uint64(len(ks)))
	prev := 0
	for _, k := range ks {
		e.uv(uint64(k - prev))
		prev = k
		hc := &h.C[k]
		e.n(hc.n[0])
		e.n(hc.n[1])
		e.u128(hc.m[0])
		e.u128(hc.m[1])
		if h.edges {
			e.f(hc.lo)
			e.f(hc.hi)
		}
		if h.WIdx != nil {
			i := h.WIdx[k]
			e.flag(i != 0)
			if i != 0 {
				w := &h.W[i-1]
				e.sum(&w.W0)
				e.sum(&w.W1)
				e.sum(&w.WC)
			}
		}
	}
}

// histGrids bounds the histogram grids (about 870 KB each) a decoder
// allocates, by the bytes of its input: one per 256 bytes, plus one.
func decodeHist(d *dec, cfg *Config, budget *int) *Hist {
	if !d.flag("histogram") {
		if cfg.hist() {
			d.fail("histogram")
		}
		return nil
	}
	if !cfg.hist() {
		d.fail("histogram")
		return nil
	}
	h := newHist(cfg.Binning == Quantile, cfg.Weighted)
	h.Over = d.flag("histogram")
	if d.Err != nil {
		return nil
	}
	if !h.Over {
		n := d.count("histogram points", 17)
		if n > histExact {
			d.fail("histogram points")
		}
		if d.Err == nil && n > 0 {
			h.Pts = make([]Point, n)
			for i := range h.Pts {
				p := &h.Pts[i]
				p.Conf, p.W, p.Out = d.f("point"), d.f("point"), d.flag("point")
				if !(p.Conf >= 0 && p.Conf <= 1 && p.W >= 0 && p.W <= math.MaxFloat64) {
					d.fail("point")
				}
			}
		}
		return h
	}
	if *budget <= 0 {
		d.fail("histogram")
		return nil
	}
	*budget--
	h.Tiny = d.sum("histogram")
	n := d.count("histogram cells", 7)
	if d.Err != nil || n > histCells {
		d.fail("histogram cells")
		return nil
	}
	h.Over = false
	h.toGrid()
	k := -1
	for i := 0; i < n && d.Err == nil; i++ {
		step := d.uv("histogram cell")
		if step >= uint64(histCells) || (i > 0 && step == 0) {
			d.fail("histogram cell")
			break
		}
		if i == 0 {
			k = int(step)
		} else {
			k += int(step)
		}
		if k >= histCells {
			d.fail("histogram cell")
			break
		}
		hc := &h.C[k]
		hc.n[0], hc.n[1] = d.n("histogram cell"), d.n("histogram cell")
		hc.m[0], hc.m[1] = d.u128("histogram cell"), d.u128("histogram cell")
		if h.edges {
			hc.lo, hc.hi = d.f("histogram cell"), d.f("histogram cell")
			if !(hc.lo >= 0 && hc.hi <= 1 && hc.lo <= hc.hi) {
				d.fail("histogram cell")
			}
		}
		if h.WIdx != nil && d.flag("histogram cell") {
			h.W = append(h.W, wcell{W0: d.sum("histogram cell"), W1: d.sum("histogram cell"), WC: d.sum("histogram cell")})
			h.WIdx[k] = int32(len(h.W))
		}
	}
	return h
}

func appendClassDetail(e *enc, c *classDetail) {
	e.flag(c != nil)
	if c == nil {
		return
	}
	e.n(c.TopN)
	e.sum(&c.TopW)
	e.flag(c.OvrBad)
	e.uv(uint64(len(c.Ovr)))
	for _, x := range c.Ovr {
		e.n(x)
	}
	e.uv(uint64(len(c.OvrW)))
	for _, x := range c.OvrW {
		e.u128(x)
	}
	e.uv(uint64(len(c.CW)))
	for i := range c.CW {
		b := &c.CW[i]
		e.fx(&b.W)
		e.fx(&b.W1)
		e.fx(&b.WP)
		e.u128(b.P62)
		e.n(b.N)
		e.n(b.N1)
	}
}

func decodeClassDetail(d *dec, cfg *Config) *classDetail {
	if !d.flag("class detail") {
		return nil
	}
	if !cfg.wantClassDetail() {
		d.fail("class detail")
		return nil
	}
	c := &classDetail{TopN: d.n("class detail"), TopW: d.sum("class detail"), OvrBad: d.flag("class detail")}
	if n := d.count("class detail", 1); n > 0 {
		if n%(2*ovrCells) != 0 || n/(2*ovrCells) > maxBins {
			d.fail("class detail")
			return nil
		}
		c.Ovr = make([]int64, n)
		for i := range c.Ovr {
			c.Ovr[i] = d.n("class detail")
		}
	}
	if n := d.count("class detail", 2); n > 0 {
		if n%(2*ovrCells) != 0 || n/(2*ovrCells) > maxBins {
			d.fail("class detail")
			return nil
		}
		c.OvrW = make([]u128, n)
		for i := range c.OvrW {
			c.OvrW[i] = d.u128("class detail")
		}
	}
	if n := d.count("class detail", 13); n > 0 {
		if n%cfg.Bins != 0 {
			d.fail("class detail")
			return nil
		}
		c.CW = make([]cwBin, n)
		for i := range c.CW {
			b := &c.CW[i]
			b.W, b.W1, b.WP = d.fx("class detail"), d.fx("class detail"), d.fx("class detail")
			b.P62 = d.u128("class detail")
			b.N, b.N1 = d.n("class detail"), d.n("class detail")
		}
	}
	k := func(n, per int) int {
		if n == 0 {
			return -1
		}
		return n / per
	}
	ks := []int{k(len(c.Ovr), 2*ovrCells), k(len(c.OvrW), 2*ovrCells), k(len(c.CW), cfg.Bins)}
	K := -1
	for _, x := range ks {
		if x >= 0 {
			if K >= 0 && x != K {
				d.fail("class detail")
			}
			K = x
		}
	}
	return c
}

func appendGauss(e *enc, g *gaussAcc) {
	e.flag(g != nil)
	if g == nil {
		return
	}
	e.sum(&g.SqErr)
	e.sum(&g.AbsErr)
	e.sum(&g.CRPS)
	for k := range g.Cov {
		e.sum(&g.Cov[k])
		e.n(g.CovN[k])
	}
	e.uv(uint64(len(g.PIT)))
	for i := range g.PIT {
		e.n(g.PIT[i].Count)
		e.sum(&g.PIT[i].W)
	}
}

func decodeGauss(d *dec, cfg *Config) *gaussAcc {
	present := d.flag("gaussian")
	if present != (cfg.Kind == Gaussian) {
		d.fail("gaussian")
		return nil
	}
	if !present {
		return nil
	}
	g := &gaussAcc{SqErr: d.sum("gaussian"), AbsErr: d.sum("gaussian"), CRPS: d.sum("gaussian")}
	for k := range g.Cov {
		g.Cov[k] = d.sum("gaussian")
		g.CovN[k] = d.n("gaussian")
	}
	n := d.count("gaussian", 1+minSum)
	if d.Err == nil && n != cfg.Bins {
		d.fail("gaussian")
		return nil
	}
	if d.Err == nil {
		g.PIT = make([]Bin, n)
		for i := range g.PIT {
			g.PIT[i].Count = d.n("gaussian")
			g.PIT[i].W = d.sum("gaussian")
		}
	}
	return g
}

func appendLabels(e *enc, l *Labels) {
	e.flag(l != nil)
	if l == nil {
		return
	}
	e.flag(l.Binary)
	e.bytes([]byte(l.Positive))
	e.uv(uint64(len(l.Classes)))
	for _, c := range l.Classes {
		e.bytes([]byte(c))
	}
}

func decodeLabels(d *dec) *Labels {
	if !d.flag("labels") {
		return nil
	}
	bin := d.flag("labels")
	pos := string(d.bytes("labels"))
	n := d.count("labels", 1)
	var names []string
	for i := 0; i < n && d.Err == nil; i++ {
		names = append(names, string(d.bytes("labels")))
	}
	if d.Err != nil {
		return nil
	}
	if bin {
		if len(names) > 0 {
			d.fail("labels")
		}
		return PositiveLabel(pos)
	}
	l, err := ClassLabels(names)
	if err != nil || pos != "" {
		d.fail("labels")
		return nil
	}
	return l
}

func labelsString(l *Labels) string {
	switch {
	case l == nil:
		return "none"
	case l.Binary:
		return "--positive " + l.Positive
	}
	s := "--classes "
	for i, c := range l.Classes {
		if i > 0 {
			s += ","
		}
		s += c
	}
	return s
}
