// Package gateplan checks gates against the figures a run's configuration
// will report, before any row is read, and says what of that report a
// baseline is matched against. It takes the internal metrics
// configuration, so it is not part of package gate's API.
package gateplan

import (
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

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
	if cfg.Kind == metrics.Gaussian {
		ms = append(ms, "rmse", "mae", "crps", "coverage_50", "coverage_90", "coverage_95")
	}
	if cfg.Discrim && cfg.Kind.HasCalibration() {
		ms = append(ms, "auroc", "auprc")
	}
	if cfg.TopK > 0 && cfg.Kind == metrics.Multiclass {
		ms = append(ms, "accuracy_top"+strconv.Itoa(cfg.TopK))
	}
	return ms
}

// knownCalibration lists the calibration object's figures a report of cfg
// has (overall only; gates name them bare or as calibration.NAME).
func knownCalibration(cfg *metrics.Config) []string {
	if !cfg.Kind.HasCalibration() {
		return nil
	}
	ms := []string{"rmsce", "l2ce_debiased", "brier_reliability", "brier_resolution", "brier_uncertainty"}
	if cfg.Discrim {
		ms = append(ms, "ece_sweep", "ece_sweep_bins", "smece", "smece_sigma")
	}
	if cfg.Classwise && cfg.Kind == metrics.Multiclass {
		ms = append(ms, "classwise_ece")
	}
	return ms
}

// Check refuses, with a *MetricError, gates on figures that a report of
// cfg (its kind and mapping resolved) will not have.
func Check(cfg *metrics.Config, ths []gate.Threshold, lims []gate.Limit) error {
	known := knownMetrics(cfg)
	cal := knownCalibration(cfg)
	valid := append(append([]string(nil), known...), cal...)
	if cfg.ByCols > 0 {
		valid = append(valid, "slice[COL=VALUE].METRIC")
	}
	check := func(threshold bool, expr, metric string) error {
		m := metric
		bad := &gate.MetricError{Gate: expr, Threshold: threshold, Metric: metric, Valid: valid, Before: true}
		if strings.HasPrefix(m, "slice[") {
			i := strings.Index(m, "].")
			if cfg.ByCols == 0 || i < 0 {
				return bad
			}
			m = m[i+2:]
		}
		for _, k := range known {
			if k == m {
				return nil
			}
		}
		if m == metric { // calibration figures are overall only
			for _, k := range cal {
				if k == strings.TrimPrefix(m, "calibration.") {
					return nil
				}
			}
		}
		return bad
	}
	for _, t := range ths {
		if err := check(true, t.Expr, t.Metric); err != nil {
			return err
		}
	}
	for _, l := range lims {
		if err := check(false, l.Expr, l.Metric); err != nil {
			return err
		}
	}
	return nil
}

// PlannedDoc is what MatchBaseline reads of the report a run of cfg
// (its mapping resolved) will write: kind, units, eps when probabilities
// are clipped, the calibration's binning and bin count.
func PlannedDoc(cfg *metrics.Config) report.Doc {
	d := report.Doc{"kind": cfg.Kind.String(), "units": cfg.Units.String()}
	if cfg.Pred == metrics.PredProb {
		d["eps"] = cfg.Eps
	}
	if cfg.Kind.HasCalibration() {
		d["calibration"] = map[string]any{"binning": cfg.Binning.String(), "bins": make([]any, cfg.Bins)}
	}
	return d
}
