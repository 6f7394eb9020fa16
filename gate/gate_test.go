package gate

import (
	"math"
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		expr   string
		metric string
		op     Op
		value  float64
		bad    bool
	}{
		{"nll > 0.35", "nll", GT, 0.35, false},
		{"ece>=0.05", "ece", GE, 0.05, false},
		{"  accuracy < 0.5 ", "accuracy", LT, 0.5, false},
		{"nll <= 2e-1", "nll", LE, 0.2, false},
		{"slice[lang=de].nll > 0.9", "slice[lang=de].nll", GT, 0.9, false},
		{"nll = 1", "", "", 0, true},
		{"> 1", "", "", 0, true},
		{"nll > abc", "", "", 0, true},
		{"nll > NaN", "", "", 0, true},
		{"", "", "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			th, err := ParseThreshold(c.expr)
			if c.bad {
				if err == nil {
					t.Fatalf("accepted %q as %+v", c.expr, th)
				}
				return
			}
			if err != nil || th.Metric != c.metric || th.Op != c.op || th.Value != c.value || th.Expr != c.expr {
				t.Fatalf("got %+v, %v", th, err)
			}
		})
	}
}

func TestThresholdHolds(t *testing.T) {
	th, _ := ParseThreshold("nll > 0.5")
	for v, want := range map[float64]bool{0.4: false, 0.5: false, math.Nextafter(0.5, 1): true, math.NaN(): true, math.Inf(1): true} {
		if th.Holds(v) != want {
			t.Errorf("nll=%v: holds=%v, want %v", v, !want, want)
		}
	}
	ge, _ := ParseThreshold("ece >= 0.05")
	if !ge.Holds(0.05) || ge.Holds(math.Nextafter(0.05, 0)) {
		t.Error(">= at the edge")
	}
}

func TestLimit(t *testing.T) {
	l, err := ParseLimit("nll=0.01", true)
	if err != nil || l.Relative || l.Delta != 0.01 {
		t.Fatal(l, err)
	}
	if l.Fails(1, 1.0099) || !l.Fails(1, 1.0101) {
		t.Error("absolute increase edge")
	}
	r, _ := ParseLimit("accuracy=5%", false)
	// (base - new) / |base| > 0.05 fails.
	if r.Fails(0.8, 0.761) || !r.Fails(0.8, 0.759) {
		t.Errorf("relative decrease: %v %v", r.Change(0.8, 0.761), r.Change(0.8, 0.759))
	}
	for _, bad := range []string{"nll", "=1", "nll=", "nll=-1", "nll=x%"} {
		if _, err := ParseLimit(bad, true); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestUnknownMetricListsValid(t *testing.T) {
	err := UnknownMetric("nl", []string{"nll", "ece"})
	if !strings.Contains(err.Error(), "ece, nll") {
		t.Fatal(err)
	}
}

// FuzzParseThreshold: the parser never panics, and an accepted expression
// evaluates consistently.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"nll > 0.35", "ece >= 0.05", "slice[a=b].nll<1", "x<=-1e308", ">>", "a >= >= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			return
		}
		if th.Metric == "" || math.IsNaN(th.Value) {
			t.Fatalf("accepted %q as %+v", s, th)
		}
		_ = th.Holds(th.Value)
		l, err := ParseLimit(th.Metric+"=1", true)
		if err == nil && l.Delta != 1 {
			t.Fatal(l)
		}
	})
}

func TestPassedByInterval(t *testing.T) {
	l, err := ParseLimit("nll=0.01", true)
	if err != nil {
		t.Fatal(err)
	}
	if n := passedByInterval(l, 0.02, 0.005, 0.03); !strings.Contains(n, "passed only because") || !strings.Contains(n, "0.02") {
		t.Errorf("point change over the limit: note %q", n)
	}
	for _, change := range []float64{0.01, 0.002, math.NaN()} {
		if n := passedByInterval(l, change, 0, 0.03); n != "" {
			t.Errorf("change %v within the limit: note %q", change, n)
		}
	}
}

func TestMetricErrorSlices(t *testing.T) {
	cases := []struct {
		e    MetricError
		want string
	}{
		{MetricError{Gate: "slice[a=b].nll > 1", Threshold: true, Metric: "slice[a=b].nll", Valid: []string{"nll"}}, "needs --by"},
		{MetricError{Gate: "x", Metric: "slice[a=b].nll", Valid: []string{"nll", "slice[COL=VALUE].METRIC"}}, "no slice a=b"},
		{MetricError{Gate: "x", Metric: "nlll", Valid: []string{"nll"}}, "unknown metric"},
		{MetricError{Gate: "x", Metric: "slice[a=b].nll", Baseline: "base.json"}, "without --by"},
	}
	for _, c := range cases {
		if got := c.e.Error(); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q lacks %q", c.e, got, c.want)
		}
	}
}
