// Package evalcmd is the command line of `evalnll eval` and `evalnll
// merge`, apart from the command: eval's flags and their checks, the
// library Spec they ask for, the outputs they name, the partial state of a
// share, and the reports of merged states written as merge writes them. The
// evalnll command uses it, and package cmdline exposes it to other programs
// (evalnll-beam), so that eval's flags and merge's reports are defined once.
package evalcmd

import (
	"flag"
	"fmt"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
)

// MultiFlag collects a repeatable flag.
type MultiFlag []string

func (m *MultiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *MultiFlag) Set(s string) error { *m = append(*m, s); return nil }

// DefaultMaxStdinBytes is the most standard input spooled to disk.
const DefaultMaxStdinBytes = 4 << 30

// DefaultMaxReportBytes is the largest JSON report read back (a baseline,
// compare's two reports): a report of 100,000 slices with 15 bins each is
// about 150 MB.
const DefaultMaxReportBytes = 256 << 20

// Limits of the flags whose memory grows with their value, and what each
// costs (checked by TestFlagMemory): a run's memory stays bounded whatever
// flags it is given.
const (
	MaxBins          = 1000
	MaxWorkers       = 256
	MaxWorst         = 100000
	DefaultMaxSlices = 10000
	// MemBootBin is the bootstrap's cost of a calibration bin, per worker.
	MemBootBin = 20 << 10
	// MemWorker is a worker's figures with no bootstrap, at 15 bins.
	MemWorker = 64 << 10
	// MemSlice and MemSliceBin: a --by slice, and each of its bins.
	MemSlice    = 8 << 10
	MemSliceBin = 1750
	// MemWorstRow is a row of the --worst list.
	MemWorstRow = 160
)

// Flags are the values of eval's flags (merge takes some of them); Register
// defines them on a FlagSet, Check checks them.
type Flags struct {
	Label, Prob, Logit, Logprob, Mean, Std, Var, Weight, By, ID, Kind string
	Eps                                                               float64
	Base, Binning, OnInvalid                                          string
	Bins, Workers, Worst                                              int
	MaxBatchBytes                                                     int64
	JSONOut, MDOut, SVGOut, PNGOut                                    string
	MinSliceSize                                                      int
	Outs, FailIf, MaxInc, MaxDec                                      MultiFlag
	Baseline                                                          string
	Quiet                                                             bool
	Bootstrap                                                         int
	BootSeed                                                          uint64
	MemProfile                                                        string
	CPUProfile                                                        string
	MaxSlices                                                         int
	ByCols                                                            []string // --by, split
	Shard, State                                                      string
	NumClasses                                                        int
	MaxReportBytes                                                    int64
	MaxStdinBytes                                                     int64
	AUROC, Classwise                                                  bool
	TopK                                                              int
	Positive, Classes, Types                                          string
	ClassNames                                                        []string          // --classes, parsed
	TextTypes                                                         map[string]string // --types, parsed
	AllowMismatch                                                     bool
	Bytes, Words, Text, Mask                                          string
}

