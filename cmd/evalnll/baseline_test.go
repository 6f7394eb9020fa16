package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

// runCmd runs evalnll with args and returns its exit status, stdout and
// stderr.
func runCmd(args ...string) (int, string, string) {
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, args)
	return code, so.String(), se.String()
}

// baselineFixture writes the baseline predictions and returns their path
// and the path of a report made from them with extra flags.
func baselineFixture(t *testing.T, dir string, extra ...string) (preds, report string) {
	t.Helper()
	b, _, _ := predictionSets()
	preds = filepath.Join(dir, "preds.parquet")
	if _, err := os.Stat(preds); err != nil {
		writePreds(t, preds, b[:5000])
	}
	report = filepath.Join(dir, strings.Join(append([]string{"base"}, extra...), "_")+".json")
	report = filepath.Join(dir, strings.NewReplacer("-", "", " ", "").Replace(filepath.Base(report)))
	args := append([]string{"eval", "--label", "y", "--prob", "p", "--id", "id", "--json", report}, extra...)
	if code, _, se := runCmd(append(args, preds)...); code != 0 {
		t.Fatalf("baseline eval: exit %d: %s", code, se)
	}
	return preds, report
}

// TestBaselineUnits: a baseline in nats gates a run in bits (and back)
// on the same predictions: its NLL figures are converted, the gate
// passes with the change 0, and the report says so.
func TestBaselineUnits(t *testing.T) {
	dir := t.TempDir()
	preds, nats := baselineFixture(t, dir)
	for _, base := range []string{"2", "10"} {
		code, d, se := evalJSON(t, "--label", "y", "--prob", "p", "--id", "id", "--base", base,
			"--baseline", nats, "--max-increase", "nll=0.0001", "--max-increase", "nll_stderr=1e-12", preds)
		if code != 0 {
			t.Fatalf("--base %s: exit %d: %s", base, code, se)
		}
		for _, gi := range d["gates"].([]any) {
			g := gi.(map[string]any)
			if v, b := g["value"].(float64), g["base"].(float64); math.Abs(v-b) > 1e-12*math.Abs(v) {
				t.Errorf("--base %s: gate %v: value %v, base %v (converted), want equal", base, g["expr"], v, b)
			}
			if g["expr"] == "nll max-increase 0.0001" && g["paired"] != true {
				t.Errorf("--base %s: the nll gate did not pair across units", base)
			}
		}
		ws, _ := json.Marshal(d["warnings"])
		if !strings.Contains(string(ws), "converted from nats to") {
			t.Errorf("--base %s: warnings %s do not say the baseline was converted", base, ws)
		}
	}
	// compare: bits against nats shows no change.
	_, bits := baselineFixture(t, dir, "--base", "2")
	code, out, se := runCmd("compare", "--max-increase", "nll=0", nats, bits)
	if code != 0 {
		t.Fatalf("compare nats bits: exit %d: %s%s", code, out, se)
	}
	if !strings.Contains(out, "converted from nats to bits") {
		t.Errorf("compare does not say it converted:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "nll" {
			if d, err := strconv.ParseFloat(f[3], 64); err != nil || math.Abs(d) > 1e-12 {
				t.Errorf("nll changed across units: %s", line)
			}
		}
	}
}

