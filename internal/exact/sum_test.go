package exact

import (
	"math"
	"math/big"
	"math/bits"
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

// TestAddSliceMatchesAdd: AddSlice gives the same state as Add term by
// term, whatever the split into slices and the adds already counted
// (blocks cross the carry point), with zeros, subnormals and specials.
func TestAddSliceMatchesAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := 0; trial < 50; trial++ {
		n := r.IntN(6000)
		xs := make([]float64, n)
		for i := range xs {
			switch r.IntN(20) {
			case 0:
				xs[i] = 0
			case 1:
				xs[i] = math.Copysign(0, -1)
			case 2:
				xs[i] = math.Float64frombits(r.Uint64N(1<<52)) * sign(r)
			case 3:
				if trial%5 == 0 {
					xs[i] = []float64{math.Inf(1), math.Inf(-1), math.NaN()}[r.IntN(3)]
				}
			default:
				xs[i] = wild(r)
			}
		}
		var a, b Sum
		pre := r.IntN(1100)
		for i := 0; i < pre; i++ {
			x := wild(r)
			a.Add(x)
			b.Add(x)
		}
		for _, x := range xs {
			a.Add(x)
		}
		for rest := xs; len(rest) > 0; {
			k := r.IntN(len(rest) + 1)
			b.AddSlice(rest[:k])
			rest = rest[k:]
		}
		fa, fb := a.Float64(), b.Float64()
		if !(fa == fb || fa != fa && fb != fb) {
			t.Fatalf("trial %d: Add gives %v, AddSlice %v", trial, fa, fb)
		}
		if a.IsFinite() && a.Big().Cmp(b.Big()) != 0 {
			t.Fatalf("trial %d: exact totals differ", trial)
		}
	}
}

// TestAddProductManyExact crosses the carry point many times, with
// products that are exact (zero error term), tiny and huge.
func TestAddProductManyExact(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var s Sum
	ref := new(big.Float).SetPrec(Prec)
	for i := 0; i < 20000; i++ {
		var a, b float64
		switch r.IntN(4) {
		case 0:
			a, b = float64(r.IntN(1000)), float64(r.IntN(1000)) // exact product
		case 1:
			a, b = r.NormFloat64()*1e-150, r.NormFloat64()*1e-150 // error term underflows
		default:
			a, b = wild(r), r.NormFloat64()
		}
		h := a * b
		if math.IsInf(h, 0) || math.IsNaN(h) {
			continue
		}
		s.AddProduct(a, b)
		// The exact product when its error term does not underflow; else
		// AddProduct adds h and the error term as the FMA rounds it.
		l := math.FMA(a, b, -h)
		want := new(big.Float).SetPrec(Prec).Mul(new(big.Float).SetFloat64(a), new(big.Float).SetFloat64(b))
		if math.Abs(h) < 0x1p-960 {
			want.SetFloat64(h).Add(want, new(big.Float).SetFloat64(l))
		}
		ref.Add(ref, want)
	}
	if s.Big().Cmp(ref) != 0 {
		t.Fatal("AddProduct over many carries is not exact")
	}
}

// TestAddSquaresAndProducts: the slice forms give the state of AddProduct
// term by term, across carries and with rare values.
func TestAddSquaresAndProducts(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for trial := 0; trial < 30; trial++ {
		n := r.IntN(3000)
		a, b := make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], b[i] = wild(r), r.NormFloat64()
			switch r.IntN(30) {
			case 0:
				a[i] = 0
			case 1:
				a[i] = 1e-160 * r.Float64() // square underflows
			case 2:
				a[i] = 1e200 // square overflows
			case 3:
				if trial%3 == 0 {
					a[i] = math.NaN()
				}
			}
		}
		var sq1, sq2, p1, p2 Sum
		for i := 0; i < r.IntN(1100); i++ { // start part-way to a carry
			x := wild(r)
			sq1.Add(x)
			sq2.Add(x)
			p1.Add(x)
			p2.Add(x)
		}
		for i := range a {
			sq1.AddProduct(a[i], a[i])
			p1.AddProduct(a[i], b[i])
		}
		for lo := 0; lo < n; {
			hi := lo + r.IntN(n-lo+1)
			sq2.AddSquares(a[lo:hi])
			p2.AddProducts(a[lo:hi], b[lo:hi])
			lo = hi
		}
		for _, c := range [][2]*Sum{{&sq1, &sq2}, {&p1, &p2}} {
			x, y := c[0].Float64(), c[1].Float64()
			if !(x == y || x != x && y != y) {
				t.Fatalf("trial %d: %v vs %v", trial, x, y)
			}
			if c[0].IsFinite() && c[0].Big().Cmp(c[1].Big()) != 0 {
				t.Fatalf("trial %d: exact totals differ", trial)
			}
		}
	}
}

