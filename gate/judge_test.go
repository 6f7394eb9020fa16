package gate

import (
	"errors"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

func binaryReport(nll float64) *report.Model {
	acc := 0.9
	return &report.Model{Kind: metrics.Binary, Mapping: report.Mapping{Label: "y", Prob: "p"},
		Overall: metrics.Figures{Rows: 10, Weight: 10, NLL: nll, NLLSum: 10 * nll, Accuracy: &acc, Skipped: map[string]int64{}}}
}

func TestEval(t *testing.T) {
	th := func(s string) Threshold {
		x, err := ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	lim := func(s string, inc bool) Limit {
		x, err := ParseLimit(s, inc)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cur := binaryReport(0.4)
	base, err := report.ParseDoc("base.json", binaryReport(0.3).JSON())
	if err != nil {
		t.Fatal(err)
	}
	b := &report.Baseline{Path: "base.json", Doc: base}

	res, err := Eval(cur, []Threshold{th("nll > 0.35"), th("accuracy < 0.5")}, []Limit{lim("nll=0.05", true), lim("accuracy=1%", false)}, b)
	if err != nil {
		t.Fatal(err)
	}
	fails := []bool{true, false, true, false}
	if len(res.Gates) != 4 || !res.Failed {
		t.Fatalf("%+v", res)
	}
	for i, g := range res.Gates {
		if g.Failed != fails[i] {
			t.Errorf("gate %d %q: failed %v, want %v", i, g.Expr, g.Failed, fails[i])
		}
	}
	if len(res.Warnings) != 2 || !strings.Contains(res.Warnings[0], "compared point estimates: neither report has bootstrap replicates") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if res, err := Eval(cur, nil, nil, nil); err != nil || res.Gates != nil || res.Failed {
		t.Errorf("no gates: %+v %v", res, err)
	}

	var me *MetricError
	_, err = Eval(cur, []Threshold{th("ece > 0.1")}, nil, nil)
	if !errors.As(err, &me) || !me.Threshold || me.Metric != "ece" || me.Before {
		t.Fatalf("unknown figure: %v", err)
	}
	if want := `"ece > 0.1": unknown metric "ece" (valid: accuracy, nll, nll_sum, perplexity, rows, weight)`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	_, err = Eval(binaryReport(0.1), nil, []Limit{lim("brier=0.1", true)}, b)
	if !errors.As(err, &me) || me.Threshold || me.Metric != "brier" {
		t.Errorf("limit on an unknown figure: %v", err)
	}
	cur.Overall.Brier = new(float64)
	_, err = Eval(cur, nil, []Limit{lim("brier=0.1", true)}, b)
	if !errors.As(err, &me) || me.Baseline != "base.json" || err.Error() != `base.json: baseline has no figure "brier"` {
		t.Errorf("figure missing from the baseline: %v", err)
	}
}
