package metrics

import "math"

// Stable log-space primitives. Every function here is pure and
// allocation-free; tests compare them with 50-digit references.

// Softplus returns ln(1 + e^x) without overflow or loss of precision:
// max(x, 0) + log1p(e^-|x|).
func Softplus(x float64) float64 {
	if x > 0 {
		return x + log1pSmall(Exp(-x))
	}
	return log1pSmall(Exp(x))
}

// Sigmoid returns 1/(1+e^-x), computed so that neither branch overflows.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + Exp(-x))
	}
	e := Exp(x)
	return e / (1 + e)
}

// BinaryProbNLL is -(y ln p + (1-y) ln(1-p)) for y in {0,1}, p already
// clipped. ln(1-p) is the log of 1-p split exactly into hi + lo (as Log1mp),
// which keeps its relative precision when p is small.
func BinaryProbNLL(p float64, y bool) float64 {
	// -log(q) with q = p (y = 1) or q = 1 - p = hi + lo exactly (y = 0),
	// selected without a branch: labels are unpredictable.
	hi := 1 - p
	lo := (1 - hi) - p // exact: Fast2Sum, |1| >= |p|
	if y {
		hi, lo = p, 0
	}
	ix := math.Float64bits(hi)
	if !(p >= 0 && p <= 1) || ix-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
		// q is 0, subnormal, or p is out of range or NaN.
		if y {
			return -Log(p)
		}
		return -math.Log1p(-p)
	}
	return -logParts(ix, lo, 0)
}

// BinaryLogitNLL is softplus(-z) when y is 1 and softplus(z) when it is 0:
// the binary cross-entropy of a logit, never clipped.
func BinaryLogitNLL(z float64, y bool) float64 {
	if y {
		return Softplus(-z)
	}
	return Softplus(z)
}

// Clip clamps p to [lo, hi] and reports whether it moved.
func Clip(p, lo, hi float64) (float64, bool) {
	if p < lo {
		return lo, true
	}
	if p > hi {
		return hi, true
	}
	return p, false
}

// Float is the element type of a prediction list.
type Float interface{ ~float32 | ~float64 }

// LogitsRow returns, for one row of class logits z and its true class y:
// nll = logsumexp(z) - z[y] (shifted by the maximum, so it neither
// overflows nor underflows), the first argmax, the largest softmax
// probability, and the Brier score sum_k (softmax_k - [k=y])^2.
func LogitsRow[T Float](z []T, y int) (nll float64, argmax int, conf, brier float64) {
	if k, ok := argmaxVec(z); ok {
		argmax = k
	} else {
		for k := 1; k < len(z); k++ {
			if z[k] > z[argmax] {
				argmax = k
			}
		}
	}
	return logitsRowFrom(z, y, argmax)
}

// logitsRowFrom is LogitsRow for a row whose first argmax is known.
func logitsRowFrom[T Float](z []T, y, argmax int) (nll float64, _ int, conf, brier float64) {
	m := float64(z[argmax])
	// s = sum_k e^(z_k - m) >= 1; the Brier terms are accumulated apart
	// from the true class so that 1 - softmax_y is not found by cancellation.
	s1, q1 := expSums(z[:y], m)
	s2, q2 := expSums(z[y+1:], m)
	sOther, qOther := s1+s2, q1+q2
	zy := float64(z[y]) - m
	ey := expNonPos(zy)
	s := sOther + ey
	nll = Log(s) - zy
	conf = 1 / s
	// sum_{k≠y} (e_k/s)^2 + (1 - e_y/s)^2 with 1 - e_y/s = sOther/s.
	brier = (qOther + sOther*sOther) / (s * s)
	return nll, argmax, conf, brier
}

// ProbsRow returns, for one row of class probabilities p (unclipped) and its
// true class y: the first argmax, the largest probability, the Brier score
// sum_k (p_k - [k=y])^2, and the sum of the row in list order.
func ProbsRow[T Float](p []T, y int) (argmax int, conf, brier, sum float64) {
	conf = float64(p[0])
	for k, v := range p {
		f := float64(v)
		sum += f
		if f > conf {
			conf = f
			argmax = k
		}
		if k != y {
			brier += f * f
		}
	}
	d := 1 - float64(p[y])
	brier += d * d
	return argmax, conf, brier, sum
}

// GaussianNLL is 0.5 ln(2 pi s^2) + (y-m)^2/(2 s^2) given the standard
// deviation s.
func GaussianNLL(y, m, s float64) float64 {
	z := (y - m) / s
	return halfLog2Pi + Log(s) + 0.5*z*z
}

// GaussianNLLVar is the same given the variance v = s^2, used as stored.
func GaussianNLLVar(y, m, v float64) float64 {
	d := y - m
	return halfLog2Pi + 0.5*Log(v) + 0.5*(d*d/v)
}

// halfLog2Pi is 0.5 ln(2 pi) rounded to nearest.
const halfLog2Pi = 0.91893853320467274178032973640561763986139747363778

// UniformBin is min(n-1, floor(c*n)) computed in float64, for c in [0, 1]
// (0 for a negative or NaN c*n, n-1 for +Inf). For c*n in [0, n) floor is
// the truncation of the conversion to int: no rounding instruction needed.
func UniformBin(c float64, n int) int {
	x := c * float64(n)
	if !(x >= 0) {
		return 0
	}
	if x >= float64(n) {
		return n - 1
	}
	return int(x)
}

// minNormal is the smallest positive normal float64.
const minNormal = 2.2250738585072014e-308

