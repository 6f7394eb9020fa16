package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/internal/cli"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/partial"
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
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// Limits of the flags whose memory grows with their value, and what each
// costs (checked by TestFlagMemory): a run's memory stays bounded whatever
// flags it is given.
const (
	maxBins          = 1000
	maxWorkers       = 256
	maxWorst         = 100000
	defaultMaxSlices = 10000
	// memBootBin is the bootstrap's cost of a calibration bin, per worker.
	memBootBin = 20 << 10
	// memWorker is a worker's figures with no bootstrap, at 15 bins.
	memWorker = 64 << 10
	// memSlice and memSliceBin: a --by slice, and each of its bins.
	memSlice    = 8 << 10
	memSliceBin = 1750
	// memWorstRow is a row of the --worst list.
	memWorstRow = 160
)

type evalFlags struct {
	label, prob, logit, logprob, mean, std, varc, weight, by, id, kind string
	eps                                                                float64
	base, binning, onInvalid                                           string
	bins, workers, worst                                               int
	maxBatchBytes                                                      int64
	jsonOut, mdOut, svgOut, pngOut                                     string
	minSliceSize                                                       int
	outs, failIf, maxInc, maxDec                                       multiFlag
	baseline                                                           string
	quiet                                                              bool
	bootstrap                                                          int
	bootSeed                                                           uint64
	memProfile                                                         string
	cpuProfile                                                         string
	maxSlices                                                          int
	byCols                                                             []string // --by, split
	shard, state                                                       string
	numClasses                                                         int
	maxReportBytes                                                     int64
	maxStdinBytes                                                      int64
	auroc, classwise                                                   bool
	topk                                                               int
	positive, classes, types                                           string
	classNames                                                         []string          // --classes, parsed
	textTypes                                                          map[string]string // --types, parsed
	allowMismatch                                                      bool
	bytes, words, text, mask                                           string
}

