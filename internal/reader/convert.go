package reader

import (
	"encoding/binary"
	"math"
)

// grow returns s resliced to length n, reallocating (and keeping its
// contents) when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	t := make([]T, n, max(n, 2*cap(s)))
	copy(t, s)
	return t
}

// gather appends dict[i] for each index; the indexes are known in range.
func gather[T any, I int32 | int64](dst, dict []T, idx []I) []T {
	start := len(dst)
	dst = grow(dst, start+len(idx))
	out := dst[start:]
	for k, i := range idx {
		out[k] = dict[i]
	}
	return dst
}

// unpackBits appends bits [lo, hi) of an LSB-first bitmap as bools.
func unpackBits(dst []bool, bits []byte, lo, hi int) []bool {
	start := len(dst)
	dst = grow(dst, start+hi-lo)
	out := dst[start:]
	for k := range out {
		i := lo + k
		out[k] = bits[i>>3]>>(i&7)&1 != 0
	}
	return dst
}

func widenInt32(dst []int64, src []int32) []int64 {
	start := len(dst)
	dst = grow(dst, start+len(src))
	out := dst[start:]
	for k, v := range src {
		out[k] = int64(v)
	}
	return dst
}

func widenUint32(dst []int64, src []uint32) []int64 {
	start := len(dst)
	dst = grow(dst, start+len(src))
	out := dst[start:]
	for k, v := range src {
		out[k] = int64(v)
	}
	return dst
}

// halfsToFloat32 appends the little-endian IEEE half-precision values of b.
func halfsToFloat32(dst []float32, b []byte) []float32 {
	n := len(b) / 2
	start := len(dst)
	dst = grow(dst, start+n)
	out := dst[start:]
	for k := range out {
		out[k] = halfToFloat32(binary.LittleEndian.Uint16(b[2*k:]))
	}
	return dst
}

// halfToFloat32 widens an IEEE 754 half-precision value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // infinity or NaN (the payload is kept)
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: mant × 2^-24, exact in float32.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
