//go:build goexperiment.simd && amd64

package metrics

import (
	"simd/archsimd"
	"unsafe"
)

// binaryBlock holds what binaryProbVec needs for a batch: the clip
// bounds, as vectors, and binaryProbFast's output columns.
type binaryBlock struct {
	lo, hi, zero, one, half, oneBits, c52, cLim archsimd.Float64x8
	countClip                                   bool
	lab                                         []int64
	qb                                          []uint64
	ql, conf, brier                             []float64
	clip                                        []int32
	out, correct                                []bool
	rare                                        []int32
}

// bitBytes[b] has byte j set to 1 when bit j of b is: eight bools at once.
var bitBytes = func() (t [256]uint64) {
	for b := range t {
		for j := range 8 {
			if b>>j&1 != 0 {
				t[b] |= 1 << (8 * j)
			}
		}
	}
	return t
}()

// binaryProbVec runs the first loop of binaryProbFast on whole blocks of 8
// rows from row i, while every row of a block is valid, with the scalar
// loop's operations (so the same bits); it returns the row it stopped at and
// the rare list. Without AVX-512 it returns i.
func binaryProbVec[T Float](i int, lab []int64, p []T, lo, hi float64, countClip bool,
	qb []uint64, ql []float64, clip []int32, conf, brier []float64, out, correct []bool, rare []int32) (int, []int32) {
	if !useAVX512 || !(lo <= hi) {
		return i, rare
	}
	bc := archsimd.BroadcastFloat64x8
	k := binaryBlock{lo: bc(lo), hi: bc(hi), zero: bc(0), one: bc(1), half: bc(0.5),
		oneBits: bc(1).AsUint64x8().AsFloat64x8(), c52: archsimd.BroadcastUint64x8(0x0010000000000000).AsFloat64x8(),
		cLim:      archsimd.BroadcastUint64x8(0x7ff0000000000000 - 0x0010000000000000).AsFloat64x8(),
		countClip: countClip, lab: lab, qb: qb, ql: ql, conf: conf, brier: brier, clip: clip, out: out, correct: correct, rare: rare}
	n := len(p)
	switch v := any(p).(type) {
	case []float64:
		for ; i+8 <= n && k.step(i, archsimd.LoadFloat64x8Slice(v[i:])); i += 8 {
		}
	case []float32:
		for ; i+8 <= n && k.step(i, archsimd.LoadFloat32x8Slice(v[i:]).ConvertToFloat64()); i += 8 {
		}
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return i, k.rare
}

// step does rows i..i+7 with probabilities v, or reports false (and does
// nothing) if one of them is invalid.
func (k *binaryBlock) step(i int, v archsimd.Float64x8) bool {
	y := archsimd.LoadInt64x8Slice(k.lab[i:])
	valid := y.AsUint64x8().LessEqual(archsimd.BroadcastUint64x8(1)).And(v.GreaterEqual(k.zero)).And(v.LessEqual(k.one))
	if valid.ToBits() != 0xff {
		return false
	}
	low, high := v.Less(k.lo), v.Greater(k.hi)
	pc := k.lo.Merge(v, low)
	pc = k.hi.Merge(pc, high) // lo <= hi: a row below lo is not above hi
	if k.countClip {
		if cb := low.Or(high).ToBits(); cb != 0 {
			for j := range 8 {
				if cb>>j&1 != 0 {
					k.clip[i+j] = 1
				}
			}
		}
	}
	yb := y.Equal(archsimd.BroadcastInt64x8(1))
	h0 := k.one.Sub(pc)
	l0 := k.one.Sub(h0).Sub(pc) // exact: Fast2Sum
	b := pc.Merge(h0, yb).AsUint64x8()
	l := k.zero.Merge(l0, yb)
	d := k.one.Sub(v).Merge(v, yb)
	// The outcome's probability is 0 or subnormal: done apart, as rare.
	r := b.Sub(k.c52.AsUint64x8()).GreaterEqual(k.cLim.AsUint64x8())
	if rb := r.ToBits(); rb != 0 {
		b = k.oneBits.AsUint64x8().Merge(b, r)
		l = k.zero.Merge(l, r)
		for j := range 8 {
			if rb>>j&1 != 0 {
				k.rare = append(k.rare, int32(i+j))
			}
		}
	}
	b.StoreSlice(k.qb[i:])
	l.StoreSlice(k.ql[i:])
	v.StoreSlice(k.conf[i:])
	d.Mul(d).StoreSlice(k.brier[i:])
	ob := yb.ToBits()
	cb := ^(v.GreaterEqual(k.half).ToBits() ^ ob)
	*(*uint64)(unsafe.Pointer(&k.out[i])) = bitBytes[ob]
	*(*uint64)(unsafe.Pointer(&k.correct[i])) = bitBytes[cb]
	return true
}
