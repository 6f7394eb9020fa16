package metrics

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/exact"
)

// Role is the part a column plays in an evaluation.
type Role uint8

const (
	RoleLabel Role = iota
	RolePred
	RoleScale // --std or --var
	RoleWeight
	RoleID
	RoleBy
	RoleBytes // --bytes
	RoleWords // --words
	RoleText  // --text
	RoleMask  // --mask
)

// Cols are the columns of one batch, by role. Label, Scale, Weight and ID
// are nil when not mapped.
type Cols struct {
	Rows                           int
	Label, Pred, Scale, Weight, ID *column.Column
	By                             []*column.Column
	// Language-model columns (nil when not mapped): byte and word counts,
	// the text they may be taken from, and the token mask.
	Bytes, Words, Text, Mask *column.Column
}

// Slice returns rows [lo, hi) of c, sharing its memory.
func (c *Cols) Slice(lo, hi int) Cols {
	cut := func(k *column.Column) *column.Column {
		if k == nil {
			return nil
		}
		return k.Slice(lo, hi)
	}
	s := Cols{Rows: hi - lo, Label: cut(c.Label), Pred: cut(c.Pred), Scale: cut(c.Scale), Weight: cut(c.Weight), ID: cut(c.ID),
		Bytes: cut(c.Bytes), Words: cut(c.Words), Text: cut(c.Text), Mask: cut(c.Mask)}
	if c.By != nil {
		s.By = make([]*column.Column, len(c.By))
		for k, b := range c.By {
			s.By[k] = cut(b)
		}
	}
	return s
}

// RowError is an invalid row: where it is and why. Row counts from 0 within
// the unit the Evaluator was told of with BeginUnit.
type RowError struct {
	Unit   int
	Row    int64
	Role   Role
	Reason Reason
	// Value is the offending number, when there is one; Len and Want the
	// list lengths for ReasonLength, Elem the list element.
	Value     float64
	HasValue  bool
	Elem      int
	Len, Want int
	// Logprob marks a log-probability that is out of range (above 0).
	Logprob bool
	// Label is a string label as written, when Config.Labels refused it.
	Label    string
	HasLabel bool
	// Mask marks a --mask element that is not 0 or 1 (ReasonOutOfRange)
	// or a mask whose length differs from its row's log-probabilities
	// (ReasonLength, Want the log-probabilities' length).
	Mask bool
}

// Message says what is wrong with the row, for a column named col.
func (e *RowError) Message(col string) string {
	v := strconv.FormatFloat(e.Value, 'g', -1, 64)
	at := ""
	if e.Elem >= 0 {
		at = fmt.Sprintf(" element %d", e.Elem)
	}
	switch e.Reason {
	case ReasonNull:
		return fmt.Sprintf("column %q%s: null value", col, at)
	case ReasonNaN:
		return fmt.Sprintf("column %q%s: NaN", col, at)
	case ReasonInf:
		return fmt.Sprintf("column %q%s: infinite value %s", col, at, v)
	case ReasonOutOfRange:
		if e.Mask {
			return fmt.Sprintf("column %q%s: mask value %s is not 0 or 1", col, at, v)
		}
		if e.Logprob {
			return fmt.Sprintf("column %q%s: log-probability %s is above 0", col, at, v)
		}
		return fmt.Sprintf("column %q%s: %s is outside [0, 1]", col, at, v)
	case ReasonBadLabel:
		if e.HasLabel {
			return fmt.Sprintf("column %q: label %s is not one of the classes given by --classes", col, strconv.Quote(e.Label))
		}
		if e.HasValue {
			return fmt.Sprintf("column %q%s: label %s is not a valid class", col, at, v)
		}
		return fmt.Sprintf("column %q%s: label is not a valid class", col, at)
	case ReasonSum:
		return fmt.Sprintf("column %q: probabilities sum to %s, more than 1e-3 away from 1", col, v)
	case ReasonLength:
		if e.Mask {
			return fmt.Sprintf("column %q: mask has %d elements, the log-probabilities %d", col, e.Len, e.Want)
		}
		return fmt.Sprintf("column %q: list has %d elements, the rest of the input has %d", col, e.Len, e.Want)
	case ReasonNegativeWeight:
		return fmt.Sprintf("column %q: negative weight %s", col, v)
	case ReasonBadScale:
		return fmt.Sprintf("column %q: %s is not positive", col, v)
	case ReasonNegativeCount:
		return fmt.Sprintf("column %q: negative count %s", col, v)
	}
	return fmt.Sprintf("column %q: invalid", col)
}

