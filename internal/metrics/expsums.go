package metrics

import "math"

// expSums returns sum_k e^(z_k - m) and sum_k e^(2(z_k - m)) for z_k <= m:
// the sums of a row of shifted logits and of their squares (for the Brier
// score).
//
// The terms are summed in eight lanes, element k into lane k mod 8, and the
// lanes are added in a fixed tree at the end. That order is the one an
// 8-wide vector unit keeps, and it is part of the definition: expVec (an
// AVX-512 loop in builds with GOEXPERIMENT=simd, see expsums_simd.go) and
// the scalar loop below compute every term and every sum with the same
// operations in the same order, so the results are bit for bit the same
// whichever runs. exp16 is the one exp they both use.
func expSums[T Float](z []T, m float64) (s, q float64) {
	var ls, lq [8]float64
	for i := 0; i < len(z); {
		// Whole blocks of 8 in the vector unit, if there is one; it stops
		// before a block with a term outside exp16's range.
		i += expVec(z[i:], m, &ls, &lq)
		// One block (or the tail) here: the vector loop stopped before it,
		// or there is none.
		if i+8 <= len(z) {
			var x [8]float64
			for j := range x {
				x[j] = float64(z[i+j]) - m
			}
			i += 8
			if expBlock(&x, &ls, &lq) {
				continue
			}
			for j := range x {
				e := expTerm(x[j])
				ls[j] += e
				lq[j] += float64(e * e)
			}
			continue
		}
		for j := 0; i < len(z); i, j = i+1, j+1 {
			e := expTerm(float64(z[i]) - m)
			ls[j] += e
			lq[j] += float64(e * e)
		}
	}
	return laneSum(&ls), laneSum(&lq)
}

// expBlock adds exp16(x[j]) to ls[j] and its square to lq[j] and reports
// true, if every x[j] is in exp16's range; otherwise it adds nothing and
// reports false.
func expBlock(x, ls, lq *[8]float64) bool {
	for _, v := range x {
		if !(v >= exp16Min) {
			return false
		}
	}
	for j, x := range x {
		kd := float64(x*exp16InvLn2N) + expShift
		ki := math.Float64bits(kd)
		kd -= expShift
		r := math.FMA(kd, -exp16Ln2HiN, x)
		r = math.FMA(kd, -exp16Ln2LoN, r)
		t := &exp16Tab[ki%16]
		scale := math.Float64frombits(t[1] + ki<<48)
		r2 := float64(r * r)
		a := float64(r*exp16C3) + 0.5
		b := float64(r*exp16C5) + exp16C4
		c := float64(r*exp16C7) + exp16C6
		p := float64(r2*(float64(r2*c)+b)) + a
		tmp := float64(r2*p) + (math.Float64frombits(t[0]) + r)
		e := scale + float64(scale*tmp)
		ls[j] += e
		lq[j] += float64(e * e)
	}
	return true
}

// expTerm is exp16(x) in its range and math.Exp(x) elsewhere (NaN, or a
// subnormal or zero result).
func expTerm(x float64) float64 {
	if x >= exp16Min {
		return exp16(x)
	}
	return math.Exp(x)
}

// laneSum adds the eight lanes in a fixed tree.
func laneSum(l *[8]float64) float64 {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

// exp16 and its vector twin take x in [exp16Min, 704]; other x go to
// math.Exp.
const exp16Min = -704

const (
	exp16InvLn2N = 0x1.71547652b82fep0 * 16 // 16/ln2
	exp16Ln2HiN  = 0x1.62e42fefa39efp-05    // ln2/16, rounded
	exp16Ln2LoN  = 0x1.abc9e3b39803fp-60    // ln2/16 - exp16Ln2HiN
	exp16C3      = 1.0 / 6
	exp16C4      = 1.0 / 24
	exp16C5      = 1.0 / 120
	exp16C6      = 1.0 / 720
	exp16C7      = 1.0 / 5040
)

// exp16 is e^x for x in [-704, 704], within 1 ulp: x = (16q + j) ln2/16 + r
// with |r| <= ln2/32, e^x = 2^q 2^(j/16) (1 + tail_j) e^r, and e^r - 1 by its
// Taylor polynomial of degree 7 (the remainder is below 2^-59 relative).
// The range reduction uses FMA; every other product is rounded on its own
// (float64(...) forbids the compiler to fuse it, as GOAMD64=v3 would), so
// that the vector code can repeat each operation. Unfused, the polynomial
// costs a scalar loop on GOAMD64=v1 (where each math.FMA checks the CPU)
// less. Its 16-entry table is what a two-register
// permutation (VPERMI2PD) can look up.
func exp16(x float64) float64 {
	kd := float64(x*exp16InvLn2N) + expShift // round to nearest integer
	ki := math.Float64bits(kd)
	kd -= expShift
	r := math.FMA(kd, -exp16Ln2HiN, x)
	r = math.FMA(kd, -exp16Ln2LoN, r)
	t := &exp16Tab[ki%16]
	// The table holds T_j less j<<48; adding k<<48 adds q to the exponent.
	scale := math.Float64frombits(t[1] + ki<<48)
	r2 := float64(r * r)
	a := float64(r*exp16C3) + 0.5
	b := float64(r*exp16C5) + exp16C4
	c := float64(r*exp16C7) + exp16C6
	p := float64(r2*(float64(r2*c)+b)) + a
	tmp := float64(r2*p) + (math.Float64frombits(t[0]) + r)
	return scale + float64(scale*tmp)
}

// exp16Tab holds, for j = 0..15, the relative tail (2^(j/16) - T_j)/T_j and
// the bits of T_j = 2^(j/16) rounded to nearest, less j<<48 (computed with
// math/big at 300 bits; TestExp16Table checks them).
var exp16Tab = [16][2]uint64{
	{0x0000000000000000, 0x3ff0000000000000}, // 2^(0/16)
	{0x3c979aa65d837b6d, 0x3fefb5586cf9890f}, // 2^(1/16)
	{0xbc801b15eaa59348, 0x3fef72b83c7d517b}, // 2^(2/16)
	{0x3c968efde3a8a894, 0x3fef387a6e756238}, // 2^(3/16)
	{0x3c834d754db0abb6, 0x3fef06fe0a31b715}, // 2^(4/16)
	{0x3c859f48a72a4c6d, 0x3feedea64c123422}, // 2^(5/16)
	{0x3c7690cebb7aafb0, 0x3feebfdad5362a27}, // 2^(6/16)
	{0x3c9063e1e21c5409, 0x3feeab07dd485429}, // 2^(7/16)
	{0xbc93b3efbf5e2228, 0x3feea09e667f3bcd}, // 2^(8/16)
	{0xbc7b32dcb94da51d, 0x3feea11473eb0187}, // 2^(9/16)
	{0x3c8db72fc1f0eab4, 0x3feeace5422aa0db}, // 2^(10/16)
	{0x3c71affc2b91ce27, 0x3feec49182a3f090}, // 2^(11/16)
	{0x3c8c1a7792cb3387, 0x3feee89f995ad3ad}, // 2^(12/16)
	{0x3c736eae30af0cb3, 0x3fef199bdd85529c}, // 2^(13/16)
	{0x3c74a385a63d07a7, 0x3fef5818dcfba487}, // 2^(14/16)
	{0xbc8ff7128fd391f0, 0x3fefa4afa2a490da}, // 2^(15/16)
}
