package metrics

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/evalnll/evalnll/exact"
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

// bucketAcc holds one bucket's exact partial sums.
type bucketAcc struct {
	Rows                  int64
	W, NLL, Tokens        exact.Sum
	PredW, Correct, Brier exact.Sum
	// Gap[b] is sum w·outcome - sum w·confidence over the bucket's
	// predictions in calibration bin b.
	Gap []exact.Sum
}

func (b *bucketAcc) merge(o *bucketAcc) {
	b.Rows += o.Rows
	b.W.Merge(&o.W)
	b.NLL.Merge(&o.NLL)
	b.Tokens.Merge(&o.Tokens)
	b.PredW.Merge(&o.PredW)
	b.Correct.Merge(&o.Correct)
	b.Brier.Merge(&o.Brier)
	for i := range o.Gap {
		b.Gap[i].Merge(&o.Gap[i])
	}
}

func newBuckets(cfg *Config) []bucketAcc {
	bs := make([]bucketAcc, cfg.Bootstrap.Buckets)
	if cfg.Kind.HasCalibration() && cfg.Binning == Uniform {
		for i := range bs {
			bs[i].Gap = make([]exact.Sum, cfg.Bins)
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

// bucketOf picks the bucket of valid row i: by its --id value, or else by
// its content (the row's NLL, weight and first confidence bits), which does
// not depend on where the row sits in the input.
func (e *Evaluator) bucketOf(c *Cols, i int, t *terms) int {
	var h uint64
	if c.ID != nil {
		e.idkey = appendKey(e.idkey[:0], c.ID, i)
		h = hashBytes(e.cfg.Bootstrap.Seed, e.idkey)
	} else {
		h = mix64(e.cfg.Bootstrap.Seed ^ math.Float64bits(t.x[i]))
		h = mix64(h ^ math.Float64bits(t.w[i]))
		if e.cfg.Kind.HasCalibration() {
			j := i
			if t.pOff != nil && e.cfg.Kind == Multilabel {
				j = int(t.pOff[i])
			}
			if j < len(t.conf) && (t.pOff == nil || t.pOff[i] < t.pOff[i+1]) {
				h = mix64(h ^ math.Float64bits(t.conf[j]))
			}
		}
	}
	return int(h & uint64(len(e.st.boot)-1))
}

// addBoot adds valid row i to its bucket.
func (e *Evaluator) addBoot(c *Cols, i int, t *terms) {
	b := &e.st.boot[e.bucketOf(c, i, t)]
	w := t.w[i]
	b.Rows++
	b.W.Add(w)
	b.NLL.Add(w * t.x[i])
	if e.cfg.Tokens {
		b.Tokens.Add(w * t.tok[i])
	}
	if !e.cfg.Kind.HasCalibration() {
		return
	}
	lo, hi := i, i+1
	if e.cfg.Kind == Multilabel {
		lo, hi = int(t.pOff[i]), int(t.pOff[i+1])
	}
	for j := lo; j < hi; j++ {
		b.PredW.Add(w)
		if t.correct[j] {
			b.Correct.Add(w)
		}
		b.Brier.Add(w * t.brier[j])
		if b.Gap != nil {
			g := &b.Gap[UniformBin(t.conf[j], len(b.Gap))]
			if t.out[j] {
				g.Add(w)
			}
			g.Add(-w * t.conf[j])
		}
	}
}

// BootstrapResult is the bootstrap of the overall figures.
type BootstrapResult struct {
	Config BootstrapConfig
	// ByID is set when rows were bucketed by --id (runs pair); else by
	// content.
	ByID bool
	// BucketRows is the row count of each bucket: two runs whose counts
	// differ did not see the same rows.
	BucketRows []int64
	// Metrics names the figures in Replicates and Intervals, in order.
	Metrics []string
	// Replicates[m][r] is metric m in replicate r (NLL in nats).
	Replicates [][]float64
	// Lo and Hi are the 2.5% and 97.5% percentiles (nearest rank).
	Lo, Hi []float64
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
	f := func(x *exact.Sum) float64 { return x.Float64() }
	w, nll, tok := make([]float64, K), make([]float64, K), make([]float64, K)
	pw, cor, br := make([]float64, K), make([]float64, K), make([]float64, K)
	var gap [][]float64
	res := &BootstrapResult{Config: cfg.Bootstrap, ByID: cfg.HasID, BucketRows: make([]int64, K)}
	for k := range s.boot {
		b := &s.boot[k]
		res.BucketRows[k] = b.Rows
		w[k], nll[k], tok[k] = f(&b.W), f(&b.NLL), f(&b.Tokens)
		pw[k], cor[k], br[k] = f(&b.PredW), f(&b.Correct), f(&b.Brier)
		if b.Gap != nil {
			g := make([]float64, len(b.Gap))
			for j := range b.Gap {
				g[j] = f(&b.Gap[j])
			}
			gap = append(gap, g)
		}
	}
	res.Metrics = []string{"nll"}
	if cfg.Tokens {
		res.Metrics = append(res.Metrics, "nll_per_token")
	}
	cal := cfg.Kind.HasCalibration()
	if cal {
		res.Metrics = append(res.Metrics, "accuracy", "brier")
		if gap != nil {
			res.Metrics = append(res.Metrics, "ece")
		}
	}
	R := cfg.Bootstrap.Replicates
	res.Replicates = make([][]float64, len(res.Metrics))
	for m := range res.Replicates {
		res.Replicates[m] = make([]float64, R)
	}
	c := make([]float64, K)
	var binGap []float64
	if gap != nil {
		binGap = make([]float64, len(gap[0]))
	}
	for r := 0; r < R; r++ {
		// The Poisson(1) counts of replicate r depend only on (seed, r).
		rng := rand.New(rand.NewPCG(cfg.Bootstrap.Seed, uint64(r)))
		for k := range c {
			c[k] = float64(poisson1(rng))
		}
		var sw, snll, stok, spw, scor, sbr float64
		for k := 0; k < K; k++ {
			ck := c[k]
			if ck == 0 {
				continue
			}
			sw += ck * w[k]
			snll += ck * nll[k]
			stok += ck * tok[k]
			spw += ck * pw[k]
			scor += ck * cor[k]
			sbr += ck * br[k]
		}
		m := 0
		res.Replicates[m][r] = snll / sw
		m++
		if cfg.Tokens {
			res.Replicates[m][r] = snll / stok
			m++
		}
		if cal {
			res.Replicates[m][r] = scor / spw
			res.Replicates[m+1][r] = sbr / spw
			m += 2
			if gap != nil {
				for j := range binGap {
					binGap[j] = 0
				}
				for k := 0; k < K; k++ {
					if c[k] == 0 {
						continue
					}
					for j, g := range gap[k] {
						binGap[j] += c[k] * g
					}
				}
				var e float64
				for _, g := range binGap {
					e += math.Abs(g)
				}
				res.Replicates[m][r] = e / spw
			}
		}
	}
	res.Lo, res.Hi = make([]float64, len(res.Metrics)), make([]float64, len(res.Metrics))
	for m := range res.Metrics {
		res.Lo[m], res.Hi[m] = Percentile95(res.Replicates[m])
	}
	return res
}

// poisson1 draws from Poisson(1) by inversion: deterministic for a given
// generator state.
func poisson1(r *rand.Rand) int {
	u := r.Float64()
	p := math.Exp(-1)
	cum := p
	k := 0
	for u > cum && k < 30 {
		k++
		p /= float64(k)
		cum += p
	}
	return k
}
