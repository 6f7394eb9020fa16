package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
)

// TestDocExamples runs every `$ evalnll ...` line of the package doc, in
// order, from the repository root: the manual's examples must work.
func TestDocExamples(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		if !strings.HasPrefix(line, "$ evalnll ") {
			continue
		}
		n++
		args := splitShell(strings.TrimPrefix(line, "$ evalnll "))
		for i, a := range args {
			if strings.HasPrefix(a, "testdata/") {
				args[i] = filepath.Join(root, a)
			}
		}
		var so, se bytes.Buffer
		if code := run(context.Background(), strings.NewReader(""), &so, &se, args); code != 0 {
			t.Errorf("%s: exit %d: %s", line, code, se.String())
		}
		if so.Len() == 0 && !strings.Contains(line, "--json") && !strings.Contains(line, "--md") && !strings.Contains(line, "--state") {
			t.Errorf("%s: printed nothing", line)
		}
	}
	if n < 4 {
		t.Fatalf("found %d examples in doc.go", n)
	}
}

// splitShell splits a command line on spaces, honouring single quotes.
func splitShell(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			inQ = !inQ
			have = true
		case r == ' ' && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// TestVersion: `evalnll version` names the version, the Go toolchain and
// which vector kernels the build runs (the figures are the same bits either
// way; the speed is not).
func TestVersion(t *testing.T) {
	var so, se bytes.Buffer
	if code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"version"}); code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	want := "evalnll " + version + " (" + runtime.Version() + ", vector kernels: " + metrics.VectorKernels() + ")\n"
	if so.String() != want {
		t.Errorf("version printed %q, want %q", so.String(), want)
	}
}
