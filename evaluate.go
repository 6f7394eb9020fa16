package evalnll

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/cli"
	"github.com/evalnll/evalnll/internal/gateplan"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/report"
)

// Evaluate evaluates the inputs with spec and returns the report, its gates
// judged. An input is a Parquet or Arrow IPC file (file or stream, found by
// its magic bytes), a directory (walked for *.parquet, *.arrow, *.arrows,
// *.ipc, *.feather), a glob, or "-" for an Arrow IPC stream read from
// spec.Stdin. The files are evaluated in sorted order on spec.Workers
// goroutines; the report does not depend on either.
//
// The error is a *SpecError, a *gate.MetricError, a *SchemaError, a
// *RowError (the first invalid row in input order), an error wrapping
// ErrNoRows, or the error of a file that cannot be read, which names it.
// Cancelling ctx stops the run with ctx's error.
func Evaluate(ctx context.Context, spec Spec, inputs ...string) (*report.Model, error) {
	cfg, err := spec.config()
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, errors.New("evalnll: no input")
	}
	opt := reader.DefaultOptions()
	if spec.MaxBatchBytes > 0 {
		opt.MaxBatchBytes = spec.MaxBatchBytes
	}
	opt.TextTypes = spec.TextTypes
	stdin := spec.Stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	files, names, keys, cleanup, err := pipeline.Open(ctx, inputs, stdin, opt)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	m, _, err := evaluateFiles(ctx, spec, mapping.NamesFrom(ctx, specNames), cfg, cli.Options{Keys: keys}, inputs, files, names)
	return m, err
}

