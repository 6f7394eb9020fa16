package pipeline

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/1", Shard{0, 1}, true}, {"3/7", Shard{3, 7}, true}, {"7/7", Shard{}, false},
		{"-1/3", Shard{}, false}, {"1/0", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false},
		{"0/2000000", Shard{}, false},
	} {
		got, err := ParseShard(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v", c.in, got, err)
		}
	}
}

// runShard evaluates share s of the files with the config of k and
// returns the encoded state and the ranges read.
func runShard(t *testing.T, paths []string, k splitKind, s Shard, workers int) ([]byte, *Result) {
	t.Helper()
	var files []reader.File
	for _, p := range paths {
		f, err := reader.Open(p, reader.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	cfg := k.cfg()
	job := &Job{
		Files: files, Names: paths, Columns: k.names(), Config: &cfg,
		Bind: k.bind, ColumnOf: func(metrics.Role) string { return "?" }, PredColumn: k.pred,
		Options: Options{Workers: workers, BatchRows: 100}, Shard: s,
	}
	res, err := Run(context.Background(), job)
	if err != nil {
		t.Fatalf("shard %v: %v", s, err)
	}
	b, err := res.State.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

// TestShardsCoverAndMerge: for N = 1..7 (more shares than units
// included), the shares of Parquet and Arrow IPC files of unequal units
// read every row once, and their states, encoded, decoded and merged,
// encode to the bytes of one run's state.
func TestShardsCoverAndMerge(t *testing.T) {
	dir := t.TempDir()
	for _, k := range splitKinds {
		pq := filepath.Join(dir, k.name+".parquet")
		ar := filepath.Join(dir, k.name+".arrow")
		writeKind(t, pq, k, splitGroups, false, nil, nil)
		writeKindArrow(t, ar, k, false)
		paths := []string{ar, pq}
		want, whole := runShard(t, paths, k, Shard{}, 2)
		var total int64
		for _, n := range whole.FileRows {
			total += n
		}
		for n := 1; n <= 7; n++ {
			var merged *metrics.State
			var rows int64
			covered := make([][]bool, len(paths))
			for i := range covered {
				covered[i] = make([]bool, whole.FileRows[i])
			}
			for i := n - 1; i >= 0; i-- {
				b, res := runShard(t, paths, k, Shard{i, n}, 1+i%2)
				for f, rs := range res.Ranges {
					for _, r := range rs {
						for x := r.Lo; x < r.Hi; x++ {
							if covered[f][x] {
								t.Fatalf("%s N=%d: row %d of %s read twice", k.name, n, x, paths[f])
							}
							covered[f][x] = true
							rows++
						}
					}
				}
				st, err := metrics.DecodeState(b)
				if err != nil {
					t.Fatal(err)
				}
				if merged == nil {
					merged = st
				} else if err := merged.Merge(st); err != nil {
					t.Fatal(err)
				}
			}
			if rows != total {
				t.Fatalf("%s N=%d: %d rows read, want %d", k.name, n, rows, total)
			}
			got, err := merged.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s N=%d: merged state differs from one run's", k.name, n)
			}
		}
	}
}

// TestShareBalance: one large Parquet row group is cut between shares,
// each share holding a similar number of rows.
func TestShareBalance(t *testing.T) {
	dir := t.TempDir()
	k := splitKinds[len(splitKinds)-1]
	p := filepath.Join(dir, "one.parquet")
	writeKind(t, p, k, []int{20000}, false, nil, nil)
	for _, n := range []int{2, 3, 5} {
		var counts []int64
		for i := range n {
			_, res := runShard(t, []string{p}, k, Shard{i, n}, 1)
			counts = append(counts, res.FileRows[0])
		}
		for _, c := range counts {
			if c < 20000/int64(n)/2 || c > 20000/int64(n)*2 {
				t.Errorf("N=%d: rows per share %v, not near %d", n, counts, 20000/n)
			}
		}
	}
}
