package metrics

import "math"

// Stable log-space primitives. Every function here is pure and
// allocation-free; tests compare them with 50-digit references.

// Softplus returns ln(1 + e^x) without overflow or loss of precision:
// max(x, 0) + log1p(e^-|x|).
func Softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// Sigmoid returns 1/(1+e^-x), computed so that neither branch overflows.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// BinaryProbNLL is -(y ln p + (1-y) ln(1-p)) for y in {0,1}, p already
// clipped. ln(1-p) is computed as log1p(-p), which keeps its relative
// precision when p is small.
func BinaryProbNLL(p float64, y bool) float64 {
	if y {
		return -Log(p)
	}
	return -math.Log1p(-p)
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
	m := float64(z[0])
	for k := 1; k < len(z); k++ {
		if v := float64(z[k]); v > m {
			m = v
			argmax = k
		}
	}
	// s = sum_k e^(z_k - m) >= 1; the Brier terms are accumulated apart
	// from the true class so that 1 - softmax_y is not found by cancellation.
	var sOther, qOther float64
	for k := 0; k < y; k++ {
		e := math.Exp(float64(z[k]) - m)
		sOther += e
		qOther += e * e
	}
	for k := y + 1; k < len(z); k++ {
		e := math.Exp(float64(z[k]) - m)
		sOther += e
		qOther += e * e
	}
	zy := float64(z[y]) - m
	ey := math.Exp(zy)
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

// UniformBin is min(n-1, floor(c*n)) computed in float64, for c in [0, 1].
func UniformBin(c float64, n int) int {
	b := int(math.Floor(c * float64(n)))
	if b >= n {
		b = n - 1
	}
	if b < 0 {
		b = 0
	}
	return b
}

// minNormal is the smallest positive normal float64.
const minNormal = 2.2250738585072014e-308

// Log is the natural logarithm. Go's math.Log on amd64 returns wrong values
// for subnormal inputs (math.Log(5e-324) gives -709.09, not -744.44), so a
// subnormal is scaled by 2^54 first; the scaling is exact.
func Log(x float64) float64 {
	if x < minNormal && x > 0 {
		return math.Log(x*(1<<54)) - 54*math.Ln2
	}
	return math.Log(x)
}
