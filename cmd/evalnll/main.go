package main

import (
	"github.com/evalnll/evalnll/store"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

func main() {
	// evalnll's own messages go to stderr; os.Stderr (descriptor 2) stays
	// the filtered pipe, so that what libraries print there, with println
	// or through a logger made with os.Stderr (the AWS SDK's), is
	// filtered too.
	stderr, flush := filterStderr()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Stdin, os.Stdout, stderr, os.Args[1:])
	stop()
	flush()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK          = 0
	exitGateFailed  = 1
	exitInputError  = 2
	exitInterrupted = 130
)

// usageError is a problem with the command line: exit 2 with its message.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// env is what a subcommand may touch: tests give their own.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stderrTTY reports whether stderr is a terminal (progress bars).
	stderrTTY bool

	// On an interrupt, run returns at once, whatever the command is
	// blocked on (a FIFO with no writer, standard input that never
	// closes, a long summary), after running the cleanups registered
	// with atInterrupt, unless the command's outputs are being
	// committed (then it finishes).
	mu          sync.Mutex
	interrupted bool
	committing  bool
	cleanups    []func()
}

// atInterrupt registers f to run if the command is interrupted; it runs
// f at once when it already was, and reports false then.
func (e *env) atInterrupt(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.interrupted {
		f()
		return false
	}
	e.cleanups = append(e.cleanups, f)
	return true
}

// beginCommit reports whether outputs may be committed: false once
// interrupted; after it returns true, an interrupt waits for the command.
func (e *env) beginCommit() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.interrupted || e.ctx.Err() != nil {
		return false
	}
	e.committing = true
	return true
}

// interrupt marks the command interrupted and runs its cleanups; it
// reports false when the command is committing its outputs and must be
// waited for instead.
func (e *env) interrupt() bool {
	e.mu.Lock()
	if e.committing {
		e.mu.Unlock()
		return false
	}
	e.interrupted = true
	cs := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	return true
}

// testCommands are commands that tests add.
var testCommands = map[string]func(*env, []string) (int, error){}

// run is the whole program: it returns the exit status.
func run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, stderrTTY: isTerminal(stderr)}
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitInputError
	}
	var cmd func(*env, []string) (int, error)
	switch args[0] {
	case "eval":
		cmd = cmdEval
	case "inspect":
		cmd = func(e *env, args []string) (int, error) { return exitOK, cmdInspect(e, args) }
	case "compare":
		cmd = cmdCompare
	case "merge":
		cmd = cmdMerge
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "evalnll %s (%s, vector kernels: %s)\n", version, runtime.Version(), metrics.VectorKernels())
		return exitOK
	default:
		if cmd = testCommands[args[0]]; cmd == nil {
			hint := ""
			for _, c := range []string{"eval", "compare", "inspect", "version"} {
				if editDistance(strings.ToLower(args[0]), c) <= 2 {
					hint = "did you mean " + c + "? "
					break
				}
			}
			fmt.Fprintf(stderr, "evalnll: unknown command %q; %ssee 'evalnll -h'\n", args[0], hint)
			return exitInputError
		}
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := cmd(e, args[1:])
		done <- result{code, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		if e.interrupt() {
			fmt.Fprintln(stderr, "evalnll: interrupted")
			return exitInterrupted
		}
		r = <-done // committing: finish
	}
	if r.err != nil {
		if errors.Is(r.err, errHelp) {
			return exitOK
		}
		if errors.Is(r.err, errReported) {
			return exitInputError
		}
		if ctx.Err() != nil && (!e.committing || errors.Is(r.err, context.Canceled)) {
			// Whatever stopped the command (standard input closed
			// late, a read cut short), the user interrupted it.
			e.interrupt()
			fmt.Fprintln(stderr, "evalnll: interrupted")
			return exitInterrupted
		}
		var se *store.Error
		if errors.As(r.err, &se) {
			// An object store failure, wherever the reader met it: the
			// URL (without secret parameters) and the reason.
			r.err = se
		}
		fmt.Fprintf(stderr, "evalnll: %s\n", report.Escape(strings.TrimSpace(r.err.Error())))
		return exitInputError
	}
	return r.code
}

// oneLine keeps an error to one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

var errHelp = errors.New("help shown")

// errReported ends a command with exit 2 whose errors were already printed.
var errReported = errors.New("errors reported")

// version is stamped by a release build:
// go build -ldflags "-X main.version=1.2.3" ./cmd/evalnll
var version = "0.1.0"

// parseCommand parses a subcommand's flags and arguments (in any order).
// The flag package prints nothing: -h prints the help once, on stdout, and
// returns errHelp (exit 0); any other problem is one line, with the closest
// flag when a name is mistyped, and a pointer to the help (exit 2).
func parseCommand(e *env, fs *flag.FlagSet, args []string, help func(io.Writer)) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	pos, err := parseInterspersed(fs, args)
	if err == nil {
		return pos, nil
	}
	if errors.Is(err, flag.ErrHelp) {
		help(e.stdout)
		return nil, errHelp
	}
	see := fmt.Sprintf("see 'evalnll %s -h'", fs.Name())
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		if s := closestFlag(fs, name); s != "" {
			return nil, usagef("%s: unknown flag --%s; did you mean --%s? %s", fs.Name(), name, s, see)
		}
		return nil, usagef("%s: unknown flag --%s; %s", fs.Name(), name, see)
	}
	// "flag needs an argument: -x", "invalid value ... for flag -x: ...":
	// name flags as the help does, with two dashes.
	msg = strings.Replace(msg, ": -", ": --", 1)
	msg = strings.Replace(msg, "for flag -", "for flag --", 1)
	return nil, usagef("%s: %s; %s", fs.Name(), msg, see)
}

// closestFlag is the defined flag nearest to name (edit distance, a
// swap of two neighbours counting as one edit), or "" when none is close.
func closestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 0
	fs.VisitAll(func(f *flag.Flag) {
		d := editDistance(strings.ToLower(name), f.Name)
		if best == "" || d < bestD {
			best, bestD = f.Name, d
		}
	})
	limit := 2
	if len(name) <= 3 {
		limit = 1
	}
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

const topUsage = `evalnll scores stored model predictions: negative log-likelihood in log
space, calibration, accuracy and Brier score, over Parquet and Arrow IPC files.

Usage:
  evalnll eval    [flags] INPUT...      evaluate prediction tables, write reports
  evalnll compare BASE.json NEW.json    diff two JSON reports (regression gate)
  evalnll merge   [flags] STATE...      merge the states of eval --shard runs into reports
  evalnll inspect INPUT...              show schema, row groups, detected mapping
  evalnll version                       print the version, Go toolchain and vector kernels

Run 'evalnll eval -h' for the flags of eval and examples.
Exit status: 0 all gates passed, 1 a gate failed, 2 usage or input error.
`
