//go:build goexperiment.simd && amd64

package reader

import (
	"math/bits"
	"simd/archsimd"
	"unsafe"
)

// maxIndexVec is the largest of the whole blocks of 16 at the start of
// idx taken as unsigned, and how many it looked at (none without AVX-512).
func maxIndexVec(idx []int32) (uint32, int) {
	if !archsimd.X86.AVX512() || len(idx) < 16 {
		return 0, 0
	}
	u := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(idx))), len(idx))
	m := archsimd.LoadUint32x16Slice(u)
	i := 16
	for ; i+16 <= len(u); i += 16 {
		m = m.Max(archsimd.LoadUint32x16Slice(u[i:]))
	}
	var v [16]uint32
	m.Store(&v)
	archsimd.ClearAVXUpperBits()
	mx := v[0]
	for _, x := range v[1:] {
		mx = max(mx, x)
	}
	return mx, i
}

// countLevelsVec counts the levels equal to max in the whole blocks of 64
// at the start of levels, 64 at a time, and reports how many it looked at
// and whether one of them is above max (none without AVX-512).
func countLevelsVec(levels []byte, max byte) (n, done int, over bool) {
	if !archsimd.X86.AVX512() || len(levels) < 64 {
		return 0, 0, false
	}
	mm := archsimd.BroadcastUint8x64(max)
	var gt uint64
	for ; done+64 <= len(levels); done += 64 {
		x := archsimd.LoadUint8x64Slice(levels[done:])
		n += bits.OnesCount64(x.Equal(mm).ToBits())
		gt |= x.Greater(mm).ToBits()
	}
	archsimd.ClearAVXUpperBits()
	return n, done, gt != 0
}
