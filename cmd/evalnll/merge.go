package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/cli"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/partial"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

const mergeUsage = `Usage: evalnll merge [flags] STATE...

Merges the partial states that 'evalnll eval --shard i/N --state FILE' wrote
for i = 0..N-1 and writes the reports one 'evalnll eval' over all the inputs
would have written, byte for byte (the states may come in any order). The
configuration and mapping come from the states; merge takes eval's output,
gate and presentation flags. With --state and no report, it writes the merged
state (of any subset of the shards), which merges again.

Examples:
  $ evalnll merge part-*.evst --json report.json --md report.md
  $ evalnll merge part-*.evst --baseline last.json --max-increase nll=0.5% -o report.json
  $ evalnll merge part-0*.evst --state group-0.evst

Flags:
`

// mergeFlags are the flags of eval that merge takes.
var mergeFlags = []string{"json", "md", "svg", "png", "o", "fail-if", "baseline", "max-increase", "max-decrease", "min-slice-size", "worst", "state", "allow-config-mismatch"}

// evalRun is a finished evaluation to report on: the merged state of its
// rows, its configuration, mapping and inputs. eval and merge both report
// through it.
type evalRun struct {
	cfg     *metrics.Config
	mapping report.Mapping
	inputs  []partial.Input
	state   *metrics.State
}

// partial is the run as a partial state of shard s.
func (r *evalRun) partial(s pipeline.Shard) *partial.State {
	n := max(s.Count, 1)
	return &partial.State{Shards: n, Covered: [][2]int{{s.Index, s.Index + 1}}, Mapping: r.mapping, Inputs: r.inputs, Metrics: r.state}
}

func partialRanges(rs []pipeline.Range) []partial.Range {
	out := make([]partial.Range, len(rs))
	for i, r := range rs {
		out[i] = partial.Range{Lo: r.Lo, Hi: r.Hi}
	}
	return out
}

// reportOptions are how a merged run is reported.
type reportOptions struct {
	outs   []output
	gates  []gate.Threshold
	limits []gate.Limit
	base   *report.Baseline
	// allowMismatch turns a baseline that does not match into warnings.
	allowMismatch bool
	minSliceSize  int64
	worst         int // rows listed (at most the config's Worst)
	// statePath, if set, gets state with the reports.
	statePath string
	state     []byte
}

// reportRun summarises a merged run through the library's one report
// path (the one eval's report takes), judges its gates and writes its
// reports (and its state, if asked), returning the exit status.
func reportRun(e *env, r *evalRun, o reportOptions) (int, error) {
	var names []string
	var total int64
	var ins []report.Input
	for _, in := range r.inputs {
		names = append(names, in.Name)
		total += in.Read
		ins = append(ins, report.Input{Path: in.Name, Rows: in.Read, Format: in.Format})
	}
	if total == 0 {
		return 0, fmt.Errorf("%s: no input rows (every input is empty)", strings.Join(names, ", "))
	}
	spec := evalnll.Spec{FailIf: o.gates, Limits: o.limits, Baseline: o.base, AllowMismatch: o.allowMismatch}
	rowName := func(file int, row int64) string { return fmt.Sprintf("%s:%d", names[file], row+1) }
	m, err := cli.Report(mapping.WithNames(e.ctx, flagNames), spec, r.cfg, r.mapping, r.state, ins, rowName)
	if err != nil {
		return 0, gateFlagError(err)
	}
	m.MinSliceSize = o.minSliceSize
	if o.worst < len(m.Worst) {
		m.Worst = m.Worst[:o.worst]
	}
	if o.worst < len(m.WorstPerToken) {
		m.WorstPerToken = m.WorstPerToken[:o.worst]
	}
	var profiles []func(*report.OutputSet)
	if o.statePath != "" {
		// The state is one of the outputs: all of them are written, or
		// none.
		profiles = append(profiles, func(set *report.OutputSet) { addOutput(e, set, o.statePath, o.state) })
	}
	if err := writeOutputs(e, m, o.outs, profiles); err != nil {
		return 0, err
	}
	failed := false
	for _, g := range m.Gates {
		failed = failed || g.Failed
	}
	if failed {
		for _, g := range m.Gates {
			if g.Failed {
				fmt.Fprintf(e.stderr, "evalnll: gate failed: %s\n", report.Escape(g.Message))
			}
		}
		return exitGateFailed, nil
	}
	return exitOK, nil
}

