package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"

	"github.com/evalnll/evalnll/beam/evalbeam"
	"github.com/evalnll/evalnll/cmdline"
	"github.com/evalnll/evalnll/partial"
	"github.com/evalnll/evalnll/store"
	"github.com/evalnll/evalnll/store/storetest"
)

// evalnllBin is the main module's CLI, built once for the tests.
var evalnllBin string

// root is the main module's directory.
var root, _ = filepath.Abs("../../..")

func TestMain(m *testing.M) {
	flag.Parse()
	flag.Set("runner", "prism")
	beam.Init()
	if !testing.Verbose() {
		// Prism's logs of the failed jobs the tests run.
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	dir, err := os.MkdirTemp("", "evalnll-beam-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	evalnllBin = filepath.Join(dir, "evalnll")
	build := exec.Command("go", "build", "-o", evalnllBin, "./cmd/evalnll")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building evalnll: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
	json           []byte // nil when no report was written
}

// evalCLI runs `evalnll eval ARGS --json OUT INPUTS` in dir.
func evalCLI(t *testing.T, dir string, args, inputs []string) result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "eval.json")
	cmd := exec.Command(evalnllBin, append(append(append([]string{"eval", "--quiet"}, args...), "--json", out), inputs...)...)
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.json, _ = os.ReadFile(out)
	return r
}

// beamCLI runs evalnll-beam's flags ARGS --json OUT over INPUTS in dir, on
// Prism, in this process.
func beamCLI(t *testing.T, dir string, args, inputs []string) result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "beam.json")
	return beamRun(t, dir, append(append([]string{}, args...), "--json", out), inputs, out)
}