// State is what an Evaluator accumulated: it merges exactly with others
// built from the same Config.
type State struct {
	cfg    *Config
	slices map[string]*Acc
	// Err is the first invalid row of each unit that had one (error mode).
	Errs  []RowError
	worst []WorstRow
	// worstTok is the --worst list of a token-list run ranked by NLL per
	// token (worst is by NLL per sequence, which mostly tracks length).
	worstTok []WorstRow
	// Units records the rows seen per unit.
	UnitRows map[int]int64
	// classes accumulates per true class (multiclass), indexed by class.
	classes []ClassAcc
	// boot holds the bootstrap buckets (nil when intervals are off).
	boot []bucketAcc
	// classCount is the class count the run adopted, set by its caller
	// (see SetClassCount); Merge checks that states agree on it.
	classCount ClassCount
	// noBootTop: the buckets lack the top-k hits (see bootTop).
	noBootTop bool
}

// ClassAcc accumulates the rows of one true class. Unweighted runs count
// correct rows in CorrectN and leave W and Correct empty.
type ClassAcc struct {
	Rows                  int64
	CorrectN              int64
	W, NLL, Correct, Conf exact.Sum
}

// ClassFigures are the rounded figures of the rows whose true class is
// Class.
type ClassFigures struct {
	Class          int
	Name           string // from the class names given (--classes), or ""
	Rows           int64
	Weight         float64
	NLL            float64 // in Config.Units after Summary (nats in a State)
	Accuracy       float64
	MeanConfidence float64
	// ECE is the class's one-vs-rest ECE (--classwise), else nil.
	ECE *float64
}

// WorstRow is one row of the --worst list.
type WorstRow struct {
	NLL  float64 // in Config.Units after Summary (nats in a State)
	ID   Value   // with --id; a report names other rows FILE:ROW here
	Unit int
	Row  int64
	// Tokens is the row's token count (token lists: the masked-in tokens
	// with --mask), 0 otherwise.
	Tokens float64
	// What the row held, read only for rows that enter the list, to show
	// beside its NLL. Label is the observed label (null for a list label
	// or none). Pred is the prediction: binary, the probability or logit
	// as given; multiclass, the probability of the top class PredClass
	// (softmax of the logits); gaussian, the mean, with Scale the std or
	// variance as given. NaN (PredClass -1) where it does not apply.
	Label     Value
	Pred      float64
	PredClass int
	Scale     float64
}

// NLLPerToken is the row's NLL per token in nats (NaN for an empty list
// or a row that is not a token list).
func (r *WorstRow) NLLPerToken() float64 {
	if r.Tokens == 0 {
		return math.NaN()
	}
	return r.NLL / r.Tokens
}

// perTokenRank orders a token-list row by its NLL per token; an empty
// list costs nothing and ranks as 0.
func perTokenRank(nll, tokens float64) float64 {
	if tokens == 0 {
		return 0
	}
	return nll / tokens
}

