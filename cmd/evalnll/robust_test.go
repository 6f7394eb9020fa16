package main

// Tests that run the built binary as a user's CI would: signals, atomic
// report writes, and the hostile-file corpus under testdata/interop.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/evalnll once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evalnll-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "evalnll")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building evalnll: %v", buildErr)
	}
	return binPath
}

// bigInput writes a Parquet file of n rows (id, y, p) in row groups.
func bigInput(t *testing.T, path string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	rows := make([]predRow, n)
	for i := range rows {
		p := r.Float64()
		y := int64(0)
		if r.Float64() < p {
			y = 1
		}
		rows[i] = predRow{int64(i), y, p}
	}
	writePreds(t, path, rows)
}

// TestNoReportOnError: an input error exits 2 and leaves the existing
// report untouched; the inputs are not modified.
func TestNoReportOnError(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "testdata", "golden", "err_nan_prob", "nan_prob.parquet")
	before, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	os.WriteFile(out, []byte("keep me"), 0o644)
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--label", "y", "--prob", "p", "--json", out, in})
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(se.String(), "nan_prob.parquet:") || strings.Count(se.String(), "\n") != 1 {
		t.Errorf("error is not one line naming the file and row: %q", se.String())
	}
	if got, _ := os.ReadFile(out); string(got) != "keep me" {
		t.Errorf("report changed on error: %q", got)
	}
	after, _ := os.ReadFile(in)
	if !bytes.Equal(before, after) {
		t.Error("input file was modified")
	}
}

// TestInterop: every valid file of the interop corpus inspects with exit 0;
// every bad or fuzzer-found file, given to inspect and to eval, exits 2
// with one line naming the file, no panic, under 300 MiB. The deadline of
// each process only catches a hang; no speed is asserted.
func TestInterop(t *testing.T) {
	if !longTests() {
		t.Skip("runs the binary on every file of the corpus: set EVALNLL_LONG=1 (.ci/run does); the reader's TestInteropCorpus reads the same files")
	}
	bin := binary(t)
	root := filepath.Join("..", "..", "testdata", "interop")
	var valid, bad []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".txt") || strings.HasPrefix(name, "LICENSE") {
			return nil
		}
		switch {
		case strings.Contains(p, "bad_data"), strings.Contains(p, "arrow-ipc-file"), strings.HasPrefix(name, "clusterfuzz-"):
			bad = append(bad, p)
		case strings.Contains(p, string(filepath.Separator)+"data"+string(filepath.Separator)):
			valid = append(valid, p)
		}
		return nil
	})
	if len(valid) < 20 || len(bad) < 10 {
		t.Fatalf("interop corpus not found or incomplete under %s: %d valid, %d bad", root, len(valid), len(bad))
	}
	runBin := func(args ...string) (int, string, int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ctx.Err() != nil {
			t.Errorf("evalnll %s: still running after 2 minutes: hung", strings.Join(args, " "))
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		var rss int64
		if cmd.ProcessState != nil {
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				rss = ru.Maxrss * 1024
			}
		}
		return code, se.String(), rss
	}
	// These files in data/ are corrupt on purpose (their names say so):
	// inspect must reject them.
	corrupt := map[string]bool{
		"datapage_v1-corrupt-checksum.parquet":           true,
		"rle-dict-uncompressed-corrupt-checksum.parquet": true,
		"nation.dict-malformed.parquet":                  true,
	}
	for _, p := range valid {
		t.Run("valid/"+filepath.Base(p), func(t *testing.T) {
			code, se, _ := runBin("inspect", p)
			want := 0
			if corrupt[filepath.Base(p)] {
				want = 2
			}
			if code != want {
				t.Errorf("inspect exit %d, want %d: %s", code, want, se)
			}
			if code == 2 && strings.Count(se, "\n") != 1 {
				t.Errorf("not one line: %q", se)
			}
		})
	}
	// ARROW-GH-43605.parquet is in bad_data because it crashed arrow-go's
	// reader, but its data is valid: a dictionary index page with RLE bit
	// width 0 over a one-entry dictionary (21186 zeros). Arrow's fix reads
	// it; so does evalnll, and inspect rightly exits 0 on it.
	readable := map[string]bool{"ARROW-GH-43605.parquet": true}
	for _, p := range bad {
		for _, args := range [][]string{{"inspect", p}, {"eval", "--label", "y", "--prob", "p", p}} {
			t.Run(args[0]+"/"+filepath.Base(p), func(t *testing.T) {
				code, se, rss := runBin(args...)
				if readable[filepath.Base(p)] && args[0] == "inspect" {
					if code != 0 {
						t.Errorf("inspect exit %d on a readable file: %s", code, se)
					}
					return
				}
				if code != 2 {
					t.Errorf("exit %d, want 2: %s", code, se)
				}
				if strings.Count(se, "\n") != 1 || !strings.Contains(se, filepath.Base(p)) {
					t.Errorf("stderr is not one line naming the file: %q", se)
				}
				if strings.Contains(se, "goroutine ") || strings.Contains(se, "panic:") {
					t.Errorf("panic: %s", se)
				}
				// Linux starts a child's maxrss at its parent's peak (Go
				// starts it sharing this process's memory until exec),
				// so only a peak above this test process's own tells.
				if limit := max(300<<20, selfPeakRSS()+64<<20); rss > limit {
					t.Errorf("peak RSS %d MiB (limit %d MiB)", rss>>20, limit>>20)
				}
			})
		}
	}
}

