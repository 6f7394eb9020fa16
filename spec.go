// Package evalnll scores model predictions held in Parquet or Arrow IPC
// files, or in Arrow records in memory: negative log-likelihood in log space
// with exact sums, accuracy, Brier score, calibration, slices, bootstrap
// intervals and CI gates, into one report.Model that renders as the
// evalnll.report/v1 JSON document, text, markdown or a reliability diagram.
//
// A program starts from DefaultSpec, names its columns, and either
// evaluates inputs in one call:
//
//	spec := evalnll.DefaultSpec()
//	spec.Label, spec.Prob = "y", "p"
//	m, err := evalnll.Evaluate(ctx, spec, "preds/")
//	// m.Overall.NLL, m.JSON(), m.Text(os.Stdout) ...
//
// or feeds an Accumulator the Arrow records it holds, merging accumulators
// of the same Spec and schema (one per goroutine, shard or host) before
// asking for the report:
//
//	acc, err := evalnll.NewAccumulator(spec, schema)
//	for rec := range records {
//		if err := acc.Add(rec); err != nil { ... }
//	}
//	err = total.Merge(acc)
//	m, err := total.Report()
//
// The report does not depend on the number of workers, on how the rows
// were split between accumulators, nor on the order of merges: every sum is
// exact and rounded once.
//
// Errors are values. A Spec that cannot be evaluated is a *SpecError, found
// by NewAccumulator and Evaluate before any row is read; a schema that
// lacks a column or holds it with an unusable type is a *SchemaError; an
// invalid row is a *RowError (file, row, column, reason), whose message is
// the line the evalnll command prints; merging accumulators of different
// settings is a *MismatchError naming the setting. No function of the
// package panics on bad input.
package evalnll

