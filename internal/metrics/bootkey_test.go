package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// refSplitmix is splitmix64's output for state s (written out again, not
// mix64: the reference the position keys must follow).
func refSplitmix(s uint64) uint64 {
	z := s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// roundedRows are n rows of a calibrated model whose probabilities are
// rounded to 2 decimals (at most 99 distinct values, so many rows share
// their content), with a few invalid ones when bad is set.
func roundedRows(r *rand.Rand, n int, bad bool) (y []int64, p []float64) {
	for range n {
		q := math.Round(r.Float64()*100) / 100
		q = min(max(q, 0.01), 0.99)
		lab := int64(0)
		if r.Float64() < q {
			lab = 1
		}
		if bad && r.IntN(500) == 0 {
			q = math.NaN()
		}
		y, p = append(y, lab), append(p, q)
	}
	return y, p
}

// TestBootstrapPositionBuckets: without --id, row r of a file falls into
// the bucket of splitmix64(mix64(seed ^ FileKey(path)) + r·γ), whatever
// its content: the bucket row counts match that reference, for a file
// evaluated from a unit that starts inside it.
func TestBootstrapPositionBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	y, p := roundedRows(r, 3*evalChunk+11, false)
	for i := range p[:100] {
		y[i], p[i] = 1, 0.5 // equal content
	}
	for _, vec := range []bool{true, false} {
		for _, calLoop := range []bool{true, false} {
			func() {
				defer func(a, b bool) { bootCalVecOK, bootCalLoop = a, b }(bootCalVecOK, bootCalLoop)
				bootCalVecOK, bootCalLoop = bootCalVecOK && vec, calLoop
				cfg := DefaultConfig()
				cfg.Bootstrap = DefaultBootstrap()
				ev := NewEvaluator(&cfg, 0)
				const first = 1000003
				ev.BeginUnitAt(7, Position{File: FileKey("dir/a.parquet"), Row: first})
				if !ev.Add(cols(y, p, nil, nil, 0, len(y), false, false), 0) {
					t.Fatal("valid rows rejected")
				}
				b := ev.State().Summary().Bootstrap
				want := make([]int64, cfg.Bootstrap.Buckets)
				fs := refSplitmix(cfg.Bootstrap.Seed ^ FileKey("dir/a.parquet"))
				for i := range y {
					want[refSplitmix(fs+uint64(first+i)*0x9e3779b97f4a7c15)&uint64(len(want)-1)]++
				}
				if fmt.Sprint(b.BucketRows) != fmt.Sprint(want) {
					t.Errorf("vec=%v calLoop=%v: bucket rows\n%v, want\n%v", vec, calLoop, b.BucketRows, want)
				}
				// The 100 equal rows are spread, not in one bucket.
				seen := map[uint64]bool{}
				for i := range 100 {
					seen[refSplitmix(fs+uint64(first+i)*0x9e3779b97f4a7c15)&255] = true
				}
				if len(seen) < 60 {
					t.Errorf("100 equal rows fell into %d buckets", len(seen))
				}
			}()
		}
	}
	if FileKey("a.parquet") == FileKey("b.parquet") || FileKey("") == FileKey("a") {
		t.Error("file keys collide")
	}
}

// TestBootstrapPositionSplits: the bootstrap of rows keyed by position is
// bit-identical however a file's rows are cut into units, parts and
// batches and spread over evaluators, weighted or not, with invalid rows
// skipped, through the vector, scalar and general loops.
func TestBootstrapPositionSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	n := 2*evalChunk + 3001
	y, p := roundedRows(r, n, true)
	_, _, w, _ := binaryRows(r, n)
	keys := []uint64{FileKey("a.parquet"), FileKey("sub/b.parquet")}
	for _, weighted := range []bool{false, true} {
		var ref string
		for trial := range 8 {
			func() {
				defer func(a, b bool) { bootCalVecOK, bootCalLoop = a, b }(bootCalVecOK, bootCalLoop)
				bootCalVecOK = bootCalVecOK && trial%3 != 1
				bootCalLoop = trial%4 != 3
				cfg := DefaultConfig()
				cfg.Weighted, cfg.Skip, cfg.Bootstrap = weighted, true, DefaultBootstrap()
				nev := 1 + trial%3
				evs := make([]*Evaluator, nev)
				for i := range evs {
					evs[i] = NewEvaluator(&cfg, 0)
				}
				// Two files holding the same rows; each cut into units of
				// random size (the first trial: one unit each), each unit
				// to a random evaluator in batches of random size.
				u := 0
				for f, key := range keys {
					for lo := 0; lo < n; u++ {
						hi := n
						if trial > 0 {
							hi = min(n, lo+1+r.IntN(6000))
						}
						ev := evs[r.IntN(nev)]
						ev.BeginUnitAt(u, Position{File: key, Row: int64(lo)})
						for b := lo; b < hi; {
							e := hi
							if trial > 0 {
								e = min(hi, b+1+r.IntN(3000))
							}
							if !ev.Add(cols(y, p, w, nil, b, e, weighted, false), int64(b-lo)) {
								t.Fatal("stopped in skip mode")
							}
							b = e
						}
						lo = hi
					}
					_ = f
				}
				st := evs[0].State()
				for _, e := range evs[1:] {
					st.Merge(e.State())
				}
				got := fmt.Sprintf("%+v", summaryValues(Result{Bootstrap: st.Summary().Bootstrap}))
				if trial == 0 {
					ref = got
				} else if got != ref {
					t.Fatalf("weighted=%v: trial %d: the bootstrap differs from one unit per file", weighted, trial)
				}
			}()
		}
	}
}

