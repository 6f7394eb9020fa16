package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// mcRows are n multiclass rows of k classes (probabilities, some tied),
// with weights and ids.
func mcRows(r *rand.Rand, n, k int) (y []int64, p, w []float64, ids []int64) {
	y, p, w, ids = make([]int64, n), make([]float64, n*k), make([]float64, n), make([]int64, n)
	for i := range n {
		y[i] = int64(r.IntN(k))
		var sum float64
		for j := range k {
			v := r.ExpFloat64()
			if int64(j) == y[i] {
				v *= 2
			}
			if i%7 == 0 {
				v = math.Round(v*2) / 2 // ties
			}
			p[i*k+j] = v + 0.01
			sum += p[i*k+j]
		}
		for j := range k {
			p[i*k+j] /= sum
		}
		w[i], ids[i] = 0.25+r.Float64()*2, int64(r.IntN(1<<20))
	}
	return
}

// mcState evaluates rows [lo, hi) as one unit of one evaluator.
func mcState(t testing.TB, cfg *Config, y []int64, p, w []float64, ids []int64, k, lo, hi, unit int) *State {
	t.Helper()
	off := make([]int64, hi-lo+1)
	for i := range off {
		off[i] = int64(i * k)
	}
	c := &Cols{Rows: hi - lo,
		Label: &column.Column{Type: column.Int, Len: hi - lo, Ints: y[lo:hi]},
		Pred:  &column.Column{Type: column.Float64, List: true, Len: hi - lo, F64: p[lo*k : hi*k], Offsets: off},
		ID:    &column.Column{Type: column.Int, Len: hi - lo, Ints: ids[lo:hi]},
	}
	if cfg.Weighted {
		c.Weight = &column.Column{Type: column.Float64, Len: hi - lo, F64: w[lo:hi]}
	}
	ev := NewEvaluator(cfg, k)
	ev.BeginUnit(unit)
	if !ev.Add(c, 0) {
		t.Fatalf("rows rejected: %+v", ev.State().Errs)
	}
	return ev.State()
}

func bootMetric(b *BootstrapResult, name string) []float64 {
	if b == nil {
		return nil
	}
	if i := slices.Index(b.Metrics, name); i >= 0 {
		return b.Replicates[i]
	}
	return nil
}

