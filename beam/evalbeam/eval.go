// Package evalbeam runs evalnll's evaluation as an Apache Beam pipeline:
//
//	share indices 0..N-1 -> Reshuffle -> ParDo(evaluate share i of N into an
//	encoded partial state) -> CombineGlobally(merge states) -> write the
//	merged state file
//
// A share is what `evalnll eval --shard i/N` evaluates (pipeline.Shard):
// with N the count of the inputs' units (row groups, record batches,
// streams, read from the footers), a share holds about one unit, and a
// large unit is cut between shares. The states are those of
// `eval --shard i/N --state`, so the merged state is reported by
// `evalnll merge` exactly as eval would report the inputs.
//
// Every state names the share it covers; merging two states of one share
// is an error (partial.OverlapError), so an element evaluated twice can
// never be counted twice. The combine only sees the outputs of committed
// bundles, so a retried bundle contributes once.
package evalbeam

import (
	"context"
	"fmt"
	"strings"

	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/partial"
)

// Args are the evaluation settings of a run: eval's mapping flags and the
// flags that set the metrics configuration. Fields are exported so that
// Beam serialises them into the DoFn.
type Args struct {
	Label, Prob, Logit, Logprob, Mean, Std, Var, Weight, ID string
	By                                                      []string
	Kind                                                    string
	Eps                                                     float64
	Base                                                    string
	Bins                                                    int
	Binning                                                 string
	OnInvalid                                               string
	Worst                                                   int
	MaxSlices                                               int
	Bootstrap                                               int
	BootstrapSeed                                           uint64
	NumClasses                                              int
	MaxBatchBytes                                           int64

	// Paths are the expanded inputs (pipeline.Expand), Keys their
	// bootstrap keys (pipeline.ExpandKeys), Shares the share count N.
	Paths, Keys []string
	Shares      int
}

// DefaultArgs are eval's defaults.
func DefaultArgs() Args {
	return Args{Kind: "auto", Eps: 1e-15, Base: "e", Bins: 15, Binning: "uniform", OnInvalid: "error",
		MaxSlices: 100000, Bootstrap: metrics.DefaultBootstrap().Replicates,
		BootstrapSeed: metrics.DefaultBootstrap().Seed, MaxBatchBytes: reader.DefaultOptions().MaxBatchBytes}
}

