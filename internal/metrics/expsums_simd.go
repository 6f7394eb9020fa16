//go:build goexperiment.simd && amd64

package metrics

import (
	"math"
	"math/bits"
	"simd/archsimd"
)

// useAVX512 is whether the vector kernels run on this processor.
var useAVX512 = archsimd.X86.AVX512()

// VectorKernels says which vector kernels this build runs.
func VectorKernels() string {
	if useAVX512 {
		return "AVX-512"
	}
	return "none (this processor has no AVX-512)"
}

// The exp16 table as vectors: tails and bits, entries 0-7 and 8-15.
var exp16TailLo, exp16TailHi, exp16BitsLo, exp16BitsHi [8]float64

func init() {
	for j := range 8 {
		exp16TailLo[j] = math.Float64frombits(exp16Tab[j][0])
		exp16TailHi[j] = math.Float64frombits(exp16Tab[j+8][0])
		exp16BitsLo[j] = math.Float64frombits(exp16Tab[j][1])
		exp16BitsHi[j] = math.Float64frombits(exp16Tab[j+8][1])
	}
}

// expVec adds e^(z_k - m) and its square into lanes k mod 8 of ls and lq
// for the whole blocks of 8 at the start of z, exactly as expSums's scalar
// loop does, and returns how many elements it took. It stops before a
// block with an x = z_k - m outside exp16's range (or NaN).
func expVec[T Float](z []T, m float64, ls, lq *[8]float64) int {
	if !useAVX512 || len(z) < 8 {
		return 0
	}
	n := 0
	switch v := any(z).(type) {
	case []float32:
		n = expVec32(v, m, ls, lq)
	case []float64:
		n = expVec64(v, m, ls, lq)
	}
	archsimd.ClearAVXUpperBits() // see below
	return n
}

// Every vector loop ends with archsimd.ClearAVXUpperBits (VZEROUPPER):
// the scalar code the compiler emits (SSE, at GOAMD64 v1) runs slower
// while the upper halves of the vector registers are dirty. Without it,
// the binary task's scalar log took 2.8x as long after the vector exact
// sums.

func expVec32(z []float32, m float64, ls, lq *[8]float64) int {
	k := expConsts(m)
	s, q := archsimd.LoadFloat64x8(ls), archsimd.LoadFloat64x8(lq)
	i := 0
	for ; i+8 <= len(z); i += 8 {
		x := archsimd.LoadFloat32x8Slice(z[i:]).ConvertToFloat64().Sub(k.m)
		if x.GreaterEqual(k.lim).ToBits() != 0xff {
			break
		}
		e := k.exp(x)
		s = s.Add(e)
		q = q.Add(e.Mul(e))
	}
	s.Store(ls)
	q.Store(lq)
	return i
}

func expVec64(z []float64, m float64, ls, lq *[8]float64) int {
	k := expConsts(m)
	s, q := archsimd.LoadFloat64x8(ls), archsimd.LoadFloat64x8(lq)
	i := 0
	for ; i+8 <= len(z); i += 8 {
		x := archsimd.LoadFloat64x8Slice(z[i:]).Sub(k.m)
		if x.GreaterEqual(k.lim).ToBits() != 0xff {
			break
		}
		e := k.exp(x)
		s = s.Add(e)
		q = q.Add(e.Mul(e))
	}
	s.Store(ls)
	q.Store(lq)
	return i
}

type expK struct {
	m, lim, invLn2N, shift, negHi, negLo, half, c3, c4, c5, c6, c7 archsimd.Float64x8
	tailLo, tailHi, bitsLo, bitsHi                                 archsimd.Float64x8
}