// TestBaselineConfigMismatch: a baseline gate on a figure whose definition
// depends on a setting that differs exits 2 naming it, writes no report,
// and judges with a warning under --allow-config-mismatch; a gate on a
// figure that does not depend on it is judged as usual.
func TestBaselineConfigMismatch(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name       string
		base, cur  []string
		gate, flag string
	}{
		{"bins", []string{"--bins", "10"}, []string{"--bins", "15"}, "ece=0.5", "--bins 10"},
		{"binning", []string{"--binning", "quantile"}, nil, "mce=0.5", "--binning quantile"},
		{"eps", []string{"--eps", "0.001"}, nil, "nll=0.5", "--eps 0.001"},
		{"eps on perplexity, relative", nil, []string{"--eps", "0.01"}, "perplexity=50%", "--eps 1e-15"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			preds, base := baselineFixture(t, dir, c.base...)
			args := append([]string{"--label", "y", "--prob", "p", "--id", "id"}, c.cur...)
			args = append(args, "--baseline", base, "--max-increase", c.gate, preds)
			code, d, se := evalJSON(t, args...)
			if code != 2 || d != nil {
				t.Fatalf("exit %d (report written: %v), want 2 and none: %s", code, d != nil, se)
			}
			if !strings.Contains(se, c.flag) || !strings.Contains(se, "--allow-config-mismatch") || strings.Count(strings.TrimSpace(se), "\n") > 0 {
				t.Errorf("stderr %q does not name %s and the way out on one line", se, c.flag)
			}
			code, d, se = evalJSON(t, append([]string{"--allow-config-mismatch"}, args...)...)
			if code != 0 || d == nil {
				t.Fatalf("--allow-config-mismatch: exit %d: %s", code, se)
			}
			ws, _ := json.Marshal(d["warnings"])
			if !strings.Contains(string(ws), c.flag) {
				t.Errorf("--allow-config-mismatch: warnings %s do not name %s", ws, c.flag)
			}
			// accuracy does not depend on bins, binning or eps.
			args[len(args)-2] = "accuracy=0.5"
			if code, _, se := evalJSON(t, args...); code != 0 {
				t.Errorf("accuracy gate: exit %d: %s", code, se)
			}
		})
	}
	// compare: the figure is "not comparable", a gate on it exits 2.
	_, b10 := baselineFixture(t, dir, "--bins", "10")
	_, b15 := baselineFixture(t, dir, "--bins", "15")
	code, out, se := runCmd("compare", b10, b15)
	if code != 0 || !strings.Contains(out, "not comparable (--bins 10 vs 15)") || strings.Contains(out, "ece  worse") {
		t.Errorf("compare without gates: exit %d:\n%s%s", code, out, se)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "nll ") && !strings.Contains(line, "within noise") && !strings.Contains(line, "same") {
			t.Errorf("nll does not depend on --bins: %s", line)
		}
	}
	md := filepath.Join(dir, "summary.md")
	if code, _, se := runCmd("compare", "--md", md, b10, b15); code != 0 {
		t.Errorf("compare --md: exit %d: %s", code, se)
	}
	if text, _ := os.ReadFile(md); !strings.Contains(string(text), "| ece |") || !strings.Contains(string(text), "not comparable (--bins 10 vs 15)") ||
		!strings.Contains(string(text), "Note: the baseline was made with --bins 10") {
		t.Errorf("markdown comparison:\n%s", text)
	}
	if code, _, se := runCmd("compare", "--max-increase", "ece=0.01", b10, b15); code != 2 || !strings.Contains(se, "--bins") {
		t.Errorf("compare gate on ece across bins: exit %d: %s", code, se)
	}
	if code, _, se := runCmd("compare", "--allow-config-mismatch", "--max-increase", "ece=0.5", b10, b15); code != 0 {
		t.Errorf("compare --allow-config-mismatch: exit %d: %s", code, se)
	}
}

// TestCompareKinds: reports of different kinds are not compared.
func TestCompareKinds(t *testing.T) {
	dir := t.TempDir()
	preds, bin := baselineFixture(t, dir)
	lp := filepath.Join(dir, "lp.json")
	if code, _, se := runCmd("eval", "--logprob", "lp", "--json", lp, filepath.Join("..", "..", "testdata", "golden", "logprob_scalar", "lp.parquet")); code != 0 {
		t.Fatalf("logprob report: %s", se)
	}
	for _, args := range [][]string{{"compare", bin, lp}, {"compare", "--max-increase", "nll=1", lp, bin}} {
		code, out, se := runCmd(args...)
		if code != 2 || out != "" || !strings.Contains(se, "different kinds") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, se)
		}
	}
	code, d, se := evalJSON(t, "--label", "y", "--prob", "p", "--baseline", lp, "--max-increase", "nll=1", preds)
	if code != 2 || d != nil || !strings.Contains(se, "different kinds") {
		t.Errorf("eval against a logprob baseline: exit %d: %s", code, se)
	}
}