func evalFlagSet(f *evalFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&f.label, "label", "", "observed outcome `COL` (default: the first of label, target, y)")
	fs.StringVar(&f.prob, "prob", "", "probability `COL`: P(y=1), or a list of class probabilities")
	fs.StringVar(&f.logit, "logit", "", "logit `COL`: one float (binary) or a list of class logits")
	fs.StringVar(&f.logprob, "logprob", "", "natural-log probability `COL` of the observed outcome; a list is a token sequence")
	fs.StringVar(&f.mean, "mean", "", "gaussian predictive mean `COL` (with --std or --var)")
	fs.StringVar(&f.std, "std", "", "gaussian standard deviation `COL`")
	fs.StringVar(&f.varc, "var", "", "gaussian variance `COL`")
	fs.StringVar(&f.weight, "weight", "", "non-negative sample weight `COL`")
	fs.StringVar(&f.by, "by", "", "also report every slice of `COL[,COL]`")
	fs.StringVar(&f.id, "id", "", "row identifier `COL`, used by --worst")
	fs.StringVar(&f.bytes, "bytes", "", "UTF-8 byte count `COL` of each document (logprob): adds bits_per_byte, byte_perplexity")
	fs.StringVar(&f.words, "words", "", "word count `COL` of each document (logprob): adds word_perplexity")
	fs.StringVar(&f.text, "text", "", "document text `COL` (logprob): its byte length and whitespace-separated words stand in for --bytes and --words")
	fs.StringVar(&f.mask, "mask", "", "`COL` of 0/1 or bool lists parallel to the token log-probabilities: only tokens marked 1 count")
	fs.StringVar(&f.positive, "positive", "", "string label `VALUE` of the positive class (binary; every other value is negative)")
	fs.StringVar(&f.classes, "classes", "", "class `NAMES` in the order of the prediction list, a,b,c or a JSON array: maps string labels to positions and names the per-class table (multiclass)")
	fs.StringVar(&f.types, "types", "", "CSV and JSON Lines column types `COL=TYPE[,COL=TYPE]` (int64, double, bool, string, list) instead of inferring them from the first 1000 rows")
	fs.StringVar(&f.kind, "kind", "auto", "`KIND`: auto, binary, multiclass, multilabel, logprob or gaussian")
	fs.Float64Var(&f.eps, "eps", 1e-15, "clip probabilities to [`E`, 1-E] before the log; 0 disables clipping")
	fs.StringVar(&f.base, "base", "e", "log `BASE` of NLL figures: e (nats), 2 (bits) or 10 (hartleys)")
	fs.IntVar(&f.bins, "bins", 15, fmt.Sprintf("`N` calibration bins, at most %d; memory: about %d KB a bin per worker with --bootstrap, and %.1f KB a bin per --by slice", maxBins, memBootBin>>10, float64(memSliceBin)/1024))
	fs.StringVar(&f.binning, "binning", "uniform", "`M`: uniform (equal width) or quantile (equal weight)")
	fs.BoolVar(&f.auroc, "auroc", false, "also compute auroc and auprc (binary; one-vs-rest macro for multiclass and multilabel) and, from the confidence histogram, ece_sweep and smece")
	fs.BoolVar(&f.classwise, "classwise", false, "multiclass: also compute classwise_ece and each class's one-vs-rest ECE")
	fs.IntVar(&f.topk, "topk", 0, "multiclass: also report accuracy_top`K`, the share of rows whose label is among the K highest-scored classes")
	fs.StringVar(&f.onInvalid, "on-invalid", "error", "`P`: error (stop at the first invalid row) or skip (count it by reason)")
	fs.IntVar(&f.workers, "workers", 0, fmt.Sprintf("`N` units evaluated at once (default: all cores), at most %d; results do not depend on it; memory: each worker holds its own figures (about %d KB, and %d KB with --bootstrap, at 15 bins)", maxWorkers, memWorker>>10, (memWorker+15*memBootBin)>>10))
	fs.Int64Var(&f.maxStdinBytes, "max-stdin-bytes", defaultMaxStdinBytes, "largest standard input spooled to a temporary file, in `BYTES` (only a multiclass list whose class count is not fixed is spooled; other streams are read as they come)")
	fs.Int64Var(&f.maxBatchBytes, "max-batch-bytes", reader.DefaultOptions().MaxBatchBytes, "largest Arrow IPC record batch body or Parquet page accepted, in `BYTES`")
	fs.IntVar(&f.worst, "worst", 0, fmt.Sprintf("list the `N` rows of highest NLL, at most %d; memory: up to 2N+64 rows of about %d bytes per worker, never more than the rows read", maxWorst, memWorstRow))
	fs.IntVar(&f.maxSlices, "max-slices", defaultMaxSlices, fmt.Sprintf("fail when --by yields more than `N` slices; memory: each slice costs about %d KB per worker that meets it (%.1f KB more per bin over 15)", (memSlice+15*memSliceBin)>>10, float64(memSliceBin)/1024))
	fs.StringVar(&f.jsonOut, "json", "", "write the JSON report to `FILE` (- for stdout)")
	fs.StringVar(&f.mdOut, "md", "", "write a markdown report to `FILE`")
	fs.StringVar(&f.svgOut, "svg", "", "write a reliability diagram to `FILE` (SVG)")
	fs.StringVar(&f.pngOut, "png", "", "write a reliability diagram to `FILE` (PNG)")
	fs.IntVar(&f.minSliceSize, "min-slice-size", 0, "hide slices of fewer than `N` rows in the markdown and text reports")
	fs.Var(&f.outs, "o", "write a report to `FILE`, its format from the extension (.json, .md, .svg, .png); repeatable")
	fs.Var(&f.failIf, "fail-if", "exit 1 when `'METRIC OP VALUE'` holds, e.g. 'nll > 0.35'; repeatable")
	fs.StringVar(&f.baseline, "baseline", "", "baseline JSON report `FILE` for --max-increase and --max-decrease")
	fs.Int64Var(&f.maxReportBytes, "max-report-bytes", defaultMaxReportBytes, "largest --baseline report read, in `BYTES` (its parse takes several times that in memory)")
	fs.Var(&f.maxInc, "max-increase", "fail when `METRIC=DELTA` rose by more than DELTA (absolute, or N% relative) over the baseline; repeatable")
	fs.Var(&f.maxDec, "max-decrease", "fail when `METRIC=DELTA` fell by more than DELTA over the baseline (for accuracy); repeatable")
	fs.BoolVar(&f.allowMismatch, "allow-config-mismatch", false, "judge baseline gates on figures whose settings (--bins, --binning, --eps) differ from the baseline's, with a warning, rather than exit 2")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof)")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a profile of the run's allocations to `FILE` (go tool pprof)")
	fs.IntVar(&f.bootstrap, "bootstrap", metrics.DefaultBootstrap().Replicates, "`R` bootstrap replicates for 95% intervals (0: none)")
	fs.Uint64Var(&f.bootSeed, "bootstrap-seed", metrics.DefaultBootstrap().Seed, "bootstrap `SEED`, recorded in the report")
	fs.StringVar(&f.shard, "shard", "", "evaluate share `i/N` of the inputs' rows (0 <= i < N), for evalnll merge")
	fs.StringVar(&f.state, "state", "", "write the run's partial state to `FILE`, for evalnll merge")
	fs.IntVar(&f.numClasses, "num-classes", 0, "the class (or label) count `K` of a multiclass or multilabel run, instead of the first list's length")
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
	var profiles []func(*report.OutputSet)
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
	if f.shard != "" {
		if shard, err = pipeline.ParseShard(f.shard); err != nil {
			return 0, usagef("--shard: %v", err)
		}
		for _, in := range inputs {
			if in == "-" {
				return 0, usagef("--shard: standard input cannot be shared out between runs; write it to a file first")
			}
		}
	}
	if f.state == "-" {
		return 0, usagef("--state: a state is binary; give a file, not -")
	}
	if f.numClasses < 0 {
		return 0, usagef("--num-classes: %d is negative", f.numClasses)
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
		onames = append(onames, namedPath{o.flag, o.path})
	}
	if f.cpuProfile != "" {
		onames = append(onames, namedPath{"--cpuprofile", f.cpuProfile})
	}
	if f.memProfile != "" {
		onames = append(onames, namedPath{"--memprofile", f.memProfile})
	}
	if f.state != "" {
		onames = append(onames, namedPath{"--state", f.state})
	}
	for _, p := range paths {
		inames = append(inames, namedPath{"input", p})
	}
	if f.baseline != "" {
		inames = append(inames, namedPath{"--baseline", f.baseline})
	}
	if err := checkOutputs(e, onames, inames, len(outs) == 0); err != nil {
		return 0, err
	}
	var base *report.Baseline
	if f.baseline != "" {
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

	// Profiles are outputs like the reports: kept in memory, committed
	// with them.
	var cpuProf bytes.Buffer
	if f.cpuProfile != "" {
		if err := pprof.StartCPUProfile(&cpuProf); err != nil {
			return 0, usagef("--cpuprofile: %v", err)
		}
		stop := sync.OnceFunc(pprof.StopCPUProfile)
		defer stop()
		profiles = append(profiles, func(set *report.OutputSet) {
			stop()
			addOutput(e, set, f.cpuProfile, cpuProf.Bytes())
		})
	}
	if f.memProfile != "" {
		runtime.MemProfileRate = 64 << 10
		profiles = append(profiles, func(set *report.OutputSet) {
			var b bytes.Buffer
			pprof.Lookup("allocs").WriteTo(&b, 0)
			addOutput(e, set, f.memProfile, b.Bytes())
		})
	}
	opt := reader.Options{MaxBatchBytes: f.maxBatchBytes, TextTypes: f.textTypes}
	ins, err := openInputs(e, paths, opt, f.maxStdinBytes)
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
	if f.numClasses > 0 {
		if planned.Kind != metrics.Multiclass && planned.Kind != metrics.Multilabel {
			return 0, usagef("--num-classes: a %s run has no class count", planned.Kind)
		}
		if planned.Classes > 0 && planned.Classes != f.numClasses {
			r := mp.Report()
			return 0, fmt.Errorf("%s: --num-classes %d, but %q is a fixed-size list of %d", names[0], f.numClasses, r.Prob+r.Logit, planned.Classes)
		}
	}
	warnings := append([]string(nil), mp.Warnings()...)
	// A reliability diagram needs calibration: known from the mapping,
	// before any row is read. The other outputs are still written.
	if !planned.Kind.HasCalibration() {
		var keep []output
		for _, o := range outs {
			if o.format == "svg" || o.format == "png" {
				warnings = append(warnings, fmt.Sprintf("%s not written: a %s run has no calibration, so no reliability diagram", o.path, planned.Kind))
				continue
			}
			keep = append(keep, o)
		}
		if len(keep) == 0 && len(outs) > 0 {
			return 0, usagef("--svg/--png: a %s run has no calibration, so no reliability diagram; give --json or --md, or no output flag for a summary", planned.Kind)
		}
		outs = keep
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "evalnll: warning: %s\n", report.Escape(w))
	}
	spec := evalSpec(&f, cfg)
	spec.FailIf, spec.Limits, spec.Baseline = gates, limits, base
	spec.AllowMismatch = f.allowMismatch
	prog := &progressHook{e: e, quiet: f.quiet}
	spec.Progress = prog
	copt := cli.Options{Shard: shard, NumClasses: f.numClasses, StateOnly: f.state != "" && len(outs) == 0, Keys: keys}
	m, run, err := cli.EvaluateFiles(mapping.WithNames(e.ctx, flagNames), spec, copt, inputs, files, names)
	prog.finish()
	if err != nil {
		return 0, gateFlagError(err)
	}
	if f.state != "" {
		// The state is one of the outputs: all of them are written, or
		// none.
		er := &evalRun{cfg: run.Config, mapping: run.Mapping, state: run.Result.State}
		for i, fl := range files {
			er.inputs = append(er.inputs, partial.Input{Name: names[i], Format: fl.Format().String(), Rows: fl.Rows(),
				Read: run.Result.FileRows[i], Ranges: partialRanges(run.Result.Ranges[i])})
		}
		data, err := er.partial(shard).Encode()
		if err != nil {
			return 0, fmt.Errorf("--state %s: %v", f.state, err)
		}
		if m == nil {
			// Only the state: no report of this share, no gates.
			return exitOK, writeState(e, f.state, data, profiles)
		}
		profiles = append(profiles, func(set *report.OutputSet) { addOutput(e, set, f.state, data) })
	}
	m.MinSliceSize = int64(f.minSliceSize)
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
	cfg := metrics.DefaultConfig()
	k, err := metrics.ParseKind(f.kind)
	if err != nil {
		return nil, nil, nil, usagef("--kind: %v", err)
	}
	cfg.Kind = k
	if math.IsNaN(f.eps) || f.eps < 0 || f.eps >= 0.5 {
		return nil, nil, nil, usagef("--eps: %v is not in [0, 0.5)", f.eps)
	}
	cfg.Eps = f.eps
	switch f.base {
	case "e":
		cfg.Units = metrics.Nats
	case "2":
		cfg.Units = metrics.Bits
	case "10":
		cfg.Units = metrics.Hartleys
	default:
		return nil, nil, nil, usagef("--base: %q is not one of e, 2, 10", f.base)
	}
	if f.bins < 1 || f.bins > maxBins {
		return nil, nil, nil, usagef("--bins: %d is not between 1 and %d", f.bins, maxBins)
	}
	cfg.Bins = f.bins
	switch f.binning {
	case "uniform":
		cfg.Binning = metrics.Uniform
	case "quantile":
		cfg.Binning = metrics.Quantile
	default:
		return nil, nil, nil, usagef("--binning: %q is not uniform or quantile", f.binning)
	}
	cfg.Discrim = f.auroc
	cfg.Classwise = f.classwise
	if f.topk < 0 || f.topk > 1000000 {
		return nil, nil, nil, usagef("--topk: %d is not between 1 and 1000000", f.topk)
	}
	cfg.TopK = f.topk
	switch f.onInvalid {
	case "error":
	case "skip":
		cfg.Skip = true
	default:
		return nil, nil, nil, usagef("--on-invalid: %q is not error or skip", f.onInvalid)
	}
	if f.workers < 0 || f.workers > maxWorkers {
		return nil, nil, nil, usagef("--workers: %d is not between 0 and %d", f.workers, maxWorkers)
	}
	if f.worst < 0 || f.worst > maxWorst {
		return nil, nil, nil, usagef("--worst: %d is not between 0 and %d", f.worst, maxWorst)
	}
	cfg.Worst = f.worst
	if f.maxBatchBytes <= 0 {
		return nil, nil, nil, usagef("--max-batch-bytes: %d is not positive", f.maxBatchBytes)
	}
	if f.maxStdinBytes <= 0 {
		return nil, nil, nil, usagef("--max-stdin-bytes: %d is not positive", f.maxStdinBytes)
	}
	if f.maxReportBytes <= 0 {
		return nil, nil, nil, usagef("--max-report-bytes: %d is not positive", f.maxReportBytes)
	}
	if f.maxSlices <= 0 {
		return nil, nil, nil, usagef("--max-slices: %d is not positive", f.maxSlices)
	}
	cfg.MaxSlices = f.maxSlices
	if f.bootstrap < 0 || f.bootstrap > 100000 {
		return nil, nil, nil, usagef("--bootstrap: %d is not between 0 and 100000", f.bootstrap)
	}
	if f.bootstrap > 0 {
		cfg.Bootstrap = metrics.DefaultBootstrap()
		cfg.Bootstrap.Replicates = f.bootstrap
		cfg.Bootstrap.Seed = f.bootSeed
	}
	if f.std != "" && f.varc != "" {
		return nil, nil, nil, usagef("--std and --var: give one, not both")
	}
	if (f.std != "" || f.varc != "") && f.mean == "" {
		return nil, nil, nil, usagef("--std/--var need --mean")
	}
	if f.mean != "" && f.std == "" && f.varc == "" {
		return nil, nil, nil, usagef("--mean needs --std or --var")
	}
	n := 0
	for _, s := range []string{f.prob, f.logit, f.logprob, f.mean} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, nil, nil, usagef("--prob, --logit, --logprob and --mean: give one prediction column")
	}
	for p, col := range map[metrics.Pred]string{metrics.PredProb: f.prob, metrics.PredLogit: f.logit, metrics.PredLogprob: f.logprob, metrics.PredStd: f.std, metrics.PredVar: f.varc} {
		if col != "" && !mapping.KindAccepts(cfg.Kind, p) {
			return nil, nil, nil, usagef("--kind %s does not take a %s column", cfg.Kind, predFlag(p))
		}
	}
	if err := parseBy(f); err != nil {
		return nil, nil, nil, err
	}
	if err := parseClasses(f); err != nil {
		return nil, nil, nil, err
	}
	f.textTypes = nil
	if f.types != "" {
		f.textTypes = map[string]string{}
		for _, kv := range strings.Split(f.types, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, nil, nil, usagef("--types: %q is not COL=TYPE", kv)
			}
			f.textTypes[k] = v
		}
	}
	ths, lims, err := parseGates(f.failIf, f.maxInc, f.maxDec)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(lims) > 0 && f.baseline == "" {
		return nil, nil, nil, usagef("--max-increase/--max-decrease need --baseline")
	}
	return &cfg, ths, lims, nil
}

