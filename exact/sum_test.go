package exact

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigSum is the reference: big.Float addition at a precision that holds any
// float64 sum exactly.
func bigSum(xs []float64) *big.Float {
	z := new(big.Float).SetPrec(Prec)
	for _, x := range xs {
		z.Add(z, new(big.Float).SetFloat64(x))
	}
	return z
}

func refFloat64(xs []float64) float64 {
	v, _ := bigSum(xs).Float64()
	return v
}

func wild(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return math.Ldexp(r.Float64(), r.IntN(2098)-1074) * sign(r)
	case 1:
		return float64(math.Float64frombits(r.Uint64N(1<<52))) * sign(r) // subnormal
	case 2:
		return math.MaxFloat64 / 4 * r.Float64() * sign(r)
	default:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-15))
	}
}

func sign(r *rand.Rand) float64 {
	if r.IntN(2) == 0 {
		return -1
	}
	return 1
}

func TestSumMatchesBigFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := r.IntN(5000)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = wild(r)
		}
		var s Sum
		for _, x := range xs {
			s.Add(x)
		}
		if got, want := s.Float64(), refFloat64(xs); got != want && !(got == 0 && want == 0) {
			t.Fatalf("trial %d: n=%d got %v want %v", trial, n, got, want)
		}
		if s.Big().Cmp(bigSum(xs)) != 0 {
			t.Fatalf("trial %d: Big() is not the exact sum", trial)
		}
	}
}

func TestSumOrderAndSplitIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 20000)
	for i := range xs {
		xs[i] = wild(r)
	}
	var whole Sum
	for _, x := range xs {
		whole.Add(x)
	}
	r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	var parts [7]Sum
	for i, x := range xs {
		parts[r.IntN(len(parts))].Add(x)
		_ = i
	}
	var merged Sum
	for i := len(parts) - 1; i >= 0; i-- {
		merged.Merge(&parts[i])
	}
	if merged.Int().Cmp(whole.Int()) != 0 {
		t.Fatal("shuffled, split and merged sum differs from the sequential one")
	}
}

func TestSumCancellation(t *testing.T) {
	var s Sum
	s.Add(1e308)
	s.Add(1)
	s.Add(-1e308)
	s.Add(5e-324)
	if got := s.Float64(); got != 1 {
		t.Fatalf("got %v, want 1", got)
	}
	s.Add(-1)
	if got := s.Float64(); got != 5e-324 {
		t.Fatalf("got %v, want 5e-324", got)
	}
	s.Add(-5e-324)
	if !s.IsZero() || s.Float64() != 0 {
		t.Fatal("sum should be exactly zero")
	}
}

func TestSumManyLargeTermsNoOverflow(t *testing.T) {
	var s Sum
	n := 100000
	for i := 0; i < n; i++ {
		s.Add(math.MaxFloat64 / 1e3)
	}
	want := new(big.Float).SetPrec(Prec).Mul(new(big.Float).SetFloat64(math.MaxFloat64/1e3), big.NewFloat(float64(n)))
	if s.Big().Cmp(want) != 0 {
		t.Fatal("sum of many large terms is not exact")
	}
	if !math.IsInf(s.Float64(), 1) {
		t.Fatalf("sum beyond MaxFloat64 should round to +Inf, got %v", s.Float64())
	}
}

func TestSumSpecials(t *testing.T) {
	cases := []struct {
		name  string
		terms []float64
		want  float64
	}{
		{"empty", nil, 0},
		{"+inf", []float64{1, math.Inf(1)}, math.Inf(1)},
		{"-inf", []float64{math.Inf(-1), 1e300}, math.Inf(-1)},
		{"inf-inf", []float64{math.Inf(1), math.Inf(-1)}, math.NaN()},
		{"nan", []float64{1, math.NaN()}, math.NaN()},
		{"negative zero", []float64{math.Copysign(0, -1)}, 0},
		{"subnormals", []float64{5e-324, 5e-324, 5e-324}, 1.5e-323},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Sum
			for _, x := range c.terms {
				s.Add(x)
			}
			got := s.Float64()
			if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAddProductExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var s Sum
	ref := new(big.Float).SetPrec(Prec)
	for i := 0; i < 1000; i++ {
		a, b := r.NormFloat64()*1e3, r.Float64()
		s.AddProduct(a, b)
		ref.Add(ref, new(big.Float).SetPrec(Prec).Mul(new(big.Float).SetFloat64(a), new(big.Float).SetFloat64(b)))
	}
	if s.Big().Cmp(ref) != 0 {
		t.Fatal("AddProduct is not exact")
	}
}

func TestAddIntLarge(t *testing.T) {
	var s Sum
	s.AddInt(math.MaxInt64)
	s.AddInt(math.MinInt64 + 1)
	if !s.IsZero() {
		t.Fatal("MaxInt64 + MinInt64+1 should be zero")
	}
}

func BenchmarkSumAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = -math.Log(r.Float64())
	}
	b.ReportAllocs()
	var s Sum
	for i := 0; i < b.N; i++ {
		s.Add(xs[i&4095])
	}
	if s.Float64() < 0 {
		b.Fatal("negative")
	}
}
