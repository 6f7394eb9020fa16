package metrics

import (
	"math"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/exact"
)

// The batch path of Evaluator.Add: kernels fill per-row terms for a whole
// batch (columns in, columns out), invalid rows are found from a reason
// column, and the valid rows are accumulated per slice in column loops that
// feed exact.Sum.AddSlice. The per-row functions of kinds.go remain the
// reference: they evaluate the kinds without a columnar kernel, and explain
// an invalid row in full when one stops the run.

// terms are the per-row figures of one batch; the slices are reused.
type terms struct {
	n      int
	reason []Reason
	w      []float64 // weights (all 1 when unweighted)
	onesN  int       // w[:onesN] are known to be 1 (see weights)
	x      []float64 // NLL in nats
	tok    []float64 // token counts
	bytes  []float64 // byte counts (cfg.LMBytes; see lmTerms)
	words  []float64 // word counts (cfg.LMWords)
	clip   []int32   // clipped values
	class  []int32   // true class (multiclass)
	gauss  []gaussTerms
	// Predictions: one per row, or, for multilabel, pOff[i]..pOff[i+1].
	pOff         []int32
	conf, brier  []float64
	out, correct []bool
	sliceOf      []int32 // index into Evaluator.accs per row
	order        []int32 // rows grouped by slice
	gather       []float64
	gather2      []float64
	bin          []int32      // see uniformBins
	binN         int          // the bin count t.bin is for; 0: not filled
	zeroBin      []int32      // zeros: the bins of a run with one (never written)
	hs           *histScratch // see histScratch; allocated when first needed
	binAcc       []binAcc
	keyOfCode    []int32
	qBits        []uint64  // binaryProbFast: the outcome's probability, hi
	qLo          []float64 // and lo
	rare         []int32
	strCache     [256]strSlot // see sliceIDs
	predIdx      []int32
	codesUsed    []int32    // see sliceIDs
	sliceBin     []sliceBin // see Evaluator.sliceBins
	sliceClip    []int64    // see accumulateSlices
	sliceStart   []int32    // see accumulateSlices
	validSlice   []int32    // see mapCodesVec
	counted      bool       // groupCnt holds accumulateSlices's counts (sliceIDs)
	groupCnt     []int32    // see groupRows
	classStart   []int32    // see addClasses
	classPos     []int32
}

