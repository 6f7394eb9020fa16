package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// userCase is a case of testdata/users/cases.json, written by
// scripts/gen-testdata.mjs with figures that DuckDB computed.
type userCase struct {
	Name   string         `json:"name"`
	Args   []string       `json:"args"`
	Inputs []string       `json:"inputs"`
	Expect map[string]any `json:"expect"`
	Exit   int            `json:"exit"`
	Stderr string         `json:"stderr"`
	// MD lists lines the markdown report must hold.
	MD []string `json:"md"`
}

// TestUserFiles evaluates the files that DuckDB and Polars wrote (see
// scripts/gen-testdata.mjs) and compares the report with the figures
// DuckDB computed from the same rows. EVALNLL_USERS_BIG=DIR adds the cases
// of the larger files that `gen-testdata.mjs --big DIR` writes.
func TestUserFiles(t *testing.T) {
	dirs := []string{filepath.Join("..", "..", "testdata", "users")}
	if big := os.Getenv("EVALNLL_USERS_BIG"); big != "" {
		dirs = append(dirs, big)
	}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []userCase
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatal(err)
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no cases", dir)
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) { runUserCase(t, dir, c) })
		}
	}
}

func runUserCase(t *testing.T, dir string, c userCase) {
	out := filepath.Join(t.TempDir(), "report.json")
	args := append([]string{"eval", "--bootstrap", "0"}, c.Args...)
	md := filepath.Join(t.TempDir(), "report.md")
	args = append(args, "--json", out, "--md", md)
	for _, in := range c.Inputs {
		args = append(args, filepath.Join(dir, in))
	}
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, args)
	if code != c.Exit {
		t.Fatalf("exit %d, want %d: %s", code, c.Exit, se.String())
	}
	if c.Exit != 0 {
		if !strings.Contains(se.String(), c.Stderr) {
			t.Fatalf("stderr %q does not say %q", se.String(), c.Stderr)
		}
		return
	}
	rep, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mdText, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range c.MD {
		if !strings.Contains(string(mdText), line) {
			t.Errorf("the markdown report has no %q:\n%s", line, mdText)
		}
	}
	var doc any
	if err := json.Unmarshal(rep, &doc); err != nil {
		t.Fatal(err)
	}
	for path, want := range c.Expect {
		got, ok := resolvePath(doc, path)
		if !ok {
			t.Errorf("%s: not in the report", path)
			continue
		}
		switch w := want.(type) {
		case float64:
			g, ok := got.(float64)
			// DuckDB sums in float64: a few ulps per row apart from the
			// exact sums.
			if !ok || math.Abs(g-w) > 1e-11*math.Max(1, math.Abs(w)) {
				t.Errorf("%s = %v, DuckDB says %v", path, got, w)
			}
		default:
			if !jsonEqual(got, want) {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
