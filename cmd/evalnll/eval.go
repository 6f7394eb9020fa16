package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/cli"
	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/outset"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

const evalUsage = `Usage: evalnll eval [flags] INPUT...

Evaluates prediction tables and writes a report. INPUT is a Parquet or Arrow
IPC file (file or stream, found by its magic bytes), a directory (walked for
*.parquet, *.arrow, *.arrows, *.ipc, *.feather), a glob, or - for an Arrow
IPC stream on standard input. Flags and inputs may come in any order.
INPUT, --baseline and outputs may also be s3://, gs://, azblob:// or file://
URLs (see README, Object storage).

Examples:
  $ evalnll eval --label y --prob p preds.parquet
  $ evalnll eval --label label --logit logits --json report.json shards/
  $ evalnll eval --logprob token_logprobs --base 2 'runs/*.arrow'
  $ evalnll eval --label y --prob p --by model,split --fail-if 'ece >= 0.05' preds.parquet
  $ evalnll eval --label y --prob p --baseline base.json --max-increase nll=0.01 -o new.json preds/

Flags:
`

// multiFlag collects a repeatable flag.
type multiFlag = evalcmd.MultiFlag

// Limits of the flags whose memory grows with their value, and what each
// costs: see package evalcmd (checked by TestFlagMemory).
const (
	maxBins          = evalcmd.MaxBins
	maxWorkers       = evalcmd.MaxWorkers
	maxWorst         = evalcmd.MaxWorst
	defaultMaxSlices = evalcmd.DefaultMaxSlices
	memBootBin       = evalcmd.MemBootBin
	memWorker        = evalcmd.MemWorker
	memSlice         = evalcmd.MemSlice
	memSliceBin      = evalcmd.MemSliceBin
	memWorstRow      = evalcmd.MemWorstRow
)

// evalFlags are eval's flags (package evalcmd defines them, for eval,
// merge and evalnll-beam alike).
type evalFlags = evalcmd.Flags

func evalFlagSet(f *evalFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	f.Register(fs)
	return fs
}

