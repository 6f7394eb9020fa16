package partial

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/report"
)

// shardState evaluates rows rows of generated binary predictions with
// slices as shard i of n, over one input of n*rows rows.
func shardState(t testing.TB, cfg *metrics.Config, i, n, rows int, seed uint64) *State {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	y := make([]int64, rows)
	p := make([]float64, rows)
	g := make([]int64, rows)
	for k := range y {
		p[k] = r.Float64()
		if r.Float64() < p[k] {
			y[k] = 1
		}
		g[k] = int64(r.IntN(10))
	}
	ev := metrics.NewEvaluator(cfg, 0)
	ev.BeginUnit(i)
	c := &metrics.Cols{Rows: rows,
		Label: &column.Column{Type: column.Int, Len: rows, Ints: y},
		Pred:  &column.Column{Type: column.Float64, Len: rows, F64: p},
		By:    []*column.Column{{Type: column.Int, Len: rows, Ints: g}},
	}
	if !ev.Add(c, 0) {
		t.Fatal("invalid rows")
	}
	st := ev.State()
	lo := int64(i * rows)
	return &State{
		Shards: n, Covered: [][2]int{{i, i + 1}},
		Mapping: report.Mapping{Label: "y", Prob: "p", By: []string{"g"}},
		Inputs:  []Input{{Name: "in.parquet", Format: "parquet", Rows: int64(n * rows), Read: int64(rows), Ranges: []Range{{lo, lo + int64(rows)}}}},
		Metrics: st,
	}
}

func byConfig() *metrics.Config {
	cfg := metrics.DefaultConfig()
	cfg.ByCols = 1
	cfg.Bootstrap = metrics.DefaultBootstrap()
	return &cfg
}

func TestEncodeDecode(t *testing.T) {
	cfg := byConfig()
	s := shardState(t, cfg, 1, 3, 500, 1)
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Fatal("decoded state encodes differently")
	}
	if d.Shards != 3 || fmt.Sprint(d.Covered) != "[[1 2]]" || d.Mapping.By[0] != "g" || d.Inputs[0].Ranges[0] != (Range{500, 1000}) {
		t.Fatalf("decoded %+v", d)
	}
	// Every truncation and every single-bit flip is an error.
	for n := 0; n < len(b); n += 1 + n/50 {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotState) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		c := append([]byte(nil), b...)
		c[r.IntN(len(c))] ^= 1 << r.IntN(8)
		if _, err := Decode(c); err == nil {
			t.Fatal("a flipped bit decoded")
		}
	}
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(c[8:], 9)
	if _, err := Decode(c); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 9: %v", err)
	}
}