// evalSpec is the library's Spec for the checked flags.
func evalSpec(f *evalFlags, cfg *metrics.Config) evalnll.Spec {
	s := evalnll.Spec{
		Label: f.label, Prob: f.prob, Logit: f.logit, Logprob: f.logprob, Mean: f.mean, Std: f.std, Var: f.varc,
		Weight: f.weight, ID: f.id, By: f.byCols,
		Kind: cfg.Kind, Eps: cfg.Eps, Units: cfg.Units, Bins: cfg.Bins, Binning: cfg.Binning,
		SkipInvalid: cfg.Skip, Worst: cfg.Worst, MaxSlices: cfg.MaxSlices,
		Bootstrap: cfg.Bootstrap.Replicates, BootstrapSeed: cfg.Bootstrap.Seed,
		AUROC: cfg.Discrim, Classwise: cfg.Classwise, TopK: cfg.TopK,
		Positive: f.positive, Classes: f.classNames, TextTypes: f.textTypes,
		Bytes: f.bytes, Words: f.words, Text: f.text, Mask: f.mask,
		Workers: f.workers, MaxBatchBytes: f.maxBatchBytes,
	}
	return s
}

type output struct{ path, format, flag string }

func outputs(f *evalFlags) ([]output, error) {
	var outs []output
	if f.jsonOut != "" {
		outs = append(outs, output{f.jsonOut, "json", "--json"})
	}
	if f.mdOut != "" {
		outs = append(outs, output{f.mdOut, "md", "--md"})
	}
	if f.svgOut != "" {
		outs = append(outs, output{f.svgOut, "svg", "--svg"})
	}
	if f.pngOut != "" {
		outs = append(outs, output{f.pngOut, "png", "--png"})
	}
	for _, o := range f.outs {
		ext := filepath.Ext(o)
		if store.IsURL(o) {
			ext = path.Ext(urlKey(o))
		}
		switch strings.ToLower(ext) {
		case ".json":
			outs = append(outs, output{o, "json", "-o"})
		case ".md", ".markdown":
			outs = append(outs, output{o, "md", "-o"})
		case ".svg":
			outs = append(outs, output{o, "svg", "-o"})
		case ".png":
			outs = append(outs, output{o, "png", "-o"})
		default:
			return nil, usagef("-o %s: unknown extension (want .json, .md, .svg or .png)", o)
		}
	}
	if f.minSliceSize < 0 {
		return nil, usagef("--min-slice-size: %d is negative", f.minSliceSize)
	}
	return outs, nil
}

func writeOutputs(e *env, m *report.Model, outs []output, profiles []func(*report.OutputSet)) error {
	if len(outs) == 0 && len(profiles) == 0 {
		return m.Text(e.stdout)
	}
	// The markdown links the diagram when one is written beside it.
	img := ""
	for _, o := range outs {
		if (o.format == "svg" || o.format == "png" && img == "") && m.Kind.HasCalibration() {
			img = o.path
		}
	}
	// Render every output, then write them all or none.
	var set report.OutputSet
	for _, o := range outs {
		p := o.path
		m.ImageLink = ""
		if img != "" && o.format == "md" {
			if li, lm, ok := linkPaths(img, o.path); ok {
				m.ImageLink, p = li, lm
			}
		}
		data, err := m.Render(o.format, p)
		if err != nil {
			return err
		}
		addOutput(e, &set, o.path, data)
	}
	if len(outs) == 0 {
		var b bytes.Buffer
		if err := m.Text(&b); err != nil {
			return err
		}
		set.AddLast(report.WriterSink("-", e.stdout), b.Bytes())
	}
	for _, p := range profiles {
		p(&set)
	}
	return commitOutputs(e, &set)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
