package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// TestSliceBinsSameFigures: with --by, the slices' bins and hit counts
// taken from the bootstrap's loop (sliceBins, rows placed by
// accumulateSlices) give every figure bit for bit as accumulate's way,
// through the vector and scalar loops, for a dictionary-encoded slice
// column (with nulls and a value twice in the dictionary) and the same
// values as plain strings,
// with invalid rows skipped, clipped and tiny probabilities, in batches
// that cross the bootstrap's flushes.
func TestSliceBinsSameFigures(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	n := 3*evalChunk + 777
	y, p, _, _ := binaryRows(r, n)
	dict := []string{"web", "mobile", "", "web", "news", "x\xff"}
	codes := make([]int32, n)
	valid := make([]bool, n)
	strs := make([]string, n)
	for i := range codes {
		codes[i] = int32(r.IntN(len(dict)))
		valid[i] = r.IntN(40) != 0
		if valid[i] {
			strs[i] = dict[codes[i]]
		}
		if r.IntN(300) == 0 {
			p[i] = math.NaN() // skipped
		}
		if r.IntN(200) == 0 {
			p[i] = math.Ldexp(r.Float64(), -11) // below confSmall
		}
	}
	// Half the rows of the second chunk in one slice: a batch of one slice.
	for i := evalChunk; i < 2*evalChunk; i++ {
		codes[i], valid[i], strs[i] = 4, true, "news"
	}
	batch := func(lo, hi int, dictEnc bool) *Cols {
		return sliceBatch(y, p, dict, codes, strs, valid, lo, hi, dictEnc)
	}
	for _, discrim := range []bool{false, true} {
		var ref string
		for _, dictEnc := range []bool{true, false} {
			sliceBinsTrials(t, r, n, batch, dictEnc, discrim, &ref)
		}
	}
}

// sliceBatch is rows lo..hi of binary rows y, p with a --by column of
// values dict[codes[i]] (strs[i] as plain strings, when not dictEnc),
// null where valid is false (no nulls for a nil valid).
func sliceBatch(y []int64, p []float64, dict []string, codes []int32, strs []string, valid []bool, lo, hi int, dictEnc bool) *Cols {
	c := cols(y, p, nil, nil, lo, hi, false, false)
	by := &column.Column{Type: column.String, Len: hi - lo}
	if valid != nil {
		by.Valid = valid[lo:hi]
	}
	if dictEnc {
		by.Dict, by.Codes = dict, codes[lo:hi]
	} else {
		by.Strs = strs[lo:hi]
	}
	c.By = []*column.Column{by}
	return c
}

// sliceBinsTrials is TestSliceBinsSameFigures's eight ways of evaluating
// the rows; discrim adds AUROC (the predictions kept per slice).
func sliceBinsTrials(t *testing.T, r *rand.Rand, n int, batch func(lo, hi int, dictEnc bool) *Cols, dictEnc, discrim bool, ref *string) {
	{
		for trial := range 8 {
			func() {
				defer func(a, b, c bool) { sliceBinsOn, bootCalVecOK, bootCalLoop = a, b, c }(sliceBinsOn, bootCalVecOK, bootCalLoop)
				sliceBinsOn = trial%2 == 1
				bootCalVecOK = bootCalVecOK && trial%4 < 2
				bootCalLoop = trial < 6 || trial == 7
				cfg := DefaultConfig()
				cfg.ByCols, cfg.Skip, cfg.Bootstrap, cfg.Discrim = 1, true, DefaultBootstrap(), discrim
				ev := NewEvaluator(&cfg, 0)
				ev.BeginUnitAt(0, Position{File: FileKey("a.parquet")})
				// Batches of 1 to 9000 rows (9000: cut into chunks by Add).
				for lo := 0; lo < n; {
					hi := min(n, lo+1+r.IntN(9000))
					if trial == 0 {
						hi = n
					}
					if !ev.Add(batch(lo, hi, dictEnc), int64(lo)) {
						t.Fatalf("rows rejected: %+v", ev.State().Errs)
					}
					lo = hi
				}
				res := ev.State().Summary()
				if len(res.Slices) != 6 || res.Bootstrap == nil { // 5 values and null
					t.Fatalf("%d slices, bootstrap %v", len(res.Slices), res.Bootstrap != nil)
				}
				got := fmt.Sprintf("%+v", summaryValues(res))
				if *ref == "" {
					*ref = got
				} else if got != *ref {
					t.Fatalf("discrim=%v dict=%v trial %d (sliceBins %v, vector %v, cal loop %v) differs:\n%s\nvs\n%s",
						discrim, dictEnc, trial, sliceBinsOn, bootCalVecOK, bootCalLoop, got, *ref)
				}
			}()
		}
	}
}

