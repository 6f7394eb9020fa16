package metrics

import (
	"math"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/exact"
)

// scalar reads row i of a numeric or bool column as float64, with the
// reason it cannot be used: null, NaN or infinite.
func scalar(c *column.Column, i int) (float64, Reason) {
	if c.IsNull(i) {
		return 0, ReasonNull
	}
	var v float64
	switch c.Type {
	case column.Float64:
		v = c.F64[i]
	case column.Float32:
		v = float64(c.F32[i])
	case column.Int:
		return float64(c.Ints[i]), ReasonNone
	case column.Uint64:
		return float64(uint64(c.Ints[i])), ReasonNone
	case column.Bool:
		if c.Bools[i] {
			return 1, ReasonNone
		}
		return 0, ReasonNone
	default:
		return 0, ReasonNull
	}
	return v, finite(v)
}

func finite(v float64) Reason {
	if v != v {
		return ReasonNaN
	}
	if math.IsInf(v, 0) {
		return ReasonInf
	}
	return ReasonNone
}

// elem reads list element j of c as float64.
func elem(c *column.Column, j int64) (float64, Reason) {
	if c.ElemValid != nil && !c.ElemValid[j] {
		return 0, ReasonNull
	}
	switch c.Type {
	case column.Float64:
		v := c.F64[j]
		return v, finite(v)
	case column.Float32:
		v := float64(c.F32[j])
		return v, finite(v)
	case column.Int:
		return float64(c.Ints[j]), ReasonNone
	case column.Uint64:
		return float64(uint64(c.Ints[j])), ReasonNone
	case column.Bool:
		if c.Bools[j] {
			return 1, ReasonNone
		}
		return 0, ReasonNone
	}
	return 0, ReasonNull
}

// binaryLabel reads a 0/1 label: bool, integer 0 or 1, or float exactly 0.0
// or 1.0.
func binaryLabel(c *column.Column, i int) (bool, RowError, bool) {
	v, r := scalar(c, i)
	if r != ReasonNone {
		return false, RowError{Role: RoleLabel, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: -1}, false
	}
	if v != 0 && v != 1 || c.Type == column.Int && c.Ints[i] != 0 && c.Ints[i] != 1 {
		return false, RowError{Role: RoleLabel, Reason: ReasonBadLabel, Value: v, HasValue: true, Elem: -1}, false
	}
	return v == 1, RowError{}, true
}

// classLabel reads a class index in [0, k): an integer, or a float holding
// an integer.
func classLabel(c *column.Column, i int, k int) (int, RowError, bool) {
	bad := func(r Reason, v float64) (int, RowError, bool) {
		return 0, RowError{Role: RoleLabel, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: -1}, false
	}
	if c.IsNull(i) {
		return bad(ReasonNull, 0)
	}
	switch c.Type {
	case column.Int:
		y := c.Ints[i]
		if y < 0 || y >= int64(k) {
			return bad(ReasonBadLabel, float64(y))
		}
		return int(y), RowError{}, true
	case column.Uint64:
		y := uint64(c.Ints[i])
		if y >= uint64(k) {
			return bad(ReasonBadLabel, float64(y))
		}
		return int(y), RowError{}, true
	}
	v, r := scalar(c, i)
	if r != ReasonNone {
		return bad(r, v)
	}
	if v != math.Trunc(v) || v < 0 || v >= float64(k) {
		return bad(ReasonBadLabel, v)
	}
	return int(v), RowError{}, true
}

func (e *Evaluator) binaryRow(c *Cols, i int) (RowError, bool) {
	y, re, ok := binaryLabel(c.Label, i)
	if !ok {
		return re, false
	}
	v, r := scalar(c.Pred, i)
	if e.cfg.Pred == PredProb {
		if re, ok := checkProb(v, r, RolePred, -1); !ok {
			return re, false
		}
	} else if r != ReasonNone {
		return RowError{Role: RolePred, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: -1}, false
	}
	e.binaryPred(v, y)
	e.curX += e.binaryNLL(v, y)
	return RowError{}, true
}