// writeState writes a state file (through a temporary file renamed into
// place), with eval's profiles if any, all or none.
func writeState(e *env, path string, data []byte, profiles []func(*report.OutputSet)) error {
	var set report.OutputSet
	addOutput(e, &set, path, data)
	for _, p := range profiles {
		p(&set)
	}
	return commitOutputs(e, &set)
}

func cmdMerge(e *env, args []string) (int, error) {
	var f evalFlags
	all := evalFlagSet(&f)
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	for _, n := range mergeFlags {
		fl := all.Lookup(n)
		fs.Var(fl.Value, fl.Name, fl.Usage)
	}
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), mergeUsage)
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return 0, errHelp
		}
		return 0, usagef("merge: %v", err)
	}
	worstSet := false
	fs.Visit(func(fl *flag.Flag) { worstSet = worstSet || fl.Name == "worst" })
	if len(paths) == 0 {
		return 0, usagef("merge: no STATE given (run 'evalnll merge -h')")
	}
	if f.state == "-" {
		return 0, usagef("--state: a state is binary; give a file, not -")
	}
	if f.worst < 0 {
		return 0, usagef("--worst: %d is negative", f.worst)
	}
	gates, limits, err := parseGates(f.failIf, f.maxInc, f.maxDec)
	if err != nil {
		return 0, err
	}
	if len(limits) > 0 && f.baseline == "" {
		return 0, usagef("--max-increase/--max-decrease need --baseline")
	}
	outs, err := outputs(&f)
	if err != nil {
		return 0, err
	}
	// State URLs with a glob are listed first: each object is checked.
	if paths, err = expandStateURLs(e.ctx, paths); err != nil {
		return 0, err
	}
	// Nothing is read nor written before every output is known to be
	// none of the states nor the baseline.
	var onames, inames []namedPath
	for _, o := range outs {
		onames = append(onames, namedPath{o.flag, o.path})
	}
	if f.state != "" {
		onames = append(onames, namedPath{"--state", f.state})
	}
	for _, p := range paths {
		inames = append(inames, namedPath{"STATE", p})
	}
	if f.baseline != "" {
		inames = append(inames, namedPath{"--baseline", f.baseline})
	}
	if err := checkOutputs(e, onames, inames, len(outs) == 0 && f.state == ""); err != nil {
		return 0, err
	}
	var base *report.Baseline
	if f.baseline != "" {
		// As eval reads it: a URL too, at most --max-report-bytes.
		bname := store.Redact(f.baseline)
		data, err := readReport(e.ctx, "--baseline "+bname, f.baseline, f.maxReportBytes)
		if err != nil {
			return 0, err
		}
		d, err := report.ParseDoc(bname, data)
		if err != nil {
			return 0, err
		}
		base = &report.Baseline{Path: bname, Doc: d}
	}
	st, err := mergeStates(e.ctx, paths)
	if err != nil {
		return 0, err
	}
	cfg := st.Metrics.Config()
	if n := st.Metrics.NumSlices(); cfg.MaxSlices > 0 && n > cfg.MaxSlices {
		return 0, fmt.Errorf("merge of %d states: %d distinct --by combinations, more than %d (--max-slices of the states)", len(paths), n, cfg.MaxSlices)
	}
	if !worstSet {
		f.worst = cfg.Worst
	} else if f.worst > cfg.Worst {
		return 0, usagef("--worst %d: the states kept %d worst rows (eval --worst %d)", f.worst, cfg.Worst, cfg.Worst)
	}
	if err := gateFlagError(gate.Check(cfg, gates, limits)); err != nil {
		return 0, err
	}
	var data []byte
	if f.state != "" {
		if data, err = st.Encode(); err != nil {
			return 0, fmt.Errorf("--state %s: %v", f.state, err)
		}
		if len(outs) == 0 && len(gates) == 0 && len(limits) == 0 {
			return exitOK, writeState(e, f.state, data, nil)
		}
	}
	if err := st.Complete(); err != nil {
		return 0, fmt.Errorf("merge of %d states: %v", len(paths), err)
	}
	run := &evalRun{cfg: cfg, mapping: st.Mapping, inputs: st.Inputs, state: st.Metrics}
	return reportRun(e, run, reportOptions{outs: outs, gates: gates, limits: limits, base: base, allowMismatch: f.allowMismatch,
		minSliceSize: int64(f.minSliceSize), worst: f.worst, statePath: f.state, state: data})
}

