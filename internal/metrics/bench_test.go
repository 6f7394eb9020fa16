package metrics

// Benchmarks of the per-kind evaluation paths (Evaluator.Add on one batch,
// shaped like the peer benchmark's data in ../shared/bench) and of the math
// kernels they spend their time in. Each reports rows/s (and elements/s for
// list kinds). They are quick with -benchtime=1x (CI smoke):
//
//	go test ./metrics -run '^$' -bench . -benchtime=1x
//	go test ./metrics -run '^$' -bench 'Eval' -count 5   # for numbers

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/evalnll/evalnll/internal/column"
)

const benchRows = 1 << 16 // one pipeline batch (pipeline.DefaultOptions)

// benchBinary is a binary batch like binary.parquet: an int label, a float64
// probability (a few exactly 0 or 1), a dictionary-encoded slice column.
func benchBinary(n int, f32 bool) (*Cols, []string) {
	r := rand.New(rand.NewPCG(1, 2))
	y := make([]int64, n)
	p := make([]float64, n)
	p32 := make([]float32, n)
	codes := make([]int32, n)
	dict := []string{"web", "mobile", "email", "search", "ads", "social", "news", "video"}
	for i := range y {
		z := r.NormFloat64() * 2
		q := 1 / (1 + math.Exp(-z))
		if r.IntN(100000) == 0 {
			q = float64(r.IntN(2))
		}
		p[i], p32[i] = q, float32(q)
		if r.Float64() < q {
			y[i] = 1
		}
		codes[i] = int32(r.IntN(len(dict)))
	}
	c := &Cols{
		Rows:  n,
		Label: &column.Column{Type: column.Int, Len: n, Ints: y},
		Pred:  &column.Column{Type: column.Float64, Len: n, F64: p},
		By:    []*column.Column{{Type: column.String, Len: n, Dict: dict, Codes: codes}},
	}
	if f32 {
		c.Pred = &column.Column{Type: column.Float32, Len: n, F32: p32}
	}
	return c, dict
}

// benchLogits is a multiclass batch of k float32 logits per row, like
// multiclass_logits.parquet.
func benchLogits(n, k int) *Cols {
	r := rand.New(rand.NewPCG(3, 4))
	y := make([]int64, n)
	z := make([]float32, n*k)
	off := make([]int64, n+1)
	for i := 0; i < n; i++ {
		y[i] = int64(r.IntN(k))
		row := z[i*k : (i+1)*k]
		for j := range row {
			row[j] = float32(r.NormFloat64() * 1.5 / 1.25)
		}
		row[y[i]] += float32((6 + 2.5*r.NormFloat64()) / 1.25)
		off[i+1] = int64((i + 1) * k)
	}
	return &Cols{
		Rows:  n,
		Label: &column.Column{Type: column.Int, Len: n, Ints: y},
		Pred:  &column.Column{Type: column.Float32, List: true, Len: n, F32: z, Offsets: off},
	}
}

// benchProbs is a multiclass batch of k float64 probabilities per row (a
// softmax), like multiclass_probs.parquet.
func benchProbs(n, k int) *Cols {
	r := rand.New(rand.NewPCG(5, 6))
	y := make([]int64, n)
	p := make([]float64, n*k)
	off := make([]int64, n+1)
	for i := 0; i < n; i++ {
		y[i] = int64(r.IntN(k))
		row := p[i*k : (i+1)*k]
		var s float64
		for j := range row {
			v := r.NormFloat64()
			if j == int(y[i]) {
				v += 1.5
			}
			row[j] = math.Exp(1.3 * v)
			s += row[j]
		}
		for j := range row {
			row[j] /= s
		}
		off[i+1] = int64((i + 1) * k)
	}
	return &Cols{
		Rows:  n,
		Label: &column.Column{Type: column.Int, Len: n, Ints: y},
		Pred:  &column.Column{Type: column.Float64, List: true, Len: n, F64: p, Offsets: off},
	}
}

// benchTokens is a batch of token log-probability lists (float32, 256..768
// per row), like tokens.parquet.
func benchTokens(n int) *Cols {
	r := rand.New(rand.NewPCG(7, 8))
	off := make([]int64, n+1)
	var lp []float32
	for i := 0; i < n; i++ {
		m := 256 + r.IntN(513)
		d := r.NormFloat64() * 0.5
		for j := 0; j < m; j++ {
			lp = append(lp, float32(-min(25, math.Exp(d+r.NormFloat64()-1))))
		}
		off[i+1] = int64(len(lp))
	}
	return &Cols{Rows: n, Pred: &column.Column{Type: column.Float32, List: true, Len: n, F32: lp, Offsets: off}}
}