func expConsts(m float64) expK {
	b := archsimd.BroadcastFloat64x8
	return expK{
		m: b(m), lim: b(exp16Min), invLn2N: b(exp16InvLn2N), shift: b(expShift),
		negHi: b(-exp16Ln2HiN), negLo: b(-exp16Ln2LoN), half: b(0.5),
		c3: b(exp16C3), c4: b(exp16C4), c5: b(exp16C5), c6: b(exp16C6), c7: b(exp16C7),
		tailLo: archsimd.LoadFloat64x8(&exp16TailLo), tailHi: archsimd.LoadFloat64x8(&exp16TailHi),
		bitsLo: archsimd.LoadFloat64x8(&exp16BitsLo), bitsHi: archsimd.LoadFloat64x8(&exp16BitsHi),
	}
}

// exp is exp16 on eight lanes, operation for operation.
func (k *expK) exp(x archsimd.Float64x8) archsimd.Float64x8 {
	kd := x.Mul(k.invLn2N).Add(k.shift)
	ki := kd.AsInt64x8()
	kd = kd.Sub(k.shift)
	r := kd.MulAdd(k.negHi, x)
	r = kd.MulAdd(k.negLo, r)
	idx := ki.AsUint64x8() // VPERMI2PD uses the low 4 bits: k mod 16
	tail := k.tailLo.ConcatPermute(k.tailHi, idx)
	scale := k.bitsLo.ConcatPermute(k.bitsHi, idx).AsInt64x8().Add(ki.ShiftAllLeft(48)).AsFloat64x8()
	r2 := r.Mul(r)
	a := r.Mul(k.c3).Add(k.half)
	b := r.Mul(k.c5).Add(k.c4)
	c := r.Mul(k.c7).Add(k.c6)
	p := r2.Mul(r2.Mul(c).Add(b)).Add(a)
	tmp := r2.Mul(p).Add(tail.Add(r))
	return scale.Add(scale.Mul(tmp))
}

// argmaxVec is the first index of the largest element of z, which must hold
// no NaN (LogitsRow's rows are checked first), and whether it ran: rows
// shorter than a vector are left to the scalar loop. The largest value is
// found 16 (or 8) lanes at a time, then its first index by comparison, so
// the answer is the scalar loop's.
func argmaxVec[T Float](z []T) (int, bool) {
	if !useAVX512 {
		return 0, false
	}
	k, ok := 0, false
	switch v := any(z).(type) {
	case []float32:
		k, ok = argmax32(v)
	case []float64:
		k, ok = argmax64(v)
	}
	archsimd.ClearAVXUpperBits()
	return k, ok
}

// argmaxFiniteVec is argmaxVec for a row that may hold NaN or ±Inf: it
// also reports whether every element is finite (the argmax is meaningless
// when one is not), in the same pass over the row as the maximum.
func argmaxFiniteVec[T Float](z []T) (k int, finite, ok bool) {
	if !useAVX512 {
		return 0, false, false
	}
	switch v := any(z).(type) {
	case []float32:
		k, finite, ok = argmaxFinite32(v)
	case []float64:
		k, ok = argmax64(v)
		if ok {
			j, _ := firstNonFinite(v)
			finite = j < 0
		}
	}
	archsimd.ClearAVXUpperBits()
	return k, finite, ok
}

func argmax32(z []float32) (int, bool) {
	n := len(z)
	if n < 16 {
		return 0, false
	}
	mv := archsimd.LoadFloat32x16Slice(z)
	for i := 16; i+16 <= n; i += 16 {
		mv = mv.Max(archsimd.LoadFloat32x16Slice(z[i:]))
	}
	mv = mv.Max(archsimd.LoadFloat32x16Slice(z[n-16:])) // the tail, overlapping
	return firstOf32(z, mv)
}

// firstOf32 is the first index of the largest of the 16 lanes of mv in z.
func firstOf32(z []float32, mv archsimd.Float32x16) (int, bool) {
	n := len(z)
	var l [16]float32
	mv.Store(&l)
	m := l[0]
	for _, v := range l[1:] {
		m = max(m, v)
	}
	want := archsimd.BroadcastFloat32x16(m)
	for i := 0; i+16 <= n; i += 16 {
		if b := archsimd.LoadFloat32x16Slice(z[i:]).Equal(want).ToBits(); b != 0 {
			return i + bits.TrailingZeros16(b), true
		}
	}
	for i := n &^ 15; i < n; i++ {
		if z[i] == m {
			return i, true
		}
	}
	return 0, false // not reached for a row without NaN
}