// maxStateBytes is the largest state read: a state's size does not grow
// with the rows, and one of 10,000 slices with bootstrap buckets is a few
// hundred MB.
const maxStateBytes = 4 << 30

// expandStateURLs expands the STATE arguments that are URLs with a glob in
// the key (s3://b/states/part-*.evst: the shell cannot), sorted; other
// arguments are kept. As on disk, a prefix is not a state: a URL without
// a glob names one object.
func expandStateURLs(ctx context.Context, args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		l, err := store.Parse(a)
		if !store.IsURL(a) || err != nil || !strings.ContainsAny(l.Key, "*?[") {
			out = append(out, a)
			continue
		}
		urls, err := store.Expand(ctx, a, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, urls...)
	}
	return out, nil
}

// readState reads a state file or object of at most maxStateBytes.
func readState(ctx context.Context, p string) ([]byte, error) {
	if store.IsURL(p) {
		return store.ReadAll(ctx, p, maxStateBytes)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, unwrapPath(err))
	}
	if len(data) > maxStateBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, the most read as a state", p, maxStateBytes)
	}
	return data, nil
}

// mergeStates reads and merges the state files (or objects), naming the
// file at fault in any error (a URL without its secret parameters).
func mergeStates(ctx context.Context, args []string) (*partial.State, error) {
	var merged *partial.State
	type part struct {
		path    string
		covered [][2]int
	}
	var seen []part
	var spare *partial.State // the last state merged: its memory is reused
	for _, a := range args {
		p := store.Redact(a)
		data, err := readState(ctx, a)
		if err != nil {
			return nil, err
		}
		st, err := partial.DecodeReusing(data, spare)
		spare = nil
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		if merged == nil {
			merged = st
			seen = append(seen, part{p, st.Covered})
			continue
		}
		if err := merged.Merge(st); err != nil {
			first := seen[0].path
			var ov *partial.OverlapError
			var ce *metrics.ConfigError
			var mm *partial.MismatchError
			var cc *metrics.ClassCountError
			switch {
			case errors.As(err, &ov) && ov.Shard >= 0:
				for _, s := range seen {
					for _, c := range s.covered {
						if ov.Shard >= c[0] && ov.Shard < c[1] {
							return nil, fmt.Errorf("%s: shard %d/%d is also in %s (the same shard twice)", p, ov.Shard, ov.Of, s.path)
						}
					}
				}
				return nil, fmt.Errorf("%s: %v", p, err)
			case errors.As(err, &ce):
				return nil, fmt.Errorf("%s: not a part of the same evaluation as %s: %s is %s here but %s there", p, first, ce.Field, ce.B, ce.A)
			case errors.As(err, &mm):
				return nil, fmt.Errorf("%s: not a part of the same evaluation as %s: %s is %s here but %s there", p, first, mm.Field, mm.B, mm.A)
			case errors.As(err, &cc):
				at := func(c metrics.ClassCount) string {
					if c.File < 0 || c.File >= len(merged.Inputs) {
						return "no list"
					}
					return fmt.Sprintf("first list at %s:%d", merged.Inputs[c.File].Name, c.Row+1)
				}
				want := cc.A
				if cc.B.File >= 0 && (cc.A.File < 0 || cc.B.File < cc.A.File || cc.B.File == cc.A.File && cc.B.Row < cc.A.Row) {
					want = cc.B
				}
				return nil, fmt.Errorf("%s: class count %d (%s) differs from %d (%s, in the states before it): the lists do not all have one length; one eval uses the first list's in input order, %d: evaluate every shard again with --num-classes %d",
					p, cc.B.N, at(cc.B), cc.A.N, at(cc.A), want.N, want.N)
			}
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		seen = append(seen, part{p, st.Covered})
		spare = st
	}
	return merged, nil
}
