package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/evalnll/evalnll/metrics"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/report"
)

// runGates evaluates --fail-if thresholds, then baseline limits, recording
// each in the model in that order. It reports whether any failed.
func runGates(m *report.Model, ths []gate.Threshold, lims []gate.Limit, base *report.Baseline, allowMismatch bool) (bool, error) {
	if len(ths) == 0 && len(lims) == 0 {
		return false, nil
	}
	doc, err := report.ParseDoc("report", m.JSON())
	if err != nil {
		return false, err
	}
	if base != nil && len(lims) > 0 {
		if err := matchBaseline(base, doc, lims, allowMismatch, m.AddWarning); err != nil {
			return false, err
		}
	}
	return judgeGates(m, doc, ths, lims, base)
}

// judgeGates evaluates the gates against a parsed report, recording them in
// m.Gates and warnings in m.
func judgeGates(m *report.Model, doc report.Doc, ths []gate.Threshold, lims []gate.Limit, base *report.Baseline) (bool, error) {
	if len(ths) == 0 && len(lims) == 0 {
		return false, nil
	}
	failed := false
	m.Gates = []report.Gate{}
	for _, t := range ths {
		v, ok := doc.Lookup(t.Metric)
		if !ok {
			return false, usagef("--fail-if %q: %v", t.Expr, metricError(doc, "the report", t.Metric))
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
			return false, usagef("%s: %v", l.Name(), metricError(doc, "the report", l.Metric))
		}
		b, ok := base.Doc.Lookup(l.Metric)
		if !ok {
			return false, fmt.Errorf("%s: baseline has no figure %q: %v", base.Path, l.Metric, metricError(base.Doc, "the baseline", l.Metric))
		}
		bb := b
		g := report.Gate{Expr: l.Name(), Value: v, Base: &bb}
		judgeLimit(&g, l, base.Doc, doc, b, v, m)
		if g.Failed {
			failed = true
		}
		m.Gates = append(m.Gates, g)
	}
	return failed, nil
}

// judgeLimit decides a baseline gate. When the two runs' bootstrap
// replicates pair, the gate fails only if the whole 95% interval of the
// change lies above the limit; otherwise it compares point estimates and
// says why it could not pair.
func judgeLimit(g *report.Gate, l gate.Limit, baseDoc, curDoc report.Doc, b, v float64, m *report.Model) {
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
		} else if note := passedByInterval(l, change, g.DeltaLo, g.DeltaHi); note != "" {
			g.Message = note
			m.AddWarning(note)
		}
		return
	}
	m.AddWarning(fmt.Sprintf("baseline gate %s compared point estimates: %s", l.Name(), why))
	g.Failed = l.Fails(b, v)
	if g.Failed {
		g.Message = fmt.Sprintf("%s: %s went from %s to %s, a change of %s%s, over the limit %s (point estimates: %s)",
			l.Name(), l.Metric, report.Fmt(b), report.Fmt(v), report.Fmt(change), unit, report.Fmt(l.Delta), why)
	}
}

// passedByInterval is the note on a paired baseline gate that passed
// although the point change exceeds the limit: only because the 95%
// interval of the change reaches below it. "" otherwise.
func passedByInterval(l gate.Limit, change, lo, hi float64) string {
	if !(change > l.Delta) {
		return ""
	}
	return fmt.Sprintf("%s passed only because the 95%% interval of the change, [%s, %s], reaches below the limit %s: the point change %s is over it",
		l.Name(), report.Fmt(lo), report.Fmt(hi), report.Fmt(l.Delta), report.Fmt(change))
}

// parseGates parses the gate flags shared by eval and compare.
func parseGates(failIf, maxInc, maxDec []string) ([]gate.Threshold, []gate.Limit, error) {
	var ths []gate.Threshold
	for _, x := range failIf {
		t, err := gate.ParseThreshold(x)
		if err != nil {
			return nil, nil, usagef("--fail-if: %v", err)
		}
		ths = append(ths, t)
	}
	var lims []gate.Limit
	for _, x := range maxInc {
		l, err := gate.ParseLimit(x, true)
		if err != nil {
			return nil, nil, usagef("--max-increase: %v", err)
		}
		lims = append(lims, l)
	}
	for _, x := range maxDec {
		l, err := gate.ParseLimit(x, false)
		if err != nil {
			return nil, nil, usagef("--max-decrease: %v", err)
		}
		lims = append(lims, l)
	}
	return ths, lims, nil
}

// knownMetrics lists the figures a report of this configuration has, so
// that a gate naming another is refused before the inputs are read.
func knownMetrics(cfg *metrics.Config) []string {
	ms := []string{"rows", "weight", "nll", "nll_sum", "nll_stderr", "perplexity"}
	if cfg.Tokens {
		ms = append(ms, "tokens", "nll_per_token")
	}
	if cfg.Kind.HasCalibration() {
		ms = append(ms, "accuracy", "brier", "ece", "mce")
	}
	if cfg.Pred == metrics.PredProb {
		ms = append(ms, "clipped")
	}
	return ms
}

// checkGateMetrics refuses gates on figures the report will not have.
func checkGateMetrics(cfg *metrics.Config, ths []gate.Threshold, lims []gate.Limit) error {
	known := knownMetrics(cfg)
	valid := append([]string(nil), known...)
	if cfg.ByCols > 0 {
		valid = append(valid, "slice[COL=VALUE].METRIC")
	}
	check := func(flag, expr, metric string) error {
		m := metric
		if strings.HasPrefix(m, "slice[") {
			i := strings.Index(m, "].")
			if cfg.ByCols == 0 {
				return usagef("%s %q: slice figures need --by (this run has no slices)", flag, expr)
			}
			if i < 0 {
				return usagef("%s %q: %v", flag, expr, gate.UnknownMetric(metric, valid))
			}
			m = m[i+2:]
		}
		for _, k := range known {
			if k == m {
				return nil
			}
		}
		return usagef("%s %q: %v", flag, expr, gate.UnknownMetric(metric, valid))
	}
	for _, t := range ths {
		if err := check("--fail-if", t.Expr, t.Metric); err != nil {
			return err
		}
	}
	for _, l := range lims {
		if err := check("--max-increase/--max-decrease", l.Expr, l.Metric); err != nil {
			return err
		}
	}
	return nil
}