// binaryPred records one binary prediction (v is a probability or a logit)
// and checks nothing: v has been validated.
func (e *Evaluator) binaryPred(v float64, y bool) {
	p := v
	if e.cfg.Pred == PredLogit {
		p = Sigmoid(v)
	}
	var d float64
	if y {
		d = 1 - p
	} else {
		d = p
	}
	e.cur = append(e.cur, pred{conf: p, brier: d * d, out: y, correct: (p >= 0.5) == y})
}

// binaryNLL is the NLL of one binary prediction, counting a clipped
// probability.
func (e *Evaluator) binaryNLL(v float64, y bool) float64 {
	if e.cfg.Pred == PredLogit {
		return BinaryLogitNLL(v, y)
	}
	p, clipped := Clip(v, e.lo, e.hi)
	if clipped && e.cfg.Eps > 0 {
		e.curClip++
	}
	return BinaryProbNLL(p, y)
}

// checkProb validates a probability: in [0, 1].
func checkProb(v float64, r Reason, role Role, el int) (RowError, bool) {
	if r != ReasonNone {
		return RowError{Role: role, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: el}, false
	}
	if v < 0 || v > 1 {
		return RowError{Role: role, Reason: ReasonOutOfRange, Value: v, HasValue: true, Elem: el}, false
	}
	return RowError{}, true
}

// list returns the bounds of row i of list column c, checking the row is
// not null and has the expected length (adopting it when unknown).
func (e *Evaluator) list(c *column.Column, i int, role Role) (lo, hi int64, re RowError, ok bool) {
	if c.IsNull(i) {
		return 0, 0, RowError{Role: role, Reason: ReasonNull, Elem: -1}, false
	}
	lo, hi = c.Offsets[i], c.Offsets[i+1]
	n := int(hi - lo)
	if e.k == 0 {
		e.k = n
	}
	if n != e.k || n == 0 {
		return 0, 0, RowError{Role: role, Reason: ReasonLength, Len: n, Want: e.k, Elem: -1}, false
	}
	return lo, hi, RowError{}, true
}

func (e *Evaluator) multiclassRow(c *Cols, i int) (RowError, bool) {
	// The label is checked against the list length, so the list comes
	// first when the class count is not known yet.
	if c.Label.IsNull(i) {
		return RowError{Role: RoleLabel, Reason: ReasonNull, Elem: -1}, false
	}
	lo, hi, re, ok := e.list(c.Pred, i, RolePred)
	if !ok {
		return re, false
	}
	y, re, ok := classLabel(c.Label, i, e.k)
	if !ok {
		return re, false
	}
	if re, ok := e.checkList(c.Pred, lo, hi); !ok {
		return re, false
	}
	var nll, conf, brier float64
	var argmax int
	switch c.Pred.Type {
	case column.Float64:
		nll, argmax, conf, brier = mcRow(e, c.Pred.F64[lo:hi], y)
	case column.Float32:
		nll, argmax, conf, brier = mcRow(e, c.Pred.F32[lo:hi], y)
	default:
		return RowError{Role: RolePred, Reason: ReasonNull, Elem: -1}, false
	}
	if nll != nll { // the probability sum check failed
		return RowError{Role: RolePred, Reason: ReasonSum, Value: conf, HasValue: true, Elem: -1}, false
	}
	e.curX = nll
	e.curClass = y
	e.cur = append(e.cur, pred{conf: conf, brier: brier, out: argmax == y, correct: argmax == y})
	return RowError{}, true
}

// mcRow evaluates one multiclass row. For probabilities a failed sum check
// returns nll = NaN with the sum in conf.
func mcRow[T Float](e *Evaluator, p []T, y int) (nll float64, argmax int, conf, brier float64) {
	if e.cfg.Pred == PredLogit {
		return LogitsRow(p, y)
	}
	argmax, conf, brier, sum := ProbsRow(p, y)
	if math.Abs(sum-1) > 1e-3 {
		return math.NaN(), 0, sum, 0
	}
	py, clipped := Clip(float64(p[y]), e.lo, e.hi)
	if clipped && e.cfg.Eps > 0 {
		e.curClip++
	}
	return -Log(py), argmax, conf, brier
}