// histScratch is the working space of Hist.addAll.
func (t *terms) histScratch() *histScratch {
	if t.hs == nil {
		t.hs = new(histScratch)
	}
	return t.hs
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (t *terms) reset(n int, preds int) {
	t.n = n
	t.reason = grow(t.reason, n)
	clear(t.reason)
	if cap(t.w) < n {
		t.onesN = 0 // a new array
	}
	t.w = grow(t.w, n)
	t.x = grow(t.x, n)
	t.tok = grow(t.tok, n)
	t.clip = grow(t.clip, n)
	clear(t.clip)
	t.class = grow(t.class, n)
	t.conf = grow(t.conf, preds)
	t.brier = grow(t.brier, preds)
	t.out = grow(t.out, preds)
	t.correct = grow(t.correct, preds)
	t.binN = 0
}

// uniformBins returns the uniform bin of predictions 0..np-1 among nb
// (UniformBin of each confidence), worked out once per batch: the
// calibration bins and the bootstrap's both read it.
func (t *terms) uniformBins(np, nb int) []int32 {
	if t.binN == nb && len(t.bin) >= np {
		return t.bin[:np]
	}
	t.bin = grow(t.bin, np)
	conf, bin := t.conf[:np], t.bin[:np]
	i := uniformBinsVec(conf, nb, bin)
	for ; i < np; i++ {
		bin[i] = int32(UniformBin(conf[i], nb))
	}
	t.binN = nb
	return bin
}

// weights fills t.w and marks invalid weights (after any reason the row
// already has: label, prediction and scale are checked first).
func (e *Evaluator) weights(c *Cols, t *terms) {
	w := t.w
	if c.Weight == nil {
		// Unweighted: t.w holds ones from the last batch, as far as onesN.
		for i := t.onesN; i < len(w); i++ {
			w[i] = 1
		}
		t.onesN = max(t.onesN, len(w))
		return
	}
	t.onesN = 0
	for i := range w {
		v, r := scalar(c.Weight, i)
		if r == ReasonNone && v < 0 {
			r = ReasonNegativeWeight
		}
		w[i] = v
		if r != ReasonNone && t.reason[i] == ReasonNone {
			t.reason[i] = r
		}
	}
}

// binaryKernel evaluates a binary batch with a float prediction column.
func binaryKernel[T Float](e *Evaluator, c *Cols, p []T, t *terms) {
	lab := c.Label
	logit := e.cfg.Pred == PredLogit
	if !logit && lab.Valid == nil && c.Pred.Valid == nil && (lab.Type == column.Int || lab.Type == column.Uint64) {
		binaryProbFast(e, lab.Ints[:t.n], p[:t.n], t)
		return
	}
	lo, hi := e.lo, e.hi
	countClip := e.cfg.Eps > 0
	for i := 0; i < t.n; i++ {
		// The label.
		var y bool
		if lab.Valid != nil && !lab.Valid[i] {
			t.reason[i] = ReasonNull
			continue
		}
		switch lab.Type {
		case column.Bool:
			y = lab.Bools[i]
		case column.Int, column.Uint64:
			v := lab.Ints[i]
			if v != 0 && v != 1 {
				t.reason[i] = ReasonBadLabel
				continue
			}
			y = v == 1
		default:
			v, r := scalar(lab, i)
			if r == ReasonNone && v != 0 && v != 1 {
				r = ReasonBadLabel
			}
			if r != ReasonNone {
				t.reason[i] = r
				continue
			}
			y = v == 1
		}
		// The prediction.
		if c.Pred.Valid != nil && !c.Pred.Valid[i] {
			t.reason[i] = ReasonNull
			continue
		}
		v := float64(p[i])
		if r := finite(v); r != ReasonNone {
			t.reason[i] = r
			continue
		}
		var q, x float64
		if logit {
			q = Sigmoid(v)
			x = BinaryLogitNLL(v, y)
		} else {
			if v < 0 || v > 1 {
				t.reason[i] = ReasonOutOfRange
				continue
			}
			q = v
			pc := v
			if pc < lo {
				pc = lo
				if countClip {
					t.clip[i] = 1
				}
			} else if pc > hi {
				pc = hi
				if countClip {
					t.clip[i] = 1
				}
			}
			x = BinaryProbNLL(pc, y)
		}
		d := q
		if y {
			d = 1 - q
		}
		t.x[i] = x
		t.conf[i] = q
		t.brier[i] = d * d
		t.out[i] = y
		t.correct[i] = (q >= 0.5) == y
	}
}

// binaryProbFast is binaryKernel for probabilities with integer labels and
// no nulls (the common case), in two passes: the first checks each row and
// splits the probability of its outcome exactly into hi + lo, as
// BinaryProbNLL does; the second takes the logs, in a short loop whose
// iterations the processor overlaps. The figures are those of
// BinaryProbNLL, bit for bit.
func binaryProbFast[T Float](e *Evaluator, lab []int64, p []T, t *terms) {
	lo, hi := e.lo, e.hi
	countClip := e.cfg.Eps > 0
	n := len(p)
	qb, ql := grow(t.qBits, n), grow(t.qLo, n)
	t.qBits, t.qLo = qb, ql
	rare := t.rare[:0]
	// The columns in locals: a store through t would make the compiler
	// reload every slice header from memory.
	lab = lab[:n]
	reason, clip, conf, brier, out, correct := t.reason[:n], t.clip[:n], t.conf[:n], t.brier[:n], t.out[:n], t.correct[:n]
	const one = 0x3ff0000000000000 // log 1 = 0, for rows done apart
	for i := 0; i < n; i++ {
		if i%8 == 0 {
			// Whole blocks of valid rows in the vector unit, if there is
			// one (binary_simd.go); it stops at a block with an invalid
			// row, which this loop does.
			if i, rare = binaryProbVec(i, lab, p, lo, hi, countClip, qb, ql, clip, conf, brier, out, correct, rare); i == n {
				break
			}
		}
		v := float64(p[i])
		y := lab[i]
		if uint64(y) > 1 || !(v >= 0 && v <= 1) {
			reason[i] = binaryProbReason(y, v)
			qb[i], ql[i] = one, 0
			continue
		}
		pc, clipped := Clip(v, lo, hi)
		if clipped && countClip {
			clip[i] = 1
		}
		// The outcome's probability: pc (y = 1), or 1 - pc = h + l
		// exactly (y = 0), and its distance d from the outcome, chosen
		// with bit masks: labels are as good as random, and a branch on
		// them is mispredicted half the time.
		yb := y == 1
		m := -uint64(y) // all ones when y = 1
		h0 := 1 - pc
		l0 := (1 - h0) - pc // exact: Fast2Sum, |1| >= |pc|
		b := math.Float64bits(pc)&m | math.Float64bits(h0)&^m
		l := math.Float64frombits(math.Float64bits(l0) &^ m)
		d := math.Float64frombits(math.Float64bits(1-v)&m | math.Float64bits(v)&^m)
		if b-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
			// The outcome's probability is 0 or subnormal (no clipping).
			rare = append(rare, int32(i))
			b, l = one, 0
		}
		qb[i], ql[i] = b, l
		conf[i] = v
		brier[i] = d * d
		out[i] = yb
		correct[i] = (v >= 0.5) == yb
	}
	x := t.x[:len(p)]
	for i := negLogPartsVec(x, qb, ql); i < len(x); i++ {
		x[i] = -logParts(qb[i], ql[i], 0)
	}
	for _, i := range rare {
		x[i] = BinaryProbNLL(min(max(float64(p[i]), lo), hi), lab[i] == 1)
	}
	t.rare = rare
}

