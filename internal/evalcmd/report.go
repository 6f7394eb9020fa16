package evalcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/cli"
	"github.com/evalnll/evalnll/internal/gateplan"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/outset"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/partial"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

// Run is a finished evaluation to report on: the merged state of its
// rows, its configuration, mapping and inputs. eval and merge both report
// through it.
type Run struct {
	Config  *metrics.Config
	Mapping report.Mapping
	Inputs  []partial.Input
	State   *metrics.State
}

// Partial is the run as a partial state of shard s.
func (r *Run) Partial(s pipeline.Shard) *partial.State {
	n := max(s.Count, 1)
	return &partial.State{Shards: n, Covered: [][2]int{{s.Index, s.Index + 1}}, Mapping: r.Mapping, Inputs: r.Inputs, Metrics: r.State}
}

// PartialRanges are a file's row ranges read, for its partial.Input.
func PartialRanges(rs []pipeline.Range) []partial.Range {
	out := make([]partial.Range, len(rs))
	for i, r := range rs {
		out[i] = partial.Range{Lo: r.Lo, Hi: r.Hi}
	}
	return out
}

// ReportOptions are how a merged run is reported.
type ReportOptions struct {
	Outs   []Output
	Gates  []gate.Threshold
	Limits []gate.Limit
	Base   *report.Baseline
	// AllowMismatch turns a baseline that does not match into warnings.
	AllowMismatch bool
	MinSliceSize  int64
	Worst         int // rows listed (at most the config's Worst)
	// StatePath, if set, gets State with the reports.
	StatePath string
	State     []byte
	// Warnings are added to the report.
	Warnings []string
}

// Report summarises a merged run through the library's one report
// path (the one eval's report takes), judges its gates and writes its
// reports (and its state, if asked), returning the exit status.
func (w *IO) Report(r *Run, o ReportOptions) (int, error) {
	var names []string
	var total int64
	var ins []report.Input
	for _, in := range r.Inputs {
		names = append(names, in.Name)
		total += in.Read
		ins = append(ins, report.Input{Path: in.Name, Rows: in.Read, Format: in.Format})
	}
	if total == 0 {
		return 0, fmt.Errorf("%s: no input rows (every input is empty)", strings.Join(names, ", "))
	}
	spec := evalnll.Spec{FailIf: o.Gates, Limits: o.Limits, Baseline: o.Base, AllowMismatch: o.AllowMismatch}
	rowName := func(file int, row int64) string { return fmt.Sprintf("%s:%d", names[file], row+1) }
	m, err := cli.Report(mapping.WithNames(w.Ctx, FlagNames), spec, r.Config, r.Mapping, r.State, ins, rowName)
	if err != nil {
		return 0, GateFlagError(err)
	}
	m.MinSliceSize = o.MinSliceSize
	for _, w := range o.Warnings {
		m.AddWarning(w)
	}
	if o.Worst < len(m.Worst) {
		m.Worst = m.Worst[:o.Worst]
	}
	if o.Worst < len(m.WorstPerToken) {
		m.WorstPerToken = m.WorstPerToken[:o.Worst]
	}
	var profiles []func(*outset.Set)
	if o.StatePath != "" {
		// The state is one of the outputs: all of them are written, or
		// none.
		profiles = append(profiles, func(set *outset.Set) { w.AddOutput(set, o.StatePath, o.State) })
	}
	if err := w.WriteOutputs(m, o.Outs, profiles); err != nil {
		return 0, err
	}
	failed := false
	for _, g := range m.Gates {
		failed = failed || g.Failed
	}
	if failed {
		for _, g := range m.Gates {
			if g.Failed {
				fmt.Fprintf(w.Stderr, "evalnll: gate failed: %s\n", report.Escape(g.Message))
			}
		}
		return 1, nil
	}
	return 0, nil
}

// WriteState writes a state file (through a temporary file renamed into
// place), with eval's profiles if any, all or none.
func (w *IO) WriteState(path string, data []byte, profiles []func(*outset.Set)) error {
	var set outset.Set
	w.AddOutput(&set, path, data)
	for _, p := range profiles {
		p(&set)
	}
	return w.commit(&set)
}

// A StateSource is a state to merge: its name in messages, and its bytes.
type StateSource struct {
	Name string
	Read func() ([]byte, error)
}

// StateFile is the source of a state file.
func StateFile(path string) StateSource {
	return StateSource{Name: path, Read: func() ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, unwrapPath(err))
		}
		return data, nil
	}}
}

// MaxStateBytes is the largest state StateAt reads: a state's size does
// not grow with the rows, and one of 10,000 slices with bootstrap buckets
// is a few hundred MB.
const MaxStateBytes = 4 << 30

// StateAt is the source of a state file or object (a URL), read whole, at
// most MaxStateBytes; its name hides a URL's secret parameters.
func StateAt(ctx context.Context, path string) StateSource {
	if store.IsURL(path) {
		return StateSource{Name: store.Redact(path), Read: func() ([]byte, error) {
			return store.ReadAll(ctx, path, MaxStateBytes)
		}}
	}
	return StateSource{Name: path, Read: func() ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, unwrapPath(err))
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, MaxStateBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, unwrapPath(err))
		}
		if len(data) > MaxStateBytes {
			return nil, fmt.Errorf("%s: larger than %d bytes, the most read as a state", path, MaxStateBytes)
		}
		return data, nil
	}}
}

