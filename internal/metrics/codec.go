package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/evalnll/evalnll/internal/exact"
	"github.com/evalnll/evalnll/internal/wire"
)

// The binary encoding of a State, for partial states that are written by
// one run and merged by another (evalnll eval --state, evalnll merge). It
// is the body of a state file; package partial adds the file's header,
// checksum and the run's inputs.
//
// A State is a sequence of components, each a uvarint tag, a uvarint
// length and that many bytes, in this order: config, class count, slices,
// per-class sums, bootstrap buckets, worst rows. Each component is decoded
// from its own bytes and must use all of them, so one component's layout
// can change (a new calibration sketch in place of the quantile points)
// without touching the others. Integers are uvarints (varints when they
// may be negative), float64 values 8 bytes little-endian, exact sums as
// exact.Sum.AppendBinary writes them. Every map is written in sorted key
// order, so equal states encode to equal bytes.
//
// DecodeState checks every count against the bytes left before it
// allocates, so hostile bytes cannot make it allocate more than a small
// multiple of their length, and it never panics.

// ErrStateEncoding is wrapped by the errors of DecodeState.
var ErrStateEncoding = errors.New("not a valid evalnll state")

const (
	compConfig uint64 = iota + 1
	compClasses
	compSlices
	compPerClass
	compBoot
	compWorst
	// compBootTop, after the others and only in the states of runs that
	// keep them (bootTop): the buckets' top-k hits, led by the version of
	// its layout (bootTopVersion). A state without it (made before it
	// existed) decodes, and gives no top-k interval.
	compBootTop
)

// bootTopVersion is the layout of compBootTop: 1, each bucket's TopN
// (unweighted) or TopW (weighted) in bucket order.
const bootTopVersion = 1

// maxCount bounds every decoded count and integer sum, so that merging
// decoded states cannot overflow an int64.
const maxCount = 1 << 60

// enc appends the encoding of a state.
type enc struct{ b []byte }

func (e *enc) uv(v uint64)      { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) n(v int64)        { e.uv(uint64(v)) }
func (e *enc) v(v int64)        { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) f(v float64)      { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *enc) sum(s *exact.Sum) { e.b = s.AppendBinary(e.b) }
func (e *enc) bytes(p []byte)   { e.uv(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) flag(v bool)      { e.b = append(e.b, b2byte(v)) }
func (e *enc) comp(tag uint64, f func(*enc)) {
	var c enc
	f(&c)
	e.uv(tag)
	e.bytes(c.b)
}

func b2byte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// dec reads an encoding; the first problem sticks in Err and every later
// read returns zero.
type dec struct{ wire.Decoder }

func newDec(b []byte, err error) *dec {
	return &dec{wire.Decoder{B: b, Err: err, Sentinel: ErrStateEncoding}}
}

func (d *dec) fail(what string)               { d.Fail(what) }
func (d *dec) uv(what string) uint64          { return d.Uvarint(what, math.MaxUint64) }
func (d *dec) v(what string) int64            { return d.Varint(what) }
func (d *dec) bytes(what string) []byte       { return d.Bytes(what) }
func (d *dec) count(what string, min int) int { return d.Count(what, min) }

// n reads a count or an integer sum: at most maxCount.
func (d *dec) n(what string) int64 {
	v := d.uv(what)
	if v > maxCount {
		d.fail(what)
		return 0
	}
	return int64(v)
}

func (d *dec) f(what string) float64 {
	if d.Err != nil {
		return 0
	}
	if len(d.B) < 8 {
		d.fail(what)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.B))
	d.B = d.B[8:]
	return v
}

func (d *dec) flag(what string) bool {
	if d.Err != nil {
		return false
	}
	if len(d.B) < 1 || d.B[0] > 1 {
		d.fail(what)
		return false
	}
	v := d.B[0] == 1
	d.B = d.B[1:]
	return v
}

