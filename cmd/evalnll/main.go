package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/evalnll/evalnll/metrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Stdin, os.Stdout, os.Stderr, os.Args[1:])
	stop()
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
}

// run is the whole program: it returns the exit status.
func run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, stderrTTY: isTerminal(stderr)}
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitInputError
	}
	var err error
	code := exitOK
	switch args[0] {
	case "eval":
		code, err = cmdEval(e, args[1:])
	case "inspect":
		err = cmdInspect(e, args[1:])
	case "compare":
		code, err = cmdCompare(e, args[1:])
	case "merge":
		code, err = cmdMerge(e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "evalnll %s (%s, vector kernels: %s)\n", version, runtime.Version(), metrics.VectorKernels())
		return exitOK
	default:
		fmt.Fprintf(stderr, "evalnll: unknown command %q\n%s", args[0], topUsage)
		return exitInputError
	}
	if err != nil {
		if errors.Is(err, errHelp) {
			return exitOK
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "evalnll: interrupted")
			return exitInterrupted
		}
		fmt.Fprintf(stderr, "evalnll: %s\n", oneLine(err.Error()))
		return exitInputError
	}
	return code
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

const version = "0.1.0"

const topUsage = `evalnll scores stored model predictions: negative log-likelihood in log
space, calibration, accuracy and Brier score, over Parquet and Arrow IPC files.

Usage:
  evalnll eval    [flags] INPUT...      evaluate prediction tables, write reports
  evalnll compare BASE.json NEW.json    diff two JSON reports (regression gate)
  evalnll merge   [flags] STATE...      merge the states of eval --shard runs into reports
  evalnll inspect INPUT...              show schema, row groups, detected mapping

Run 'evalnll eval -h' for the flags of eval and examples.
Exit status: 0 all gates passed, 1 a gate failed, 2 usage or input error.
`