// Register defines eval's flags on fs, their values in f.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Label, "label", "", "observed outcome `COL` (default: the first of label, target, y)")
	fs.StringVar(&f.Prob, "prob", "", "probability `COL`: P(y=1), or a list of class probabilities")
	fs.StringVar(&f.Logit, "logit", "", "logit `COL`: one float (binary) or a list of class logits")
	fs.StringVar(&f.Logprob, "logprob", "", "natural-log probability `COL` of the observed outcome; a list is a token sequence")
	fs.StringVar(&f.Mean, "mean", "", "gaussian predictive mean `COL` (with --std or --var)")
	fs.StringVar(&f.Std, "std", "", "gaussian standard deviation `COL`")
	fs.StringVar(&f.Var, "var", "", "gaussian variance `COL`")
	fs.StringVar(&f.Weight, "weight", "", "non-negative sample weight `COL`")
	fs.StringVar(&f.By, "by", "", "also report every slice of `COL[,COL]`")
	fs.StringVar(&f.ID, "id", "", "row identifier `COL`, used by --worst")
	fs.StringVar(&f.Bytes, "bytes", "", "UTF-8 byte count `COL` of each document (logprob): adds bits_per_byte, byte_perplexity")
	fs.StringVar(&f.Words, "words", "", "word count `COL` of each document (logprob): adds word_perplexity")
	fs.StringVar(&f.Text, "text", "", "document text `COL` (logprob): its byte length and whitespace-separated words stand in for --bytes and --words")
	fs.StringVar(&f.Mask, "mask", "", "`COL` of 0/1 or bool lists parallel to the token log-probabilities: only tokens marked 1 count")
	fs.StringVar(&f.Positive, "positive", "", "string label `VALUE` of the positive class (binary; every other value is negative)")
	fs.StringVar(&f.Classes, "classes", "", "class `NAMES` in the order of the prediction list, a,b,c or a JSON array: maps string labels to positions and names the per-class table (multiclass)")
	fs.StringVar(&f.Types, "types", "", "CSV and JSON Lines column types `COL=TYPE[,COL=TYPE]` (int64, double, bool, string, list) instead of inferring them from the first 1000 rows")
	fs.StringVar(&f.Kind, "kind", "auto", "`KIND`: auto, binary, multiclass, multilabel, logprob or gaussian")
	fs.Float64Var(&f.Eps, "eps", 1e-15, "clip probabilities to [`E`, 1-E] before the log; 0 disables clipping")
	fs.StringVar(&f.Base, "base", "e", "log `BASE` of NLL figures: e (nats), 2 (bits) or 10 (hartleys)")
	fs.IntVar(&f.Bins, "bins", 15, fmt.Sprintf("`N` calibration bins, at most %d; memory: about %d KB a bin per worker with --bootstrap, and %.1f KB a bin per --by slice", MaxBins, MemBootBin>>10, float64(MemSliceBin)/1024))
	fs.StringVar(&f.Binning, "binning", "uniform", "`M`: uniform (equal width) or quantile (equal weight)")
	fs.BoolVar(&f.AUROC, "auroc", false, "also compute auroc and auprc (binary; one-vs-rest macro for multiclass and multilabel) and, from the confidence histogram, ece_sweep and smece")
	fs.BoolVar(&f.Classwise, "classwise", false, "multiclass: also compute classwise_ece and each class's one-vs-rest ECE")
	fs.IntVar(&f.TopK, "topk", 0, "multiclass: also report accuracy_top`K`, the share of rows whose label is among the K highest-scored classes")
	fs.StringVar(&f.OnInvalid, "on-invalid", "error", "`P`: error (stop at the first invalid row) or skip (count it by reason)")
	fs.IntVar(&f.Workers, "workers", 0, fmt.Sprintf("`N` units evaluated at once (default: all cores), at most %d; results do not depend on it; memory: each worker holds its own figures (about %d KB, and %d KB with --bootstrap, at 15 bins)", MaxWorkers, MemWorker>>10, (MemWorker+15*MemBootBin)>>10))
	fs.Int64Var(&f.MaxStdinBytes, "max-stdin-bytes", DefaultMaxStdinBytes, "largest standard input spooled to a temporary file, in `BYTES` (only a multiclass list whose class count is not fixed is spooled; other streams are read as they come)")
	fs.Int64Var(&f.MaxBatchBytes, "max-batch-bytes", reader.DefaultOptions().MaxBatchBytes, "largest Arrow IPC record batch body or Parquet page accepted, in `BYTES`")
	fs.IntVar(&f.Worst, "worst", 0, fmt.Sprintf("list the `N` rows of highest NLL, at most %d; memory: up to 2N+64 rows of about %d bytes per worker, never more than the rows read", MaxWorst, MemWorstRow))
	fs.IntVar(&f.MaxSlices, "max-slices", DefaultMaxSlices, fmt.Sprintf("fail when --by yields more than `N` slices; memory: each slice costs about %d KB per worker that meets it (%.1f KB more per bin over 15)", (MemSlice+15*MemSliceBin)>>10, float64(MemSliceBin)/1024))
	fs.StringVar(&f.JSONOut, "json", "", "write the JSON report to `FILE` (- for stdout)")
	fs.StringVar(&f.MDOut, "md", "", "write a markdown report to `FILE`")
	fs.StringVar(&f.SVGOut, "svg", "", "write a reliability diagram to `FILE` (SVG)")
	fs.StringVar(&f.PNGOut, "png", "", "write a reliability diagram to `FILE` (PNG)")
	fs.IntVar(&f.MinSliceSize, "min-slice-size", 0, "hide slices of fewer than `N` rows in the markdown and text reports")
	fs.Var(&f.Outs, "o", "write a report to `FILE`, its format from the extension (.json, .md, .svg, .png); repeatable")
	fs.Var(&f.FailIf, "fail-if", "exit 1 when `'METRIC OP VALUE'` holds, e.g. 'nll > 0.35'; repeatable")
	fs.StringVar(&f.Baseline, "baseline", "", "baseline JSON report `FILE` for --max-increase and --max-decrease")
	fs.Int64Var(&f.MaxReportBytes, "max-report-bytes", DefaultMaxReportBytes, "largest --baseline report read, in `BYTES` (its parse takes several times that in memory)")
	fs.Var(&f.MaxInc, "max-increase", "fail when `METRIC=DELTA` rose by more than DELTA (absolute, or N% relative) over the baseline; repeatable")
	fs.Var(&f.MaxDec, "max-decrease", "fail when `METRIC=DELTA` fell by more than DELTA over the baseline (for accuracy); repeatable")
	fs.BoolVar(&f.AllowMismatch, "allow-config-mismatch", false, "judge baseline gates on figures whose settings (--bins, --binning, --eps) differ from the baseline's, with a warning, rather than exit 2")
	fs.BoolVar(&f.Quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof)")
	fs.StringVar(&f.MemProfile, "memprofile", "", "write a profile of the run's allocations to `FILE` (go tool pprof)")
	fs.IntVar(&f.Bootstrap, "bootstrap", metrics.DefaultBootstrap().Replicates, "`R` bootstrap replicates for 95% intervals (0: none)")
	fs.Uint64Var(&f.BootSeed, "bootstrap-seed", metrics.DefaultBootstrap().Seed, "bootstrap `SEED`, recorded in the report")
	fs.StringVar(&f.Shard, "shard", "", "evaluate share `i/N` of the inputs' rows (0 <= i < N), for evalnll merge")
	fs.StringVar(&f.State, "state", "", "write the run's partial state to `FILE`, for evalnll merge")
	fs.IntVar(&f.NumClasses, "num-classes", 0, "the class (or label) count `K` of a multiclass or multilabel run, instead of the first list's length")
}