// binaryProbReason is why a row with integer label y and probability v is
// invalid, in the order binaryKernel checks.
func binaryProbReason(y int64, v float64) Reason {
	if y != 0 && y != 1 {
		return ReasonBadLabel
	}
	if r := finite(v); r != ReasonNone {
		return r
	}
	return ReasonOutOfRange
}

// tokensKernel is logprobRow for a batch of token log-probability lists:
// each row's NLL is minus the exact sum of its elements, rounded once
// (tokenNLL), as logprobRow computes it. A row with a null or a value that
// is not a log-probability (NaN, infinite, above 0) gets its reason from
// logprobRow.
func tokensKernel[T Float](e *Evaluator, c *Cols, vals []T, t *terms) {
	p := c.Pred
	x, tok, class, reason := t.x[:t.n], t.tok[:t.n], t.class[:t.n], t.reason[:t.n]
	for i := range x {
		class[i] = 0
		if p.IsNull(i) {
			reason[i] = ReasonNull
			continue
		}
		lo, hi := p.Offsets[i], p.Offsets[i+1]
		ok := true
		if p.ElemValid != nil {
			for _, v := range p.ElemValid[lo:hi] {
				ok = ok && v
			}
		}
		var nll float64
		if ok {
			nll, ok = tokenNLL(vals[lo:hi])
		}
		if !ok {
			re, _ := e.logprobRow(c, i)
			reason[i] = re.Reason
			continue
		}
		x[i] = nll
		tok[i] = float64(hi - lo)
	}
}

// rowKernel evaluates each row with the per-row reference functions.
func (e *Evaluator) rowKernel(c *Cols, t *terms) {
	multi := e.cfg.Kind == Multilabel
	gauss := e.cfg.Kind == Gaussian
	if gauss {
		t.gauss = grow(t.gauss, t.n)
	}
	if multi {
		t.pOff = grow(t.pOff, t.n+1)
		t.pOff[0] = 0
		t.conf, t.brier, t.out, t.correct = t.conf[:0], t.brier[:0], t.out[:0], t.correct[:0]
	}
	for i := 0; i < t.n; i++ {
		re, ok := e.row(c, i, 1)
		if !ok {
			t.reason[i] = re.Reason
		} else {
			t.x[i], t.tok[i], t.clip[i], t.class[i] = e.curX, e.curTok, int32(e.curClip), int32(e.curClass)
			if gauss {
				t.gauss[i] = e.curG
			}
			if multi {
				for _, p := range e.cur {
					t.conf = append(t.conf, p.conf)
					t.brier = append(t.brier, p.brier)
					t.out = append(t.out, p.out)
					t.correct = append(t.correct, p.correct)
				}
			} else if len(e.cur) == 1 {
				p := e.cur[0]
				t.conf[i], t.brier[i], t.out[i], t.correct[i] = p.conf, p.brier, p.out, p.correct
			}
		}
		if multi {
			t.pOff[i+1] = int32(len(t.conf))
		}
	}
}

// explain re-evaluates invalid row i with the per-row functions for a full
// RowError.
func (e *Evaluator) explain(c *Cols, i int, t *terms) RowError {
	if re, ok := e.row(c, i, 1); !ok {
		return re
	}
	if e.cfg.LMBytes || e.cfg.LMWords {
		if _, _, re, ok := e.lmRow(c, i); !ok {
			return re
		}
	}
	v, r := scalar(c.Weight, i)
	if r == ReasonNone {
		r = ReasonNegativeWeight
	}
	return RowError{Role: RoleWeight, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: -1}
}

// strSlot is an entry of the string cache of sliceIDs.
type strSlot struct {
	s  string
	id int32
}

