package report

import (
	"math"
	"testing"
)

func TestFmtPM(t *testing.T) {
	for _, c := range []struct {
		v, u float64
		want string
	}{
		{0.46312, 0.0049, "0.463 ± 0.005"},
		{0.2843917736, 0.0127361, "0.284 ± 0.013"},
		{0.2843917736, 0.0299, "0.284 ± 0.030"},
		{0.2843917736, 0.031, "0.28 ± 0.03"},
		{1234.5, 45, "1230 ± 50"},
		{1234.5, 12, "1234 ± 12"},
		{-0.0001, 0.02, "0.000 ± 0.020"},
		{7.2134752, 2.885, "7.2 ± 2.9"},
		{5, 0, "5 ± 0"},
		{5, math.NaN(), "5 ± NaN"},
		{math.Inf(1), 0.1, "+Inf ± 0.10"},
		{1e-9, 1e-30, "1.0000e-09 ± 1.0000e-30"},
	} {
		if got := fmtPM(c.v, c.u); got != c.want {
			t.Errorf("fmtPM(%v, %v) = %q, want %q", c.v, c.u, got, c.want)
		}
	}
	if got := fmtInterval(0.894, 0.875, 0.9131); got != "0.894 [0.875, 0.913]" {
		t.Errorf("fmtInterval = %q", got)
	}
	if got := fmtInterval(0.5, 0.5, 0.5); got != "0.5 [0.5, 0.5]" {
		t.Errorf("fmtInterval of a point = %q", got)
	}
}

func TestFmtCount(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{5e7, "50000000"}, {0, "0"}, {190, "190"}, {163.5, "163.5"}, {1 << 60, "1.1529e+18"}, {math.NaN(), "NaN"}} {
		if got := fmtCount(c.v); got != c.want {
			t.Errorf("fmtCount(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
