package exact

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumEncoding: a sum decodes to the same exact total and counts of
// non-finite terms, and equal totals reached in other orders and
// groupings encode to equal bytes.
func TestSumEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := r.IntN(50)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Ldexp(r.NormFloat64(), r.IntN(2100)-1074)
			if trial%7 == 0 && i == 0 {
				xs[i] = []float64{math.Inf(1), math.Inf(-1), math.NaN()}[r.IntN(3)]
			}
		}
		var a, b, c Sum
		for _, x := range xs {
			a.Add(x)
		}
		for i := len(xs) - 1; i >= 0; i-- {
			if i%2 == 0 {
				b.Add(xs[i])
			} else {
				c.Add(xs[i])
			}
		}
		b.Merge(&c)
		ea, eb := a.AppendBinary(nil), b.AppendBinary(nil)
		if !bytes.Equal(ea, eb) {
			t.Fatalf("trial %d: equal sums encode differently", trial)
		}
		d, k, err := DecodeSum(append(ea, 0xff))
		if err != nil || k != len(ea) {
			t.Fatalf("trial %d: decode: %v (%d of %d bytes)", trial, err, k, len(ea))
		}
		if d.IsFinite() != a.IsFinite() || (a.IsFinite() && d.Int().Cmp(a.Int()) != 0) || math.Float64bits(d.Float64()) != math.Float64bits(a.Float64()) {
			t.Fatalf("trial %d: decoded %v, want %v", trial, d.Float64(), a.Float64())
		}
		for cut := range len(ea) {
			if _, _, err := DecodeSum(ea[:cut]); !errors.Is(err, ErrEncoding) {
				t.Fatalf("trial %d: truncated to %d: %v", trial, cut, err)
			}
		}
	}
	var z Sum
	if e := z.AppendBinary(nil); len(e) != 5 {
		t.Fatalf("empty sum: %d bytes", len(e))
	}
	// A chunk out of range, or too many chunks, is refused.
	for _, bad := range [][]byte{
		{0, 0, 0, 3, 1, 0xff, 0xff, 0xff, 0xff, 0x10}, // chunk 3 = 2^32
		{0, 0, 0, 60, 10}, // chunks past the end
	} {
		if _, _, err := DecodeSum(bad); !errors.Is(err, ErrEncoding) {
			t.Errorf("%x: %v", bad, err)
		}
	}
}
