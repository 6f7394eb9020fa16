// Command evalnll-beam evaluates stored predictions as an Apache Beam
// pipeline (Prism, Dataflow, Flink, Spark) and writes the reports
// `evalnll eval` writes over the same inputs.
//
//	evalnll-beam [flags] INPUT...
//
// Flags come before the inputs. See beam/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
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
	"github.com/evalnll/evalnll/cmdline"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

const usage = `Usage: evalnll-beam [flags] INPUT...

Evaluates INPUTs (Parquet / Arrow IPC files, directories, globs, s3:// gs://
azblob:// file:// URLs) as an Apache Beam pipeline: each of N shares (N = the
inputs' row groups and record batches) is evaluated into a partial state, the
states are merged, and the merged state is reported as 'evalnll merge'
reports it, so the reports are those 'evalnll eval' writes over the same
inputs. Flags come before the inputs.

eval's flags are taken as eval takes them (evalnll eval -h), but --shard (the
pipeline cuts the shares), --cpuprofile and --memprofile; standard input (-)
cannot be an input. Beam's own flags (--runner, --project, --region,
--endpoint, --environment_type, ...) are taken as Beam documents them;
--runner defaults to prism, which runs in this process. --state_dir: where a
worker writes the merged state for the launcher (default: a temporary
directory of the launcher's; a path or URL every worker and the launcher
reach, on a cluster).

Exit status: 0 ok, 1 a gate failed, 2 an error (an invalid row, a bad flag,
a failed job): no report is written.

eval's flags:
`

// refused are eval's flags that evalnll-beam does not take, and why.
var refused = map[string]string{
	"shard":      "the pipeline cuts the inputs into shares itself",
	"cpuprofile": "profiles of the workers are the runner's business",
	"memprofile": "profiles of the workers are the runner's business",
}

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
	fs, c := launcherFlags(flag.ExitOnError)
	fs.Parse(os.Args[1:])
	if r := flag.Lookup("runner"); r.Value.String() == "" || r.Value.String() == "direct" {
		flag.Set("runner", "prism")
	}
	beam.Init()
	if !c.verbose {
		// Prism logs failed bundles at length through slog (set up by
		// Init); the error that matters is printed in one line.
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(c.run(context.Background(), fs, fs.Args(), os.Stdout, os.Stderr))
}

// recorded is an eval flag of the launcher: it sets eval's value and
// records the argument, so that workers parse eval's flags as given.
type recorded struct {
	name string
	v    flag.Value
	args *[]string
}

func (r *recorded) String() string {
	if r == nil || r.v == nil {
		return ""
	}
	return r.v.String()
}

func (r *recorded) Set(s string) error {
	if err := r.v.Set(s); err != nil {
		return err
	}
	*r.args = append(*r.args, "--"+r.name+"="+s)
	return nil
}

