package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

const inspectUsage = `Usage: evalnll inspect INPUT...

Shows each input's format, row count, units (row groups or record batches),
columns with their types, and the mapping 'evalnll eval' would choose with no
mapping flags.

Example:
  $ evalnll inspect preds.parquet
`

// inspectMaxStdin bounds what inspect would spool of standard input (it
// never spools: it reads standard input once); a variable for tests.
var inspectMaxStdin int64 = defaultMaxStdinBytes

func cmdInspect(e *env, args []string) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	inputs, err := parseCommand(e, fs, args, func(w io.Writer) { fmt.Fprint(w, inspectUsage) })
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("inspect: no INPUT given")
	}
	// Every input is inspected, whatever fails: a failure is reported on
	// stdout in its place and as one line on stderr, and the exit status
	// is 2 at the end.
	failed, n := 0, 0
	fail := func(name string, err error) {
		if n > 0 {
			fmt.Fprintln(e.stdout)
		}
		n++
		failed++
		msg := oneLine(err.Error())
		fmt.Fprintf(e.stdout, "%s\n  error: %s\n", name, strings.TrimPrefix(msg, name+": "))
		fmt.Fprintf(e.stderr, "evalnll: %s\n", msg)
	}
	// Each argument is expanded once (an object store prefix is listed
	// once); the local ones again together, for the order and the
	// de-duplication of one file named twice.
	var good, urls []string
	for _, a := range inputs {
		ps, err := pipeline.ExpandContext(e.ctx, []string{a})
		if err != nil {
			fail(store.Redact(a), err)
			continue
		}
		if store.IsURL(a) {
			urls = append(urls, ps...)
			continue
		}
		good = append(good, a)
	}
	var paths []string
	if len(good) > 0 {
		var err error
		if paths, err = pipeline.ExpandContext(e.ctx, good); err != nil {
			return err
		}
	}
	if len(urls) > 0 {
		stdin := len(paths) > 0 && paths[0] == "-"
		paths = append(paths, urls...)
		rest := paths
		if stdin {
			rest = paths[1:]
		}
		slices.Sort(rest)
		paths = slices.Compact(paths)
	}
	for _, p := range paths {
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
		ins, err := openInputs(e, []string{p}, reader.DefaultOptions(), inspectMaxStdin)
		if err == nil {
			// Inspect reads standard input once: as a stream.
			err = ins.settleStdin(e, false)
		}
		if err == nil {
			var b bytes.Buffer
			if err = inspectFile(&b, ins.files[0], ins.names[0]); err == nil {
				if n > 0 {
					fmt.Fprintln(e.stdout)
				}
				n++
				e.stdout.Write(b.Bytes())
			}
		}
		ins.close()
		if err != nil {
			fail(p, err)
		}
	}
	if failed > 0 {
		if n > 1 {
			fmt.Fprintf(e.stdout, "\n%d of %d inputs failed\n", failed, n)
		}
		return errReported
	}
	return nil
}

// verify reads every readable column of every unit, so that a file whose
// metadata parses but whose data is corrupt fails here, not in a later eval.
// It returns the rows read.
func verify(f reader.File) (int64, error) {
	var cols []string
	for _, fl := range f.Fields() {
		if fl.Type != column.Unsupported {
			cols = append(cols, fl.Name)
		}
	}
	units := []int{-1}
	if us := f.Units(); us != nil {
		units = units[:0]
		for _, u := range us {
			units = append(units, u.Index)
		}
	}
	var rows int64
	for _, u := range units {
		s := f.Scan(u, cols, 1<<16)
		for s.Next() {
			rows += int64(s.Batch().Rows)
		}
		err := s.Err()
		s.Close()
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func inspectFile(w io.Writer, f reader.File, name string) error {
	n, err := verify(f)
	note := ""
	switch {
	case errors.Is(err, reader.ErrUnsupported):
		// A valid file evalnll cannot decode: describe it, and say so.
		note = oneLine(err.Error())
		n = f.Rows()
	case err != nil:
		return err
	}
	if m := f.Rows(); note == "" && m >= 0 && m != n {
		return fmt.Errorf("%s: the metadata says %d rows but %d could be read", name, m, n)
	}
	rows := fmt.Sprint(n)
	defer func() {
		if note != "" {
			fmt.Fprintf(w, "  note: eval cannot read this file: %s\n", report.Escape(note))
		}
	}()
	fmt.Fprintf(w, "%s\n  format  %s\n  rows    %s\n", report.Escape(name), f.Format(), rows)
	for _, kv := range f.Metadata() {
		if kv[0] == "format" || kv[0] == "rows" {
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", report.Escape(kv[0]), report.Escape(kv[1]))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  column\ttype\tevalnll reads it as\t")
	for _, fl := range f.Fields() {
		as := fl.Type.String()
		if fl.List {
			as = "list of " + as
			if fl.FixedSize > 0 {
				as = fmt.Sprintf("fixed-size list (%d) of %s", fl.FixedSize, fl.Type)
			}
		}
		if fl.Type.String() == "unsupported" {
			as = "-"
		}
		null := ""
		if fl.Nullable {
			null = ", nullable"
		}
		// Names are data: escaped, a newline or tab cannot break the table.
		fmt.Fprintf(tw, "  %s\t%s%s\t%s\t\n", report.Escape(fl.Name), report.Escape(fl.Desc), null, as)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The mapping eval would choose with no flags.
	var fl evalFlags
	fl.Kind = "auto"
	cfg := metrics.DefaultConfig()
	cfg.Kind = metrics.KindAuto
	m, err := resolveMapping(&fl, []reader.File{f}, []string{name}, &cfg)
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "; columns:"); i >= 0 {
			msg = msg[:i]
		}
		fmt.Fprintf(w, "  mapping: none (%s)\n", report.Escape(strings.TrimPrefix(msg, name+": ")))
		return nil
	}
	var parts []string
	for _, kv := range m.Report().Pairs() {
		parts = append(parts, kv)
	}
	fmt.Fprintf(w, "  mapping: kind %s, %s\n", cfg.Kind, report.Escape(strings.Join(parts, ", ")))
	return nil
}
