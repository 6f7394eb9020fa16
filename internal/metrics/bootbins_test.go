package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// TestBootstrapBinFigures: the replicates of rmsce, l2ce_debiased and the
// Brier decomposition equal those figures computed directly over the rows,
// each row counted as often as its bucket is drawn in the replicate (the
// draws remade here from the seed), weighted and not, fast paths and the
// row-by-row one; a state whose buckets lost their bin counts gives no
// intervals of them.
func TestBootstrapBinFigures(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 25))
	n := pendRows + 3001
	y, p, w, _ := binaryRows(r, n)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)*7 + 3
	}
	for _, tc := range []struct {
		name              string
		weighted, calLoop bool
	}{{"unweighted", false, true}, {"unweighted row by row", false, false}, {"weighted", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(a bool) { bootCalLoop = a }(bootCalLoop)
			bootCalLoop = tc.calLoop
			cfg := DefaultConfig()
			cfg.Eps, cfg.Weighted, cfg.HasID = 1e-15, tc.weighted, true
			cfg.Bootstrap = DefaultBootstrap()
			cfg.Bootstrap.Replicates = 40
			cut := 5000
			evs := []*Evaluator{NewEvaluator(&cfg, 0), NewEvaluator(&cfg, 0)}
			bucket := make([]int, n)
			for u, lo := 0, 0; lo < n; u, lo = u+1, lo+cut {
				hi := min(n, lo+cut)
				ev := evs[u%2]
				ev.BeginUnit(u)
				c := cols(y, p, w, nil, lo, hi, tc.weighted, false)
				c.ID = &column.Column{Type: column.Int, Len: hi - lo, Ints: ids[lo:hi]}
				for i := lo; i < hi; i++ {
					bucket[i] = ev.bucketOf(c, i-lo)
				}
				if !ev.Add(c, 0) {
					t.Fatal("stopped")
				}
			}
			st := evs[0].State()
			st.Merge(evs[1].State())
			res := st.Summary()
			b := res.Bootstrap
			idx := map[string]int{}
			for i, name := range b.Metrics {
				idx[name] = i
			}
			for _, name := range binFigureNames {
				if _, ok := idx[name]; !ok {
					t.Fatalf("no replicates of %s: %v", name, b.Metrics)
				}
			}
			K := cfg.Bootstrap.Buckets
			bins := cfg.Bins
			for rep := 0; rep < cfg.Bootstrap.Replicates; rep++ {
				rng := rand.NewPCG(cfg.Bootstrap.Seed, uint64(rep))
				cnt := make([]float64, K)
				for k := range cnt {
					cnt[k] = float64(poisson1(rng.Uint64()))
				}
				N, W, O, C := make([]float64, bins), make([]float64, bins), make([]float64, bins), make([]float64, bins)
				for i := range p {
					wi := 1.0
					if tc.weighted {
						wi = w[i]
					}
					c := cnt[bucket[i]]
					j := UniformBin(p[i], bins)
					N[j] += c
					W[j] += c * wi
					O[j] += c * wi * float64(y[i])
					C[j] += c * wi * p[i]
				}
				var tw, to float64
				for j := range W {
					tw += W[j]
					to += O[j]
				}
				ob := to / tw
				var rel, res, deb float64
				for j := range W {
					if N[j] == 0 || W[j] == 0 {
						continue
					}
					oj, cj := O[j]/W[j], C[j]/W[j]
					rel += W[j] / tw * (oj - cj) * (oj - cj)
					res += W[j] / tw * (oj - ob) * (oj - ob)
					if N[j] >= 2 {
						deb += W[j] / tw * ((oj-cj)*(oj-cj) - oj*(1-oj)/(N[j]-1))
					}
				}
				want := map[string]float64{"rmsce": math.Sqrt(rel), "l2ce_debiased": math.Sqrt(max(deb, 0)),
					"brier_reliability": rel, "brier_resolution": res, "brier_uncertainty": ob * (1 - ob)}
				for name, v := range want {
					got := b.Replicates[idx[name]][rep]
					if !(math.Abs(got-v) <= 1e-9*math.Max(1e-3, math.Abs(v))) {
						t.Fatalf("replicate %d %s = %v, want %v", rep, name, got, v)
					}
				}
			}
			// The interval of a biased figure is moved down by the
			// bootstrap's estimate of its bias, from the buckets' sums.
			if d := res.Overall.Detail.RMSCE; d == nil || b.Bias[idx["rmsce"]] == 0 || b.Bias[idx["l2ce_debiased"]] != 0 {
				t.Errorf("rmsce %v, biases %v", d, b.Bias)
			}
			// A state whose buckets lost the bins' weights, or counts.
			noBinFigures := func(what string) {
				for _, name := range st.Summary().Bootstrap.Metrics {
					if name == "rmsce" {
						t.Fatalf("intervals from buckets without bin %s", what)
					}
				}
			}
			if tc.weighted {
				bw := st.boot[0].BinW
				st.boot[0].BinW = make([]fx, len(bw))
				noBinFigures("weights")
				st.boot[0].BinW = bw
			}
			for k := range st.boot {
				clear(st.boot[k].BinN)
			}
			noBinFigures("counts")
		})
	}
}