// TestFixedPointRange: terms around the range AddSlice and AddSquares sum
// as fixed-point integers ([2^-12, 2^11)), of both signs, with the range's
// edges, long runs (the 128- and 192-bit sums fill their high words) and
// sums that cancel to negative and to zero: the same exact state as Add
// and AddProduct term by term.
func TestFixedPointRange(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	edges := []float64{0x1p-12, math.Nextafter(0x1p-12, 0), math.Nextafter(0x1p11, 0), 0x1p11,
		math.Nextafter(0x1p-11, 0), 0x1p10 + 0x1p-42, 1, math.Nextafter(1, 2), 0x1.fffffffffffffp10}
	for trial := 0; trial < 40; trial++ {
		n := 1 + r.IntN(20000)
		xs := make([]float64, n)
		for i := range xs {
			switch k := r.IntN(10); {
			case k == 0:
				xs[i] = edges[r.IntN(len(edges))]
			case k == 1:
				// Outside the range, with squares that stay finite.
				xs[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-15))
			default:
				// Mantissas with all bits used, exponents -14..12.
				xs[i] = math.Ldexp(1+float64(r.Uint64N(1<<52))*0x1p-52, r.IntN(27)-14)
			}
			if trial%4 != 0 && r.IntN(2) == 0 {
				xs[i] = -xs[i]
			}
		}
		if trial%5 == 1 {
			// Cancel to exactly zero: the terms and their negatives.
			for i := range n / 2 {
				xs[n-1-i] = -xs[i]
			}
		}
		var a, b, sa, sb Sum
		for _, x := range xs {
			a.Add(x)
			sa.AddProduct(x, x)
		}
		for rest := xs; len(rest) > 0; {
			k := 1 + r.IntN(len(rest))
			b.AddSlice(rest[:k])
			sb.AddSquares(rest[:k])
			rest = rest[k:]
		}
		for _, c := range [][2]*Sum{{&a, &b}, {&sa, &sb}} {
			if !c[0].IsFinite() {
				t.Fatalf("trial %d: a term was not finite", trial)
			}
			if c[0].Big().Cmp(c[1].Big()) != 0 || c[0].Float64() != c[1].Float64() {
				t.Fatalf("trial %d: exact totals differ: %v vs %v", trial, c[0].Float64(), c[1].Float64())
			}
		}
		if ref := refFloat64(xs); a.Float64() != ref {
			t.Fatalf("trial %d: %v, want %v", trial, a.Float64(), ref)
		}
	}
}

// TestAddFixed128: the signed 128-bit fixed-point sums are added exactly,
// over their whole range (sums of 2^52 terms reach the top words).
func TestAddFixed128(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for trial := 0; trial < 2000; trial++ {
		lo, hi := r.Uint64(), r.Uint64()>>uint(r.IntN(64))
		if r.IntN(2) == 0 { // negative: two's complement
			var c uint64
			lo, c = bits.Add64(^lo, 1, 0)
			hi = ^hi + c
		}
		var s Sum
		s.addFixed128(lo, hi)
		want := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
		want.Or(want, new(big.Int).SetUint64(lo))
		if int64(hi) < 0 {
			want.Sub(want, new(big.Int).Lsh(big.NewInt(1), 128))
		}
		wf := new(big.Float).SetPrec(Prec).SetInt(want)
		wf.SetMantExp(wf, -64)
		if s.Big().Cmp(wf) != 0 {
			t.Fatalf("%x:%x: %v, want %v", hi, lo, s.Big(), wf)
		}
	}
}

