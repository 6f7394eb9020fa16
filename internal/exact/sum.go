// Package exact sums float64 values with no rounding error, so that a total
// does not depend on the order of its terms nor on how they were split into
// partial sums: the property evalnll's byte-identical reports rest on.
//
// A Sum is a small superaccumulator after R. M. Neal, "Fast exact summation
// using small and large superaccumulators" (2015): the exponent range of
// float64 is cut into 32-bit chunks, each held in an int64 with headroom, and
// a term is added into two neighbouring chunks. Use it in this order:
//
//	var s exact.Sum
//	s.Add(x) // for every term, in any order
//	s.Merge(&other) // partial sums combine exactly
//	v := s.Float64() // the exact total, rounded once to nearest
//
// The zero value is an empty sum. A Sum is a plain value: copying it copies
// the sum. It is not safe for concurrent use.
package exact

import (
	"math"
	"math/big"
	"math/bits"
)

const (
	chunkBits = 32
	nChunks   = 66 // chunk i weighs 2^(32*i - 1074); positions 0..2045 → chunks 0..64, one spare for carries
	// A term adds less than 2^52 in magnitude to a chunk and a carried chunk
	// is below 2^32, so an int64 chunk takes 2^11-1 adds before it can
	// overflow. Carries are propagated well before that.
	addsBeforeCarry = 1024
	mask32          = 1<<chunkBits - 1
)

// Sum is an exact sum of float64 terms.
type Sum struct {
	chunk [nChunks]int64
	adds  int32
	// Non-finite terms are counted apart; they decide the result alone.
	nan, posInf, negInf int64
}

// Add adds x to the sum exactly.
func (s *Sum) Add(x float64) {
	bits := math.Float64bits(x)
	e := int(bits>>52) & 0x7ff
	if e == 0x7ff {
		s.addSpecial(x)
		return
	}
	m := bits & (1<<52 - 1)
	if e != 0 {
		m |= 1 << 52
	} else {
		e = 1
	}
	if m == 0 {
		return
	}
	p := e - 1 // the value is m * 2^(p-1074)
	i := p >> 5
	sh := uint(p & 31)
	lo := int64((m << sh) & mask32)
	hi := int64(m >> (chunkBits - sh))
	if bits>>63 != 0 {
		lo, hi = -lo, -hi
	}
	s.chunk[i] += lo
	s.chunk[i+1] += hi
	s.adds++
	if s.adds >= addsBeforeCarry {
		s.carry()
	}
}

// addNormal adds the normal finite float64 with these bits, without
// counting it: x = m * 2^(p-1074) with p = e-1 in [0, 2045] goes into chunks
// p>>5 and p>>5+1. It inlines.
func (s *Sum) addNormal(bits uint64) {
	p := bits>>52&0x7ff - 1
	m := bits&(1<<52-1) | 1<<52
	neg := int64(bits) >> 63 // 0 or -1: negate without a branch
	i := p >> 5 & 63
	s.chunk[i] += (int64(m<<(p&31)&mask32) ^ neg) - neg
	s.chunk[i+1] += (int64(m>>(chunkBits-p&31)) ^ neg) - neg
}

// addAny adds any x without counting it in s.adds.
func (s *Sum) addAny(x float64) {
	bits := math.Float64bits(x)
	e := bits >> 52 & 0x7ff
	if e == 0x7ff {
		s.addSpecial(x)
		return
	}
	if e != 0 {
		s.addNormal(bits)
		return
	}
	// Zero or subnormal: m * 2^-1074, in chunks 0 and 1.
	m := int64(bits & (1<<52 - 1))
	neg := int64(bits) >> 63
	s.chunk[0] += (m&mask32 ^ neg) - neg
	s.chunk[1] += (m>>chunkBits ^ neg) - neg
}

