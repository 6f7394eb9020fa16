package main

// The adversarial mutation sweep (issue 18): mutants of a Parquet file, an
// Arrow IPC file and an Arrow IPC stream are evaluated by the built
// binary. Each must exit 0 or 2, never hang nor crash; on exit 2 stderr is
// one line naming the file and no report is written.
//
// The default suite runs 100 mutants; EVALNLL_MUTANTS=N runs N (the
// issue's sweep: 4,000), EVALNLL_MUTANTS_SEED another set, and
// EVALNLL_MUTANTS_KEEP=DIR keeps the mutants that failed there.

import (
	"bytes"
	le "encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// mutationSample is a valid input and the flags that evaluate it.
type mutationSample struct {
	name string
	data []byte
	args []string
}

type slicedRow struct {
	Y int64   `parquet:"y"`
	P float64 `parquet:"p"`
	S string  `parquet:"s,plain"`
}

// mutationSamples are the inputs mutated: the breast cancer predictions
// (Parquet), a Parquet file with a string slice column in v1 pages, the
// iris predictions (Arrow IPC file) and a Polars Arrow IPC stream.
func mutationSamples(t *testing.T) []mutationSample {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var sliced bytes.Buffer
	w := parquet.NewGenericWriter[slicedRow](&sliced, parquet.DataPageVersion(1), parquet.PageBufferSize(512))
	var rows []slicedRow
	for i := 0; i < 120; i++ {
		rows = append(rows, slicedRow{int64(i % 2), float64(i%9+1) / 10, "group-" + strconv.Itoa(i%5)})
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return []mutationSample{
		{"breast_cancer.parquet", read("testdata/samples/breast_cancer_lr.parquet"), []string{"--label", "y", "--prob", "p"}},
		{"sliced.parquet", sliced.Bytes(), []string{"--label", "y", "--prob", "p", "--by", "s"}},
		{"iris.arrow", read("testdata/samples/iris.arrow"), []string{"--label", "y", "--prob", "probs"}},
		{"polars.arrows", read("testdata/golden/ipc_stream_polars/preds.arrows"), []string{"--label", "y", "--prob", "p"}},
	}
}

// mutate returns a copy of b changed in one of a few ways that hostile
// or broken files take: flipped bits, bytes set to edge values, a 32-bit
// length or offset set to a large or negative number, a truncation, a
// range zeroed or repeated. Half of the changes fall in the last 256
// bytes, where Parquet and Arrow files keep their footers.
func mutate(r *rand.Rand, b []byte) []byte {
	m := append([]byte(nil), b...)
	pos := func() int {
		if r.IntN(2) == 0 && len(m) > 256 {
			return len(m) - 1 - r.IntN(256)
		}
		return r.IntN(len(m))
	}
	for n := 1 + r.IntN(3); n > 0; n-- {
		if len(m) < 8 {
			break
		}
		switch r.IntN(7) {
		case 0: // bit flips
			for k := 1 + r.IntN(4); k > 0; k-- {
				m[pos()] ^= 1 << r.IntN(8)
			}
		case 1: // edge bytes
			edges := []byte{0, 0xff, 0x7f, 0x80, 1}
			m[pos()] = edges[r.IntN(len(edges))]
		case 2: // a 32-bit length or offset
			p := min(pos(), len(m)-4)
			vals := []uint32{0xffffffff, 0x7fffffff, 0x80000000, 1 << 20, uint32(len(m)) + 1, 0}
			le.LittleEndian.PutUint32(m[p:], vals[r.IntN(len(vals))])
		case 3: // truncation
			m = m[:pos()]
		case 4: // a zeroed range
			p := pos()
			for i := p; i < min(len(m), p+1+r.IntN(64)); i++ {
				m[i] = 0
			}
		case 5: // a repeated range
			p := pos()
			q := min(len(m), p+1+r.IntN(64))
			m = append(m[:q:q], append(append([]byte(nil), m[p:q]...), m[q:]...)...)
		case 6: // a thrift/flatbuffer varint byte made long
			m[pos()] |= 0x80
		}
	}
	return m
}

// mutantOutcome runs args on the binary with a failsafe, and checks the
// contract; it returns a description of a violation, or "".
func mutantOutcome(bin, dir, file string, args []string) string {
	report := filepath.Join(dir, "report.json")
	os.Remove(report)
	full := append(append([]string{}, args...), file)
	if args[0] == "eval" {
		full = append(append([]string{}, args...), "--json", report, "--quiet", "--workers", "2", file)
	}
	cmd := exec.Command(bin, full...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second): // a failsafe against hangs
		cmd.Process.Kill()
		<-done
		return "hung (killed after 60 s)"
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return err.Error()
	}
	_, statErr := os.Stat(report)
	switch code {
	case 0:
		if args[0] == "eval" && statErr != nil {
			return "exit 0 without a report"
		}
		if se.Len() > 0 {
			return fmt.Sprintf("exit 0 with stderr %q", se.String())
		}
	case 2:
		line := se.String()
		if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "evalnll: "+file) {
			return fmt.Sprintf("stderr is not one line naming the file: %q", truncate(line, 600))
		}
		if statErr == nil {
			return "exit 2 but a report was written"
		}
	default:
		return fmt.Sprintf("exit %d, stderr %q", code, truncate(se.String(), 600))
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func TestMutationSweep(t *testing.T) {
	n := 100
	if s := os.Getenv("EVALNLL_MUTANTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("EVALNLL_MUTANTS=%q", s)
		}
	}
	seed := uint64(18)
	if s := os.Getenv("EVALNLL_MUTANTS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	keep := os.Getenv("EVALNLL_MUTANTS_KEEP")
	bin := binary(t)
	samples := mutationSamples(t)
	r := rand.New(rand.NewPCG(seed, 18))
	type mutant struct {
		i    int
		s    mutationSample
		data []byte
	}
	mutants := make([]mutant, n)
	for i := range mutants {
		s := samples[i%len(samples)]
		mutants[i] = mutant{i, s, mutate(r, s.data)}
	}
	// Two at a time (the machine's cores); results in mutant order.
	type outcome struct {
		violations []string
		evaluated  bool
	}
	outs := make([]outcome, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		dir := t.TempDir()
		wg.Go(func() {
			for i := range next {
				m := mutants[i]
				file := filepath.Join(dir, fmt.Sprintf("mutant-%04d-%s", m.i, m.s.name))
				if err := os.WriteFile(file, m.data, 0o644); err != nil {
					outs[i].violations = append(outs[i].violations, err.Error())
					continue
				}
				runs := [][]string{append([]string{"eval"}, m.s.args...)}
				if i%4 == 0 {
					runs = append(runs, []string{"inspect"})
				}
				for _, args := range runs {
					if v := mutantOutcome(bin, dir, file, args); v != "" {
						outs[i].violations = append(outs[i].violations, args[0]+": "+v)
					} else if args[0] == "eval" {
						_, err := os.Stat(filepath.Join(dir, "report.json"))
						outs[i].evaluated = err == nil
					}
				}
				os.Remove(file)
			}
		})
	}
	for i := range mutants {
		next <- i
	}
	close(next)
	wg.Wait()
	counts := map[int]int{}
	for i, o := range outs {
		for _, v := range o.violations {
			t.Errorf("mutant %d of %s: %s", i, mutants[i].s.name, v)
		}
		if len(o.violations) > 0 && keep != "" {
			os.WriteFile(filepath.Join(keep, fmt.Sprintf("mutant-%04d-%s", i, mutants[i].s.name)), mutants[i].data, 0o644)
		}
		if o.evaluated {
			counts[0]++
		} else if len(o.violations) == 0 {
			counts[2]++
		}
	}
	t.Logf("%d mutants: %d evaluated (exit 0), %d refused (exit 2)", n, counts[0], counts[2])
	if n >= 40 && (counts[0] == 0 || counts[2] == 0) {
		t.Errorf("the sweep is one-sided (%v): the mutations do not exercise both outcomes", counts)
	}
}
