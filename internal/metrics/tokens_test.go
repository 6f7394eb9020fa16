package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestTokAccFloat: a 192-bit integer times 2^-96 is rounded to nearest,
// ties to even, as math/big rounds it: small values (exact), every bit
// length, and values whose dropped bits are exactly half, just below and
// just above.
func TestTokAccFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	check := func(a tokAcc) {
		z := new(big.Int).SetUint64(a[2])
		z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(a[1]))
		z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(a[0]))
		f := new(big.Float).SetPrec(300).SetInt(z)
		f.SetMantExp(f, -96)
		want, _ := f.Float64()
		if got := a.float(); got != want {
			t.Fatalf("%x:%x:%x: %v, want %v", a[2], a[1], a[0], got, want)
		}
	}
	check(tokAcc{})
	for n := 1; n <= 192; n++ {
		for range 200 {
			var a tokAcc
			for w := range a {
				a[w] = r.Uint64()
			}
			// Keep n bits.
			for b := n; b < 192; b++ {
				a[b/64] &^= 1 << (b % 64)
			}
			a[(n-1)/64] |= 1 << ((n - 1) % 64)
			check(a)
			if n > 54 {
				// The bits below the 53 kept: exactly half, and one
				// either side of it, with the kept part even and odd.
				k := n - 53
				for _, tie := range []int{-1, 0, 1} {
					b := a
					for i := 0; i < k; i++ {
						b[i/64] &^= 1 << (i % 64)
					}
					b[(k-1)/64] |= 1 << ((k - 1) % 64)
					switch tie {
					case -1:
						b[(k-1)/64] &^= 1 << ((k - 1) % 64)
						for i := 0; i < k-1; i++ {
							b[i/64] |= 1 << (i % 64)
						}
					case 1:
						b[0] |= 1
					}
					check(b)
					b[k/64] ^= 1 << (k % 64) // the other parity
					check(b)
				}
			}
		}
	}
}

// TestTokenNLL: a token list's NLL (the integer sums, in the vector lanes
// of a build that has them) is minus the exact sum of its elements rounded
// once, as exact.Sum gives it, for float32 and float64 lists of every
// length up to a few blocks and a long one, with zeros, -0, terms at the
// edges of the integer sums' range and beyond it, ties, and invalid
// elements.
func TestTokenNLL(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	edges := []float64{0x1p-44, math.Nextafter(0x1p-44, 0), math.Nextafter(0x1p20, 0), 0x1p20, 0x1p19, 0x1p-34, 5e-324, 1e300}
	gen := func(n int, wide, bad bool) []float64 {
		vs := make([]float64, n)
		for i := range vs {
			switch k := r.IntN(20); {
			case k == 0:
				vs[i] = 0
			case k == 1:
				vs[i] = math.Copysign(0, -1)
			case k == 2 && wide:
				vs[i] = -edges[r.IntN(len(edges))]
			case k == 3 && bad:
				vs[i] = []float64{math.NaN(), math.Inf(-1), math.Inf(1), 0.5, 1e-300}[r.IntN(5)]
			case k < 8:
				vs[i] = -r.ExpFloat64() * math.Pow(10, float64(r.IntN(12)-6))
			default:
				vs[i] = -math.Ldexp(1+float64(r.Uint64N(1<<52))*0x1p-52, r.IntN(63)-44)
			}
		}
		return vs
	}
	check := func(name string, vs []float64) {
		want, wok := tokenNLLExact(vs)
		got, ok := tokenNLL(vs)
		if ok != wok || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s %v: %v %v, want %v %v", name, vs, got, ok, want, wok)
		}
		q := make([]float32, len(vs))
		for i, v := range vs {
			q[i] = float32(v)
		}
		want32, wok32 := tokenNLLExact(q)
		got32, ok32 := tokenNLL(q)
		if ok32 != wok32 || math.Float64bits(got32) != math.Float64bits(want32) {
			t.Fatalf("%s float32 %v: %v %v, want %v %v", name, q, got32, ok32, want32, wok32)
		}
	}
	check("empty", nil)
	check("zeros", []float64{0, math.Copysign(0, -1), 0, 0, 0, 0, 0, 0, 0})
	// Ties: 2^19 + 2^-34 is halfway between 2^19 and its successor.
	check("tie even", []float64{-0x1p19, -0x1p-34})
	check("tie odd", []float64{-math.Nextafter(0x1p19, 1), -0x1p-34, 0, 0, 0, 0, 0, 0, 0, -0x1p-34, -0x1p-40})
	for n := 0; n < 70; n++ {
		for range 40 {
			check("plain", gen(n, false, false))
			check("wide", gen(n, true, false))
			check("bad", gen(n, false, true))
		}
	}
	for range 5 {
		check("long", gen(100000, false, false))
	}
}