// Evaluator accumulates the figures of the batches it is given. One per
// goroutine.
type Evaluator struct {
	cfg  *Config
	st   *State
	one  *Acc // the accumulator when there is no --by
	unit int
	k    int // class / label count, 0 until known
	key  []byte
	lo   float64
	hi   float64
	stop bool
	wbuf []float64
	// The row being evaluated: its NLL in nats, token count, clipped
	// values and predictions, committed once the whole row is valid.
	cur      []pred
	curX     float64
	curTok   float64
	curClip  int
	curClass int
	curG     gaussTerms
	worstMin float64
	idkey    []byte
	// posSeed is the bootstrap key seed of the current unit's file (see
	// Position), row0 the row within that file of the current batch's
	// first row.
	posSeed  uint64
	unitRow  int64
	row0     int64
	t        terms
	labels   labelScratch
	pair     pairScratch
	accs     []*Acc
	localIdx map[*Acc]int32
	bpend    *bootPend
	// binsFromBoot: the calibration bins' counts and confidence sums are
	// taken from the bootstrap's pending sums when they are flushed, not
	// added a second time (one --by-less slice, unweighted, one prediction
	// per row, uniform bins: the bootstrap cells are then the bins split
	// by bucket; see addBootCal).
	binsFromBoot bool
	// sliceBins: with --by, the slices' calibration bins and hit counts of
	// the batch being added are summed by addBootCal, in t.sliceBin, from
	// what it works out for the bootstrap (see sliceBinsOK), rather than
	// by accumulate: set per batch.
	sliceBins bool
	// keepSlices: the chunks of the batch being added (Add) keep e.accs,
	// the dictionary codes' slices and t.sliceBin from one to the next
	// (slicesOpen: the first has set them up); closeSlices ends that.
	// sliceBinRows counts the rows summed in t.sliceBin.
	keepSlices, slicesOpen bool
	sliceBinRows           int
	firstLen               map[int]FirstList // per unit: its first non-null prediction list
	probBuf                []float64         // a row's class probabilities (addClassDetail)

	// worstTokMin is worstMin of the per-token list (token lists).
	worstTokMin float64
}

// NewEvaluator returns an evaluator with an empty State. classes is the
// class count found before the run (0: adopt the first non-null list).
func NewEvaluator(cfg *Config, classes int) *Evaluator {
	e := &Evaluator{cfg: cfg, k: classes, lo: cfg.Eps, hi: 1 - cfg.Eps, worstMin: math.Inf(-1), worstTokMin: math.Inf(-1), localIdx: map[*Acc]int32{}}
	e.st = &State{cfg: cfg, slices: map[string]*Acc{}, UnitRows: map[int]int64{}, classCount: NoClassCount}
	if cfg.Bootstrap.Replicates > 0 {
		e.st.boot = newBuckets(cfg)
		e.binsFromBoot = cfg.ByCols == 0 && e.bootFast() && cfg.Kind.HasCalibration() && cfg.Binning == Uniform && cfg.Bins > 0
	}
	if cfg.Classes > 0 {
		e.k = cfg.Classes
	}
	return e
}

// State returns the accumulated state; the Evaluator must not be used after.
func (e *Evaluator) State() *State {
	e.flushBoot()
	return e.st
}

// BeginUnit starts unit u (a row group or record batch, numbered in input
// order across files); row numbers passed to Add count from 0 within it.
// Its rows are placed at the start of an unnamed file (Position{}): use
// BeginUnitAt when rows are bootstrapped without --id.
func (e *Evaluator) BeginUnit(u int) {
	e.BeginUnitAt(u, Position{})
}

// BeginUnitAt is BeginUnit for a unit whose first row is at p: without
// --id, a row's bootstrap bucket comes from its file and its row within
// that file, so that distinct rows fall into buckets independently
// whatever their content, and a bucket does not depend on how the file
// was cut into units, parts and batches.
func (e *Evaluator) BeginUnitAt(u int, p Position) {
	e.unit = u
	e.stop = false
	e.posSeed = mix64(e.cfg.Bootstrap.Seed ^ p.File)
	e.unitRow = p.Row
}

// Position is where a unit's rows are: File is FileKey of the path of
// their file relative to the input it was found under, Row the row of the
// unit's first row within that file (from 0).
type Position struct {
	File uint64
	Row  int64
}

// Classes is the class count in use (0 if none was seen yet).
func (e *Evaluator) Classes() int { return e.k }

