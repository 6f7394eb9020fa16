package reader

import (
	"math/rand/v2"
	"testing"
)

// TestMaxIndex: maxIndex (whole blocks of 16 in the vector unit, where
// there is one) is the largest index taken as unsigned, at any length and
// wherever the largest is.
func TestMaxIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 100 {
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(r.IntN(50))
		}
		for trial := range 3 {
			if n > 0 && trial > 0 {
				v := int32(1000)
				if trial == 2 {
					v = -1 // above any dictionary's length as unsigned
				}
				idx[r.IntN(n)] = v
			}
			var want uint32
			for _, k := range idx {
				want = max(want, uint32(k))
			}
			if got := maxIndex(idx); got != want {
				t.Fatalf("n=%d trial %d: maxIndex %d, want %d", n, trial, got, want)
			}
		}
	}
}
