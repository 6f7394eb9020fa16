package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type predRow struct {
	ID int64   `parquet:"id"`
	Y  int64   `parquet:"y"`
	P  float64 `parquet:"p"`
}

func writePreds(t *testing.T, path string, rows []predRow) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[predRow](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// predictionSets builds, on the same 20000 rows: a baseline model, a
// regressed model (the baseline with a small systematic overconfidence) and a
// resampled model (the baseline's quality with fresh noise: no regression).
func predictionSets() (base, regressed, resampled []predRow) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		z := r.NormFloat64() * 1.5 // the true log-odds
		y := int64(0)
		if r.Float64() < sigmoid(z) {
			y = 1
		}
		za := z + 0.4*r.NormFloat64()
		zb := z + 0.4*r.NormFloat64()
		base = append(base, predRow{int64(i), y, sigmoid(za)})
		regressed = append(regressed, predRow{int64(i), y, sigmoid(1.2 * za)})
		resampled = append(resampled, predRow{int64(i), y, sigmoid(zb)})
	}
	return
}

func evalJSON(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, append(append([]string{"eval"}, args...), "--json", out))
	data, err := os.ReadFile(out)
	if err != nil {
		return code, nil, se.String()
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return code, d, se.String()
}

func interval(d map[string]any, metric string) (float64, float64) {
	iv := d["bootstrap"].(map[string]any)["intervals"].(map[string]any)[metric].([]any)
	return iv[0].(float64), iv[1].(float64)
}

// TestPairedGate: the paired gate catches a small real regression that the
// two runs' own intervals cannot tell apart, and stays silent when the new
// run only resamples the baseline's noise.
func TestPairedGate(t *testing.T) {
	dir := t.TempDir()
	b, reg, res := predictionSets()
	writePreds(t, filepath.Join(dir, "base.parquet"), b)
	writePreds(t, filepath.Join(dir, "regressed.parquet"), reg)
	writePreds(t, filepath.Join(dir, "resampled.parquet"), res)
	common := []string{"--label", "y", "--prob", "p", "--id", "id"}

	code, baseDoc, se := evalJSON(t, append(common, filepath.Join(dir, "base.parquet"))...)
	if code != 0 {
		t.Fatalf("baseline run: exit %d: %s", code, se)
	}
	basePath := filepath.Join(dir, "base.json")
	data, _ := json.Marshal(baseDoc)
	os.WriteFile(basePath, data, 0o644)

	gateArgs := append(append([]string{}, common...), "--baseline", basePath, "--max-increase", "nll=0.004")

	// The regression: the new run's own interval overlaps the baseline's,
	// so comparing intervals misses it; the paired interval of the change
	// lies above the limit.
	code, regDoc, se := evalJSON(t, append(gateArgs, filepath.Join(dir, "regressed.parquet"))...)
	if code != 1 {
		t.Fatalf("regressed run: exit %d, want 1 (gate failed): %s", code, se)
	}
	blo, bhi := interval(baseDoc, "nll")
	rlo, rhi := interval(regDoc, "nll")
	if !(rlo < bhi && blo < rhi) {
		t.Fatalf("test data too easy: unpaired intervals [%v,%v] and [%v,%v] do not overlap", blo, bhi, rlo, rhi)
	}
	g := regDoc["gates"].([]any)[0].(map[string]any)
	if g["paired"] != true || g["failed"] != true {
		t.Fatalf("regression gate: %v", g)
	}
	di := g["delta_interval"].([]any)
	if lo := di[0].(float64); !(lo > 0.004) {
		t.Fatalf("paired interval of the change %v does not lie above the limit", di)
	}
	if !strings.Contains(se, "95% interval") {
		t.Errorf("stderr does not say why the gate failed: %q", se)
	}

	// The resampled copy: same quality, fresh noise: the gate stays silent.
	code, resDoc, se := evalJSON(t, append(gateArgs, filepath.Join(dir, "resampled.parquet"))...)
	if code != 0 {
		t.Fatalf("resampled run: exit %d, want 0: %s", code, se)
	}
	g = resDoc["gates"].([]any)[0].(map[string]any)
	if g["paired"] != true || g["failed"] != false {
		t.Fatalf("resampled gate: %v", g)
	}
	di = g["delta_interval"].([]any)
	if !(di[0].(float64) < 0.004) || !(di[0].(float64) < 0 && di[1].(float64) > 0) {
		t.Errorf("resampled: interval of the change %v should hold 0", di)
	}
}