// noteFirstList records the length of the first non-null list of the
// prediction column that this evaluator saw in the current unit, and adopts
// it as the class count when none is known yet: an evaluator's class count
// is the length of the first non-null list it saw.
func (e *Evaluator) noteFirstList(p *column.Column, base int64) {
	if _, ok := e.firstLen[e.unit]; ok {
		return
	}
	for i := 0; i < p.Len; i++ {
		if !p.IsNull(i) {
			n := int(p.Offsets[i+1] - p.Offsets[i])
			if e.firstLen == nil {
				e.firstLen = map[int]FirstList{}
			}
			e.firstLen[e.unit] = FirstList{Row: base + int64(i), Len: n}
			if e.k == 0 {
				e.k = n
			}
			return
		}
	}
}

// FirstList is where the first non-null prediction list an evaluator saw in
// a unit is, and its length.
type FirstList struct {
	Row int64
	Len int
}

// FirstListLens maps each unit in which this evaluator saw a non-null
// prediction list to the first one. A run whose class count was not known
// checks with it that every evaluator adopted the length of the first list
// in input order (see pipeline.Run).
func (e *Evaluator) FirstListLens() map[int]FirstList { return e.firstLen }

func (e *Evaluator) acc(c *Cols, i int) *Acc {
	if e.cfg.ByCols == 0 {
		if e.one == nil {
			e.one = newAcc(e.cfg)
			e.st.slices[""] = e.one
		}
		return e.one
	}
	e.key = e.key[:0]
	for _, b := range c.By {
		e.key = appendKey(e.key, b, i)
	}
	if a, ok := e.st.slices[string(e.key)]; ok {
		return a
	}
	a := newAcc(e.cfg)
	e.st.slices[string(e.key)] = a
	return a
}

// evalChunk is the most rows evaluated at a time: the per-row terms of a
// chunk (a few hundred KB) stay in the L2 cache from the kernel that fills
// them to the passes that add them up. A batch of 65,536 rows is ten times
// that and would be read back from L3 or memory by each pass.
const evalChunk = 4096

// Add evaluates the rows of one batch, whose first row is row base of the
// current unit. It returns false when an invalid row stopped the unit (error
// mode); the error is in State().Errs.
func (e *Evaluator) Add(c *Cols, base int64) bool {
	if e.cfg.Labels != nil {
		orig, errs := c.Label, len(e.st.Errs)
		c = e.translate(c)
		defer e.nameBadLabel(orig, base, errs)
	}
	if c.Rows <= evalChunk {
		return e.add(c, base)
	}
	// The chunks of a batch share their slices' table and bin sums
	// (keepSlices), added to the slices once at the end.
	e.keepSlices = e.sliceBinsOK(c)
	defer e.closeSlices()
	for lo := 0; lo < c.Rows; lo += evalChunk {
		part := c.Slice(lo, min(c.Rows, lo+evalChunk))
		if !e.add(&part, base+int64(lo)) {
			return false
		}
	}
	return true
}