// beamRun runs evalnll-beam with ARGS INPUTS in dir; the report is read
// from out when out is a file name.
func beamRun(t *testing.T, dir string, args, inputs []string, out string) result {
	t.Helper()
	fs, c := launcherFlags(flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	t.Chdir(dir)
	var so, se bytes.Buffer
	code := c.run(context.Background(), fs, inputs, &so, &se)
	r := result{code: code, stdout: so.String(), stderr: se.String()}
	if out != "" {
		r.json, _ = os.ReadFile(out)
	}
	return r
}

// sameReport compares two JSON reports field by field, bytes of each
// top-level value, the inputs array aside.
func sameReport(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g map[string]json.RawMessage
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("eval's report: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("evalnll-beam's report: %v", err)
	}
	delete(w, "inputs")
	delete(g, "inputs")
	for k, v := range w {
		if !bytes.Equal(v, g[k]) {
			t.Errorf("field %q differs:\neval: %.300s\nbeam: %.300s", k, v, g[k])
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("field %q only in evalnll-beam's report", k)
		}
	}
}

// goldenSample are golden cases over every kind, input format, slices,
// weights, worst rows, skipped rows and gates, and one invalid row.
var goldenSample = []string{
	"binary_prob_basic", "binary_weighted", "mc_probs_list", "mc_probs_fixed_size_ipc",
	"multilabel_logits", "logprob_tokens", "logprob_tokens_f32_stream", "gaussian_var",
	"slices_two_cols_weighted", "worst_ids", "row_groups_many", "shards_folder",
	"ipc_stream_polars_lz4", "skip_mixed_reasons", "gate_fail_if_fail", "real_iris_multinomial",
	"err_nan_prob", "err_mc_probs_sum",
}

func TestGoldenSample(t *testing.T) {
	for _, name := range goldenSample {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, "testdata", "golden", name)
			var c struct {
				Args   []string `json:"args"`
				Inputs []string `json:"inputs"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			want := evalCLI(t, dir, c.Args, c.Inputs)
			got := beamCLI(t, dir, c.Args, c.Inputs)
			compare(t, want, got)
		})
	}
}

func compare(t *testing.T, want, got result) {
	t.Helper()
	if got.code != want.code {
		t.Fatalf("exit %d, eval's %d\neval stderr: %s\nbeam stderr: %s", got.code, want.code, want.stderr, got.stderr)
	}
	if want.json == nil {
		if got.json != nil {
			t.Errorf("evalnll-beam wrote a report; eval did not")
		}
		if got.stderr != want.stderr {
			t.Errorf("stderr %q, eval's %q", got.stderr, want.stderr)
		}
		if want.code == 2 && strings.Count(got.stderr, "\n") != 1 {
			t.Errorf("stderr is not one line: %q", got.stderr)
		}
		return
	}
	if got.json == nil {
		t.Fatalf("no report; stderr: %s", got.stderr)
	}
	sameReport(t, want.json, got.json)
	if got.stderr != want.stderr {
		t.Errorf("stderr %q, eval's %q", got.stderr, want.stderr)
	}
}

type genRow struct {
	Y     int32   `parquet:"y"`
	P     float64 `parquet:"p"`
	W     float64 `parquet:"w"`
	Model string  `parquet:"model"`
}

// genFiles writes files of several row groups each (sizes vary, one file
// holds a single row) of binary predictions, with a weight and a slice
// column. bad (file, row), when file >= 0, gets a probability of NaN.
func genFiles(t *testing.T, dir string, badFile, badRow int) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	sizes := []int{1, 700, 1500, 333, 2048}
	for f, n := range sizes {
		var rows []genRow
		for i := 0; i < n; i++ {
			p := r.Float64()
			y := int32(0)
			if r.Float64() < p {
				y = 1
			}
			if f == badFile && i == badRow {
				p = math.NaN()
			}
			rows = append(rows, genRow{Y: y, P: p, W: float64(r.IntN(4)), Model: []string{"a", "b", "c"}[r.IntN(3)]})
		}
		fh, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%d.parquet", f)))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[genRow](fh, parquet.MaxRowsPerRowGroup(256))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

var genArgs = []string{"--label", "y", "--prob", "p", "--weight", "w", "--by", "model", "--worst", "3", "--bootstrap", "50"}

// Beam's flags are taken too; eval's --id wins over Beam's (a worker's id);
// eval's flags reach the workers as given.
func TestLauncherFlags(t *testing.T) {
	fs, c := launcherFlags(flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse([]string{"--id", "rowid", "--runner", "prism", "--project", "p1", "--auroc", "-o", "x.json", "-o", "y.md", "in"}); err != nil {
		t.Fatal(err)
	}
	if fs.Lookup("project").Value.String() != "p1" || flag.Lookup("project").Value.String() != "p1" {
		t.Errorf("--project %q", flag.Lookup("project").Value)
	}
	want := []string{"--id=rowid", "--auroc=true", "--o=x.json", "--o=y.md"}
	if !slices.Equal(c.args, want) || !slices.Equal(fs.Args(), []string{"in"}) {
		t.Errorf("eval's flags %q, want %q; inputs %q", c.args, want, fs.Args())
	}
	// The workers' parse of them.
	fs2 := flag.NewFlagSet("eval", flag.ContinueOnError)
	ev2 := cmdline.Register(fs2)
	if err := fs2.Parse(c.args); err != nil || ev2 == nil {
		t.Fatal(err)
	}
	if fs2.Lookup("id").Value.String() != "rowid" || fs2.Lookup("o").Value.String() != "x.json, y.md" || fs2.Lookup("auroc").Value.String() != "true" {
		t.Errorf("a worker reads --id %q, -o %q, --auroc %q", fs2.Lookup("id").Value, fs2.Lookup("o").Value, fs2.Lookup("auroc").Value)
	}
	if _, err := evalbeam.Eval(c.args); err != nil {
		t.Error(err)
	}
	if !workerMode([]string{"--worker=true", "--id=1-1"}) || workerMode([]string{"--id", "x"}) {
		t.Errorf("workerMode")
	}
}

// Every flag `evalnll eval -h` lists is evalnll-beam's, as eval defines it
// (not Beam's flag of the same name), and is taken, or refused with a
// reason: none is an unknown flag.
func TestEveryEvalFlag(t *testing.T) {
	out, err := exec.Command(evalnllBin, "eval", "-h").Output()
	if err != nil {
		t.Fatalf("evalnll eval -h: %v", err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		names = append(names, m[1])
	}
	if len(names) < 40 {
		t.Fatalf("%d flags found in eval's help:\n%s", len(names), out)
	}
	evfs := flag.NewFlagSet("eval", flag.ContinueOnError)
	cmdline.Register(evfs)
	fs, _ := launcherFlags(flag.ContinueOnError)
	for _, n := range names {
		f := fs.Lookup(n)
		if f == nil {
			t.Errorf("--%s: eval's flag is not evalnll-beam's", n)
			continue
		}
		if _, ok := f.Value.(*recorded); !ok || evfs.Lookup(n) == nil || f.Usage != evfs.Lookup(n).Usage {
			t.Errorf("--%s: not eval's flag (%q)", n, f.Usage)
		}
		_, u := flag.UnquoteUsage(f)
		if !strings.Contains(string(out), u[:min(len(u), 40)]) {
			t.Errorf("--%s: usage %q is not in eval's help", n, f.Usage)
		}
	}
	// The flags eval sets and evalnll-beam refuses, with a reason.
	for n := range refused {
		if !slices.Contains(names, n) {
			t.Errorf("refused --%s is not an eval flag", n)
		}
		r := beamRun(t, t.TempDir(), []string{"--" + n + "=x"}, []string{"in.parquet"}, "")
		if r.code != 2 || !strings.Contains(r.stderr, "--"+n+" is not taken: ") {
			t.Errorf("--%s: exit %d, %q", n, r.code, r.stderr)
		}
	}
}

func TestGeneratedFiles(t *testing.T) {
	dir := t.TempDir()
	genFiles(t, dir, -1, 0)
	compare(t, evalCLI(t, dir, genArgs, []string{"."}), beamCLI(t, dir, genArgs, []string{"."}))
}

func TestGeneratedInvalidRow(t *testing.T) {
	dir := t.TempDir()
	genFiles(t, dir, 3, 100)
	want := evalCLI(t, dir, genArgs, []string{"."})
	if want.code != 2 {
		t.Fatalf("eval exit %d, want 2 (%s)", want.code, want.stderr)
	}
	compare(t, want, beamCLI(t, dir, genArgs, []string{"."}))
}

// setFaults sets the injected faults (share: failed attempts) and clears
// the attempt counts.
func setFaults(m map[int]int) {
	evalbeam.Faults.Lock()
	defer evalbeam.Faults.Unlock()
	evalbeam.Faults.M = m
	evalbeam.Faults.Attempts = map[int]int{}
}

func attempts() map[int]int {
	evalbeam.Faults.Lock()
	defer evalbeam.Faults.Unlock()
	return maps.Clone(evalbeam.Faults.Attempts)
}

// A share whose evaluation fails (transiently) is handed back to the
// runner, which runs it again in a later bundle of the same job: Prism
// evaluates share 2 twice and shares 5 and 7 three times, every other
// share once, and the report is eval's. (Prism does not retry a bundle
// that fails: see README.)
func TestFailedShareRetried(t *testing.T) {
	dir := t.TempDir()
	genFiles(t, dir, -1, 0)
	want := evalCLI(t, dir, genArgs, []string{"."})
	old := evalbeam.RetryDelay
	evalbeam.RetryDelay = 10 * time.Millisecond
	defer func() { evalbeam.RetryDelay = old; setFaults(map[int]int{}) }()

	setFaults(map[int]int{2: 1, 5: 2, 7: 2})
	compare(t, want, beamCLI(t, dir, genArgs, []string{"."}))
	got := attempts()
	if len(got) < 8 {
		t.Fatalf("attempts %v: fewer than 8 shares", got)
	}
	for share, n := range got {
		w := map[int]int{2: 2, 5: 3, 7: 3}[share]
		if w == 0 {
			w = 1
		}
		if n != w {
			t.Errorf("share %d: %d attempts, want %d (all: %v)", share, n, w, got)
		}
	}
}

// A share that fails more often than --share_attempts fails the job with
// no state and no report; the job run again gives eval's report. Then the
// two properties a runner's retry of a bundle relies on: a share evaluated
// twice gives the same bytes, and the combine refuses two states of one
// share rather than count it twice.
func TestFailedShareThenRerun(t *testing.T) {
	dir := t.TempDir()
	genFiles(t, dir, -1, 0)
	want := evalCLI(t, dir, genArgs, []string{"."})
	old := evalbeam.RetryDelay
	evalbeam.RetryDelay = 10 * time.Millisecond
	defer func() { evalbeam.RetryDelay = old; setFaults(map[int]int{}) }()

	setFaults(map[int]int{2: 5})
	failed := beamCLI(t, dir, append([]string{"--share_attempts", "3"}, genArgs...), []string{"."})
	if n := attempts()[2]; n != 3 {
		t.Errorf("share 2: %d attempts, want 3", n)
	}
	if failed.code != 2 || failed.json != nil || !strings.Contains(failed.stderr, "injected fault (2 left)") {
		t.Fatalf("with a failed share: exit %d, report %v, stderr %q", failed.code, failed.json != nil, failed.stderr)
	}
	setFaults(map[int]int{})
	compare(t, want, beamCLI(t, dir, genArgs, []string{"."}))

	// A share evaluated twice (a retried bundle) gives the same state, and
	// two states of one share do not merge.
	t.Chdir(dir)
	ev, err := evalbeam.Eval(genArgs)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ev.Plan(context.Background(), []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := ev.EvalShare(context.Background(), plan, 2)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ev.EvalShare(context.Background(), plan, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, s2) {
		t.Errorf("share 2 evaluated twice gave different states")
	}
	s3, err := ev.EvalShare(context.Background(), plan, 3)
	if err != nil {
		t.Fatal(err)
	}
	m, err := evalbeam.MergeStates(s1, s3)
	if err != nil {
		t.Fatal(err)
	}
	var oe *partial.OverlapError
	if _, err := evalbeam.MergeStates(m, s2); !errors.As(err, &oe) {
		t.Errorf("merging share 2 twice: %v, want a partial.OverlapError", err)
	}
	if _, err := evalbeam.MergeStates(s2, m); !errors.As(err, &oe) {
		t.Errorf("merging share 2 twice (other order): %v, want a partial.OverlapError", err)
	}
}

// Every state sent twice to the combine (as by a runner that committed an
// element twice) fails the job: no report, nothing counted twice.
func TestDuplicatedStatesFail(t *testing.T) {
	dir := t.TempDir()
	genFiles(t, dir, -1, 0)
	evalbeam.DuplicateStates = true
	defer func() { evalbeam.DuplicateStates = false }()
	got := beamCLI(t, dir, genArgs, []string{"."})
	if got.code != 2 || got.json != nil || !strings.Contains(got.stderr, "is in both states") {
		t.Fatalf("duplicated states: exit %d, report %v, stderr %q", got.code, got.json != nil, got.stderr)
	}
}

// usersSample are cases of testdata/users over the flags eval gained after
// the first evalnll-beam (--positive, --classes, CSV and JSON Lines
// inputs), Hive partition folders (columns from the paths, keys of the
// bootstrap) and a failing gate on a Hive slice; with --auroc --classwise
// --topk added where they apply.
var usersSample = map[string][]string{
	"strings_duckdb_binary_parquet":     {"--auroc"},
	"strings_duckdb_multiclass_parquet": {"--auroc", "--classwise", "--topk", "2"},
	"strings_multiclass_json_classes":   nil,
	"strings_multiclass_unknown_class":  nil,
	"text_csv_string_label":             {"--types", "p=double"},
	"text_directory":                    nil,
	"text_duckdb_multiclass_jsonl":      {"--topk", "2"},
	"proba_bad_length":                  nil,
	"hive_duckdb":                       nil,
	"hive_gate":                         nil,
}

func TestUsersSample(t *testing.T) {
	dir := filepath.Join(root, "testdata", "users")
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string   `json:"name"`
		Args   []string `json:"args"`
		Inputs []string `json:"inputs"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range cases {
		extra, ok := usersSample[c.Name]
		if !ok {
			continue
		}
		seen++
		t.Run(c.Name, func(t *testing.T) {
			args := append(append([]string{}, c.Args...), extra...)
			want := evalCLI(t, dir, args, c.Inputs)
			compare(t, want, beamCLI(t, dir, args, c.Inputs))
		})
	}
	if seen != len(usersSample) {
		t.Errorf("%d of the %d sample cases are in cases.json", seen, len(usersSample))
	}
}

type lmRow struct {
	ID    string    `parquet:"id"`
	Label int32     `parquet:"label"` // unused: eval warns about it
	LP    []float64 `parquet:"token_logprobs,list"`
	Mask  []int32   `parquet:"mask,list"`
	Text  string    `parquet:"text"`
	Bytes int64     `parquet:"n_bytes"`
	Words int64     `parquet:"n_words"`
	Lang  string    `parquet:"lang"`
}

// Token log-probabilities with --mask, --text, --bytes and --words, over
// files of many row groups; a label column beside them makes eval warn
// (the warning is on stderr, as eval's, and in the report).
func TestLanguageModelFlags(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 5))
	words := []string{"the", "cat", "été", "日本語", "sat"}
	for f := range 3 {
		var rows []lmRow
		for i := range 150 + 50*f {
			k := 1 + r.IntN(20)
			row := lmRow{ID: fmt.Sprintf("d%d-%d", f, i), Lang: []string{"en", "fr"}[i%2]}
			for j := range k {
				row.LP = append(row.LP, -r.ExpFloat64()*2)
				row.Mask = append(row.Mask, int32(min(j, 1)))
			}
			for j := r.IntN(6); j >= 0; j-- {
				row.Text += words[r.IntN(len(words))] + " "
			}
			row.Bytes, row.Words = int64(len(row.Text)), int64(len(strings.Fields(row.Text)))
			rows = append(rows, row)
		}
		fh, err := os.Create(filepath.Join(dir, fmt.Sprintf("lm-%d.parquet", f)))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[lmRow](fh, parquet.MaxRowsPerRowGroup(40))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"--logprob", "token_logprobs", "--mask", "mask", "--text", "text", "--by", "lang", "--id", "id", "--worst", "4"},
		{"--logprob", "token_logprobs", "--bytes", "n_bytes", "--words", "n_words", "--base", "2", "--bootstrap", "40"},
		// No reliability diagram of token log-probabilities: a warning.
		{"--logprob", "token_logprobs", "--svg", "diagram.svg", "-o", "diagram.png"},
	} {
		want := evalCLI(t, dir, args, []string{"."})
		if want.code != 0 || !strings.Contains(want.stderr, "evalnll: warning: ") {
			t.Fatalf("eval %q: exit %d: %s", args, want.code, want.stderr)
		}
		compare(t, want, beamCLI(t, dir, args, []string{"."}))
	}
}