// sliceIDs assigns each row an index into e.accs, the accumulators of the
// slices this batch touches.
func (e *Evaluator) sliceIDs(c *Cols, t *terms) {
	t.sliceOf = grow(t.sliceOf, t.n)
	t.counted = false
	// A later chunk of a batch whose chunks share their slices
	// (keepSlices) starts from the slices (and codes) found so far.
	cont := e.keepSlices && e.slicesOpen
	e.slicesOpen = e.keepSlices
	if !cont {
		e.accs = e.accs[:0]
		clear(e.localIdx)
	}
	if e.cfg.ByCols == 0 {
		if e.one == nil {
			e.one = newAcc(e.cfg)
			e.st.slices[""] = e.one
		}
		e.accs = append(e.accs, e.one)
		clear(t.sliceOf)
		return
	}
	local := e.localIdx
	idOf := func(i int) int32 {
		a := e.acc(c, i)
		id, ok := local[a]
		if !ok {
			id = int32(len(e.accs))
			local[a] = id
			e.accs = append(e.accs, a)
		}
		return id
	}
	// One dictionary-encoded column: look each code up once.
	if b := c.By[0]; e.cfg.ByCols == 1 && b.Dict != nil && b.Strs == nil {
		// keyOfCode is all -1 between calls: the codes used are reset
		// after, not the whole dictionary before (batches are evaluated
		// in chunks of a few thousand rows; a dictionary may be larger).
		for len(t.keyOfCode) < len(b.Dict) {
			t.keyOfCode = append(t.keyOfCode, -1)
		}
		used := t.codesUsed
		if !cont {
			used = used[:0]
		}
		nullID := int32(-1)
		keyOfCode, sliceOf := t.keyOfCode, t.sliceOf[:t.n]
		if e.sliceBins {
			// accumulateSlices's count of the valid rows of each slice
			// (see there), in the same pass.
			cnt := growCounts(t.groupCnt[:0], len(e.accs))
			reason, codes := t.reason[:len(sliceOf)], b.Codes[:len(sliceOf)]
			vid := grow(t.validSlice, len(sliceOf))
			t.validSlice = vid
			vec := true
			for i := 0; i < len(sliceOf); i++ {
				if b.Valid == nil {
					// The rows up to the next code not seen yet: whole
					// blocks in the vector unit, then one by one to the
					// next block.
					end := len(sliceOf)
					if vec {
						var stop bool
						i, stop = mapCodesVec(sliceOf, codes, keyOfCode, vid, reason, cnt, len(e.accs), i)
						vec = !stop
						end = min(end, (i+16)&^15)
					}
					if i = mapCodes(sliceOf, codes, keyOfCode, reason, cnt, i, end); i == end {
						i--
						continue
					}
				}
				var id int32
				if b.Valid != nil && !b.Valid[i] {
					if nullID < 0 {
						nullID = idOf(i)
						cnt = growCounts(cnt, len(e.accs))
					}
					id = nullID
				} else {
					code := codes[i]
					id = keyOfCode[code]
					if id < 0 {
						id = idOf(i)
						keyOfCode[code] = id
						used = append(used, code)
						cnt = growCounts(cnt, len(e.accs))
					}
				}
				sliceOf[i] = id
				if reason[i] == ReasonNone {
					cnt[int(id)*sliceLanes+i&(sliceLanes-1)]++
				}
			}
			t.groupCnt, t.counted = cnt, true
		} else {
			for i := range sliceOf {
				if b.IsNull(i) {
					if nullID < 0 {
						nullID = idOf(i)
					}
					sliceOf[i] = nullID
					continue
				}
				code := b.Codes[i]
				id := keyOfCode[code]
				if id < 0 {
					id = idOf(i)
					keyOfCode[code] = id
					used = append(used, code)
				}
				sliceOf[i] = id
			}
		}
		if !e.keepSlices {
			for _, code := range used {
				keyOfCode[code] = -1
			}
			used = used[:0]
		}
		t.codesUsed = used
		return
	}
	// One plain string column: a small direct-mapped cache, indexed by the
	// length and the first and last bytes, finds each row's slice with one
	// string comparison; a miss looks it up as a key.
	if b := c.By[0]; e.cfg.ByCols == 1 && b.Type == column.String && b.Strs != nil {
		cache := &t.strCache
		for k := range cache {
			cache[k] = strSlot{id: -1}
		}
		nullID := int32(-1)
		for i := 0; i < t.n; i++ {
			if b.IsNull(i) {
				if nullID < 0 {
					nullID = idOf(i)
				}
				t.sliceOf[i] = nullID
				continue
			}
			v := b.Strs[i]
			h := len(v) * 0x9e37
			if len(v) > 0 {
				h += int(v[0])*31 + int(v[len(v)-1])
			}
			slot := &cache[h&(len(cache)-1)]
			if slot.id >= 0 && slot.s == v {
				t.sliceOf[i] = slot.id
				continue
			}
			id := idOf(i)
			*slot = strSlot{s: v, id: id}
			t.sliceOf[i] = id
		}
		clear(cache[:]) // the strings may alias reader buffers
		return
	}
	for i := 0; i < t.n; i++ {
		t.sliceOf[i] = idOf(i)
	}
}

// mapCodes is sliceIDs's loop over the rows of a dictionary-encoded column
// with no nulls, from row i to end: each row's slice from its code, and the
// count of the valid rows of each slice (sliceLanes counts a slice), up to
// the first row whose code has no slice yet, whose index it returns (end
// when none). A function of its own so that its loop keeps its variables
// in registers (not inlined: inside sliceIDs it would not).
//
//go:noinline
func mapCodes(sliceOf, codes, keyOfCode []int32, reason []Reason, cnt []int32, i, end int) int {
	sliceOf = sliceOf[:end]
	codes, reason = codes[:end], reason[:end]
	for ; i < end; i++ {
		id := keyOfCode[codes[i]]
		if id < 0 {
			return i
		}
		sliceOf[i] = id
		if reason[i] == ReasonNone {
			cnt[int(id)*sliceLanes+i&(sliceLanes-1)]++
		}
	}
	return i
}