func (e *Evaluator) add(c *Cols, base int64) bool {
	if e.stop {
		return false
	}
	e.st.UnitRows[e.unit] += int64(c.Rows)
	e.row0 = e.unitRow + base
	if len(e.st.slices) > e.cfg.MaxSlices && e.cfg.MaxSlices > 0 {
		return false
	}
	if c.Pred != nil && c.Pred.List && (e.cfg.Kind == Multiclass || e.cfg.Kind == Multilabel) {
		e.noteFirstList(c.Pred, base)
	}
	var pairBad []pairRow
	if e.cfg.Pair && c.Pred != nil && c.Pred.List {
		c, pairBad = e.pairColumn(c)
	}
	t := &e.t
	t.reset(c.Rows, c.Rows)
	t.pOff = t.pOff[:0]
	switch {
	case e.cfg.Kind == Binary && !c.Pred.List && c.Pred.Type == column.Float64:
		binaryKernel(e, c, c.Pred.F64, t)
	case e.cfg.Kind == Binary && !c.Pred.List && c.Pred.Type == column.Float32:
		binaryKernel(e, c, c.Pred.F32, t)
	case e.mcLogitsFast(c) && c.Pred.Type == column.Float32:
		multiclassLogitsKernel(e, c, c.Pred.F32, t)
	case e.mcLogitsFast(c) && c.Pred.Type == column.Float64:
		multiclassLogitsKernel(e, c, c.Pred.F64, t)
	case e.mcProbsFast(c) && c.Pred.Type == column.Float64:
		multiclassProbsKernel(e, c, c.Pred.F64, t)
	case e.mcProbsFast(c) && c.Pred.Type == column.Float32:
		multiclassProbsKernel(e, c, c.Pred.F32, t)
	case e.cfg.Mask && c.Pred.List && c.Mask.List && c.Pred.Type == column.Float32:
		// Masked token lists: their own kernel, so that the unmasked
		// ones stay as they are.
		maskedTokensKernel(e, c, c.Pred.F32, t)
	case e.cfg.Mask && c.Pred.List && c.Mask.List && c.Pred.Type == column.Float64:
		maskedTokensKernel(e, c, c.Pred.F64, t)
	case e.cfg.Mask:
		e.rowKernel(c, t)
	case e.cfg.Kind == Logprob && e.cfg.Tokens && c.Pred.List && c.Pred.Type == column.Float32:
		tokensKernel(e, c, c.Pred.F32, t)
	case e.cfg.Kind == Logprob && e.cfg.Tokens && c.Pred.List && c.Pred.Type == column.Float64:
		tokensKernel(e, c, c.Pred.F64, t)
	default:
		e.rowKernel(c, t)
	}
	for _, b := range pairBad {
		if t.reason[b.i] == ReasonNull && !c.Label.IsNull(b.i) {
			t.reason[b.i] = ReasonLength
		}
	}
	if e.cfg.LMBytes || e.cfg.LMWords {
		e.lmTerms(c, t)
	}
	e.weights(c, t)
	e.sliceBins = e.sliceBinsOK(c) && t.n > 0
	e.sliceIDs(c, t)
	if len(e.st.slices) > e.cfg.MaxSlices && e.cfg.MaxSlices > 0 {
		return false // checked after each chunk too: never more than a chunk over
	}
	invalid := 0
	for i := 0; i < t.n; i++ {
		r := t.reason[i]
		if r == ReasonNone {
			continue
		}
		invalid++
		if e.cfg.Skip {
			e.accs[t.sliceOf[i]].Skipped[r]++
			continue
		}
		re := e.explain(c, i, t)
		if pe, ok := pairError(pairBad, i); ok && r == ReasonLength {
			re = pe
		}
		re.Unit = e.unit
		re.Row = base + int64(i)
		e.st.Errs = append(e.st.Errs, re)
		e.stop = true
		return false
	}
	if e.sliceBins {
		// All zero between batches (flushSliceBins empties it); a shared
		// table (keepSlices) grows as the chunks find slices.
		t.sliceBin = growZero(t.sliceBin, sliceBinSpare(len(e.accs), e.cfg.Bins)+1)
	}
	if invalid == 0 && len(e.accs) == 1 && !e.cfg.Weighted && e.cfg.Kind != Multilabel {
		e.accumulateAll(e.accs[0], t)
	} else if e.sliceBins {
		e.accumulateSlices(t)
	} else {
		starts := e.groupRows(t)
		for s := range e.accs {
			e.accumulate(e.accs[s], t.order[starts[s]:starts[s+1]], t)
		}
	}
	if e.cfg.wantClassDetail() {
		e.addClassDetail(c, t)
	}
	e.extras(c, base, t)
	if e.sliceBins {
		e.sliceBins = false
		e.sliceBinRows += t.n
		if !e.keepSlices || e.sliceBinRows >= sliceBinFlushRows {
			e.flushSliceBins(t)
		}
	}
	return true
}

// sliceBinFlushRows is how many rows t.sliceBin sums at most before they
// go to the slices: a count there has 21 bits (see sliceBin). A variable
// so that a test can lower it.
var sliceBinFlushRows = 1 << 20

// closeSlices ends the sharing of slices by the chunks of a batch
// (keepSlices): the bin sums still in t.sliceBin go to the slices, and the
// dictionary codes' slices are forgotten.
func (e *Evaluator) closeSlices() {
	t := &e.t
	if e.slicesOpen {
		if e.sliceBinRows > 0 {
			e.flushSliceBins(t)
		}
		for _, code := range t.codesUsed {
			t.keyOfCode[code] = -1
		}
		t.codesUsed = t.codesUsed[:0]
	}
	e.keepSlices, e.slicesOpen = false, false
}