// --- Fast, accurate log and exp -------------------------------------------
//
// Log, Log1mp and Exp replace math.Log, math.Log1p and math.Exp on the hot
// paths. They are table-driven (after the method of glibc's log and exp,
// Szabolcs Nagy 2018) with no division, and accurate to within 1 ulp
// (measured over 200,000 random inputs per range: at most 0.52 ulp for Exp,
// 0.68 ulp for Log and Log1mp, 1.4 ulp for Softplus; see TestFastLogAccuracy
// and the other accuracy tests in bench_test.go). 1 ulp is at most 2.3e-16
// relative, well inside the 1e-15 the kernels are held to. They are pure
// functions of their input, so results stay identical whatever the worker
// count; they may differ from the math package's in the last bit.
//
// Error analysis, Log: x = 2^k z with z in [0.6875, 1.375), z in one of 128
// subintervals with centre c, tabulated as invc = 1/c rounded and
// log(c) = -log(invc) to 106 bits. r = z*invc - 1 comes from one FMA
// (|r| < 2^-7, rounding error < 2^-62), log1p(r) from its Taylor series to
// r^9 (truncation < 2^-70 |r|), and k ln2 + log c + r is summed exactly with
// two Fast2Sums; the result is rounded once from a double-double. The two
// subintervals next to 1 have c = 1, so near 1 r = z - 1 exactly and the
// relative error stays small however close x is to 1.
//
// Exp: x = k ln2/128 + r, |r| <= ln2/256, with k ln2/128 subtracted in two
// FMAs; e^x = 2^(k/128) (1 + tail) (1 + p(r)), p the Taylor series to r^5
// (truncation < 2^-60 relative); 2^(k/128) is tabulated rounded to nearest
// with its relative tail.

// Log is the natural logarithm, within 1 ulp. Go's math.Log on amd64
// returns wrong values for subnormal inputs (math.Log(5e-324) gives -709.09,
// not -744.44); here a subnormal is scaled by 2^54 first, exactly. Zero,
// negative, infinite and NaN inputs give what math.Log gives.
func Log(x float64) float64 {
	ix := math.Float64bits(x)
	if ix-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
		// Subnormal, zero, negative, +Inf or NaN.
		if x < minNormal && x > 0 {
			return logParts(math.Float64bits(x*(1<<54)), 0, -54)
		}
		return math.Log(x)
	}
	return logParts(ix, 0, 0)
}

// Log1mp is log(1 - p) for p in [0, 1], accurate to 1 ulp however small p
// is (it replaces math.Log1p(-p)): 1 - p is split exactly into hi + lo and
// the log of the double-double taken.
func Log1mp(p float64) float64 {
	hi := 1 - p
	lo := (1 - hi) - p // exact: Fast2Sum, |1| >= |p|
	ix := math.Float64bits(hi)
	if !(p >= 0 && p <= 1) || ix-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
		// p outside [0, 1], NaN, 1 or within 2^-1022 of 1.
		return math.Log1p(-p)
	}
	return logParts(ix, lo, 0)
}

// log1pSmall is log(1 + e) for e in [0, 1] (softplus): 1 + e is split
// exactly into hi + lo.
func log1pSmall(e float64) float64 {
	if !(e >= 0 && e <= 1) {
		return math.Log1p(e)
	}
	hi := 1 + e
	lo := e - (hi - 1) // exact: Fast2Sum, |1| >= |e|
	return logParts(math.Float64bits(hi), lo, 0)
}

const (
	logN      = 128
	logOff    = 0x3fe6000000000000  // 0.6875: z lies in [logOff, 2 logOff)
	ln2Hi42   = 0x1.62e42fefa38p-01 // ln 2 to 42 bits: k*ln2Hi42 is exact
	ln2Lo42   = 0x1.ef35793c7673p-45
	logInv3   = 1.0 / 3
	logInv5   = 1.0 / 5
	logInv6   = 1.0 / 6
	logInv7   = 1.0 / 7
	logInv9   = 1.0 / 9
	logHalf   = 0.5
	logQuart  = 0.25
	logEighth = 0.125
)

// logEntry is the table entry of logParts for the bit pattern ix: the
// interval of z's leading mantissa bits.
func logEntry(ix uint64) *logEntryT { return &logTab[((ix-logOff)>>(52-7))%logN] }

// logParts returns log(x * 2^kAdd + lo * 2^kAdd) where ix is the bit
// pattern of a positive normal x and |lo| <= ulp(x).
func logParts(ix uint64, lo float64, kAdd int) float64 {
	tmp := ix - logOff
	k := int64(tmp) >> 52 // arithmetic shift
	iz := ix - uint64(k)<<52
	z := math.Float64frombits(iz)
	t := logEntry(ix)
	invc := t.invc
	r := math.FMA(z, invc, -1)
	// z + zlo with zlo = lo / 2^k (exact scaling); log(z*invc + d) =
	// log1p(r) + d/(1+r) + O(d^2), d = zlo*invc, |d| < 2^-52. Computed
	// whether or not lo is 0: a branch here would be unpredictable.
	// (k is clamped so that 2^-k stays a normal float64: lo is 0 for the
	// |k| > 1 that Log sees.)
	d := lo * math.Float64frombits(uint64(1023-min(max(k, -1022), 1022))<<52) * invc
	lo = d - d*r
	kd := float64(k + int64(kAdd))
	// log(x) = k ln2 + log(c) + log1p(r), summed in double-double.
	a := kd * ln2Hi42
	w := a + t.logc
	e1 := (a - w) + t.logc // Fast2Sum: |a| >= |logc| or a = 0
	hi := w + r
	e2 := (w - hi) + r // Fast2Sum: |w| >= |r| or w = 0
	r2 := r * r
	// log1p(r) - r = -r^2/2 + r^3/3 - ... + r^9/9, Estrin-style.
	p := r2 * ((-logHalf + r*logInv3) + r2*((-logQuart+r*logInv5)+r2*((-logInv6+r*logInv7)+r2*(-logEighth+r*logInv9))))
	lo += e1 + e2 + kd*ln2Lo42 + t.logcLo + p
	return hi + lo
}

const (
	expN       = 128
	expShift   = 0x1.8p52
	expInvLn2N = 0x1.71547652b82fep0 * expN // 128/ln2
	expLn2HiN  = 0x1.62e42fefa39efp-08      // ln2/128, rounded
	expLn2LoN  = 0x1.abc9e3b39803fp-63      // ln2/128 - expLn2HiN
	expC3      = 1.0 / 6
	expC4      = 1.0 / 24
	expC5      = 1.0 / 120
)

