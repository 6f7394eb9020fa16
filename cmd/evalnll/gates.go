package main

import (
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/gateplan"
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
	return evalcmd.ParseGates(failIf, maxInc, maxDec)
}

// matchBaseline is gate.MatchBaseline with the flags named.
func matchBaseline(base *report.Baseline, cur report.Doc, lims []gate.Limit, allow bool, warn func(string)) error {
	return gateFlagError(gate.MatchBaseline(base, cur, lims, allow, flagNames.AllowMismatch, warn))
}

// plannedDoc is what a run of cfg will report, for matchBaseline.
func plannedDoc(cfg *metrics.Config) report.Doc { return gateplan.PlannedDoc(cfg) }

// gateFlagError names the flag of a gate that names an unknown figure, or
// of a baseline gate refused for a mismatched setting.
func gateFlagError(err error) error { return evalcmd.GateFlagError(err) }