// TestBootTopK: the top-k accuracy's bootstrap. Its buckets' hits sum to
// the point estimate; top-1 replicates are the accuracy's, bit for bit
// (the same rows, the same buckets, the argmax's tie rule); states of
// parts, encoded, decoded and merged in any order, give the bytes and the
// replicates of the whole; a state without the hits (an encoding from
// before them) decodes and gives no top-k interval, also when merged.
func TestBootTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 1))
	const n, k = 3000, 5
	y, p, w, ids := mcRows(r, n, k)
	for _, weighted := range []bool{false, true} {
		for _, topk := range []int{1, 2} {
			t.Run(fmt.Sprintf("weighted=%v/top%d", weighted, topk), func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Kind, cfg.Weighted, cfg.TopK, cfg.HasID = Multiclass, weighted, topk, true
				cfg.Bootstrap = DefaultBootstrap()
				cfg.Bootstrap.Replicates = 300
				name := fmt.Sprintf("accuracy_top%d", topk)
				whole := mcState(t, &cfg, y, p, w, ids, k, 0, n, 0)
				res := whole.Summary()
				reps := bootMetric(res.Bootstrap, name)
				if reps == nil {
					t.Fatalf("no %s in the bootstrap: %v", name, res.Bootstrap.Metrics)
				}
				// The buckets' sums give the point estimate.
				var hits, pw float64
				for i := range whole.boot {
					b := &whole.boot[i]
					if weighted {
						hits += b.TopW.float()
						pw += b.PredW.float()
					} else {
						hits += float64(b.TopN)
						pw += float64(b.PredN)
					}
				}
				if est := *res.Overall.TopK; math.Abs(hits/pw-est) > 1e-9 {
					t.Errorf("buckets' top-%d accuracy %v, point estimate %v", topk, hits/pw, est)
				}
				i := slices.Index(res.Bootstrap.Metrics, name)
				if lo, hi := res.Bootstrap.Lo[i], res.Bootstrap.Hi[i]; !(lo < *res.Overall.TopK && *res.Overall.TopK < hi && hi-lo < 0.1) {
					t.Errorf("interval [%v, %v] of %v", lo, hi, *res.Overall.TopK)
				}
				if topk == 1 && !slices.Equal(reps, bootMetric(res.Bootstrap, "accuracy")) {
					t.Errorf("top-1 replicates differ from the accuracy's")
				}
				want := mustEncode(t, whole)
				cuts := []int{0, 700, 2200, n}
				var encs [][]byte
				for j := range 3 {
					encs = append(encs, mustEncode(t, mcState(t, &cfg, y, p, w, ids, k, cuts[j], cuts[j+1], j)))
				}
				for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}} {
					got, err := DecodeState(encs[order[0]])
					if err != nil {
						t.Fatal(err)
					}
					for _, j := range order[1:] {
						o, err := DecodeState(encs[j])
						if err != nil {
							t.Fatal(err)
						}
						if err := got.Merge(o); err != nil {
							t.Fatal(err)
						}
					}
					if !bytes.Equal(mustEncode(t, got), want) {
						t.Fatalf("order %v: merged encoding differs from the whole's", order)
					}
					if g := bootMetric(got.Summary().Bootstrap, name); !slices.Equal(g, reps) {
						t.Fatalf("order %v: replicates differ from the whole's", order)
					}
				}
				// An encoding without the hits: decodes, no interval.
				whole.noBootTop = true
				old := mustEncode(t, whole)
				whole.noBootTop = false
				if bytes.Equal(old, want) || !bytes.HasPrefix(want, old) {
					t.Fatalf("the hits are not a trailing component")
				}
				st, err := DecodeState(old)
				if err != nil {
					t.Fatal(err)
				}
				if g := st.Summary().Bootstrap; bootMetric(g, name) != nil || bootMetric(g, "accuracy") == nil {
					t.Errorf("a state without the hits: metrics %v", g.Metrics)
				}
				full, err := DecodeState(want)
				if err != nil {
					t.Fatal(err)
				}
				if err := full.Merge(st); err != nil {
					t.Fatal(err)
				}
				if bootMetric(full.Summary().Bootstrap, name) != nil {
					t.Errorf("merged with a state without the hits: still a top-k interval")
				}
				// Another layout version is refused.
				bad := bytes.Clone(want)
				tail := len(old)
				_, m := binary.Uvarint(bad[tail+1:]) // the length
				if bad[tail] != byte(compBootTop) || bad[tail+1+m] != bootTopVersion {
					t.Fatalf("unexpected component header % x", bad[tail:tail+1+m+1])
				}
				bad[tail+1+m] = bootTopVersion + 1
				if _, err := DecodeState(bad); err == nil {
					t.Errorf("version %d decoded", bootTopVersion+1)
				}
			})
		}
	}
}

// topkConfigs are multiclass configurations whose states hold the top-k
// hits (the encoding's trailing component).
func topkConfigs() []Config {
	var out []Config
	for _, weighted := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Kind, cfg.Weighted, cfg.TopK, cfg.HasID = Multiclass, weighted, 2, true
		cfg.Bootstrap = DefaultBootstrap()
		cfg.Bootstrap.Replicates = 50
		out = append(out, cfg)
	}
	return out
}

// TestDecodeStateHostileTopK is TestDecodeStateHostile for states with
// the top-k hits: every truncation fails but the one at the end of the
// components before the hits (an encoding from before them).
func TestDecodeStateHostileTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 2))
	y, p, w, ids := mcRows(r, 300, 4)
	for _, cfg := range topkConfigs() {
		st := mcState(t, &cfg, y, p, w, ids, 4, 0, 300, 0)
		b := mustEncode(t, st)
		st.noBootTop = true
		old := len(mustEncode(t, st))
		for n := 0; n < len(b); n++ {
			_, err := DecodeState(b[:n])
			if n == old {
				if err != nil {
					t.Fatalf("weighted=%v: the encoding without the hits: %v", cfg.Weighted, err)
				}
				continue
			}
			if !errors.Is(err, ErrStateEncoding) {
				t.Fatalf("weighted=%v: truncated to %d of %d bytes: %v", cfg.Weighted, n, len(b), err)
			}
		}
		for range 300 {
			c := bytes.Clone(b)
			c[old+r.IntN(len(c)-old)] ^= byte(1 << r.IntN(8))
			if st, err := DecodeState(c); err == nil {
				st.Summary()
			}
		}
	}
}