// extras adds the valid rows to the per-class, bootstrap and worst-row
// figures.
func (e *Evaluator) extras(c *Cols, base int64, t *terms) {
	mc := e.cfg.Kind == Multiclass
	boot := e.st.boot != nil
	worst := e.cfg.Worst > 0
	if boot && e.cfg.Kind == Gaussian {
		e.addBootGauss(c, t)
	}
	if boot && e.bootFast() {
		e.addBootFast(c, t)
		boot = false
	}
	if mc && !e.cfg.Weighted {
		e.addClasses(t)
		mc = false
	}
	if !mc && !boot && !worst {
		return
	}
	for i := 0; i < t.n; i++ {
		if t.reason[i] != ReasonNone {
			continue
		}
		w, x := t.w[i], t.x[i]
		if mc {
			y := int(t.class[i])
			for len(e.st.classes) <= y {
				e.st.classes = append(e.st.classes, ClassAcc{})
			}
			ca := &e.st.classes[y]
			ca.Rows++
			ca.W.Add(w)
			ca.NLL.Add(w * x)
			ca.Conf.Add(w * t.conf[i])
			if t.correct[i] {
				ca.Correct.Add(w)
			}
		}
		if boot {
			e.addBoot(c, i, t)
		}
		if worst && (x >= e.worstMin || x != x) {
			e.addWorst(c, i, base, x, t, false)
		}
		if worst && e.cfg.Tokens {
			if r := perTokenRank(x, t.tok[i]); r >= e.worstTokMin || r != r {
				e.addWorst(c, i, base, x, t, true)
			}
		}
	}
}

// row evaluates row i into e.cur, returning the first problem it finds.
func (e *Evaluator) row(c *Cols, i int, w float64) (RowError, bool) {
	e.cur = e.cur[:0]
	e.curX, e.curTok, e.curClip = 0, 0, 0
	switch e.cfg.Kind {
	case Binary:
		return e.binaryRow(c, i)
	case Multiclass:
		return e.multiclassRow(c, i)
	case Multilabel:
		return e.multilabelRow(c, i)
	case Logprob:
		return e.logprobRow(c, i)
	case Gaussian:
		return e.gaussianRow(c, i)
	}
	return RowError{}, false
}

// pred is one prediction of the current row.
type pred struct {
	conf, brier  float64
	out, correct bool
}

// addWorst adds row i to the worst list (perTok: the per-token list).
func (e *Evaluator) addWorst(c *Cols, i int, base int64, x float64, t *terms, perTok bool) {
	r := WorstRow{NLL: x, Unit: e.unit, Row: base + int64(i)}
	if c.ID != nil {
		r.ID = ValueAt(c.ID, i)
	}
	if e.cfg.Tokens {
		r.Tokens = t.tok[i]
	}
	e.describe(&r, c, i)
	list, floor := &e.st.worst, &e.worstMin
	if perTok {
		list, floor = &e.st.worstTok, &e.worstTokMin
	}
	*list = append(*list, r)
	if len(*list) >= 2*e.cfg.Worst+64 {
		// Keep the top N; a later row below the N-th can never enter.
		*list = trimWorst(*list, e.cfg.Worst, e.cfg.HasID, perTok)
		last := &(*list)[len(*list)-1]
		*floor = last.NLL
		if perTok {
			*floor = perTokenRank(last.NLL, last.Tokens)
		}
	}
}