func (r *recorded) IsBoolFlag() bool {
	b, ok := r.v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// launcherFlags are the launcher's flags: eval's (package cmdline, as
// eval defines them), its own, and Beam's, defined on flag.CommandLine,
// through the same values; where Beam and eval define a name (--id),
// eval's.
func launcherFlags(h flag.ErrorHandling) (*flag.FlagSet, *cli) {
	fs := flag.NewFlagSet("evalnll-beam", h)
	c := &cli{}
	evfs := flag.NewFlagSet("eval", flag.ContinueOnError)
	c.ev = cmdline.Register(evfs)
	evfs.VisitAll(func(f *flag.Flag) {
		fs.Var(&recorded{name: f.Name, v: f.Value, args: &c.args}, f.Name, f.Usage)
	})
	// The other flags, also on their own set for the help.
	other := flag.NewFlagSet("beam", flag.ContinueOnError)
	other.BoolVar(&c.verbose, "beam_log", false, "show the runner's and the SDK's logs on stderr (Prism's logs otherwise hidden)")
	other.IntVar(&c.attempts, "share_attempts", 3, "most attempts at a share whose evaluation fails transiently (an object store error its own retries did not overcome); each failed attempt hands the share back to the runner")
	other.StringVar(&c.stateDir, "state_dir", "", "`DIR` (path or URL) where a worker writes the merged state for the launcher (default: a temporary directory)")
	flag.VisitAll(func(f *flag.Flag) {
		if evfs.Lookup(f.Name) == nil && other.Lookup(f.Name) == nil {
			other.Var(f.Value, f.Name, f.Usage)
		}
	})
	other.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		evfs.SetOutput(fs.Output())
		evfs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nevalnll-beam's and Beam's flags:\n")
		other.SetOutput(fs.Output())
		other.PrintDefaults()
	}
	return fs, c
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

// cli is the launcher's flags.
type cli struct {
	ev *cmdline.Eval
	// args are eval's flags as given, for the workers.
	args     []string
	verbose  bool
	stateDir string
	attempts int
}

// run evaluates the inputs on the runner the flags chose and reports
// them, returning the exit status. fs is the parsed flag set.
func (c *cli) run(ctx context.Context, fs *flag.FlagSet, inputs []string, stdout, stderr io.Writer) int {
	fail := func(format string, v ...any) int {
		fmt.Fprintf(stderr, "evalnll: %s\n", report.Escape(strings.TrimSpace(fmt.Sprintf(format, v...))))
		return 2
	}
	var bad string
	fs.Visit(func(f *flag.Flag) {
		if why, ok := refused[f.Name]; ok && bad == "" {
			bad = fmt.Sprintf("evalnll-beam: --%s is not taken: %s", f.Name, why)
		}
	})
	if bad != "" {
		return fail("%s", bad)
	}
	if len(inputs) == 0 {
		return fail("evalnll-beam: no INPUT given (run 'evalnll-beam -h'); flags come before the inputs")
	}
	for _, in := range inputs {
		if strings.HasPrefix(in, "-") && in != "-" {
			return fail("evalnll-beam: flag %s after the inputs: flags come first", in)
		}
	}
	plan, err := c.ev.Plan(ctx, inputs)
	if err != nil {
		return fail("%v", err)
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "evalnll: warning: %s\n", report.Escape(w))
	}
	out, cleanup, err := c.statePath()
	if err != nil {
		return fail("%v", err)
	}
	defer cleanup()
	if err := Run(ctx, c.args, *plan, c.attempts, out); err != nil {
		if msg, ok := evalbeam.JobError(err); ok {
			return fail("%s", msg)
		}
		return fail("evalnll-beam: the job failed: %v", err)
	}
	state, err := readState(ctx, out)
	if err != nil {
		return fail("evalnll-beam: the job wrote no merged state: %v", err)
	}
	code, err := c.ev.Report(ctx, [][]byte{state}, stdout, stderr)
	if err != nil {
		return fail("%v", err)
	}
	return code
}

// statePath is where the job writes the merged state: a new file in a
// temporary directory, or in --state_dir; cleanup removes it.
func (c *cli) statePath() (string, func(), error) {
	if c.stateDir == "" {
		dir, err := os.MkdirTemp("", "evalnll-beam-")
		if err != nil {
			return "", nil, err
		}
		return filepath.Join(dir, "merged.evst"), func() { os.RemoveAll(dir) }, nil
	}
	name := fmt.Sprintf("evalnll-beam-%d-%d.evst", os.Getpid(), rand.Uint64())
	if store.IsURL(c.stateDir) {
		if _, err := store.Parse(c.stateDir); err != nil {
			return "", nil, fmt.Errorf("--state_dir: %v", err)
		}
		u := stateURL(c.stateDir, name)
		return u, func() { store.Delete(context.Background(), u) }, nil
	}
	p := filepath.Join(c.stateDir, name)
	return p, func() { os.Remove(p) }, nil
}

// readState reads the merged state the job wrote.
func readState(ctx context.Context, path string) ([]byte, error) {
	if store.IsURL(path) {
		return store.ReadAll(ctx, path, 1<<40)
	}
	return os.ReadFile(path)
}

// Run builds and runs the pipeline; the merged state is written to out.
// A file at out is removed first, so that a failed job leaves none.
func Run(ctx context.Context, args []string, plan cmdline.Plan, attempts int, out string) error {
	if !store.IsURL(out) {
		os.Remove(out)
	}
	p, s := beam.NewPipelineWithRoot()
	evalbeam.Build(s, args, plan, attempts, out)
	return beamx.Run(ctx, p)
}

// stateURL is the URL of object name below the prefix URL dir.
func stateURL(dir, name string) string {
	base, query, _ := strings.Cut(dir, "?")
	u := strings.TrimSuffix(base, "/") + "/" + name
	if query != "" {
		u += "?" + query
	}
	return u
}