// TestBootTopKCoverage: 1000 samples of 2000 rows from a calibrated
// 4-class model whose probability vectors take 12 values (so that rows
// repeat, as rounded predictions do); the label is drawn from the row's
// probabilities, so the population top-2 accuracy is the mean of the
// two largest probabilities. The 95% intervals must hold it about 95% of
// the time; half the samples are weighted (weights 1 or 3, independent of
// the row). A minute or two: EVALNLL_LONG=1.
func TestBootTopKCoverage(t *testing.T) {
	if os.Getenv("EVALNLL_LONG") == "" {
		t.Skip("set EVALNLL_LONG=1 to run the coverage simulation")
	}
	const k, sims, n = 4, 1000, 2000
	r := rand.New(rand.NewPCG(2026, 25))
	vecs := make([][]float64, 12)
	var truth float64
	for v := range vecs {
		vec := make([]float64, k)
		var sum float64
		for j := range vec {
			vec[j] = r.ExpFloat64() + 0.05
			sum += vec[j]
		}
		for j := range vec {
			vec[j] /= sum
		}
		vecs[v] = vec
		s := slices.Clone(vec)
		slices.Sort(s)
		truth += (s[k-1] + s[k-2]) / float64(len(vecs))
	}
	y, p, w := make([]int64, n), make([]float64, n*k), make([]float64, n)
	off := make([]int64, n+1)
	for i := range off {
		off[i] = int64(i * k)
	}
	covered := [2]int{}
	for s := range sims {
		weighted := s%2 == 1
		for i := range n {
			vec := vecs[r.IntN(len(vecs))]
			copy(p[i*k:], vec)
			u, c := r.Float64(), 0
			for c < k-1 && u >= vec[c] {
				u -= vec[c]
				c++
			}
			y[i], w[i] = int64(c), float64(1+2*r.IntN(2))
		}
		cfg := DefaultConfig()
		cfg.Kind, cfg.TopK, cfg.Weighted = Multiclass, 2, weighted
		cfg.Bootstrap = DefaultBootstrap()
		cfg.Bootstrap.Seed = uint64(s)
		c := &Cols{Rows: n,
			Label: &column.Column{Type: column.Int, Len: n, Ints: y},
			Pred:  &column.Column{Type: column.Float64, List: true, Len: n, F64: p, Offsets: off},
		}
		if weighted {
			c.Weight = &column.Column{Type: column.Float64, Len: n, F64: w}
		}
		ev := NewEvaluator(&cfg, k)
		ev.BeginUnitAt(0, Position{File: FileKey("sim.parquet")})
		if !ev.Add(c, 0) {
			t.Fatalf("valid rows rejected: %+v", ev.State().Errs)
		}
		b := ev.State().Summary().Bootstrap
		i := slices.Index(b.Metrics, "accuracy_top2")
		if i < 0 {
			t.Fatalf("no accuracy_top2 interval: %v", b.Metrics)
		}
		if b.Lo[i] <= truth && truth <= b.Hi[i] {
			covered[s%2]++
		}
	}
	for wi, name := range []string{"unweighted", "weighted"} {
		rate := float64(covered[wi]) / (sims / 2)
		t.Logf("%s: the 95%% interval held the population top-2 accuracy %.4f in %d of %d samples (%.1f%%)", name, truth, covered[wi], sims/2, 100*rate)
		// 500 draws of Bernoulli(0.95) fall in [0.92, 0.975] but about
		// once in 10^3.
		if rate < 0.92 || rate > 0.975 {
			t.Errorf("%s: coverage %.3f, want about 0.95", name, rate)
		}
	}
}
