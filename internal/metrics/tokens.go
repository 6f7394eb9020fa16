package metrics

import (
	"math"
	"math/bits"

	"github.com/evalnll/evalnll/internal/exact"
)

// A token list's NLL is minus the sum of its log-probabilities, summed
// exactly and rounded once to the nearest float64: it does not depend on
// the order of the terms, so it can be summed in any order, eight lanes at
// a time. Every log-probability is at most 0, so the magnitudes are summed.
// A magnitude in [2^-44, 2^20), or 0, is a multiple of 2^-96 below 2^116:
// such terms are summed as integers (tokAcc, and the vector lanes of
// tokensVec); a row with any other term is summed with exact.Sum instead.

const (
	tokMinExp = 1023 - 44 // biased exponent of 2^-44
	tokSpan   = 64        // exponents tokMinExp..tokMinExp+63
)

// tokAcc is an unsigned 192-bit integer: a sum of magnitudes times 2^96.
type tokAcc [3]uint64

// add adds v·2^shift (shift < 128) to a.
func (a *tokAcc) add(v uint64, shift uint) {
	var lo, hi uint64 // v << shift as 128 bits, placed at word w
	w := shift / 64
	s := shift % 64
	lo = v << s
	if s > 0 {
		hi = v >> (64 - s)
	}
	var c uint64
	a[w], c = bits.Add64(a[w], lo, 0)
	if w == 0 {
		a[1], c = bits.Add64(a[1], hi, c)
		a[2] += c
	} else {
		a[2] += hi + c
	}
}

// addTerm adds the magnitude of x, a float64 whose biased exponent is in
// [tokMinExp, tokMinExp+tokSpan) or which is ±0.
func (a *tokAcc) addTerm(x float64) {
	b := math.Float64bits(x) &^ (1 << 63)
	if b == 0 {
		return
	}
	m := b&(1<<52-1) | 1<<52
	a.add(m, uint(b>>52-tokMinExp))
}

// tokInRange reports whether x is 0 or has a magnitude in [2^-44, 2^20).
func tokInRange(x float64) bool {
	b := math.Float64bits(x) &^ (1 << 63)
	return b == 0 || b>>52-tokMinExp < tokSpan
}

// float is a·2^-96 rounded to the nearest float64 (ties to even).
func (a *tokAcc) float() float64 {
	top := 2
	for top > 0 && a[top] == 0 {
		top--
	}
	n := 64*top + bits.Len64(a[top]) // bit length of a
	if n <= 53 {
		return float64(a[0]) * 0x1p-96 // exact
	}
	// The top 53 bits, and whether the rest is above, at or below half.
	sh := uint(n - 53)
	m := a.shiftDown(sh)
	half := a.bitAt(sh - 1)
	sticky := a.anyBelow(sh - 1)
	if half && (sticky || m&1 == 1) {
		m++ // may reach 2^53: still exact as a float64
	}
	return math.Ldexp(float64(m), int(sh)-96)
}

// shiftDown returns a >> sh, which fits 64 bits (sh = bit length - 53).
func (a *tokAcc) shiftDown(sh uint) uint64 {
	w, s := sh/64, sh%64
	v := a[w] >> s
	if s > 0 && w+1 < 3 {
		v |= a[w+1] << (64 - s)
	}
	return v
}

// bitAt reports bit i of a.
func (a *tokAcc) bitAt(i uint) bool { return a[i/64]>>(i%64)&1 == 1 }

// anyBelow reports whether a bit of a below bit i is set.
func (a *tokAcc) anyBelow(i uint) bool {
	w, s := i/64, i%64
	for k := uint(0); k < w; k++ {
		if a[k] != 0 {
			return true
		}
	}
	return a[w]&(1<<s-1) != 0
}

// tokenNLL returns the NLL of a token list: minus the exact sum of vs,
// rounded once (-0 when the sum is 0: an empty list, or all zeros, as
// minus the +0 of round-to-nearest arithmetic), and false when an element
// is not a log-probability (NaN, infinite, above 0).
func tokenNLL[T Float](vs []T) (float64, bool) {
	var a tokAcc
	n, ok := tokensVec(vs, &a)
	if !ok {
		return tokenNLLExact(vs)
	}
	for _, v := range vs[n:] {
		x := float64(v)
		// At most 0 and in range (which also excludes NaN and ±Inf).
		if !(x <= 0 && tokInRange(x)) {
			return tokenNLLExact(vs)
		}
		a.addTerm(x)
	}
	if s := a.float(); s != 0 {
		return s, true
	}
	return math.Copysign(0, -1), true
}

// tokenNLLExact is tokenNLL with exact.Sum, for lists with a term outside
// the integer sums' range.
func tokenNLLExact[T Float](vs []T) (float64, bool) {
	var s exact.Sum
	for _, v := range vs {
		x := float64(v)
		if !(x <= 0 && x >= -math.MaxFloat64) {
			return 0, false
		}
		s.Add(x)
	}
	return -s.Float64(), true
}