// placeSlices is accumulateSlices's placing of the valid rows' NLL and
// Brier terms slice by slice, at pos (see there). A function of its own,
// with as few variables as can be, so that its loop keeps them in
// registers (not inlined: inside accumulateSlices it would not).
//
//go:noinline
func placeSlices(gx, gb, x, br []float64, reason []Reason, sliceOf, pos []int32) {
	n := len(reason)
	x, br, sliceOf = x[:n], br[:n], sliceOf[:n]
	for i, r := range reason {
		if r == ReasonNone {
			k := int(sliceOf[i])*sliceLanes + i&(sliceLanes-1)
			p := pos[k]
			gx[p], gb[p] = x[i], br[i]
			pos[k] = p + 1
		}
	}
}

// growZero extends s with zeros to length n.
func growZero[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	if cap(s) >= n {
		k := len(s)
		s = s[:n]
		clear(s[k:])
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// growCounts extends the counts of accumulateSlices (sliceLanes per slice)
// with zeros to ns slices.
func growCounts(cnt []int32, ns int) []int32 {
	for len(cnt) < sliceLanes*ns {
		cnt = append(cnt, 0)
	}
	return cnt
}

// groupRows lists the valid rows of each slice together: t.order holds
// them, slice s in starts[s]..starts[s+1]. Within a slice the rows are
// not in order (every sum over them is exact), but for multilabel rows
// (rowOfPred searches them): rows are counted and placed in four
// interleaved sequences (row i in sequence i mod 4), so that consecutive
// rows of one slice do not wait on each other's count.
func (e *Evaluator) groupRows(t *terms) []int32 {
	ns := len(e.accs)
	lanes := 4
	if e.cfg.Kind == Multilabel {
		lanes = 1
	}
	cnt := grow(t.groupCnt, lanes*ns)
	t.groupCnt = cnt
	clear(cnt)
	reason, sliceOf := t.reason[:t.n], t.sliceOf[:t.n]
	for i, r := range reason {
		if r == ReasonNone {
			cnt[(i&(lanes-1))*ns+int(sliceOf[i])]++
		}
	}
	// The position of lane l's first row of slice s, slice by slice.
	starts := make([]int32, ns+1)
	var at int32
	for s := range ns {
		starts[s] = at
		for l := range lanes {
			c := cnt[l*ns+s]
			cnt[l*ns+s] = at
			at += c
		}
	}
	starts[ns] = at
	t.order = grow(t.order, int(at))
	order := t.order
	for i, r := range reason {
		if r == ReasonNone {
			k := (i&(lanes-1))*ns + int(sliceOf[i])
			order[cnt[k]] = int32(i)
			cnt[k]++
		}
	}
	return starts
}

// accumulate adds the valid rows idx of the batch to a.
func (e *Evaluator) accumulate(a *Acc, idx []int32, t *terms) {
	cfg := e.cfg
	if !cfg.Weighted && !cfg.Tokens && cfg.Kind.HasCalibration() && cfg.Kind != Multilabel && cfg.Binning == Uniform {
		e.accumulateRows(a, idx, t)
		return
	}
	a.Rows += int64(len(idx))
	g := grow(t.gather, len(idx))
	t.gather = g
	var clipped int64
	for _, i := range idx {
		clipped += int64(t.clip[i])
	}
	a.Clipped += clipped
	if cfg.Weighted {
		for k, i := range idx {
			w, x := t.w[i], t.x[i]
			u := w * x
			g[k] = u
			a.W.Add(w)
			a.SqA.AddProduct(u, u)
			a.SqB.AddProduct(w, u)
			a.SqC.AddProduct(w, w)
			if cfg.Tokens {
				a.Tokens.Add(w * t.tok[i])
			}
			if cfg.LMBytes {
				a.Bytes.AddProduct(w, t.bytes[i])
			}
			if cfg.LMWords {
				a.Words.AddProduct(w, t.words[i])
			}
		}
		a.NLL.AddSlice(g)
	} else {
		for k, i := range idx {
			g[k] = t.x[i]
		}
		a.NLL.AddSlice(g)
		a.SqA.AddSquares(g)
		if cfg.Tokens {
			for k, i := range idx {
				g[k] = t.tok[i]
			}
			a.Tokens.AddSlice(g)
		}
		if cfg.LMBytes {
			for k, i := range idx {
				g[k] = t.bytes[i]
			}
			a.Bytes.AddSlice(g)
		}
		if cfg.LMWords {
			for k, i := range idx {
				g[k] = t.words[i]
			}
			a.Words.AddSlice(g)
		}
	}
	if a.G != nil {
		a.G.add(t, idx, cfg.Weighted)
	}
	if !cfg.Kind.HasCalibration() {
		return
	}
	// The predictions of these rows.
	pi := t.predIdx[:0]
	if t.pOff != nil && cfg.Kind == Multilabel {
		for _, i := range idx {
			for j := t.pOff[i]; j < t.pOff[i+1]; j++ {
				pi = append(pi, j)
			}
		}
	} else {
		pi = append(pi, idx...)
	}
	t.predIdx = pi
	a.Preds += int64(len(pi))
	if a.Hist != nil {
		if cfg.Weighted {
			for k, j := range pi {
				a.Hist.add(t.conf[j], t.w[e.rowOfPred(t, idx, k, j)], t.out[j])
			}
		} else if len(pi) > 0 { // a nil pi would mean every row to addAll
			a.Hist.addAll(t.conf, t.out, pi, t.histScratch())
		}
	}
	g = grow(t.gather, len(pi))
	t.gather = g
	if cfg.Weighted {
		for k, j := range pi {
			w := t.w[e.rowOfPred(t, idx, k, j)]
			a.PredW.Add(w)
			if t.correct[j] {
				a.Correct.Add(w)
			}
			g[k] = w * t.brier[j]
		}
		a.Brier.AddSlice(g)
		if cfg.Binning == Uniform {
			for k, j := range pi {
				w := t.w[e.rowOfPred(t, idx, k, j)]
				b := &a.Bins[UniformBin(t.conf[j], len(a.Bins))]
				b.Count++
				b.W.Add(w)
				b.Conf.Add(w * t.conf[j])
				if t.out[j] {
					b.Out.Add(w)
				}
			}
		}
		return
	}
	var correct int64
	for k, j := range pi {
		if t.correct[j] {
			correct++
		}
		g[k] = t.brier[j]
	}
	a.CorrectN += correct
	a.Brier.AddSlice(g)
	if cfg.Binning != Uniform || e.binsFromBoot {
		return
	}
	e.addBins(a, t, pi, false)
}

// accumulateRows is accumulate for the unweighted rows idx of a batch with
// one prediction each and uniform bins (binary and multiclass with --by, or
// with invalid rows skipped): the rows' terms gathered in one pass, then
// added as slices.
func (e *Evaluator) accumulateRows(a *Acc, idx []int32, t *terms) {
	n := len(idx)
	a.Rows += int64(n)
	a.Preds += int64(n)
	gx, gb := grow(t.gather, n), grow(t.gather2, n)
	t.gather, t.gather2 = gx, gb
	x, br, clip, cor := t.x[:t.n], t.brier[:t.n], t.clip[:t.n], t.correct[:t.n]
	var clipped, correct int64
	for k, i := range idx {
		gx[k], gb[k] = x[i], br[i]
		clipped += int64(clip[i])
		correct += b2i(cor[i])
	}
	a.Clipped += clipped
	a.CorrectN += correct
	a.NLL.AddSlice(gx)
	a.SqA.AddSquares(gx)
	a.Brier.AddSlice(gb)
	if a.Hist != nil && len(idx) > 0 { // a nil idx would mean every row to addAll
		a.Hist.addAll(t.conf, t.out, idx, t.histScratch())
	}
	if !e.binsFromBoot {
		e.addBins(a, t, idx, false)
	}
}

// accumulateAll is accumulate for unweighted rows that are all valid and
// all of one slice, with at most one prediction each: the term columns are
// added as they are, with no gathering.
func (e *Evaluator) accumulateAll(a *Acc, t *terms) {
	n := t.n
	a.Rows += int64(n)
	a.Clipped += sumInt32(t.clip[:n])
	a.NLL.AddSlice(t.x[:n])
	a.SqA.AddSquares(t.x[:n])
	if e.cfg.Tokens {
		a.Tokens.AddSlice(t.tok[:n])
	}
	if e.cfg.LMBytes {
		a.Bytes.AddSlice(t.bytes[:n])
	}
	if e.cfg.LMWords {
		a.Words.AddSlice(t.words[:n])
	}
	if a.G != nil {
		a.G.add(t, nil, false)
	}
	if !e.cfg.Kind.HasCalibration() {
		return
	}
	a.Preds += int64(n)
	if !e.sliceBins {
		a.CorrectN += countTrue(t.correct[:n])
	}
	a.Brier.AddSlice(t.brier[:n])
	if a.Hist != nil {
		a.Hist.addAll(t.conf[:n], t.out[:n], nil, t.histScratch())
	}
	if e.cfg.Binning == Uniform && !e.binsFromBoot && !e.sliceBins {
		e.addBins(a, t, nil, true)
	}
}

// sliceBin is what the rows of one slice and calibration bin of a batch
// add (see Evaluator.sliceBins): cnt is their count, outcomes of 1 and
// hits as in pendCell, chi and clo the sum of conf62 of their confidences
// in two parts.
type sliceBin struct {
	cnt      uint64
	chi, clo int64
}

// sliceBinsOK reports whether the slices' calibration bins and hits of
// batch c are taken from addBootCal (Evaluator.sliceBins): with --by,
// unweighted, one prediction per row, uniform bins, and the bootstrap's
// calibration loop over every valid row.
func (e *Evaluator) sliceBinsOK(c *Cols) bool {
	cfg := e.cfg
	return cfg.ByCols > 0 && e.st.boot != nil && e.bootFast() && !cfg.Weighted && cfg.Kind.HasCalibration() &&
		cfg.Binning == Uniform && cfg.Bins > 0 && len(e.st.boot[0].Gap) == cfg.Bins && c.ID == nil && !cfg.Tokens &&
		bootCalLoop && sliceBinsOn
}

// sliceBinsOn turns Evaluator.sliceBins on (tests turn it off to compare).
var sliceBinsOn = true

// flushSliceBins adds the sums of t.sliceBin (filled by addBootCal) to the
// slices' bins and hit counts, and empties it.
func (e *Evaluator) flushSliceBins(t *terms) {
	bins := e.cfg.Bins
	ns := len(e.accs)
	sb := t.sliceBin[:sliceBinSpare(ns, bins)]
	const m21 = 1<<21 - 1
	for s, a := range e.accs {
		var correct int64
		for j := range bins {
			var q sliceBin
			for l := range sliceBinLanes {
				v := &sb[sliceBinEntry(s, l, j, bins)]
				q.cnt += v.cnt
				q.chi += v.chi
				q.clo += v.clo
			}
			if q.cnt == 0 {
				continue
			}
			bin := &a.Bins[j]
			bin.Count += int64(q.cnt & m21)
			bin.OutN += int64(q.cnt >> 21 & m21)
			correct += int64(q.cnt >> 42)
			c := fromHalves(uint64(q.chi), uint64(q.clo))
			addFixed62(&bin.Conf, c.lo, c.hi)
		}
		a.CorrectN += correct
	}
	clear(sb)
	e.sliceBinRows = 0
}

// sliceLanes is how many interleaved sequences accumulateSlices counts and
// places the rows of a slice in (row i in sequence i mod sliceLanes), so
// that consecutive rows of one slice do not wait on each other's count.
const sliceLanes = 4

// sliceBinLanes is how many copies of t.sliceBin rows are spread over (row
// i in copy i mod sliceBinLanes), so that consecutive rows of one slice and
// bin do not wait on each other's sums.
const sliceBinLanes = 4

// sliceBinEntry is the entry of t.sliceBin that row (of the chunk) adds to
// for a slice and bin: the table is slice-major, then lane (row mod
// sliceBinLanes), then bin; sliceBinIndexVec computes the same.
func sliceBinEntry(slice, row, bin, bins int) int {
	return (slice*sliceBinLanes+row&(sliceBinLanes-1))*bins + bin
}

// sliceBinSpare is the index of t.sliceBin's spare entry for ns slices (see
// addSliceBins): the table holds sliceBinSpare(ns, bins)+1 entries.
func sliceBinSpare(ns, bins int) int { return sliceBinLanes * ns * bins }

// accumulateSlices is accumulate for every slice of a batch in
// Evaluator.sliceBins mode (whose bins and hits addBootCal adds): the valid
// rows' NLL and Brier terms are placed slice by slice in one pass (counted,
// then moved, in four interleaved sequences as groupRows does), and added
// as slices.
func (e *Evaluator) accumulateSlices(t *terms) {
	ns := len(e.accs)
	const lanes = sliceLanes
	n := t.n
	reason, sliceOf := t.reason[:n], t.sliceOf[:n]
	cnt := t.groupCnt
	if !t.counted {
		cnt = grow(cnt, lanes*ns)
		t.groupCnt = cnt
		clear(cnt)
		for i, r := range reason {
			if r == ReasonNone {
				cnt[int(sliceOf[i])*lanes+i&(lanes-1)]++
			}
		}
	}
	t.counted = false
	cnt = cnt[:lanes*ns]
	starts := grow(t.sliceStart, ns+1)
	t.sliceStart = starts
	var at int32
	for s := range ns {
		starts[s] = at
		for l := range lanes {
			c := cnt[s*lanes+l]
			cnt[s*lanes+l] = at
			at += c
		}
	}
	starts[ns] = at
	gx, gb := grow(t.gather, int(at)), grow(t.gather2, int(at))
	t.gather, t.gather2 = gx, gb
	placeSlices(gx, gb, t.x[:n], t.brier[:n], reason, sliceOf, cnt)
	// Clipped rows are rare: the slices' counts only when the batch has
	// some (valid or not).
	if clip := t.clip[:n]; sumInt32(clip) != 0 {
		sc := grow(t.sliceClip, ns)
		t.sliceClip = sc
		clear(sc)
		for i, r := range reason {
			if r == ReasonNone {
				sc[sliceOf[i]] += int64(clip[i])
			}
		}
		for s, a := range e.accs {
			a.Clipped += sc[s]
		}
	}
	for s, a := range e.accs {
		lo, hi := starts[s], starts[s+1]
		k := int64(hi - lo)
		if k == 0 {
			continue
		}
		a.Rows += k
		a.Preds += k
		a.NLL.AddSlice(gx[lo:hi])
		a.SqA.AddSquares(gx[lo:hi])
		a.Brier.AddSlice(gb[lo:hi])
	}
	if e.accs[0].Hist != nil {
		// Quantile bins keep the predictions: the rows slice by slice.
		starts := e.groupRows(t)
		for s, a := range e.accs {
			a.Hist.addAll(t.conf, t.out, t.order[starts[s]:starts[s+1]], t.histScratch())
		}
	}
}

// addBins adds unweighted predictions pi (all: predictions 0..t.n-1
// instead) to the uniform calibration bins.
//
// A confidence c in [2^-10, 1] is a multiple of 2^-62 (its last bit is
// worth at least that), so c·2^62 is an integer of at most 2^62, and the
// bin's confidences of that range are summed exactly in a 128-bit integer;
// the few below 2^-10 go to the bin's exact.Sum directly (a threshold this
// low keeps the branch predictable: 2^-4 was crossed by a fifth of the
// rows of a typical binary model). The integer sums are added to the exact
// sums once per batch, in three parts of at most 52 bits that are each
// exactly a float64.
func (e *Evaluator) addBins(a *Acc, t *terms, pi []int32, all bool) {
	nb := len(a.Bins)
	t.binAcc = grow(t.binAcc, nb)
	clear(t.binAcc)
	ba := t.binAcc
	conf, outs := t.conf, t.out
	// A bin's count and outcome count share one add: a batch has at most
	// evalChunk rows, far below 2^32. conf62 goes in two parts that
	// cannot overflow (no carry from one add to the next).
	add := func(b int, c float64, o bool) {
		x := &ba[b]
		x.co += 1 | uint64(b2i(o))<<32
		if c >= confSmall {
			v := conf62(c)
			x.hi += v >> 31
			x.lo += v & (1<<31 - 1)
		} else {
			a.Bins[b].Conf.Add(c)
		}
	}
	if all {
		bin := t.uniformBins(t.n, nb)
		conf, outs = conf[:len(bin)], outs[:len(bin)]
		for j, b := range bin {
			add(int(b), conf[j], outs[j])
		}
	} else if e.cfg.Kind != Multilabel {
		// One prediction per row: the bins worked out for the batch.
		bin := t.uniformBins(t.n, nb)
		for _, j := range pi {
			add(int(bin[j]), conf[j], outs[j])
		}
	} else {
		for _, j := range pi {
			c := conf[j]
			add(UniformBin(c, nb), c, outs[j])
		}
	}
	for b := range nb {
		bin, x := &a.Bins[b], &ba[b]
		bin.Count += int64(x.co & (1<<32 - 1))
		bin.OutN += int64(x.co >> 32)
		c := fromHalves(x.hi, x.lo)
		addFixed62(&bin.Conf, c.lo, c.hi)
	}
}

// binAcc is a bin's sums over a batch in addBins: its count and outcomes
// of 1 (count + outcomes·2^32), and conf62 of its confidences as hi·2^31 +
// lo.
type binAcc struct{ co, hi, lo uint64 }

// addFixed62 adds the unsigned 128-bit integer hi:lo times 2^-62 to s, in
// three parts of at most 52 bits.
func addFixed62(s *exact.Sum, lo, hi uint64) {
	if lo|hi == 0 {
		return
	}
	const m52 = 1<<52 - 1
	// Products by powers of two rather than math.Ldexp (a call each, a
	// third of flushSliceBins's time): the same values, exactly, as no part
	// but 0 is below 2^-62.
	s.Add(0x1p-62 * float64(lo&m52))
	s.Add(0x1p-10 * float64(lo>>52|hi<<12&m52))
	s.Add(0x1p42 * float64(hi>>40))
}

// rowOfPred is the row of prediction j (the k-th of this slice's).
func (e *Evaluator) rowOfPred(t *terms, idx []int32, k int, j int32) int32 {
	if e.cfg.Kind != Multilabel {
		return j
	}
	// Multilabel: find the row whose pair range holds j (rows are in idx
	// order, pairs listed row by row).
	lo, hi := 0, len(idx)
	for lo < hi {
		m := (lo + hi) / 2
		if t.pOff[idx[m]+1] <= j {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return idx[lo]
}
