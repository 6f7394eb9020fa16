//go:build goexperiment.simd && amd64

package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"simd/archsimd"
)

// TestExpVecTermsAreExp16: the vector exp gives exp16's bits for every
// term, not only sums that might absorb a last-bit difference: 4M random x
// over exp16's whole range and the range logits take, and the boundary
// values.
func TestExpVecTermsAreExp16(t *testing.T) {
	if !useAVX512 {
		t.Skip("this processor has no AVX-512")
	}
	k := expConsts(0)
	r := rand.New(rand.NewPCG(9, 16))
	var x, got [8]float64
	check := func() {
		k.exp(archsimd.LoadFloat64x8(&x)).Store(&got)
		for j := range x {
			if want := exp16(x[j]); math.Float64bits(got[j]) != math.Float64bits(want) {
				t.Fatalf("x = %v (%#x): vector %v, exp16 %v", x[j], math.Float64bits(x[j]), got[j], want)
			}
		}
	}
	x = [8]float64{exp16Min, -exp16Min, 0, math.Copysign(0, -1), -1e-300, 1e-300, -math.Ln2 / 32, math.Ln2 / 32}
	check()
	for range 1 << 19 {
		for j := range x {
			switch j % 4 {
			case 0:
				x[j] = exp16Min + r.Float64()*(-2*exp16Min)
			case 1:
				x[j] = -30 * r.Float64()
			case 2:
				x[j] = -r.ExpFloat64() * 1e-3
			case 3:
				x[j] = float64(float32(r.NormFloat64()*3)) - float64(float32(r.NormFloat64()*3))
			}
		}
		check()
	}
}

// TestNegLogPartsVec: the vector log gives -logParts(ix, lo, 0)'s bits for
// every term: 4M positive normal values over the whole exponent range and
// near 1 (where log(1+r) is small and its low part decides), with a low
// part of zero or of up to half an ulp of either sign, and the table's
// interval edges.
func TestNegLogPartsVec(t *testing.T) {
	if !useAVX512 {
		t.Skip("this processor has no AVX-512")
	}
	r := rand.New(rand.NewPCG(43, 44))
	var qb [8]uint64
	var ql, x [8]float64
	check := func() {
		if negLogPartsVec(x[:], qb[:], ql[:]) != 8 {
			t.Fatal("the vector loop did not take the block")
		}
		for j := range x {
			if want := -logParts(qb[j], ql[j], 0); math.Float64bits(x[j]) != math.Float64bits(want) {
				t.Fatalf("ix %#x lo %v: vector %v, logParts %v", qb[j], ql[j], x[j], want)
			}
		}
	}
	for j := range 128 { // each table interval's lower edge, at several exponents
		for e := -3; e <= 3; e++ {
			qb[j%8] = math.Float64bits(math.Ldexp(0.6875+float64(j)/256, e))
			ql[j%8] = 0
			if j%8 == 7 {
				check()
			}
		}
	}
	for range 1 << 19 {
		for j := range qb {
			var v float64
			switch j % 4 {
			case 0: // anywhere in the normal range
				v = math.Float64frombits(uint64(1+r.IntN(2046))<<52 | r.Uint64N(1<<52))
			case 1: // probabilities
				v = r.Float64()
			case 2: // near 1
				v = 1 - r.ExpFloat64()*1e-6
			case 3:
				v = 1 + r.NormFloat64()*1e-3
			}
			if v < 0x1p-1022 {
				v = 0.5
			}
			qb[j] = math.Float64bits(v)
			ql[j] = 0
			if r.IntN(2) == 0 {
				ql[j] = (r.Float64() - 0.5) * (math.Nextafter(v, 2*v) - v)
			}
		}
		check()
	}
}

// TestNegLogPartsVecChunks: over slices longer than a lookup chunk, every
// whole block gets logParts's bits, the tail is left alone, and the count
// is the whole blocks.
func TestNegLogPartsVecChunks(t *testing.T) {
	if !useAVX512 {
		t.Skip("this processor has no AVX-512")
	}
	r := rand.New(rand.NewPCG(45, 46))
	for _, n := range []int{8, 15, logChunk - 8, logChunk, logChunk + 7, logChunk + 8, 3*logChunk + 24, 4101} {
		qb, ql, x := make([]uint64, n), make([]float64, n), make([]float64, n)
		for i := range qb {
			qb[i] = math.Float64bits(math.Ldexp(0.5+r.Float64()/2, -r.IntN(40)))
			if i%3 == 0 {
				ql[i] = math.Float64frombits(qb[i]) * 0x1p-60 * (r.Float64() - 0.5)
			}
			x[i] = -7 // the tail must keep it
		}
		got := negLogPartsVec(x, qb, ql)
		if got != n&^7 {
			t.Fatalf("n=%d: did %d rows, want %d", n, got, n&^7)
		}
		for i := range x {
			want := -logParts(qb[i], ql[i], 0)
			if i >= got {
				want = -7
			}
			if math.Float64bits(x[i]) != math.Float64bits(want) {
				t.Fatalf("n=%d row %d: ix %#x lo %v: got %v, want %v", n, i, qb[i], ql[i], x[i], want)
			}
		}
	}
}
