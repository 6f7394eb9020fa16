package pipeline

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/internal/reader"
)

// Shard selects share Index of Count (0 <= Index < Count) of a run's rows,
// for runs on separate machines whose states are merged afterwards. The
// zero value, and Count 1, select every row.
//
// The shares are cut from the sorted input list and the files' metadata
// alone, so every machine computes the same cut: the units of all files
// (row groups, record batches, streams) are laid end to end, each as long
// as the bytes evalnll decodes from it (reader.Splitter.UnitBytes; a
// stream, or a unit of unknown size, counts 1), and the line is cut into
// Count equal lengths. A unit belongs to the share that holds its middle.
// A unit that reaches into more than one share is first cut into parts
// (reader.Splitter.Split, a few per share it touches), each placed by its
// middle in the same way, so that one large file splits too. Every row is
// in exactly one share; a share may be empty.
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/N".
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%q is not i/N (share i of N, 0 <= i < N)", s)
	}
	if n < 1 || n > MaxShards {
		return Shard{}, fmt.Errorf("%q: N must be between 1 and %d", s, MaxShards)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%q: i must be between 0 and %d", s, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

// MaxShards is the most shares a run may be cut into.
const MaxShards = 1 << 20

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// all reports whether s selects every row.
func (s Shard) all() bool { return s.Count <= 1 }

// partsPerShare is how many parts a unit reaching into several shares is
// cut into per share it touches: the parts are placed by their middles,
// so more of them make the shares' lengths closer to equal.
const partsPerShare = 4

// shareOf is the share holding the point x2/2 of a line of length total
// cut into n equal lengths (x2 is twice the position, so that middles are
// integers).
func shareOf(x2, total uint64, n int) int {
	if total == 0 {
		return 0
	}
	hi, lo := bits.Mul64(x2, uint64(n))
	if hi >= 2*total { // x2 > 2*total cannot happen; be safe
		return n - 1
	}
	q, _ := bits.Div64(hi, lo, 2*total)
	return min(int(q), n-1)
}

// mulDiv is a*b/c for a*b/c < 2^64 (c > 0).
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// shareUnits keeps the units of share s: whole units, and parts of units
// cut for the share (marked by part). lens are the units' lengths on the
// line (see Shard).
func shareUnits(files []reader.File, cols []string, units []wholeUnit, lens []uint64, s Shard) []wholeUnit {
	if s.all() {
		return units
	}
	var total uint64
	for _, l := range lens {
		total += l
	}
	var keep []wholeUnit
	var at uint64
	for j, w := range units {
		c, l := at, lens[j]
		at += l
		first, last := shareOf(2*c, total, s.Count), shareOf(2*(c+l)-1, total, s.Count)
		if s.Index < first || s.Index > last {
			continue
		}
		var parts []reader.Part
		if sp, ok := files[w.file].(reader.Splitter); ok && first != last && w.index >= 0 && w.rows >= 2 {
			ps, err := sp.Split(w.index, cols, min((last-first+1)*partsPerShare, 1<<16))
			if err == nil && len(ps) > 1 {
				parts = ps
			}
		}
		if parts == nil {
			if shareOf(2*c+l, total, s.Count) == s.Index {
				keep = append(keep, w)
			}
			continue
		}
		for k := range parts {
			p := &parts[k]
			if p.Rows <= 0 {
				continue
			}
			mid2 := 2*c + mulDiv(l, uint64(2*p.First+p.Rows), uint64(w.rows))
			if shareOf(mid2, total, s.Count) == s.Index {
				keep = append(keep, wholeUnit{file: w.file, index: w.index, parts: 1, first: w.first + p.First, rows: p.Rows, part: p})
			}
		}
	}
	return keep
}