// Terms whose magnitude lies in [2^-12, 2^11), most NLL, Brier and
// probability terms, are summed by AddSlice and AddSquares in registers, as
// fixed-point integers: such a term is m·2^(e-52) with m < 2^53 and e in
// [-12, 10], so x·2^64 = m·2^(e+12) is an integer below 2^75, and a signed
// 128-bit sum of them is exact for 2^52 terms; x² is m²·2^(2e+24) at
// 2^-128, an integer below 2^150, summed in 192 bits. The integer sums go
// into the chunks once per call, in parts of at most 52 bits (each exactly
// a float64). Other terms take the chunk path. The result is the same
// exact sum either way: only the speed differs (no dependency through the
// chunk array in memory from one term to the next).
const (
	fixMinExp = 1023 - 12 // biased exponent of 2^-12
	fixSpan   = 23        // exponents fixMinExp..fixMinExp+22
)

// AddSlice adds every term of xs: the same as calling Add on each.
func (s *Sum) AddSlice(xs []float64) {
	// Whole blocks of 8 in the vector unit, if there is one (sum_simd.go).
	xs = xs[s.addSliceVec(xs):]
	var lo, hi uint64 // signed 128-bit sum of the fixed-point terms
	for len(xs) > 0 {
		if s.adds >= addsBeforeCarry {
			s.carry()
		}
		n := min(len(xs), addsBeforeCarry-int(s.adds))
		for _, x := range xs[:n] {
			b := math.Float64bits(x)
			if sh := b>>52&0x7ff - fixMinExp; sh < fixSpan {
				m := b&(1<<52-1) | 1<<52
				neg := uint64(int64(b) >> 63) // two's complement: ^v + 1
				var c uint64
				lo, c = bits.Add64(lo, m<<sh^neg, neg&1)
				hi += m>>(64-sh) ^ neg + c
				continue
			}
			if b>>52&0x7ff-1 >= 0x7fe {
				s.addAny(x)
				continue
			}
			s.addNormal(b)
		}
		s.adds += int32(n)
		xs = xs[n:]
	}
	s.addFixed128(lo, hi)
}

// addFixed128 adds the signed 128-bit integer hi:lo times 2^-64.
func (s *Sum) addFixed128(lo, hi uint64) {
	if lo|hi == 0 {
		return
	}
	sign := 1.0
	if int64(hi) < 0 {
		sign = -1
		var c uint64
		lo, c = bits.Add64(^lo, 1, 0)
		hi = ^hi + c
	}
	const m52 = 1<<52 - 1
	s.Add(sign * 0x1p-64 * float64(lo&m52))
	s.Add(sign * 0x1p-12 * float64((lo>>52|hi<<12)&m52))
	s.Add(sign * 0x1p40 * float64(hi>>40))
}

// AddSquares adds x*x exactly for every x of xs (AddProduct(x, x) each):
// the sum of squares of a column.
func (s *Sum) AddSquares(xs []float64) {
	// Whole blocks of 8 in the vector unit, if there is one (sum_simd.go).
	xs = xs[s.addSquaresVec(xs):]
	var q0, q1, q2 uint64 // 192-bit sum of the fixed-point squares
	for len(xs) > 0 {
		if s.adds >= addsBeforeCarry-1 {
			s.carry()
		}
		n := min(len(xs), (addsBeforeCarry-int(s.adds))/2)
		for _, x := range xs[:n] {
			b := math.Float64bits(x)
			if sh := b>>52&0x7ff - fixMinExp; sh < fixSpan {
				m := b&(1<<52-1) | 1<<52
				ph, pl := bits.Mul64(m, m) // m² < 2^106
				t := 2 * sh
				var c uint64
				q0, c = bits.Add64(q0, pl<<t, 0)
				q1, c = bits.Add64(q1, ph<<t|pl>>(64-t), c)
				q2 += ph>>(64-t) + c
				continue
			}
			h := x * x
			l := math.FMA(x, x, -h)
			hb, lb := math.Float64bits(h), math.Float64bits(l)
			if hb>>52&0x7ff-1 < 0x7fe && lb>>52&0x7ff-1 < 0x7fe {
				s.addNormal(hb)
				s.addNormal(lb)
				continue
			}
			s.addProductRare(h, l)
		}
		s.adds += int32(2 * n)
		xs = xs[n:]
	}
	if q0|q1|q2 != 0 {
		// q2:q1:q0 times 2^-128, in parts of 52 bits.
		const m52 = 1<<52 - 1
		s.Add(0x1p-128 * float64(q0&m52))
		s.Add(0x1p-76 * float64((q0>>52|q1<<12)&m52))
		s.Add(0x1p-24 * float64((q1>>40|q2<<24)&m52))
		s.Add(0x1p28 * float64(q2>>28))
	}
}