// describe records what row i held: its label and prediction (see
// WorstRow). Only rows that enter the worst list get here.
func (e *Evaluator) describe(r *WorstRow, c *Cols, i int) {
	r.Pred, r.PredClass, r.Scale = math.NaN(), -1, math.NaN()
	if c.Label != nil && !c.Label.List {
		r.Label = ValueAt(c.Label, i)
	}
	p := c.Pred
	switch {
	case p == nil || e.cfg.Kind == Logprob || e.cfg.Kind == Multilabel:
	case p.List && e.cfg.Kind == Multiclass:
		lo, hi := p.Offsets[i], p.Offsets[i+1]
		best, bv := -1, math.Inf(-1)
		for j := lo; j < hi; j++ {
			if v, why := elem(p, j); why == ReasonNone && (best < 0 || v > bv) {
				best, bv = int(j-lo), v
			}
		}
		if best < 0 {
			return
		}
		if e.cfg.Pred == PredLogit {
			var s float64
			for j := lo; j < hi; j++ {
				if v, why := elem(p, j); why == ReasonNone {
					s += math.Exp(v - bv)
				}
			}
			bv = 1 / s
		}
		r.Pred, r.PredClass = bv, best
	case !p.List:
		if v, why := scalar(p, i); why == ReasonNone {
			r.Pred = v
		}
		if c.Scale != nil {
			if v, why := scalar(c.Scale, i); why == ReasonNone {
				r.Scale = v
			}
		}
	}
}

// worseFirst orders rows by NLL descending (perTok: by NLL per token),
// then by id (or position) ascending.
func worseFirst(a, b WorstRow, hasID, perTok bool) bool {
	an, bn := a.NLL, b.NLL
	if perTok {
		an, bn = perTokenRank(a.NLL, a.Tokens), perTokenRank(b.NLL, b.Tokens)
	}
	if an != bn {
		if an != an { // NaN first: it is the least trustworthy
			return true
		}
		if bn != bn {
			return false
		}
		return an > bn
	}
	if hasID {
		if c := Compare(a.ID, b.ID); c != 0 {
			return c < 0
		}
	}
	if a.Unit != b.Unit {
		return a.Unit < b.Unit
	}
	return a.Row < b.Row
}

func trimWorst(rs []WorstRow, n int, hasID, perTok bool) []WorstRow {
	sort.Slice(rs, func(i, j int) bool { return worseFirst(rs[i], rs[j], hasID, perTok) })
	if len(rs) > n {
		rs = rs[:n]
	}
	return rs
}

// Merge adds o into s: afterwards s holds the figures of both sets of
// rows, exactly as if one Evaluator had seen them all, whatever the order
// and grouping of merges. States of different configurations, or that
// adopted different class counts, do not merge: Merge then returns a
// *ConfigError or a *ClassCountError and leaves s as it was. The worst
// rows of both must be positioned alike (both by unit, within one run, or
// both by file and row, as pipeline.Run leaves them).
func (s *State) Merge(o *State) error {
	if s.cfg != o.cfg {
		if d := s.cfg.Diff(o.cfg); d != nil {
			return &ConfigError{*d}
		}
	}
	a, b := s.classCount, o.classCount
	if a.N != 0 && b.N != 0 && a.N != b.N {
		return &ClassCountError{A: a, B: b}
	}
	if len(s.boot) != len(o.boot) {
		return &ConfigError{ConfigDiff{"bootstrap buckets", fmt.Sprint(len(s.boot)), fmt.Sprint(len(o.boot))}}
	}
	switch {
	case a.N == 0:
		s.classCount = b
	case b.N != 0 && b.before(a):
		s.classCount = b
	}
	for k, a := range o.slices {
		if b, ok := s.slices[k]; ok {
			b.Merge(a)
		} else {
			s.slices[k] = a
		}
	}
	s.Errs = append(s.Errs, o.Errs...)
	for u, n := range o.UnitRows {
		s.UnitRows[u] += n
	}
	for k := range o.boot {
		s.boot[k].merge(&o.boot[k])
	}
	s.noBootTop = s.noBootTop || o.noBootTop
	for len(s.classes) < len(o.classes) {
		s.classes = append(s.classes, ClassAcc{})
	}
	for i := range o.classes {
		a, b := &s.classes[i], &o.classes[i]
		a.Rows += b.Rows
		a.CorrectN += b.CorrectN
		a.W.Merge(&b.W)
		a.NLL.Merge(&b.NLL)
		a.Correct.Merge(&b.Correct)
		a.Conf.Merge(&b.Conf)
	}
	s.worst = append(s.worst, o.worst...)
	s.worstTok = append(s.worstTok, o.worstTok...)
	if s.cfg.Worst > 0 {
		s.worst = trimWorst(s.worst, s.cfg.Worst, s.cfg.HasID, false)
		s.worstTok = trimWorst(s.worstTok, s.cfg.Worst, s.cfg.HasID, true)
	}
	return nil
}