// Inputs, the reports, the kept state and the launcher's merged state in
// object storage (an in-process S3 server): the report is eval's over the
// same URL, and the temporary state is removed.
func TestObjectStore(t *testing.T) {
	s := storetest.StartS3(t)
	dir := t.TempDir()
	genFiles(t, dir, -1, 0)
	names, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		s.Put(t, "in/"+filepath.Base(n), data)
	}
	in := s.URL("in/")
	want := evalCLI(t, dir, genArgs, []string{in})
	if want.code != 0 || want.json == nil {
		t.Fatalf("eval over %s: exit %d: %s", in, want.code, want.stderr)
	}
	out, kept := s.URL("out/r.json"), s.URL("out/merged.evst")
	args := append(append([]string{}, genArgs...), "--json", out, "--state", kept, "--state_dir", s.URL("tmp/"))
	got := beamRun(t, dir, args, []string{in}, "")
	ctx := context.Background()
	if got.json, err = store.ReadAll(ctx, out, 1<<30); err != nil {
		t.Fatalf("exit %d, stderr %q: %v", got.code, got.stderr, err)
	}
	compare(t, want, got)
	st, err := store.ReadAll(ctx, kept, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := partial.Decode(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Complete(); err != nil || len(ps.Inputs) != len(names) {
		t.Errorf("kept state: %v, %d inputs", err, len(ps.Inputs))
	}
	// The merged state the job wrote for the launcher is gone.
	if left, err := store.Expand(ctx, s.URL("tmp/*"), nil); err == nil || !strings.Contains(err.Error(), "no object matches") {
		t.Errorf("temporary states left: %q (%v)", left, err)
	}
}