// ExpandStates expands the STATE arguments that are URLs with a glob in
// the key (s3://b/states/part-*.evst: the shell cannot), sorted; other
// arguments are kept. As on disk, a prefix is not a state: a URL without a
// glob names one object.
func ExpandStates(ctx context.Context, args []string) ([]string, error) {
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

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// MergeStates reads and merges the states, naming the one at fault in any
// error, as merge does.
func MergeStates(srcs []StateSource) (*partial.State, error) {
	var merged *partial.State
	type part struct {
		path    string
		covered [][2]int
	}
	var seen []part
	var spare *partial.State // the last state merged: its memory is reused
	for _, src := range srcs {
		p := src.Name
		data, err := src.Read()
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

// Merge is `evalnll merge` once its flags are parsed (merge takes eval's
// flags MergeFlags): it merges the states and writes the reports, the
// gates judged, or with --state and no report only the merged state. The
// result is merge's exit status (0, or 1 when a gate failed); an error is
// exit 2, nothing written. worstSet says whether --worst was given (else
// the states' own).
func (w *IO) Merge(f *Flags, worstSet bool, srcs []StateSource) (int, error) {
	if len(srcs) == 0 {
		return 0, usagef("merge: no STATE given (run 'evalnll merge -h')")
	}
	if f.State == "-" {
		return 0, usagef("--state: a state is binary; give a file, not -")
	}
	if f.Worst < 0 {
		return 0, usagef("--worst: %d is negative", f.Worst)
	}
	gates, limits, err := ParseGates(f.FailIf, f.MaxInc, f.MaxDec)
	if err != nil {
		return 0, err
	}
	if len(limits) > 0 && f.Baseline == "" {
		return 0, usagef("--max-increase/--max-decrease need --baseline")
	}
	outs, err := f.Outputs()
	if err != nil {
		return 0, err
	}
	if w.CheckOutputs != nil {
		if err := w.CheckOutputs(outs); err != nil {
			return 0, err
		}
	}
	var base *report.Baseline
	if f.Baseline != "" {
		if store.IsURL(f.Baseline) {
			// As eval reads a baseline in object storage.
			name := store.Redact(f.Baseline)
			data, err := store.ReadAll(w.Ctx, f.Baseline, max(f.MaxReportBytes, 1))
			if err != nil {
				return 0, err
			}
			d, err := report.ParseDoc(name, data)
			if err != nil {
				return 0, err
			}
			base = &report.Baseline{Path: name, Doc: d}
		} else if base, err = report.ReadBaseline(f.Baseline); err != nil {
			return 0, err
		}
	}
	st, err := MergeStates(srcs)
	if err != nil {
		return 0, err
	}
	cfg := st.Metrics.Config()
	if n := st.Metrics.NumSlices(); cfg.MaxSlices > 0 && n > cfg.MaxSlices {
		return 0, fmt.Errorf("merge of %d states: %d distinct --by combinations, more than %d (--max-slices of the states)", len(srcs), n, cfg.MaxSlices)
	}
	worst := f.Worst
	if !worstSet {
		worst = cfg.Worst
	} else if worst > cfg.Worst {
		return 0, usagef("--worst %d: the states kept %d worst rows (eval --worst %d)", worst, cfg.Worst, cfg.Worst)
	}
	if err := GateFlagError(gateplan.Check(cfg, gates, limits)); err != nil {
		return 0, err
	}
	var data []byte
	if f.State != "" {
		if data, err = st.Encode(); err != nil {
			return 0, fmt.Errorf("--state %s: %v", f.State, err)
		}
		if len(outs) == 0 && len(gates) == 0 && len(limits) == 0 {
			return 0, w.WriteState(f.State, data, nil)
		}
	}
	if err := st.Complete(); err != nil {
		return 0, fmt.Errorf("merge of %d states: %v", len(srcs), err)
	}
	// As eval: no reliability diagram of a kind without calibration.
	outs, warnings, err := DropDiagrams(outs, cfg.Kind)
	if err != nil {
		return 0, err
	}
	for _, x := range warnings {
		fmt.Fprintf(w.Stderr, "evalnll: warning: %s\n", report.Escape(x))
	}
	run := &Run{Config: cfg, Mapping: st.Mapping, Inputs: st.Inputs, State: st.Metrics}
	return w.Report(run, ReportOptions{Outs: outs, Gates: gates, Limits: limits, Base: base, AllowMismatch: f.AllowMismatch,
		MinSliceSize: int64(f.MinSliceSize), Worst: worst, StatePath: f.State, State: data, Warnings: warnings})
}

// MergeFlags are the flags of eval that merge takes.
var MergeFlags = []string{"json", "md", "svg", "png", "o", "fail-if", "baseline", "max-increase", "max-decrease", "min-slice-size", "worst", "state", "allow-config-mismatch"}

// StateOf is the encoded partial state of an evaluation of shard s of the
// files (named names): what `eval --shard s --state` writes.
func StateOf(run *cli.Run, files []reader.File, names []string, s pipeline.Shard) ([]byte, error) {
	r := &Run{Config: run.Config, Mapping: run.Mapping, State: run.Result.State}
	for i, fl := range files {
		r.Inputs = append(r.Inputs, partial.Input{Name: names[i], Format: fl.Format().String(), Rows: fl.Rows(),
			Read: run.Result.FileRows[i], Ranges: PartialRanges(run.Result.Ranges[i])})
	}
	return r.Partial(s).Encode()
}
