package metrics

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"sync"
)

// Bootstrap intervals without a second pass: every row falls into one of
// Buckets buckets by a hash of (Seed, row key), each bucket keeps exact
// partial sums, and at the end a Poisson bootstrap reweights whole buckets.
// The cost per row does not grow with the replicate count, no figure depends
// on how rows were split, and two runs over the same row keys put each row in
// the same bucket, so their replicates pair without a join.

// BootstrapConfig configures the intervals; Replicates 0 turns them off.
type BootstrapConfig struct {
	Replicates int
	Buckets    int // a power of two
	Seed       uint64
}

// DefaultBootstrap is 1000 replicates over 256 buckets.
func DefaultBootstrap() BootstrapConfig {
	return BootstrapConfig{Replicates: 1000, Buckets: 256, Seed: 20240601}
}

// fx is a fixed-point sum with 2^-40 resolution in 128 bits: each term is
// truncated to the grid (a property of the row alone), and integer addition
// is exact and associative, so a bucket's sum does not depend on the order
// of its rows. Bootstrap sums need determinism, not the last bit: the point
// estimates use exact.Sum. A non-finite or huge term (|x| >= 2^86) makes
// the sum NaN.
//
// Terms below 2^12 in magnitude (every probability, Brier score and
// clipped NLL) go into pend, a plain int64, for up to fxPend terms: each is
// below 2^52 on the grid, so pend cannot overflow, and it is folded into
// the 128-bit sum before it could. The result is the same integer sum.
type fx struct {
	hi   int64
	lo   uint64
	pend int64
	n    int32
	bad  bool
}

const fxPend = 2047 // 2047 terms below 2^52 sum below 2^63

func (f *fx) add(x float64) {
	v := x * 0x1p40 // exact unless it overflows (rejected in addWide)
	if math.Abs(v) < 0x1p52 && f.n < fxPend {
		f.pend += int64(v) // truncates toward zero, as addWide does
		f.n++
		return
	}
	f.addWide(v)
}

// flush folds pend into the 128-bit sum.
func (f *fx) flush() {
	f.addInt(f.pend)
	f.pend, f.n = 0, 0
}

// addInt adds v units of the grid (v = sum of truncated terms).
func (f *fx) addInt(v int64) {
	var c uint64
	f.lo, c = bits.Add64(f.lo, uint64(v), 0)
	f.hi += v>>63 + int64(c) // sign extension of v, plus the carry
}

func (f *fx) addWide(v float64) {
	f.flush()
	a := math.Abs(v)
	if !(a < 0x1p126) { // also NaN
		f.bad = true
		return
	}
	var h, l uint64
	if a < 0x1p64 {
		l = uint64(a)
	} else {
		hf := math.Floor(a * 0x1p-64)
		h, l = uint64(hf), uint64(a-hf*0x1p64)
	}
	if v < 0 { // two's complement negation in 128 bits
		var c uint64
		l, c = bits.Add64(^l, 1, 0)
		h = ^h + c
	}
	var c uint64
	f.lo, c = bits.Add64(f.lo, l, 0)
	f.hi += int64(h) + int64(c)
}

func (f *fx) merge(o *fx) {
	f.flush()
	oc := *o
	oc.flush()
	var c uint64
	f.lo, c = bits.Add64(f.lo, oc.lo, 0)
	f.hi += oc.hi + int64(c)
	f.bad = f.bad || oc.bad
}

func (f *fx) float() float64 {
	if f.bad {
		return math.NaN()
	}
	g := *f
	g.flush()
	return (float64(g.hi)*0x1p64 + float64(g.lo)) * 0x1p-40
}

// bucketAcc holds one bucket's partial sums.
type bucketAcc struct {
	Rows                  int64
	W, NLL, Tokens        fx
	Bytes, Words          fx // language-model counts (weighted by w)
	PredW, Correct, Brier fx
	// Gap[b] is sum w·outcome - sum w·confidence over the bucket's
	// predictions in calibration bin b (weighted runs).
	Gap []fx
	// Unweighted runs count rows, predictions, correct ones and outcomes
	// of 1 per bin instead (W, PredW, Correct and Gap stay empty; weighted
	// runs count predictions in PredN too), and
	// sum the confidences of bin b in Conf[b], each term truncated to a
	// multiple of 2^-62 (see conf62): exact for every confidence of 2^-10
	// or more, so the same sums give the calibration bins' (binsFromBoot).
	PredN, CorrectN int64
	OutN            []int64
	Conf            []u128
	// BinN[b] counts the bucket's predictions in bin b, and weighted runs
	// sum their weight in BinW[b] and w·outcome in BinO[b]: with Gap (or
	// OutN and Conf) the sums binFigures takes (rmsce, l2ce_debiased, the
	// Brier decomposition).
	BinN       []int64
	BinW, BinO []fx
	// G holds a Gaussian run's Σ w e², Σ w |e| and Σ w crps.
	G [3]fx
	// TopN counts the rows whose label is among the --topk highest-scored
	// classes (multiclass; weighted runs sum their weight in TopW).
	TopN int64
	TopW fx
}

// u128 is an unsigned 128-bit integer sum.
type u128 struct{ lo, hi uint64 }

func (u *u128) add(v uint64) {
	var c uint64
	u.lo, c = bits.Add64(u.lo, v, 0)
	u.hi += c
}

func (u *u128) merge(o u128) {
	var c uint64
	u.lo, c = bits.Add64(u.lo, o.lo, 0)
	u.hi += o.hi + c
}

