package evalcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
)

// UsageError is a problem with the command line (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// Check checks the flags as eval does, before anything is read, and
// returns the metrics configuration they ask for (to be completed by the
// mapping) and the gates. It splits --by, --classes and --types.
func (f *Flags) Check() (*metrics.Config, []gate.Threshold, []gate.Limit, error) {
	cfg := metrics.DefaultConfig()
	k, err := metrics.ParseKind(f.Kind)
	if err != nil {
		return nil, nil, nil, usagef("--kind: %v", err)
	}
	cfg.Kind = k
	if math.IsNaN(f.Eps) || f.Eps < 0 || f.Eps >= 0.5 {
		return nil, nil, nil, usagef("--eps: %v is not in [0, 0.5)", f.Eps)
	}
	cfg.Eps = f.Eps
	switch f.Base {
	case "e":
		cfg.Units = metrics.Nats
	case "2":
		cfg.Units = metrics.Bits
	case "10":
		cfg.Units = metrics.Hartleys
	default:
		return nil, nil, nil, usagef("--base: %q is not one of e, 2, 10", f.Base)
	}
	if f.Bins < 1 || f.Bins > MaxBins {
		return nil, nil, nil, usagef("--bins: %d is not between 1 and %d", f.Bins, MaxBins)
	}
	cfg.Bins = f.Bins
	switch f.Binning {
	case "uniform":
		cfg.Binning = metrics.Uniform
	case "quantile":
		cfg.Binning = metrics.Quantile
	default:
		return nil, nil, nil, usagef("--binning: %q is not uniform or quantile", f.Binning)
	}
	cfg.Discrim = f.AUROC
	cfg.Classwise = f.Classwise
	if f.TopK < 0 || f.TopK > 1000000 {
		return nil, nil, nil, usagef("--topk: %d is not between 1 and 1000000", f.TopK)
	}
	cfg.TopK = f.TopK
	switch f.OnInvalid {
	case "error":
	case "skip":
		cfg.Skip = true
	default:
		return nil, nil, nil, usagef("--on-invalid: %q is not error or skip", f.OnInvalid)
	}
	if f.Workers < 0 || f.Workers > MaxWorkers {
		return nil, nil, nil, usagef("--workers: %d is not between 0 and %d", f.Workers, MaxWorkers)
	}
	if f.Worst < 0 || f.Worst > MaxWorst {
		return nil, nil, nil, usagef("--worst: %d is not between 0 and %d", f.Worst, MaxWorst)
	}
	cfg.Worst = f.Worst
	if f.MaxBatchBytes <= 0 {
		return nil, nil, nil, usagef("--max-batch-bytes: %d is not positive", f.MaxBatchBytes)
	}
	if f.MaxStdinBytes <= 0 {
		return nil, nil, nil, usagef("--max-stdin-bytes: %d is not positive", f.MaxStdinBytes)
	}
	if f.MaxReportBytes <= 0 {
		return nil, nil, nil, usagef("--max-report-bytes: %d is not positive", f.MaxReportBytes)
	}
	if f.MaxSlices <= 0 {
		return nil, nil, nil, usagef("--max-slices: %d is not positive", f.MaxSlices)
	}
	cfg.MaxSlices = f.MaxSlices
	if f.Bootstrap < 0 || f.Bootstrap > 100000 {
		return nil, nil, nil, usagef("--bootstrap: %d is not between 0 and 100000", f.Bootstrap)
	}
	if f.Bootstrap > 0 {
		cfg.Bootstrap = metrics.DefaultBootstrap()
		cfg.Bootstrap.Replicates = f.Bootstrap
		cfg.Bootstrap.Seed = f.BootSeed
	}
	if f.Std != "" && f.Var != "" {
		return nil, nil, nil, usagef("--std and --var: give one, not both")
	}
	if (f.Std != "" || f.Var != "") && f.Mean == "" {
		return nil, nil, nil, usagef("--std/--var need --mean")
	}
	if f.Mean != "" && f.Std == "" && f.Var == "" {
		return nil, nil, nil, usagef("--mean needs --std or --var")
	}
	n := 0
	for _, s := range []string{f.Prob, f.Logit, f.Logprob, f.Mean} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, nil, nil, usagef("--prob, --logit, --logprob and --mean: give one prediction column")
	}
	for p, col := range map[metrics.Pred]string{metrics.PredProb: f.Prob, metrics.PredLogit: f.Logit, metrics.PredLogprob: f.Logprob, metrics.PredStd: f.Std, metrics.PredVar: f.Var} {
		if col != "" && !mapping.KindAccepts(cfg.Kind, p) {
			return nil, nil, nil, usagef("--kind %s does not take a %s column", cfg.Kind, predFlag(p))
		}
	}
	if err := f.ParseBy(); err != nil {
		return nil, nil, nil, err
	}
	if err := f.ParseClasses(); err != nil {
		return nil, nil, nil, err
	}
	f.TextTypes = nil
	if f.Types != "" {
		f.TextTypes = map[string]string{}
		for _, kv := range strings.Split(f.Types, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, nil, nil, usagef("--types: %q is not COL=TYPE", kv)
			}
			f.TextTypes[k] = v
		}
	}
	ths, lims, err := ParseGates(f.FailIf, f.MaxInc, f.MaxDec)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(lims) > 0 && f.Baseline == "" {
		return nil, nil, nil, usagef("--max-increase/--max-decrease need --baseline")
	}
	return &cfg, ths, lims, nil
}

