package main

import (
	"errors"
	"strings"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/metrics"
	"github.com/evalnll/evalnll/report"
)

// runGates evaluates --fail-if thresholds, then baseline limits, on the
// model's figures, recording each in the model in that order. It reports
// whether any failed.
func runGates(m *report.Model, cur report.Figures, ths []gate.Threshold, lims []gate.Limit, base *report.Baseline) (bool, error) {
	res, err := gate.Eval(cur, ths, lims, base)
	if err != nil {
		var me *gate.MetricError
		switch {
		case errors.As(err, &me) && me.Threshold:
			return false, usagef("--fail-if %v", err)
		case errors.As(err, &me) && me.Baseline == "":
			return false, usagef("%v", err)
		}
		return false, err
	}
	if res.Gates != nil {
		m.Gates = res.Gates
	}
	for _, w := range res.Warnings {
		m.AddWarning(w)
	}
	return res.Failed, nil
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
	if cfg.LMBytes {
		ms = append(ms, "bytes", "bits_per_byte", "byte_perplexity")
	}
	if cfg.LMWords {
		ms = append(ms, "words", "word_perplexity")
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
