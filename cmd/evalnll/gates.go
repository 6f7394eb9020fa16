package main

import (
	"fmt"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/report"
)

// runGates evaluates --fail-if thresholds, then baseline limits, recording
// each in the model in that order. It reports whether any failed.
func runGates(m *report.Model, ths []gate.Threshold, lims []gate.Limit, base *report.Baseline) (bool, error) {
	if len(ths) == 0 && len(lims) == 0 {
		return false, nil
	}
	doc, err := report.ParseDoc("report", m.JSON())
	if err != nil {
		return false, err
	}
	failed := false
	m.Gates = []report.Gate{}
	for _, t := range ths {
		v, ok := doc.Lookup(t.Metric)
		if !ok {
			return false, usagef("--fail-if %q: %v", t.Expr, gate.UnknownMetric(t.Metric, doc.Metrics()))
		}
		g := report.Gate{Expr: t.Expr, Value: v, Failed: t.Holds(v)}
		if g.Failed {
			g.Message = fmt.Sprintf("%s: %s is %s", t.Expr, t.Metric, report.Fmt(v))
			failed = true
		}
		m.Gates = append(m.Gates, g)
	}
	for _, l := range lims {
		v, ok := doc.Lookup(l.Metric)
		if !ok {
			return false, usagef("%s: %v", l.Name(), gate.UnknownMetric(l.Metric, doc.Metrics()))
		}
		b, ok := base.Doc.Lookup(l.Metric)
		if !ok {
			return false, fmt.Errorf("%s: baseline has no figure %q", base.Path, l.Metric)
		}
		bb := b
		g := report.Gate{Expr: l.Name(), Value: v, Base: &bb, Failed: l.Fails(b, v)}
		if g.Failed {
			unit := ""
			if l.Relative {
				unit = " (relative)"
			}
			g.Message = fmt.Sprintf("%s: %s went from %s to %s, a change of %s%s, over the limit %s", l.Name(), l.Metric, report.Fmt(b), report.Fmt(v), report.Fmt(l.Change(b, v)), unit, report.Fmt(l.Delta))
			failed = true
		}
		m.Gates = append(m.Gates, g)
	}
	return failed, nil
}