func (d *dec) sum(what string) exact.Sum {
	if d.Err != nil {
		return exact.Sum{}
	}
	s, k, err := exact.DecodeSum(d.B)
	if err != nil {
		d.fail(what)
		return exact.Sum{}
	}
	d.B = d.B[k:]
	return s
}

// comp reads a component with tag want, returning a decoder over its
// bytes; done checks that it was read to its end.
func (d *dec) comp(want uint64, what string) *dec {
	if tag := d.uv(what); d.Err == nil && tag != want {
		d.fail(what)
	}
	p := d.bytes(what)
	return newDec(p, d.Err)
}

func (d *dec) done(parent *dec, what string) {
	if d.Err == nil && len(d.B) != 0 {
		d.fail(what)
	}
	if parent.Err == nil {
		parent.Err = d.Err
	}
}

// AppendBinary appends the encoding of c.
func (c *Config) AppendBinary(b []byte) []byte {
	e := enc{b}
	e.uv(uint64(c.Kind))
	e.uv(uint64(c.Pred))
	e.flag(c.Tokens)
	e.f(c.Eps)
	e.uv(uint64(c.Units))
	e.n(int64(c.Bins))
	e.uv(uint64(c.Binning))
	e.flag(c.Weighted)
	e.flag(c.Skip)
	e.n(int64(c.Classes))
	e.n(int64(c.ByCols))
	e.n(int64(c.MaxSlices))
	e.n(int64(c.Worst))
	e.flag(c.HasID)
	e.n(int64(c.Bootstrap.Replicates))
	e.n(int64(c.Bootstrap.Buckets))
	e.uv(c.Bootstrap.Seed)
	e.flag(c.Discrim)
	e.n(int64(c.TopK))
	e.flag(c.Classwise)
	e.flag(c.Pair)
	appendLabels(&e, c.Labels)
	e.flag(c.LMBytes)
	e.flag(c.LMWords)
	e.flag(c.Mask)
	return e.b
}

// Limits of a decoded Config: those of the CLI's flags.
const (
	maxBins       = 1000000
	maxBuckets    = 1 << 16
	maxReplicates = 100000
)

func decodeConfig(d *dec) *Config {
	c := &Config{}
	small := func(what string, n uint64) uint64 {
		v := d.uv(what)
		if v >= n {
			d.fail(what)
		}
		return v
	}
	c.Kind = Kind(small("kind", uint64(len(kindNames))))
	c.Pred = Pred(small("prediction", uint64(PredVar)+1))
	c.Tokens = d.flag("tokens")
	c.Eps = d.f("eps")
	c.Units = Units(small("base", uint64(Hartleys)+1))
	c.Bins = int(d.n("bins"))
	c.Binning = Binning(small("binning", uint64(Quantile)+1))
	c.Weighted = d.flag("weight")
	c.Skip = d.flag("on-invalid")
	c.Classes = int(d.n("classes"))
	c.ByCols = int(d.n("by"))
	c.MaxSlices = int(d.n("max-slices"))
	c.Worst = int(d.n("worst"))
	c.HasID = d.flag("id")
	c.Bootstrap.Replicates = int(d.n("bootstrap"))
	c.Bootstrap.Buckets = int(d.n("bootstrap buckets"))
	c.Bootstrap.Seed = d.uv("bootstrap-seed")
	c.Discrim = d.flag("auroc")
	c.TopK = int(d.n("topk"))
	c.Classwise = d.flag("classwise")
	c.Pair = d.flag("predict_proba pairs")
	c.Labels = decodeLabels(d)
	c.LMBytes = d.flag("bytes")
	c.LMWords = d.flag("words")
	c.Mask = d.flag("mask")
	switch {
	case d.Err != nil:
	case c.Kind == KindAuto:
		d.fail("kind")
	case !(c.Eps >= 0 && c.Eps < 0.5):
		d.fail("eps")
	case c.Bins < 1 || c.Bins > maxBins:
		d.fail("bins")
	case c.Classes > maxBins:
		d.fail("classes")
	case c.ByCols > 1<<10:
		d.fail("by")
	case c.TopK > maxBins:
		d.fail("topk")
	case c.Worst > 1<<30:
		d.fail("worst")
	case c.Bootstrap.Replicates > maxReplicates:
		d.fail("bootstrap")
	case c.Bootstrap.Replicates > 0 && (c.Bootstrap.Buckets < 1 || c.Bootstrap.Buckets > maxBuckets || c.Bootstrap.Buckets&(c.Bootstrap.Buckets-1) != 0):
		d.fail("bootstrap buckets")
	}
	return c
}