func TestMergeCoverage(t *testing.T) {
	cfg := byConfig()
	a, b, c := shardState(t, cfg, 0, 3, 100, 1), shardState(t, cfg, 1, 3, 100, 1), shardState(t, cfg, 2, 3, 100, 1)
	if err := a.Merge(c); err != nil {
		t.Fatal(err)
	}
	if m, more := a.Missing(10); fmt.Sprint(m) != "[1]" || more {
		t.Fatalf("missing %v", m)
	}
	if err := a.Complete(); err == nil {
		t.Fatal("incomplete state passes")
	}
	var ov *OverlapError
	if err := a.Merge(shardState(t, cfg, 2, 3, 100, 1)); !errors.As(err, &ov) || ov.Shard != 2 {
		t.Fatalf("same shard twice: %v", err)
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if err := a.Complete(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Covered) != "[[0 3]]" || fmt.Sprint(a.Inputs[0].Ranges) != "[{0 300}]" || a.Inputs[0].Read != 300 {
		t.Fatalf("merged %v %v", a.Covered, a.Inputs)
	}
	// Rows read twice under other shard numbers: caught by the ranges.
	d := shardState(t, cfg, 0, 4, 100, 1)
	e := shardState(t, cfg, 1, 4, 100, 1)
	e.Inputs[0].Ranges = []Range{{50, 150}}
	if err := d.Merge(e); !errors.As(err, &ov) || ov.Shard != -1 || ov.Lo != 50 {
		t.Fatalf("overlapping rows: %v", err)
	}
	var mm *MismatchError
	f := shardState(t, cfg, 1, 4, 100, 1)
	f.Mapping.Label = "label"
	if err := d.Merge(f); !errors.As(err, &mm) || mm.Field != "the --label column" {
		t.Fatalf("mapping: %v", err)
	}
}

// wrap makes a state file of body, with a valid header and checksum.
func wrap(body []byte) []byte {
	out := append([]byte(Magic), 1, 0)
	out = append(out, make([]byte, 8)...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// FuzzDecode fuzzes the body of a state file (the header and checksum are
// made valid, or the fuzzer would not get past them): Decode never panics,
// and a state it accepts encodes and decodes again.
func FuzzDecode(f *testing.F) {
	cfg := byConfig()
	cfg.Bootstrap.Buckets = 4
	b, err := shardState(f, cfg, 0, 2, 30, 1).Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[headerLen : len(b)-4])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := Decode(wrap(body))
		if err != nil {
			return
		}
		e, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(e); err != nil {
			t.Fatalf("re-encoded state: %v", err)
		}
		s.Metrics.Summary()
	})
}

// BenchmarkMerge1000 decodes and merges 1000 states (binary, 10 slices,
// 1000 bootstrap replicates over 256 buckets, 15 bins each), checks their
// coverage and summarises the result: what evalnll merge does.
func BenchmarkMerge1000(b *testing.B) {
	cfg := byConfig()
	const n = 1000
	files := make([][]byte, n)
	size := 0
	for i := range files {
		var err error
		if files[i], err = shardState(b, cfg, i, n, 200, 3).Encode(); err != nil {
			b.Fatal(err)
		}
		size += len(files[i])
	}
	b.ReportMetric(float64(size)/n, "bytes/state")
	// On a shared machine the wall time per op says little: report the
	// process's CPU time (garbage collection included) too.
	cpu0 := cpuTime()
	b.ResetTimer()
	defer func() { b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op") }()
	for range b.N {
		var m, spare *State
		for _, f := range files {
			s, err := DecodeReusing(f, spare)
			if err != nil {
				b.Fatal(err)
			}
			if m == nil {
				m = s
			} else if err := m.Merge(s); err != nil {
				b.Fatal(err)
			} else {
				spare = s
			}
		}
		if err := m.Complete(); err != nil {
			b.Fatal(err)
		}
		m.Metrics.Summary()
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDecodeReusing: merging states decoded into the memory of states
// merged before gives the bytes of merging freshly decoded ones.
func TestDecodeReusing(t *testing.T) {
	cfg := byConfig()
	var files [][]byte
	for i := range 5 {
		b, err := shardState(t, cfg, i, 5, 300, 4).Encode()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	merge := func(reuse bool) []byte {
		var m, spare *State
		for _, f := range files {
			s, err := DecodeReusing(f, spare)
			if err != nil {
				t.Fatal(err)
			}
			if m == nil {
				m = s
				continue
			}
			if err := m.Merge(s); err != nil {
				t.Fatal(err)
			}
			if reuse {
				spare = s
			}
		}
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if string(merge(true)) != string(merge(false)) {
		t.Fatal("reusing memory changed the merged state")
	}
}

// TestDecodePositions: a state whose worst rows name an input it does not
// list is corrupt, even with a valid checksum.
func TestDecodePositions(t *testing.T) {
	cfg := byConfig()
	cfg.Worst = 3
	s := shardState(t, cfg, 0, 1, 50, 5)
	s.Metrics.RelocateWorst(func(int, int64) (int, int64) { return 1, 0 }) // input 2 of 1
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Decode: %v", err)
	}
}
