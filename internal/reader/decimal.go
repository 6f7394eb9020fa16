package reader

// DECIMAL columns are read as float64: the nearest double to
// unscaled / 10^scale (ties to even), as strconv.ParseFloat rounds the
// decimal string. An unscaled value of at most 2^53 in magnitude and a scale
// of at most 22 are both exact doubles, so one IEEE division rounds their
// exact quotient correctly; other values go through strconv.ParseFloat.

import (
	"math/big"
	"strconv"
	"unsafe"
)

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimalInt returns the nearest float64 to u / 10^scale (scale >= 0).
func decimalInt(u int64, scale int32) float64 {
	if scale >= 0 && int(scale) < len(pow10) && u >= -1<<53 && u <= 1<<53 {
		return float64(u) / pow10[scale]
	}
	var buf [48]byte
	return parseScaled(strconv.AppendInt(buf[:0], u, 10), scale)
}

// parseScaled returns the nearest float64 to the decimal integer digits
// times 10^-scale. digits has room to append the exponent.
func parseScaled(digits []byte, scale int32) float64 {
	b := append(digits, 'e')
	b = strconv.AppendInt(b, -int64(scale), 10)
	// The syntax is known valid; the range is at most ±1e38 × 10^-scale,
	// which may round to 0 or overflow to ±Inf (ParseFloat's result then).
	v, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	return v
}

// decimalFixed returns the nearest float64 to the big-endian two's
// complement integer b divided by 10^scale.
func decimalFixed(b []byte, scale int32) float64 {
	if len(b) == 0 {
		return 0
	}
	// Leading bytes that only extend the sign do not count.
	neg := b[0]&0x80 != 0
	ext := byte(0)
	if neg {
		ext = 0xff
	}
	for len(b) > 8 && b[0] == ext && (b[1]&0x80 != 0) == neg {
		b = b[1:]
	}
	if len(b) <= 8 {
		var u uint64
		if neg {
			u = ^uint64(0)
		}
		for _, x := range b {
			u = u<<8 | uint64(x)
		}
		return decimalInt(int64(u), scale)
	}
	var z big.Int
	z.SetBytes(b)
	if neg {
		// Two's complement: z - 2^(8 len(b)).
		var m big.Int
		m.Lsh(big.NewInt(1), uint(8*len(b)))
		z.Sub(&z, &m)
	}
	return parseScaled(z.Append(nil, 10), scale)
}

// decimalsInt32 appends the values of unscaled int32 decimals.
func decimalsInt32(dst []float64, src []int32, scale int32) []float64 {
	start := len(dst)
	dst = grow(dst, start+len(src))
	out := dst[start:]
	for k, v := range src {
		out[k] = decimalInt(int64(v), scale)
	}
	return dst
}

// decimalsInt64 appends the values of unscaled int64 decimals.
func decimalsInt64(dst []float64, src []int64, scale int32) []float64 {
	start := len(dst)
	dst = grow(dst, start+len(src))
	out := dst[start:]
	for k, v := range src {
		out[k] = decimalInt(v, scale)
	}
	return dst
}

// decimalsFixed appends the values of the fixed-size decimals in b.
func decimalsFixed(dst []float64, b []byte, size int, scale int32) []float64 {
	n := len(b) / size
	start := len(dst)
	dst = grow(dst, start+n)
	out := dst[start:]
	for k := range out {
		out[k] = decimalFixed(b[k*size:(k+1)*size], scale)
	}
	return dst
}

// decimalLE returns the nearest float64 to the little-endian two's
// complement integer b (Arrow's decimal layout) divided by 10^scale.
func decimalLE(b []byte, scale int32) float64 {
	var be [32]byte
	n := min(len(b), len(be))
	for i := range n {
		be[n-1-i] = b[i]
	}
	return decimalFixed(be[:n], scale)
}