// UsageError is a bad setting (eval's exit 2 before reading rows).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// Config checks the settings and returns the metrics configuration, as
// eval's flag checks do.
func (a *Args) Config() (*metrics.Config, error) {
	cfg := metrics.DefaultConfig()
	k, err := metrics.ParseKind(a.Kind)
	if err != nil {
		return nil, usagef("--kind: %v", err)
	}
	cfg.Kind = k
	if a.Eps != a.Eps || a.Eps < 0 || a.Eps >= 0.5 {
		return nil, usagef("--eps: %v is not in [0, 0.5)", a.Eps)
	}
	cfg.Eps = a.Eps
	switch a.Base {
	case "e":
		cfg.Units = metrics.Nats
	case "2":
		cfg.Units = metrics.Bits
	case "10":
		cfg.Units = metrics.Hartleys
	default:
		return nil, usagef("--base: %q is not one of e, 2, 10", a.Base)
	}
	if a.Bins < 1 || a.Bins > 1000000 {
		return nil, usagef("--bins: %d is not between 1 and 1000000", a.Bins)
	}
	cfg.Bins = a.Bins
	switch a.Binning {
	case "uniform":
		cfg.Binning = metrics.Uniform
	case "quantile":
		cfg.Binning = metrics.Quantile
	default:
		return nil, usagef("--binning: %q is not uniform or quantile", a.Binning)
	}
	switch a.OnInvalid {
	case "error":
	case "skip":
		cfg.Skip = true
	default:
		return nil, usagef("--on-invalid: %q is not error or skip", a.OnInvalid)
	}
	if a.Worst < 0 {
		return nil, usagef("--worst: %d is negative", a.Worst)
	}
	cfg.Worst = a.Worst
	if a.MaxBatchBytes <= 0 {
		return nil, usagef("--max-batch-bytes: %d is not positive", a.MaxBatchBytes)
	}
	if a.MaxSlices <= 0 {
		return nil, usagef("--max-slices: %d is not positive", a.MaxSlices)
	}
	cfg.MaxSlices = a.MaxSlices
	if a.Bootstrap < 0 || a.Bootstrap > 100000 {
		return nil, usagef("--bootstrap: %d is not between 0 and 100000", a.Bootstrap)
	}
	if a.Bootstrap > 0 {
		cfg.Bootstrap = metrics.DefaultBootstrap()
		cfg.Bootstrap.Replicates = a.Bootstrap
		cfg.Bootstrap.Seed = a.BootstrapSeed
	}
	if a.Std != "" && a.Var != "" {
		return nil, usagef("--std and --var: give one, not both")
	}
	if (a.Std != "" || a.Var != "") && a.Mean == "" {
		return nil, usagef("--std/--var need --mean")
	}
	if a.Mean != "" && a.Std == "" && a.Var == "" {
		return nil, usagef("--mean needs --std or --var")
	}
	n := 0
	for _, s := range []string{a.Prob, a.Logit, a.Logprob, a.Mean} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, usagef("--prob, --logit, --logprob and --mean: give one prediction column")
	}
	if a.NumClasses < 0 {
		return nil, usagef("--num-classes: %d is negative", a.NumClasses)
	}
	return &cfg, nil
}

// flagNames names the roles in mapping messages by eval's flags.
var flagNames = mapping.Names{
	Label: "--label", Prob: "--prob", Logit: "--logit", Logprob: "--logprob",
	Mean: "--mean", Std: "--std", Var: "--var", Weight: "--weight", ID: "--id",
	By: "--by", Kind: "--kind",
}

// opened is the inputs opened and the mapping resolved.
type opened struct {
	files []reader.File
	cfg   *metrics.Config
	mp    *mapping.Mapping
}

func (o *opened) close() {
	for _, f := range o.files {
		f.Close()
	}
}

// open opens the inputs and resolves the mapping, as eval does.
func (a *Args) open() (*opened, error) {
	cfg, err := a.Config()
	if err != nil {
		return nil, err
	}
	o := &opened{cfg: cfg}
	for _, p := range a.Paths {
		if p == "-" {
			return o, usagef("standard input cannot be shared out between workers; write it to a file first")
		}
		f, err := reader.Open(p, reader.Options{MaxBatchBytes: a.MaxBatchBytes})
		if err != nil {
			return o, err
		}
		o.files = append(o.files, f)
	}
	// Partition folders below the input each file was found under, as
	// eval: Hive KEY=VALUE folders are columns.
	o.files = reader.HivePartitions(o.files, a.Keys)
	req := mapping.Request{Label: a.Label, Prob: a.Prob, Logit: a.Logit, Logprob: a.Logprob,
		Mean: a.Mean, Std: a.Std, Var: a.Var, Weight: a.Weight, ID: a.ID, By: a.By, Kind: cfg.Kind}
	req.PairProbe = func(col string) bool { return firstListIsPair(o.files, col) }
	fields := make([][]reader.Field, len(o.files))
	for i, f := range o.files {
		fields[i] = f.Fields()
	}
	if o.mp, err = mapping.Resolve(&req, flagNames, fields, a.Paths, cfg); err != nil {
		return o, err
	}
	if a.NumClasses > 0 {
		if cfg.Kind != metrics.Multiclass && cfg.Kind != metrics.Multilabel {
			return o, usagef("--num-classes: a %s run has no class count", cfg.Kind)
		}
		if cfg.Classes > 0 && cfg.Classes != a.NumClasses {
			r := o.mp.Report()
			return o, fmt.Errorf("%s: --num-classes %d, but %q is a fixed-size list of %d", a.Paths[0], a.NumClasses, r.Prob+r.Logit, cfg.Classes)
		}
		cfg.Classes = a.NumClasses
	}
	return o, nil
}

