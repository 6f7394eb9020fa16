// Package gate parses and evaluates the pass/fail conditions of a CI run:
// `--fail-if 'METRIC OP VALUE'` thresholds and `--max-increase` /
// `--max-decrease` limits against a baseline report.
//
// Callers parse every expression first (ParseThreshold, ParseLimit; the
// caller names the flag in a usage error), then Eval them all on the figures
// of the finished report (a report.Model, or a report read back), limits
// against a baseline report. Eval returns the judged gates, the warnings to
// record and whether any failed; it never renders the report.
package gate

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Op is a comparison operator.
type Op string

const (
	GT Op = ">"
	GE Op = ">="
	LT Op = "<"
	LE Op = "<="
)

// Threshold is a parsed --fail-if expression: the run fails when
// Metric Op Value holds.
type Threshold struct {
	Expr   string
	Metric string
	Op     Op
	Value  float64
}

// Lookup returns a named figure of a report and whether it exists.
type Lookup func(metric string) (float64, bool)

// ParseThreshold parses 'METRIC OP VALUE', e.g. 'nll > 0.35' or
// 'slice[lang=de].nll >= 0.9'.
func ParseThreshold(expr string) (Threshold, error) {
	s := strings.TrimSpace(expr)
	for _, op := range []Op{GE, LE, GT, LT} { // two-character operators first
		i := strings.Index(s, string(op))
		if i < 0 {
			continue
		}
		metric := strings.TrimSpace(s[:i])
		val := strings.TrimSpace(s[i+len(op):])
		if metric == "" {
			return Threshold{}, fmt.Errorf("%q: no metric before %s", expr, op)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(v) {
			return Threshold{}, fmt.Errorf("%q: %q is not a number", expr, val)
		}
		return Threshold{Expr: expr, Metric: metric, Op: op, Value: v}, nil
	}
	return Threshold{}, fmt.Errorf("%q: want METRIC OP VALUE with OP one of >, >=, <, <=", expr)
}

// Holds reports whether v Op t holds. A NaN figure fails every gate.
func (t Threshold) Holds(v float64) bool {
	if math.IsNaN(v) {
		return true
	}
	switch t.Op {
	case GT:
		return v > t.Value
	case GE:
		return v >= t.Value
	case LT:
		return v < t.Value
	}
	return v <= t.Value
}

// Limit is a parsed --max-increase or --max-decrease METRIC=DELTA.
type Limit struct {
	Expr     string
	Metric   string
	Delta    float64
	Relative bool // DELTA was N%: Delta holds N/100
	Increase bool // --max-increase (lower is better); else --max-decrease
}

// ParseLimit parses METRIC=DELTA or METRIC=N%.
func ParseLimit(expr string, increase bool) (Limit, error) {
	k, v, ok := strings.Cut(expr, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" || v == "" {
		return Limit{}, fmt.Errorf("%q: want METRIC=DELTA or METRIC=N%%", expr)
	}
	l := Limit{Expr: expr, Metric: k, Increase: increase}
	if strings.HasSuffix(v, "%") {
		l.Relative = true
		v = strings.TrimSpace(strings.TrimSuffix(v, "%"))
	}
	d, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(d) || d < 0 {
		return Limit{}, fmt.Errorf("%q: %q is not a non-negative number", expr, v)
	}
	if l.Relative {
		d /= 100
	}
	l.Delta = d
	return l, nil
}

// Name is how the gate is listed in the report: "nll max-increase 0.01".
func (l Limit) Name() string {
	dir := "max-decrease"
	if l.Increase {
		dir = "max-increase"
	}
	return l.Metric + " " + dir + " " + strings.TrimSpace(l.Expr[strings.Index(l.Expr, "=")+1:])
}

// Change is how much the metric got worse from base to cur: absolute, or
// relative to |base| for N% limits.
func (l Limit) Change(base, cur float64) float64 {
	d := cur - base
	if !l.Increase {
		d = base - cur
	}
	if l.Relative {
		return d / math.Abs(base)
	}
	return d
}

// Fails reports whether the change exceeds the limit. A NaN change fails.
func (l Limit) Fails(base, cur float64) bool {
	c := l.Change(base, cur)
	return math.IsNaN(c) || c > l.Delta
}

// UnknownMetric is the error for a name that is not a figure of the report.
func UnknownMetric(metric string, valid []string) error {
	v := append([]string(nil), valid...)
	sort.Strings(v)
	return fmt.Errorf("unknown metric %q (valid: %s)", metric, strings.Join(v, ", "))
}