// RelocateWorst rewrites the position of every kept worst row: at(unit,
// row) returns the row's new (unit, row), for example its input file and
// row within the file, so that states of separate runs compare their rows
// by input position.
func (s *State) RelocateWorst(at func(unit int, row int64) (int, int64)) {
	for i := range s.worst {
		s.worst[i].Unit, s.worst[i].Row = at(s.worst[i].Unit, s.worst[i].Row)
	}
	for i := range s.worstTok {
		s.worstTok[i].Unit, s.worstTok[i].Row = at(s.worstTok[i].Unit, s.worstTok[i].Row)
	}
}

// NumSlices is the number of distinct --by combinations seen.
func (s *State) NumSlices() int { return len(s.slices) }

// SliceFigures is one slice of the report.
type SliceFigures struct {
	By []Value
	Figures
}

// Result is the summary of a State. Every NLL figure in it, bootstrap
// intervals and replicates included, is in Config.Units: Summary (through
// Acc.Summary and inUnits) is the one place where nats are converted.
type Result struct {
	Overall Figures
	Slices  []SliceFigures
	Worst   []WorstRow
	// WorstPerToken is the worst list of a token-list run ranked by NLL
	// per token (nil otherwise).
	WorstPerToken []WorstRow
	// PerClass lists the classes that occur as a true class (multiclass).
	PerClass []ClassFigures
	// Bootstrap is nil when intervals are off.
	Bootstrap *BootstrapResult
}

// Summary rounds the figures: overall, and per slice in key order when
// there are --by columns.
func (s *State) Summary() Result {
	all := newAcc(s.cfg)
	type kv struct {
		key []Value
		acc *Acc
	}
	var list []kv
	keys := make([]string, 0, len(s.slices))
	for k := range s.slices {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a fixed merge order (the sums are exact anyway)
	for _, k := range keys {
		a := s.slices[k]
		all.Merge(a)
		if s.cfg.ByCols > 0 {
			list = append(list, kv{decodeKey(k, s.cfg.ByCols), a})
		}
	}
	sort.Slice(list, func(i, j int) bool { return compareKeys(list[i].key, list[j].key) < 0 })
	r := Result{Overall: all.summary(s.cfg, true)}
	if s.cfg.Worst > 0 {
		r.Worst = trimWorst(append([]WorstRow(nil), s.worst...), s.cfg.Worst, s.cfg.HasID, false)
		if s.cfg.Tokens {
			r.WorstPerToken = trimWorst(append([]WorstRow{}, s.worstTok...), s.cfg.Worst, s.cfg.HasID, true)
		}
	}
	for _, e := range list {
		r.Slices = append(r.Slices, SliceFigures{By: e.key, Figures: e.acc.Summary(s.cfg)})
	}
	r.Bootstrap = s.bootstrap()
	for k := range s.classes {
		ca := &s.classes[k]
		if ca.Rows == 0 {
			continue
		}
		w, correct := ca.W.Big(), ca.Correct.Big()
		if !s.cfg.Weighted {
			w, correct = bigInt(ca.Rows), bigInt(ca.CorrectN)
		}
		r.PerClass = append(r.PerClass, ClassFigures{
			Class: k, Rows: ca.Rows, Weight: f64(w),
			NLL: quo(ca.NLL.Big(), w), Accuracy: quo(correct, w), MeanConfidence: quo(ca.Conf.Big(), w),
		})
	}
	if s.cfg.Classwise && all.CD != nil {
		for i := range r.PerClass {
			r.PerClass[i].ECE = fp(all.CD.classECE(r.PerClass[i].Class, s.cfg.Bins))
		}
	}
	r.inUnits(s.cfg.Units)
	return r
}
