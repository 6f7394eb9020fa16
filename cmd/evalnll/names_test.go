package main

// Names are data (issue 18): column names, slice keys and file names are
// escaped wherever they reach a terminal or a report.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

const evilCol = "s\x1b]0;pwned\a\x1b[2K\nnext\x00"

// writeEvil writes a Parquet file whose slice column has a hostile name and
// hostile values.
func writeEvil(t *testing.T, path string) {
	t.Helper()
	schema := parquet.NewSchema("t", parquet.Group{
		"y":     parquet.Int(64),
		"p":     parquet.Leaf(parquet.DoubleType),
		evilCol: parquet.String(),
	})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema)
	// Columns in schema order: p, evilCol, y.
	var rows []parquet.Row
	for i := 0; i < 40; i++ {
		key := "\x1b[32mall good\x1b[0m"
		if i%2 == 1 {
			key = "bell\a\r\n| nul\x00"
		}
		rows = append(rows, parquet.Row{
			parquet.ValueOf(0.2+0.6*float64(i%2)).Level(0, 0, 0),
			parquet.ValueOf(key).Level(0, 0, 1),
			parquet.ValueOf(int64(i%2)).Level(0, 0, 2),
		})
	}
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func noControls(t *testing.T, what, s string) {
	t.Helper()
	for _, c := range []string{"\x1b", "\a", "\x00", "\r"} {
		if strings.Contains(s, c) {
			t.Errorf("%s carries a raw %q: %q", what, c, s)
		}
	}
}

func TestNamesAreEscaped(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "walk")
	os.Mkdir(sub, 0o755)
	in := filepath.Join(sub, "evil\x1b[32m.parquet")
	writeEvil(t, in)
	run1 := func(args ...string) (int, string, string) {
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, args)
		return code, so.String(), se.String()
	}

	// Summary with slices.
	code, so, se := run1("eval", "--label", "y", "--prob", "p", "--by", evilCol, sub)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	noControls(t, "summary", so)
	if !strings.Contains(so, `\x1b[32mall good\x1b[0m`) && !strings.Contains(so, `bell\a\r\n| nul\x00`) {
		t.Errorf("summary does not show the escaped slice key: %s", so)
	}
	// Markdown and compare.
	md := filepath.Join(dir, "r.md")
	js := filepath.Join(dir, "r.json")
	if code, _, se := run1("eval", "--label", "y", "--prob", "p", "--by", evilCol, "--md", md, "--json", js, "--worst", "3", sub); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	data, _ := os.ReadFile(md)
	noControls(t, "markdown", string(data))
	if code, so, se := run1("compare", "--md", filepath.Join(dir, "c.md"), js, js); code != 0 {
		t.Fatalf("compare: exit %d: %s", code, se)
	} else {
		noControls(t, "compare", so)
		data, _ := os.ReadFile(filepath.Join(dir, "c.md"))
		noControls(t, "compare markdown", string(data))
	}
	// Inspect: the table keeps one line per column.
	code, so, se = run1("inspect", sub)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, se)
	}
	noControls(t, "inspect", so)
	lines := strings.Split(so, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  column ") {
			if len(lines) < i+4 || !strings.HasPrefix(lines[i+1], "  p ") || !strings.HasPrefix(lines[i+2], `  s\x1b]0;pwned\a\x1b[2K\nnext\x00 `) || !strings.HasPrefix(lines[i+3], "  y ") {
				t.Errorf("inspect's table is broken:\n%s", so)
			}
		}
	}
	// Errors: one line, escaped file and column names.
	code, _, se = run1("eval", "--label", evilCol, "--prob", "p", sub)
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	noControls(t, "error", se)
	if strings.Count(se, "\n") != 1 || !strings.Contains(se, `evil\x1b[32m.parquet`) {
		t.Errorf("error line: %q", se)
	}
}
