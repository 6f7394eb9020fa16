package main

import (
	"bytes"
	"context"
	enc "encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/reader/pqwrite"
)

// shardKind is an evaluation of generated inputs for the scale-out tests.
type shardKind struct {
	name string
	pred pqwrite.Col
	// label makes a row's label and prediction cells.
	row     func(r *rand.Rand) (label, pred pqwrite.Cell)
	list    bool // the label is a list (multilabel)
	noLabel bool // a logprob run: no --label
	args    []string
}

func probCell(r *rand.Rand) pqwrite.Cell { return pqwrite.Cell{V: r.Float64()} }

func listCell(vs []float64) pqwrite.Cell {
	c := pqwrite.Cell{List: []pqwrite.Elem{}}
	for _, v := range vs {
		c.List = append(c.List, pqwrite.Elem{V: v})
	}
	return c
}

func dirichlet(r *rand.Rand, k int) []float64 {
	ps := make([]float64, k)
	var s float64
	for i := range ps {
		ps[i] = r.ExpFloat64()
		s += ps[i]
	}
	for i := range ps {
		ps[i] /= s
	}
	return ps
}

var shardKinds = []shardKind{
	{name: "binary-prob", pred: pqwrite.Col{Name: "p", Type: format.Double, PageLevels: 16},
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			return pqwrite.Cell{V: float64(r.IntN(2))}, probCell(r)
		}, args: []string{"--prob", "p"}},
	{name: "binary-logit-quantile", pred: pqwrite.Col{Name: "z", Type: format.Float, PageLevels: 16},
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			return pqwrite.Cell{V: float64(r.IntN(2))}, pqwrite.Cell{V: r.NormFloat64() * 3}
		}, args: []string{"--logit", "z", "--binning", "quantile", "--bins", "7", "--auroc"}},
	{name: "multiclass-probs", pred: pqwrite.Col{Name: "probs", Type: format.Double, List: true, PageLevels: 40},
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			return pqwrite.Cell{V: float64(r.IntN(4))}, listCell(dirichlet(r, 4))
		}, args: []string{"--prob", "probs", "--auroc", "--topk", "2", "--classwise"}},
	{name: "multiclass-logits-skip", pred: pqwrite.Col{Name: "logits", Type: format.Float, List: true, PageLevels: 40},
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			y := float64(r.IntN(3))
			if r.IntN(40) == 0 {
				y = 7 // invalid: skipped as bad_label
			}
			return pqwrite.Cell{V: y}, listCell([]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()})
		}, args: []string{"--logit", "logits", "--on-invalid", "skip"}},
	{name: "multilabel", pred: pqwrite.Col{Name: "probs", Type: format.Double, List: true, PageLevels: 40}, list: true,
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			return listCell([]float64{float64(r.IntN(2)), float64(r.IntN(2))}), listCell([]float64{r.Float64(), r.Float64()})
		}, args: []string{"--prob", "probs"}},
	{name: "logprob-tokens", pred: pqwrite.Col{Name: "lp", Type: format.Double, List: true, PageLevels: 64},
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			vs := make([]float64, r.IntN(6))
			for i := range vs {
				vs[i] = -r.ExpFloat64()
			}
			return pqwrite.Cell{}, listCell(vs)
		}, noLabel: true, args: []string{"--logprob", "lp", "--base", "2"}},
	{name: "logprob-scalar", pred: pqwrite.Col{Name: "lp", Type: format.Double, PageLevels: 16}, noLabel: true,
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			return pqwrite.Cell{}, pqwrite.Cell{V: -r.ExpFloat64()}
		}, args: []string{"--logprob", "lp", "--base", "10"}},
	{name: "gaussian", pred: pqwrite.Col{Name: "mean", Type: format.Double, PageLevels: 16},
		row: func(r *rand.Rand) (pqwrite.Cell, pqwrite.Cell) {
			return pqwrite.Cell{V: r.NormFloat64()}, pqwrite.Cell{V: r.NormFloat64() / 2}
		}, args: []string{"--mean", "mean", "--std", "s"}},
}

