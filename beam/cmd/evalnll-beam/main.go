// Command evalnll-beam evaluates stored predictions as an Apache Beam
// pipeline (Prism, Dataflow, Flink, Spark) and reports them with
// `evalnll merge`, so that its reports are those of `evalnll eval`.
//
//	evalnll-beam [flags] INPUT...
//
// Flags come before the inputs. See beam/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	// The runners --runner may name.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	"github.com/evalnll/evalnll/beam/evalbeam"
	"github.com/evalnll/evalnll/internal/pipeline"
)

const usage = `Usage: evalnll-beam [flags] INPUT...

Evaluates INPUTs (Parquet / Arrow IPC files, directories, globs) as an Apache
Beam pipeline: each of N shares (N = the inputs' row groups and record
batches) is evaluated into a partial state, the states are merged, and the
merged state is reported by 'evalnll merge' (found on PATH, or --evalnll),
so the reports are those 'evalnll eval' writes over the same inputs. Flags
come before the inputs. Beam's own flags (--runner, --project, --region,
--endpoint, --environment_type, ...) are taken as Beam documents them;
--runner defaults to prism, which runs in this process.

Evaluation flags (as eval's): --label --prob --logit --logprob --mean --std
--var --weight --by --id --kind --eps --base --bins --binning --on-invalid
--worst --max-slices --bootstrap --bootstrap-seed --num-classes
--max-batch-bytes.
Report and gate flags (passed to 'evalnll merge'): --json --md --svg --png
-o --fail-if --baseline --max-increase --max-decrease --min-slice-size
--allow-config-mismatch.

Exit status: 0 ok, 1 a gate failed, 2 an error (an invalid row, a bad flag,
a failed job): no report is written.
`

