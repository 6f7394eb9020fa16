package metrics

import (
	"math"

	"github.com/evalnll/evalnll/internal/column"
)

// The columnar kernel of multiclass probability lists: multiclassRow and
// mcRow for a whole batch, with the figures of ProbsRow, Clip and Log bit
// for bit, in two passes: the first checks each row and takes its sum,
// maximum, first argmax and Brier score in list order, the second the logs
// of the observed classes' probabilities (negLogPartsVec).

// mcFast reports whether a columnar multiclass kernel handles the batch
// for predictions of type pred: integer labels and prediction lists without
// nulls, and a known class count.
func (e *Evaluator) mcFast(c *Cols, pred Pred) bool {
	p, l := c.Pred, c.Label
	return e.cfg.Kind == Multiclass && e.cfg.Pred == pred && e.k > 0 &&
		p != nil && p.List && p.Valid == nil && p.ElemValid == nil &&
		l != nil && !l.List && l.Type == column.Int && l.Valid == nil
}

// mcProbsFast: multiclassProbsKernel handles the batch.
func (e *Evaluator) mcProbsFast(c *Cols) bool { return e.mcFast(c, PredProb) }

// mcProbs is what ProbsRow computes of a row p whose observed class is y,
// with its operations in their order: the float64 sum of p, its maximum and
// first argmax, and the Brier score (the squares of the other classes, then
// (1-p[y])²). ok is false when an element is outside [0, 1] or NaN (the
// row is then invalid and the other results are meaningless).
func mcProbs[T Float](p []T, y int) (r mcRes) {
	// The maximum is found on the bit patterns with the sign cleared,
	// which order non-negative floats as their values do (-0 as +0);
	// compares of integers become conditional moves, not branches, and a
	// mispredicted branch per element would stop the processor
	// overlapping one row with the next. A row with an element below 0,
	// above 1 or NaN is invalid, whatever its other results.
	const abs = 1<<63 - 1
	top := math.Float64bits(float64(p[0])) & abs
	var bad uint64
	for j, v := range p {
		f := float64(v)
		r.sum += f
		b := math.Float64bits(f)
		k := b & abs
		r.argmax += (j - r.argmax) & -int(b2i(k > top))
		top = max(top, k)
		// Above 1 (or ±Inf or NaN), or below -0.
		bad |= uint64(b2i(k > 0x3ff0000000000000) | b2i(b > 1<<63))
		// The other classes' squares: adding +0 for j == y leaves brier
		// as it was.
		r.brier += f * f * float64(b2i(j != y))
	}
	d := 1 - float64(p[y])
	r.brier += d * d
	r.max, r.ok = float64(p[r.argmax]), bad == 0
	return r
}

// mcRes is what mcProbs finds of a row.
type mcRes struct {
	sum, max, brier float64
	argmax          int
	ok              bool
}

// multiclassProbsKernel evaluates a batch for which mcProbsFast holds. A
// row it finds invalid gets its reason from multiclassRow.
func multiclassProbsKernel[T Float](e *Evaluator, c *Cols, vals []T, t *terms) {
	n, k := t.n, e.k
	off, lab := c.Pred.Offsets[:n+1], c.Label.Ints[:n]
	lo, hi := e.lo, e.hi
	countClip := e.cfg.Eps > 0
	qb, ql := grow(t.qBits, n), grow(t.qLo, n)
	t.qBits, t.qLo = qb, ql
	clear(ql)
	rare := t.rare[:0]
	// The columns in locals: a store through t would make the compiler
	// reload every slice header from memory.
	reason, clip, class := t.reason[:n], t.clip[:n], t.class[:n]
	conf, brier, out, correct := t.conf[:n], t.brier[:n], t.out[:n], t.correct[:n]
	const one = 0x3ff0000000000000 // log 1 = 0, for rows done apart
	for i := range n {
		a, b, y := off[i], off[i+1], lab[i]
		var r mcRes
		if b-a == int64(k) && uint64(y) < uint64(k) {
			r = mcProbs(vals[a:b], int(y))
		}
		if !r.ok || math.Abs(r.sum-1) > 1e-3 {
			re, _ := e.row(c, i, 1)
			reason[i] = re.Reason
			qb[i] = one
			continue
		}
		py, clipped := Clip(float64(vals[a+y]), lo, hi)
		if clipped && countClip {
			clip[i] = 1
		}
		bits := math.Float64bits(py)
		if bits-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
			// 0 or subnormal (no clipping): Log, apart.
			rare = append(rare, int32(i))
			bits = one
		}
		qb[i] = bits
		class[i] = int32(y)
		conf[i], brier[i] = r.max, r.brier
		hit := r.argmax == int(y)
		out[i], correct[i] = hit, hit
	}
	x := t.x[:n]
	for i := negLogPartsVec(x, qb, ql); i < n; i++ {
		x[i] = -logParts(qb[i], 0, 0)
	}
	for _, i := range rare {
		x[i] = -Log(min(max(float64(vals[off[i]+lab[i]]), lo), hi))
	}
	t.rare = rare
}