// firstListIsPair reports whether the first non-null list of col holds two
// values (binary predict_proba pairs): cmd/evalnll's probe, copied (it is
// not exported by the main module).
func firstListIsPair(files []reader.File, col string) bool {
	for _, f := range files {
		for _, u := range f.Units() {
			s := f.Scan(u.Index, []string{col}, 256)
			for s.Next() {
				c := s.Batch().Cols[0]
				for i := range c.Len {
					if !c.IsNull(i) {
						pair := c.Offsets[i+1]-c.Offsets[i] == 2 // before Close frees the batch
						s.Close()
						return pair
					}
				}
			}
			s.Close()
		}
	}
	return false
}

// Plan checks the settings against the inputs (mapping, kinds, columns)
// and returns the share count: the units of every input, from their
// footers (a stream counts 1).
func (a *Args) Plan() (int, error) {
	o, err := a.open()
	defer o.close()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range o.files {
		n += max(len(f.Units()), 1)
	}
	return max(n, 1), nil
}

// EvalShare evaluates share i of a.Shares and returns its encoded partial
// state (the bytes of `eval --shard i/N --state`). Errors are eval's: an
// invalid row is a one-line FILE:ROW message.
func EvalShare(ctx context.Context, a *Args, i int) ([]byte, error) {
	o, err := a.open()
	defer o.close()
	if err != nil {
		return nil, err
	}
	shard := pipeline.Shard{Index: i, Count: a.Shares}
	job := o.mp.Job(o.files, a.Paths, o.cfg)
	job.Keys = a.Keys
	// Beam runs elements in parallel; one worker per element.
	job.Options = pipeline.Options{Workers: 1}
	job.Shard = shard
	if o.mp.ListPred() {
		job.Options.BatchRows = 1024
	}
	res, err := pipeline.Run(ctx, job)
	if err != nil {
		return nil, err
	}
	st := &partial.State{Shards: shard.Count, Covered: [][2]int{{i, i + 1}}, Mapping: o.mp.Report(), Metrics: res.State}
	for k, f := range o.files {
		rs := make([]partial.Range, len(res.Ranges[k]))
		for j, r := range res.Ranges[k] {
			rs[j] = partial.Range{Lo: r.Lo, Hi: r.Hi}
		}
		st.Inputs = append(st.Inputs, partial.Input{Name: a.Paths[k], Format: f.Format().String(), Rows: f.Rows(),
			Read: res.FileRows[k], Ranges: rs})
	}
	return st.Encode()
}

// MergeStates merges two encoded partial states (in any order: the result
// does not depend on it). States that cover a share in common are refused
// (partial.OverlapError): a share is never counted twice.
func MergeStates(a, b []byte) ([]byte, error) {
	if len(a) == 0 {
		return b, nil
	}
	if len(b) == 0 {
		return a, nil
	}
	sa, err := partial.Decode(a)
	if err != nil {
		return nil, err
	}
	sb, err := partial.Decode(b)
	if err != nil {
		return nil, err
	}
	if err := sa.Merge(sb); err != nil {
		return nil, err
	}
	return sa.Encode()
}

// CheckComplete decodes a merged state and checks it covers every share.
func CheckComplete(b []byte) error {
	s, err := partial.Decode(b)
	if err != nil {
		return err
	}
	if miss, more := s.Missing(10); len(miss) > 0 {
		var parts []string
		for _, m := range miss {
			parts = append(parts, fmt.Sprint(m))
		}
		if more {
			parts = append(parts, "...")
		}
		return fmt.Errorf("the merged state misses shares %s of %d", strings.Join(parts, ", "), s.Shards)
	}
	return nil
}
