package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestExp16Table(t *testing.T) {
	r := new(big.Float).SetPrec(bigPrec).SetInt64(2)
	for range 4 {
		r.Sqrt(r) // 2^(1/16)
	}
	v := bigF(1)
	for j := range 16 {
		T, _ := v.Float64()
		tail := new(big.Float).SetPrec(bigPrec).Sub(v, bigF(T))
		tail.Quo(tail, bigF(T))
		wantTail, _ := tail.Float64()
		if got := exp16Tab[j][1] + uint64(j)<<48; got != math.Float64bits(T) {
			t.Errorf("entry %d: T bits %#x, want %#x", j, got, math.Float64bits(T))
		}
		if got := exp16Tab[j][0]; got != math.Float64bits(wantTail) {
			t.Errorf("entry %d: tail bits %#x, want %#x", j, got, math.Float64bits(wantTail))
		}
		v.Mul(v, r)
	}
}

func TestExp16Accuracy(t *testing.T) {
	ranges := []ulpRange{
		{"uniform [-704, 704]", func(r *rand.Rand) float64 { return -704 + 1408*r.Float64() }},
		{"uniform [-40, 0] (logits)", func(r *rand.Rand) float64 { return -40 * r.Float64() }},
		{"±2^-[1,60]", func(r *rand.Rand) float64 {
			d := math.Ldexp(r.Float64(), -1-r.IntN(60))
			if r.IntN(2) == 0 {
				return -d
			}
			return d
		}},
		{"k ln2/32 ± tiny (|r| at its largest)", func(r *rand.Rand) float64 {
			return float64(r.IntN(2048)-1024)*math.Ln2/32 + math.Ldexp(r.Float64()-0.5, -40)
		}},
		{"near -704", func(r *rand.Rand) float64 { return -704 + r.Float64() }},
	}
	checkULP(t, exp16, func(x float64) *big.Float { return bigExp(bigF(x)) }, ranges, 0.75)
	for _, x := range []float64{0, math.Copysign(0, -1)} {
		if exp16(x) != 1 {
			t.Errorf("exp16(%v) = %v", x, exp16(x))
		}
	}
}

// expSumsScalar is expSums without the vector loop: the definition the
// vector code must match bit for bit.
func expSumsScalar[T Float](z []T, m float64) (s, q float64) {
	var ls, lq [8]float64
	for i, v := range z {
		x := float64(v) - m
		var e float64
		if x >= exp16Min {
			e = exp16(x)
		} else {
			e = math.Exp(x)
		}
		ls[i%8] += e
		lq[i%8] += float64(e * e)
	}
	return laneSum(&ls), laneSum(&lq)
}

// expRows makes rows of logits like the peer benchmark's, of every length
// up to 40 and of 1000, some with terms that underflow (x < -704) in
// random places.
func expRows(r *rand.Rand) [][]float64 {
	var rows [][]float64
	for n := range 41 {
		for range 20 {
			rows = append(rows, expRow(r, n))
		}
	}
	for range 50 {
		rows = append(rows, expRow(r, 1000))
	}
	return rows
}

func expRow(r *rand.Rand, n int) []float64 {
	row := make([]float64, n)
	for k := range row {
		row[k] = 1.5 * r.NormFloat64()
		switch r.IntN(40) {
		case 0:
			row[k] = -710 - 100*r.Float64() // e^x subnormal or 0
		case 1:
			row[k] = -700 - 10*r.Float64() // either side of -704
		}
	}
	return row
}

func rowMax(z []float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	return m
}

// TestExpSumsMatchesDefinition: expSums (with the vector loop, in a build
// that has one) gives the bits of the plain definition.
func TestExpSumsMatchesDefinition(t *testing.T) {
	t.Log("vector kernels: ", VectorKernels())
	r := rand.New(rand.NewPCG(7, 16))
	rows := expRows(r)
	for _, z := range rows {
		m := rowMax(z)
		s, q := expSums(z, m)
		ws, wq := expSumsScalar(z, m)
		if math.Float64bits(s) != math.Float64bits(ws) || math.Float64bits(q) != math.Float64bits(wq) {
			t.Fatalf("float64 row of %d: vector (%v, %v), scalar (%v, %v)", len(z), s, q, ws, wq)
		}
		z32 := make([]float32, len(z))
		for k, v := range z {
			z32[k] = float32(v)
		}
		m32 := float64(float32(m))
		s, q = expSums(z32, m32)
		ws, wq = expSumsScalar(z32, m32)
		if math.Float64bits(s) != math.Float64bits(ws) || math.Float64bits(q) != math.Float64bits(wq) {
			t.Fatalf("float32 row of %d: vector (%v, %v), scalar (%v, %v)", len(z32), s, q, ws, wq)
		}
	}
	// A NaN term stops the vector loop at its block and gives a NaN sum.
	z := expRow(r, 100)
	z[37] = math.NaN()
	if s, _ := expSums(z, 0); !math.IsNaN(s) {
		t.Errorf("a NaN term gave the sum %v", s)
	}
}