// fromHalves is the sum hi·2^31 + lo of conf62's two parts, summed apart
// (hi and lo below 2^63).
func fromHalves(hi, lo uint64) u128 {
	c := u128{lo: hi << 31, hi: hi >> 33}
	c.add(lo)
	return c
}

// conf62 is a confidence c in [0, 1] times 2^62, truncated: the integer a
// bucket sums for it. It is c·2^62 exactly when c >= 2^-10 (its last bit
// is then worth at least 2^-62).
func conf62(c float64) uint64 { return uint64(c * 0x1p62) }

// confSmall is the confidence below which conf62 may truncate.
const confSmall = 0x1p-10

func (b *bucketAcc) merge(o *bucketAcc) {
	b.Rows += o.Rows
	b.W.merge(&o.W)
	b.NLL.merge(&o.NLL)
	b.Tokens.merge(&o.Tokens)
	b.Bytes.merge(&o.Bytes)
	b.Words.merge(&o.Words)
	b.PredW.merge(&o.PredW)
	b.Correct.merge(&o.Correct)
	b.Brier.merge(&o.Brier)
	for i := range o.Gap {
		b.Gap[i].merge(&o.Gap[i])
		b.OutN[i] += o.OutN[i]
		b.Conf[i].merge(o.Conf[i])
	}
	for i := range o.BinN {
		b.BinN[i] += o.BinN[i]
	}
	for i := range o.BinW {
		b.BinW[i].merge(&o.BinW[i])
		b.BinO[i].merge(&o.BinO[i])
	}
	b.PredN += o.PredN
	b.CorrectN += o.CorrectN
	for i := range b.G {
		b.G[i].merge(&o.G[i])
	}
	b.TopN += o.TopN
	b.TopW.merge(&o.TopW)
}