func main() {
	if workerMode(os.Args[1:]) {
		// Started by a runner as a worker: Beam's flags only (Beam's
		// --id is the worker's id, not eval's). Init serves the runner
		// and exits.
		flag.Parse()
		beam.Init()
		os.Exit(0)
	}
	// The launcher: eval's flags, and Beam's flags through the same
	// values, eval's taking the names both define (--id).
	fs, c, verbose := launcherFlags(flag.ExitOnError)
	fs.Parse(os.Args[1:])
	if r := flag.Lookup("runner"); r.Value.String() == "" || r.Value.String() == "direct" {
		flag.Set("runner", "prism")
	}
	beam.Init()
	if !*verbose {
		// Prism logs failed bundles at length through slog (set up by
		// Init); the error that matters is printed in one line.
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(c.run(context.Background(), fs.Args(), os.Stdout, os.Stderr))
}

// launcherFlags are the launcher's flags: eval's (newCLI), and Beam's,
// defined on flag.CommandLine, through the same values; where both define
// a name (--id), eval's.
func launcherFlags(h flag.ErrorHandling) (*flag.FlagSet, *cli, *bool) {
	fs := flag.NewFlagSet("evalnll-beam", h)
	c := newCLI(fs)
	verbose := fs.Bool("beam_log", false, "show the runner's and the SDK's logs on stderr (Prism's logs otherwise hidden)")
	flag.VisitAll(func(f *flag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	return fs, c, verbose
}

// workerMode reports whether the arguments start a Beam worker (--worker).
func workerMode(args []string) bool {
	for _, a := range args {
		if a == "--worker" || a == "-worker" || a == "--worker=true" || a == "-worker=true" {
			return true
		}
	}
	return false
}

// cli is the command's flags.
type cli struct {
	a                  evalbeam.Args
	by, state, evalnll string
	// pass are the flags passed to evalnll merge.
	pass []string
}

func newCLI(fs *flag.FlagSet) *cli {
	c := &cli{a: evalbeam.DefaultArgs()}
	a := &c.a
	fs.StringVar(&a.Label, "label", "", "observed outcome `COL`")
	fs.StringVar(&a.Prob, "prob", "", "probability `COL`")
	fs.StringVar(&a.Logit, "logit", "", "logit `COL`")
	fs.StringVar(&a.Logprob, "logprob", "", "natural-log probability `COL`")
	fs.StringVar(&a.Mean, "mean", "", "gaussian predictive mean `COL`")
	fs.StringVar(&a.Std, "std", "", "gaussian standard deviation `COL`")
	fs.StringVar(&a.Var, "var", "", "gaussian variance `COL`")
	fs.StringVar(&a.Weight, "weight", "", "sample weight `COL`")
	fs.StringVar(&c.by, "by", "", "also report every slice of `COL[,COL]`")
	fs.StringVar(&a.ID, "id", "", "row identifier `COL`")
	fs.StringVar(&a.Kind, "kind", a.Kind, "`KIND`: auto, binary, multiclass, multilabel, logprob or gaussian")
	fs.Float64Var(&a.Eps, "eps", a.Eps, "clip probabilities to [`E`, 1-E]")
	fs.StringVar(&a.Base, "base", a.Base, "log `BASE`: e, 2 or 10")
	fs.IntVar(&a.Bins, "bins", a.Bins, "`N` calibration bins")
	fs.StringVar(&a.Binning, "binning", a.Binning, "`M`: uniform or quantile")
	fs.StringVar(&a.OnInvalid, "on-invalid", a.OnInvalid, "`P`: error or skip")
	fs.IntVar(&a.Worst, "worst", 0, "list the `N` rows of highest NLL")
	fs.IntVar(&a.MaxSlices, "max-slices", a.MaxSlices, "fail when --by yields more than `N` slices")
	fs.IntVar(&a.Bootstrap, "bootstrap", a.Bootstrap, "`R` bootstrap replicates (0: none)")
	fs.Uint64Var(&a.BootstrapSeed, "bootstrap-seed", a.BootstrapSeed, "bootstrap `SEED`")
	fs.IntVar(&a.NumClasses, "num-classes", 0, "class count `K` of a multiclass or multilabel run")
	fs.Int64Var(&a.MaxBatchBytes, "max-batch-bytes", a.MaxBatchBytes, "largest record batch body or page, in `BYTES`")
	fs.StringVar(&c.state, "state", "", "also keep the merged partial state in `FILE` (it merges with other states)")
	fs.StringVar(&c.evalnll, "evalnll", "evalnll", "the evalnll `BINARY` that reports the merged state")
	for _, n := range []string{"json", "md", "svg", "png", "o", "fail-if", "baseline", "max-increase", "max-decrease", "min-slice-size"} {
		fs.Func(n, "as eval's (`VALUE` passed to evalnll merge)", func(v string) error {
			c.pass = append(c.pass, "--"+n, v)
			return nil
		})
	}
	fs.BoolFunc("allow-config-mismatch", "as eval's (passed to evalnll merge)", func(v string) error {
		c.pass = append(c.pass, "--allow-config-mismatch="+v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return c
}

// run evaluates the inputs on the runner the flags chose and reports
// them, returning the exit status.
func (c *cli) run(ctx context.Context, inputs []string, stdout, stderr io.Writer) int {
	fail := func(format string, v ...any) int {
		fmt.Fprintf(stderr, "evalnll: "+format+"\n", v...)
		return 2
	}
	a := c.a
	if len(inputs) == 0 {
		return fail("evalnll-beam: no INPUT given (run 'evalnll-beam -h'); flags come before the inputs")
	}
	for _, in := range inputs {
		if strings.HasPrefix(in, "-") && in != "-" {
			return fail("evalnll-beam: flag %s after the inputs: flags come first", in)
		}
	}
	if c.by != "" {
		for _, b := range strings.Split(c.by, ",") {
			if b = strings.TrimSpace(b); b == "" {
				return fail("--by %q: empty column name", c.by)
			}
			a.By = append(a.By, b)
		}
	}
	var err error
	if a.Paths, a.Keys, err = pipeline.ExpandKeys(inputs); err != nil {
		return fail("%v", err)
	}
	if a.Shares, err = a.Plan(); err != nil {
		return fail("%v", err)
	}
	report := len(c.pass) > 0 || c.state == ""
	out := c.state
	if out == "" {
		dir, err := os.MkdirTemp("", "evalnll-beam-")
		if err != nil {
			return fail("%v", err)
		}
		defer os.RemoveAll(dir)
		out = filepath.Join(dir, "merged.evst")
	}
	if err := Run(ctx, a, out); err != nil {
		if msg, _, ok := evalbeam.JobError(err); ok {
			return fail("%s", msg)
		}
		return fail("evalnll-beam: the job failed: %v", err)
	}
	if !report {
		return 0
	}
	cmd := exec.CommandContext(ctx, c.evalnll, append(append([]string{"merge"}, c.pass...), "--worst", fmt.Sprint(a.Worst), out)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return fail("evalnll-beam: running %s merge: %v", c.evalnll, err)
	}
	return 0
}

// Run builds and runs the pipeline; the merged state is written to out.
// A file at out is removed first, so that a failed job leaves none.
func Run(ctx context.Context, a evalbeam.Args, out string) error {
	os.Remove(out)
	p, s := beam.NewPipelineWithRoot()
	evalbeam.Build(s, a, out)
	if err := beamx.Run(ctx, p); err != nil {
		return err
	}
	if _, err := os.Stat(out); err != nil {
		return fmt.Errorf("no merged state was written: %v", err)
	}
	return nil
}
