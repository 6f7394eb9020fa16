package exact

// Benchmarks of the add paths, on term patterns like evalnll's: positive
// NLLs of similar magnitude, probabilities, mixed signs, zeros, and several
// sums fed in turn (one row updates NLL, SqA, Brier, a bin ...). Quick with
// -benchtime=1x (CI smoke):
//
//	go test ./exact -run '^$' -bench . -benchtime=1x

import (
	"math"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the CPU time of the benchmark's OS thread, which on a
// busy shared machine is steadier than wall time: start it after setup,
// stop it after the loop; it reports cpu-ns/op (Linux only).
type cpuClock struct {
	b     *testing.B
	start time.Duration
	ok    bool
}

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

func startCPU(b *testing.B) *cpuClock {
	runtime.LockOSThread()
	b.ResetTimer()
	t, ok := threadCPU()
	return &cpuClock{b: b, start: t, ok: ok}
}

func (c *cpuClock) stop() {
	t, ok := threadCPU()
	c.b.StopTimer()
	runtime.UnlockOSThread()
	if ok && c.ok {
		c.b.ReportMetric(float64(t-c.start)/float64(c.b.N), "cpu-ns/op")
	}
}

func benchTerms(kind string) []float64 {
	r := rand.New(rand.NewPCG(11, 12))
	xs := make([]float64, 4096)
	for i := range xs {
		switch kind {
		case "nll": // -log(U): positive, exponents spread over ~2^-10..2^5
			xs[i] = -math.Log(r.Float64())
		case "prob":
			xs[i] = r.Float64()
		case "mixed":
			xs[i] = r.NormFloat64() * 1e3
		case "wild":
			xs[i] = wild(r)
		case "zeros": // every other term 0 (e.g. Correct.Add of wrong rows)
			if i%2 == 0 {
				xs[i] = r.Float64()
			}
		}
	}
	return xs
}

var sinkSum Sum

func benchAdd(b *testing.B, kind string) {
	xs := benchTerms(kind)
	b.ReportAllocs()
	var s Sum
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s.Add(xs[i&4095])
	}
	clk.stop()
	sinkSum = s
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
}

func BenchmarkAddNLL(b *testing.B)   { benchAdd(b, "nll") }
func BenchmarkAddProb(b *testing.B)  { benchAdd(b, "prob") }
func BenchmarkAddMixed(b *testing.B) { benchAdd(b, "mixed") }
func BenchmarkAddWild(b *testing.B)  { benchAdd(b, "wild") }
func BenchmarkAddZeros(b *testing.B) { benchAdd(b, "zeros") }

// BenchmarkAddRow feeds 6 sums in turn, as metrics.commitRow does for one
// unweighted binary row (NLL, x^2 as a product, Brier, correct, bin
// confidence, bin outcome): ns/op is per row.
func BenchmarkAddRow(b *testing.B) {
	xs := benchTerms("nll")
	ps := benchTerms("prob")
	var nll, sq, brier, correct Sum
	var conf, out [15]Sum
	b.ReportAllocs()
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		x, p := xs[i&4095], ps[i&4095]
		nll.Add(x)
		sq.AddProduct(x, x)
		brier.Add(p * p)
		if p >= 0.5 {
			correct.Add(1)
		}
		bin := min(14, int(p*15))
		conf[bin].Add(p)
		if i&1 == 0 {
			out[bin].Add(1)
		}
	}
	clk.stop()
	sinkSum = nll
	sinkSum.Merge(&sq)
	sinkSum.Merge(&brier)
	sinkSum.Merge(&correct)
	sinkSum.Merge(&conf[0])
	sinkSum.Merge(&out[0])
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkAddProduct(b *testing.B) {
	xs := benchTerms("nll")
	var s Sum
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		x := xs[i&4095]
		s.AddProduct(x, x)
	}
	clk.stop()
	sinkSum = s
}

func BenchmarkAddSlice(b *testing.B) {
	xs := benchTerms("nll")
	var s Sum
	b.ReportAllocs()
	b.SetBytes(8 * int64(len(xs)))
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s.AddSlice(xs)
	}
	clk.stop()
	sinkSum = s
	b.ReportMetric(float64(b.N)*float64(len(xs))/b.Elapsed().Seconds(), "adds/s")
}

// BenchmarkAddSquares is AddProduct(x, x) over a column, as Σx² for
// nll_stderr; compare BenchmarkAddProduct (per term).
func BenchmarkAddSquares(b *testing.B) {
	xs := benchTerms("nll")
	var s Sum
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s.AddSquares(xs)
	}
	clk.stop()
	sinkSum = s
	b.ReportMetric(float64(b.N)*float64(len(xs))/b.Elapsed().Seconds(), "terms/s")
}

func BenchmarkAddProducts(b *testing.B) {
	xs, ws := benchTerms("nll"), benchTerms("prob")
	var s Sum
	clk := startCPU(b)
	for i := 0; i < b.N; i++ {
		s.AddProducts(ws, xs)
	}
	clk.stop()
	sinkSum = s
	b.ReportMetric(float64(b.N)*float64(len(xs))/b.Elapsed().Seconds(), "terms/s")
}

func BenchmarkMerge(b *testing.B) {
	xs := benchTerms("wild")
	var s, o Sum
	for _, x := range xs {
		o.Add(x)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Merge(&o)
	}
	sinkSum = s
}

func BenchmarkFloat64(b *testing.B) {
	xs := benchTerms("wild")
	var s Sum
	for _, x := range xs {
		s.Add(x)
	}
	b.ReportAllocs()
	var v float64
	for i := 0; i < b.N; i++ {
		v += s.Float64()
	}
	_ = v
}