// TestAddSliceVectorRange: the edges of the vector loop's range
// [2^-44, 2^20) (sum_simd.go) and of the scalar fixed-point range, both
// signs, terms just outside, and a slice long enough to fold the lane sums
// more than once (4.7M terms: one fold of them all would pass 2^53 and
// round), against math/big.
func TestAddSliceVectorRange(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	edges := []float64{0x1p-44, math.Nextafter(0x1p-44, 0), math.Nextafter(0x1p20, 0), 0x1p20,
		0x1p-12, math.Nextafter(0x1p-12, 0), 0x1p11, 0x1.fffffffffffffp19, 0x1.fffffffffffffp-44, 1}
	for trial := 0; trial < 6; trial++ {
		n := 1 + r.IntN(3000)
		if trial == 0 {
			n = 1<<22 + 1<<19 + 5 // 4.5 folds and a tail
		}
		xs := make([]float64, n)
		for i := range xs {
			switch k := r.IntN(8); {
			case trial == 0 && k != 0:
				// All 32 bits of the lowest limb set: its lane sums grow fastest.
				xs[i] = 0x1.fffffffffffffp-44
			case k == 0:
				xs[i] = edges[r.IntN(len(edges))]
			case k == 1:
				xs[i] = wild(r)
			default:
				// Full mantissas, exponents -46..21.
				xs[i] = math.Ldexp(1+float64(r.Uint64N(1<<52))*0x1p-52, r.IntN(68)-46)
			}
			if trial != 0 && r.IntN(3) == 0 {
				xs[i] = -xs[i]
			}
		}
		var a, b Sum
		b.AddSlice(xs)
		for _, x := range xs {
			a.Add(x)
		}
		if a.Big().Cmp(b.Big()) != 0 {
			t.Fatalf("trial %d (n=%d): AddSlice %v, Add %v", trial, n, b.Float64(), a.Float64())
		}
		if trial == 0 {
			continue // math/big on 4.7M terms is slow; a is exact
		}
		if ref := refFloat64(xs); b.Float64() != ref {
			t.Fatalf("trial %d (n=%d): %v, want %v", trial, n, b.Float64(), ref)
		}
	}
}

// TestAddSquaresVectorRange: AddSquares (the vector loop in a build that
// has one: [2^-30, 2^14), sum_simd.go) equals AddProduct(x, x) term by
// term, exactly, at the range edges, just outside, with both signs, and
// over 2M terms with full mantissas (one fold of them all would pass 2^53
// and round).
func TestAddSquaresVectorRange(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	edges := []float64{0x1p-30, math.Nextafter(0x1p-30, 0), math.Nextafter(0x1p14, 0), 0x1p14,
		0x1p-12, 0x1p11, 0x1.fffffffffffffp-9, 1, 0x1.fffffffffffffp13}
	for trial := 0; trial < 8; trial++ {
		n := 1 + r.IntN(5000)
		if trial == 0 {
			n = 1<<21 + 3
		}
		xs := make([]float64, n)
		for i := range xs {
			switch k := r.IntN(10); {
			case trial == 0 && k != 0:
				xs[i] = 0x1.fffffffffffffp0 * math.Ldexp(1, r.IntN(44)-30)
			case k == 0:
				xs[i] = edges[r.IntN(len(edges))]
			case k == 1:
				xs[i] = wild(r)
				if math.IsInf(xs[i]*xs[i], 0) || math.IsNaN(xs[i]) {
					xs[i] = 3
				}
			default:
				xs[i] = math.Ldexp(1+float64(r.Uint64N(1<<52))*0x1p-52, r.IntN(48)-32)
			}
			if r.IntN(3) == 0 {
				xs[i] = -xs[i]
			}
		}
		var a, b Sum
		b.AddSquares(xs)
		for _, x := range xs {
			a.AddProduct(x, x)
		}
		if a.Big().Cmp(b.Big()) != 0 {
			t.Fatalf("trial %d (n=%d): AddSquares %v, AddProduct %v", trial, n, b.Float64(), a.Float64())
		}
	}
}

// TestFloat64Rounding checks Float64's rounding (without math/big) against
// big.Float's on sums built at rounding ties, just off them (sticky bits
// far below), across the exponent range, negative, subnormal and
// overflowing, and Int against the reference too.
func TestFloat64Rounding(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 20000; it++ {
		e := r.IntN(2100) - 1100
		m := float64(uint64(1)<<52 | r.Uint64N(1<<52))
		xs := []float64{math.Ldexp(m, e)}
		switch r.IntN(4) {
		case 0: // a tie
			xs = append(xs, math.Ldexp(1, e-1))
		case 1: // a tie broken far below
			xs = append(xs, math.Ldexp(1, e-1), math.Ldexp(sign(r), e-1-r.IntN(900)))
		case 2: // many terms of spread exponents
			for range 8 {
				xs = append(xs, math.Ldexp(r.Float64()*sign(r), e-r.IntN(200)))
			}
		default:
			xs = append(xs, wild(r), wild(r))
		}
		if r.IntN(2) == 0 {
			for i := range xs {
				xs[i] = -xs[i]
			}
		}
		var s Sum
		for _, x := range xs {
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				s.Add(x)
			}
		}
		ref := bigSum(nil)
		for _, x := range xs {
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				ref.Add(ref, new(big.Float).SetFloat64(x))
			}
		}
		want, _ := ref.Float64()
		if got := s.Float64(); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%v: Float64 %v, want %v", xs, got, want)
		}
		ri, _ := new(big.Float).SetMantExp(ref, 1074).Int(nil)
		if s.Int().Cmp(ri) != 0 {
			t.Fatalf("%v: Int %v, want %v", xs, s.Int(), ri)
		}
	}
}
