package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateSamples = flag.Bool("update-samples", false, "rewrite testdata/samples/*.golden.{md,txt} from the current output")

// TestSampleReports runs eval on the sample prediction files and compares
// the markdown report and the text summary with golden files; with
// -update-samples it rewrites them.
func TestSampleReports(t *testing.T) {
	root := filepath.Join("..", "..")
	cases := []struct {
		name string
		args []string
	}{
		{"breast_cancer_lr", []string{"--label", "y", "--prob", "p", "--worst", "3", "--fail-if", "ece > 0.05", "testdata/samples/breast_cancer_lr.parquet"}},
		{"digits_lr", []string{"--label", "y", "--prob", "probs", "--base", "2", "testdata/samples/digits_lr.parquet"}},
		{"iris", []string{"--label", "y", "--prob", "probs", "--binning", "quantile", "--bins", "5", "testdata/samples/iris.arrow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := filepath.Join(t.TempDir(), "report.md")
			args := append([]string{"eval", "--md", md}, c.args...)
			for i, a := range args {
				if strings.HasPrefix(a, "testdata/") {
					args[i] = filepath.Join(root, a)
				}
			}
			var so, se bytes.Buffer
			if code := run(context.Background(), strings.NewReader(""), &so, &se, args); code != 0 {
				t.Fatalf("exit %d: %s", code, se.String())
			}
			gotMD, err := os.ReadFile(md)
			if err != nil {
				t.Fatal(err)
			}
			// The text summary goes to stdout when no report is asked for.
			var txt bytes.Buffer
			argsTxt := append([]string{"eval"}, args[3:]...)
			if code := run(context.Background(), strings.NewReader(""), &txt, &se, argsTxt); code != 0 {
				t.Fatalf("text run exit %d: %s", code, se.String())
			}
			// Paths differ between machines only by the root we joined.
			norm := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(root+string(filepath.Separator)), nil) }
			for _, g := range []struct {
				ext  string
				data []byte
			}{{"md", norm(gotMD)}, {"txt", norm(txt.Bytes())}} {
				path := filepath.Join(root, "testdata", "samples", c.name+".golden."+g.ext)
				if *updateSamples {
					if err := os.WriteFile(path, g.data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd/evalnll -run SampleReports -update-samples)", err)
				}
				if !bytes.Equal(g.data, want) {
					t.Errorf("%s differs from %s (rewrite with -update-samples):\n%s", g.ext, path, firstDiff(string(want), string(g.data)))
				}
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + x + "\n  got:  " + y
		}
	}
	return ""
}

// TestProfiles: --cpuprofile and --memprofile write gzipped pprof
// profiles, and the run's report is the same as without them.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "testdata", "samples", "digits_lr.parquet")
	report := func(extra ...string) []byte {
		js := filepath.Join(dir, "r.json")
		var so, se bytes.Buffer
		args := append([]string{"eval", "--quiet", "--json", js, "--label", "y", "--prob", "probs"}, extra...)
		if code := run(context.Background(), strings.NewReader(""), &so, &se, append(args, in)); code != 0 {
			t.Fatalf("exit %d: %s", code, se.String())
		}
		b, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plain := report()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	if got := report("--cpuprofile", cpu, "--memprofile", mem); !bytes.Equal(got, plain) {
		t.Error("the report changed with profiling on")
	}
	for _, p := range []string{cpu, mem} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, not a gzipped pprof profile", p, len(b))
		}
	}
}