// ConfigDiff names the first setting in which two Configs differ, as the
// flag that sets it, with both values.
type ConfigDiff struct {
	Field string
	A, B  string
}

// Diff returns the first difference between c and o, or nil when they are
// the same configuration.
func (c *Config) Diff(o *Config) *ConfigDiff {
	b := strconv.FormatBool
	i := strconv.Itoa
	fl := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	base := func(u Units) string { return [...]string{"e", "2", "10"}[u] }
	pred := func(p Pred) string {
		return [...]string{"probabilities", "logits", "log-probabilities", "mean/std", "mean/var"}[p]
	}
	inv := func(s bool) string {
		if s {
			return "skip"
		}
		return "error"
	}
	checks := []struct {
		field string
		a, b  string
	}{
		{"--kind", c.Kind.String(), o.Kind.String()},
		{"prediction column type", pred(c.Pred), pred(o.Pred)},
		{"token lists", b(c.Tokens), b(o.Tokens)},
		{"--eps", fl(c.Eps), fl(o.Eps)},
		{"--base", base(c.Units), base(o.Units)},
		{"--bins", i(c.Bins), i(o.Bins)},
		{"--binning", c.Binning.String(), o.Binning.String()},
		{"--weight", b(c.Weighted), b(o.Weighted)},
		{"--on-invalid", inv(c.Skip), inv(o.Skip)},
		{"class count", i(c.Classes), i(o.Classes)},
		{"--by columns", i(c.ByCols), i(o.ByCols)},
		{"--max-slices", i(c.MaxSlices), i(o.MaxSlices)},
		{"--worst", i(c.Worst), i(o.Worst)},
		{"--id", b(c.HasID), b(o.HasID)},
		{"--bootstrap", i(c.Bootstrap.Replicates), i(o.Bootstrap.Replicates)},
		{"bootstrap buckets", i(c.Bootstrap.Buckets), i(o.Bootstrap.Buckets)},
		{"--bootstrap-seed", strconv.FormatUint(c.Bootstrap.Seed, 10), strconv.FormatUint(o.Bootstrap.Seed, 10)},
		{"--auroc", b(c.Discrim), b(o.Discrim)},
		{"--topk", i(c.TopK), i(o.TopK)},
		{"--classwise", b(c.Classwise), b(o.Classwise)},
		{"predict_proba pairs", b(c.Pair), b(o.Pair)},
		{"labels", labelsString(c.Labels), labelsString(o.Labels)},
		{"--bytes", b(c.LMBytes), b(o.LMBytes)},
		{"--words/--text", b(c.LMWords), b(o.LMWords)},
		{"--mask", b(c.Mask), b(o.Mask)},
	}
	for _, k := range checks {
		if k.a != k.b {
			return &ConfigDiff{k.field, k.a, k.b}
		}
	}
	if math.Float64bits(c.Eps) != math.Float64bits(o.Eps) {
		return &ConfigDiff{"--eps", fl(c.Eps), fl(o.Eps)}
	}
	return nil
}

// ConfigError is a merge of states from different configurations.
type ConfigError struct{ ConfigDiff }

func (e *ConfigError) Error() string {
	return fmt.Sprintf("states of different configurations: %s is %s in one and %s in the other", e.Field, e.A, e.B)
}

// ClassCount is the class (or label) count a run adopted, and where the
// first non-null prediction list it saw is: File is the input's index in
// the run's sorted input list (-1 when no list was seen) and Row the row
// within that file, from 0.
type ClassCount struct {
	N    int
	File int
	Row  int64
}

