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
