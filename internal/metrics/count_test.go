package metrics

import (
	"math/rand/v2"
	"testing"
)

// TestCountTrue and TestSumInt32: the word-at-a-time counts are the plain
// loop's, for every length around the block sizes and any mix of values.
func TestCountTrue(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 8, 9, 255*8 - 1, 255 * 8, 255*8 + 1, 4096, 5000} {
		for _, dens := range []int{0, 1, 2, 100} { // percent true
			bs := make([]bool, n)
			var want int64
			for i := range bs {
				bs[i] = dens == 100 || r.IntN(100) < dens
				want += b2i(bs[i])
			}
			if got := countTrue(bs); got != want {
				t.Fatalf("n=%d, %d%% true: countTrue %d, want %d", n, dens, got, want)
			}
			if n > 3 { // not from the start of an array
				if got, want := countTrue(bs[3:]), want-b2i(bs[0])-b2i(bs[1])-b2i(bs[2]); got != want {
					t.Fatalf("n=%d, offset 3: countTrue %d, want %d", n, got, want)
				}
			}
		}
	}
}

func TestSumInt32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 2, 3, 4095, 4096} {
		for _, at := range []int{-1, 0, n / 2, n - 1} { // where a value is not 0
			xs := make([]int32, n)
			var want int64
			if at >= 0 && at < n {
				xs[at] = 1 + r.Int32N(1000)
				want = int64(xs[at])
			}
			if n > 2 {
				xs[n/3] += 2
				want += 2
			}
			if got := sumInt32(xs); got != want {
				t.Fatalf("n=%d, at %d: sumInt32 %d, want %d", n, at, got, want)
			}
		}
	}
}
