//go:build goexperiment.simd && amd64

package metrics

import "simd/archsimd"

// tokensVec adds the magnitudes of the whole blocks of 8 at the start of vs
// to a, as tokAcc.addTerm does, and returns how many elements it took; false
// when a block holds an element that is not 0 and not a negative number of
// magnitude in [2^-44, 2^20) (the caller then sums the row another way).
// Each lane sums the term's four 32-bit limbs (of m·2^sh, below 2^116)
// into four lane sums, which hold 2^32 blocks before they could overflow.
func tokensVec[T Float](vs []T, a *tokAcc) (int, bool) {
	if !useAVX512 || len(vs) < 8 {
		return 0, true
	}
	var n int
	var ok bool
	switch v := any(vs).(type) {
	case []float32:
		n, ok = tokensVec32(v, a)
	case []float64:
		n, ok = tokensVec64(v, a)
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return n, ok
}

// tokConst are the constants of tokensVec's loops: for a term's bit
// pattern u, negative and in range is u - base < span (unsigned), and the
// shift of its mantissa is u>>52 - exp0 (the sign bit included).
type tokConst struct{ base, span, exp0, mant, implicit, low32, c64, zero archsimd.Uint64x8 }

func tokConsts() tokConst {
	b := archsimd.BroadcastUint64x8
	return tokConst{base: b(1<<63 | tokMinExp<<52), span: b(tokSpan << 52), exp0: b(1<<11 | tokMinExp),
		mant: b(1<<52 - 1), implicit: b(1 << 52), low32: b(1<<32 - 1), c64: b(64)}
}

// tokAddLanes adds the lane sums to a.
func tokAddLanes(a *tokAcc, l0, l1, l2, l3 archsimd.Uint64x8) {
	for j, l := range [...]archsimd.Uint64x8{l0, l1, l2, l3} {
		var s [8]uint64
		l.Store(&s)
		a.add(s[0]+s[1]+s[2]+s[3]+s[4]+s[5]+s[6]+s[7], uint(32*j))
	}
}

// The loops of tokensVec, for float32 and float64 lists: the same body
// on the terms as float64 bit patterns u.

func tokensVec32(v []float32, a *tokAcc) (int, bool) {
	k := tokConsts()
	var l0, l1, l2, l3 archsimd.Uint64x8
	i := 0
	for ; i+8 <= len(v); i += 8 {
		u := archsimd.LoadFloat32x8Slice(v[i:]).ConvertToFloat64().AsUint64x8()
		in := u.Sub(k.base).Less(k.span)
		if in.Or(u.ShiftAllLeft(1).Equal(k.zero)).ToBits() != 0xff {
			return i, false
		}
		m := u.And(k.mant).Or(k.implicit).Masked(in) // ±0: 0
		sh := u.ShiftAllRight(52).Sub(k.exp0)
		lo, hi := m.ShiftLeft(sh), m.ShiftRight(k.c64.Sub(sh)) // a count of 64 gives 0
		l0, l1 = l0.Add(lo.And(k.low32)), l1.Add(lo.ShiftAllRight(32))
		l2, l3 = l2.Add(hi.And(k.low32)), l3.Add(hi.ShiftAllRight(32))
	}
	tokAddLanes(a, l0, l1, l2, l3)
	return i, true
}

func tokensVec64(v []float64, a *tokAcc) (int, bool) {
	k := tokConsts()
	var l0, l1, l2, l3 archsimd.Uint64x8
	i := 0
	for ; i+8 <= len(v); i += 8 {
		u := archsimd.LoadFloat64x8Slice(v[i:]).AsUint64x8()
		in := u.Sub(k.base).Less(k.span)
		if in.Or(u.ShiftAllLeft(1).Equal(k.zero)).ToBits() != 0xff {
			return i, false
		}
		m := u.And(k.mant).Or(k.implicit).Masked(in) // ±0: 0
		sh := u.ShiftAllRight(52).Sub(k.exp0)
		lo, hi := m.ShiftLeft(sh), m.ShiftRight(k.c64.Sub(sh)) // a count of 64 gives 0
		l0, l1 = l0.Add(lo.And(k.low32)), l1.Add(lo.ShiftAllRight(32))
		l2, l3 = l2.Add(hi.And(k.low32)), l3.Add(hi.ShiftAllRight(32))
	}
	tokAddLanes(a, l0, l1, l2, l3)
	return i, true
}