// TestUnpairedFallsBack: without --id the runs cannot pair; the gate
// compares point estimates and the report says why.
func TestUnpairedFallsBack(t *testing.T) {
	dir := t.TempDir()
	b, reg, _ := predictionSets()
	writePreds(t, filepath.Join(dir, "base.parquet"), b[:5000])
	writePreds(t, filepath.Join(dir, "new.parquet"), reg[:5000])
	_, baseDoc, _ := evalJSON(t, "--label", "y", "--prob", "p", filepath.Join(dir, "base.parquet"))
	basePath := filepath.Join(dir, "base.json")
	data, _ := json.Marshal(baseDoc)
	os.WriteFile(basePath, data, 0o644)
	code, d, se := evalJSON(t, "--label", "y", "--prob", "p", "--baseline", basePath, "--max-increase", "nll=1", filepath.Join(dir, "new.parquet"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	g := d["gates"].([]any)[0].(map[string]any)
	if g["paired"] != false {
		t.Fatalf("gate paired without ids: %v", g)
	}
	ws, _ := d["warnings"].([]any)
	if len(ws) == 0 || !strings.Contains(ws[0].(string), "--id") {
		t.Fatalf("warnings do not say why the runs did not pair: %v", ws)
	}
}

// TestBootstrapDeterministic: the bootstrap section is byte-identical
// across worker counts, input order and the spelling of the inputs (the
// folder, or its files named in any order, from any working directory);
// with --id, across file splits too.
func TestBootstrapDeterministic(t *testing.T) {
	dir := t.TempDir()
	b, _, _ := predictionSets()
	writePreds(t, filepath.Join(dir, "all.parquet"), b[:6000])
	os.Mkdir(filepath.Join(dir, "split"), 0o755)
	// The same rows, reversed and cut into three files.
	rev := make([]predRow, 6000)
	for i := range rev {
		rev[i] = b[5999-i]
	}
	sp := func(f string) string { return filepath.Join(dir, "split", f) }
	writePreds(t, sp("a.parquet"), rev[:1000])
	writePreds(t, sp("b.parquet"), rev[1000:4500])
	writePreds(t, sp("c.parquet"), rev[4500:])
	boot := func(args ...string) string {
		t.Helper()
		_, d, se := evalJSON(t, append([]string{"--label", "y", "--prob", "p"}, args...)...)
		if d == nil {
			t.Fatal(se)
		}
		bs, _ := json.Marshal(d["bootstrap"])
		return string(bs)
	}
	ref := boot("--workers", "1", filepath.Join(dir, "split"))
	for _, args := range [][]string{
		{"--workers", "2", filepath.Join(dir, "split")},
		{"--workers", "4", filepath.Join(dir, "split") + "/"},
		{"--workers", "2", sp("c.parquet"), sp("a.parquet"), sp("b.parquet")},
		{"--workers", "1", filepath.Join(dir, "split", "*.parquet")},
	} {
		if got := boot(args...); got != ref {
			t.Errorf("bootstrap differs for %v", args)
		}
	}
	// Keyed by position, the one-file split differs.
	if boot(filepath.Join(dir, "all.parquet")) == ref {
		t.Error("rows in other files and positions drew the same replicates")
	}
	idRef := boot("--id", "id", "--workers", "1", filepath.Join(dir, "all.parquet"))
	for _, args := range [][]string{{"--workers", "2", filepath.Join(dir, "split")}, {"--workers", "4", sp("b.parquet"), sp("c.parquet"), sp("a.parquet")}} {
		if got := boot(append([]string{"--id", "id"}, args...)...); got != idRef {
			t.Errorf("--id: bootstrap differs for %v", args)
		}
	}
}

// TestCompareCommand: compare pairs the two runs, prints the interval of
// the change with a verdict, writes markdown, and exits 1 on a failed gate.
func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	b, reg, _ := predictionSets()
	writePreds(t, filepath.Join(dir, "base.parquet"), b)
	writePreds(t, filepath.Join(dir, "new.parquet"), reg)
	bj, nj := filepath.Join(dir, "base.json"), filepath.Join(dir, "new.json")
	for _, x := range [][2]string{{"base.parquet", bj}, {"new.parquet", nj}} {
		var so, se bytes.Buffer
		if code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--label", "y", "--prob", "p", "--id", "id", "--json", x[1], filepath.Join(dir, x[0])}); code != 0 {
			t.Fatalf("eval %s: %d %s", x[0], code, se.String())
		}
	}
	md := filepath.Join(dir, "summary.md")
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"compare", "--max-increase", "nll=0.004", "--md", md, bj, nj})
	if code != 1 {
		t.Fatalf("compare exit %d, want 1: %s", code, se.String())
	}
	out := so.String()
	for _, want := range []string{"95% CI of Δ", "nll", "worse", "gate FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q:\n%s", want, out)
		}
	}
	mdText, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(mdText), "| nll |") || !strings.Contains(string(mdText), "❌") {
		t.Errorf("markdown summary: %v\n%s", err, mdText)
	}
	// The same report against itself passes.
	so.Reset()
	if code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"compare", "--max-increase", "nll=0.004", bj, bj}); code != 0 {
		t.Errorf("self-compare exit %d", code)
	}
}

// TestSliceGateAndUnknownMetric: a gate may name a slice's figure; an
// unknown metric is a usage error that lists the valid names.
func TestSliceGateAndUnknownMetric(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "golden", "slices_by_model", "preds.parquet")
	code, d, se := evalJSON(t, "--label", "y", "--prob", "p", "--by", "model", "--fail-if", "slice[model=a].nll > 0", in)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, se)
	}
	g := d["gates"].([]any)[0].(map[string]any)
	var sliceNLL float64
	for _, s := range d["slices"].([]any) {
		sm := s.(map[string]any)
		if sm["by"].(map[string]any)["model"] == "a" {
			sliceNLL = sm["nll"].(float64)
		}
	}
	if g["value"].(float64) != sliceNLL || g["failed"] != true {
		t.Fatalf("slice gate %v, slice nll %v", g, sliceNLL)
	}
	code, _, se = evalJSON(t, "--label", "y", "--prob", "p", "--fail-if", "nnl > 1", in)
	if code != 2 || !strings.Contains(se, "unknown metric") || !strings.Contains(se, "nll") {
		t.Fatalf("unknown metric: exit %d, %q", code, se)
	}
}