// TestSliceCodesNoNulls: a dictionary-encoded --by column with no nulls
// (whose codes go through mapCodes, in the vector unit where there is one)
// gives the figures of the same values as plain strings, for dictionaries
// of up to 16 values and past it, with codes first seen in the middle of
// a block of 16 rows and of a chunk, invalid rows skipped, and batches of
// any size (chunks that share their slices, or not).
func TestSliceCodesNoNulls(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	for _, nd := range []int{1, 3, 16, 17, 40} {
		n := 3*evalChunk + 333
		y, p, _, _ := binaryRows(r, n)
		dict := make([]string, nd)
		for k := range dict {
			dict[k] = fmt.Sprintf("s%02d", k)
		}
		codes := make([]int32, n)
		strs := make([]string, n)
		for i := range codes {
			// Code k is first used at row about k·n/(2·nd): new codes
			// keep appearing through the first half.
			lim := min(nd, 1+i*2*nd/n)
			codes[i] = int32(r.IntN(lim))
			strs[i] = dict[codes[i]]
			if r.IntN(50) == 0 {
				p[i] = math.NaN() // skipped
			}
		}
		batch := func(lo, hi int, dictEnc bool) *Cols {
			return sliceBatch(y, p, dict, codes, strs, nil, lo, hi, dictEnc)
		}
		var ref string
		for trial, dictEnc := range []bool{false, true, true, true} {
			cfg := DefaultConfig()
			cfg.ByCols, cfg.Skip, cfg.Bootstrap = 1, true, DefaultBootstrap()
			ev := NewEvaluator(&cfg, 0)
			ev.BeginUnitAt(0, Position{File: FileKey("a.parquet")})
			for lo := 0; lo < n; {
				hi := n // trial 1: one batch
				if trial == 2 {
					hi = min(n, lo+1+r.IntN(100))
				} else if trial == 3 {
					hi = min(n, lo+1+r.IntN(9000))
				}
				if !ev.Add(batch(lo, hi, dictEnc), int64(lo)) {
					t.Fatalf("rows rejected: %+v", ev.State().Errs)
				}
				lo = hi
			}
			res := ev.State().Summary()
			if len(res.Slices) != nd {
				t.Fatalf("%d values: %d slices", nd, len(res.Slices))
			}
			got := fmt.Sprintf("%+v", summaryValues(res))
			if trial == 0 {
				ref = got
			} else if got != ref {
				t.Fatalf("%d values, trial %d: the figures differ from plain strings'", nd, trial)
			}
		}
	}
}

// TestSliceBinsLargeBatch: one batch of many chunks, whose chunks share
// their slice bin sums (flushed every sliceBinFlushRows rows, lowered
// here so that batches flush in their middle), gives the figures of the
// same rows in small batches.
func TestSliceBinsLargeBatch(t *testing.T) {
	if sliceBinFlushRows >= 1<<21 {
		t.Fatalf("sliceBinFlushRows %d: a slice bin count has 21 bits", sliceBinFlushRows)
	}
	defer func(v int) { sliceBinFlushRows = v }(sliceBinFlushRows)
	sliceBinFlushRows = 3*evalChunk + 100
	r := rand.New(rand.NewPCG(95, 96))
	n := 10*evalChunk + 5
	y, p, _, _ := binaryRows(r, n)
	dict := []string{"a", "b", "c"}
	codes := make([]int32, n)
	for i := range codes {
		codes[i] = int32(r.IntN(len(dict)))
	}
	var ref string
	for _, size := range []int{1000, n} {
		cfg := DefaultConfig()
		cfg.ByCols, cfg.Bootstrap = 1, DefaultBootstrap()
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnitAt(0, Position{File: FileKey("a.parquet")})
		for lo := 0; lo < n; lo += size {
			hi := min(n, lo+size)
			c := cols(y, p, nil, nil, lo, hi, false, false)
			c.By = []*column.Column{{Type: column.String, Len: hi - lo, Dict: dict, Codes: codes[lo:hi]}}
			if !ev.Add(c, int64(lo)) {
				t.Fatalf("rows rejected: %+v", ev.State().Errs)
			}
		}
		res := ev.State().Summary()
		var rows int64
		for _, s := range res.Slices {
			for _, b := range s.Calibration {
				rows += b.Count
			}
		}
		if rows != int64(n) {
			t.Fatalf("batches of %d: the slices' bins hold %d rows, want %d", size, rows, n)
		}
		got := fmt.Sprintf("%+v", summaryValues(res))
		if ref == "" {
			ref = got
		} else if got != ref {
			t.Fatalf("one batch of %d rows: the figures differ from batches of 1000", n)
		}
	}
}