// parseInterspersed parses flags and positional arguments in any order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at the first non-flag, or after "--".
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func cmdEval(e *env, args []string) (int, error) {
	var f evalFlags
	var profiles []func(*outset.Set)
	fs := evalFlagSet(&f)
	inputs, err := parseCommand(e, fs, args, func(w io.Writer) {
		fmt.Fprint(w, evalUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
	})
	if err != nil {
		return 0, err
	}
	cfg, gates, limits, err := checkEvalFlags(&f)
	if err != nil {
		return 0, err
	}
	if len(inputs) == 0 {
		return 0, usagef("eval: no INPUT given (run 'evalnll eval -h')")
	}
	var shard pipeline.Shard
	if f.Shard != "" {
		if shard, err = pipeline.ParseShard(f.Shard); err != nil {
			return 0, usagef("--shard: %v", err)
		}
		for _, in := range inputs {
			if in == "-" {
				return 0, usagef("--shard: standard input cannot be shared out between runs; write it to a file first")
			}
		}
	}
	if f.State == "-" {
		return 0, usagef("--state: a state is binary; give a file, not -")
	}
	if f.NumClasses < 0 {
		return 0, usagef("--num-classes: %d is negative", f.NumClasses)
	}
	outs, err := outputs(&f)
	if err != nil {
		return 0, err
	}
	// Listed once: the keys go down with the paths.
	paths, keys, err := pipeline.ExpandKeysContext(e.ctx, inputs)
	if err != nil {
		return 0, err
	}
	// Nothing is read nor written before every output is known to be
	// none of the inputs.
	var onames, inames []namedPath
	for _, o := range outs {
		onames = append(onames, namedPath{o.Flag, o.Path})
	}
	if f.CPUProfile != "" {
		onames = append(onames, namedPath{"--cpuprofile", f.CPUProfile})
	}
	if f.MemProfile != "" {
		onames = append(onames, namedPath{"--memprofile", f.MemProfile})
	}
	if f.State != "" {
		onames = append(onames, namedPath{"--state", f.State})
	}
	for _, p := range paths {
		inames = append(inames, namedPath{"input", p})
	}
	if f.Baseline != "" {
		inames = append(inames, namedPath{"--baseline", f.Baseline})
	}
	if err := checkOutputs(e, onames, inames, len(outs) == 0); err != nil {
		return 0, err
	}
	var base *report.Baseline
	if f.Baseline != "" {
		bname := store.Redact(f.Baseline)
		data, err := readReport(e.ctx, "--baseline "+bname, f.Baseline, f.MaxReportBytes)
		if err != nil {
			return 0, err
		}
		d, err := report.ParseDoc(bname, data)
		if err != nil {
			return 0, err
		}
		base = &report.Baseline{Path: bname, Doc: d}
	}

	// Profiles are outputs like the reports: kept in memory, committed
	// with them.
	var cpuProf bytes.Buffer
	if f.CPUProfile != "" {
		if err := pprof.StartCPUProfile(&cpuProf); err != nil {
			return 0, usagef("--cpuprofile: %v", err)
		}
		stop := sync.OnceFunc(pprof.StopCPUProfile)
		defer stop()
		profiles = append(profiles, func(set *outset.Set) {
			stop()
			addOutput(e, set, f.CPUProfile, cpuProf.Bytes())
		})
	}
	if f.MemProfile != "" {
		runtime.MemProfileRate = 64 << 10
		profiles = append(profiles, func(set *outset.Set) {
			var b bytes.Buffer
			pprof.Lookup("allocs").WriteTo(&b, 0)
			addOutput(e, set, f.MemProfile, b.Bytes())
		})
	}
	opt := reader.Options{MaxBatchBytes: f.MaxBatchBytes, TextTypes: f.TextTypes}
	ins, err := openInputs(e, paths, opt, f.MaxStdinBytes)
	defer ins.close()
	if err != nil {
		return 0, err
	}
	// Partition folders below the input each file was found under.
	files, names := reader.HivePartitions(ins.files, keys), ins.names
	// Standard input is streamed, unless the run may read it twice (an
	// unknown class count: see pipeline.Run): then it is spooled. The
	// mapping is resolved here for that only; Evaluate resolves it again.
	planned := *cfg
	mp, err := resolveMapping(&f, files, names, &planned)
	if err != nil {
		return 0, err
	}
	if err := ins.settleStdin(e, mp.Job(files, names, &planned).PredColumn != ""); err != nil {
		return 0, err
	}
	// Standard input may have been reopened from its spool.
	files = reader.HivePartitions(ins.files, keys)
	if f.NumClasses > 0 {
		if planned.Kind != metrics.Multiclass && planned.Kind != metrics.Multilabel {
			return 0, usagef("--num-classes: a %s run has no class count", planned.Kind)
		}
		if planned.Classes > 0 && planned.Classes != f.NumClasses {
			r := mp.Report()
			return 0, fmt.Errorf("%s: --num-classes %d, but %q is a fixed-size list of %d", names[0], f.NumClasses, r.Prob+r.Logit, planned.Classes)
		}
	}
	warnings := append([]string(nil), mp.Warnings()...)
	// A reliability diagram needs calibration: known from the mapping,
	// before any row is read. The other outputs are still written.
	outs, dropped, err := evalcmd.DropDiagrams(outs, planned.Kind)
	if err != nil {
		return 0, err
	}
	warnings = append(warnings, dropped...)
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "evalnll: warning: %s\n", report.Escape(w))
	}
	spec := evalSpec(&f, cfg)
	spec.FailIf, spec.Limits, spec.Baseline = gates, limits, base
	spec.AllowMismatch = f.AllowMismatch
	prog := &progressHook{e: e, quiet: f.Quiet}
	spec.Progress = prog
	copt := cli.Options{Shard: shard, NumClasses: f.NumClasses, StateOnly: f.State != "" && len(outs) == 0, Keys: keys}
	m, run, err := cli.EvaluateFiles(mapping.WithNames(e.ctx, flagNames), spec, copt, inputs, files, names)
	prog.finish()
	if err != nil {
		return 0, gateFlagError(err)
	}
	if f.State != "" {
		// The state is one of the outputs: all of them are written, or
		// none.
		data, err := evalcmd.StateOf(run, files, names, shard)
		if err != nil {
			return 0, fmt.Errorf("--state %s: %v", f.State, err)
		}
		if m == nil {
			// Only the state: no report of this share, no gates.
			return exitOK, writeState(e, f.State, data, profiles)
		}
		profiles = append(profiles, func(set *outset.Set) { addOutput(e, set, f.State, data) })
	}
	m.MinSliceSize = int64(f.MinSliceSize)
	for _, w := range warnings {
		m.AddWarning(w)
	}
	failed := false
	for _, g := range m.Gates {
		failed = failed || g.Failed
	}
	if err := writeOutputs(e, m, outs, profiles); err != nil {
		return 0, err
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

func checkEvalFlags(f *evalFlags) (*metrics.Config, []gate.Threshold, []gate.Limit, error) {
	return f.Check()
}

// evalSpec is the library's Spec for the checked flags.
func evalSpec(f *evalFlags, cfg *metrics.Config) evalnll.Spec { return f.Spec(cfg) }

type output = evalcmd.Output

func outputs(f *evalFlags) ([]output, error) { return f.Outputs() }

func writeOutputs(e *env, m *report.Model, outs []output, profiles []func(*outset.Set)) error {
	return e.io().WriteOutputs(m, outs, profiles)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
