package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/evalnll/evalnll/report"
)

const compareUsage = `Usage: evalnll compare BASE.json NEW.json

Prints, for every overall figure the two reports share, the base and new
values and the change.

Example:
  $ evalnll compare nightly/base.json nightly/new.json
`

func cmdCompare(e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), compareUsage) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, compareUsage)
			return 0, errHelp
		}
		return 0, usagef("compare: %v", err)
	}
	if len(pos) != 2 {
		return 0, usagef("compare: want BASE.json NEW.json, got %d arguments", len(pos))
	}
	var docs [2]report.Doc
	for i, p := range pos {
		data, err := os.ReadFile(p)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", p, unwrapPath(err))
		}
		if docs[i], err = report.ParseDoc(p, data); err != nil {
			return 0, err
		}
	}
	return 0, report.CompareText(e.stdout, docs[0], docs[1])
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
