package gate

import (
	"errors"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

func pf(v float64) *float64 { return &v }

// calModel is a binary run with the calibration figures beyond ECE set.
func calModel(smece, rmsce float64) *report.Model {
	m := &report.Model{Kind: metrics.Binary, Units: metrics.Nats, Binning: metrics.Uniform,
		Overall: metrics.Figures{Rows: 10, Weight: 10, NLL: 0.5, ECE: pf(0.03), Accuracy: pf(0.8), Brier: pf(0.2), Skipped: map[string]int64{}}}
	d := &m.Overall.Detail
	d.SmECE, d.SmECESigma, d.RMSCE = pf(smece), pf(0.05), pf(rmsce)
	d.BrierReliability, d.BrierResolution, d.BrierUncertainty = pf(rmsce*rmsce), pf(0.1), pf(0.25)
	return m
}

// TestGatesOnCalibrationFigures: --fail-if and baseline gates judge the
// calibration object's figures, named bare or as calibration.NAME, on a
// Model and against a baseline report read back; an unknown name lists them.
func TestGatesOnCalibrationFigures(t *testing.T) {
	cur := calModel(0.04, 0.06)
	bdoc, err := report.ParseDoc("base.json", calModel(0.02, 0.05).JSON())
	if err != nil {
		t.Fatal(err)
	}
	base := &report.Baseline{Path: "base.json", Doc: bdoc}
	th := func(e string) Threshold {
		x, err := ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	lim := func(e string) Limit {
		x, err := ParseLimit(e, true)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	r, err := Eval(cur, []Threshold{th("smece > 0.05"), th("calibration.rmsce >= 0.06"), th("brier_resolution < 0.05")},
		[]Limit{lim("smece=0.01"), lim("calibration.rmsce=0.02")}, base)
	if err != nil {
		t.Fatal(err)
	}
	wantFailed := []bool{false, true, false, true, false}
	if len(r.Gates) != len(wantFailed) {
		t.Fatalf("gates: %+v", r.Gates)
	}
	for i, g := range r.Gates {
		if g.Failed != wantFailed[i] {
			t.Errorf("gate %s: failed %v, want %v (%+v)", g.Expr, g.Failed, wantFailed[i], g)
		}
	}
	if g := r.Gates[3]; g.Value != 0.04 || g.Base == nil || *g.Base != 0.02 {
		t.Errorf("smece limit: %+v", g)
	}
	if !r.Failed {
		t.Error("not failed")
	}
	// A name the report lacks lists the calibration figures it has.
	_, err = Eval(cur, []Threshold{th("smec > 1")}, nil, nil)
	var me *MetricError
	if !errors.As(err, &me) {
		t.Fatalf("got %v", err)
	}
	for _, name := range []string{"smece", "smece_sigma", "rmsce", "brier_reliability", "brier_resolution", "brier_uncertainty"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%v: does not list %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "ece_sweep") {
		t.Errorf("%v: lists ece_sweep, which the run did not compute", err)
	}
	// A baseline without the figure (made before it existed) names it.
	old := calModel(0.02, 0.05)
	old.Overall.Detail.SmECE = nil
	odoc, err := report.ParseDoc("old.json", old.JSON())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Eval(cur, nil, []Limit{lim("smece=0.01")}, &report.Baseline{Path: "old.json", Doc: odoc})
	if err == nil || !strings.Contains(err.Error(), `old.json: baseline has no figure "smece"`) {
		t.Errorf("got %v", err)
	}
}
