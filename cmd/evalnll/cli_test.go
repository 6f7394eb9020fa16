package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// runCLI runs the program in-process and returns its exit status, stdout
// and stderr.
func runCLI(args ...string) (int, string, string) {
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, args)
	return code, so.String(), se.String()
}

// TestHelpOnce: -h prints the help once, on stdout, and exits 0, for every
// subcommand; the top-level help names every command, version included.
func TestHelpOnce(t *testing.T) {
	for _, args := range [][]string{{"eval", "-h"}, {"eval", "--help"}, {"inspect", "-h"}, {"compare", "-h"}, {"-h"}, {"help"}} {
		code, so, se := runCLI(args...)
		if code != 0 || se != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing on stderr", args, code, se)
		}
		if n := strings.Count(so, "Usage:"); n != 1 {
			t.Errorf("%v: the help says Usage: %d times on stdout, want once", args, n)
		}
	}
	_, so, _ := runCLI("-h")
	for _, c := range []string{"eval", "compare", "inspect", "version"} {
		if !strings.Contains(so, "evalnll "+c) {
			t.Errorf("top-level help does not list %q:\n%s", c, so)
		}
	}
	_, so, _ = runCLI("eval", "-h")
	i := strings.Index(so, "  -o FILE\n")
	if i < 0 {
		t.Fatalf("no -o in the eval help:\n%s", so)
	}
	if l, _, _ := strings.Cut(so[i+10:], "\n"); !strings.Contains(l, ".png") {
		t.Errorf("-o help omits .png: %q", l)
	}
}

// TestUsageErrorsOneLine: a mistyped flag, a missing value, a bad value,
// an unknown command and no command at all exit 2; the flag errors are one
// line with a pointer to the help, and a near miss names the flag meant.
func TestUsageErrorsOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"eval", "--lable", "y", "x.parquet"}, []string{"unknown flag --lable", "did you mean --label?", "see 'evalnll eval -h'"}},
		{[]string{"eval", "-lable", "y", "x.parquet"}, []string{"did you mean --label?"}},
		{[]string{"eval", "--porb", "p", "x.parquet"}, []string{"did you mean --prob?"}},
		{[]string{"eval", "--workres", "2", "x.parquet"}, []string{"did you mean --workers?"}},
		{[]string{"eval", "--zzzzzz", "x.parquet"}, []string{"unknown flag --zzzzzz; see 'evalnll eval -h'"}},
		{[]string{"eval", "x.parquet", "--label"}, []string{"flag needs an argument: --label", "see 'evalnll eval -h'"}},
		{[]string{"eval", "--bins", "many", "x.parquet"}, []string{`invalid value "many" for flag --bins`}},
		{[]string{"inspect", "--jsn", "x"}, []string{"see 'evalnll inspect -h'"}},
		{[]string{"compare", "--mdd", "x", "a", "b"}, []string{"did you mean --md?", "see 'evalnll compare -h'"}},
		{[]string{"evla"}, []string{`unknown command "evla"`, "did you mean eval?"}},
	}
	for _, c := range cases {
		code, so, se := runCLI(c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if so != "" {
			t.Errorf("%v: printed on stdout: %q", c.args, so)
		}
		if strings.Count(se, "\n") != 1 || !strings.HasPrefix(se, "evalnll: ") {
			t.Errorf("%v: stderr is not one line: %q", c.args, se)
		}
		for _, w := range c.want {
			if !strings.Contains(se, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, se, w)
			}
		}
	}
	// No command: the usage, on stderr, and exit 2.
	code, so, se := runCLI()
	if code != 2 || so != "" || !strings.Contains(se, "Usage:") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, so, se)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"label", "label", 0}, {"lable", "label", 1}, {"labl", "label", 1}, {"lbael", "label", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"ca", "abc", 3}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// golden is the path of an acceptance case's input.
func golden(c, f string) string { return filepath.Join("..", "..", "testdata", "golden", c, f) }

