package main

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
)

// heapOf is the heap that build's result holds: the mean of 8 results,
// held at once (one alone is within the GC's noise).
func heapOf(build func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	vs := make([]any, 8)
	for i := range vs {
		vs[i] = build()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(vs)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / 8
}

// evalRows evaluates n unweighted binary rows, each in a slice of its own
// with by, into a fresh evaluator, and returns its state.
func evalRows(cfg metrics.Config, n int, by bool) *metrics.State {
	y := make([]int64, n)
	p := make([]float64, n)
	s := make([]string, n)
	for i := range n {
		y[i], p[i], s[i] = int64(i%2), float64(i%97+1)/100, "k"+strconv.Itoa(i)
	}
	c := &metrics.Cols{Rows: n,
		Label: &column.Column{Type: column.Int, Len: n, Ints: y},
		Pred:  &column.Column{Type: column.Float64, Len: n, F64: p}}
	if by {
		cfg.ByCols, cfg.MaxSlices = 1, n
		c.By = []*column.Column{{Type: column.String, Len: n, Strs: s}}
	}
	ev := metrics.NewEvaluator(&cfg, 0)
	ev.BeginUnit(0)
	ev.Add(c, 0)
	return ev.State()
}

// TestFlagMemory: the memory --help states for --workers, --bins,
// --max-slices and --worst is what an evaluator takes, and the --worst
// list never holds more rows than were read.
func TestFlagMemory(t *testing.T) {
	cfg := metrics.DefaultConfig()
	worker := heapOf(func() any { return evalRows(cfg, 100, false) })
	if worker > memWorker {
		t.Errorf("a worker takes %.0f bytes, --help says %d", worker, memWorker)
	}
	boot := func(bins int) float64 {
		c := cfg
		c.Bins, c.Bootstrap = bins, metrics.DefaultBootstrap()
		return heapOf(func() any { return evalRows(c, 100, false) })
	}
	if perBin := (boot(115) - boot(15)) / 100; perBin > memBootBin {
		t.Errorf("a bin costs %.0f bytes with the bootstrap, --help says %d", perBin, memBootBin)
	}
	const n = 200
	slices := func(bins int) float64 {
		c := cfg
		c.Bins = bins
		return heapOf(func() any { return evalRows(c, n, true) }) / n
	}
	s15, s65 := slices(15), slices(65)
	if s15 > memSlice+15*memSliceBin {
		t.Errorf("a slice costs %.0f bytes at 15 bins, --help says %d", s15, memSlice+15*memSliceBin)
	}
	if perBin := (s65 - s15) / 50; perBin > memSliceBin {
		t.Errorf("a slice's bin costs %.0f bytes, --help says %d", perBin, memSliceBin)
	}
	t.Logf("worker %.0f B; slice %.0f B at 15 bins, %.0f B at 65", worker, s15, s65)

	c := cfg
	c.Worst = maxWorst
	var st *metrics.State
	worst := heapOf(func() any { st = evalRows(c, 1000, false); return st }) - heapOf(func() any { return evalRows(cfg, 1000, false) })
	if got := len(st.Summary().Worst); got != 1000 {
		t.Errorf("--worst %d over 1000 rows lists %d", maxWorst, got)
	}
	if worst > 1000*memWorstRow {
		t.Errorf("--worst %d over 1000 rows takes %.0f bytes, more than 1000 rows of %d", maxWorst, worst, memWorstRow)
	}
}

// TestFlagLimits: values beyond the limits are usage errors that say the
// limit.
func TestFlagLimits(t *testing.T) {
	in := smallInput(t, t.TempDir())
	for _, c := range []struct{ flag, val, want string }{
		{"--bins", "1001", "between 1 and 1000"},
		{"--workers", "257", "between 0 and 256"},
		{"--worst", "100001", "between 0 and 100000"},
	} {
		code, _, se := runIn(t, "eval", "--label", "y", "--prob", "p", c.flag, c.val, in)
		if code != 2 {
			t.Fatalf("%s %s: exit %d", c.flag, c.val, code)
		}
		oneLineErr(t, se, c.flag, c.want)
	}
	code, _, se := runIn(t, "eval", "--label", "y", "--prob", "p", "--by", "id", "--max-slices", "50", in)
	if code != 2 {
		t.Fatalf("--max-slices 50 over 200 ids: exit %d", code)
	}
	oneLineErr(t, se, "more than 50 distinct --by combinations")
}
