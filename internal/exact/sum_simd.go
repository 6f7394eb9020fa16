//go:build goexperiment.simd && amd64

package exact

import (
	"math"
	"simd/archsimd"
)

// useAVX512 is whether the vector loop runs on this processor.
var useAVX512 = archsimd.X86.AVX512()

// The vector loop of AddSlice takes eight terms at a time. A term in
// [2^-44, 2^20) is m·2^(e-52) with m < 2^53 and e in [-44, 19], so x·2^96 =
// m·2^(e+44) is an integer below 2^116: its four 32-bit limbs are added,
// with the term's sign, into per-lane int64 sums, which take 2^31 terms
// each before they could overflow. Every vecFold blocks (and at the end)
// the lanes' limb sums, below 2^52 in magnitude, go into the chunks as
// exact float64 terms. Terms outside the range take Add. The total is the
// same exact sum as the scalar loop's.
const (
	vecMinExp = 1023 - 44 // biased exponent of 2^-44
	vecSpan   = 64        // e+44 in [0, 63]
	vecFold   = 1 << 17   // blocks of 8 between folds: 8 lanes · 2^17 · 2^32 < 2^52
)

// addSliceVec adds the whole blocks of 8 at the start of xs and returns how
// many terms it took (0 without AVX-512).
func (s *Sum) addSliceVec(xs []float64) int {
	if !useAVX512 || len(xs) < 8 {
		return 0
	}
	n := len(xs) &^ 7
	b := archsimd.BroadcastUint64x8
	expMask, minExp, span := b(0x7ff), b(vecMinExp), b(vecSpan)
	mant, implicit, low32, c64 := b(1<<52-1), b(1<<52), b(1<<32-1), b(64)
	for i := 0; i < n; {
		end := min(n, i+8*vecFold)
		var l0, l1, l2, l3 archsimd.Int64x8
		// Blocks with a term out of range are listed, and those terms
		// added after the loop: a call in the loop would keep the lane
		// sums in memory, and each block would wait on the store of the
		// last (1.5x the time).
		var rare [rareMax]int32
		nr := 0
		for ; i < end && nr < rareMax; i += 8 {
			x := archsimd.LoadFloat64x8Slice(xs[i:]).AsUint64x8()
			sh := x.ShiftAllRight(52).And(expMask).Sub(minExp) // wraps below the range
			in := sh.Less(span)
			m := x.And(mant).Or(implicit).Masked(in) // lanes outside: 0
			lo := m.ShiftLeft(sh)
			hi := m.ShiftRight(c64.Sub(sh)) // a count of 64 gives 0
			neg := x.AsInt64x8().ShiftAllRight(63)
			l0 = l0.Add(lo.And(low32).AsInt64x8().Xor(neg).Sub(neg))
			l1 = l1.Add(lo.ShiftAllRight(32).AsInt64x8().Xor(neg).Sub(neg))
			l2 = l2.Add(hi.And(low32).AsInt64x8().Xor(neg).Sub(neg))
			l3 = l3.Add(hi.ShiftAllRight(32).AsInt64x8().Xor(neg).Sub(neg))
			if in.ToBits() != 0xff {
				rare[nr] = int32(i)
				nr++
			}
		}
		for _, i := range rare[:nr] {
			for _, x := range xs[i : i+8] {
				if math.Float64bits(x)>>52&0x7ff-vecMinExp >= vecSpan {
					s.Add(x)
				}
			}
		}
		// Copies: the address of a lane sum would keep it in memory.
		a0, a1, a2, a3 := l0, l1, l2, l3
		s.addLimbs(0x1p-96, &a0)
		s.addLimbs(0x1p-64, &a1)
		s.addLimbs(0x1p-32, &a2)
		s.addLimbs(1, &a3)
	}
	// VZEROUPPER: the scalar (SSE) code that follows runs slower while the
	// upper halves of the vector registers are dirty (the binary task's
	// log took 2.8x as long).
	archsimd.ClearAVXUpperBits()
	return n
}

