package cmdline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	evalnll "github.com/evalnll/evalnll"
	"github.com/evalnll/evalnll/cmdline"
	"github.com/evalnll/evalnll/gate"
	"github.com/evalnll/evalnll/store"
	"github.com/evalnll/evalnll/store/storetest"
)

// input has 5000 rows in many row groups (a golden case).
const input = "../testdata/golden/row_groups_many/preds.parquet"

func parse(t *testing.T, args ...string) (*cmdline.Eval, []string) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	ev := cmdline.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return ev, fs.Args()
}

// shares evaluates every share of the plan, last first.
func shares(t *testing.T, ev *cmdline.Eval, p *cmdline.Plan) [][]byte {
	t.Helper()
	out := make([][]byte, p.Shares)
	for i := p.Shares - 1; i >= 0; i-- {
		b, err := ev.EvalShare(context.Background(), p, i)
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
		out[i] = b
	}
	return out
}

// The shares evaluated one by one and reported give the library's report
// of the whole input, byte for byte, gates included.
func TestSharesReportAsEvaluate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	ev, inputs := parse(t, "--logit", "logit", "--label", "y", "--worst", "3", "--bootstrap", "50", "--auroc",
		"--fail-if", "nll > 10", "--json", out, input)
	ctx := context.Background()
	p, err := ev.Plan(ctx, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Shares < 2 || len(p.Paths) != 1 {
		t.Fatalf("plan %+v: want one file of several units", p)
	}
	states := shares(t, ev, p)
	// Any order.
	states[0], states[len(states)-1] = states[len(states)-1], states[0]
	var stdout, stderr bytes.Buffer
	code, err := ev.Report(ctx, states, &stdout, &stderr)
	if err != nil || code != 0 {
		t.Fatalf("Report: %d, %v (stderr %q)", code, err, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	spec := evalnll.DefaultSpec()
	spec.Logit, spec.Label, spec.Worst, spec.Bootstrap, spec.AUROC = "logit", "y", 3, 50, true
	th, err := gate.ParseThreshold("nll > 10")
	if err != nil {
		t.Fatal(err)
	}
	spec.FailIf = []gate.Threshold{th}
	m, err := evalnll.Evaluate(ctx, spec, input)
	if err != nil {
		t.Fatal(err)
	}
	if want := m.JSON(); !bytes.Equal(got, want) {
		t.Errorf("report of the shares differs from Evaluate's:\n%s\nwant\n%s", got, want)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("stdout %q, stderr %q: want nothing", stdout.String(), stderr.String())
	}
}

// A failed gate is exit 1, its message on stderr, the reports written; with
// no output flag the text summary goes to stdout.
func TestReportGateFails(t *testing.T) {
	ev, inputs := parse(t, "--logit", "logit", "--label", "y", "--bootstrap", "0", "--fail-if", "nll > 0.1", input)
	p, err := ev.Plan(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code, err := ev.Report(context.Background(), shares(t, ev, p), &stdout, &stderr)
	if err != nil || code != 1 {
		t.Fatalf("Report: %d, %v; want exit 1", code, err)
	}
	if !strings.HasPrefix(stderr.String(), "evalnll: gate failed: ") || !strings.Contains(stderr.String(), "nll") {
		t.Errorf("stderr %q", stderr.String())
	}
	if !strings.Contains(stdout.String(), "nll") {
		t.Errorf("no summary on stdout: %q", stdout.String())
	}
}

// A share given twice is refused, nothing written; a missing share too.
func TestReportRefusesDuplicateAndMissingShares(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	ev, inputs := parse(t, "--logit", "logit", "--label", "y", "--bootstrap", "0", "--json", out, input)
	p, err := ev.Plan(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	states := shares(t, ev, p)
	_, err = ev.Report(context.Background(), append(states, states[1]), new(bytes.Buffer), new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), "the same shard twice") {
		t.Errorf("duplicate share: %v", err)
	}
	_, err = ev.Report(context.Background(), states[1:], new(bytes.Buffer), new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), "miss") {
		t.Errorf("missing share: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a report was written: %v", err)
	}
}

// Plan refuses what eval refuses before reading a row, with eval's words.
func TestPlanErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--prob", "nope", input}, `column "nope" (--prob) not found`},
		{[]string{"--logit", "logit", "--bins", "0", input}, "--bins: 0 is not between"},
		{[]string{"--logit", "logit", "--fail-if", "mean_std > 1", input}, "--fail-if"},
		{[]string{"--logit", "logit", "-o", "r.txt", input}, "unknown extension"},
		{[]string{"--logit", "logit", "-"}, "standard input"},
		{[]string{"--logit", "logit", "--json", input, input}, "an output never replaces what is read"},
		{[]string{"--kind", "logprob", "--logprob", "logit", "--svg", "x.svg", input}, "--svg/--png: a logprob run has no calibration"},
		{[]string{"--logit", "logit", "--state", "../testdata/golden/row_groups_many/./preds.parquet", input}, "--state ../testdata/golden/row_groups_many/./preds.parquet: is the input"},
	} {
		ev, inputs := parse(t, c.args...)
		_, err := ev.Plan(context.Background(), inputs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want %q", c.args, err, c.want)
		}
	}
}

// Inputs, the baseline and the reports may be object store URLs, as for
// eval.
func TestObjectStore(t *testing.T) {
	s := storetest.StartS3(t)
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	s.Put(t, "in/preds.parquet", data)
	ctx := context.Background()
	run := func(args ...string) (int, string, error) {
		ev, inputs := parse(t, append(args, s.URL("in/"))...)
		p, err := ev.Plan(ctx, inputs)
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		code, err := ev.Report(ctx, shares(t, ev, p), new(bytes.Buffer), &stderr)
		return code, stderr.String(), err
	}
	code, _, err := run("--logit", "logit", "--label", "y", "--json", s.URL("out/base.json"))
	if err != nil || code != 0 {
		t.Fatalf("%d, %v", code, err)
	}
	base, err := store.ReadAll(ctx, s.URL("out/base.json"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	spec := evalnll.DefaultSpec()
	spec.Logit, spec.Label = "logit", "y"
	m, err := evalnll.Evaluate(ctx, spec, input)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]json.RawMessage
	if json.Unmarshal(base, &a) != nil || json.Unmarshal(m.JSON(), &b) != nil || !bytes.Equal(a["overall"], b["overall"]) {
		t.Errorf("report over S3 differs from Evaluate's")
	}
	// A baseline in S3: a limit that holds, then one that fails.
	code, stderr, err := run("--logit", "logit", "--label", "y", "--baseline", s.URL("out/base.json"), "--max-increase", "nll=0")
	if err != nil || code != 0 {
		t.Errorf("baseline limit that holds: %d, %v, %q", code, err, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	doc["overall"].(map[string]any)["nll"] = 0.01
	lower, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	s.Put(t, "out/lower.json", lower)
	code, stderr, err = run("--logit", "logit", "--label", "y", "--baseline", s.URL("out/lower.json"), "--max-increase", "nll=0")
	if err != nil || code != 1 || !strings.Contains(stderr, "gate failed") {
		t.Errorf("baseline limit that fails: %d, %v, %q", code, err, stderr)
	}
}
