package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/outset"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/partial"
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
var mergeFlags = evalcmd.MergeFlags

// evalRun is a finished evaluation to report on (package evalcmd): eval
// and merge both report through it.
type evalRun = evalcmd.Run

func partialRanges(rs []pipeline.Range) []partial.Range { return evalcmd.PartialRanges(rs) }

// writeState writes a state file (through a temporary file renamed into
// place), with eval's profiles if any, all or none.
func writeState(e *env, path string, data []byte, profiles []func(*outset.Set)) error {
	return e.io().WriteState(path, data, profiles)
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
	// State URLs with a glob are listed first: each object is checked
	// against the outputs, and read as a state.
	if paths, err = evalcmd.ExpandStates(e.ctx, paths); err != nil {
		return 0, err
	}
	srcs := make([]evalcmd.StateSource, len(paths))
	for i, p := range paths {
		srcs[i] = evalcmd.StateAt(e.ctx, p)
	}
	w := e.io()
	// Nothing is read nor written before every output is known to be
	// none of the states nor the baseline.
	w.CheckOutputs = func(outs []evalcmd.Output) error {
		var onames, inames []namedPath
		for _, o := range outs {
			onames = append(onames, namedPath{o.Flag, o.Path})
		}
		if f.State != "" {
			onames = append(onames, namedPath{"--state", f.State})
		}
		for _, p := range paths {
			inames = append(inames, namedPath{"STATE", p})
		}
		if f.Baseline != "" {
			inames = append(inames, namedPath{"--baseline", f.Baseline})
		}
		return checkOutputs(e, onames, inames, len(outs) == 0 && f.State == "")
	}
	return w.Merge(&f, worstSet, srcs)
}
