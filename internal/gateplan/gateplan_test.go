package gateplan

import (
	"errors"
	"testing"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/metrics"
)

func TestCheck(t *testing.T) {
	cfg := metrics.DefaultConfig()
	var me *gate.MetricError
	for _, c := range []struct {
		expr   string
		byCols int
		ok     bool
	}{
		{"nll > 1", 0, true},
		{"clipped > 1", 0, true}, // PredProb
		{"nll_per_token > 1", 0, false},
		{"slice[a=b].nll > 1", 0, false},
		{"slice[a=b].nll > 1", 1, true},
		{"slice[a=b].tokens > 1", 1, false},
		{"slice[a=b.nll > 1", 1, false},
	} {
		cfg.ByCols = c.byCols
		th, err := gate.ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(&cfg, []gate.Threshold{th}, nil)
		if c.ok != (err == nil) || (err != nil && (!errors.As(err, &me) || !me.Before || !me.Threshold)) {
			t.Errorf("Check(%q, by %d): %v", c.expr, c.byCols, err)
		}
	}
}