// writeShardInputs writes files of kind k in row groups of random, uneven
// sizes, with a weight, a slice and an id column, and returns the folder.
func writeShardInputs(t *testing.T, k shardKind, r *rand.Rand) string {
	t.Helper()
	dir := t.TempDir()
	label := pqwrite.Col{Name: "y", Type: format.Double, PageLevels: 16}
	if k.list {
		label = pqwrite.Col{Name: "y", Type: format.Double, List: true, PageLevels: 40}
	}
	cols := []pqwrite.Col{label, k.pred,
		{Name: "w", Type: format.Double, PageLevels: 16},
		{Name: "g", Type: format.Int32, PageLevels: 16, Optional: true},
		{Name: "id", Type: format.Int64, PageLevels: 16},
		{Name: "s", Type: format.Double, PageLevels: 16}}
	id := 0
	for f := range 1 + r.IntN(3) {
		var groups [][][]pqwrite.Cell
		for range 1 + r.IntN(3) {
			g := make([][]pqwrite.Cell, len(cols))
			for range 1 + r.IntN(150) {
				l, p := k.row(r)
				gc := pqwrite.Cell{V: float64(r.IntN(4))}
				if r.IntN(10) == 0 {
					gc = pqwrite.Cell{Null: true}
				}
				cells := []pqwrite.Cell{l, p, {V: r.Float64() * 3}, gc, {V: float64(id * 7 % 1000)}, {V: 0.1 + r.Float64()}}
				id++
				for j := range g {
					g[j] = append(g[j], cells[j])
				}
			}
			groups = append(groups, g)
		}
		pf := pqwrite.File{Cols: cols, Groups: groups, Snappy: f%2 == 0}
		if err := pf.Write(filepath.Join(dir, fmt.Sprintf("part-%d.parquet", f))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCLIcode runs evalnll in-process and returns its exit status and stderr.
func runCLIcode(args ...string) (int, string) {
	var so, se bytes.Buffer
	code := run(context.Background(), strings.NewReader(""), &so, &se, args)
	return code, se.String()
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShardMergeProperty: for random multi-file inputs of every kind, with
// --by, --weight, --id, --worst and bootstrap intervals, the JSON report of
// merge over the states of N shards (N = 1..7, more than the units
// included; states in random order) is byte-identical to eval's, and so is
// a merge of merges.
func TestShardMergeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 1))
	for _, k := range shardKinds {
		t.Run(k.name, func(t *testing.T) {
			in := writeShardInputs(t, k, r)
			dir := t.TempDir()
			args := append([]string{"eval", "--weight", "w", "--by", "g", "--worst", "6", "--bootstrap", "100"}, k.args...)
			if !k.noLabel {
				args = append(args, "--label", "y")
			}
			if r.IntN(2) == 0 {
				args = append(args, "--id", "id")
			}
			args = append(args, in)
			want := filepath.Join(dir, "one.json")
			if code, se := runCLIcode(append(args, "--json", want)...); code != 0 {
				t.Fatalf("eval: exit %d: %s", code, se)
			}
			wantB := mustRead(t, want)
			for n := 1; n <= 7; n++ {
				var states []string
				for i := range n {
					s := filepath.Join(dir, fmt.Sprintf("s%d-%d.evst", n, i))
					if code, se := runCLIcode(append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--state", s, "--workers", fmt.Sprint(1+i%2))...); code != 0 {
						t.Fatalf("eval --shard %d/%d: exit %d: %s", i, n, code, se)
					}
					states = append(states, s)
				}
				r.Shuffle(len(states), func(i, j int) { states[i], states[j] = states[j], states[i] })
				got := filepath.Join(dir, fmt.Sprintf("m%d.json", n))
				if code, se := runCLIcode(append([]string{"merge", "--json", got}, states...)...); code != 0 {
					t.Fatalf("merge of %d: exit %d: %s", n, code, se)
				}
				if g := mustRead(t, got); !bytes.Equal(g, wantB) {
					t.Fatalf("merge of %d shards differs from eval:\n%s\nwant\n%s", n, g, wantB)
				}
				if n < 3 {
					continue
				}
				// A merge of merges: two groups, merged into states, then
				// merged.
				cut := 1 + r.IntN(n-1)
				g1, g2 := filepath.Join(dir, "g1.evst"), filepath.Join(dir, "g2.evst")
				if code, se := runCLIcode(append([]string{"merge", "--state", g1}, states[:cut]...)...); code != 0 {
					t.Fatalf("merge --state: exit %d: %s", code, se)
				}
				if code, se := runCLIcode(append([]string{"merge", "--state", g2}, states[cut:]...)...); code != 0 {
					t.Fatalf("merge --state: exit %d: %s", code, se)
				}
				got2 := filepath.Join(dir, fmt.Sprintf("mm%d.json", n))
				if code, se := runCLIcode("merge", "--json", got2, g2, g1); code != 0 {
					t.Fatalf("merge of merges: exit %d: %s", code, se)
				}
				if g := mustRead(t, got2); !bytes.Equal(g, wantB) {
					t.Fatalf("merge of merges (%d shards) differs from eval", n)
				}
			}
		})
	}
}

// shardStates evaluates every shard of n with args and returns the state
// paths.
func shardStates(t *testing.T, dir, prefix string, n int, args ...string) []string {
	t.Helper()
	var out []string
	for i := range n {
		s := filepath.Join(dir, fmt.Sprintf("%s-%d.evst", prefix, i))
		if code, se := runCLIcode(append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--state", s)...); code != 0 {
			t.Fatalf("eval --shard %d/%d: exit %d: %s", i, n, code, se)
		}
		out = append(out, s)
	}
	return out
}

// TestMergeBadInput: every kind of bad state input exits 2 with one line
// naming the file, and writes no report.
func TestMergeBadInput(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 2))
	in := writeShardInputs(t, shardKinds[0], r)
	dir := t.TempDir()
	base := []string{"eval", "--label", "y", "--prob", "p", "--bootstrap", "20", in}
	ok := shardStates(t, dir, "ok", 3, base...)
	data := mustRead(t, ok[1])
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	reCRC := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		end := len(b) - 4
		enc.LittleEndian.PutUint32(b[end:], crc32.Checksum(b[:end], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 0x10
	v2 := append([]byte(nil), data...)
	enc.LittleEndian.PutUint16(v2[8:], 2)
	v2 = reCRC(v2)
	eps := shardStates(t, dir, "eps", 3, append(base, "--eps", "1e-3")...)
	seed := shardStates(t, dir, "seed", 3, append(base, "--bootstrap-seed", "9")...)
	by := shardStates(t, dir, "by", 3, append(base, "--by", "g")...)
	weight := shardStates(t, dir, "weight", 3, append(base, "--weight", "w")...)
	four := shardStates(t, dir, "four", 4, base...)
	for _, c := range []struct {
		name   string
		states []string
		want   string // in the one line on stderr
	}{
		{"truncated", []string{ok[0], write("trunc.evst", data[:len(data)-9]), ok[2]}, "trunc.evst: corrupt state file: truncated"},
		{"header only", []string{ok[0], write("short.evst", data[:12]), ok[2]}, "short.evst: corrupt state file: truncated header"},
		{"corrupt", []string{ok[0], write("flip.evst", flipped), ok[2]}, "flip.evst: corrupt state file: checksum mismatch"},
		{"not a state", []string{ok[0], filepath.Join(in, "part-0.parquet"), ok[2]}, "part-0.parquet: not an evalnll state file"},
		{"empty file", []string{ok[0], write("empty.evst", nil), ok[2]}, "empty.evst: not an evalnll state file"},
		{"missing file", []string{ok[0], filepath.Join(dir, "nope.evst"), ok[2]}, "nope.evst: no such file or directory"},
		{"version", []string{ok[0], write("v2.evst", v2), ok[2]}, "v2.evst: unsupported state format version 2 (this evalnll reads version 1)"},
		{"eps", []string{ok[0], eps[1], ok[2]}, "eps-1.evst: not a part of the same evaluation as " + ok[0] + ": --eps is 0.001 here but 1e-15 there"},
		{"bootstrap seed", []string{ok[0], seed[1], ok[2]}, "seed-1.evst: not a part of the same evaluation as " + ok[0] + ": --bootstrap-seed is 9 here but 20240601 there"},
		{"slices", []string{ok[0], by[1], ok[2]}, "by-1.evst: not a part of the same evaluation as " + ok[0] + ": the --by column is \"[g]\" here but \"[]\" there"},
		{"weights", []string{ok[0], weight[1], ok[2]}, "weight-1.evst: not a part of the same evaluation as " + ok[0] + ": the --weight column is \"w\" here but \"\" there"},
		{"shard count", []string{ok[0], four[1], ok[2]}, "four-1.evst: not a part of the same evaluation as " + ok[0] + ": shard count (--shard i/N) is 4 here but 3 there"},
		{"same shard twice", []string{ok[0], ok[1], ok[2], ok[1]}, "ok-1.evst: shard 1/3 is also in " + ok[1] + " (the same shard twice)"},
		{"missing shard", []string{ok[2], ok[0]}, "merge of 2 states: shards 1 of 3 are missing"},
		{"missing shards", []string{four[3]}, "merge of 1 states: shards 0, 1, 2 of 4 are missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "r.json")
			code, se := runCLIcode(append([]string{"merge", "--json", out}, c.states...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, se)
			}
			if strings.Count(se, "\n") != 1 || !strings.Contains(se, c.want) {
				t.Fatalf("stderr %q, want one line with %q", se, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a report was written")
			}
		})
	}
	// A subset of the shards merges into a state, not into a report.
	part := filepath.Join(dir, "part.evst")
	if code, se := runCLIcode("merge", "--state", part, ok[0], ok[2]); code != 0 {
		t.Fatalf("merge --state of a subset: exit %d: %s", code, se)
	}
	if code, se := runCLIcode("merge", "--json", filepath.Join(dir, "r.json"), part, ok[1]); code != 0 {
		t.Fatalf("merge of the subset and the rest: exit %d: %s", code, se)
	}
}

// TestShardInvalidRow: with --on-invalid error, the shard that holds an
// invalid row fails as eval does (same message, exit 2) and writes no
// state; the other shards succeed.
func TestShardInvalidRow(t *testing.T) {
	dir := t.TempDir()
	cols := []pqwrite.Col{{Name: "y", Type: format.Double}, {Name: "p", Type: format.Double}}
	var groups [][][]pqwrite.Cell
	for g := range 4 {
		gr := make([][]pqwrite.Cell, 2)
		for i := range 50 {
			p := 0.25
			if g == 2 && i == 17 {
				p = 1.5
			}
			gr[0] = append(gr[0], pqwrite.Cell{V: float64(i % 2)})
			gr[1] = append(gr[1], pqwrite.Cell{V: p})
		}
		groups = append(groups, gr)
	}
	in := filepath.Join(dir, "in.parquet")
	if err := (&pqwrite.File{Cols: cols, Groups: groups}).Write(in); err != nil {
		t.Fatal(err)
	}
	code, want := runCLIcode("eval", "--label", "y", "--prob", "p", in)
	if code != 2 || !strings.Contains(want, "in.parquet:118: column \"p\"") {
		t.Fatalf("eval: exit %d: %s", code, want)
	}
	failed := 0
	for i := range 4 {
		s := filepath.Join(dir, fmt.Sprintf("s%d.evst", i))
		code, se := runCLIcode("eval", "--label", "y", "--prob", "p", "--shard", fmt.Sprintf("%d/4", i), "--state", s, in)
		_, err := os.Stat(s)
		switch {
		case code == 2:
			failed++
			if se != want {
				t.Errorf("shard %d: %q, want eval's %q", i, se, want)
			}
			if err == nil {
				t.Errorf("shard %d failed but wrote its state", i)
			}
		case code != 0 || err != nil:
			t.Errorf("shard %d: exit %d: %s", i, code, se)
		}
	}
	if failed != 1 {
		t.Fatalf("%d shards failed, want the one with the invalid row", failed)
	}
}

// TestShardClassCounts: lists of two lengths, the first in input order in
// another shard than the other length's first: merge refuses, saying where
// each count was seen and the fix; with --num-classes the merge is eval's.
func TestShardClassCounts(t *testing.T) {
	dir := t.TempDir()
	cols := []pqwrite.Col{{Name: "y", Type: format.Double}, {Name: "probs", Type: format.Double, List: true}}
	write := func(name string, k int) {
		gr := make([][]pqwrite.Cell, 2)
		for i := range 30 {
			ps := make([]float64, k)
			for j := range ps {
				ps[j] = 1 / float64(k)
			}
			gr[0] = append(gr[0], pqwrite.Cell{V: float64(i % 3)})
			gr[1] = append(gr[1], listCell(ps))
		}
		if err := (&pqwrite.File{Cols: cols, Groups: [][][]pqwrite.Cell{gr}}).Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("a.parquet", 3)
	write("b.parquet", 4)
	args := []string{"eval", "--label", "y", "--prob", "probs", "--on-invalid", "skip", "--bootstrap", "0", filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")}
	sts := shardStates(t, dir, "cc", 2, args...)
	code, se := runCLIcode("merge", "--json", filepath.Join(dir, "m.json"), sts[1], sts[0])
	if code != 2 || strings.Count(se, "\n") != 1 ||
		!strings.Contains(se, "cc-0.evst: class count 3 (first list at "+filepath.Join(dir, "a.parquet")+":1) differs from 4 (first list at "+filepath.Join(dir, "b.parquet")+":1") ||
		!strings.Contains(se, "--num-classes 3") {
		t.Fatalf("exit %d: %s", code, se)
	}
	want := filepath.Join(dir, "one.json")
	if code, se := runCLIcode(append(args, "--json", want)...); code != 0 {
		t.Fatalf("eval: %d %s", code, se)
	}
	sts = shardStates(t, dir, "fixed", 2, append(args, "--num-classes", "3")...)
	got := filepath.Join(dir, "m.json")
	if code, se := runCLIcode("merge", "--json", got, sts[1], sts[0]); code != 0 {
		t.Fatalf("merge: %d %s", code, se)
	}
	if !bytes.Equal(mustRead(t, got), mustRead(t, want)) {
		t.Fatalf("merge with --num-classes differs from eval:\n%s\n%s", mustRead(t, got), mustRead(t, want))
	}
}

// TestMergeMaxSlices: shards under --max-slices whose merge is over it
// fail as one eval over all the rows would.
func TestMergeMaxSlices(t *testing.T) {
	dir := t.TempDir()
	cols := []pqwrite.Col{{Name: "y", Type: format.Double}, {Name: "p", Type: format.Double}, {Name: "g", Type: format.Int32}}
	for f, name := range []string{"a.parquet", "b.parquet"} {
		gr := make([][]pqwrite.Cell, 3)
		for i := range 40 {
			gr[0] = append(gr[0], pqwrite.Cell{V: float64(i % 2)})
			gr[1] = append(gr[1], pqwrite.Cell{V: 0.3})
			gr[2] = append(gr[2], pqwrite.Cell{V: float64(2*f + i%2)})
		}
		if err := (&pqwrite.File{Cols: cols, Groups: [][][]pqwrite.Cell{gr}}).Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"eval", "--label", "y", "--prob", "p", "--by", "g", "--max-slices", "2", filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")}
	sts := shardStates(t, dir, "ms", 2, args...)
	code, se := runCLIcode(append([]string{"merge", "--json", filepath.Join(dir, "m.json")}, sts...)...)
	if code != 2 || !strings.Contains(se, "4 distinct --by combinations, more than 2") {
		t.Fatalf("exit %d: %s", code, se)
	}
}

// TestShardFlags: usage errors of --shard and merge.
func TestShardFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--shard", "3/3", "x.parquet"}, "--shard: \"3/3\": i must be between 0 and 2"},
		{[]string{"eval", "--shard", "1", "x.parquet"}, "--shard: \"1\" is not i/N"},
		{[]string{"eval", "--shard", "0/2", "-"}, "--shard: standard input cannot be shared out"},
		{[]string{"merge"}, "merge: no STATE given"},
		{[]string{"eval", "--state", "-", "x.parquet"}, "--state: a state is binary"},
	} {
		code, se := runCLIcode(c.args...)
		if code != 2 || !strings.Contains(se, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, se, c.want)
		}
	}
}