// TestKindMismatchMessage: --kind ruling out the conventional prediction
// column says the column exists and what the kind takes, not "not found".
func TestKindMismatchMessage(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"eval", "--kind", "gaussian", golden("binary_prob_basic", "preds.parquet")},
			[]string{`column "p" exists but is a float (double) read as a probability, which does not fit --kind gaussian`, "--mean COL with --std COL or --var COL"}},
		{[]string{"eval", "--kind", "logprob", golden("binary_prob_basic", "preds.parquet")},
			[]string{`column "p" exists`, "does not fit --kind logprob", "--logprob COL"}},
		{[]string{"eval", "--kind", "binary", golden("logprob_tokens", "tokens.parquet")},
			[]string{`column "token_logprobs" exists but is a list (list<double>) read as token log-probabilities, which does not fit --kind binary`}},
	}
	for _, c := range cases {
		code, _, se := runCLI(c.args...)
		if code != 2 || strings.Count(se, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", c.args, code, se)
		}
		for _, w := range c.want {
			if !strings.Contains(se, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, se, w)
			}
		}
		if strings.Contains(se, "no prediction column found") {
			t.Errorf("%v: says not found: %q", c.args, se)
		}
	}
}

// TestLogprobListBesideLabel: a --logprob list with a label column present
// is evaluated as token sequences with a warning on stderr and in the
// report; --kind logprob silences it; a scalar --logprob does not warn.
func TestLogprobListBesideLabel(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "lsm.parquet")
	rows := []mcRow{{Y: 0, P: []float64{math.Log(0.7), math.Log(0.2), math.Log(0.1)}}, {Y: 2, P: []float64{math.Log(0.5), math.Log(0.25), math.Log(0.25)}}}
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[mcRow](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "r.json")
	code, _, se := runCLI("eval", "--logprob", "p", "--json", out, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	for _, want := range []string{"evalnll: warning: ", `column "p" is a list, read as token log-probabilities`, `label column "y" is not used`, "--logit p --label y"} {
		if !strings.Contains(se, want) {
			t.Errorf("stderr %q lacks %q", se, want)
		}
	}
	if data, _ := os.ReadFile(out); !strings.Contains(string(data), `is not used`) || !strings.Contains(string(data), `"kind": "logprob"`) {
		t.Errorf("the report lacks the warning or is not a logprob run:\n%s", data)
	}
	if code, _, se := runCLI("eval", "--logprob", "p", "--kind", "logprob", "--json", out, in); code != 0 || se != "" {
		t.Errorf("--kind logprob: exit %d, stderr %q; want 0 and no warning", code, se)
	}
	// The multiclass reading the warning suggests works.
	if code, _, se := runCLI("eval", "--logit", "p", "--label", "y", "--json", out, in); code != 0 || se != "" {
		t.Errorf("--logit: exit %d, stderr %q", code, se)
	}
	if data, _ := os.ReadFile(out); !strings.Contains(string(data), `"kind": "multiclass"`) {
		t.Errorf("--logit p on log-softmax lists is not multiclass:\n%s", data)
	}
}

