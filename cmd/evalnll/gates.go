package main

import (
	"errors"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

// runGates evaluates --fail-if thresholds, then baseline limits, on the
// model's figures, recording each in the model in that order. It reports
// whether any failed.
func runGates(m *report.Model, cur report.Figures, ths []gate.Threshold, lims []gate.Limit, base *report.Baseline) (bool, error) {
	res, err := gate.Eval(cur, ths, lims, base)
	if err != nil {
		return false, gateFlagError(err)
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

// matchBaseline is gate.MatchBaseline with the flags named.
func matchBaseline(base *report.Baseline, cur report.Doc, lims []gate.Limit, allow bool, warn func(string)) error {
	return gateFlagError(gate.MatchBaseline(base, cur, lims, allow, flagNames.AllowMismatch, warn))
}

// plannedDoc is what a run of cfg will report, for matchBaseline.
func plannedDoc(cfg *metrics.Config) report.Doc { return gate.PlannedDoc(cfg) }

// flagOf is how a limit was given on the command line.
func flagOf(l gate.Limit) string {
	if l.Increase {
		return "--max-increase " + l.Expr
	}
	return "--max-decrease " + l.Expr
}

// gateFlagError names the flag of a gate that names an unknown figure, or
// of a baseline gate refused for a mismatched setting.
func gateFlagError(err error) error {
	var me *gate.MetricError
	var be *gate.BaselineError
	if errors.As(err, &be) {
		return usagef("%s: %s (pass %s to judge it anyway)", flagOf(be.Limit), be.Setting, flagNames.AllowMismatch)
	}
	switch {
	case !errors.As(err, &me):
	case me.Threshold:
		return usagef("--fail-if %v", err)
	case me.Before:
		return usagef("--max-increase/--max-decrease %v", err)
	case me.Baseline == "":
		return usagef("%v", err)
	}
	return err
}
