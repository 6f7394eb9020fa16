package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// TestGaussianCRPSIntegral checks the closed form against the definition
// ∫ (F(x) − 1{x ≥ y})² dx by the trapezoid rule on a fine grid.
func TestGaussianCRPSIntegral(t *testing.T) {
	for _, c := range []struct{ y, m, s float64 }{{0, 0, 1}, {1.3, 0.2, 0.5}, {-4, 1, 2}, {10, 10.5, 0.01}, {3, -2, 7}} {
		// Two trapezoid sums, split at y where the integrand jumps.
		trap := func(a, b float64, step float64) float64 {
			const n = 200000
			h := (b - a) / n
			var sum float64
			for i := 0; i <= n; i++ {
				x := a + float64(i)*h
				f := NormalCDF((x-c.m)/c.s) - step
				v := f * f
				if i == 0 || i == n {
					v /= 2
				}
				sum += v * h
			}
			return sum
		}
		sum := trap(math.Min(c.y, c.m)-12*c.s, c.y, 0) + trap(c.y, math.Max(c.y, c.m)+12*c.s, 1)
		got := GaussianCRPS((c.y-c.m)/c.s, c.s)
		if !(math.Abs(got-sum) <= 1e-6*math.Max(1, sum)) {
			t.Errorf("CRPS(%v) = %v, integral %v", c, got, sum)
		}
	}
}

// TestGaussianScores checks rmse, mae, crps, coverage and the PIT
// histogram against direct sums over the rows, weighted or not, with
// --by, std or variance, and their independence of the split.
func TestGaussianScores(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 3000
	y, m, s, w := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	by := make([]string, n)
	for i := range y {
		m[i] = r.NormFloat64() * 3
		s[i] = 0.2 + r.Float64()*2
		y[i] = m[i] + r.NormFloat64()*s[i]*1.3
		w[i] = r.Float64() * 3
		by[i] = []string{"a", "b"}[r.IntN(2)]
	}
	for _, weighted := range []bool{false, true} {
		for _, variance := range []bool{false, true} {
			for _, slices := range []bool{false, true} {
				name := fmt.Sprintf("weighted=%v var=%v by=%v", weighted, variance, slices)
				cfg := DefaultConfig()
				cfg.Kind, cfg.Pred, cfg.Weighted, cfg.Bins = Gaussian, PredStd, weighted, 10
				sc := s
				if variance {
					cfg.Pred = PredVar
					sc = make([]float64, n)
					for i := range s {
						sc[i] = s[i] * s[i]
					}
				}
				if slices {
					cfg.ByCols = 1
				}
				run := func(nev int) Result {
					evs := make([]*Evaluator, nev)
					for i := range evs {
						evs[i] = NewEvaluator(&cfg, 0)
					}
					for lo, u := 0, 0; lo < n; u++ {
						hi := min(n, lo+1+r.IntN(700))
						c := &Cols{Rows: hi - lo,
							Label: &column.Column{Type: column.Float64, Len: hi - lo, F64: y[lo:hi]},
							Pred:  &column.Column{Type: column.Float64, Len: hi - lo, F64: m[lo:hi]},
							Scale: &column.Column{Type: column.Float64, Len: hi - lo, F64: sc[lo:hi]},
						}
						if weighted {
							c.Weight = &column.Column{Type: column.Float64, Len: hi - lo, F64: w[lo:hi]}
						}
						if slices {
							c.By = []*column.Column{{Type: column.String, Len: hi - lo, Strs: by[lo:hi]}}
						}
						ev := evs[r.IntN(nev)]
						ev.BeginUnit(u)
						if !ev.Add(c, 0) {
							t.Fatalf("%s: rows rejected: %+v", name, ev.State().Errs)
						}
						lo = hi
					}
					st := evs[0].State()
					for _, ev := range evs[1:] {
						st.Merge(ev.State())
					}
					return st.Summary()
				}
				res := run(1)
				if a, b := fmt.Sprint(summaryValues(res)), fmt.Sprint(summaryValues(run(3))); a != b {
					t.Fatalf("%s: figures depend on the split", name)
				}
				check := func(label string, f Figures, keep func(i int) bool) {
					var W, se, ae, cr float64
					var cov [3]float64
					pit := make([]float64, cfg.Bins)
					for i := range y {
						if !keep(i) {
							continue
						}
						wi := 1.0
						if weighted {
							wi = w[i]
						}
						z := (y[i] - m[i]) / s[i]
						W += wi
						se += wi * (y[i] - m[i]) * (y[i] - m[i])
						ae += wi * math.Abs(y[i]-m[i])
						// CRPS from its expectation form E|X − y| − E|X − X'|/2.
						cr += wi * s[i] * (z*math.Erf(z/math.Sqrt2) + math.Sqrt(2/math.Pi)*math.Exp(-z*z/2) - 1/math.Sqrt(math.Pi))
						for k, q := range []float64{0.6744897501960817, 1.6448536269514722, 1.959963984540054} {
							if math.Abs(z) <= q {
								cov[k] += wi
							}
						}
						pit[min(int(0.5*math.Erfc(-z/math.Sqrt2)*float64(cfg.Bins)), cfg.Bins-1)] += wi
					}
					g := f.Gauss
					for _, c := range []struct {
						k         string
						got, want float64
					}{{"rmse", g.RMSE, math.Sqrt(se / W)}, {"mae", g.MAE, ae / W}, {"crps", g.CRPS, cr / W},
						{"coverage_50", g.Coverage[0], cov[0] / W}, {"coverage_90", g.Coverage[1], cov[1] / W}, {"coverage_95", g.Coverage[2], cov[2] / W}} {
						if !near(c.got, c.want, 1e-9) {
							t.Errorf("%s %s: %s = %v, direct %v", name, label, c.k, c.got, c.want)
						}
					}
					for b, c := range f.Calibration {
						if !near(c.Weight, pit[b], 1e-9) {
							t.Errorf("%s %s: PIT bin %d weight %v, direct %v", name, label, b, c.Weight, pit[b])
						}
					}
				}
				check("overall", res.Overall, func(int) bool { return true })
				if slices {
					check("slice b", res.Slices[1].Figures, func(i int) bool { return by[i] == "b" })
				}
			}
		}
	}
}

