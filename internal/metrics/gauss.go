package metrics

import (
	"math"
	"math/big"

	"github.com/evalnll/evalnll/internal/exact"
)

// Gaussian predictions: point-error scores, the CRPS and the coverage of
// the central intervals, and the PIT histogram as their calibration.

// Central interval half-widths in standard deviations: Φ⁻¹(0.75),
// Φ⁻¹(0.95), Φ⁻¹(0.975).
var coverageZ = [3]float64{0.67448975019608174320, 1.6448536269514722, 1.9599639845400542}

// gaussTerms are one row's: the error y − m, the standardised error z, the
// CRPS and the PIT Φ(z).
type gaussTerms struct{ err, z, crps, pit float64 }

// gaussianTerms computes a row's terms from label y, mean m and standard
// deviation s > 0.
func gaussianTerms(y, m, s float64) gaussTerms {
	d := y - m
	z := d / s
	return gaussTerms{err: d, z: z, crps: GaussianCRPS(z, s), pit: NormalCDF(z)}
}

// NormalCDF is Φ(z), the standard normal distribution function.
func NormalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// GaussianCRPS is the continuous ranked probability score of N(m, s²) at
// y, with z = (y − m)/s: s [z (2Φ(z) − 1) + 2φ(z) − 1/√π] (Gneiting &
// Raftery 2007, eq. 21).
func GaussianCRPS(z, s float64) float64 {
	phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
	return s * (z*(2*NormalCDF(z)-1) + 2*phi - 1/math.SqrtPi)
}

// gaussAcc accumulates the Gaussian scores of a set of rows.
type gaussAcc struct {
	SqErr, AbsErr, CRPS exact.Sum // weighted sums
	Cov                 [3]exact.Sum
	CovN                [3]int64 // unweighted runs
	PIT                 []Bin    // Count and W
}

func newGaussAcc(cfg *Config) *gaussAcc {
	return &gaussAcc{PIT: make([]Bin, cfg.Bins)}
}

func (g *gaussAcc) merge(o *gaussAcc) {
	g.SqErr.Merge(&o.SqErr)
	g.AbsErr.Merge(&o.AbsErr)
	g.CRPS.Merge(&o.CRPS)
	for k := range g.Cov {
		g.Cov[k].Merge(&o.Cov[k])
		g.CovN[k] += o.CovN[k]
	}
	for b := range g.PIT {
		g.PIT[b].Count += o.PIT[b].Count
		g.PIT[b].W.Merge(&o.PIT[b].W)
	}
}

// add adds valid rows idx (all t.n rows when nil) of a batch.
func (g *gaussAcc) add(t *terms, idx []int32, weighted bool) {
	one := func(i int) {
		gt := &t.gauss[i]
		w := t.w[i]
		if weighted {
			g.SqErr.Add(w * gt.err * gt.err)
			g.AbsErr.Add(w * math.Abs(gt.err))
			g.CRPS.Add(w * gt.crps)
		} else {
			g.SqErr.Add(gt.err * gt.err)
			g.AbsErr.Add(math.Abs(gt.err))
			g.CRPS.Add(gt.crps)
		}
		for k, q := range coverageZ {
			if math.Abs(gt.z) <= q {
				if weighted {
					g.Cov[k].Add(w)
				} else {
					g.CovN[k]++
				}
			}
		}
		b := &g.PIT[UniformBin(gt.pit, len(g.PIT))]
		b.Count++
		if weighted {
			b.W.Add(w)
		}
	}
	if idx == nil {
		for i := 0; i < t.n; i++ {
			one(i)
		}
		return
	}
	for _, i := range idx {
		one(int(i))
	}
}

// GaussFigures are the Gaussian scores of a set of rows.
type GaussFigures struct {
	RMSE, MAE, CRPS float64
	Coverage        [3]float64 // 50%, 90%, 95%
}

func (g *gaussAcc) summary(a *Acc, cfg *Config, w *big.Float) (GaussFigures, []BinFigures) {
	var f GaussFigures
	f.RMSE = math.Sqrt(quo(g.SqErr.Big(), w))
	f.MAE = quo(g.AbsErr.Big(), w)
	f.CRPS = quo(g.CRPS.Big(), w)
	for k := range g.Cov {
		c := g.Cov[k].Big()
		if !cfg.Weighted {
			c = bigInt(g.CovN[k])
		}
		f.Coverage[k] = quo(c, w)
	}
	bins := make([]BinFigures, len(g.PIT))
	n := len(g.PIT)
	for b := range g.PIT {
		bw := bigOf(&g.PIT[b].W)
		if !cfg.Weighted {
			bw = bigInt(g.PIT[b].Count)
		}
		bins[b] = BinFigures{Lo: float64(b) / float64(n), Hi: float64(b+1) / float64(n), Count: g.PIT[b].Count, Weight: f64(bw)}
	}
	return f, bins
}

// addBootGauss adds the valid rows' Gaussian terms to their bootstrap
// buckets (the buckets addBoot and addBootFast put the rows in).
func (e *Evaluator) addBootGauss(c *Cols, t *terms) {
	for i := 0; i < t.n; i++ {
		if t.reason[i] != ReasonNone {
			continue
		}
		b := &e.st.boot[e.bucketOf(c, i)]
		gt, w := &t.gauss[i], t.w[i]
		b.G[0].add(w * gt.err * gt.err)
		b.G[1].add(w * math.Abs(gt.err))
		b.G[2].add(w * gt.crps)
	}
}