// NoClassCount is the ClassCount of a run that saw no list.
var NoClassCount = ClassCount{File: -1}

func (c ClassCount) before(o ClassCount) bool {
	if c.File != o.File {
		return c.File < o.File
	}
	return c.Row < o.Row
}

// ClassCountError is a merge of states that adopted different class
// counts: the rows of one were checked against another count than one run
// over all of them would have used.
type ClassCountError struct{ A, B ClassCount }

func (e *ClassCountError) Error() string {
	return fmt.Sprintf("class counts differ: %d (first list at input %d row %d) and %d (first list at input %d row %d)",
		e.A.N, e.A.File, e.A.Row+1, e.B.N, e.B.File, e.B.Row+1)
}

// SetClassCount records the class count the run adopted and where it was
// first seen.
func (s *State) SetClassCount(c ClassCount) { s.classCount = c }

// ClassCount is the class count the run adopted (N 0 when none).
func (s *State) ClassCount() ClassCount { return s.classCount }

// CheckPositions reports an error when a position in s (a worst row, the
// first list of the class count) names an input file beyond the first
// files: for states decoded from bytes, whose inputs are listed apart.
func (s *State) CheckPositions(files int) error {
	for _, w := range append(s.worst[:len(s.worst):len(s.worst)], s.worstTok...) {
		if w.Unit < 0 || w.Unit >= files {
			return fmt.Errorf("%w: a worst row in input %d of %d", ErrStateEncoding, w.Unit+1, files)
		}
	}
	if s.classCount.File >= files {
		return fmt.Errorf("%w: the class count's first list in input %d of %d", ErrStateEncoding, s.classCount.File+1, files)
	}
	return nil
}

// Config is the configuration the state was built with.
func (s *State) Config() *Config { return s.cfg }

