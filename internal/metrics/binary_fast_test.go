package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBinaryProbFastRows checks binaryProbFast row by row (the vector loop
// too, in a build that has one) against the per-row definition: the
// reason, the NLL bits, the confidence, the Brier term, the outcome, the
// correctness and the clip flag, for float64 and float32 probabilities,
// with and without clipping, with rows that are invalid, clipped, exactly
// 0 or 1, or subnormal (the rare rows done apart). A summary could hide a
// row: an infinite NLL is infinite whichever rows give it.
func TestBinaryProbFastRows(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	edge := []float64{0, 1, math.Copysign(0, -1), 5e-324, 1e-310, 1e-300, 1e-16, 1 - 1e-16, math.Nextafter(1, 0),
		0.5, math.Nextafter(0.5, 0), math.NaN(), math.Inf(1), math.Inf(-1), -1e-9, 1 + 1e-9}
	for _, eps := range []float64{0, 1e-15, 1e-3} {
		for _, f32 := range []bool{false, true} {
			for _, bad := range []int{0, 40, 400} { // 1 row in bad is invalid (0: none)
				n := 1000 + r.IntN(100)
				lab := make([]int64, n)
				p := make([]float64, n)
				for i := range p {
					lab[i] = int64(r.IntN(2))
					p[i] = r.Float64()
					if r.IntN(10) == 0 {
						p[i] = edge[r.IntN(len(edge))]
					}
					if bad == 0 && !(p[i] >= 0 && p[i] <= 1) {
						p[i] = 0.25
					}
					if bad > 0 && r.IntN(bad) == 0 {
						lab[i] = []int64{2, -1, 7}[r.IntN(3)]
					}
					if f32 {
						p[i] = float64(float32(p[i]))
					}
				}
				cfg := DefaultConfig()
				cfg.Eps = eps
				e := NewEvaluator(&cfg, 0)
				var tm terms
				tm.reset(n, n)
				if f32 {
					q := make([]float32, n)
					for i := range q {
						q[i] = float32(p[i])
					}
					binaryProbFast(e, lab, q, &tm)
				} else {
					binaryProbFast(e, lab, p, &tm)
				}
				for i, v := range p {
					y := lab[i]
					if uint64(y) > 1 || !(v >= 0 && v <= 1) {
						if want := binaryProbReason(y, v); tm.reason[i] != want || want == ReasonNone {
							t.Fatalf("eps %v f32 %v row %d (y %d, p %v): reason %v, want %v", eps, f32, i, y, v, tm.reason[i], want)
						}
						continue
					}
					pc, clipped := Clip(v, e.lo, e.hi)
					x := BinaryProbNLL(pc, y == 1)
					d := v
					if y == 1 {
						d = 1 - v
					}
					wantClip := int32(0)
					if clipped && eps > 0 {
						wantClip = 1
					}
					if tm.reason[i] != ReasonNone || math.Float64bits(tm.x[i]) != math.Float64bits(x) ||
						tm.conf[i] != v || math.Float64bits(tm.brier[i]) != math.Float64bits(d*d) ||
						tm.out[i] != (y == 1) || tm.correct[i] != ((v >= 0.5) == (y == 1)) || tm.clip[i] != wantClip {
						t.Fatalf("eps %v f32 %v row %d (y %d, p %v): reason %v x %v conf %v brier %v out %v correct %v clip %d; want x %v brier %v clip %d",
							eps, f32, i, y, v, tm.reason[i], tm.x[i], tm.conf[i], tm.brier[i], tm.out[i], tm.correct[i], tm.clip[i], x, d*d, wantClip)
					}
				}
			}
		}
	}
}