func (e *Evaluator) multilabelRow(c *Cols, i int) (RowError, bool) {
	lo, hi, re, ok := e.list(c.Pred, i, RolePred)
	if !ok {
		return re, false
	}
	if c.Label.IsNull(i) {
		return RowError{Role: RoleLabel, Reason: ReasonNull, Elem: -1}, false
	}
	llo, lhi := c.Label.Offsets[i], c.Label.Offsets[i+1]
	if int(lhi-llo) != e.k {
		return RowError{Role: RoleLabel, Reason: ReasonLength, Len: int(lhi - llo), Want: e.k, Elem: -1}, false
	}
	// Validate every pair before recording any.
	for j := int64(0); j < hi-lo; j++ {
		yv, r := elem(c.Label, llo+j)
		if r != ReasonNone {
			return RowError{Role: RoleLabel, Reason: r, Value: yv, HasValue: r != ReasonNull, Elem: int(j)}, false
		}
		if yv != 0 && yv != 1 {
			return RowError{Role: RoleLabel, Reason: ReasonBadLabel, Value: yv, HasValue: true, Elem: int(j)}, false
		}
		v, r := elem(c.Pred, lo+j)
		if e.cfg.Pred == PredProb {
			if re, ok := checkProb(v, r, RolePred, int(j)); !ok {
				return re, false
			}
		} else if r != ReasonNone {
			return RowError{Role: RolePred, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: int(j)}, false
		}
	}
	var sum float64
	for j := int64(0); j < hi-lo; j++ {
		yv, _ := elem(c.Label, llo+j)
		v, _ := elem(c.Pred, lo+j)
		y := yv == 1
		e.binaryPred(v, y)
		sum += e.binaryNLL(v, y)
	}
	e.curX = sum / float64(hi-lo)
	return RowError{}, true
}

func (e *Evaluator) logprobRow(c *Cols, i int) (RowError, bool) {
	if !e.cfg.Tokens {
		v, r := scalar(c.Pred, i)
		if r == ReasonNone && v > 0 {
			r = ReasonOutOfRange
		}
		if r != ReasonNone {
			return RowError{Role: RolePred, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: -1, Logprob: true}, false
		}
		e.curX = -v
		return RowError{}, true
	}
	p := c.Pred
	if p.IsNull(i) {
		return RowError{Role: RolePred, Reason: ReasonNull, Elem: -1}, false
	}
	lo, hi := p.Offsets[i], p.Offsets[i+1]
	if e.cfg.Mask {
		return e.maskedRow(c, i, lo, hi)
	}
	// The exact sum, rounded once (tokenNLL): the row's figure does not
	// depend on the order of its terms, nor on how rows are split.
	var s exact.Sum
	for j := lo; j < hi; j++ {
		v, r := elem(p, j)
		if r == ReasonNone && v > 0 {
			r = ReasonOutOfRange
		}
		if r != ReasonNone {
			return RowError{Role: RolePred, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: int(j - lo), Logprob: true}, false
		}
		s.Add(v)
	}
	e.curX = -s.Float64() // -0 for a sum of 0, as tokenNLL
	e.curTok = float64(hi - lo)
	return RowError{}, true
}