func newBuckets(cfg *Config) []bucketAcc {
	bs := make([]bucketAcc, cfg.Bootstrap.Buckets)
	if cfg.Kind.HasCalibration() && cfg.Binning == Uniform {
		for i := range bs {
			bs[i].Gap = make([]fx, cfg.Bins)
			bs[i].OutN = make([]int64, cfg.Bins)
			bs[i].Conf = make([]u128, cfg.Bins)
			bs[i].BinN = make([]int64, cfg.Bins)
			if cfg.Weighted {
				bs[i].BinW, bs[i].BinO = make([]fx, cfg.Bins), make([]fx, cfg.Bins)
			}
		}
	}
	return bs
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashBytes is FNV-1a, then mixed: stable across runs and machines.
func hashBytes(seed uint64, b []byte) uint64 {
	h := uint64(14695981039346656037) ^ mix64(seed)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return mix64(h)
}

// FileKey is the bootstrap key of a file: a hash of its path relative to
// the input it was found under (see Position), stable across runs and
// machines.
func FileKey(rel string) uint64 {
	return hashBytes(0, []byte(rel))
}

// posGamma is splitmix64's increment: posHash over consecutive rows of one
// file is the splitmix64 sequence seeded with the file's seed.
const posGamma = 0x9e3779b97f4a7c15

// posHash is the bucket hash of row row of the file whose seed is fs
// (mix64(bootstrap seed ^ FileKey)): one multiply-add and mix64.
func posHash(fs uint64, row int64) uint64 {
	return mix64(fs + uint64(row)*posGamma)
}

// bucketOf picks the bucket of valid row i: by its --id value, or else by
// its position (its file and its row within the file), which does not
// depend on its content nor on how the file was cut into units.
func (e *Evaluator) bucketOf(c *Cols, i int) int {
	var h uint64
	if c.ID != nil {
		e.idkey = appendKey(e.idkey[:0], c.ID, i)
		h = hashBytes(e.cfg.Bootstrap.Seed, e.idkey)
	} else {
		h = posHash(e.posSeed, e.row0+int64(i))
	}
	return int(h & uint64(len(e.st.boot)-1))
}

// addBoot adds valid row i to its bucket.
func (e *Evaluator) addBoot(c *Cols, i int, t *terms) {
	b := &e.st.boot[e.bucketOf(c, i)]
	b.Rows++
	if !e.cfg.Weighted {
		e.addBootUnweighted(b, i, t)
		return
	}
	w := t.w[i]
	b.W.add(w)
	b.NLL.add(w * t.x[i])
	if e.cfg.Tokens {
		b.Tokens.add(w * t.tok[i])
	}
	if e.cfg.LMBytes {
		b.Bytes.add(w * t.bytes[i])
	}
	if e.cfg.LMWords {
		b.Words.add(w * t.words[i])
	}
	if !e.cfg.Kind.HasCalibration() {
		return
	}
	lo, hi := i, i+1
	if e.cfg.Kind == Multilabel {
		lo, hi = int(t.pOff[i]), int(t.pOff[i+1])
	}
	for j := lo; j < hi; j++ {
		b.PredW.add(w)
		b.PredN++
		if t.correct[j] {
			b.Correct.add(w)
		}
		b.Brier.add(w * t.brier[j])
		if b.Gap != nil {
			k := UniformBin(t.conf[j], len(b.Gap))
			g := &b.Gap[k]
			b.BinN[k]++
			b.BinW[k].add(w)
			if t.out[j] {
				g.add(w)
				b.BinO[k].add(w)
			}
			g.add(-w * t.conf[j])
		}
	}
}

func (e *Evaluator) addBootUnweighted(b *bucketAcc, i int, t *terms) {
	b.NLL.add(t.x[i])
	if e.cfg.Tokens {
		b.Tokens.add(t.tok[i])
	}
	if e.cfg.LMBytes {
		b.Bytes.add(t.bytes[i])
	}
	if e.cfg.LMWords {
		b.Words.add(t.words[i])
	}
	if !e.cfg.Kind.HasCalibration() {
		return
	}
	lo, hi := i, i+1
	if e.cfg.Kind == Multilabel {
		lo, hi = int(t.pOff[i]), int(t.pOff[i+1])
	}
	for j := lo; j < hi; j++ {
		b.PredN++
		if t.correct[j] {
			b.CorrectN++
		}
		b.Brier.add(t.brier[j])
		if b.Gap != nil {
			k := UniformBin(t.conf[j], len(b.Gap))
			b.BinN[k]++
			if t.out[j] {
				b.OutN[k]++
			}
			b.Conf[k].add(conf62(t.conf[j]))
		}
	}
}

// bootFast reports whether addBootFast handles the batch: unweighted rows
// with at most one prediction each.
func (e *Evaluator) bootFast() bool {
	return !e.cfg.Weighted && e.cfg.Kind != Multilabel
}

// bootPend holds integer partial sums of the bootstrap buckets, flat and
// small enough to stay in cache, for the rows since the last flush: the
// same grid and truncation as fx, so folding them into the buckets' fx sums
// gives exactly the sums that adding every term to fx would. A term is
// taken here when it is below pendMax in magnitude (below 2^46 on the
// grid); the buckets are flushed every pendRows rows, so no int64 sum can
// reach 2^62. Larger terms (long token sequences, extreme logits) go to fx
// directly.
type bootPend struct {
	rows    int
	n       []int64 // rows per bucket
	correct []int64
	nll     []int64
	tok     []int64
	brier   []int64
	out     []int64 // [bucket*bins+bin]: outcomes of 1
	// cells[bucket*bins+bin]: what a row adds, in one place.
	cells []pendCell
	// addBootCal's rows before they are added (see bootCalTerms).
	cal bootCalRows
}

// pendCell is what the rows of a bucket and bin add: cnt is their
// count, outcomes of 1 and hits in one add per row, rows + outcomes·2^21
// + hits·2^42 (pendRows < 2^21); chi and clo the sum of conf62 of their
// confidences, in two parts (conf62 >> 31 and its low 31 bits) that
// cannot overflow; nll and brier the sums addBootCal's vector path would
// otherwise add to the bucket's (flushBoot moves them there). A row
// touches one cell, mostly one cache line, rather than three arrays.
type pendCell struct {
	cnt        uint64
	chi, clo   int64
	nll, brier int64
}

// bootCalRows is what addBootCal adds for each row: its bucket (-1: none)
// and cell, its NLL and Brier score on the grid (its NLL is 0 here when it
// is too large for the pending sums and was added to the bucket apart),
// conf62 of its confidence, and its cnt increment.
type bootCalRows struct {
	bucket, cell     []int32
	nll, brier, conf []int64
	inc              []uint64
	sidx             []int32 // see sliceBinIndex
	// small lists the blocks of 8 rows (by first row) that bootCalVec
	// did with a confidence below confSmall (binsFromBoot needs them).
	small []int32
}

const (
	pendMax  = 64 // 2^6: 2^46 on the 2^-40 grid
	pendRows = 1 << 16
)

// cnt's three counts of at most pendRows rows each fit in 21 bits.
const _ = uint(1<<21 - 1 - pendRows)

func newBootPend(buckets, bins int) *bootPend {
	return &bootPend{
		n: make([]int64, buckets), correct: make([]int64, buckets),
		nll: make([]int64, buckets), tok: make([]int64, buckets), brier: make([]int64, buckets),
		out: make([]int64, buckets*bins), cells: make([]pendCell, buckets*bins),
	}
}

// flushBoot folds the pending sums into the buckets, and, when the
// calibration bins come from them (binsFromBoot), into the bins.
func (e *Evaluator) flushBoot() {
	p := e.bpend
	if p == nil || p.rows == 0 {
		return
	}
	bins := len(p.cells) / max(1, len(p.n))
	if bins > 0 {
		const m21 = 1<<21 - 1
		for k := range p.cells {
			v := p.cells[k].cnt
			if v == 0 {
				continue
			}
			b := k / bins
			p.nll[b] += p.cells[k].nll
			p.brier[b] += p.cells[k].brier
			p.n[b] += int64(v & m21)
			p.out[k] += int64(v >> 21 & m21)
			p.correct[b] += int64(v >> 42)
		}
	}
	if e.binsFromBoot && bins > 0 {
		// Each bin's rows, outcomes and confidences, summed over the
		// buckets: below 2^8 · 2^16 rows, 2^8 · 2^47 for chi.
		a := e.one
		const m21 = 1<<21 - 1
		for j := range bins {
			var rows, outs, hi, lo int64
			for k := j; k < len(p.cells); k += bins {
				c := &p.cells[k]
				rows += int64(c.cnt & m21)
				outs += p.out[k]
				hi += c.chi
				lo += c.clo
			}
			bin := &a.Bins[j]
			bin.Count += rows
			bin.OutN += outs
			c := fromHalves(uint64(hi), uint64(lo))
			addFixed62(&bin.Conf, c.lo, c.hi)
		}
	}
	for b := range e.st.boot {
		if p.n[b] == 0 {
			continue
		}
		acc := &e.st.boot[b]
		acc.Rows += p.n[b]
		acc.NLL.addInt(p.nll[b])
		acc.Tokens.addInt(p.tok[b])
		if e.cfg.Kind.HasCalibration() {
			acc.PredN += p.n[b]
			acc.CorrectN += p.correct[b]
			acc.Brier.addInt(p.brier[b])
			nb := len(acc.Gap)
			for k := range acc.Gap {
				pc := &p.cells[b*nb+k]
				acc.Conf[k].merge(fromHalves(uint64(pc.chi), uint64(pc.clo)))
				acc.OutN[k] += p.out[b*nb+k]
				acc.BinN[k] += int64(pc.cnt & (1<<21 - 1))
			}
		}
	}
	clear(p.n)
	clear(p.correct)
	clear(p.nll)
	clear(p.tok)
	clear(p.brier)
	clear(p.cells)
	clear(p.out)
	p.rows = 0
}

// binsFixSmall adds to the bins of a (binsFromBoot) what conf62 truncated
// of a confidence c in bin j: c exactly, less its conf62 part, which the
// buckets' sums hold.
func binsFixSmall(a *Acc, j int, c float64) {
	bin := &a.Bins[j].Conf
	bin.Add(c)
	bin.Add(-float64(conf62(c)) * 0x1p-62) // below 2^52: exact
}

// b2i is 1 for true: outcomes and hits are as good as random, so they
// are added rather than branched on (the compiler emits a SETcc).
func b2i(b bool) int64 {
	var i int64
	if b {
		i = 1
	}
	return i
}

// addBootFast is addBoot for a whole batch of unweighted rows: each valid
// row's bucket (bucketOf), then its terms added to the flat pending sums.
func (e *Evaluator) addBootFast(c *Cols, t *terms) {
	cal := e.cfg.Kind.HasCalibration()
	// The pending cells are per bucket and calibration bin; without bins
	// in the buckets (quantile binning) one bin, so that rows take
	// addBootCal's loop all the same: flushBoot then adds the cells to
	// the buckets' counts, NLL and Brier sums only.
	bins := 0
	if cal && len(e.st.boot) > 0 {
		bins = max(1, len(e.st.boot[0].Gap))
	}
	if e.bpend == nil {
		e.bpend = newBootPend(len(e.st.boot), bins)
	}
	p := e.bpend
	mask := uint64(len(e.st.boot) - 1)
	tokens := e.cfg.Tokens
	lmb, lmw := e.cfg.LMBytes, e.cfg.LMWords
	for lo := 0; lo < t.n; lo += pendRows {
		hi := min(t.n, lo+pendRows)
		if p.rows+(hi-lo) > pendRows {
			e.flushBoot()
		}
		p.rows += hi - lo
		if c.ID == nil && cal && bins > 0 && !tokens && bootCalLoop {
			e.addBootCal(t, lo, hi, mask, bins)
			continue
		}
		for i := lo; i < hi; i++ {
			if t.reason[i] != ReasonNone {
				continue
			}
			x := t.x[i]
			var b int
			if c.ID != nil {
				b = e.bucketOf(c, i)
			} else {
				b = int(posHash(e.posSeed, e.row0+int64(i)) & mask)
			}
			if math.Abs(x) < pendMax {
				p.nll[b] += int64(x * 0x1p40)
			} else {
				e.st.boot[b].NLL.add(x)
			}
			if tokens {
				if tk := t.tok[i]; tk < pendMax {
					p.tok[b] += int64(tk * 0x1p40)
				} else {
					e.st.boot[b].Tokens.add(tk)
				}
			}
			if lmb {
				e.st.boot[b].Bytes.add(t.bytes[i])
			}
			if lmw {
				e.st.boot[b].Words.add(t.words[i])
			}
			if !cal {
				p.n[b]++
				continue
			}
			// Brier scores are at most 2 and confidences at most 1.
			p.brier[b] += int64(t.brier[i] * 0x1p40)
			if bins == 0 {
				p.n[b]++
				p.correct[b] += b2i(t.correct[i])
				continue
			}
			// The row, its outcome and hit in cnt, as addBootCal adds
			// them (flushBoot counts them per bucket and per bin).
			cf := t.conf[i]
			j := UniformBin(cf, bins)
			k := b*bins + j
			v := conf62(cf)
			pc := &p.cells[k]
			pc.chi += int64(v >> 31)
			pc.clo += int64(v & (1<<31 - 1))
			pc.cnt += 1 | uint64(b2i(t.out[i]))<<21 | uint64(b2i(t.correct[i]))<<42
			if e.binsFromBoot && cf < confSmall {
				binsFixSmall(e.one, j, cf)
			}
		}
	}
}

// bootCalLoop turns addBootCal on (tests turn it off to compare).
var bootCalLoop = true

// addBootCal is the loop of addBootFast for rows bucketed by position, with
// calibration bins and no token counts (binary and multiclass), over rows
// lo..hi: the same sums, with the slices in local variables the compiler
// keeps in registers and checks the bounds of once.
func (e *Evaluator) addBootCal(t *terms, lo, hi int, mask uint64, bins int) {
	p := e.bpend
	nb := int(mask) + 1
	n := hi - lo
	var bin []int32
	if bins == 1 {
		// One bin (or quantile binning, one pending cell per bucket):
		// every row's is 0.
		t.zeroBin = grow(t.zeroBin, t.n)
		bin = t.zeroBin[lo:hi]
	} else {
		bin = t.uniformBins(t.n, bins)[lo:hi]
	}
	reason, xs, conf := t.reason[lo:hi], t.x[lo:hi], t.conf[lo:hi]
	fs, row0 := e.posSeed, e.row0+int64(lo)
	cor, br, out := t.correct[lo:hi], t.brier[lo:hi], t.out[lo:hi]
	pnll, pbr := p.nll[:nb], p.brier[:nb]
	cells := p.cells[:nb*bins]
	fixSmall := e.binsFromBoot
	// With --by (sliceBins), each valid row's bin, outcome, hit and conf62
	// go to its slice's sums too; the part of a small confidence that
	// conf62 truncates goes to its slice's bin.
	var sb []sliceBin
	var sliceOf []int32
	fixAcc := func(int) *Acc { return e.one }
	if e.sliceBins {
		// The table and its spare entry (see addSliceBins).
		sb, sliceOf = t.sliceBin[:sliceBinSpare(len(e.accs), bins)+1], t.sliceOf[lo:hi]
		fixSmall = true
		fixAcc = func(i int) *Acc { return e.accs[sliceOf[i]] }
	}
	if !bootCalVecOK {
		// One pass: without the vector loop, a second costs more than it
		// saves. The terms of bootCalRow, written out (it is not inlined).
		for i := range reason {
			if reason[i] != ReasonNone {
				continue
			}
			x, cf := xs[i], conf[i]
			b := int(posHash(fs, row0+int64(i)) & mask)
			if math.Abs(x) < pendMax {
				pnll[b] += int64(x * 0x1p40)
			} else {
				e.st.boot[b].NLL.add(x)
			}
			pbr[b] += int64(br[i] * 0x1p40)
			k := b*bins + int(bin[i])
			v := conf62(cf)
			pc := &cells[k]
			pc.chi += int64(v >> 31)
			pc.clo += int64(v & (1<<31 - 1))
			inc := 1 | uint64(b2i(out[i]))<<21 | uint64(b2i(cor[i]))<<42
			pc.cnt += inc
			if sb != nil {
				q := &sb[sliceBinEntry(int(sliceOf[i]), i, int(bin[i]), bins)]
				q.cnt += inc
				q.chi += int64(v >> 31)
				q.clo += int64(v & (1<<31 - 1))
			}
			if fixSmall && cf < confSmall {
				binsFixSmall(fixAcc(i), int(bin[i]), cf)
			}
		}
		return
	}
	r := &p.cal
	r.bucket, r.cell = grow(r.bucket, n), grow(r.cell, n)
	r.nll, r.brier, r.conf, r.inc = grow(r.nll, n), grow(r.brier, n), grow(r.conf, n), grow(r.inc, n)
	if cap(r.small) < n/8+1 {
		r.small = make([]int32, 0, n/8+1)
	}
	r.small = r.small[:0]
	for i := 0; i < n; i++ {
		// The vector loop does whole blocks; this loop the next row after.
		if i = bootCalVec(r, i, reason, xs, conf, br, out, cor, bin, fs, row0, mask, bins); i == n {
			break
		}
		if reason[i] != ReasonNone {
			r.bucket[i] = -1
			continue
		}
		b, k, nll, brier, c62, inc := bootCalRow(posHash(fs, row0+int64(i)), xs[i], conf[i], br[i], out[i], cor[i], bin[i], mask, bins)
		if nll == 0 && math.Abs(xs[i]) >= pendMax {
			e.st.boot[b].NLL.add(xs[i])
		}
		if fixSmall && conf[i] < confSmall {
			binsFixSmall(fixAcc(i), int(bin[i]), conf[i])
		}
		r.bucket[i], r.cell[i] = int32(b), int32(k)
		r.nll[i], r.brier[i], r.conf[i], r.inc[i] = nll, brier, c62, inc
	}
	if fixSmall {
		for _, i := range r.small {
			for j := i; j < i+8; j++ {
				if conf[j] < confSmall {
					binsFixSmall(fixAcc(int(j)), int(bin[j]), conf[j])
				}
			}
		}
	}
	cell, nll, brier, c62, inc := r.cell[:n], r.nll[:n], r.brier[:n], r.conf[:n], r.inc[:n]
	for i, b := range r.bucket[:n] {
		if b < 0 {
			continue
		}
		k := cell[i]
		pc := &cells[k]
		pc.nll += nll[i]
		pc.brier += brier[i]
		pc.chi += c62[i] >> 31
		pc.clo += c62[i] & (1<<31 - 1)
		pc.cnt += inc[i]
	}
	if sb != nil {
		r.sidx = grow(r.sidx, n)
		sliceBinIndex(r.sidx, r.bucket[:n], sliceOf, bin, bins, len(sb)-1)
		addSliceBins(sb, r.sidx, c62, inc)
	}
}

// sliceBinIndex sets idx[i] to the entry of t.sliceBin that row i adds to
// (addSliceBins): slice sliceOf[i], lane i mod sliceBinLanes and bin
// bin[i]; or spare for a row that is not valid (bucket[i] < 0). Whole
// blocks are done in the vector unit, if there is one.
func sliceBinIndex(idx, bucket, sliceOf, bin []int32, bins, spare int) {
	n := len(idx)
	bucket, sliceOf, bin = bucket[:n], sliceOf[:n], bin[:n]
	for i := sliceBinIndexVec(idx, bucket, sliceOf, bin, bins, spare); i < n; i++ {
		if bucket[i] < 0 {
			idx[i] = int32(spare)
			continue
		}
		idx[i] = int32(sliceBinEntry(int(sliceOf[i]), i, int(bin[i]), bins))
	}
}

// addSliceBins adds each row's outcome, hit and conf62 to entry idx[i] of
// sb (addBootCal with --by, after the bootstrap cells; see
// sliceBinIndex). The last entry of sb is a spare that the rows that are
// not valid go to, with no test in the loop; it is emptied after. A
// function of its own so that its loop keeps its variables in registers:
// inside addBootCal the compiler kept the row index on the stack, a store
// and a load a row on the loop's critical path.
func addSliceBins(sb []sliceBin, idx []int32, c62 []int64, inc []uint64) {
	n := len(idx)
	c62, inc = c62[:n], inc[:n]
	for i, k := range idx {
		q := &sb[k]
		v := c62[i]
		q.cnt += inc[i]
		q.chi += v >> 31
		q.clo += v & (1<<31 - 1)
	}
	sb[len(sb)-1] = sliceBin{}
}

// bootCalRow is what addBootCal adds for a valid row of bucket hash h: its
// bucket and cell (bucket·bins + bin), its NLL (0 when it is pendMax or
// more: the caller adds it to the bucket apart) and Brier score on the
// 2^-40 grid, conf62 of its confidence, and its cnt increment.
func bootCalRow(h uint64, x, cf, br float64, out, cor bool, bin int32, mask uint64, bins int) (b, k int, nll, brier, c62 int64, inc uint64) {
	b = int(h & mask)
	k = b*bins + int(bin)
	if math.Abs(x) < pendMax {
		nll = int64(x * 0x1p40)
	}
	// Brier scores are at most 2 and confidences at most 1.
	return b, k, nll, int64(br * 0x1p40), int64(conf62(cf)), 1 | uint64(b2i(out))<<21 | uint64(b2i(cor))<<42
}

// BootstrapResult is the bootstrap of the overall figures.
type BootstrapResult struct {
	Config BootstrapConfig
	// ByID is set when rows were bucketed by --id (runs pair); else by
	// position.
	ByID bool
	// BucketRows is the row count of each bucket: two runs whose counts
	// differ did not see the same rows.
	BucketRows []int64
	// Metrics names the figures in Replicates and Intervals, in order.
	Metrics []string
	// Replicates[m][r] is metric m in replicate r (NLL in nats).
	Replicates [][]float64
	// Lo and Hi are the 95% intervals: the 2.5% and 97.5% percentiles
	// (nearest rank) of the replicates, less Bias.
	Lo, Hi []float64
	// Bias[m] is what the interval of metric m was moved down by: for
	// ECE, the bootstrap estimate of its bias (the mean replicate less the
	// estimate from the same sums), since a resample's ECE is larger in
	// expectation and the raw percentiles can exclude the estimate; 0 for
	// the others (means, whose bootstrap is unbiased). Lo is at least 0
	// when a bias was subtracted (ECE is never negative).
	Bias []float64
}

// biasCorrect moves the interval of a metric whose bootstrap is biased
// (a resample's ECE exceeds the sample's in expectation) down by the
// bootstrap estimate of the bias, mean(reps) - est (NaN replicates
// ignored), keeping lo at 0 or more: the percentile interval of the
// bias-corrected replicates. It returns the bias subtracted (0 when none
// can be estimated).
func biasCorrect(reps []float64, est float64, lo, hi *float64) float64 {
	var sum float64
	n := 0
	for _, x := range reps {
		if x == x {
			sum += x
			n++
		}
	}
	if n == 0 || est != est || math.IsInf(est, 0) {
		return 0
	}
	b := sum/float64(n) - est
	*lo, *hi = max(*lo-b, 0), max(*hi-b, 0)
	return b
}

// Percentile95 returns the 2.5% and 97.5% nearest-rank percentiles of xs
// (NaNs ignored; NaN when none is left).
func Percentile95(xs []float64) (lo, hi float64) {
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x == x {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN(), math.NaN()
	}
	sort.Float64s(s)
	rank := func(q float64) float64 {
		k := int(math.Ceil(q*float64(len(s)))) - 1
		if k < 0 {
			k = 0
		}
		return s[k]
	}
	return rank(0.025), rank(0.975)
}

// bootstrap computes the replicates from the buckets.
func (s *State) bootstrap() *BootstrapResult {
	cfg := s.cfg
	if cfg.Bootstrap.Replicates <= 0 || len(s.boot) == 0 {
		return nil
	}
	K := len(s.boot)
	f := func(x *fx) float64 { return x.float() }
	w, nll, tok := make([]float64, K), make([]float64, K), make([]float64, K)
	nby, nwo := make([]float64, K), make([]float64, K)
	pw, cor, br := make([]float64, K), make([]float64, K), make([]float64, K)
	// Top-k hits per bucket, when the buckets hold them (bootTop).
	var top []float64
	if s.bootTop() {
		top = make([]float64, K)
	}
	var gap [][]float64
	// The bins' gap, count, weight and outcome weight per bucket, one run
	// of 4·bins values (binFigures' sums), when every bucket holds them
	// (binSumsOK).
	var cells [][]float64
	detail := s.binSumsOK()
	res := &BootstrapResult{Config: cfg.Bootstrap, ByID: cfg.HasID, BucketRows: make([]int64, K)}
	for k := range s.boot {
		b := &s.boot[k]
		res.BucketRows[k] = b.Rows
		w[k], nll[k], tok[k] = f(&b.W), f(&b.NLL), f(&b.Tokens)
		nby[k], nwo[k] = f(&b.Bytes), f(&b.Words)
		pw[k], cor[k], br[k] = f(&b.PredW), f(&b.Correct), f(&b.Brier)
		if !cfg.Weighted {
			w[k], pw[k], cor[k] = float64(b.Rows), float64(b.PredN), float64(b.CorrectN)
		}
		if top != nil {
			top[k] = float64(b.TopN)
			if cfg.Weighted {
				top[k] = f(&b.TopW)
			}
		}
		if b.Gap != nil {
			g := make([]float64, len(b.Gap))
			for j := range b.Gap {
				if cfg.Weighted {
					g[j] = f(&b.Gap[j])
				} else {
					c := b.Conf[j]
					g[j] = float64(b.OutN[j]) - (float64(c.hi)*0x1p2 + float64(c.lo)*0x1p-62)
				}
			}
			gap = append(gap, g)
			if detail {
				nb := len(b.Gap)
				cs := make([]float64, 4*nb)
				copy(cs, g)
				nn, ww, oo := cs[nb:2*nb], cs[2*nb:3*nb], cs[3*nb:]
				for j := range b.Gap {
					nn[j] = float64(b.BinN[j])
					if cfg.Weighted {
						ww[j], oo[j] = f(&b.BinW[j]), f(&b.BinO[j])
					} else {
						ww[j], oo[j] = nn[j], float64(b.OutN[j])
					}
				}
				cells = append(cells, cs)
			}
		}
	}
	detail = detail && gap != nil
	res.Metrics = []string{"nll"}
	if cfg.Tokens {
		res.Metrics = append(res.Metrics, "nll_per_token")
	}
	if cfg.LMBytes {
		res.Metrics = append(res.Metrics, "bits_per_byte", "byte_perplexity")
	}
	if cfg.LMWords {
		res.Metrics = append(res.Metrics, "word_perplexity")
	}
	cal := cfg.Kind.HasCalibration()
	gauss := cfg.Kind == Gaussian
	var gs [3][]float64
	if gauss {
		res.Metrics = append(res.Metrics, "rmse", "mae", "crps")
		for j := range gs {
			gs[j] = make([]float64, K)
			for k := range s.boot {
				gs[j][k] = f(&s.boot[k].G[j])
			}
		}
	}
	if cal {
		res.Metrics = append(res.Metrics, "accuracy", "brier")
		if gap != nil {
			res.Metrics = append(res.Metrics, "ece")
		}
		if detail {
			res.Metrics = append(res.Metrics, binFigureNames...)
		}
	}
	if top != nil {
		res.Metrics = append(res.Metrics, "accuracy_top"+strconv.Itoa(cfg.TopK))
	}
	R := cfg.Bootstrap.Replicates
	res.Replicates = make([][]float64, len(res.Metrics))
	for m := range res.Replicates {
		res.Replicates[m] = make([]float64, R)
	}
	// Replicates are independent: they are made in parallel, each from
	// its own generator, into its own slots (the same bits for any
	// number of goroutines).
	nw := min(runtime.GOMAXPROCS(0), max(1, R/64))
	var wg sync.WaitGroup
	for g := range nw {
		wg.Go(func() {
			c := make([]float64, K)
			var binGap, acc []float64
			var st []binStats
			if gap != nil {
				binGap = make([]float64, len(gap[0]))
				if detail {
					acc = make([]float64, 4*len(gap[0]))
					st = make([]binStats, len(gap[0]))
				}
			}
			for r := g * R / nw; r < (g+1)*R/nw; r++ {
				// The Poisson(1) counts of replicate r depend only on
				// (seed, r).
				rng := rand.NewPCG(cfg.Bootstrap.Seed, uint64(r))
				for k := range c {
					c[k] = float64(poisson1(rng.Uint64()))
				}
				var sw, snll, stok, spw, scor, sbr, sby, swo, stop float64
				for k := 0; k < K; k++ {
					ck := c[k]
					if ck == 0 {
						continue
					}
					if top != nil {
						stop += ck * top[k]
					}
					sw += ck * w[k]
					snll += ck * nll[k]
					stok += ck * tok[k]
					spw += ck * pw[k]
					scor += ck * cor[k]
					sbr += ck * br[k]
					sby += ck * nby[k]
					swo += ck * nwo[k]
				}
				m := 0
				res.Replicates[m][r] = snll / sw
				m++
				if cfg.Tokens {
					res.Replicates[m][r] = snll / stok
					m++
				}
				if cfg.LMBytes {
					bpb := snll / (sby * math.Ln2)
					res.Replicates[m][r] = bpb
					res.Replicates[m+1][r] = math.Exp2(bpb)
					m += 2
				}
				if cfg.LMWords {
					res.Replicates[m][r] = math.Exp(snll / swo)
					m++
				}
				if gauss {
					var sg [3]float64
					for k := 0; k < K; k++ {
						if ck := c[k]; ck != 0 {
							for j := range sg {
								sg[j] += ck * gs[j][k]
							}
						}
					}
					res.Replicates[m][r] = math.Sqrt(sg[0] / sw)
					res.Replicates[m+1][r] = sg[1] / sw
					res.Replicates[m+2][r] = sg[2] / sw
				}
				if top != nil {
					// The last metric: the top-k accuracy.
					res.Replicates[len(res.Metrics)-1][r] = stop / spw
				}
				if !cal {
					continue
				}
				res.Replicates[m][r] = scor / spw
				res.Replicates[m+1][r] = sbr / spw
				m += 2
				if gap == nil {
					continue
				}
				if detail {
					// The gaps with the other bin sums, in one pass.
					clear(acc)
					for k := 0; k < K; k++ {
						if ck := c[k]; ck != 0 {
							cs := cells[k][:len(acc)]
							for j := range acc {
								acc[j] += ck * cs[j]
							}
						}
					}
					copy(binGap, acc)
				} else {
					clear(binGap)
					for k := 0; k < K; k++ {
						if c[k] == 0 {
							continue
						}
						for j, g := range gap[k] {
							binGap[j] += c[k] * g
						}
					}
				}
				var e float64
				for _, g := range binGap {
					e += math.Abs(g)
				}
				res.Replicates[m][r] = e / spw
				m++
				if !detail {
					continue
				}
				nb := len(binGap)
				for j, x := range binFigureValues(st, acc[nb:2*nb], acc[2*nb:3*nb], acc[3*nb:], binGap) {
					res.Replicates[m+j][r] = x
				}
			}
		})
	}
	wg.Wait()
	res.Lo, res.Hi = make([]float64, len(res.Metrics)), make([]float64, len(res.Metrics))
	res.Bias = make([]float64, len(res.Metrics))
	for m, name := range res.Metrics {
		res.Lo[m], res.Hi[m] = Percentile95(res.Replicates[m])
		if name == "ece" {
			res.Bias[m] = biasCorrect(res.Replicates[m], eceOfBuckets(gap, pw), &res.Lo[m], &res.Hi[m])
		}
		if name == "rmsce" {
			// The bin figures' estimate from the buckets' sums taken once
			// each; rmsce, brier_reliability and brier_resolution are
			// biased upward in a resample, like ECE (l2ce_debiased is
			// debiased, brier_uncertainty a function of a mean).
			all, nb := sumRows(cells), len(gap[0])
			est := binFigureValues(make([]binStats, nb), all[nb:2*nb], all[2*nb:3*nb], all[3*nb:], all[:nb])
			for j := range 4 {
				if binFigureNames[j] != "l2ce_debiased" {
					res.Bias[m+j] = biasCorrect(res.Replicates[m+j], est[j], &res.Lo[m+j], &res.Hi[m+j])
				}
			}
		}
	}
	return res
}

// binFigureNames are the bootstrap's names of binFigures' figures, in
// binFigureValues' order.
var binFigureNames = []string{"rmsce", "l2ce_debiased", "brier_reliability", "brier_resolution", "brier_uncertainty"}

// binFigureValues is binFigures of bins with counts n, weights w, outcome
// weights o and gaps g (o less the weighted confidences), in
// binFigureNames' order (NaN when no bin holds weight); st is scratch.
func binFigureValues(st []binStats, n, w, o, g []float64) [5]float64 {
	for j := range st {
		st[j] = binStats{}
		if n[j] > 0 && w[j] > 0 {
			st[j] = binStats{w: w[j], out: o[j] / w[j], conf: (o[j] - g[j]) / w[j], n: int64(n[j]), ok: true}
		}
	}
	f, ok := binFigures(st)
	if !ok {
		nan := math.NaN()
		return [5]float64{nan, nan, nan, nan, nan}
	}
	return [5]float64{f.rmsce, f.l2ce, f.rel, f.res, f.unc}
}

// sumRows is the sum of the rows of xs, column by column.
func sumRows(xs [][]float64) []float64 {
	out := make([]float64, len(xs[0]))
	for _, x := range xs {
		for j, v := range x {
			out[j] += v
		}
	}
	return out
}

// bootTop reports whether the buckets hold the top-k hits of every row
// (a multiclass run with --topk; not a state decoded from an encoding
// made before they were kept, which gives no top-k interval).
func (s *State) bootTop() bool {
	return len(s.boot) > 0 && s.cfg.TopK > 0 && s.cfg.Kind == Multiclass && !s.noBootTop
}

// binSumsOK reports whether the buckets hold the bins' counts (and,
// weighted, weights) of every prediction they hold: a state that lost them
// (an encoding from before they existed) gives no intervals of
// binFigures' figures rather than wrong ones.
func (s *State) binSumsOK() bool {
	if len(s.boot) == 0 {
		return false
	}
	for k := range s.boot {
		b := &s.boot[k]
		if len(b.Gap) == 0 || len(b.BinN) != len(b.Gap) {
			return false
		}
		var n int64
		for _, x := range b.BinN {
			n += x
		}
		if n != b.PredN {
			return false
		}
		if !s.cfg.Weighted {
			continue
		}
		if len(b.BinW) != len(b.Gap) || len(b.BinO) != len(b.Gap) {
			return false
		}
		var w fx
		for j := range b.BinW {
			w.merge(&b.BinW[j])
		}
		if !w.same(&b.PredW) {
			return false
		}
	}
	return true
}

// same reports whether f and o hold the same sum.
func (f *fx) same(o *fx) bool {
	a, b := *f, *o
	a.flush()
	b.flush()
	return a.hi == b.hi && a.lo == b.lo && a.bad == b.bad
}

// eceOfBuckets is the ECE of the buckets' sums taken once each (the
// estimate the replicates scatter around, on the buckets' grid): sum over
// bins of |sum of the buckets' gaps| over the predictions' weight.
func eceOfBuckets(gap [][]float64, pw []float64) float64 {
	if len(gap) == 0 {
		return math.NaN()
	}
	bin := make([]float64, len(gap[0]))
	var w float64
	for k, g := range gap {
		w += pw[k]
		for j, x := range g {
			bin[j] += x
		}
	}
	var e float64
	for _, x := range bin {
		e += math.Abs(x)
	}
	return e / w
}

// poisson1 draws from Poisson(1) by inversion, from the 64 random bits v
// (a generator's next Uint64): u = v's low 53 bits times 2^-53, as
// rand.Rand.Float64 makes it, and the draw is the first k with
// u <= P(X <= k), capped at 30.
func poisson1(v uint64) int {
	u := float64(v<<11>>11) / (1 << 53)
	k := 0
	for k < len(poisson1CDF)-1 && u > poisson1CDF[k] {
		k++
	}
	return k
}

// poisson1CDF[k] is P(X <= k) for X ~ Poisson(1), summed term by term in
// this order (the draws depend on these exact bits), k = 0..30.
var poisson1CDF = func() (cdf [31]float64) {
	p := math.Exp(-1)
	cum := p
	cdf[0] = cum
	for k := 1; k < len(cdf); k++ {
		p /= float64(k)
		cum += p
		cdf[k] = cum
	}
	return cdf
}()
