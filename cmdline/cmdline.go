// Package cmdline runs `evalnll eval` in pieces from another program, with
// eval's own command line: its flags, defined on any flag.FlagSet; the
// partial state of one share of the inputs, as `eval --shard i/N --state`
// writes it; and the reports of merged states, written as `evalnll merge`
// writes them. The evalnll command defines its flags and writes its merge
// reports with the same code, so a program built on this package (such as
// evalnll-beam, the nested module beam/) takes every eval flag and writes
// eval's reports byte for byte.
//
//	fs := flag.NewFlagSet("mytool", flag.ContinueOnError)
//	ev := cmdline.Register(fs)
//	fs.Parse(args)
//	plan, err := ev.Plan(ctx, fs.Args())       // exit 2 on error
//	states := make([][]byte, plan.Shares)
//	for i := range states {                      // anywhere, in any order
//		states[i], err = ev.EvalShare(ctx, plan, i)
//	}
//	code, err := ev.Report(ctx, states, os.Stdout, os.Stderr)
package cmdline

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/evalnll/evalnll/internal/evalcmd"
)

// Eval holds the values of eval's flags.
type Eval struct {
	f evalcmd.Flags
}

// Register defines every flag of `evalnll eval` on fs, with eval's names,
// defaults and help, and returns their values (read once fs is parsed).
func Register(fs *flag.FlagSet) *Eval {
	e := &Eval{}
	e.f.Register(fs)
	return e
}

// A Plan is the inputs of a run as eval lists them, and how many shares
// they are cut into. It is plain data (JSON encodes it), for a program
// that evaluates the shares elsewhere.
type Plan struct {
	// Inputs are the INPUT arguments: files, directories, globs, and
	// s3://, gs://, azblob:// or file:// URLs.
	Inputs []string
	// Paths are the files they name, in eval's order.
	Paths []string
	// Shares is the share count N: the units (row groups, record
	// batches; a stream counts 1) of every file, so that a share holds
	// about one unit.
	Shares int
	// Warnings are what eval prints before it reads a row (caveats about
	// the columns), each after "evalnll: warning: ".
	Warnings []string
}

// Plan checks the flags and the inputs as eval does before it reads a
// row (the flags, the outputs they name and that none is an input, the
// columns and kind, --num-classes, the gates) and lists the inputs. The error is the one
// eval would print (exit 2). Standard input ("-") is refused: it cannot be
// shared out.
func (e *Eval) Plan(ctx context.Context, inputs []string) (*Plan, error) {
	p, err := e.f.Plan(ctx, inputs)
	if err != nil {
		return nil, err
	}
	return &Plan{Inputs: p.Inputs, Paths: p.Paths, Shares: p.Shares, Warnings: p.Warnings}, nil
}

// EvalShare evaluates share i (0 <= i < p.Shares) of the plan's inputs and
// returns its partial state: the bytes `evalnll eval --shard i/N --state
// FILE` writes with the same flags (package partial decodes them). It may
// run on any machine that reads the inputs, in any order, any number of
// times: a share's state does not change. An invalid row is eval's one-line
// message (FILE:ROW: column "C": reason).
func (e *Eval) EvalShare(ctx context.Context, p *Plan, i int) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("cmdline: EvalShare of no plan")
	}
	return e.f.EvalShare(ctx, &evalcmd.Plan{Inputs: p.Inputs, Paths: p.Paths, Shares: p.Shares}, i)
}

// Report merges the encoded partial states (of every share, in any order)
// and writes what `evalnll merge` writes given the flags merge takes (the
// reports, to files, object store URLs or stdout, all or none; --state,
// the merged state, with them; the text summary on stdout when no report
// is named) and the gates' verdicts. The result is merge's exit status: 0,
// or 1 when a gate failed (each failed gate on stderr). An error means
// exit 2 with nothing written; its message is the line evalnll prints
// after "evalnll: ". States are named "state 1", "state 2"... in messages.
func (e *Eval) Report(ctx context.Context, states [][]byte, stdout, stderr io.Writer) (int, error) {
	srcs := make([]evalcmd.StateSource, len(states))
	for i, b := range states {
		srcs[i] = evalcmd.StateSource{Name: fmt.Sprintf("state %d", i+1), Read: func() ([]byte, error) { return b, nil }}
	}
	w := &evalcmd.IO{Ctx: ctx, Stdout: stdout, Stderr: stderr}
	return w.Merge(&e.f, false, srcs)
}