// threadCPU is the CPU time of the calling OS thread (Linux; ok false
// elsewhere). On a busy shared machine it is steadier than wall time.
func threadCPU() (time.Duration, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// cpuClock reports the benchmark loop's thread CPU time per unit (unit is
// e.g. "row" or "op"), next to testing's wall-clock ns/op.
type cpuClock struct {
	b     *testing.B
	start time.Duration
	ok    bool
}

func startCPU(b *testing.B) *cpuClock {
	runtime.LockOSThread()
	b.ResetTimer()
	t, ok := threadCPU()
	return &cpuClock{b: b, start: t, ok: ok}
}

func (c *cpuClock) stop(perOp float64, unit string) {
	t, ok := threadCPU()
	c.b.StopTimer()
	runtime.UnlockOSThread()
	if ok && c.ok {
		c.b.ReportMetric(float64(t-c.start)/float64(c.b.N)/perOp, "cpu-ns/"+unit)
	}
}

// runEval times Evaluator.Add over c and reports rows/s and, when elems > 0,
// list elements/s.
func runEval(b *testing.B, cfg Config, c *Cols, elems int) {
	b.Helper()
	ev := NewEvaluator(&cfg, 0)
	ev.BeginUnit(0)
	if !ev.Add(c, 0) { // warm: adopt the class count, create the slices
		b.Fatalf("invalid row: %+v", ev.State().Errs)
	}
	b.ReportAllocs()
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		ev.BeginUnit(i + 1)
		if !ev.Add(c, 0) {
			b.Fatalf("invalid row: %+v", ev.State().Errs)
		}
	}
	clk.stop(float64(c.Rows), "row")
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*float64(c.Rows)/s, "rows/s")
	b.ReportMetric(s*1e9/(float64(b.N)*float64(c.Rows)), "ns/row")
	if elems > 0 {
		b.ReportMetric(float64(b.N)*float64(elems)/s, "elems/s")
	}
}

func BenchmarkEvalBinaryProb(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	runEval(b, DefaultConfig(), c, 0)
}

// BenchmarkEvalBinaryProbBoot is BenchmarkEvalBinaryProb with the default
// bootstrap, as `evalnll eval` runs it.
func BenchmarkEvalBinaryProbBoot(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	cfg := DefaultConfig()
	cfg.Bootstrap = DefaultBootstrap()
	runEval(b, cfg, c, 0)
}

// BenchmarkBootstrapSummary is the fixed cost the default bootstrap adds
// to every run: 1000 replicates over 256 buckets, with ECE, in Summary.
func BenchmarkBootstrapSummary(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	cfg := DefaultConfig()
	cfg.Bootstrap = DefaultBootstrap()
	ev := NewEvaluator(&cfg, 0)
	ev.BeginUnit(0)
	if !ev.Add(c, 0) {
		b.Fatalf("invalid row: %+v", ev.State().Errs)
	}
	st := ev.State()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := st.Summary(); r.Bootstrap == nil || len(r.Bootstrap.Lo) == 0 {
			b.Fatal("no bootstrap in the summary")
		}
	}
}

func BenchmarkEvalBinaryProbF32(b *testing.B) {
	c, _ := benchBinary(benchRows, true)
	c.By = nil
	runEval(b, DefaultConfig(), c, 0)
}

// BenchmarkEvalBinaryProbBySlice is the binary_all task: --by slice.
func BenchmarkEvalBinaryProbBySlice(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	cfg := DefaultConfig()
	cfg.ByCols = 1
	runEval(b, cfg, c, 0)
}

// BenchmarkEvalBinaryProbBySliceBoot is the binary_slices task as
// `evalnll eval --by slice` runs it: the default bootstrap on.
func BenchmarkEvalBinaryProbBySliceBoot(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	cfg := DefaultConfig()
	cfg.ByCols = 1
	cfg.Bootstrap = DefaultBootstrap()
	runEval(b, cfg, c, 0)
}

// BenchmarkEvalBinaryProbBySliceBootOld is BenchmarkEvalBinaryProbBySliceBoot
// with the slices' bins added by accumulate (sliceBins off), to compare.
func BenchmarkEvalBinaryProbBySliceBootOld(b *testing.B) {
	defer func(v bool) { sliceBinsOn = v }(sliceBinsOn)
	sliceBinsOn = false
	BenchmarkEvalBinaryProbBySliceBoot(b)
}