// AddProducts adds a[i]*b[i] exactly for every i (AddProduct each); a and
// b must have the same length.
func (s *Sum) AddProducts(a, b []float64) {
	if len(a) != len(b) {
		panic("exact: AddProducts of slices of different lengths")
	}
	for len(a) > 0 {
		if s.adds >= addsBeforeCarry-1 {
			s.carry()
		}
		n := min(len(a), (addsBeforeCarry-int(s.adds))/2)
		bb := b[:n]
		for i, x := range a[:n] {
			y := bb[i]
			h := x * y
			l := math.FMA(x, y, -h)
			hb, lb := math.Float64bits(h), math.Float64bits(l)
			if hb>>52&0x7ff-1 < 0x7fe && lb>>52&0x7ff-1 < 0x7fe {
				s.addNormal(hb)
				s.addNormal(lb)
				continue
			}
			s.addProductRare(h, l)
		}
		s.adds += int32(2 * n)
		a, b = a[n:], b[n:]
	}
}

// addProductRare adds a product h and its error term l when either is
// zero, subnormal or not finite, as AddProduct does (l is dropped when the
// product is not finite), counting nothing.
func (s *Sum) addProductRare(h, l float64) {
	s.addAny(h)
	if l != 0 && !math.IsNaN(l) && !math.IsInf(l, 0) {
		s.addAny(l)
	}
}

// AddProduct adds a*b exactly (the rounded product and its rounding error,
// found with a fused multiply-add), unless the product underflows.
func (s *Sum) AddProduct(a, b float64) {
	h := a * b
	l := math.FMA(a, b, -h)
	hb, lb := math.Float64bits(h), math.Float64bits(l)
	if hb>>52&0x7ff-1 < 0x7fe && lb>>52&0x7ff-1 < 0x7fe && s.adds < addsBeforeCarry-1 {
		// Both normal: the usual case.
		s.addNormal(hb)
		s.addNormal(lb)
		s.adds += 2
		return
	}
	s.Add(h)
	if l != 0 && !math.IsNaN(l) && !math.IsInf(l, 0) {
		s.Add(l)
	}
}

// AddInt adds the integer n exactly (|n| < 2^53 is one term; larger values
// are split).
func (s *Sum) AddInt(n int64) {
	if n > -(1<<53) && n < 1<<53 {
		s.Add(float64(n))
		return
	}
	hi := n >> 26 << 26
	s.Add(float64(hi))
	s.Add(float64(n - hi))
}

func (s *Sum) addSpecial(x float64) {
	switch {
	case math.IsNaN(x):
		s.nan++
	case x > 0:
		s.posInf++
	default:
		s.negInf++
	}
}

// carry moves every chunk's bits above 32 into the next chunk, leaving each
// chunk but the last in [0, 2^32).
func (s *Sum) carry() {
	var c int64
	for i := 0; i < nChunks-1; i++ {
		v := s.chunk[i] + c
		c = v >> chunkBits // arithmetic shift: floor division
		s.chunk[i] = v - c<<chunkBits
	}
	s.chunk[nChunks-1] += c
	s.adds = 0
}

// Merge adds the terms of o into s exactly. Sums merge in any order and
// grouping with the same result.
func (s *Sum) Merge(o *Sum) {
	s.carry()
	oc := *o
	oc.carry()
	for i := range s.chunk {
		s.chunk[i] += oc.chunk[i]
	}
	s.nan += oc.nan
	s.posInf += oc.posInf
	s.negInf += oc.negInf
	s.carry()
}

// special reports the non-finite result when a non-finite term was added.
func (s *Sum) special() (float64, bool) {
	switch {
	case s.nan > 0 || (s.posInf > 0 && s.negInf > 0):
		return math.NaN(), true
	case s.posInf > 0:
		return math.Inf(1), true
	case s.negInf > 0:
		return math.Inf(-1), true
	}
	return 0, false
}

// IsFinite reports whether every term added was finite.
func (s *Sum) IsFinite() bool { _, sp := s.special(); return !sp }

