package metrics

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestBootstrapCoverage draws samples from a known model many times and
// counts how often the 95% intervals hold the truth. For a calibrated
// model, the population NLL, accuracy and Brier score must be covered
// about 95% of the time; for the ECE (population value 0) and for a
// miscalibrated model's ECE the rates are reported (the binned ECE is a
// biased estimator: see the README). The model's probabilities take 19
// values (0.05 ... 0.95, equally likely), so that many rows share their
// content, as rounded predictions do. It takes a minute or two: run it with
// EVALNLL_LONG=1.
func TestBootstrapCoverage(t *testing.T) {
	if os.Getenv("EVALNLL_LONG") == "" {
		t.Skip("set EVALNLL_LONG=1 to run the coverage simulation")
	}
	var vals []float64
	for k := 1; k <= 19; k++ {
		vals = append(vals, float64(k)/20)
	}
	// The truth: means over the 19 values.
	var tNLL, tAcc, tBrier float64
	for _, q := range vals {
		tNLL += -(q*math.Log(q) + (1-q)*math.Log(1-q))
		tAcc += max(q, 1-q)
		tBrier += q * (1 - q)
	}
	k := float64(len(vals))
	truth := map[string]float64{"nll": tNLL / k, "accuracy": tAcc / k, "brier": tBrier / k, "ece": 0}
	rates := coverage(t, vals, func(q float64) float64 { return q }, truth)
	for _, name := range []string{"nll", "accuracy", "brier"} {
		// 1000 draws of Bernoulli(0.95) fall in [0.93, 0.97] but
		// once in 10^4.
		if c := rates[name]; c < 0.93 || c > 0.97 {
			t.Errorf("%s: coverage %.3f, want about 0.95", name, c)
		}
	}
	// Miscalibrated: the model says q, the outcome is 1 with probability
	// q^1.5. Population ECE over the 15 uniform bins.
	truthOf := func(q float64) float64 { return math.Pow(q, 1.5) }
	gap := make([]float64, 15)
	for _, q := range vals {
		gap[UniformBin(q, 15)] += (truthOf(q) - q) / k
	}
	var ece float64
	for _, g := range gap {
		ece += math.Abs(g)
	}
	if c := coverage(t, vals, truthOf, map[string]float64{"ece": ece})["ece"]; c < 0.9 {
		t.Errorf("miscalibrated ece: coverage %.3f, want about 0.95", c)
	}
}

// coverage runs the simulation: 1000 samples of 2000 rows, predictions
// drawn from vals, outcome 1 with probability truthOf(prediction). It
// returns, per metric of truth, the share of the samples whose interval
// held truth.
func coverage(t *testing.T, vals []float64, truthOf func(float64) float64, truth map[string]float64) map[string]float64 {
	const sims, n = 1000, 2000
	covered, holdsEst := map[string]int{}, 0
	r := rand.New(rand.NewPCG(2026, 12))
	y := make([]int64, n)
	p := make([]float64, n)
	for s := range sims {
		for i := range p {
			q := vals[r.IntN(len(vals))]
			p[i], y[i] = q, 0
			if r.Float64() < truthOf(q) {
				y[i] = 1
			}
		}
		cfg := DefaultConfig()
		cfg.Bootstrap = DefaultBootstrap()
		cfg.Bootstrap.Seed = uint64(s)
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnitAt(0, Position{File: FileKey("sim.parquet")})
		if !ev.Add(cols(y, p, nil, nil, 0, n, false, false), 0) {
			t.Fatal("valid rows rejected")
		}
		res := ev.State().Summary()
		b := res.Bootstrap
		for m, name := range b.Metrics {
			v, ok := truth[name]
			if ok && b.Lo[m] <= v && v <= b.Hi[m] {
				covered[name]++
			}
			if e := *res.Overall.ECE; name == "ece" && b.Lo[m] <= e && e <= b.Hi[m] {
				holdsEst++
			}
		}
	}
	rates := map[string]float64{}
	for _, name := range []string{"nll", "accuracy", "brier", "ece"} {
		if v, ok := truth[name]; ok {
			rates[name] = float64(covered[name]) / sims
			t.Logf("%s: the 95%% interval held the truth %.4f in %d of %d samples (%.1f%%)", name, v, covered[name], sims, 100*rates[name])
		}
	}
	t.Logf("ece: the interval held the sample's own ECE in %d of %d samples", holdsEst, sims)
	if holdsEst < sims*95/100 {
		t.Errorf("ece: the interval held the sample's own ECE in only %d of %d samples", holdsEst, sims)
	}
	return rates
}