// BenchmarkEvalBinaryProbBySliceAB alternates the two ways of adding the
// slices' bins batch by batch, and reports each one's thread CPU time per
// row: an A/B that a shared machine's load changes less than two runs.
func BenchmarkEvalBinaryProbBySliceAB(b *testing.B) {
	defer func(v bool) { sliceBinsOn = v }(sliceBinsOn)
	c, _ := benchBinary(benchRows, false)
	cfg := DefaultConfig()
	cfg.ByCols = 1
	cfg.Bootstrap = DefaultBootstrap()
	var evs [2]*Evaluator
	var cpu [2]time.Duration
	for k := range evs {
		evs[k] = NewEvaluator(&cfg, 0)
		evs[k].BeginUnit(0)
		evs[k].Add(c, 0)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	// Blocks of 40 batches (about 50 ms): the thread's CPU time is counted
	// in clock ticks.
	const block = 40
	for i := 0; i < b.N; i += block {
		for k := range evs {
			sliceBinsOn = k == 1
			t0, _ := threadCPU()
			for j := i; j < min(b.N, i+block); j++ {
				evs[k].BeginUnit(j + 1)
				if !evs[k].Add(c, 0) {
					b.Fatal("invalid row")
				}
			}
			t1, _ := threadCPU()
			cpu[k] += t1 - t0
		}
	}
	b.ReportMetric(float64(cpu[0])/float64(b.N)/float64(c.Rows), "old-cpu-ns/row")
	b.ReportMetric(float64(cpu[1])/float64(b.N)/float64(c.Rows), "new-cpu-ns/row")
}

// BenchmarkEvalBinaryProbBySliceStrs is BenchmarkEvalBinaryProbBySliceBoot
// with the slice column as plain strings (one Go string per row), as a
// reader that does not dictionary-encode hands it over.
func BenchmarkEvalBinaryProbBySliceStrs(b *testing.B) {
	c, dict := benchBinary(benchRows, false)
	by := c.By[0]
	strs := make([]string, by.Len)
	for i, k := range by.Codes {
		strs[i] = dict[k]
	}
	c.By[0] = &column.Column{Type: column.String, Len: by.Len, Strs: strs}
	cfg := DefaultConfig()
	cfg.ByCols = 1
	cfg.Bootstrap = DefaultBootstrap()
	runEval(b, cfg, c, 0)
}

func BenchmarkEvalBinaryProbWeighted(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	w := make([]float64, benchRows)
	for i := range w {
		w[i] = float64(i%4) + 0.5
	}
	c.Weight = &column.Column{Type: column.Float64, Len: benchRows, F64: w}
	cfg := DefaultConfig()
	cfg.Weighted = true
	runEval(b, cfg, c, 0)
}

func BenchmarkEvalBinaryLogit(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	for i, p := range c.Pred.F64 {
		c.Pred.F64[i] = math.Log(p) - math.Log1p(-p)
		if math.IsInf(c.Pred.F64[i], 0) {
			c.Pred.F64[i] = 0
		}
	}
	cfg := DefaultConfig()
	cfg.Pred = PredLogit
	runEval(b, cfg, c, 0)
}

// BenchmarkEvalLogits1000F32 is the logits_nll task: 1000 float32 logits
// per row.
func BenchmarkEvalLogits1000F32(b *testing.B) {
	const n, k = 1024, 1000
	c := benchLogits(n, k)
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred = Multiclass, PredLogit
	runEval(b, cfg, c, n*k)
}

// BenchmarkEvalProbs10 is the probs_nll_ece task: 10 float64 probabilities
// per row.
func BenchmarkEvalProbs10(b *testing.B) {
	const k = 10
	c := benchProbs(benchRows, k)
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred = Multiclass, PredProb
	runEval(b, cfg, c, benchRows*k)
}

// BenchmarkEvalTokens is the tokens_nll task: float32 lists of 256..768.
func BenchmarkEvalTokens(b *testing.B) {
	const n = 1024
	c := benchTokens(n)
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred, cfg.Tokens = Logprob, PredLogprob, true
	runEval(b, cfg, c, len(c.Pred.F32))
}

// BenchmarkEvalTokensMask is BenchmarkEvalTokens with --mask (the first
// quarter of each list masked out, as a prompt): the masked rows' own path.
func BenchmarkEvalTokensMask(b *testing.B) {
	const n = 1024
	c := benchTokens(n)
	off := c.Pred.Offsets
	mask := make([]int64, off[n])
	for i := 0; i < n; i++ {
		for j := off[i] + (off[i+1]-off[i])/4; j < off[i+1]; j++ {
			mask[j] = 1
		}
	}
	c.Mask = &column.Column{Type: column.Int, List: true, Len: n, Ints: mask, Offsets: off}
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred, cfg.Tokens, cfg.Mask = Logprob, PredLogprob, true, true
	runEval(b, cfg, c, len(c.Pred.F32))
}

// BenchmarkEvalTokensLM is the tokens task as the CLI runs it (1000
// bootstrap replicates), without and with a byte-count column (--bytes):
// the A/B of the language-model figures' cost, in one session.
func BenchmarkEvalTokensLM(b *testing.B) {
	const n = 1024
	for _, bytes := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "bytes"}[bytes]
		b.Run(name, func(b *testing.B) {
			c := benchTokens(n)
			cfg := DefaultConfig()
			cfg.Kind, cfg.Pred, cfg.Tokens = Logprob, PredLogprob, true
			cfg.Bootstrap = DefaultBootstrap()
			if bytes {
				counts := make([]int64, n)
				for i := range counts {
					// About four bytes a token.
					counts[i] = 4*(c.Pred.Offsets[i+1]-c.Pred.Offsets[i]) + int64(i%7)
				}
				c.Bytes = &column.Column{Type: column.Int, Len: n, Ints: counts}
				cfg.LMBytes = true
			}
			runEval(b, cfg, c, len(c.Pred.F32))
		})
	}
}