// TestGaussianBootstrap checks that the buckets hold every row's Gaussian
// terms once and that the intervals come out around the point figures.
func TestGaussianBootstrap(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 4000
	y, m, s, w := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		m[i], s[i] = r.NormFloat64(), 0.5+r.Float64()
		y[i] = m[i] + r.NormFloat64()*s[i]
		w[i] = 0.5 + r.Float64()
	}
	for _, weighted := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Kind, cfg.Pred, cfg.Weighted = Gaussian, PredStd, weighted
		cfg.Bootstrap = BootstrapConfig{Replicates: 200, Buckets: 64, Seed: 1}
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnit(0)
		c := &Cols{Rows: n,
			Label: &column.Column{Type: column.Float64, Len: n, F64: y},
			Pred:  &column.Column{Type: column.Float64, Len: n, F64: m},
			Scale: &column.Column{Type: column.Float64, Len: n, F64: s},
		}
		if weighted {
			c.Weight = &column.Column{Type: column.Float64, Len: n, F64: w}
		}
		if !ev.Add(c, 0) {
			t.Fatal("rows rejected")
		}
		st := ev.State()
		var se, ae, cr float64
		for i := range y {
			wi := 1.0
			if weighted {
				wi = w[i]
			}
			z := (y[i] - m[i]) / s[i]
			se += wi * (y[i] - m[i]) * (y[i] - m[i])
			ae += wi * math.Abs(y[i]-m[i])
			cr += wi * GaussianCRPS(z, s[i])
		}
		var g [3]float64
		for k := range st.boot {
			for j := range g {
				g[j] += st.boot[k].G[j].float()
			}
		}
		for j, want := range []float64{se, ae, cr} {
			if !near(g[j], want, 1e-9) {
				t.Errorf("weighted=%v: buckets hold %v for term %d, rows %v", weighted, g[j], j, want)
			}
		}
		res := st.Summary()
		b := res.Bootstrap
		for i, name := range b.Metrics {
			var v float64
			switch name {
			case "rmse":
				v = res.Overall.Gauss.RMSE
			case "mae":
				v = res.Overall.Gauss.MAE
			case "crps":
				v = res.Overall.Gauss.CRPS
			default:
				continue
			}
			if !(b.Lo[i] < v && v < b.Hi[i]) {
				t.Errorf("weighted=%v: %s %v outside its interval [%v, %v]", weighted, name, v, b.Lo[i], b.Hi[i])
			}
		}
		if len(b.Metrics) != 4 {
			t.Errorf("weighted=%v: bootstrap metrics %v", weighted, b.Metrics)
		}
	}
}
