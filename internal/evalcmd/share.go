package evalcmd

import (
	"context"
	"fmt"

	"github.com/evalnll/evalnll/internal/cli"
	"github.com/evalnll/evalnll/internal/gateplan"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/store"
)

// OpenURL opens an object as a table, read with ranged GETs.
func OpenURL(ctx context.Context, u string, opt reader.Options) (reader.File, error) {
	obj, err := store.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	f, err := reader.OpenReaderAt(obj.Name(), obj, obj.Size(), obj, opt)
	if err != nil {
		obj.Close()
		return nil, err
	}
	return f, nil
}

// Plan is a run's inputs as eval lists them, for evaluating them in
// shares elsewhere: Inputs are the INPUT arguments, Paths the files they
// expand to (URLs included), in eval's order; Shares is the number of
// their units (row groups, record batches; a stream counts 1).
type Plan struct {
	Inputs, Paths []string
	Shares        int
	// Warnings are what eval prints before it reads a row (the mapping's
	// caveats), each after "evalnll: warning: ".
	Warnings []string
}

// shareFiles are the opened files of a plan.
type shareFiles struct {
	files []reader.File
	names []string
}

func (s *shareFiles) close() {
	for _, f := range s.files {
		f.Close()
	}
}

// open opens the plan's files as eval does (local files lazily, objects
// with ranged reads), Hive partition columns added.
func (p *Plan) open(ctx context.Context, opt reader.Options) (*shareFiles, error) {
	s := &shareFiles{}
	pool := reader.NewPool(256)
	for _, path := range p.Paths {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		if path == "-" {
			return s, usagef("standard input cannot be shared out between workers; write it to a file first")
		}
		var f reader.File
		var err error
		name := path
		if store.IsURL(path) {
			f, err = OpenURL(ctx, path, opt)
			name = store.Redact(path)
		} else {
			f, err = reader.OpenLazy(path, path, opt, pool)
		}
		if err != nil {
			return s, err
		}
		s.files = append(s.files, f)
		s.names = append(s.names, name)
	}
	s.files = reader.HivePartitions(s.files, pipeline.InputKeys(p.Inputs, p.Paths))
	return s, nil
}

// Plan checks the flags and the inputs as eval does before it reads a row
// (the flags, the outputs, the columns and kind, --num-classes, the gates)
// and lists the inputs' files and units. Standard input is refused: it
// cannot be shared out.
func (f *Flags) Plan(ctx context.Context, inputs []string) (*Plan, error) {
	cfg, gates, limits, err := f.Check()
	if err != nil {
		return nil, err
	}
	if f.NumClasses < 0 {
		return nil, usagef("--num-classes: %d is negative", f.NumClasses)
	}
	if f.State == "-" {
		return nil, usagef("--state: a state is binary; give a file, not -")
	}
	outs, err := f.Outputs()
	if err != nil {
		return nil, err
	}
	paths, err := pipeline.ExpandContext(ctx, inputs)
	if err != nil {
		return nil, err
	}
	if err := f.checkOutputs(outs, paths); err != nil {
		return nil, err
	}
	p := &Plan{Inputs: inputs, Paths: paths}
	s, err := p.open(ctx, reader.Options{MaxBatchBytes: f.MaxBatchBytes, TextTypes: f.TextTypes})
	defer s.close()
	if err != nil {
		return nil, err
	}
	planned := *cfg
	mp, err := f.resolve(s.files, s.names, &planned)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, mp.Warnings()...)
	if _, _, err := DropDiagrams(outs, planned.Kind); err != nil {
		return nil, err
	}
	if f.NumClasses > 0 && planned.Kind != metrics.Multiclass && planned.Kind != metrics.Multilabel {
		return nil, usagef("--num-classes: a %s run has no class count", planned.Kind)
	}
	if err := GateFlagError(gateplan.Check(&planned, gates, limits)); err != nil {
		return nil, err
	}
	for _, fl := range s.files {
		p.Shares += max(len(fl.Units()), 1)
	}
	p.Shares = max(p.Shares, 1)
	return p, nil
}

// resolve resolves the mapping of the flags against the files, as eval.
func (f *Flags) resolve(files []reader.File, names []string, cfg *metrics.Config) (*mapping.Mapping, error) {
	if err := f.ParseBy(); err != nil {
		return nil, err
	}
	if err := f.ParseClasses(); err != nil {
		return nil, err
	}
	req := mapping.Request{Label: f.Label, Prob: f.Prob, Logit: f.Logit, Logprob: f.Logprob,
		Mean: f.Mean, Std: f.Std, Var: f.Var, Weight: f.Weight, ID: f.ID, By: f.ByCols, Kind: cfg.Kind,
		Bytes: f.Bytes, Words: f.Words, Text: f.Text, Mask: f.Mask, Positive: f.Positive, Classes: f.ClassNames}
	req.PairProbe = func(col string) bool { return pipeline.FirstListIsPair(files, col) }
	fields := make([][]reader.Field, len(files))
	for i, fl := range files {
		fields[i] = fl.Fields()
	}
	return mapping.Resolve(&req, FlagNames, fields, names, cfg)
}

// EvalShare evaluates share i of p.Shares of the plan's inputs and returns
// its encoded partial state: the bytes `eval --shard i/N --state FILE`
// writes with the same flags. Errors are eval's (an invalid row is its
// one-line FILE:ROW message). Without --workers, one unit is evaluated at
// a time.
func (f *Flags) EvalShare(ctx context.Context, p *Plan, i int) ([]byte, error) {
	cfg, _, _, err := f.Check()
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= p.Shares {
		return nil, fmt.Errorf("share %d of %d", i, p.Shares)
	}
	s, err := p.open(ctx, reader.Options{MaxBatchBytes: f.MaxBatchBytes, TextTypes: f.TextTypes})
	defer s.close()
	if err != nil {
		return nil, err
	}
	spec := f.Spec(cfg)
	if spec.Workers == 0 {
		spec.Workers = 1
	}
	shard := pipeline.Shard{Index: i, Count: p.Shares}
	opt := cli.Options{Shard: shard, NumClasses: f.NumClasses, StateOnly: true}
	_, run, err := cli.EvaluateFiles(mapping.WithNames(ctx, FlagNames), spec, opt, p.Inputs, s.files, s.names)
	if err != nil {
		return nil, GateFlagError(err)
	}
	return StateOf(run, s.files, s.names, shard)
}

// checkOutputs refuses, as eval does, an output (or --state) that is an
// input or the baseline: the same file by device and inode, or for a file
// not yet created the same name in the same directory. Object store URLs
// and standard output are not compared.
func (f *Flags) checkOutputs(outs []Output, paths []string) error {
	type named struct{ what, path string }
	var ins []named
	for _, p := range paths {
		ins = append(ins, named{"the input", p})
	}
	if f.Baseline != "" {
		ins = append(ins, named{"the --baseline", f.Baseline})
	}
	if f.State != "" {
		outs = append(outs, Output{Path: f.State, Flag: "--state"})
	}
	for _, o := range outs {
		if o.Path == "-" || store.IsURL(o.Path) {
			continue
		}
		k, _ := pipeline.KeyOf(o.Path)
		for _, in := range ins {
			if in.path == "-" || store.IsURL(in.path) {
				continue
			}
			if ik, _ := pipeline.KeyOf(in.path); ik == k {
				return usagef("%s %s: is %s %s; an output never replaces what is read", o.Flag, o.Path, in.what, in.path)
			}
		}
	}
	return nil
}