// AppendBinary appends the encoding of s. A state that holds an invalid
// row (error mode) cannot be encoded: it is not a result.
func (s *State) AppendBinary(b []byte) ([]byte, error) {
	if len(s.Errs) > 0 {
		return nil, errors.New("metrics: encoding a state that stopped at an invalid row")
	}
	cfg := s.cfg
	e := enc{b}
	e.comp(compConfig, func(e *enc) { e.b = cfg.AppendBinary(e.b) })
	e.comp(compClasses, func(e *enc) {
		e.n(int64(s.classCount.N))
		e.v(int64(s.classCount.File))
		e.n(s.classCount.Row)
	})
	e.comp(compSlices, func(e *enc) {
		keys := make([]string, 0, len(s.slices))
		for k := range s.slices {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.uv(uint64(len(keys)))
		for _, k := range keys {
			e.bytes([]byte(k))
			s.slices[k].appendBinary(e)
		}
	})
	e.comp(compPerClass, func(e *enc) {
		// Classes beyond the highest one seen are left out: a state that
		// grew its list further encodes the same.
		cs := s.classes
		for len(cs) > 0 && cs[len(cs)-1].Rows == 0 {
			cs = cs[:len(cs)-1]
		}
		e.uv(uint64(len(cs)))
		for i := range cs {
			c := &cs[i]
			e.n(c.Rows)
			e.n(c.CorrectN)
			e.sum(&c.W)
			e.sum(&c.NLL)
			e.sum(&c.Correct)
			e.sum(&c.Conf)
		}
	})
	e.comp(compBoot, func(e *enc) {
		e.uv(uint64(len(s.boot)))
		for i := range s.boot {
			s.boot[i].appendBinary(e)
		}
	})
	e.comp(compWorst, func(e *enc) {
		// The list by NLL, then the list by NLL per token (token lists).
		for k, list := range [][]WorstRow{s.worst, s.worstTok} {
			ws := list
			if cfg.Worst > 0 {
				ws = trimWorst(append([]WorstRow(nil), ws...), cfg.Worst, cfg.HasID, k == 1)
			}
			e.uv(uint64(len(ws)))
			for _, w := range ws {
				appendWorst(e, &w, cfg)
			}
		}
	})
	if s.bootTop() {
		e.comp(compBootTop, func(e *enc) {
			e.uv(bootTopVersion)
			for i := range s.boot {
				b := &s.boot[i]
				if s.cfg.Weighted {
					e.fx(&b.TopW)
				} else {
					e.n(b.TopN)
				}
			}
		})
	}
	return e.b, nil
}

func (a *Acc) appendBinary(e *enc) {
	e.n(a.Rows)
	e.sum(&a.W)
	e.sum(&a.Tokens)
	e.sum(&a.NLL)
	e.sum(&a.SqA)
	e.sum(&a.SqB)
	e.sum(&a.SqC)
	e.n(a.Preds)
	e.sum(&a.PredW)
	e.sum(&a.Correct)
	e.n(a.CorrectN)
	e.sum(&a.Brier)
	e.n(a.Clipped)
	e.sum(&a.Bytes)
	e.sum(&a.Words)
	e.uv(uint64(len(a.Skipped)))
	for _, n := range a.Skipped {
		e.n(n)
	}
	// Calibration: the uniform bins, then the quantile points, each a
	// component of its own.
	e.comp(1, func(e *enc) {
		e.uv(uint64(len(a.Bins)))
		for i := range a.Bins {
			b := &a.Bins[i]
			e.n(b.Count)
			e.sum(&b.W)
			e.sum(&b.Conf)
			e.sum(&b.Out)
			e.n(b.OutN)
		}
	})
	e.comp(2, func(e *enc) { appendHist(e, a.Hist) })
	e.comp(3, func(e *enc) { appendClassDetail(e, a.CD) })
	e.comp(4, func(e *enc) { appendGauss(e, a.G) })
}

// minSum is the fewest bytes an encoded exact.Sum takes.
const minSum = 5

func decodeAcc(d *dec, cfg *Config, budget *int) *Acc {
	a := &Acc{}
	a.Rows = d.n("rows")
	a.W = d.sum("weight")
	a.Tokens = d.sum("tokens")
	a.NLL = d.sum("nll")
	a.SqA = d.sum("stderr sums")
	a.SqB = d.sum("stderr sums")
	a.SqC = d.sum("stderr sums")
	a.Preds = d.n("predictions")
	a.PredW = d.sum("prediction weight")
	a.Correct = d.sum("correct")
	a.CorrectN = d.n("correct")
	a.Brier = d.sum("brier")
	a.Clipped = d.n("clipped")
	a.Bytes = d.sum("bytes")
	a.Words = d.sum("words")
	if d.uv("skipped") != uint64(len(a.Skipped)) {
		d.fail("skipped")
	}
	for i := range a.Skipped {
		a.Skipped[i] = d.n("skipped")
	}
	bd := d.comp(1, "calibration bins")
	want := 0
	if cfg.Kind.HasCalibration() && cfg.Binning == Uniform {
		want = cfg.Bins
	}
	// The bins are allocated once their bytes are known to be there: an
	// encoded bin takes at least 17 bytes.
	if n := bd.count("calibration bins", 2+3*minSum); bd.Err == nil && n != want {
		bd.fail("calibration bins")
	}
	if bd.Err == nil && want > 0 {
		a.Bins = make([]Bin, want)
	}
	for i := range a.Bins {
		if bd.Err != nil {
			break
		}
		b := &a.Bins[i]
		b.Count = bd.n("bin")
		b.W = bd.sum("bin")
		b.Conf = bd.sum("bin")
		b.Out = bd.sum("bin")
		b.OutN = bd.n("bin")
	}
	bd.done(d, "calibration bins")
	hd := d.comp(2, "histogram")
	a.Hist = decodeHist(hd, cfg, budget)
	hd.done(d, "histogram")
	cd := d.comp(3, "class detail")
	a.CD = decodeClassDetail(cd, cfg)
	cd.done(d, "class detail")
	gd := d.comp(4, "gaussian")
	a.G = decodeGauss(gd, cfg)
	gd.done(d, "gaussian")
	return a
}

func (b *bucketAcc) appendBinary(e *enc) {
	put := func(f *fx) {
		g := *f
		g.flush()
		e.v(g.hi)
		e.uv(g.lo)
		e.flag(g.bad)
	}
	e.n(b.Rows)
	for _, f := range []*fx{&b.W, &b.NLL, &b.Tokens, &b.PredW, &b.Correct, &b.Brier} {
		put(f)
	}
	e.n(b.PredN)
	e.n(b.CorrectN)
	for k := range b.G {
		put(&b.G[k])
	}
	put(&b.Bytes)
	put(&b.Words)
	e.uv(uint64(len(b.Gap)))
	for i := range b.Gap {
		put(&b.Gap[i])
		e.n(b.OutN[i])
		e.uv(b.Conf[i].lo)
		e.uv(b.Conf[i].hi)
	}
	// Per-bin counts (and weighted, weights and outcomes): the bin figures'
	// intervals.
	e.uv(uint64(len(b.BinN)))
	for _, n := range b.BinN {
		e.n(n)
	}
	e.uv(uint64(len(b.BinW)))
	for i := range b.BinW {
		put(&b.BinW[i])
		put(&b.BinO[i])
	}
}

func decodeBucket(d *dec, b *bucketAcc) {
	// Every field is set: b may be a reused bucket.
	*b = bucketAcc{Gap: b.Gap, OutN: b.OutN, Conf: b.Conf, BinN: b.BinN, BinW: b.BinW, BinO: b.BinO}
	get := func(f *fx) {
		*f = fx{}
		f.hi = d.v("bootstrap sum")
		f.lo = d.uv("bootstrap sum")
		f.bad = d.flag("bootstrap sum")
		// Keep decoded sums far from overflow when merged.
		if f.hi > 1<<60 || f.hi < -1<<60 {
			d.fail("bootstrap sum")
		}
	}
	b.Rows = d.n("bootstrap rows")
	for _, f := range []*fx{&b.W, &b.NLL, &b.Tokens, &b.PredW, &b.Correct, &b.Brier} {
		get(f)
	}
	b.PredN = d.n("bootstrap predictions")
	b.CorrectN = d.n("bootstrap predictions")
	for k := range b.G {
		get(&b.G[k])
	}
	get(&b.Bytes)
	get(&b.Words)
	if d.uv("bootstrap bins") != uint64(len(b.Gap)) {
		d.fail("bootstrap bins")
	}
	for i := range b.Gap {
		if d.Err != nil {
			return
		}
		get(&b.Gap[i])
		b.OutN[i] = d.n("bootstrap bins")
		b.Conf[i].lo = d.uv("bootstrap bins")
		b.Conf[i].hi = d.uv("bootstrap bins")
		if b.Conf[i].hi > 1<<60 {
			d.fail("bootstrap bins")
		}
	}
	if d.uv("bootstrap bin counts") != uint64(len(b.BinN)) {
		d.fail("bootstrap bin counts")
	}
	for i := range b.BinN {
		if d.Err != nil {
			return
		}
		b.BinN[i] = d.n("bootstrap bin counts")
	}
	if d.uv("bootstrap bin weights") != uint64(len(b.BinW)) || len(b.BinO) != len(b.BinW) {
		d.fail("bootstrap bin weights")
	}
	for i := range b.BinW {
		if d.Err != nil {
			return
		}
		get(&b.BinW[i])
		get(&b.BinO[i])
	}
}

func appendValue(e *enc, v Value) {
	e.b = append(e.b, byte(v.Kind))
	switch v.Kind {
	case VBool:
		e.flag(v.B)
	case VInt:
		e.v(v.I)
	case VUint:
		e.uv(v.U)
	case VFloat:
		e.f(v.F)
	case VString:
		e.bytes([]byte(v.S))
	}
}

func decodeValue(d *dec) Value {
	if d.Err != nil {
		return Value{}
	}
	if len(d.B) < 1 || d.B[0] > byte(VString) {
		d.fail("id")
		return Value{}
	}
	v := Value{Kind: ValueKind(d.B[0])}
	d.B = d.B[1:]
	switch v.Kind {
	case VBool:
		v.B = d.flag("id")
	case VInt:
		v.I = d.v("id")
	case VUint:
		v.U = d.uv("id")
	case VFloat:
		v.F = d.f("id")
	case VString:
		v.S = string(d.bytes("id"))
	}
	return v
}

// validKey reports whether key is n values as appendKey writes them.
func validKey(key []byte, n int) bool {
	for i := 0; i < n; i++ {
		if len(key) == 0 {
			return false
		}
		k := ValueKind(key[0])
		key = key[1:]
		switch k {
		case VNull:
		case VBool:
			if len(key) < 1 || key[0] > 1 {
				return false
			}
			key = key[1:]
		case VInt, VUint, VFloat:
			if len(key) < 8 {
				return false
			}
			key = key[8:]
		case VString:
			l, m := binary.Uvarint(key)
			if m <= 0 || l > uint64(len(key)-m) {
				return false
			}
			key = key[m+int(l):]
		default:
			return false
		}
	}
	return len(key) == 0
}

// DecodeState decodes a State encoded by AppendBinary. Its errors wrap
// ErrStateEncoding and name the part that is wrong.
func DecodeState(b []byte) (*State, error) { return DecodeStateReusing(b, nil) }

// DecodeStateReusing is DecodeState, reusing the memory of the bootstrap
// buckets of spare, a state the caller no longer uses (one already merged
// into another: Merge adds its buckets' sums, it does not keep them), when
// they have the shape this state needs. Merging many decoded states
// allocates far less so. spare must not be used afterwards.
func DecodeStateReusing(b []byte, spare *State) (*State, error) {
	d := newDec(b, nil)
	cd := d.comp(compConfig, "config")
	cfg := decodeConfig(cd)
	cd.done(d, "config")
	if d.Err != nil {
		return nil, d.Err
	}
	s := &State{cfg: cfg, slices: map[string]*Acc{}, UnitRows: map[int]int64{}}

	kd := d.comp(compClasses, "class count")
	s.classCount = ClassCount{N: int(kd.n("class count")), File: int(kd.v("class count")), Row: kd.n("class count")}
	if s.classCount.N > maxBins || s.classCount.File < -1 || s.classCount.File > 1<<40 {
		kd.fail("class count")
	}
	kd.done(d, "class count")

	// Histogram grids (about 870 KB each) are allocated for at most one
	// per 256 bytes of input, plus one.
	grids := 1 + len(b)/256
	sd := d.comp(compSlices, "slices")
	n := sd.count("slices", 1+14+5*minSum)
	if cfg.ByCols == 0 && n > 1 {
		sd.fail("slices")
	}
	for i := 0; i < n && sd.Err == nil; i++ {
		key := sd.bytes("slice key")
		if sd.Err == nil && !validKey(key, cfg.ByCols) {
			sd.fail("slice key")
		}
		if _, dup := s.slices[string(key)]; dup {
			sd.fail("slice key")
		}
		a := decodeAcc(sd, cfg, &grids)
		if sd.Err == nil {
			s.slices[string(key)] = a
		}
	}
	sd.done(d, "slices")

	pd := d.comp(compPerClass, "per-class sums")
	n = pd.count("per-class sums", 2+4*minSum)
	if n > 0 && cfg.Kind != Multiclass {
		pd.fail("per-class sums")
	}
	if pd.Err == nil && n > 0 {
		s.classes = make([]ClassAcc, n)
		for i := range s.classes {
			c := &s.classes[i]
			c.Rows, c.CorrectN = pd.n("per-class sums"), pd.n("per-class sums")
			c.W, c.NLL, c.Correct, c.Conf = pd.sum("per-class sums"), pd.sum("per-class sums"), pd.sum("per-class sums"), pd.sum("per-class sums")
		}
	}
	pd.done(d, "per-class sums")

	bd := d.comp(compBoot, "bootstrap buckets")
	nb := int(bd.uv("bootstrap buckets"))
	want := 0
	if cfg.Bootstrap.Replicates > 0 {
		want = cfg.Bootstrap.Buckets
	}
	if bd.Err == nil && nb != want {
		bd.fail("bootstrap buckets")
	}
	if bd.Err == nil && nb > 0 {
		bins := 0
		if cfg.Kind.HasCalibration() && cfg.Binning == Uniform {
			bins = cfg.Bins
		}
		// A bucket takes at least 1+9*3+2+1 bytes and 6 per bin: check
		// before allocating the bins of every bucket.
		if uint64(len(bd.B)) < uint64(nb)*uint64(37+6*bins) {
			bd.fail("bootstrap buckets")
		} else {
			if spare != nil && len(spare.boot) == nb && len(spare.boot[0].Gap) == bins {
				s.boot, spare.boot = spare.boot, nil
			} else {
				s.boot = newBuckets(cfg)
			}
			for i := range s.boot {
				decodeBucket(bd, &s.boot[i])
			}
		}
	}
	bd.done(d, "bootstrap buckets")

	wd := d.comp(compWorst, "worst rows")
	for k, list := range []*[]WorstRow{&s.worst, &s.worstTok} {
		n = wd.count("worst rows", 18)
		if n > cfg.Worst || k == 1 && n > 0 && !cfg.Tokens {
			wd.fail("worst rows")
		}
		for i := 0; i < n && wd.Err == nil; i++ {
			*list = append(*list, decodeWorst(wd, cfg))
		}
	}
	wd.done(d, "worst rows")
	if s.bootTop() {
		if d.Err == nil && len(d.B) == 0 {
			s.noBootTop = true // an encoding from before the top-k hits
		} else {
			td := d.comp(compBootTop, "bootstrap top-k hits")
			if v := td.uv("bootstrap top-k version"); td.Err == nil && v != bootTopVersion {
				td.fail("bootstrap top-k version")
			}
			for i := range s.boot {
				b := &s.boot[i]
				if s.cfg.Weighted {
					b.TopW = td.fx("bootstrap top-k hits")
				} else {
					b.TopN = td.n("bootstrap top-k hits")
				}
			}
			td.done(d, "bootstrap top-k hits")
		}
	}
	if d.Err == nil && len(d.B) != 0 {
		d.fail("end of state")
	}
	if d.Err != nil {
		return nil, d.Err
	}
	return s, nil
}

// appendWorst encodes a kept worst row: its NLL and position, its token
// count, its id (with --id) and what it held (label, prediction).
func appendWorst(e *enc, w *WorstRow, cfg *Config) {
	e.f(w.NLL)
	e.n(int64(w.Unit))
	e.n(w.Row)
	e.f(w.Tokens)
	if cfg.HasID {
		appendValue(e, w.ID)
	}
	appendValue(e, w.Label)
	e.f(w.Pred)
	e.v(int64(w.PredClass))
	e.f(w.Scale)
}

// decodeWorst decodes a row appendWorst encoded.
func decodeWorst(wd *dec, cfg *Config) WorstRow {
	w := WorstRow{NLL: wd.f("worst row")}
	w.Unit = int(wd.n("worst row"))
	w.Row = wd.n("worst row")
	w.Tokens = wd.f("worst row")
	if w.Unit > 1<<40 {
		wd.fail("worst row")
	}
	if cfg.HasID {
		w.ID = decodeValue(wd)
	}
	w.Label = decodeValue(wd)
	w.Pred = wd.f("worst row")
	pc := wd.v("worst row")
	if pc < -1 || pc > 1<<30 {
		wd.fail("worst row")
	}
	w.PredClass = int(pc)
	w.Scale = wd.f("worst row")
	return w
}