// addClasses adds the valid rows of an unweighted multiclass batch to the
// figures of their true classes: rows grouped by class (a counting sort),
// then each class's NLL and confidence terms added as one slice.
func (e *Evaluator) addClasses(t *terms) {
	n := t.n
	reason, class := t.reason[:n], t.class[:n]
	top := int32(-1)
	for i, r := range reason {
		if r == ReasonNone {
			top = max(top, class[i])
		}
	}
	if top < 0 {
		return
	}
	for int32(len(e.st.classes)) <= top {
		e.st.classes = append(e.st.classes, ClassAcc{})
	}
	nc := int(top) + 1
	x, conf, correct := t.x[:n], t.conf[:n], t.correct[:n]
	if nc > n/8 {
		// A few rows per class: grouping them would cost more.
		for i, r := range reason {
			if r != ReasonNone {
				continue
			}
			ca := &e.st.classes[class[i]]
			ca.Rows++
			ca.CorrectN += b2i(correct[i])
			ca.NLL.Add(x[i])
			ca.Conf.Add(conf[i])
		}
		return
	}
	// starts[y]..starts[y+1] will index the rows of class y in order.
	starts := grow(t.classStart, nc+1)
	t.classStart = starts
	clear(starts)
	for i, r := range reason {
		if r == ReasonNone {
			starts[class[i]+1]++
		}
	}
	for y := 1; y <= nc; y++ {
		starts[y] += starts[y-1]
	}
	order := grow(t.order, int(starts[nc]))
	t.order = order
	pos := grow(t.classPos, nc)
	t.classPos = pos
	copy(pos, starts[:nc])
	for i, r := range reason {
		if r == ReasonNone {
			y := class[i]
			order[pos[y]] = int32(i)
			pos[y]++
		}
	}
	for y := range nc {
		rows := order[starts[y]:starts[y+1]]
		if len(rows) == 0 {
			continue
		}
		ca := &e.st.classes[y]
		ca.Rows += int64(len(rows))
		g := grow(t.gather, len(rows))
		t.gather = g
		var hits int64
		for k, i := range rows {
			g[k] = x[i]
			hits += b2i(correct[i])
		}
		ca.CorrectN += hits
		ca.NLL.AddSlice(g)
		for k, i := range rows {
			g[k] = conf[i]
		}
		ca.Conf.AddSlice(g)
	}
}

// mcLogitsFast: multiclassLogitsKernel handles the batch.
func (e *Evaluator) mcLogitsFast(c *Cols) bool { return e.mcFast(c, PredLogit) }

// argmaxFinite is the first argmax of z and whether every element of z is
// finite (in one pass where the vector unit can).
func argmaxFinite[T Float](z []T) (int, bool) {
	if k, finite, ok := argmaxFiniteVec(z); ok {
		return k, finite
	}
	if firstBad(z, false) >= 0 {
		return 0, false
	}
	k := 0
	for j := 1; j < len(z); j++ {
		if z[j] > z[k] {
			k = j
		}
	}
	return k, true
}

// multiclassLogitsKernel evaluates a batch for which mcLogitsFast holds:
// multiclassRow and LogitsRow per row, with the check that every logit is
// finite done in the pass that finds the argmax. A row it finds invalid
// gets its reason from multiclassRow.
func multiclassLogitsKernel[T Float](e *Evaluator, c *Cols, vals []T, t *terms) {
	n, k := t.n, e.k
	off, lab := c.Pred.Offsets[:n+1], c.Label.Ints[:n]
	reason, class, x := t.reason[:n], t.class[:n], t.x[:n]
	conf, brier, out, correct := t.conf[:n], t.brier[:n], t.out[:n], t.correct[:n]
	for i := range n {
		a, b, y := off[i], off[i+1], lab[i]
		ok := b-a == int64(k) && uint64(y) < uint64(k)
		var am int
		if ok {
			am, ok = argmaxFinite(vals[a:b])
		}
		if !ok {
			re, _ := e.row(c, i, 1)
			reason[i] = re.Reason
			continue
		}
		var hitAt int
		x[i], hitAt, conf[i], brier[i] = logitsRowFrom(vals[a:b], int(y), am)
		class[i] = int32(y)
		hit := hitAt == int(y)
		out[i], correct[i] = hit, hit
	}
}