// The vector loop of AddSquares: a term x in [2^-30, 2^14) is m·2^(e-52)
// with e in [-30, 13], so X = x·2^82 = m·2^(e+30) is an integer below 2^96
// with 32-bit pieces X0, X1, X2, and x² = X²·2^-164 is the sum of the six
// products Xi·Xj (below 2^64 each) at 32(i+j) bits, the mixed ones twice.
// Their 32-bit halves go into six per-lane limb sums, each add below 5·2^32.
const (
	sqMinExp = 1023 - 30 // biased exponent of 2^-30
	sqSpan   = 44        // e+30 in [0, 43]
	sqFold   = 1 << 14   // blocks between folds: 8 lanes · 2^14 · 5·2^32 < 2^52
)

// addSquaresVec adds x*x for the whole blocks of 8 at the start of xs and
// returns how many terms it took (0 without AVX-512).
func (s *Sum) addSquaresVec(xs []float64) int {
	if !useAVX512 || len(xs) < 8 {
		return 0
	}
	n := len(xs) &^ 7
	b := archsimd.BroadcastUint64x8
	expMask, minExp, span := b(0x7ff), b(sqMinExp), b(sqSpan)
	mant, implicit, low32, c64 := b(1<<52-1), b(1<<52), b(1<<32-1), b(64)
	for i := 0; i < n; {
		end := min(n, i+8*sqFold)
		var l0, l1, l2, l3, l4, l5 archsimd.Uint64x8
		for ; i < end; i += 8 {
			x := archsimd.LoadFloat64x8Slice(xs[i:]).AsUint64x8()
			sh := x.ShiftAllRight(52).And(expMask).Sub(minExp)
			in := sh.Less(span)
			m := x.And(mant).Or(implicit).Masked(in)
			lo := m.ShiftLeft(sh)
			x0, x1 := lo.And(low32), lo.ShiftAllRight(32)
			x2 := m.ShiftRight(c64.Sub(sh)) // below 2^32 for sh <= 43
			p00, p11, p22 := x0.Mul(x0), x1.Mul(x1), x2.Mul(x2)
			p01, p02, p12 := x0.Mul(x1), x0.Mul(x2), x1.Mul(x2)
			l0 = l0.Add(p00.And(low32))
			l1 = l1.Add(p00.ShiftAllRight(32)).Add(p01.And(low32).ShiftAllLeft(1))
			l2 = l2.Add(p01.ShiftAllRight(32).ShiftAllLeft(1)).Add(p02.And(low32).ShiftAllLeft(1)).Add(p11.And(low32))
			l3 = l3.Add(p02.ShiftAllRight(32).ShiftAllLeft(1)).Add(p11.ShiftAllRight(32)).Add(p12.And(low32).ShiftAllLeft(1))
			l4 = l4.Add(p12.ShiftAllRight(32).ShiftAllLeft(1)).Add(p22.And(low32))
			l5 = l5.Add(p22.ShiftAllRight(32))
			if bits := in.ToBits(); bits != 0xff {
				for j := range 8 {
					if bits&(1<<j) == 0 {
						s.AddProduct(xs[i+j], xs[i+j])
					}
				}
			}
		}
		for j, l := range [...]*archsimd.Uint64x8{&l0, &l1, &l2, &l3, &l4, &l5} {
			a := l.AsInt64x8()
			s.addLimbs(math.Ldexp(1, 32*j-164), &a)
		}
	}
	archsimd.ClearAVXUpperBits()
	return n
}

// rareMax is how many blocks with a term out of range addSliceVec lists
// before it stops to add those terms.
const rareMax = 64

// addLimbs adds scale times the sum of the lanes of l (below 2^52 in
// magnitude: an exact float64).
func (s *Sum) addLimbs(scale float64, l *archsimd.Int64x8) {
	var a [8]int64
	l.Store(&a)
	t := a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7]
	if t != 0 {
		s.Add(scale * float64(t))
	}
}