// TestExpSumsAccuracy checks the two sums against math/big: with at most
// 1000 terms of at most 0.75 ulp each, summed in a tree of depth 3 over
// lanes of at most 125 terms, the relative error stays below 1e-14 (in
// practice a few 1e-16).
func TestExpSumsAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 16))
	worst := 0.0
	for _, z := range expRows(r) {
		if len(z) == 0 {
			continue
		}
		m := rowMax(z)
		s, q := expSums(z, m)
		bs, bq := bigF(0), bigF(0)
		for _, v := range z {
			e := bigExp(bigF(v - m)) // v - m is exact here: both near 1.5 N(0,1) or the row's max
			bs.Add(bs, e)
			bq.Add(bq, new(big.Float).SetPrec(bigPrec).Mul(e, e))
		}
		for _, c := range [][2]any{{s, bs}, {q, bq}} {
			got, want := c[0].(float64), mustF(c[1].(*big.Float))
			if rel := math.Abs(got-want) / want; rel > worst {
				worst = rel
			}
		}
	}
	t.Logf("worst relative error %.3g", worst)
	if worst > 1e-14 {
		t.Errorf("worst relative error %.3g, want <= 1e-14", worst)
	}
}

func firstBadScalar[T Float](vs []T) int {
	for j, v := range vs {
		if v-v != 0 {
			return j
		}
	}
	return -1
}

func argmaxScalar[T Float](z []T) int {
	a := 0
	for k := range z {
		if z[k] > z[a] {
			a = k
		}
	}
	return a
}

// TestArgmaxAndFiniteVector checks the vector argmax (ties, signed zeros,
// infinities) and the vector non-finite scan (NaN and ±Inf anywhere, rows
// of every length up to 70) against the scalar loops, for float32 and
// float64 rows.
func TestArgmaxAndFiniteVector(t *testing.T) {
	if strings.HasPrefix(VectorKernels(), "none") {
		t.Skip("no vector kernels in this build: ", VectorKernels())
	}
	r := rand.New(rand.NewPCG(9, 16))
	specials := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 3, -3}
	for n := 1; n <= 70; n++ {
		for range 200 {
			z := make([]float64, n)
			for k := range z {
				z[k] = float64(r.IntN(7) - 3) // many ties
				if r.IntN(10) == 0 {
					z[k] = specials[r.IntN(len(specials))]
				}
			}
			z32 := make([]float32, n)
			for k, v := range z {
				z32[k] = float32(v)
			}
			if got, ok := argmaxVec(z); ok && got != argmaxScalar(z) {
				t.Fatalf("float64 %v: argmax %d, scalar %d", z, got, argmaxScalar(z))
			}
			if got, ok := argmaxVec(z32); ok && got != argmaxScalar(z32) {
				t.Fatalf("float32 %v: argmax %d, scalar %d", z32, got, argmaxScalar(z32))
			}
			if _, ok := argmaxVec(z32); ok != (n >= 16) {
				t.Fatalf("float32 row of %d: vector ran = %v", n, ok)
			}
			if r.IntN(2) == 0 {
				bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)]
				k := r.IntN(n)
				z[k], z32[k] = bad, float32(bad)
			}
			if got, ok := firstNonFiniteVec(z); ok && got != firstBadScalar(z) {
				t.Fatalf("float64 %v: first non-finite %d, scalar %d", z, got, firstBadScalar(z))
			}
			if got, ok := firstNonFiniteVec(z32); ok && got != firstBadScalar(z32) {
				t.Fatalf("float32 %v: first non-finite %d, scalar %d", z32, got, firstBadScalar(z32))
			}
		}
	}
}