// Exp is e^x, within 1 ulp where the result is normal; outside
// |x| <= 704 (overflow, subnormal results, NaN, Inf) it is math.Exp.
func Exp(x float64) float64 {
	if !(x <= 704 && x >= -704) {
		return math.Exp(x)
	}
	return expCore(x)
}

// expNonPos is Exp for x <= 0 (shifted logits).
func expNonPos(x float64) float64 {
	if !(x >= -704) {
		return math.Exp(x)
	}
	return expCore(x)
}

func expCore(x float64) float64 {
	kd := x*expInvLn2N + expShift
	ki := math.Float64bits(kd)
	kd -= expShift
	r := math.FMA(-kd, expLn2HiN, x)
	r = math.FMA(-kd, expLn2LoN, r)
	idx := 2 * (ki % expN)
	top := ki << (52 - 7)
	tail := math.Float64frombits(expTab[idx])
	scale := math.Float64frombits(expTab[idx+1] + top)
	r2 := r * r
	tmp := tail + r + r2*(0.5+r*expC3) + r2*r2*(expC4+r*expC5)
	return scale + scale*tmp
}

// expTab holds, for j = 0..127, the relative tail (2^(j/128) - T_j)/T_j and
// the bits of T_j = 2^(j/128) rounded to nearest, less j<<45 (so that adding
// k<<45 for k = 128 q + j adds q to the exponent).
var expTab = [2 * expN]uint64{
	0x0000000000000000, 0x3ff0000000000000, // 2^(0/128)
	0x3c9b3b4f1a88bf6e, 0x3feff63da9fb3335, // 2^(1/128)
	0xbc7160139cd8dc5d, 0x3fefec9a3e778061, // 2^(2/128)
	0xbc905e7a108766d1, 0x3fefe315e86e7f85, // 2^(3/128)
	0x3c8cd2523567f613, 0x3fefd9b0d3158574, // 2^(4/128)
	0xbc8bce8023f98efa, 0x3fefd06b29ddf6de, // 2^(5/128)
	0x3c60f74e61e6c861, 0x3fefc74518759bc8, // 2^(6/128)
	0x3c90a3e45b33d399, 0x3fefbe3ecac6f383, // 2^(7/128)
	0x3c979aa65d837b6d, 0x3fefb5586cf9890f, // 2^(8/128)
	0x3c8eb51a92fdeffc, 0x3fefac922b7247f7, // 2^(9/128)
	0x3c3ebe3d702f9cd1, 0x3fefa3ec32d3d1a2, // 2^(10/128)
	0xbc6a033489906e0b, 0x3fef9b66affed31b, // 2^(11/128)
	0xbc9556522a2fbd0e, 0x3fef9301d0125b51, // 2^(12/128)
	0xbc5080ef8c4eea55, 0x3fef8abdc06c31cc, // 2^(13/128)
	0xbc91c923b9d5f416, 0x3fef829aaea92de0, // 2^(14/128)
	0x3c80d3e3e95c55af, 0x3fef7a98c8a58e51, // 2^(15/128)
	0xbc801b15eaa59348, 0x3fef72b83c7d517b, // 2^(16/128)
	0xbc8f1ff055de323d, 0x3fef6af9388c8dea, // 2^(17/128)
	0x3c8b898c3f1353bf, 0x3fef635beb6fcb75, // 2^(18/128)
	0xbc96d99c7611eb26, 0x3fef5be084045cd4, // 2^(19/128)
	0x3c9aecf73e3a2f60, 0x3fef54873168b9aa, // 2^(20/128)
	0xbc8fe782cb86389d, 0x3fef4d5022fcd91d, // 2^(21/128)
	0x3c8a6f4144a6c38d, 0x3fef463b88628cd6, // 2^(22/128)
	0x3c807a05b0e4047d, 0x3fef3f49917ddc96, // 2^(23/128)
	0x3c968efde3a8a894, 0x3fef387a6e756238, // 2^(24/128)
	0x3c875e18f274487d, 0x3fef31ce4fb2a63f, // 2^(25/128)
	0x3c80472b981fe7f2, 0x3fef2b4565e27cdd, // 2^(26/128)
	0xbc96b87b3f71085e, 0x3fef24dfe1f56381, // 2^(27/128)
	0x3c82f7e16d09ab31, 0x3fef1e9df51fdee1, // 2^(28/128)
	0xbc3d219b1a6fbffa, 0x3fef187fd0dad990, // 2^(29/128)
	0x3c8b3782720c0ab4, 0x3fef1285a6e4030b, // 2^(30/128)
	0x3c6e149289cecb8f, 0x3fef0cafa93e2f56, // 2^(31/128)
	0x3c834d754db0abb6, 0x3fef06fe0a31b715, // 2^(32/128)
	0x3c864201e2ac744c, 0x3fef0170fc4cd831, // 2^(33/128)
	0x3c8fdd395dd3f84a, 0x3feefc08b26416ff, // 2^(34/128)
	0xbc86a3803b8e5b04, 0x3feef6c55f929ff1, // 2^(35/128)
	0xbc924aedcc4b5068, 0x3feef1a7373aa9cb, // 2^(36/128)
	0xbc9907f81b512d8e, 0x3feeecae6d05d866, // 2^(37/128)
	0xbc71d1e83e9436d2, 0x3feee7db34e59ff7, // 2^(38/128)
	0xbc991919b3ce1b15, 0x3feee32dc313a8e5, // 2^(39/128)
	0x3c859f48a72a4c6d, 0x3feedea64c123422, // 2^(40/128)
	0xbc9312607a28698a, 0x3feeda4504ac801c, // 2^(41/128)
	0xbc58a78f4817895b, 0x3feed60a21f72e2a, // 2^(42/128)
	0xbc7c2c9b67499a1b, 0x3feed1f5d950a897, // 2^(43/128)
	0x3c4363ed60c2ac11, 0x3feece086061892d, // 2^(44/128)
	0x3c9666093b0664ef, 0x3feeca41ed1d0057, // 2^(45/128)
	0x3c6ecce1daa10379, 0x3feec6a2b5c13cd0, // 2^(46/128)
	0x3c93ff8e3f0f1230, 0x3feec32af0d7d3de, // 2^(47/128)
	0x3c7690cebb7aafb0, 0x3feebfdad5362a27, // 2^(48/128)
	0x3c931dbdeb54e077, 0x3feebcb299fddd0d, // 2^(49/128)
	0xbc8f94340071a38e, 0x3feeb9b2769d2ca7, // 2^(50/128)
	0xbc87deccdc93a349, 0x3feeb6daa2cf6642, // 2^(51/128)
	0xbc78dec6bd0f385f, 0x3feeb42b569d4f82, // 2^(52/128)
	0xbc861246ec7b5cf6, 0x3feeb1a4ca5d920f, // 2^(53/128)
	0x3c93350518fdd78e, 0x3feeaf4736b527da, // 2^(54/128)
	0x3c7b98b72f8a9b05, 0x3feead12d497c7fd, // 2^(55/128)
	0x3c9063e1e21c5409, 0x3feeab07dd485429, // 2^(56/128)
	0x3c34c7855019c6ea, 0x3feea9268a5946b7, // 2^(57/128)
	0x3c9432e62b64c035, 0x3feea76f15ad2148, // 2^(58/128)
	0xbc8ce44a6199769f, 0x3feea5e1b976dc09, // 2^(59/128)
	0xbc8c33c53bef4da8, 0x3feea47eb03a5585, // 2^(60/128)
	0xbc845378892be9ae, 0x3feea34634ccc320, // 2^(61/128)
	0xbc93cedd78565858, 0x3feea23882552225, // 2^(62/128)
	0x3c5710aa807e1964, 0x3feea155d44ca973, // 2^(63/128)
	0xbc93b3efbf5e2228, 0x3feea09e667f3bcd, // 2^(64/128)
	0xbc6a12ad8734b982, 0x3feea012750bdabf, // 2^(65/128)
	0xbc6367efb86da9ee, 0x3fee9fb23c651a2f, // 2^(66/128)
	0xbc80dc3d54e08851, 0x3fee9f7df9519484, // 2^(67/128)
	0xbc781f647e5a3ecf, 0x3fee9f75e8ec5f74, // 2^(68/128)
	0xbc86ee4ac08b7db0, 0x3fee9f9a48a58174, // 2^(69/128)
	0xbc8619321e55e68a, 0x3fee9feb564267c9, // 2^(70/128)
	0x3c909ccb5e09d4d3, 0x3feea0694fde5d3f, // 2^(71/128)
	0xbc7b32dcb94da51d, 0x3feea11473eb0187, // 2^(72/128)
	0x3c94ecfd5467c06b, 0x3feea1ed0130c132, // 2^(73/128)
	0x3c65ebe1abd66c55, 0x3feea2f336cf4e62, // 2^(74/128)
	0xbc88a1c52fb3cf42, 0x3feea427543e1a12, // 2^(75/128)
	0xbc9369b6f13b3734, 0x3feea589994cce13, // 2^(76/128)
	0xbc805e843a19ff1e, 0x3feea71a4623c7ad, // 2^(77/128)
	0xbc94d450d872576e, 0x3feea8d99b4492ed, // 2^(78/128)
	0x3c90ad675b0e8a00, 0x3feeaac7d98a6699, // 2^(79/128)
	0x3c8db72fc1f0eab4, 0x3feeace5422aa0db, // 2^(80/128)
	0xbc65b6609cc5e7ff, 0x3feeaf3216b5448c, // 2^(81/128)
	0x3c7bf68359f35f44, 0x3feeb1ae99157736, // 2^(82/128)
	0xbc93091fa71e3d83, 0x3feeb45b0b91ffc6, // 2^(83/128)
	0xbc5da9b88b6c1e29, 0x3feeb737b0cdc5e5, // 2^(84/128)
	0xbc6c23f97c90b959, 0x3feeba44cbc8520f, // 2^(85/128)
	0xbc92434322f4f9aa, 0x3feebd829fde4e50, // 2^(86/128)
	0xbc85ca6cd7668e4b, 0x3feec0f170ca07ba, // 2^(87/128)
	0x3c71affc2b91ce27, 0x3feec49182a3f090, // 2^(88/128)
	0x3c6dd235e10a73bb, 0x3feec86319e32323, // 2^(89/128)
	0xbc87c50422622263, 0x3feecc667b5de565, // 2^(90/128)
	0x3c8b1c86e3e231d5, 0x3feed09bec4a2d33, // 2^(91/128)
	0xbc91bbd1d3bcbb15, 0x3feed503b23e255d, // 2^(92/128)
	0x3c90cc319cee31d2, 0x3feed99e1330b358, // 2^(93/128)
	0x3c8469846e735ab3, 0x3feede6b5579fdbf, // 2^(94/128)
	0xbc82dfcd978e9db4, 0x3feee36bbfd3f37a, // 2^(95/128)
	0x3c8c1a7792cb3387, 0x3feee89f995ad3ad, // 2^(96/128)
	0xbc907b8f4ad1d9fa, 0x3feeee07298db666, // 2^(97/128)
	0xbc55c3d956dcaeba, 0x3feef3a2b84f15fb, // 2^(98/128)
	0xbc90a40e3da6f640, 0x3feef9728de5593a, // 2^(99/128)
	0xbc68d6f438ad9334, 0x3feeff76f2fb5e47, // 2^(100/128)
	0xbc91eee26b588a35, 0x3fef05b030a1064a, // 2^(101/128)
	0x3c74ffd70a5fddcd, 0x3fef0c1e904bc1d2, // 2^(102/128)
	0xbc91bdfbfa9298ac, 0x3fef12c25bd71e09, // 2^(103/128)
	0x3c736eae30af0cb3, 0x3fef199bdd85529c, // 2^(104/128)
	0x3c8ee3325c9ffd94, 0x3fef20ab5fffd07a, // 2^(105/128)
	0x3c84e08fd10959ac, 0x3fef27f12e57d14b, // 2^(106/128)
	0x3c63cdaf384e1a67, 0x3fef2f6d9406e7b5, // 2^(107/128)
	0x3c676b2c6c921968, 0x3fef3720dcef9069, // 2^(108/128)
	0xbc808a1883ccb5d2, 0x3fef3f0b555dc3fa, // 2^(109/128)
	0xbc8fad5d3ffffa6f, 0x3fef472d4a07897c, // 2^(110/128)
	0xbc900dae3875a949, 0x3fef4f87080d89f2, // 2^(111/128)
	0x3c74a385a63d07a7, 0x3fef5818dcfba487, // 2^(112/128)
	0xbc82919e2040220f, 0x3fef60e316c98398, // 2^(113/128)
	0x3c8e5a50d5c192ac, 0x3fef69e603db3285, // 2^(114/128)
	0x3c843a59ac016b4b, 0x3fef7321f301b460, // 2^(115/128)
	0xbc82d52107b43e1f, 0x3fef7c97337b9b5f, // 2^(116/128)
	0xbc892ab93b470dc9, 0x3fef864614f5a129, // 2^(117/128)
	0x3c74b604603a88d3, 0x3fef902ee78b3ff6, // 2^(118/128)
	0x3c83c5ec519d7271, 0x3fef9a51fbc74c83, // 2^(119/128)
	0xbc8ff7128fd391f0, 0x3fefa4afa2a490da, // 2^(120/128)
	0xbc8dae98e223747d, 0x3fefaf482d8e67f1, // 2^(121/128)
	0x3c8ec3bc41aa2008, 0x3fefba1bee615a27, // 2^(122/128)
	0x3c842b94c3a9eb32, 0x3fefc52b376bba97, // 2^(123/128)
	0x3c8a64a931d185ee, 0x3fefd0765b6e4540, // 2^(124/128)
	0xbc8e37bae43be3ed, 0x3fefdbfdad9cbe14, // 2^(125/128)
	0x3c77893b4d91cd9d, 0x3fefe7c1819e90d8, // 2^(126/128)
	0x3c5305c14160cc89, 0x3feff3c22b8f71f1, // 2^(127/128)
}