// evaluateFiles evaluates opened inputs; messages name the roles as names
// says.
func evaluateFiles(ctx context.Context, spec Spec, names mapping.Names, cfg *metrics.Config, opt cli.Options, args []string, files []reader.File, inputNames []string) (*report.Model, *cli.Run, error) {
	fields := make([][]reader.Field, len(files))
	for i, f := range files {
		fields[i] = f.Fields()
	}
	req := spec.request()
	req.PairProbe = func(col string) bool { return pipeline.FirstListIsPair(files, col) }
	mp, err := mapping.Resolve(req, names, fields, inputNames, cfg)
	if err != nil {
		return nil, nil, &SchemaError{Err: err}
	}
	if opt.NumClasses > 0 {
		if cfg.Kind != metrics.Multiclass && cfg.Kind != metrics.Multilabel {
			return nil, nil, &SpecError{Field: "NumClasses", Reason: fmt.Sprintf("a %s run has no class count", cfg.Kind)}
		}
		if cfg.Classes > 0 && cfg.Classes != opt.NumClasses {
			r := mp.Report()
			return nil, nil, fmt.Errorf("%s: %d classes given, but %q is a fixed-size list of %d", inputNames[0], opt.NumClasses, r.Prob+r.Logit, cfg.Classes)
		}
		cfg.Classes = opt.NumClasses
	}
	if err := checkGates(cfg, spec, names); err != nil {
		return nil, nil, err
	}
	job := mp.Job(files, inputNames, cfg)
	if len(opt.Keys) == len(files) {
		job.Keys = opt.Keys
	} else {
		job.Keys = pipeline.InputKeys(args, inputNames)
	}
	job.Options = pipeline.Options{Workers: spec.Workers}
	job.Shard = opt.Shard
	if mp.ListPred() {
		// A batch of list rows holds rows × list length values: keep it
		// to a few million (16 MiB of float32 at 1000 classes).
		job.Options.BatchRows = 1024
	}
	if spec.Progress != nil {
		info := make([]InputInfo, len(files))
		for i, f := range files {
			info[i] = InputInfo{Path: f.Path(), Rows: f.Rows(), Units: len(f.Units())}
			if f.Units() == nil {
				info[i].Units = 1
			}
		}
		spec.Progress.Start(info)
		job.Progress = spec.Progress.Add
	}
	res, err := pipeline.Run(ctx, job)
	if err != nil {
		var ie *pipeline.InputError
		if errors.As(err, &ie) && errors.Is(err, pipeline.ErrInvalidRow) {
			return nil, nil, newRowError(ie.File, ie.Row, messageColumn(ie.Msg), ie.Msg)
		}
		return nil, nil, err
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	run := &cli.Run{Config: cfg, Mapping: mp.Report(), Result: res}
	if opt.StateOnly {
		return nil, run, nil
	}
	var total int64
	for _, n := range res.FileRows {
		total += n
	}
	if total == 0 && opt.Shard.Count > 1 {
		return nil, nil, &noRowsError{fmt.Sprintf("%s: no input rows in share %d/%d, so no report of it (with --state alone, an empty share writes its state)", strings.Join(inputNames, ", "), opt.Shard.Index, opt.Shard.Count)}
	}
	if total == 0 {
		return nil, nil, &noRowsError{fmt.Sprintf("%s: no input rows (every input is empty)", strings.Join(inputNames, ", "))}
	}
	ins := make([]report.Input, len(files))
	for i, f := range files {
		ins[i] = report.Input{Path: inputNames[i], Rows: res.FileRows[i], Format: f.Format().String()}
	}
	m, err := newModel(cfg, mp.Report(), res.State.Summary(), ins, strings.Join(inputNames, ", "), res.RowName)
	if err != nil {
		return nil, nil, err
	}
	if err := judge(m, spec, names); err != nil {
		return nil, nil, err
	}
	return m, run, nil
}

// EvaluateRecords evaluates the record batches of rr (released by the
// caller) as an Accumulator fed each in turn does, and returns the report,
// its gates judged; the input is named "records".
func EvaluateRecords(ctx context.Context, spec Spec, rr array.RecordReader) (*report.Model, error) {
	acc, err := NewAccumulator(spec, rr.Schema())
	if err != nil {
		return nil, err
	}
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := acc.Add(rr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", acc.Name, err)
	}
	return acc.Report()
}

type noRowsError struct{ msg string }

func (e *noRowsError) Error() string { return e.msg }
func (e *noRowsError) Unwrap() error { return ErrNoRows }

// newModel makes the report of a finished state; names lists the inputs
// for messages, rowName names a row without ID (unit, row within it).
func newModel(cfg *metrics.Config, mp report.Mapping, sum metrics.Result, ins []report.Input, names string, rowName func(unit int, row int64) string) (*report.Model, error) {
	if sum.Overall.Rows == 0 {
		return nil, &noRowsError{fmt.Sprintf("%s: no valid rows to evaluate (%s)", names, skippedText(sum.Overall.Skipped))}
	}
	if !(sum.Overall.Weight > 0) {
		return nil, &noRowsError{fmt.Sprintf("%s: total weight is 0", names)}
	}
	m := &report.Model{
		Kind: cfg.Kind, Units: cfg.Units, Eps: cfg.Eps, Clips: cfg.Pred == metrics.PredProb,
		Binning: cfg.Binning, Mapping: mp, Overall: sum.Overall, Slices: sum.Slices,
		Bootstrap: sum.Bootstrap, Inputs: ins, PerClass: sum.PerClass,
	}
	for _, w := range mp.Warnings {
		m.AddWarning(w)
	}
	for i := range m.PerClass {
		if cls := mp.Classes; m.PerClass[i].Class < len(cls) {
			m.PerClass[i].Name = cls[m.PerClass[i].Class]
		}
	}
	if cfg.Worst > 0 {
		worst := func(rows []metrics.WorstRow) []report.WorstRow {
			out := make([]report.WorstRow, len(rows))
			for i, w := range rows {
				out[i] = worstRow(w, cfg, rowName)
			}
			return out
		}
		m.Worst = worst(sum.Worst)
		if cfg.Tokens {
			m.WorstPerToken = worst(sum.WorstPerToken)
		}
	}
	return m, nil
}

// worstRow is a worst row for the report (its NLL in the report's units
// already: Summary converted it), named FILE:ROW when there is no id.
func worstRow(w metrics.WorstRow, cfg *metrics.Config, rowName func(unit int, row int64) string) report.WorstRow {
	r := report.WorstRow{ID: w.ID, NLL: w.NLL, Label: w.Label}
	if !cfg.HasID {
		r.ID = metrics.Value{Kind: metrics.VString, S: rowName(w.Unit, w.Row)}
	}
	num := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	if cfg.Tokens {
		tk := w.Tokens
		r.Tokens = &tk
		r.NLLPerToken = num(w.NLLPerToken())
	}
	r.Pred, r.Scale = num(w.Pred), num(w.Scale)
	if w.PredClass >= 0 {
		c := w.PredClass
		r.PredClass = &c
	}
	return r
}

func skippedText(m map[string]int64) string {
	if len(m) == 0 {
		return "no rows"
	}
	var parts []string
	for r := metrics.Reason(1); r < metrics.NumReasons; r++ {
		if n, ok := m[r.String()]; ok {
			parts = append(parts, fmt.Sprintf("%d skipped as %s", n, r))
		}
	}
	return strings.Join(parts, ", ")
}

// checkGates refuses, before any row is read, gates on figures a report of
// cfg cannot have and a baseline that cannot match it.
func checkGates(cfg *metrics.Config, spec Spec, names mapping.Names) error {
	if err := gateplan.Check(cfg, spec.FailIf, spec.Limits); err != nil {
		return err
	}
	if spec.Baseline != nil && len(spec.Limits) > 0 {
		early := *spec.Baseline
		return gate.MatchBaseline(&early, gateplan.PlannedDoc(cfg), spec.Limits, spec.AllowMismatch, names.AllowMismatch, func(string) {})
	}
	return nil
}

// judge records the gates of spec in m: thresholds, then limits against
// the baseline matched to m (its NLL figures converted to m's units).
func judge(m *report.Model, spec Spec, names mapping.Names) error {
	base := spec.Baseline
	if base != nil && len(spec.Limits) > 0 {
		doc, err := report.ParseDoc("report", m.JSON())
		if err != nil {
			return err
		}
		matched := *base
		if err := gate.MatchBaseline(&matched, doc, spec.Limits, spec.AllowMismatch, names.AllowMismatch, m.AddWarning); err != nil {
			return err
		}
		base = &matched
	}
	res, err := gate.Eval(m, spec.FailIf, spec.Limits, base)
	if err != nil {
		return err
	}
	if res.Gates != nil {
		m.Gates = res.Gates
	}
	for _, w := range res.Warnings {
		m.AddWarning(w)
	}
	return nil
}

func init() {
	cli.EvaluateFiles = func(ctx context.Context, spec any, opt cli.Options, args []string, files []reader.File, names []string) (*report.Model, *cli.Run, error) {
		s, ok := spec.(Spec)
		if !ok {
			return nil, nil, fmt.Errorf("evalnll: cli.EvaluateFiles given a %T, not a Spec", spec)
		}
		cfg, err := s.config()
		if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 || len(names) != len(files) {
			return nil, nil, fmt.Errorf("evalnll: %d files with %d names", len(files), len(names))
		}
		return evaluateFiles(ctx, s, mapping.NamesFrom(ctx, specNames), cfg, opt, args, files, names)
	}
	cli.Report = func(ctx context.Context, spec any, cfg *metrics.Config, mp report.Mapping, st *metrics.State, inputs []report.Input, rowName func(file int, row int64) string) (*report.Model, error) {
		s, ok := spec.(Spec)
		if !ok {
			return nil, fmt.Errorf("evalnll: cli.Report given a %T, not a Spec", spec)
		}
		var names []string
		for _, in := range inputs {
			names = append(names, in.Path)
		}
		m, err := newModel(cfg, mp, st.Summary(), inputs, strings.Join(names, ", "), rowName)
		if err != nil {
			return nil, err
		}
		if err := judge(m, s, mapping.NamesFrom(ctx, specNames)); err != nil {
			return nil, err
		}
		return m, nil
	}
}