// Int returns the exact total as an integer times 2^-1074, or nil when a
// term was not finite.
func (s *Sum) Int() *big.Int {
	if !s.IsFinite() {
		return nil
	}
	t, neg := s.magnitude()
	// Chunks 0..nChunks-2 are 32-bit digits: two to a word (one on 32-bit
	// platforms); the last chunk may be wider and is added apart.
	per := bits.UintSize / chunkBits
	var w [nChunks - 1]big.Word
	for i := 0; i < nChunks-1; i++ {
		w[i/per] |= big.Word(uint64(t.chunk[i]) << (chunkBits * (i % per)))
	}
	z := new(big.Int).SetBits(w[:])
	if top := t.chunk[nChunks-1]; top != 0 {
		z.Add(z, new(big.Int).Lsh(big.NewInt(top), chunkBits*(nChunks-1)))
	}
	if neg {
		z.Neg(z)
	}
	return z
}

// magnitude returns a carried copy of s holding |total| (every chunk in
// [0, 2^32) but the last, which is non-negative) and whether the total
// is negative. s must be finite.
func (s *Sum) magnitude() (Sum, bool) {
	t := *s
	t.carry()
	neg := t.chunk[nChunks-1] < 0
	if neg {
		for i := range t.chunk {
			t.chunk[i] = -t.chunk[i]
		}
		t.carry()
	}
	return t, neg
}

// Prec is the precision of the big.Float values Big returns: enough to hold
// any sum of float64 values exactly.
const Prec = 2200

// Big returns the exact total, or ±Inf for an infinite one. For NaN (a NaN
// term, or +Inf and -Inf both added) it returns nil.
func (s *Sum) Big() *big.Float {
	if v, sp := s.special(); sp {
		if math.IsNaN(v) {
			return nil
		}
		return new(big.Float).SetInf(v < 0)
	}
	f := new(big.Float).SetPrec(Prec).SetInt(s.Int())
	return f.SetMantExp(f, -1074)
}

// Float64 returns the total rounded once to the nearest float64 (ties to
// even). Non-finite terms give NaN or ±Inf as IEEE arithmetic would.
func (s *Sum) Float64() float64 {
	if v, sp := s.special(); sp {
		return v
	}
	t, neg := s.magnitude()
	i := nChunks - 1
	for i >= 0 && t.chunk[i] == 0 {
		i--
	}
	if i < 0 {
		return 0
	}
	// The top chunks in a 128-bit window hi:lo whose bit 0 weighs 2^e,
	// filled until it holds more than 96 bits (or every chunk); sticky
	// records any non-zero chunk left below it.
	var hi uint64
	lo := uint64(t.chunk[i])
	e := chunkBits*i - 1074
	j := i - 1
	for ; j >= 0 && hi>>32 == 0; j-- {
		hi = hi<<32 | lo>>32
		lo = lo<<32 | uint64(t.chunk[j])
		e -= chunkBits
	}
	sticky := false
	for ; j >= 0; j-- {
		if t.chunk[j] != 0 {
			sticky = true
			break
		}
	}
	var v float64
	if hi == 0 {
		// At most 64 bits and nothing below: float64 rounds once, and
		// a total below 2^-1022 (a subnormal) is an integer below 2^52
		// times 2^-1074 here, which the scaling keeps exact.
		v = math.Ldexp(float64(lo), e)
	} else {
		// The top 64 bits, with a sticky bit 0 for those below (bit 0
		// lies under the rounding position of a 53-bit mantissa, so
		// the conversion rounds as the whole window would). The total
		// is at least 2^-1022 here: the scaling is exact unless it
		// overflows, to ±Inf as rounding to nearest does.
		n := uint(bits.Len64(hi))
		x := hi<<(64-n) | lo>>n
		if lo<<(64-n) != 0 || sticky {
			x |= 1
		}
		v = math.Ldexp(float64(x), e+int(n))
	}
	if neg {
		v = -v
	}
	return v
}

// IsZero reports whether the exact total is zero and every term finite.
func (s *Sum) IsZero() bool {
	if !s.IsFinite() {
		return false
	}
	t := *s
	t.carry()
	for _, c := range t.chunk {
		if c != 0 {
			return false
		}
	}
	return true
}
