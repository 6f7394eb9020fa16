package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestHistKeys checks histKey and its vector loop against HistCell and
// cellMant, on random confidences and the edges of the cells and halves.
func TestHistKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var cs []float64
	for _, c := range []float64{0, 1, 0.5, math.Nextafter(0.5, 0), math.Nextafter(0.5, 1),
		0x1p-53, math.Nextafter(0x1p-53, 0), math.Nextafter(0x1p-53, 1), 1 - 0x1p-53, math.Nextafter(1-0x1p-53, 0),
		0x1p-60, 5e-324, 0.25, 0.75, 1 - 0x1p-52, 0x1p-52, 0.1, 0.9} {
		cs = append(cs, c)
	}
	for range 20000 {
		switch r.IntN(4) {
		case 0:
			cs = append(cs, r.Float64())
		case 1:
			cs = append(cs, math.Ldexp(r.Float64(), -r.IntN(60)))
		case 2:
			cs = append(cs, 1-math.Ldexp(r.Float64(), -r.IntN(54)))
		default:
			cs = append(cs, 1/(1+math.Exp(-r.NormFloat64()*8)))
		}
	}
	check := func(i int, c float64, k int32, m uint64) {
		t.Helper()
		x := min(c, 1-c)
		if !(x >= 0x1p-53) {
			if k != -1 {
				t.Fatalf("row %d: histKey(%v) = %d, want -1", i, c, k)
			}
			return
		}
		if int(k) != HistCell(c) || m != cellMant(c) {
			t.Fatalf("row %d: histKey(%v) = %d, %d; want %d, %d", i, c, k, m, HistCell(c), cellMant(c))
		}
	}
	for i, c := range cs {
		k, m := histKey(c)
		check(i, c, k, m)
	}
	// The vector loop, with and without rows it must leave to histKey.
	for _, tiny := range []bool{false, true} {
		for lo := 0; lo+histChunk <= len(cs); lo += histChunk {
			conf := append([]float64(nil), cs[lo:lo+histChunk]...)
			for j := range conf {
				if x := min(conf[j], 1-conf[j]); !tiny && !(x >= 0x1p-53) {
					conf[j] = 0.5
				}
			}
			var s histScratch
			key, mant := s.key[:len(conf)], s.mant[:len(conf)]
			vec := 0
			for i := 0; i < len(conf); i++ {
				j := histKeysVec(conf, key, mant, i)
				vec += j - i
				if i = j; i == len(conf) {
					break
				}
				key[i], mant[i] = histKey(conf[i])
			}
			for j, c := range conf {
				check(lo+j, c, key[j], mant[j])
			}
			if !tiny && bootCalVecOK && vec != len(conf) {
				t.Fatalf("vector loop did %d of %d rows", vec, len(conf))
			}
		}
	}
}

// TestFixedRounding checks fixedFloat and fixedQuo, the one-rounding
// conversions of a cell's 128-bit confidence sums, against math/big.
func TestFixedRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 100000; it++ {
		var m u128
		switch r.IntN(3) {
		case 0:
			m = u128{lo: r.Uint64()}
		case 1:
			m = u128{lo: r.Uint64(), hi: r.Uint64N(1 << uint(r.IntN(63)))}
		default: // ties and near-ties at the rounding position
			m = u128{lo: 1<<uint(r.IntN(20)) | r.Uint64()<<40, hi: r.Uint64N(1 << 20)}
		}
		if m.lo|m.hi == 0 {
			continue
		}
		exp := r.IntN(200) - 150
		bm := new(big.Float).SetPrec(prec).SetInt(bigU128(m))
		bm.SetMantExp(bm, exp)
		want, _ := bm.Float64()
		if got := fixedFloat(m, exp); got != want {
			t.Fatalf("fixedFloat(%v, %d) = %v, want %v", m, exp, got, want)
		}
		n := int64(1 + r.Uint64N(1<<uint(r.IntN(63))))
		if got, want := fixedQuo(m, exp, n), quo(bm, bigInt(n)); got != want {
			t.Fatalf("fixedQuo(%v, %d, %d) = %v, want %v", m, exp, n, got, want)
		}
	}
}

// TestHistInvalidRowsLeftOut: a batch whose rows are all invalid (lists
// of the wrong length, skipped) adds nothing to the confidence histogram
// (a nil index list once meant "every row" to Hist.addAll, so such a
// batch added all its rows, and smece/ece_sweep differed with --workers).
func TestHistInvalidRowsLeftOut(t *testing.T) {
	for _, binning := range []Binning{Uniform, Quantile} {
		for _, k := range []int{3, 4} {
			cfg := DefaultConfig()
			cfg.Kind, cfg.Discrim, cfg.Skip, cfg.Classes, cfg.Binning = Multiclass, true, true, 3, binning
			ev := NewEvaluator(&cfg, 3)
			ev.BeginUnit(0)
			ev.Add(benchProbs(50, k), 0)
			for _, a := range ev.State().slices {
				want := 50
				if k != 3 {
					want = 0
				}
				if int(a.Preds) != want || len(a.Hist.Pts) != want {
					t.Errorf("binning %v, %d-class rows, 3 classes: %d predictions, %d histogram points, want %d", binning, k, a.Preds, len(a.Hist.Pts), want)
				}
			}
		}
	}
}