// maskedRow is logprobRow for a token list [lo, hi) with a mask: only the
// tokens whose mask element is 1 (or true) count, in the NLL and the token
// count; the others are not read (a prompt's first token often has no
// log-probability). The mask must be as long as the list, with no null
// element, and hold only 0 and 1.
func (e *Evaluator) maskedRow(c *Cols, i int, lo, hi int64) (RowError, bool) {
	m, p := c.Mask, c.Pred
	if m.IsNull(i) {
		return RowError{Role: RoleMask, Reason: ReasonNull, Elem: -1}, false
	}
	mlo, mhi := m.Offsets[i], m.Offsets[i+1]
	if mhi-mlo != hi-lo {
		return RowError{Role: RoleMask, Reason: ReasonLength, Len: int(mhi - mlo), Want: int(hi - lo), Elem: -1, Mask: true}, false
	}
	var s exact.Sum
	n := 0
	for j := int64(0); j < hi-lo; j++ {
		mv, r := elem(m, mlo+j)
		if r == ReasonNone && mv != 0 && mv != 1 {
			r = ReasonOutOfRange
		}
		if r != ReasonNone {
			return RowError{Role: RoleMask, Reason: r, Value: mv, HasValue: r != ReasonNull, Elem: int(j), Mask: true}, false
		}
		if mv == 0 {
			continue
		}
		v, r := elem(p, lo+j)
		if r == ReasonNone && v > 0 {
			r = ReasonOutOfRange
		}
		if r != ReasonNone {
			return RowError{Role: RolePred, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: int(j), Logprob: true}, false
		}
		s.Add(v)
		n++
	}
	e.curX = -s.Float64()
	e.curTok = float64(n)
	return RowError{}, true
}

func (e *Evaluator) gaussianRow(c *Cols, i int) (RowError, bool) {
	y, r := scalar(c.Label, i)
	if r != ReasonNone {
		return RowError{Role: RoleLabel, Reason: r, Value: y, HasValue: r != ReasonNull, Elem: -1}, false
	}
	m, r := scalar(c.Pred, i)
	if r != ReasonNone {
		return RowError{Role: RolePred, Reason: r, Value: m, HasValue: r != ReasonNull, Elem: -1}, false
	}
	s, r := scalar(c.Scale, i)
	if r == ReasonNone && !(s > 0) {
		r = ReasonBadScale
	}
	if r != ReasonNone {
		return RowError{Role: RoleScale, Reason: r, Value: s, HasValue: r != ReasonNull, Elem: -1}, false
	}
	if e.cfg.Pred == PredVar {
		e.curX = GaussianNLLVar(y, m, s)
		e.curG = gaussianTerms(y, m, math.Sqrt(s))
	} else {
		e.curX = GaussianNLL(y, m, s)
		e.curG = gaussianTerms(y, m, s)
	}
	return RowError{}, true
}

// checkList validates the elements [lo, hi) of a prediction list: not null,
// finite, and in [0, 1] for probabilities. Float columns without null
// elements take a typed loop.
func (e *Evaluator) checkList(c *column.Column, lo, hi int64) (RowError, bool) {
	prob := e.cfg.Pred == PredProb
	start := lo
	if c.ElemValid == nil {
		var j int
		switch c.Type {
		case column.Float64:
			j = firstBad(c.F64[lo:hi], prob)
		case column.Float32:
			j = firstBad(c.F32[lo:hi], prob)
		default:
			j = 0
		}
		if j < 0 {
			return RowError{}, true
		}
		lo += int64(j) // explain the first bad element below
	}
	for j := lo; j < hi; j++ {
		v, r := elem(c, j)
		if prob {
			if re, ok := checkProb(v, r, RolePred, int(j-start)); !ok {
				return re, false
			}
		} else if r != ReasonNone {
			return RowError{Role: RolePred, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: int(j - start)}, false
		}
	}
	return RowError{}, true
}

// firstBad is the index of the first value that is NaN, infinite or, for
// probabilities, outside [0, 1]; -1 when all are good.
func firstBad[T Float](vs []T, prob bool) int {
	if prob {
		for j, v := range vs {
			if !(v >= 0 && v <= 1) {
				return j
			}
		}
		return -1
	}
	if j, ok := firstNonFiniteVec(vs); ok {
		return j
	}
	for j, v := range vs {
		// v - v is 0 for finite v, NaN for ±Inf and NaN.
		if v-v != 0 {
			return j
		}
	}
	return -1
}
