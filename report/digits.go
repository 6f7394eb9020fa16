package report

import (
	"math"
	"strconv"
	"strings"
)

// Figures for people are shown to the digits their uncertainty supports:
// the uncertainty (a standard error, or half the width of an interval) is
// rounded to one significant digit, two when that digit would be 1 or 2,
// and the figure to the same decimal place: 0.463 ± 0.005, 0.284 ± 0.013,
// 1230 ± 50. A figure with no uncertainty is shown with Fmt.

// decimalsFor is the decimal place an uncertainty u supports (negative:
// tens, hundreds...), and false when u gives none (0, NaN, infinite).
func decimalsFor(u float64) (int, bool) {
	u = math.Abs(u)
	if !(u > 0) || math.IsInf(u, 0) {
		return 0, false
	}
	e := int(math.Floor(math.Log10(u)))
	sig := 1
	if u/math.Pow(10, float64(e)) < 3 {
		sig = 2
	}
	d := sig - 1 - e
	if d > 15 || d < -15 {
		return 0, false
	}
	return d, true
}

// fmtDecimals formats v rounded to d decimals (d < 0: to a multiple of
// 10^-d). Huge or non-finite values, which rounding cannot help, go to Fmt.
func fmtDecimals(v float64, d int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e15 {
		return Fmt(v)
	}
	var s string
	if d >= 0 {
		s = strconv.FormatFloat(v, 'f', d, 64)
	} else {
		p := math.Pow(10, float64(-d))
		s = strconv.FormatFloat(math.Round(v/p)*p, 'f', 0, 64)
	}
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0.000"
	}
	return s
}

// fmtUncertain formats v to the digits uncertainty u supports, or with Fmt
// when u gives none.
func fmtUncertain(v, u float64) string {
	if d, ok := decimalsFor(u); ok {
		return fmtDecimals(v, d)
	}
	return Fmt(v)
}

// fmtPM is "v ± u", both to the digits u supports.
func fmtPM(v, u float64) string {
	d, ok := decimalsFor(u)
	if !ok {
		return Fmt(v) + " ± " + Fmt(u)
	}
	return fmtDecimals(v, d) + " ± " + fmtDecimals(u, d)
}

// fmtInterval is "v [lo, hi]" to the digits the interval's half-width
// supports.
func fmtInterval(v, lo, hi float64) string {
	d, ok := decimalsFor((hi - lo) / 2)
	if !ok {
		return Fmt(v) + " [" + Fmt(lo) + ", " + Fmt(hi) + "]"
	}
	return fmtDecimals(v, d) + " [" + fmtDecimals(lo, d) + ", " + fmtDecimals(hi, d) + "]"
}