// TestDiagramWithoutCalibration: --png/--svg on a kind without calibration
// are dropped with a warning, before any row is read, and the other
// outputs are written; with no other output it is a usage error that
// writes nothing.
func TestDiagramWithoutCalibration(t *testing.T) {
	dir := t.TempDir()
	png, md, js := filepath.Join(dir, "r.png"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.json")
	in := golden("logprob_tokens", "tokens.parquet")
	code, so, se := runCLI("eval", "--png", png, "-o", filepath.Join(dir, "r.svg"), "--md", md, "--json", js, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if so != "" || strings.Count(se, "evalnll: warning: ") != 2 || !strings.Contains(se, "r.png not written: a logprob run has no calibration") {
		t.Errorf("stdout %q, stderr %q; want two warnings", so, se)
	}
	for _, p := range []string{md, js} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	for _, p := range []string{png, filepath.Join(dir, "r.svg")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written for a kind without calibration", p)
		}
	}
	if data, _ := os.ReadFile(md); !strings.Contains(string(data), "not written: a logprob run has no calibration") || strings.Contains(string(data), "r.png)") {
		t.Errorf("markdown lacks the note, or links the diagram:\n%s", data)
	}
	// Only diagrams asked for: exit 2, one line, nothing written. The
	// check comes before reading: an input whose rows are invalid still
	// gets this message, not its row error.
	code, _, se = runCLI("eval", "--svg", filepath.Join(dir, "only.svg"), golden("err_nan_prob", "nan_prob.parquet"), "--kind", "gaussian", "--mean", "p", "--std", "p", "--label", "y")
	if code != 2 || strings.Count(se, "\n") != 1 || !strings.Contains(se, "a gaussian run has no calibration") {
		t.Errorf("diagram only: exit %d, stderr %q", code, se)
	}
	if _, err := os.Stat(filepath.Join(dir, "only.svg")); err == nil {
		t.Error("only.svg written")
	}
}

// TestInspectEveryFile: inspect of a folder with a broken file reports
// every file, the broken one with its error in its place, one stderr line
// per failure, and exits 2 at the end.
func TestInspectEveryFile(t *testing.T) {
	dir := t.TempDir()
	cp := func(src, dst string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp(golden("binary_prob_basic", "preds.parquet"), "a.parquet")
	cp(golden("err_truncated_parquet", "truncated.parquet"), "b.parquet")
	cp(golden("mc_probs_list", "preds.parquet"), "c.parquet")
	missing := filepath.Join(dir, "nosuch.parquet")
	code, so, se := runCLI("inspect", dir, missing)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	a, b, c := strings.Index(so, "a.parquet\n  format"), strings.Index(so, "b.parquet\n  error: "), strings.Index(so, "c.parquet\n  format")
	if !(a >= 0 && a < b && b < c) {
		t.Errorf("stdout does not report a, b (error) and c in order:\n%s", so)
	}
	if !strings.Contains(so, "nosuch.parquet\n  error: ") || !strings.HasSuffix(so, "2 of 4 inputs failed\n") {
		t.Errorf("stdout lacks the missing file or the count:\n%s", so)
	}
	if strings.Count(se, "\n") != 2 || !strings.Contains(se, "b.parquet: ") || !strings.Contains(se, "nosuch.parquet: ") {
		t.Errorf("stderr is not one line per failure: %q", se)
	}
	// All good: exit 0, nothing on stderr.
	if code, _, se := runCLI("inspect", golden("binary_prob_basic", "preds.parquet")); code != 0 || se != "" {
		t.Errorf("a good file: exit %d, stderr %q", code, se)
	}
}

// merge, like eval, writes no diagram of a kind without calibration: a
// warning, in the reports too, and the JSON eval writes.
func TestMergeDiagramWithoutCalibration(t *testing.T) {
	dir := t.TempDir()
	in := golden("logprob_tokens", "tokens.parquet")
	js, svg := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.svg")
	code, _, se := runCLI("eval", "--quiet", "--svg", svg, "--json", js, in)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, se)
	}
	want, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(js)
	var states []string
	for i := range 2 {
		st := filepath.Join(dir, fmt.Sprintf("s%d.evst", i))
		if code, _, se := runCLI("eval", "--quiet", "--shard", fmt.Sprintf("%d/2", i), "--state", st, in); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, se)
		}
		states = append(states, st)
	}
	code, so, se2 := runCLI(append([]string{"merge", "--svg", svg, "--json", js}, states...)...)
	if code != 0 || so != "" || se2 != se {
		t.Fatalf("merge: exit %d, stdout %q, stderr %q; eval's stderr %q", code, so, se2, se)
	}
	if got, err := os.ReadFile(js); err != nil || !bytes.Equal(got, want) {
		t.Errorf("merge's JSON differs from eval's (%v):\n%s\n%s", err, got, want)
	}
	if _, err := os.Stat(svg); err == nil {
		t.Error("a diagram was written")
	}
	code, _, se = runCLI(append([]string{"merge", "--svg", svg}, states...)...)
	if code != 2 || !strings.Contains(se, "a logprob run has no calibration") {
		t.Errorf("merge with only a diagram: exit %d, %q", code, se)
	}
}