// --- math kernels ------------------------------------------------------------

var sinkF float64

// benchProbInputs are probabilities in [1e-15, 1], log-uniform below 1e-3 for
// a tenth of them (the clipped tail matters for Log).
func benchProbInputs() []float64 {
	r := rand.New(rand.NewPCG(9, 10))
	xs := make([]float64, 4096)
	for i := range xs {
		if i%10 == 0 {
			xs[i] = math.Pow(10, -3-12*r.Float64())
		} else {
			xs[i] = r.Float64()*(1-1e-15) + 1e-15
		}
	}
	return xs
}

func BenchmarkLog(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += Log(xs[i&4095])
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkMathLog(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += math.Log(xs[i&4095])
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkMathLog1p(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += math.Log1p(-xs[i&4095])
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkMathExp(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += math.Exp(-20 * xs[i&4095])
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkBinaryProbNLL(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += BinaryProbNLL(xs[i&4095], i&1 == 0)
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkLogitsRow1000(b *testing.B) {
	c := benchLogits(64, 1000)
	b.ReportAllocs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		r := i & 63
		nll, _, _, _ := LogitsRow(c.Pred.F32[r*1000:(r+1)*1000], int(c.Label.Ints[r]))
		s += nll
	}
	clk.stop(1000, "elem")
	sinkF = s
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "elems/s")
}

func BenchmarkLog1mp(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += Log1mp(xs[i&4095])
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkExp(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += Exp(-20 * xs[i&4095])
	}
	clk.stop(1, "op")
	sinkF = s
}

func BenchmarkSoftplus(b *testing.B) {
	xs := benchProbInputs()
	var s float64
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += Softplus(40*xs[i&4095] - 20)
	}
	clk.stop(1, "op")
	sinkF = s
}

// --- accuracy of the fast kernels (math.go) ------------------------------------
//
// These live here rather than in math_test.go only because this file is the
// one the benchmark work may add. EVALNLL_ULP_SAMPLES=N raises the number of
// random inputs per range (default 3000; the figures in BENCHMARKS.md used
// 1,000,000).

const bigPrec = 300

func bigF(x float64) *big.Float { return new(big.Float).SetPrec(bigPrec).SetFloat64(x) }

func bigAtanh(t *big.Float) *big.Float {
	sum := new(big.Float).SetPrec(bigPrec).Set(t)
	t2 := new(big.Float).SetPrec(bigPrec).Mul(t, t)
	pow := new(big.Float).SetPrec(bigPrec).Set(t)
	eps := new(big.Float).SetMantExp(big.NewFloat(1), -bigPrec-10)
	term := new(big.Float).SetPrec(bigPrec)
	for n := 3; ; n += 2 {
		pow.Mul(pow, t2)
		term.Quo(pow, bigF(float64(n)))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil)-sum.MantExp(nil) < -bigPrec-4 || new(big.Float).Abs(term).Cmp(eps) < 0 {
			return sum
		}
	}
}

var bigLn2 = func() *big.Float {
	r := bigAtanh(new(big.Float).SetPrec(bigPrec).Quo(bigF(1), bigF(3)))
	return r.Mul(r, bigF(2))
}()

// bigLog is log(y) for y > 0 to about 290 bits.
func bigLog(y *big.Float) *big.Float {
	m := new(big.Float).SetPrec(bigPrec)
	e := y.MantExp(m) // m in [0.5, 1)
	if m.Cmp(bigF(math.Sqrt2/2)) < 0 {
		m.SetMantExp(m, 1)
		e--
	}
	t := new(big.Float).SetPrec(bigPrec).Quo(new(big.Float).SetPrec(bigPrec).Sub(m, bigF(1)), new(big.Float).SetPrec(bigPrec).Add(m, bigF(1)))
	r := bigAtanh(t)
	r.Mul(r, bigF(2))
	return r.Add(r, new(big.Float).SetPrec(bigPrec).Mul(bigLn2, bigF(float64(e))))
}

// bigExp is e^x to about 280 bits.
func bigExp(x *big.Float) *big.Float {
	// e^x = 2^q e^s with s = x - q ln2 in [-ln2/2, ln2/2], then Taylor on s/2^8.
	q := math.Round(mustF(new(big.Float).Quo(x, bigLn2)))
	s := new(big.Float).SetPrec(bigPrec).Sub(x, new(big.Float).SetPrec(bigPrec).Mul(bigLn2, bigF(q)))
	s.SetMantExp(s, -8)
	sum, term := bigF(1), bigF(1)
	for n := 1; n < 100; n++ {
		term.Mul(term, s)
		term.Quo(term, bigF(float64(n)))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < -bigPrec-8 {
			break
		}
	}
	for i := 0; i < 8; i++ {
		sum.Mul(sum, sum)
	}
	return sum.SetMantExp(sum, int(q))
}

func mustF(x *big.Float) float64 { v, _ := x.Float64(); return v }

// ulpErr is |got - want| in units of the last place at want (want exact):
// the spacing of the float64 values around want, taken on the side of the
// nearest float64 where want lies (this matters at powers of two).
func ulpErr(got float64, want *big.Float) float64 {
	w := mustF(want)
	if w == 0 || math.IsInf(w, 0) {
		if got == w {
			return 0
		}
		return math.Inf(1)
	}
	away := math.Nextafter(w, math.Copysign(math.Inf(1), w))
	ulp := math.Abs(away - w)
	if new(big.Float).Abs(want).Cmp(bigF(math.Abs(w))) < 0 {
		ulp = math.Abs(w - math.Nextafter(w, 0))
	}
	d := new(big.Float).SetPrec(bigPrec).Sub(bigF(got), want)
	return math.Abs(mustF(d)) / ulp
}

// bigLog1p is log(1 + u) for u > -1, exact even for tiny u:
// 2 atanh(u / (2 + u)).
func bigLog1p(u *big.Float) *big.Float {
	t := new(big.Float).SetPrec(bigPrec).Quo(u, new(big.Float).SetPrec(bigPrec).Add(bigF(2), u))
	r := bigAtanh(t)
	return r.Mul(r, bigF(2))
}

func ulpSamples() int {
	if s := os.Getenv("EVALNLL_ULP_SAMPLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err == nil && n > 0 {
			return n
		}
	}
	return 3000
}