import (
	"fmt"
	"io"
	"math"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

// Kind is the kind of prediction evaluated.
type Kind = metrics.Kind

// The kinds. KindAuto picks one from the columns' names and shapes, as
// `evalnll eval` does; it is resolved against a schema, never evaluated.
const (
	KindAuto   = metrics.KindAuto
	Binary     = metrics.Binary
	Multiclass = metrics.Multiclass
	Multilabel = metrics.Multilabel
	Logprob    = metrics.Logprob
	Gaussian   = metrics.Gaussian
)

// Units is the unit of every NLL figure of a report.
type Units = metrics.Units

// The units: the log base of NLL figures is e, 2 or 10.
const (
	Nats     = metrics.Nats
	Bits     = metrics.Bits
	Hartleys = metrics.Hartleys
)

// Binning is how calibration bins are cut.
type Binning = metrics.Binning

// The binnings: bins of equal width, or of equal weight.
const (
	Uniform  = metrics.Uniform
	Quantile = metrics.Quantile
)

// Spec says what to evaluate and how. Start from DefaultSpec and set the
// columns; the zero value of a field is its meaning (Eps 0: no clipping,
// Bootstrap 0: no intervals, Worst 0: no worst list), except Bins and
// MaxSlices, where 0 takes the default.
//
// A Spec is checked once, by the function that takes it (NewAccumulator,
// Evaluate); Check runs the same checks without a schema.
type Spec struct {
	// The column of each role. Label and the prediction column, when
	// empty, are found by convention (label, target, y; prob, probs, p;
	// logit, logits; logprob, logprobs, token_logprobs; mean with std or
	// var). Give at most one of Prob, Logit, Logprob and Mean; Mean with
	// one of Std and Var.
	Label, Prob, Logit, Logprob, Mean, Std, Var string
	// Weight is a column of non-negative row weights ("" for none).
	Weight string
	// ID is a column naming each row: worst rows are listed by it, and
	// bootstrap buckets keyed by it pair two runs' intervals.
	ID string
	// By lists the columns whose every combination of values is a slice
	// reported on its own.
	By []string
	// Bytes and Words are columns of each document's UTF-8 byte and word
	// counts (logprob): they add bits_per_byte, byte_perplexity and
	// word_perplexity; Text is a document text column that stands in for
	// both; Mask is a column of 0/1 lists parallel to the token
	// log-probabilities: only tokens marked 1 count.
	Bytes, Words, Text, Mask string
	// Positive is the string label of the positive class (binary, string
	// labels; every other value is negative).
	Positive string
	// Classes names the prediction list's positions (multiclass): string
	// labels map to them, and they name the per-class figures.
	Classes []string

	// Kind is the kind of prediction; KindAuto decides from the columns.
	Kind Kind
	// Eps clips probabilities to [Eps, 1-Eps] before the log; 0 disables
	// clipping. It must be in [0, 0.5).
	Eps float64
	// Units are the units of NLL figures.
	Units Units
	// Bins is the number of calibration bins (1 to 1000000; 0: 15).
	Bins int
	// Binning cuts the calibration bins.
	Binning Binning
	// SkipInvalid leaves invalid rows out and counts them by reason;
	// otherwise the first invalid row is a *RowError.
	SkipInvalid bool
	// Worst lists the Worst rows of highest NLL.
	Worst int
	// MaxSlices bounds the number of By combinations (0: 100000).
	MaxSlices int
	// AUROC adds auroc and auprc (binary; one-vs-rest macro for
	// multiclass and multilabel) and, from the confidence histogram,
	// ece_sweep and smece.
	AUROC bool
	// Classwise adds classwise_ece and each class's one-vs-rest ECE
	// (multiclass).
	Classwise bool
	// TopK adds accuracy_topK (multiclass): the share of rows whose label
	// is among the K highest-scored classes (0: none; at most 1000000).
	TopK int
	// Bootstrap is the number of bootstrap replicates for 95% intervals
	// of the overall figures (0: none; at most 100000), drawn with
	// BootstrapSeed.
	Bootstrap     int
	BootstrapSeed uint64

	// Gates judged on the finished report, recorded in its Gates: FailIf
	// thresholds, then Limits against Baseline. A gate that fails is not
	// an error; a gate naming a figure the report cannot have is a
	// *gate.MetricError, found before any row is read.
	FailIf   []gate.Threshold
	Limits   []gate.Limit
	Baseline *report.Baseline
	// The baseline must be of the same kind; its NLL figures in other
	// units are converted (a warning says so); a limit on a figure whose
	// settings differ (Bins and Binning for ECE and MCE, Eps for NLL) is a
	// *gate.BaselineError unless AllowMismatch, then judged with a warning.
	// Spec.Baseline itself is never changed.
	AllowMismatch bool

	// Run-time settings of Evaluate: they never change the report.
	//
	// Workers is how many units (row groups, record batches) are
	// evaluated at once (0: every core).
	Workers int
	// MaxBatchBytes is the largest Arrow IPC record batch body or Parquet
	// page accepted (0: 1 GiB).
	MaxBatchBytes int64
	// TextTypes gives CSV and JSON Lines column types (COL: int64, double,
	// bool, string, list) instead of inferring them from the first rows.
	TextTypes map[string]string
	// Stdin is read for the input "-", an Arrow IPC stream (nil: os.Stdin).
	Stdin io.Reader
	// Progress, if set, is told of the inputs once they are open and of
	// every batch read.
	Progress Progress
}

// Progress follows an Evaluate run. Add is called from several goroutines.
type Progress interface {
	// Start is called once the inputs are open, before any row is read.
	Start(inputs []InputInfo)
	// Add reports rows of input i read; unitDone when a unit of it ended.
	Add(i int, rows int, unitDone bool)
}

// InputInfo describes an opened input.
type InputInfo struct {
	Path string
	// Rows is the row count, or -1 when only reading tells (a stream).
	Rows int64
	// Units is the number of independently read parts (row groups, record
	// batches); 1 for a stream.
	Units int
}

// DefaultSpec has the defaults of `evalnll eval`: KindAuto, Eps 1e-15,
// nats, 15 uniform bins, stop at the first invalid row, at most 100000
// slices, 1000 bootstrap replicates with the default seed, no gates.
func DefaultSpec() Spec {
	b := metrics.DefaultBootstrap()
	return Spec{Kind: KindAuto, Eps: 1e-15, Bins: 15, MaxSlices: 100000, Bootstrap: b.Replicates, BootstrapSeed: b.Seed}
}

// specNames names the roles in the messages of a library user.
var specNames = mapping.Names{
	Label: "Spec.Label", Prob: "Spec.Prob", Logit: "Spec.Logit", Logprob: "Spec.Logprob",
	Mean: "Spec.Mean", Std: "Spec.Std", Var: "Spec.Var", Weight: "Spec.Weight", ID: "Spec.ID",
	By: "Spec.By", Kind: "Spec.Kind", Positive: "Spec.Positive", Classes: "Spec.Classes",
	Bytes: "Spec.Bytes", Words: "Spec.Words", Text: "Spec.Text", Mask: "Spec.Mask",
	AllowMismatch: "Spec.AllowMismatch",
}

// Check reports the first setting of s that cannot be evaluated, as a
// *SpecError, or nil. It needs no schema: a Spec that passes may still not
// fit a table (a *SchemaError then).
func (s Spec) Check() error {
	_, err := s.config()
	return err
}

// config checks s and returns the metrics configuration it asks for, still
// to be completed by the mapping (Pred, Kind when auto, Classes...).
func (s Spec) config() (*metrics.Config, error) {
	bad := func(field, format string, a ...any) error {
		return &SpecError{Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	cfg := metrics.DefaultConfig()
	if s.Kind > Gaussian {
		return nil, bad("Kind", "%d is not a kind", s.Kind)
	}
	cfg.Kind = s.Kind
	if math.IsNaN(s.Eps) || s.Eps < 0 || s.Eps >= 0.5 {
		return nil, bad("Eps", "%v is not in [0, 0.5)", s.Eps)
	}
	cfg.Eps = s.Eps
	if s.Units > Hartleys {
		return nil, bad("Units", "%d is not nats, bits or hartleys", s.Units)
	}
	cfg.Units = s.Units
	switch {
	case s.Bins == 0:
	case s.Bins < 1 || s.Bins > 1000000:
		return nil, bad("Bins", "%d is not between 1 and 1000000", s.Bins)
	default:
		cfg.Bins = s.Bins
	}
	if s.Binning > Quantile {
		return nil, bad("Binning", "%d is not uniform or quantile", s.Binning)
	}
	cfg.Binning = s.Binning
	cfg.Skip = s.SkipInvalid
	if s.Worst < 0 {
		return nil, bad("Worst", "%d is negative", s.Worst)
	}
	cfg.Worst = s.Worst
	switch {
	case s.MaxSlices < 0:
		return nil, bad("MaxSlices", "%d is negative", s.MaxSlices)
	case s.MaxSlices > 0:
		cfg.MaxSlices = s.MaxSlices
	}
	if s.Bootstrap < 0 || s.Bootstrap > 100000 {
		return nil, bad("Bootstrap", "%d is not between 0 and 100000", s.Bootstrap)
	}
	if s.Bootstrap > 0 {
		cfg.Bootstrap = metrics.DefaultBootstrap()
		cfg.Bootstrap.Replicates = s.Bootstrap
		cfg.Bootstrap.Seed = s.BootstrapSeed
	}
	if s.TopK < 0 || s.TopK > 1000000 {
		return nil, bad("TopK", "%d is not between 0 and 1000000", s.TopK)
	}
	cfg.Discrim, cfg.Classwise, cfg.TopK = s.AUROC, s.Classwise, s.TopK
	if s.Workers < 0 {
		return nil, bad("Workers", "%d is negative", s.Workers)
	}
	if s.MaxBatchBytes < 0 {
		return nil, bad("MaxBatchBytes", "%d is negative", s.MaxBatchBytes)
	}
	n := 0
	for _, c := range []string{s.Prob, s.Logit, s.Logprob, s.Mean} {
		if c != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, bad("Prob", "give one of Prob, Logit, Logprob and Mean")
	case s.Std != "" && s.Var != "":
		return nil, bad("Std", "give one of Std and Var, not both")
	case (s.Std != "" || s.Var != "") && s.Mean == "":
		return nil, bad("Mean", "Std and Var need Mean")
	case s.Mean != "" && s.Std == "" && s.Var == "":
		return nil, bad("Mean", "Mean needs Std or Var")
	}
	given := true
	var p metrics.Pred
	switch {
	case s.Prob != "":
		p = metrics.PredProb
	case s.Logit != "":
		p = metrics.PredLogit
	case s.Logprob != "":
		p = metrics.PredLogprob
	case s.Std != "":
		p = metrics.PredStd
	case s.Var != "":
		p = metrics.PredVar
	default:
		given = false
	}
	if given && !mapping.KindAccepts(s.Kind, p) {
		return nil, bad("Kind", "%s does not take a %s column", s.Kind, [...]string{"Prob", "Logit", "Logprob", "Mean/Std", "Mean/Var"}[p])
	}
	for _, b := range s.By {
		if b == "" {
			return nil, bad("By", "an empty column name")
		}
	}
	if len(s.Limits) > 0 && s.Baseline == nil {
		return nil, bad("Limits", "limits need a Baseline")
	}
	return &cfg, nil
}

// request is the mapping request of s.
func (s Spec) request() *mapping.Request {
	return &mapping.Request{Label: s.Label, Prob: s.Prob, Logit: s.Logit, Logprob: s.Logprob,
		Mean: s.Mean, Std: s.Std, Var: s.Var, Weight: s.Weight, ID: s.ID, By: s.By, Kind: s.Kind,
		Positive: s.Positive, Classes: s.Classes, Bytes: s.Bytes, Words: s.Words, Text: s.Text, Mask: s.Mask}
}
