package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runArgs runs the program in-process and returns its exit status, stdout
// and stderr.
func runArgs(args ...string) (int, string, string) {
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, args)
	return code, so.String(), se.String()
}

// TestHelpOnce: -h prints the help once, on stdout, and exits 0, for every
// subcommand; the top-level help names every command, version included.
func TestHelpOnce(t *testing.T) {
	for _, args := range [][]string{{"eval", "-h"}, {"eval", "--help"}, {"inspect", "-h"}, {"compare", "-h"}, {"-h"}, {"help"}} {
		code, so, se := runArgs(args...)
		if code != 0 || se != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing on stderr", args, code, se)
		}
		if n := strings.Count(so, "Usage:"); n != 1 {
			t.Errorf("%v: the help says Usage: %d times on stdout, want once", args, n)
		}
	}
	_, so, _ := runArgs("-h")
	for _, c := range []string{"eval", "compare", "inspect", "version"} {
		if !strings.Contains(so, "evalnll "+c) {
			t.Errorf("top-level help does not list %q:\n%s", c, so)
		}
	}
	_, so, _ = runArgs("eval", "-h")
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
		code, so, se := runArgs(c.args...)
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
	code, so, se := runArgs()
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