type ulpRange struct {
	name string
	gen  func(r *rand.Rand) float64
}

// checkULP evaluates f on every range and fails above maxULP; it logs the
// worst error per range.
func checkULP(t *testing.T, f func(float64) float64, ref func(float64) *big.Float, ranges []ulpRange, maxULP float64) {
	t.Helper()
	n := ulpSamples()
	r := rand.New(rand.NewPCG(20240601, 6))
	for _, rg := range ranges {
		worst, at := 0.0, 0.0
		for i := 0; i < n; i++ {
			x := rg.gen(r)
			e := ulpErr(f(x), ref(x))
			if e > worst || e != e {
				worst, at = e, x
			}
		}
		t.Logf("%-28s max %.3f ulp (at %v) over %d inputs", rg.name, worst, at, n)
		if !(worst <= maxULP) {
			t.Errorf("%s: max error %.3f ulp at x = %v (%x), want <= %v", rg.name, worst, at, math.Float64bits(at), maxULP)
		}
	}
}

func TestFastLogAccuracy(t *testing.T) {
	ranges := []ulpRange{
		{"uniform [1e-15, 1]", func(r *rand.Rand) float64 { return 1e-15 + r.Float64()*(1-1e-15) }},
		{"log-uniform normals", func(r *rand.Rand) float64 { return math.Ldexp(1+r.Float64(), r.IntN(2046)-1022) }},
		{"1 ± 2^-[1,60]", func(r *rand.Rand) float64 {
			d := math.Ldexp(r.Float64(), -1-r.IntN(60))
			if r.IntN(2) == 0 {
				return 1 - d
			}
			return 1 + d
		}},
		{"near table edges", func(r *rand.Rand) float64 {
			i := uint64(r.IntN(129))
			return math.Ldexp(math.Float64frombits(logOff+i<<45+uint64(r.IntN(64))-32), r.IntN(20)-10)
		}},
		{"subnormal", func(r *rand.Rand) float64 { return math.Float64frombits(1 + r.Uint64N(1<<52-1)) }},
		{"random bits (positive)", func(r *rand.Rand) float64 {
			for {
				x := math.Float64frombits(r.Uint64() >> 1)
				if x > 0 && !math.IsInf(x, 0) && !math.IsNaN(x) {
					return x
				}
			}
		}},
	}
	checkULP(t, Log, func(x float64) *big.Float { return bigLog(bigF(x)) }, ranges, 1)
	for _, x := range []float64{1, 2, 0.5, math.MaxFloat64, minNormal, 5e-324} {
		if got, want := Log(x), mustF(bigLog(bigF(x))); got != want {
			t.Errorf("Log(%v) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float64{0, -1, math.Inf(1), math.Inf(-1), math.NaN(), -0.0} {
		if got, want := Log(x), math.Log(x); !(got == want || got != got && want != want) {
			t.Errorf("Log(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestFastLog1mpAccuracy(t *testing.T) {
	ref := func(p float64) *big.Float {
		if p < 0.5 {
			return bigLog1p(bigF(-p))
		}
		return bigLog(new(big.Float).SetPrec(bigPrec).Sub(bigF(1), bigF(p))) // exact 1-p
	}
	ranges := []ulpRange{
		{"p uniform [0, 1-1e-15]", func(r *rand.Rand) float64 { return r.Float64() * (1 - 1e-15) }},
		{"p log-uniform [2^-1000, 1]", func(r *rand.Rand) float64 { return math.Ldexp(1+r.Float64(), -1-r.IntN(1000)) }},
		{"p in [1e-20, 1e-14]", func(r *rand.Rand) float64 { return math.Pow(10, -20+6*r.Float64()) }},
		{"1-p tiny", func(r *rand.Rand) float64 { return 1 - math.Ldexp(1+r.Float64(), -2-r.IntN(50)) }},
	}
	checkULP(t, Log1mp, ref, ranges, 1)
	if got := Log1mp(0); got != 0 {
		t.Errorf("Log1mp(0) = %v", got)
	}
	if got := Log1mp(1); !math.IsInf(got, -1) {
		t.Errorf("Log1mp(1) = %v", got)
	}
	if got := Log1mp(1e-300); got != -1e-300 {
		t.Errorf("Log1mp(1e-300) = %v", got)
	}
}

func TestFastExpAccuracy(t *testing.T) {
	ranges := []ulpRange{
		{"uniform [-704, 704]", func(r *rand.Rand) float64 { return -704 + 1408*r.Float64() }},
		{"uniform [-40, 0] (logits)", func(r *rand.Rand) float64 { return -40 * r.Float64() }},
		{"±2^-[1,60]", func(r *rand.Rand) float64 {
			d := math.Ldexp(r.Float64(), -1-r.IntN(60))
			if r.IntN(2) == 0 {
				return -d
			}
			return d
		}},
		{"k ln2/128 ± tiny", func(r *rand.Rand) float64 {
			return float64(r.IntN(256)-128)*math.Ln2/256 + math.Ldexp(r.Float64()-0.5, -40)
		}},
	}
	checkULP(t, Exp, func(x float64) *big.Float { return bigExp(bigF(x)) }, ranges, 0.75)
	checkULP(t, expNonPos, func(x float64) *big.Float { return bigExp(bigF(x)) },
		[]ulpRange{{"expNonPos [-704, 0]", func(r *rand.Rand) float64 { return -704 * r.Float64() }}}, 0.75)
	for _, x := range []float64{0, -0.0, 1, -1, 709.7, 710, -708, -745, -746, math.Inf(1), math.Inf(-1), math.NaN()} {
		got, want := Exp(x), math.Exp(x)
		if !(got == want || got != got && want != want || math.Abs(got-want) <= 1e-15*want) {
			t.Errorf("Exp(%v) = %v, math.Exp gives %v", x, got, want)
		}
	}
	if Exp(0) != 1 || expNonPos(0) != 1 {
		t.Errorf("Exp(0) = %v", Exp(0))
	}
}

// TestFastSoftplusAccuracy holds softplus (binary logits) to 1e-15 relative.
func TestFastSoftplusAccuracy(t *testing.T) {
	ref := func(x float64) *big.Float {
		// softplus(x) = max(x,0) + log(1 + e^-|x|)
		l := bigLog1p(bigExp(bigF(-math.Abs(x))))
		if x > 0 {
			l.Add(l, bigF(x))
		}
		return l
	}
	ranges := []ulpRange{
		{"softplus [-50, 50]", func(r *rand.Rand) float64 { return -50 + 100*r.Float64() }},
		{"softplus [-700, 700]", func(r *rand.Rand) float64 { return -700 + 1400*r.Float64() }},
		{"softplus ±2^-[1,40]", func(r *rand.Rand) float64 { return math.Ldexp(r.Float64()-0.5, -r.IntN(40)) }},
	}
	checkULP(t, Softplus, ref, ranges, 2)
}

// TestStdlibULPForComparison logs the errors of the math functions the fast
// kernels replaced, over the same ranges (only when EVALNLL_ULP_SAMPLES is
// set; it never fails).
func TestStdlibULPForComparison(t *testing.T) {
	if os.Getenv("EVALNLL_ULP_SAMPLES") == "" {
		t.Skip("set EVALNLL_ULP_SAMPLES to compare with math.Log, math.Log1p, math.Exp")
	}
	inf := math.Inf(1)
	checkULP(t, math.Log, func(x float64) *big.Float { return bigLog(bigF(x)) }, []ulpRange{
		{"math.Log uniform [1e-15, 1]", func(r *rand.Rand) float64 { return 1e-15 + r.Float64()*(1-1e-15) }},
		{"math.Log 1 ± 2^-[1,60]", func(r *rand.Rand) float64 {
			d := math.Ldexp(r.Float64(), -1-r.IntN(60))
			if r.IntN(2) == 0 {
				return 1 - d
			}
			return 1 + d
		}},
	}, inf)
	checkULP(t, func(p float64) float64 { return math.Log1p(-p) }, func(p float64) *big.Float { return bigLog1p(bigF(-p)) }, []ulpRange{
		{"math.Log1p(-p) p in [0, 0.5]", func(r *rand.Rand) float64 { return r.Float64() * 0.5 }},
		{"math.Log1p(-p) p in [1e-20, 1e-14]", func(r *rand.Rand) float64 { return math.Pow(10, -20+6*r.Float64()) }},
	}, inf)
	checkULP(t, math.Exp, func(x float64) *big.Float { return bigExp(bigF(x)) }, []ulpRange{
		{"math.Exp uniform [-704, 704]", func(r *rand.Rand) float64 { return -704 + 1408*r.Float64() }},
		{"math.Exp uniform [-40, 0]", func(r *rand.Rand) float64 { return -40 * r.Float64() }},
	}, inf)
	oldSoftplus := func(x float64) float64 {
		if x > 0 {
			return x + math.Log1p(math.Exp(-x))
		}
		return math.Log1p(math.Exp(x))
	}
	checkULP(t, oldSoftplus, func(x float64) *big.Float {
		l := bigLog1p(bigExp(bigF(-math.Abs(x))))
		if x > 0 {
			l.Add(l, bigF(x))
		}
		return l
	}, []ulpRange{{"old softplus [-50, 50]", func(r *rand.Rand) float64 { return -50 + 100*r.Float64() }}}, inf)
}

// BenchmarkValidateElem is the per-element validation of a 1000-logit row
// as kinds.go does it (elem: a type switch and a finiteness check per
// element), beside firstBad on the typed slice (kinds.go's checkList).
func BenchmarkValidateElem(b *testing.B) {
	c := benchLogits(64, 1000)
	clk := startCPU(b)
	bad := 0
	for i := 0; i < b.N; i++ {
		r := int64(i&63) * 1000
		for j := r; j < r+1000; j++ {
			if _, re := elem(c.Pred, j); re != ReasonNone {
				bad++
			}
		}
	}
	clk.stop(1000, "elem")
	if bad != 0 {
		b.Fatal(bad)
	}
}

func BenchmarkValidateFirstBad(b *testing.B) {
	c := benchLogits(64, 1000)
	clk := startCPU(b)
	bad := 0
	for i := 0; i < b.N; i++ {
		r := (i & 63) * 1000
		if firstBad(c.Pred.F32[r:r+1000], false) >= 0 {
			bad++
		}
	}
	clk.stop(1000, "elem")
	if bad != 0 {
		b.Fatal(bad)
	}
}

// TestUniformBinMatchesFloor: UniformBin equals min(n-1, max(0,
// floor(c*n))) over random, edge and out-of-range confidences.
func TestUniformBinMatchesFloor(t *testing.T) {
	ref := func(c float64, n int) int {
		if math.IsInf(c, 1) {
			return n - 1 // (math.Floor's version gave 0 here, through an overflowing conversion)
		}
		b := int(math.Floor(c * float64(n)))
		if b >= n {
			b = n - 1
		}
		if b < 0 {
			b = 0
		}
		return b
	}
	r := rand.New(rand.NewPCG(31, 32))
	cs := []float64{0, math.Copysign(0, -1), 1, -1, 2, math.NaN(), math.Inf(1), math.Inf(-1), 5e-324, math.Nextafter(1, 0), -5e-324}
	for i := 0; i < 200000; i++ {
		cs = append(cs, r.Float64())
	}
	for k := 0; k <= 100; k++ {
		for _, n := range []int{1, 10, 15, 100} {
			c := float64(k) / float64(n)
			cs = append(cs, c, math.Nextafter(c, 0), math.Nextafter(c, 2))
		}
	}
	for _, n := range []int{1, 2, 10, 15, 100, 1000} {
		for _, c := range cs {
			if got, want := UniformBin(c, n), ref(c, n); got != want {
				t.Fatalf("UniformBin(%v, %d) = %d, want %d", c, n, got, want)
			}
		}
	}
}

func uniformBinFloor(c float64, n int) int {
	b := int(math.Floor(c * float64(n)))
	if b >= n {
		b = n - 1
	}
	if b < 0 {
		b = 0
	}
	return b
}

// BenchmarkUniformBinFloor is the previous UniformBin (math.Floor).
func BenchmarkUniformBinFloor(b *testing.B) {
	xs := benchProbInputs()
	s := 0
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += uniformBinFloor(xs[i&4095], 15)
	}
	clk.stop(1, "op")
	sinkF = float64(s)
}

func BenchmarkUniformBin(b *testing.B) {
	xs := benchProbInputs()
	s := 0
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s += UniformBin(xs[i&4095], 15)
	}
	clk.stop(1, "op")
	sinkF = float64(s)
}

// BenchmarkEvalBinaryProbBootAUROC is BenchmarkEvalBinaryProbBoot with
// --auroc: the confidence histogram on every row.
func BenchmarkEvalBinaryProbBootAUROC(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	cfg := DefaultConfig()
	cfg.Bootstrap = DefaultBootstrap()
	cfg.Discrim = true
	runEval(b, cfg, c, 0)
}

// BenchmarkEvalBinaryProbQuantile is BenchmarkEvalBinaryProbBoot with
// --binning quantile.
func BenchmarkEvalBinaryProbQuantile(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	cfg := DefaultConfig()
	cfg.Bootstrap = DefaultBootstrap()
	cfg.Binning = Quantile
	runEval(b, cfg, c, 0)
}

// BenchmarkEvalLogits1000F32Detail is BenchmarkEvalLogits1000F32 with
// --auroc --classwise --topk 5: a pass over the 1000 class probabilities.
func BenchmarkEvalLogits1000F32Detail(b *testing.B) {
	const n, k = 1024, 1000
	c := benchLogits(n, k)
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred = Multiclass, PredLogit
	cfg.Discrim, cfg.Classwise, cfg.TopK = true, true, 5
	runEval(b, cfg, c, n*k)
}

// BenchmarkEvalProbs10Detail is BenchmarkEvalProbs10 with --auroc
// --classwise --topk 2.
func BenchmarkEvalProbs10Detail(b *testing.B) {
	const k = 10
	c := benchProbs(benchRows, k)
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred = Multiclass, PredProb
	cfg.Discrim, cfg.Classwise, cfg.TopK = true, true, 2
	runEval(b, cfg, c, benchRows*k)
}

// BenchmarkEvalBinaryProbWeightedBoot is a weighted run with the default
// bootstrap (addBoot's row-by-row path).
func BenchmarkEvalBinaryProbWeightedBoot(b *testing.B) {
	c, _ := benchBinary(benchRows, false)
	c.By = nil
	w := make([]float64, benchRows)
	for i := range w {
		w[i] = float64(i%4) + 0.5
	}
	c.Weight = &column.Column{Type: column.Float64, Len: benchRows, F64: w}
	cfg := DefaultConfig()
	cfg.Weighted = true
	cfg.Bootstrap = DefaultBootstrap()
	runEval(b, cfg, c, 0)
}

// BenchmarkHistAddAll is the confidence histogram's per-row cost alone
// (unweighted, past the kept points): Hist.addAll over a batch of
// logistic confidences, as an --auroc run adds them.
func BenchmarkHistAddAll(b *testing.B) {
	for _, edges := range []bool{false, true} {
		name := "uniform"
		if edges {
			name = "quantile"
		}
		b.Run(name, func(b *testing.B) {
			c, _ := benchBinary(benchRows, false)
			conf := c.Pred.F64
			out := make([]bool, len(conf))
			for i, y := range c.Label.Ints {
				out[i] = y == 1
			}
			h := newHist(edges, false)
			h.toGrid()
			var s histScratch
			clk := startCPU(b)
			for i := 0; i < b.N; i++ {
				h.addAll(conf, out, nil, &s)
			}
			clk.stop(float64(len(conf)), "row")
		})
	}
}