// argmaxFinite32: z[i] - z[i] is 0 for a finite element and NaN for any
// other, and a sum of them is NaN when one is: the finiteness check costs
// two operations per 16 elements of the pass that finds the maximum.
func argmaxFinite32(z []float32) (int, bool, bool) {
	n := len(z)
	if n < 16 {
		return 0, false, false
	}
	mv := archsimd.LoadFloat32x16Slice(z)
	fin := mv.Sub(mv)
	for i := 16; i+16 <= n; i += 16 {
		x := archsimd.LoadFloat32x16Slice(z[i:])
		mv = mv.Max(x)
		fin = fin.Add(x.Sub(x))
	}
	x := archsimd.LoadFloat32x16Slice(z[n-16:]) // the tail, overlapping
	mv = mv.Max(x)
	fin = fin.Add(x.Sub(x))
	var f [16]float32
	fin.Store(&f)
	for _, v := range f {
		if v != 0 {
			return 0, false, true
		}
	}
	k, ok := firstOf32(z, mv)
	return k, true, ok
}

func argmax64(z []float64) (int, bool) {
	n := len(z)
	if n < 8 {
		return 0, false
	}
	mv := archsimd.LoadFloat64x8Slice(z)
	for i := 8; i+8 <= n; i += 8 {
		mv = mv.Max(archsimd.LoadFloat64x8Slice(z[i:]))
	}
	mv = mv.Max(archsimd.LoadFloat64x8Slice(z[n-8:]))
	var l [8]float64
	mv.Store(&l)
	m := l[0]
	for _, v := range l[1:] {
		m = max(m, v)
	}
	want := archsimd.BroadcastFloat64x8(m)
	for i := 0; i+8 <= n; i += 8 {
		if b := archsimd.LoadFloat64x8Slice(z[i:]).Equal(want).ToBits(); b != 0 {
			return i + bits.TrailingZeros8(b), true
		}
	}
	for i := n &^ 7; i < n; i++ {
		if z[i] == m {
			return i, true
		}
	}
	return 0, false
}

// firstNonFiniteVec is the index of the first NaN or infinite element of z
// (-1 if none), and whether it ran (rows shorter than a vector are left to
// the scalar loop). v - v is 0 exactly when v is finite.
func firstNonFiniteVec[T Float](z []T) (int, bool) {
	if !useAVX512 {
		return 0, false
	}
	k, ok := firstNonFinite(z)
	archsimd.ClearAVXUpperBits()
	return k, ok
}

func firstNonFinite[T Float](z []T) (int, bool) {
	switch v := any(z).(type) {
	case []float32:
		n := len(v)
		if n < 16 {
			return 0, false
		}
		zero := archsimd.BroadcastFloat32x16(0)
		i := 0
		for ; i+16 <= n; i += 16 {
			x := archsimd.LoadFloat32x16Slice(v[i:])
			if b := x.Sub(x).Equal(zero).ToBits(); b != 0xffff {
				return i + bits.TrailingZeros16(^b), true
			}
		}
		for ; i < n; i++ {
			if v[i]-v[i] != 0 {
				return i, true
			}
		}
		return -1, true
	case []float64:
		n := len(v)
		if n < 8 {
			return 0, false
		}
		zero := archsimd.BroadcastFloat64x8(0)
		i := 0
		for ; i+8 <= n; i += 8 {
			x := archsimd.LoadFloat64x8Slice(v[i:])
			if b := x.Sub(x).Equal(zero).ToBits(); b != 0xff {
				return i + bits.TrailingZeros8(^b), true
			}
		}
		for ; i < n; i++ {
			if v[i]-v[i] != 0 {
				return i, true
			}
		}
		return -1, true
	}
	return 0, false
}
