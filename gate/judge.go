package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

// Result is the outcome of a run's gates.
type Result struct {
	// Gates holds each gate judged, thresholds first, in the order given;
	// nil when there were none.
	Gates []report.Gate
	// Warnings are caveats to record in the report (a baseline gate that
	// could only compare point estimates).
	Warnings []string
	// Failed is set when any gate failed.
	Failed bool
}

// A MetricError is a gate that names a figure a report does not have.
type MetricError struct {
	// Gate is the threshold's expression or the limit's Name (its
	// expression as given when Check found it).
	Gate      string
	Threshold bool // a Threshold (else a Limit)
	Metric    string
	// Valid lists the figures the report has; nil when the figure is
	// missing from the baseline.
	Valid []string
	// Baseline is the baseline report's path when it lacks the figure.
	Baseline string
	// Before is set when Check found it, before any row was read.
	Before bool
}

func (e *MetricError) Error() string {
	if e.Baseline != "" {
		if e.slice() {
			return fmt.Sprintf("%s: baseline has no figure %q (it has no such slice, or was made without --by)", e.Baseline, e.Metric)
		}
		return fmt.Sprintf("%s: baseline has no figure %q", e.Baseline, e.Metric)
	}
	why := UnknownMetric(e.Metric, e.Valid)
	if e.Before {
		// Check, before the run: the figure cannot exist in its report.
		if strings.HasPrefix(e.Metric, "slice[") && !slices.Contains(e.Valid, "slice[COL=VALUE].METRIC") {
			why = errors.New("slice figures need --by (this run has no slices)")
		}
		return fmt.Sprintf("%q: %v", e.Gate, why)
	}
	if e.slice() {
		// A slice figure: the report has no slices, or not this one.
		why = fmt.Errorf("%q needs --by: the report has no slices", e.Metric)
		if slices.Contains(e.Valid, "slice[COL=VALUE].METRIC") {
			sel, _, _ := strings.Cut(strings.TrimPrefix(e.Metric, "slice["), "].")
			why = fmt.Errorf("the report has no slice %s (a slice is named by every --by column: slice[COL=VALUE,COL2=VALUE2].METRIC)", sel)
		}
	}
	if e.Threshold {
		return fmt.Sprintf("%q: %v", e.Gate, why)
	}
	return fmt.Sprintf("%s: %v", e.Gate, why)
}

// slice reports whether the figure is a slice's (slice[...].METRIC).
func (e *MetricError) slice() bool {
	return strings.HasPrefix(e.Metric, "slice[") && strings.Contains(e.Metric, "].")
}

// Eval judges the thresholds, then the limits against base, on the figures
// of cur (a finished report.Model, or a report read back). base may be nil
// when there are no limits. A gate naming a figure the report lacks is a
// *MetricError.
func Eval(cur report.Figures, ths []Threshold, lims []Limit, base *report.Baseline) (Result, error) {
	var r Result
	if len(ths) == 0 && len(lims) == 0 {
		return r, nil
	}
	r.Gates = []report.Gate{}
	for _, t := range ths {
		v, ok := cur.Lookup(t.Metric)
		if !ok {
			return Result{}, &MetricError{Gate: t.Expr, Threshold: true, Metric: t.Metric, Valid: cur.Metrics()}
		}
		g := report.Gate{Expr: t.Expr, Value: v, Failed: t.Holds(v)}
		if g.Failed {
			g.Message = fmt.Sprintf("%s: %s is %s", t.Expr, t.Metric, report.Fmt(v))
			r.Failed = true
		}
		r.Gates = append(r.Gates, g)
	}
	if len(lims) > 0 && base == nil {
		return Result{}, fmt.Errorf("gate: %s needs a baseline", lims[0].Name())
	}
	for _, l := range lims {
		v, ok := cur.Lookup(l.Metric)
		if !ok {
			return Result{}, &MetricError{Gate: l.Name(), Metric: l.Metric, Valid: cur.Metrics()}
		}
		b, ok := base.Doc.Lookup(l.Metric)
		if !ok {
			return Result{}, &MetricError{Gate: l.Name(), Metric: l.Metric, Baseline: base.Path}
		}
		bb := b
		g := report.Gate{Expr: l.Name(), Value: v, Base: &bb}
		if w := judgeLimit(&g, l, base.Doc, cur, b, v); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
		if g.Failed {
			r.Failed = true
		}
		r.Gates = append(r.Gates, g)
	}
	return r, nil
}

// judgeLimit decides a baseline gate. When the two runs' bootstrap
// replicates pair, the gate fails only if the whole 95% interval of the
// change lies above the limit; otherwise it compares point estimates and
// says why it could not pair, in the warning it returns.
func judgeLimit(g *report.Gate, l Limit, baseDoc, curDoc report.Figures, b, v float64) (warning string) {
	change := l.Change(b, v)
	unit := ""
	if l.Relative {
		unit = " (relative)"
	}
	bs, cs, why := report.Pair(baseDoc, curDoc, l.Metric)
	if why == "" {
		d := make([]float64, len(bs))
		for i := range bs {
			d[i] = l.Change(bs[i], cs[i])
		}
		g.Paired = true
		g.DeltaLo, g.DeltaHi = metrics.Percentile95(d)
		g.Failed = g.DeltaLo > l.Delta || math.IsNaN(g.DeltaLo)
		if g.Failed {
			g.Message = fmt.Sprintf("%s: %s went from %s to %s; the 95%% interval of the change%s, [%s, %s], lies above the limit %s",
				l.Name(), l.Metric, report.Fmt(b), report.Fmt(v), unit, report.Fmt(g.DeltaLo), report.Fmt(g.DeltaHi), report.Fmt(l.Delta))
			return ""
		}
		// Passed: say so when only the interval's reach below the limit
		// saved it (the note is the gate's message and a warning).
		g.Message = passedByInterval(l, change, g.DeltaLo, g.DeltaHi)
		return g.Message
	}
	warning = fmt.Sprintf("baseline gate %s compared point estimates: %s", l.Name(), why)
	g.Failed = l.Fails(b, v)
	if g.Failed {
		g.Message = fmt.Sprintf("%s: %s went from %s to %s, a change of %s%s, over the limit %s (point estimates: %s)",
			l.Name(), l.Metric, report.Fmt(b), report.Fmt(v), report.Fmt(change), unit, report.Fmt(l.Delta), why)
	}
	return warning
}

// passedByInterval is the note on a paired baseline gate that passed
// although the point change exceeds the limit: only because the 95%
// interval of the change reaches below it. "" otherwise.
func passedByInterval(l Limit, change, lo, hi float64) string {
	if !(change > l.Delta) {
		return ""
	}
	return fmt.Sprintf("%s passed only because the 95%% interval of the change, [%s, %s], reaches below the limit %s: the point change %s is over it",
		l.Name(), report.Fmt(lo), report.Fmt(hi), report.Fmt(l.Delta), report.Fmt(change))
}