// TestCompareGateStderr: compare's gate failures go to stderr, as eval's
// do; stdout lists the gate without its message.
func TestCompareGateStderr(t *testing.T) {
	dir := t.TempDir()
	_, reg, _ := predictionSets()
	_, bj := baselineFixture(t, dir)
	writePreds(t, filepath.Join(dir, "reg.parquet"), reg[:5000])
	nj := filepath.Join(dir, "new.json")
	if code, _, se := runCmd("eval", "--label", "y", "--prob", "p", "--id", "id", "--json", nj, filepath.Join(dir, "reg.parquet")); code != 0 {
		t.Fatal(se)
	}
	code, out, se := runCmd("compare", "--max-increase", "nll=0.001", bj, nj)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if !strings.Contains(se, "evalnll: gate failed: nll max-increase 0.001: nll went from") {
		t.Errorf("stderr lacks the failure: %q", se)
	}
	if strings.Contains(out, "went from") || !strings.Contains(out, "gate FAIL: nll max-increase 0.001") {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestSliceGateNeedsBy: a slice gate without --by says so, in eval and
// in compare; a slice that is not there is named.
func TestSliceGateNeedsBy(t *testing.T) {
	dir := t.TempDir()
	preds, bj := baselineFixture(t, dir)
	code, _, se := evalJSON(t, "--label", "y", "--prob", "p", "--fail-if", "slice[lang=de].nll > 1", preds)
	if code != 2 || !strings.Contains(se, "need --by") || strings.Contains(se, "unknown metric") {
		t.Errorf("eval: exit %d: %s", code, se)
	}
	code, _, se = runCmd("compare", "--fail-if", "slice[lang=de].nll > 1", bj, bj)
	if code != 2 || !strings.Contains(se, "needs --by") || strings.Contains(se, "unknown metric") {
		t.Errorf("compare: exit %d: %s", code, se)
	}
	in := filepath.Join("..", "..", "testdata", "golden", "slices_by_model", "preds.parquet")
	code, _, se = evalJSON(t, "--label", "y", "--prob", "p", "--by", "model", "--fail-if", "slice[model=zz].nll > 1", in)
	if code != 2 || !strings.Contains(se, "no slice model=zz") {
		t.Errorf("missing slice: exit %d: %s", code, se)
	}
}

// TestGatePassedByInterval: a paired baseline gate whose point change is
// over the limit but whose interval reaches below it passes, and the
// report says why.
func TestGatePassedByInterval(t *testing.T) {
	dir := t.TempDir()
	_, reg, _ := predictionSets()
	_, bj := baselineFixture(t, dir)
	newPreds := filepath.Join(dir, "reg.parquet")
	writePreds(t, newPreds, reg[:5000])
	// The change and its interval, then a limit between them.
	_, d, _ := evalJSON(t, "--label", "y", "--prob", "p", "--id", "id", "--baseline", bj, "--max-increase", "nll=10", newPreds)
	g := d["gates"].([]any)[0].(map[string]any)
	iv := g["delta_interval"].([]any)
	change := g["value"].(float64) - g["base"].(float64)
	lo := iv[0].(float64)
	if !(lo < change) || g["note"] != nil {
		t.Fatalf("no room between the interval's low end %v and the change %v (note %v)", lo, change, g["note"])
	}
	limit := (lo + change) / 2
	code, d, se := evalJSON(t, "--label", "y", "--prob", "p", "--id", "id", "--baseline", bj, "--max-increase", "nll="+fmtNum(limit), newPreds)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	g = d["gates"].([]any)[0].(map[string]any)
	note, _ := g["note"].(string)
	ws, _ := json.Marshal(d["warnings"])
	if !strings.Contains(note, "passed only because the 95% interval of the change") || !strings.Contains(string(ws), "passed only because") {
		t.Errorf("gate %v, warnings %s", g, ws)
	}
}

// TestPlannedDocMatchesReport: what the early check reads of the report a
// run will write is what the report holds.
func TestPlannedDocMatchesReport(t *testing.T) {
	dir := t.TempDir()
	preds, _ := baselineFixture(t, dir)
	lp := filepath.Join("..", "..", "testdata", "golden", "logprob_scalar", "lp.parquet")
	for _, args := range [][]string{
		{"--label", "y", "--prob", "p", preds},
		{"--label", "y", "--logit", "p", "--bins", "7", "--binning", "quantile", "--base", "2", preds},
		{"--logprob", "lp", "--eps", "0.01", "--base", "10", lp},
	} {
		code, d, se := evalJSON(t, append([]string{"--bootstrap", "0"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, se)
		}
		var f evalFlags
		if _, err := parseInterspersed(evalFlagSet(&f), args); err != nil {
			t.Fatal(err)
		}
		cfg, _, _, err := checkEvalFlags(&f)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Kind, err = metrics.ParseKind(d["kind"].(string)); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.Prob != "":
			cfg.Pred = metrics.PredProb
		case f.Logit != "":
			cfg.Pred = metrics.PredLogit
		default:
			cfg.Pred = metrics.PredLogprob
		}
		plan := plannedDoc(cfg)
		for _, metric := range []string{"ece", "nll"} {
			if s, bad := report.Mismatch(plan, report.Doc(d), metric); bad {
				t.Errorf("%v: planned %s %s, the report has %s", args, s.Flag, s.Base, s.Cur)
			}
		}
		if plan["kind"] != d["kind"] || plan["units"] != d["units"] {
			t.Errorf("%v: planned %v %v, report %v %v", args, plan["kind"], plan["units"], d["kind"], d["units"])
		}
	}
}

// TestBaselineRefusedEarly: a baseline that cannot match is refused before
// the inputs are read (an input that does not parse is not reached).
func TestBaselineRefusedEarly(t *testing.T) {
	dir := t.TempDir()
	_, b10 := baselineFixture(t, dir, "--bins", "10")
	bad := filepath.Join(dir, "bad.parquet")
	writePreds(t, bad, []predRow{{1, 1, 0.5}, {2, 0, math.NaN()}})
	code, _, se := evalJSON(t, "--label", "y", "--prob", "p", "--baseline", b10, "--max-increase", "ece=0.1", bad)
	if code != 2 || !strings.Contains(se, "--bins 10") {
		t.Errorf("exit %d: %s", code, se)
	}
}
