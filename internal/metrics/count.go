package metrics

import (
	"encoding/binary"
	"unsafe"
)

// countTrue is how many of bs are true, eight at a time: a bool is one
// byte of 0 or 1, so adding 8-byte words adds eight counts at once (up to
// 255 words before a byte could carry).
func countTrue(bs []bool) int64 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bs))), len(bs))
	var n int64
	for len(b) >= 8 {
		var acc uint64
		k := min(len(b)/8, 255)
		for i := range k {
			acc += binary.LittleEndian.Uint64(b[8*i:])
		}
		b = b[8*k:]
		// The byte sums, pairwise, then the four 16-bit sums.
		acc = acc&0x00ff00ff00ff00ff + acc>>8&0x00ff00ff00ff00ff
		n += int64(acc * 0x0001000100010001 >> 48)
	}
	for _, c := range b {
		n += int64(c)
	}
	return n
}

// sumInt32 is the sum of xs, which are mostly all 0 (per-row clip
// counts): one OR per two values finds that, else they are added.
func sumInt32(xs []int32) int64 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(xs))), 4*len(xs))
	var or uint64
	for ; len(b) >= 8; b = b[8:] {
		or |= binary.LittleEndian.Uint64(b)
	}
	if len(b) == 4 {
		or |= uint64(binary.LittleEndian.Uint32(b))
	}
	if or == 0 {
		return 0
	}
	var n int64
	for _, x := range xs {
		n += int64(x)
	}
	return n
}
