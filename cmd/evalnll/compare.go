package main

import (
	"github.com/evalnll/evalnll/store"

	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/evalnll/evalnll/internal/outset"
	"github.com/evalnll/evalnll/report"
)

const compareUsage = `Usage: evalnll compare [flags] BASE.json NEW.json

Diffs two JSON reports: for every figure, the base and new values, the
change Δ and Δ%, the 95% interval of Δ when both runs bucketed rows by --id
(paired bootstrap), and a verdict; then the same per slice. Gates work as in
'evalnll eval', judged on NEW against BASE; a failed gate exits 1 and says
why on stderr. Reports of different kinds exit 2; BASE's NLL figures are
converted to NEW's units; a figure defined by a setting that differs
(--bins, --binning for ece and mce; --eps for the NLL figures) is "not
comparable", and a gate on it exits 2 unless --allow-config-mismatch.

Examples:
  $ evalnll compare base.json new.json
  $ evalnll compare --max-increase nll=0.01 --md "$GITHUB_STEP_SUMMARY" base.json new.json

Flags:
`

func cmdCompare(e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var md string
	var maxReport int64
	var allow bool
	var failIf, maxInc, maxDec multiFlag
	fs.StringVar(&md, "md", "", "also write the comparison as markdown to `FILE` (appended to when it exists, as $GITHUB_STEP_SUMMARY wants)")
	fs.Var(&failIf, "fail-if", "exit 1 when `'METRIC OP VALUE'` holds for NEW; repeatable")
	fs.Var(&maxInc, "max-increase", "exit 1 when `METRIC=DELTA` rose by more than DELTA (or N%); repeatable")
	fs.Var(&maxDec, "max-decrease", "exit 1 when `METRIC=DELTA` fell by more than DELTA (or N%); repeatable")
	fs.Int64Var(&maxReport, "max-report-bytes", defaultMaxReportBytes, "largest report read, in `BYTES` (its parse takes several times that in memory)")
	fs.BoolVar(&allow, "allow-config-mismatch", false, "judge gates on figures whose settings (--bins, --binning, --eps) differ between the reports, with a warning, rather than exit 2")
	pos, err := parseCommand(e, fs, args, func(w io.Writer) {
		fmt.Fprint(w, compareUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
	})
	if err != nil {
		return 0, err
	}
	if len(pos) != 2 {
		return 0, usagef("compare: want BASE.json NEW.json, got %d arguments", len(pos))
	}
	ths, lims, err := parseGates(failIf, maxInc, maxDec)
	if err != nil {
		return 0, err
	}
	if maxReport <= 0 {
		return 0, usagef("--max-report-bytes: %d is not positive", maxReport)
	}
	var outs []namedPath
	if md != "" {
		outs = append(outs, namedPath{"--md", md})
	}
	if err := checkOutputs(e, outs, []namedPath{{"BASE", pos[0]}, {"NEW", pos[1]}}, true); err != nil {
		return 0, err
	}
	var docs [2]report.Doc
	for i, p := range pos {
		data, err := readReport(e.ctx, store.Redact(p), p, maxReport)
		if err != nil {
			return 0, err
		}
		pos[i] = store.Redact(p)
		if docs[i], err = report.ParseDoc(pos[i], data); err != nil {
			return 0, err
		}
	}
	// Reports of other kinds are not comparable; other units are
	// converted (to NEW's); figures whose settings differ are not judged.
	base := &report.Baseline{Path: pos[0], Doc: docs[0]}
	m := &report.Model{}
	if err := matchBaseline(base, docs[1], lims, allow, m.AddWarning); err != nil {
		return 0, err
	}
	c := report.Compare(base.Doc, docs[1])
	c.MarkMismatches(base.Doc, docs[1])
	failed, err := runGates(m, docs[1], ths, lims, base)
	if err != nil {
		return 0, err
	}
	c.Gates = m.Gates
	// The markdown and the text go out together or not at all.
	var set outset.Set
	c.Notes = append(m.Warnings, c.Notes...)
	if md != "" {
		var b bytes.Buffer
		if err := c.Markdown(&b); err != nil {
			return 0, err
		}
		set.Add(outset.AppendSink(md), b.Bytes())
	}
	var text bytes.Buffer
	if err := c.Text(&text); err != nil {
		return 0, err
	}
	set.AddLast(outset.WriterSink("-", e.stdout), text.Bytes())
	if err := commitOutputs(e, &set); err != nil {
		return 0, err
	}
	if failed {
		for _, g := range c.Gates {
			if g.Failed {
				fmt.Fprintf(e.stderr, "evalnll: gate failed: %s\n", report.Escape(g.Message))
			}
		}
		return exitGateFailed, nil
	}
	return exitOK, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
