//go:build goexperiment.simd && amd64

package reader

import (
	"simd/archsimd"
	"unsafe"
)

// useVecIntern is whether encodeShortVec runs on this processor: AVX-512
// with VPERMB (VBMI).
var useVecIntern = archsimd.X86.AVX512() && archsimd.X86.AVX512VBMI()

// encodeShortVec is the vector loop of encodeShort: it encodes whole
// blocks of eight rows from the start of codes (offs holds their offsets,
// one more than rows) whose values are all in the short set (see
// strIntern), and returns how many rows it encoded: it stops at the first
// block it cannot encode, counting a miss when that is for its values
// rather than the end of data.
//
// For a block whose values span at most 64 bytes of data, the 64 bytes
// from the first value on are loaded and each lane's value is permuted
// into place (VPERMB: byte j of lane k is byte rel_k+j of the window, rel_k
// the value's start in it), masked to its length: the value's bytes, zero
// padded, as the set holds them. The lane's slot (shortSlot) is looked up in
// the 16-slot tables (VPERMI2Q), and the block is taken when every lane's
// bytes and length (at most 9: any longer value fails) are its slot's.
func encodeShortVec[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte) int {
	nb := len(codes) &^ 7
	if nb == 0 || len(data) < 64 {
		return 0
	}
	offs = offs[:nb+1]
	var o64 []int64
	var o32 []int32
	if unsafe.Sizeof(offs[0]) == 8 {
		o64 = unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(offs))), len(offs))
	} else {
		o32 = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(offs))), len(offs))
	}
	out := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(codes))), nb)
	wLo, wHi := archsimd.LoadUint64x8Slice(s.tw[:8]), archsimd.LoadUint64x8Slice(s.tw[8:])
	cLo, cHi := archsimd.LoadUint64x8Slice(s.tnc[:8]), archsimd.LoadUint64x8Slice(s.tnc[8:])
	ones := archsimd.BroadcastUint64x8(^uint64(0))
	spread := archsimd.BroadcastUint64x8(0x0101010101010101)
	step := archsimd.BroadcastUint64x8(0x0706050403020100)
	nine := archsimd.BroadcastUint64x8(9)
	mul := archsimd.BroadcastUint64x8(s.shortMul)
	var zero archsimd.Uint64x8
	limit := int64(len(data) - 64)
	i := 0
	for ; i < nb; i += 8 {
		var o, o1 archsimd.Int64x8
		var base, end int64
		if o64 != nil {
			base, end = o64[i], o64[i+8]
			o, o1 = archsimd.LoadInt64x8Slice(o64[i:i+8]), archsimd.LoadInt64x8Slice(o64[i+1:i+9])
		} else {
			base, end = int64(o32[i]), int64(o32[i+8])
			o = archsimd.LoadInt32x8Slice(o32[i : i+8]).ExtendToInt64()
			o1 = archsimd.LoadInt32x8Slice(o32[i+1 : i+9]).ExtendToInt64()
		}
		if base > limit {
			break
		}
		if end-base > 64 {
			s.fastMissed()
			break
		}
		n := o1.Sub(o).AsUint64x8()
		rel := o.Sub(archsimd.BroadcastInt64x8(base)).AsUint64x8()
		win := archsimd.LoadUint8x64Slice(data[base : base+64])
		w := win.Permute(rel.Mul(spread).Add(step).AsUint8x64()).AsUint64x8().AndNot(ones.ShiftLeft(n.ShiftAllLeft(3)))
		n = n.Min(nine)
		slot := w.Xor(n.ShiftAllLeft(59)).Mul(mul).ShiftAllRight(60)
		ew := wLo.ConcatPermute(wHi, slot)
		enc := cLo.ConcatPermute(cHi, slot)
		miss := w.Xor(ew).Or(n.Xor(enc.ShiftAllRight(32))).NotEqual(zero)
		if miss.ToBits() != 0 {
			s.fastMissed()
			break
		}
		enc.TruncateToUint32().StoreSlice(out[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
	s.rows += int64(i)
	s.fastRows += int64(i)
	return i
}