// logTab holds, for the 128 subintervals of [0.6875, 1.375), 1/c rounded
// (exactly 1 for the two next to 1) and log(c) = -log(invc) as hi + lo.
type logEntryT struct{ invc, logc, logcLo float64 }

var logTab = [logN]logEntryT{
	{0x1.734f0c541fe8dp+00, -0x1.7cc7f7db46a0ep-02, -0x1.e3c7fdc323c2dp-56}, // [0.6875, 0.69140625)
	{0x1.713786d9c7c09p+00, -0x1.76feecb947176p-02, 0x1.398d9eb4ea363p-56},  // [0.69140625, 0.6953125)
	{0x1.6f26016f26017p+00, -0x1.713e33a46a17cp-02, 0x1.f6cf40b5c71a6p-57},  // [0.6953125, 0.69921875)
	{0x1.6d1a62681c861p+00, -0x1.6b85b4cffa3fdp-02, 0x1.1af2c8dafcb08p-57},  // [0.69921875, 0.703125)
	{0x1.6b1490aa31a3dp+00, -0x1.65d558d4ce00bp-02, 0x1.4e05a4748480ap-56},  // [0.703125, 0.70703125)
	{0x1.691473a88d0cp+00, -0x1.602d08af091ecp-02, -0x1.a45db7cfd923p-56},   // [0.70703125, 0.7109375)
	{0x1.6719f3601671ap+00, -0x1.5a8cadbbedfa1p-02, -0x1.64f5081307f22p-60}, // [0.7109375, 0.71484375)
	{0x1.6524f853b4aa3p+00, -0x1.54f431b7be1a8p-02, 0x1.0b3f6ef6ae452p-58},  // [0.71484375, 0.71875)
	{0x1.63356b88ac0dep+00, -0x1.4f637ebba981p-02, 0x1.68cb3124b9245p-56},   // [0.71875, 0.72265625)
	{0x1.614b36831ae94p+00, -0x1.49da7f3bcc42p-02, 0x1.d964a168ccacbp-57},   // [0.72265625, 0.7265625)
	{0x1.5f66434292dfcp+00, -0x1.44591e0539f49p-02, -0x1.a76d6dc2782dap-59}, // [0.7265625, 0.73046875)
	{0x1.5d867c3ece2a5p+00, -0x1.3edf463c1683ep-02, 0x1.c852fe587def8p-57},  // [0.73046875, 0.734375)
	{0x1.5babcc647fa91p+00, -0x1.396ce359bbf53p-02, 0x1.5c5663663d163p-59},  // [0.734375, 0.73828125)
	{0x1.59d61f123ccaap+00, -0x1.3401e12aecbap-02, -0x1.f95523adc5c9fp-57},  // [0.73828125, 0.7421875)
	{0x1.580560158056p+00, -0x1.2e9e2bce12286p-02, 0x1.f3ed72e23e134p-57},   // [0.7421875, 0.74609375)
	{0x1.56397ba7c52e2p+00, -0x1.2941afb186b7cp-02, -0x1.6a4678ebaa3p-59},   // [0.74609375, 0.75)
	{0x1.54725e6bb82fep+00, -0x1.23ec5991eba49p-02, -0x1.76eba35bbf0dfp-61}, // [0.75, 0.75390625)
	{0x1.52aff56a8054bp+00, -0x1.1e9e1678899f5p-02, -0x1.64b0dd2687939p-58}, // [0.75390625, 0.7578125)
	{0x1.50f22e111c4c5p+00, -0x1.1956d3b9bc2f9p-02, -0x1.0e75a3542856fp-58}, // [0.7578125, 0.76171875)
	{0x1.4f38f62dd4c9bp+00, -0x1.14167ef367784p-02, -0x1.ef824daaf53e9p-56}, // [0.76171875, 0.765625)
	{0x1.4d843bedc2c4cp+00, -0x1.0edd060b78082p-02, -0x1.2d4b610d7d4f5p-57}, // [0.765625, 0.76953125)
	{0x1.4bd3edda68fe1p+00, -0x1.09aa572e6c6d4p-02, -0x1.f9e17343426a9p-56}, // [0.76953125, 0.7734375)
	{0x1.4a27fad76014ap+00, -0x1.047e60cde83b7p-02, -0x1.08869cbf9e344p-56}, // [0.7734375, 0.77734375)
	{0x1.488052201488p+00, -0x1.feb2233ea07cbp-03, -0x1.8de00938b4c3p-61},   // [0.77734375, 0.78125)
	{0x1.46dce34596066p+00, -0x1.f474b134df228p-03, 0x1.9f1df7b5daab7p-60},  // [0.78125, 0.78515625)
	{0x1.453d9e2c776cap+00, -0x1.ea4449f04aaf5p-03, 0x1.f33919ab94074p-57},  // [0.78515625, 0.7890625)
	{0x1.43a2730abee4dp+00, -0x1.e020cc6235ab5p-03, 0x1.f0adb91423f18p-57},  // [0.7890625, 0.79296875)
	{0x1.420b5265e5951p+00, -0x1.d60a17f903514p-03, 0x1.50df841a71b7ap-57},  // [0.79296875, 0.796875)
	{0x1.40782d10e6566p+00, -0x1.cc000c9db3c52p-03, -0x1.67a2a8500729ep-58}, // [0.796875, 0.80078125)
	{0x1.3ee8f42a5af07p+00, -0x1.c2028ab17f9b5p-03, -0x1.c11aa3853a5fp-57},  // [0.80078125, 0.8046875)
	{0x1.3d5d991aa75c6p+00, -0x1.b811730b823d4p-03, 0x1.d7c46328983c6p-58},  // [0.8046875, 0.80859375)
	{0x1.3bd60d9232955p+00, -0x1.ae2ca6f672bd8p-03, 0x1.a4a356155f779p-57},  // [0.80859375, 0.8125)
	{0x1.3a524387ac822p+00, -0x1.a454082e6ab03p-03, 0x1.e0df823a3cb3dp-58},  // [0.8125, 0.81640625)
	{0x1.38d22d366088ep+00, -0x1.9a8778debaa3ap-03, -0x1.28fbfb0e3f0fcp-58}, // [0.81640625, 0.8203125)
	{0x1.3755bd1c945eep+00, -0x1.90c6db9fcbcdbp-03, 0x1.357718d7ca4cfp-58},  // [0.8203125, 0.82421875)
	{0x1.35dce5f9f2af8p+00, -0x1.871213750e994p-03, 0x1.a97a0ca115d6p-57},   // [0.82421875, 0.828125)
	{0x1.34679ace01346p+00, -0x1.7d6903caf5acdp-03, 0x1.0b17c301d6e14p-57},  // [0.828125, 0.83203125)
	{0x1.32f5ced6a1dfap+00, -0x1.73cb9074fd14dp-03, 0x1.721a000b4cf01p-57},  // [0.83203125, 0.8359375)
	{0x1.3187758e9ebb6p+00, -0x1.6a399dabbd383p-03, -0x1.76332bd4b341fp-57}, // [0.8359375, 0.83984375)
	{0x1.301c82ac4026p+00, -0x1.60b3100b09474p-03, -0x1.526cee0fd7f4ap-57},  // [0.83984375, 0.84375)
	{0x1.2eb4ea1fed14bp+00, -0x1.5737cc9018cddp-03, 0x1.00b28ef013c72p-57},  // [0.84375, 0.84765625)
	{0x1.2d50a012d50ap+00, -0x1.4dc7b897bc1c7p-03, -0x1.b60ae1ff0e82ep-59},  // [0.84765625, 0.8515625)
	{0x1.2bef98e5a3711p+00, -0x1.4462b9dc9b3dcp-03, 0x1.85388d830c709p-59},  // [0.8515625, 0.85546875)
	{0x1.2a91c92f3c105p+00, -0x1.3b08b6757f2a7p-03, -0x1.5e1ad9be0a4cdp-57}, // [0.85546875, 0.859375)
	{0x1.293725bb804a5p+00, -0x1.31b994d3a4f86p-03, 0x1.1238b5efe0665p-57},  // [0.859375, 0.86328125)
	{0x1.27dfa38a1ce4dp+00, -0x1.28753bc11aba2p-03, 0x1.7394d9fa33313p-57},  // [0.86328125, 0.8671875)
	{0x1.268b37cd60127p+00, -0x1.1f3b925f25d44p-03, -0x1.08b27be4e6b15p-57}, // [0.8671875, 0.87109375)
	{0x1.2539d7e9177b2p+00, -0x1.160c8024b27bp-03, 0x1.355bfd870afebp-59},   // [0.87109375, 0.875)
	{0x1.23eb79717605bp+00, -0x1.0ce7ecdccc28bp-03, -0x1.1b57fea88da98p-59}, // [0.875, 0.87890625)
	{0x1.22a0122a0122ap+00, -0x1.03cdc0a51ec0dp-03, -0x1.19e2d3f8b7d1p-57},  // [0.87890625, 0.8828125)
	{0x1.21579804855e6p+00, -0x1.f57bc7d9005dbp-04, 0x1.d361574fb24e2p-58},  // [0.8828125, 0.88671875)
	{0x1.2012012012012p+00, -0x1.e3707ee30487bp-04, -0x1.9399d9aaf3b33p-59}, // [0.88671875, 0.890625)
	{0x1.1ecf43c7fb84cp+00, -0x1.d179788219362p-04, 0x1.b12841044a96cp-58},  // [0.890625, 0.89453125)
	{0x1.1d8f5672e4abdp+00, -0x1.bf968769fca18p-04, 0x1.06e4fb7af9c69p-58},  // [0.89453125, 0.8984375)
	{0x1.1c522fc1ce059p+00, -0x1.adc77ee5aea8ep-04, -0x1.d7d8f39bee658p-58}, // [0.8984375, 0.90234375)
	{0x1.1b17c67f2bae3p+00, -0x1.9c0c32d4d254dp-04, 0x1.627a0e199f569p-58},  // [0.90234375, 0.90625)
	{0x1.19e0119e0119ep+00, -0x1.8a6477a91dc29p-04, 0x1.3d4190a482421p-58},  // [0.90625, 0.91015625)
	{0x1.18ab083902bdbp+00, -0x1.78d02263d82d7p-04, -0x1.cbca5b4fdb87ep-58}, // [0.91015625, 0.9140625)
	{0x1.1778a191bd684p+00, -0x1.674f089365a78p-04, -0x1.ca64e9980e048p-59}, // [0.9140625, 0.91796875)
	{0x1.1648d50fc3201p+00, -0x1.55e10050e0382p-04, -0x1.9a0629e3973e4p-58}, // [0.91796875, 0.921875)
	{0x1.151b9a3fdd5c9p+00, -0x1.4485e03dbdfbp-04, -0x1.3ba349aadbc6dp-58},  // [0.921875, 0.92578125)
	{0x1.13f0e8d344724p+00, -0x1.333d7f8183f4ap-04, 0x1.adaa06e211e9ep-59},  // [0.92578125, 0.9296875)
	{0x1.12c8b89edc0acp+00, -0x1.2207b5c7854a1p-04, -0x1.b3f0431efb154p-58}, // [0.9296875, 0.93359375)
	{0x1.11a3019a74826p+00, -0x1.10e45b3cae829p-04, -0x1.9b5ed72e6d974p-58}, // [0.93359375, 0.9375)
	{0x1.107fbbe01108p+00, -0x1.ffa6911ab9309p-05, 0x1.cd9f1f95c2ef1p-59},   // [0.9375, 0.94140625)
	{0x1.0f5edfab325a2p+00, -0x1.dda8adc67ee59p-05, 0x1.31936790bb3b2p-59},  // [0.94140625, 0.9453125)
	{0x1.0e40655826011p+00, -0x1.bbcebfc68f424p-05, 0x1.cd1862f854848p-59},  // [0.9453125, 0.94921875)
	{0x1.0d24456359e3ap+00, -0x1.9a187b573de81p-05, -0x1.b13b26f298a6ap-64}, // [0.94921875, 0.953125)
	{0x1.0c0a7868b4171p+00, -0x1.788595a3577c8p-05, -0x1.2f7c4c5b3c8bdp-62}, // [0.953125, 0.95703125)
	{0x1.0af2f722eecb5p+00, -0x1.5715c4c03cee1p-05, -0x1.5101dc4ebf91fp-59}, // [0.95703125, 0.9609375)
	{0x1.09ddba6af836p+00, -0x1.35c8bfaa13069p-05, 0x1.50830a65543a8p-63},   // [0.9609375, 0.96484375)
	{0x1.08cabb37565e2p+00, -0x1.149e3e4005a8dp-05, 0x1.a9a4168fcebebp-60},  // [0.96484375, 0.96875)
	{0x1.07b9f29b8eae2p+00, -0x1.e72bf2813ce6ap-06, 0x1.8a4bba6a354fap-60},  // [0.96875, 0.97265625)
	{0x1.06ab59c7912fbp+00, -0x1.a55f548c5c427p-06, -0x1.f60d2fc36a0d9p-61}, // [0.97265625, 0.9765625)
	{0x1.059eea0727586p+00, -0x1.63d6178690bbep-06, 0x1.18ed4d357c9dcp-60},  // [0.9765625, 0.98046875)
	{0x1.04949cc1664c5p+00, -0x1.228fb1fea2e0ap-06, -0x1.3284991fe3d5cp-61}, // [0.98046875, 0.984375)
	{0x1.038c6b78247fcp+00, -0x1.c317384c75f0dp-07, -0x1.806208c04c21fp-61}, // [0.984375, 0.98828125)
	{0x1.02864fc7729e9p+00, -0x1.41929f968330cp-07, -0x1.3aae809b43ddp-61},  // [0.98828125, 0.9921875)
	{0x1.0182436517a37p+00, -0x1.8121214586b02p-08, 0x1.c7d68c0d910f2p-62},  // [0.9921875, 0.99609375)
	{0x1.0000p+00, 0, 0}, // [0.99609375, 1)
	{0x1.0000p+00, 0, 0}, // [1, 1.0078125)
	{0x1.fa11caa01fa12p-01, 0x1.7dc475f810a69p-07, 0x1.74944bc161072p-61},  // [1.0078125, 1.015625)
	{0x1.f6310aca0dbb5p-01, 0x1.3cea44346a584p-06, -0x1.865ad48159dp-61},   // [1.015625, 1.0234375)
	{0x1.f25f644230ab5p-01, 0x1.b9fc027af919ap-06, -0x1.90ae69229dc86p-60}, // [1.0234375, 1.03125)
	{0x1.ee9c7f8458e02p-01, 0x1.1b0d98923d97fp-05, -0x1.74d7444dd6241p-59}, // [1.03125, 1.0390625)
	{0x1.eae807aba01ebp-01, 0x1.58a5bafc8e4d3p-05, -0x1.cab8569c56e4p-64},  // [1.0390625, 1.046875)
	{0x1.e741aa59750e4p-01, 0x1.95c830ec8e3f2p-05, 0x1.eb41d00a417e9p-60},  // [1.046875, 1.0546875)
	{0x1.e3a9179dc1a73p-01, 0x1.d276b8adb0b56p-05, 0x1.078f14c95ff53p-59},  // [1.0546875, 1.0625)
	{0x1.e01e01e01e01ep-01, 0x1.075983598e471p-04, 0x1.006d2999e22dcp-58},  // [1.0625, 1.0703125)
	{0x1.dca01dca01dcap-01, 0x1.253f62f0a1417p-04, 0x1.1f6d34e01d981p-61},  // [1.0703125, 1.078125)
	{0x1.d92f2231e7f8ap-01, 0x1.42edcbea646eep-04, -0x1.511583653349bp-58}, // [1.078125, 1.0859375)
	{0x1.d5cac807572b2p-01, 0x1.60658a93750c4p-04, -0x1.f108b1d8436d3p-59}, // [1.0859375, 1.09375)
	{0x1.d272ca3fc5b1ap-01, 0x1.7da766d7b12dp-04, 0x1.a2240644d7da2p-59},   // [1.09375, 1.1015625)
	{0x1.cf26e5c44bfc6p-01, 0x1.9ab42462033aep-04, -0x1.a099e1c184e8ep-59}, // [1.1015625, 1.109375)
	{0x1.cbe6d9601cbe7p-01, 0x1.b78c82bb0edap-04, -0x1.3ef0e61f9b03cp-58},  // [1.109375, 1.1171875)
	{0x1.c8b265afb8a42p-01, 0x1.d4313d66cb35dp-04, 0x1.b90dd951d90fap-58},  // [1.1171875, 1.125)
	{0x1.c5894d10d4986p-01, 0x1.f0a30c01162a4p-04, 0x1.8be64b8b7759bp-59},  // [1.125, 1.1328125)
	{0x1.c26b5392ea01cp-01, 0x1.0671512ca596fp-03, -0x1.2f39b81479b67p-58}, // [1.1328125, 1.140625)
	{0x1.bf583ee868d8bp-01, 0x1.14785846742acp-03, 0x1.94409f1d3f83ap-60},  // [1.140625, 1.1484375)
	{0x1.bc4fd65883e7bp-01, 0x1.2266f190a5acdp-03, -0x1.dab840e7f6177p-57}, // [1.1484375, 1.15625)
	{0x1.b951e2b18ff23p-01, 0x1.303d718e47fd5p-03, -0x1.b5ae71f658247p-57}, // [1.15625, 1.1640625)
	{0x1.b65e2e3beee05p-01, 0x1.3dfc2b0ecc62ap-03, 0x1.ba62b8c13f7f4p-57},  // [1.1640625, 1.171875)
	{0x1.b37484ad806cep-01, 0x1.4ba36f39a55e5p-03, -0x1.f767e433c98aap-57}, // [1.171875, 1.1796875)
	{0x1.b094b31d922a4p-01, 0x1.59338d9982085p-03, 0x1.8d16eaaba9419p-57},  // [1.1796875, 1.1875)
	{0x1.adbe87f94905ep-01, 0x1.66acd4272ad51p-03, -0x1.9201c9c3d5165p-59}, // [1.1875, 1.1953125)
	{0x1.aaf1d2f87ebfdp-01, 0x1.740f8f54037a3p-03, 0x1.6d9bf9d57b326p-58},  // [1.1953125, 1.203125)
	{0x1.a82e65130e159p-01, 0x1.815c0a14357e9p-03, 0x1.141b7f8c5fa9ep-58},  // [1.203125, 1.2109375)
	{0x1.a574107688a4ap-01, 0x1.8e928de886d41p-03, 0x1.2589eb96a624p-59},   // [1.2109375, 1.21875)
	{0x1.a2c2a87c51cap-01, 0x1.9bb362e7dfb85p-03, -0x1.51439c1ff83e7p-58},  // [1.21875, 1.2265625)
	{0x1.a01a01a01a01ap-01, 0x1.a8becfc882f19p-03, -0x1.a8c37918c39ebp-58}, // [1.2265625, 1.234375)
	{0x1.9d79f176b682dp-01, 0x1.b5b519e8fb5a6p-03, -0x1.d5d8023e61e5fp-57}, // [1.234375, 1.2421875)
	{0x1.9ae24ea5510dap-01, 0x1.c2968558c18c2p-03, 0x1.6108e3ae024acp-60},  // [1.2421875, 1.25)
	{0x1.9852f0d8ec0ffp-01, 0x1.cf6354e09c5ddp-03, 0x1.339a07d55b696p-57},  // [1.25, 1.2578125)
	{0x1.95cbb0be377aep-01, 0x1.dc1bca0abec7bp-03, 0x1.c698a33316dfbp-58},  // [1.2578125, 1.265625)
	{0x1.934c67f9b2ce6p-01, 0x1.e8c0252aa5a6p-03, -0x1.dc074737f9135p-60},  // [1.265625, 1.2734375)
	{0x1.90d4f120190d5p-01, 0x1.f550a564b7b37p-03, -0x1.13a09202fe73dp-57}, // [1.2734375, 1.28125)
	{0x1.8e6527af1373fp-01, 0x1.00e6c45ad501dp-02, -0x1.3b9568ff6feadp-57}, // [1.28125, 1.2890625)
	{0x1.8bfce8062ff3ap-01, 0x1.071b85fcd590dp-02, 0x1.08b83fcbdef4p-57},   // [1.2890625, 1.296875)
	{0x1.899c0f601899cp-01, 0x1.0d46b579ab74bp-02, 0x1.21f640e1e5ec9p-56},  // [1.296875, 1.3046875)
	{0x1.87427bcc092b9p-01, 0x1.136870293a8bp-02, 0x1.86cc531dba494p-57},   // [1.3046875, 1.3125)
	{0x1.84f00c2780614p-01, 0x1.1980d2dd4236fp-02, -0x1.02c2e4f1b2eb9p-56}, // [1.3125, 1.3203125)
	{0x1.82a4a0182a4ap-01, 0x1.1f8ff9e48a2f3p-02, -0x1.93fbf3418960dp-57},  // [1.3203125, 1.328125)
	{0x1.8060180601806p-01, 0x1.2596010df763ap-02, -0x1.9eed8ae0ebd3cp-59}, // [1.328125, 1.3359375)
	{0x1.7e225515a4f1dp-01, 0x1.2b9303ab89d25p-02, -0x1.85ad7f614ab51p-58}, // [1.3359375, 1.34375)
	{0x1.7beb3922e017cp-01, 0x1.31871c9544185p-02, -0x1.ea3598981366fp-57}, // [1.34375, 1.3515625)
	{0x1.79baa6bb6398bp-01, 0x1.3772662bfd85cp-02, 0x1.02a7589fba088p-57},  // [1.3515625, 1.359375)
	{0x1.77908119ac60dp-01, 0x1.3d54fa5c1f71p-02, 0x1.53668e578d9cdp-58},   // [1.359375, 1.3671875)
	{0x1.756cac201756dp-01, 0x1.432ef2a04e813p-02, -0x1.83262e2b59206p-57}, // [1.3671875, 1.375)
}