// TestBootstrapRepeatedValues is the case: 20,000 rows whose
// probabilities are rounded to 2 decimals. Rows that share their content
// are still independent, so the NLL and accuracy intervals are about
// ±1.96 standard errors wide (keyed by content they were 8× wider).
func TestBootstrapRepeatedValues(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, decimals := range []float64{1, 2} {
		n := 20000
		y := make([]int64, n)
		p := make([]float64, n)
		for i := range p {
			q := min(max(math.Round(r.Float64()*math.Pow(10, decimals))/math.Pow(10, decimals), 0.05), 0.95)
			p[i] = q
			if r.Float64() < q {
				y[i] = 1
			}
		}
		cfg := DefaultConfig()
		cfg.Bootstrap = DefaultBootstrap()
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnitAt(0, Position{File: FileKey("p.parquet")})
		for lo := 0; lo < n; lo += 5000 {
			if !ev.Add(cols(y, p, nil, nil, lo, lo+5000, false, false), int64(lo)) {
				t.Fatal("valid rows rejected")
			}
		}
		res := ev.State().Summary()
		b := res.Bootstrap
		o := res.Overall
		acc := *o.Accuracy
		se := map[string]float64{"nll": *o.NLLStderr, "accuracy": math.Sqrt(acc * (1 - acc) / float64(n))}
		for m, name := range b.Metrics {
			s, ok := se[name]
			if !ok {
				continue
			}
			ratio := (b.Hi[m] - b.Lo[m]) / (2 * 1.96 * s)
			if b.Bias[m] != 0 {
				t.Errorf("%s: bias %g subtracted from a mean's interval", name, b.Bias[m])
			}
			if ratio < 0.8 || ratio > 1.25 {
				t.Errorf("%g decimals: %s interval [%g, %g] is %.2f× ±1.96 stderr (%g)", decimals, name, b.Lo[m], b.Hi[m], ratio, s)
			}
		}
		// The ECE interval holds the estimate (the raw percentiles of
		// the replicates, all above it, did not).
		m := slices.Index(b.Metrics, "ece")
		if m < 0 || !(b.Lo[m] <= *o.ECE && *o.ECE <= b.Hi[m]) || !(b.Bias[m] > 0) {
			t.Errorf("%g decimals: ece %g, interval [%g, %g], bias %g", decimals, *o.ECE, b.Lo[m], b.Hi[m], b.Bias[m])
		}
		lo, hi := Percentile95(b.Replicates[m])
		if math.Abs((lo-b.Bias[m])-b.Lo[m]) > 1e-15 && b.Lo[m] != 0 || math.Abs((hi-b.Bias[m])-b.Hi[m]) > 1e-15 {
			t.Errorf("ece interval [%g, %g] is not the percentiles [%g, %g] less the bias %g", b.Lo[m], b.Hi[m], lo, hi, b.Bias[m])
		}
	}
}

// TestBootstrapPositionIDColumnIgnored: with --id, the bucket comes from
// the id alone: the same ids at other positions give the same buckets.
func TestBootstrapPositionIDColumnIgnored(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	n := 5000
	y, p := roundedRows(r, n, false)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i * 7)
	}
	run := func(pos Position) []int64 {
		cfg := DefaultConfig()
		cfg.Bootstrap, cfg.HasID = DefaultBootstrap(), true
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnitAt(0, pos)
		c := cols(y, p, nil, nil, 0, n, false, false)
		c.ID = &column.Column{Type: column.Int, Len: n, Ints: ids}
		if !ev.Add(c, 0) {
			t.Fatal("valid rows rejected")
		}
		return ev.State().Summary().Bootstrap.BucketRows
	}
	a, b := run(Position{File: FileKey("a"), Row: 0}), run(Position{File: FileKey("b"), Row: 12345})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("with --id the buckets depend on the position")
	}
}

func TestBiasCorrect(t *testing.T) {
	cases := []struct {
		name           string
		reps           []float64
		est, lo, hi    float64
		wantLo, wantHi float64
		wantBias       float64
	}{
		{"shifted down", []float64{0.2, 0.3, 0.4}, 0.2, 0.21, 0.39, 0.11, 0.29, 0.1},
		{"clamped at 0", []float64{0.2, 0.3, 0.4}, 0.05, 0.21, 0.39, 0, 0.14, 0.25},
		{"NaN replicates ignored", []float64{0.2, math.NaN(), 0.4}, 0.3, 0.2, 0.4, 0.2, 0.4, 0},
		{"no replicates", []float64{math.NaN()}, 0.3, 0.2, 0.4, 0.2, 0.4, 0},
		{"NaN estimate", []float64{0.2}, math.NaN(), 0.2, 0.4, 0.2, 0.4, 0},
	}
	for _, c := range cases {
		lo, hi := c.lo, c.hi
		b := biasCorrect(c.reps, c.est, &lo, &hi)
		if math.Abs(b-c.wantBias) > 1e-15 || math.Abs(lo-c.wantLo) > 1e-15 || math.Abs(hi-c.wantHi) > 1e-15 {
			t.Errorf("%s: bias %v [%v, %v], want %v [%v, %v]", c.name, b, lo, hi, c.wantBias, c.wantLo, c.wantHi)
		}
	}
}