// Spec is the library's Spec for the checked flags (cfg from Check),
// without gates.
func (f *Flags) Spec(cfg *metrics.Config) evalnll.Spec {
	s := evalnll.Spec{
		Label: f.Label, Prob: f.Prob, Logit: f.Logit, Logprob: f.Logprob, Mean: f.Mean, Std: f.Std, Var: f.Var,
		Weight: f.Weight, ID: f.ID, By: f.ByCols,
		Kind: cfg.Kind, Eps: cfg.Eps, Units: cfg.Units, Bins: cfg.Bins, Binning: cfg.Binning,
		SkipInvalid: cfg.Skip, Worst: cfg.Worst, MaxSlices: cfg.MaxSlices,
		Bootstrap: cfg.Bootstrap.Replicates, BootstrapSeed: cfg.Bootstrap.Seed,
		AUROC: cfg.Discrim, Classwise: cfg.Classwise, TopK: cfg.TopK,
		Positive: f.Positive, Classes: f.ClassNames, TextTypes: f.TextTypes,
		Bytes: f.Bytes, Words: f.Words, Text: f.Text, Mask: f.Mask,
		Workers: f.Workers, MaxBatchBytes: f.MaxBatchBytes,
	}
	return s
}

// FlagNames names the roles in mapping messages by eval's flags.
var FlagNames = mapping.Names{
	Label: "--label", Prob: "--prob", Logit: "--logit", Logprob: "--logprob",
	Mean: "--mean", Std: "--std", Var: "--var", Weight: "--weight", ID: "--id",
	By: "--by", Kind: "--kind", Positive: "--positive", Classes: "--classes",
	Bytes: "--bytes", Words: "--words", Text: "--text", Mask: "--mask",
	AllowMismatch: "--allow-config-mismatch",
}

// ParseBy splits --by into f.ByCols.
func (f *Flags) ParseBy() error {
	f.ByCols = nil
	if f.By == "" {
		return nil
	}
	for _, b := range strings.Split(f.By, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			return usagef("--by %q: empty column name", f.By)
		}
		f.ByCols = append(f.ByCols, b)
	}
	return nil
}

// predFlag is the flag of a prediction form.
func predFlag(p metrics.Pred) string {
	return [...]string{"--prob", "--logit", "--logprob", "--mean/--std", "--mean/--var"}[p]
}

// ParseClasses reads --classes (a,b,c or a JSON array) into f.ClassNames.
func (f *Flags) ParseClasses() error {
	f.ClassNames = nil
	if f.Classes == "" {
		return nil
	}
	if strings.HasPrefix(strings.TrimSpace(f.Classes), "[") {
		if err := json.Unmarshal([]byte(f.Classes), &f.ClassNames); err != nil {
			return usagef("--classes: not a JSON array of strings: %v", err)
		}
		return nil
	}
	f.ClassNames = strings.Split(f.Classes, ",")
	return nil
}

// ParseGates parses the gate flags shared by eval and compare.
func ParseGates(failIf, maxInc, maxDec []string) ([]gate.Threshold, []gate.Limit, error) {
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

// flagOf is how a limit was given on the command line.
func flagOf(l gate.Limit) string {
	if l.Increase {
		return "--max-increase " + l.Expr
	}
	return "--max-decrease " + l.Expr
}

// GateFlagError names the flag of a gate that names an unknown figure, or
// of a baseline gate refused for a mismatched setting.
func GateFlagError(err error) error {
	var me *gate.MetricError
	var be *gate.BaselineError
	if errors.As(err, &be) {
		return usagef("%s: %s (pass %s to judge it anyway)", flagOf(be.Limit), be.Setting, FlagNames.AllowMismatch)
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