// TestFirstErrorInInputOrder: with invalid rows in several files and row
// groups, the error names the first in input order whatever --workers.
func TestFirstErrorInInputOrder(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, badAt ...int) {
		rows := make([]predRow, 3000)
		for i := range rows {
			rows[i] = predRow{int64(i), int64(i % 2), 0.25}
		}
		for _, b := range badAt {
			rows[b].P = 1.5
		}
		// Row groups of 500 rows: the bad rows sit in different units.
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[predRow](f, parquet.MaxRowsPerRowGroup(500))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	mk("a.parquet")
	mk("b.parquet", 2999, 10)
	mk("c.parquet", 0)
	for _, w := range []string{"1", "2", "4", "8"} {
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--label", "y", "--prob", "p", dir})
		want := filepath.Join(dir, "b.parquet") + ":11: "
		if code != 2 || !strings.Contains(se.String(), want) {
			t.Fatalf("--workers %s: exit %d, stderr %q; want it to name %s", w, code, se.String(), want)
		}
	}
}

type mcRow struct {
	Y int64     `parquet:"y"`
	P []float64 `parquet:"p,list"`
}

// TestClassCountFromFirstList: without a fixed-size list, the class count is
// the length of the first non-null list in input order, whatever worker
// evaluated which row group first. Here a.parquet starts with 3-class rows
// and every later row group holds 4-class rows, so a worker that starts on a
// later row group adopts 4 and the run is made again with 3: the report is
// the same for every --workers, with the 4-class rows invalid.
func TestClassCountFromFirstList(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, rows []mcRow) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[mcRow](f, parquet.MaxRowsPerRowGroup(50))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	row := func(i, k int) mcRow {
		p := make([]float64, k)
		for j := range p {
			p[j] = 1 / float64(k)
		}
		p[0] += 0.5 / float64(k)
		p[1] -= 0.5 / float64(k)
		return mcRow{Y: int64(i % k), P: p}
	}
	var a, b []mcRow
	for i := range 500 {
		k := 4
		if i < 30 {
			k = 3
		}
		a = append(a, row(i, k))
		b = append(b, row(i, 4))
	}
	mk("a.parquet", a)
	mk("b.parquet", b)
	var first []byte
	for _, w := range []string{"1", "2", "4", "2", "8", "2"} {
		out := filepath.Join(dir, "r"+w+".json")
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--on-invalid", "skip", "--label", "y", "--prob", "p", "--json", out, filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")})
		if code != 0 {
			t.Fatalf("--workers %s: exit %d: %s", w, code, se.String())
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Classes int `json:"classes"`
			Overall struct {
				Rows    int64            `json:"rows"`
				Skipped map[string]int64 `json:"skipped"`
			} `json:"overall"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Overall.Rows != 30 || doc.Overall.Skipped["length"] != 970 {
			t.Fatalf("--workers %s: rows %d, skipped %v; want 30 rows and 970 of length", w, doc.Overall.Rows, doc.Overall.Skipped)
		}
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Fatalf("--workers %s: report differs from --workers 1:\n%s\n%s", w, first, data)
		}
	}
	// In error mode the first 4-class row is the error.
	for _, w := range []string{"1", "2", "4"} {
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--label", "y", "--prob", "p", filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")})
		want := filepath.Join(dir, "a.parquet") + ":31: "
		if code != 2 || !strings.Contains(se.String(), want) {
			t.Fatalf("--workers %s: exit %d, stderr %q; want it to name %s", w, code, se.String(), want)
		}
	}
}

// TestOneUnitSharedByWorkers: a file of one row group is cut into row ranges
// for the workers; the report does not change with --workers, and the first
// invalid row is still the earliest, whichever part holds it.
func TestOneUnitSharedByWorkers(t *testing.T) {
	dir := t.TempDir()
	rows := make([]predRow, 5000)
	for i := range rows {
		rows[i] = predRow{int64(i), int64(i % 3 % 2), sigmoid(float64(i%17) - 8)}
	}
	good := filepath.Join(dir, "good.parquet")
	writePreds(t, good, rows)
	var first []byte
	for _, w := range []string{"1", "2", "3", "4"} {
		out := filepath.Join(dir, "r"+w+".json")
		var so, se bytes.Buffer
		if code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--label", "y", "--prob", "p", "--json", out, good}); code != 0 {
			t.Fatalf("--workers %s: exit %d: %s", w, code, se.String())
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Fatalf("--workers %s: report differs from --workers 1:\n%s\n%s", w, first, data)
		}
	}
	rows[4000].P = math.NaN() // in the last part
	rows[1200].P = 2          // in the first part
	bad := filepath.Join(dir, "bad.parquet")
	writePreds(t, bad, rows)
	for _, w := range []string{"1", "2", "4"} {
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--label", "y", "--prob", "p", bad})
		if want := bad + ":1201: "; code != 2 || !strings.Contains(se.String(), want) {
			t.Fatalf("--workers %s: exit %d, stderr %q; want it to name %s", w, code, se.String(), want)
		}
	}
}

// TestOneUnitManyBatchesShared: a single row group of list rows read in many
// batches, copied and shared between the workers while the reader goes on:
// the same report for every --workers, and the earliest invalid row wins
// even when a later batch fails first.
func TestOneUnitManyBatchesShared(t *testing.T) {
	dir := t.TempDir()
	rows := make([]mcRow, 20000)
	for i := range rows {
		q := 0.2 + 0.6*float64(i%13)/13
		rows[i] = mcRow{Y: int64(i % 3), P: []float64{q, (1 - q) / 2, (1 - q) / 2}}
	}
	write := func(name string) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
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
		return path
	}
	good := write("good.parquet")
	rows[15000].P[0] = 0.9 // sums to more than 1: invalid, in a late batch
	rows[9000].P[1] = 0.5  // and in an earlier one
	bad := write("bad.parquet")
	var first []byte
	for _, w := range []string{"1", "2", "3", "4", "2"} {
		for _, in := range []string{good, bad} {
			out := filepath.Join(dir, "r.json")
			var so, se bytes.Buffer
			if code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--on-invalid", "skip", "--label", "y", "--prob", "p", "--json", out, in}); code != 0 {
				t.Fatalf("--workers %s: exit %d: %s", w, code, se.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if in == good {
				continue
			}
			if !bytes.Contains(data, []byte(`"sum": 2`)) {
				t.Fatalf("--workers %s: want 2 rows skipped for their sum:\n%s", w, data)
			}
			if first == nil {
				first = data
			} else if !bytes.Equal(first, data) {
				t.Fatalf("--workers %s: report differs from --workers 1", w)
			}
		}
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--workers", w, "--label", "y", "--prob", "p", bad})
		if want := bad + ":9001: "; code != 2 || !strings.Contains(se.String(), want) {
			t.Fatalf("--workers %s: exit %d, stderr %q; want it to name %s", w, code, se.String(), want)
		}
	}
}

// selfPeakRSS is this test process's peak resident memory.
func selfPeakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss * 1024
}
