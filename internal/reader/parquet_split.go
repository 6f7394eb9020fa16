package reader

// Cutting a Parquet row group into parts that are decoded independently.
//
// A part is cut at a page boundary of one column read by the raw page
// reader, the primary column (the one with the most bytes). A flat
// column's v1 page holds exactly as many rows as levels, so the row at
// each of its page boundaries is known from the page headers. A list
// column's page may start in the middle of a row (DuckDB's do): a part then
// owns the rows that start in its pages, skips the levels at the start of
// its first page that finish the previous part's last row, and reads on
// into the next part's first page to finish its own last row. The row a
// page boundary falls on is the count of repetition levels of 0 in the
// pages before it; only the levels, at the start of each page, are
// decompressed to count them, and only in the pages before the last cut:
// the last part checks, as reading a whole row group does, that the column
// chunks end with the row group's last row. The other columns of a part
// skip to its first row: whole pages of the raw reader by their row counts,
// without decoding their values, and the rest level by level. Every part
// streams its pages (see rawStreamMin), so that it decodes no more of the
// pages it shares with its neighbours than it needs.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/column"
)

// pqPlan is how a row group was cut.
type pqPlan struct {
	f        *pqFile
	rg       int
	cols     []string
	primary  int     // index in cols of the column cut at its page boundaries
	pageRows []int64 // rows that start in each page of the primary column
}

// maxSplitCost is the most extra decoding that cutting a row group may
// cost, as a share of the bytes of the columns read (see maxParts).
const maxSplitCost = 8 // 1/8

// UnitBytes is the uncompressed size of the column chunks of cols in row
// group u.
func (f *pqFile) UnitBytes(u int, cols []string) int64 {
	if u < 0 || u >= len(f.units) {
		return 0
	}
	md := f.pf.Metadata().RowGroups[u].Columns
	var n int64
	for _, name := range cols {
		c, err := f.lookup(name)
		if err != nil || c.leaf < 0 || c.leaf >= len(md) {
			continue
		}
		if s := md[c.leaf].MetaData.TotalUncompressedSize; s > 0 {
			n += s
		}
	}
	return n
}

// Split cuts row group u at page boundaries of its primary column.
func (f *pqFile) Split(u int, cols []string, n int) (parts []Part, err error) {
	if u < 0 || u >= len(f.units) {
		return nil, newError(f.name, false, "", fmt.Errorf("no row group %d (the file has %d)", u, len(f.units)))
	}
	defer func() {
		if r := recover(); r != nil {
			parts, err = nil, newError(f.name, true, fmt.Sprintf("row group %d", u), panicError(r))
		}
	}()
	rows := f.units[u].Rows
	whole := []Part{{Unit: u, Rows: rows, last: true}}
	if n < 2 || rows < 2 || f.noRaw {
		return whole, nil
	}
	plan, rc, err := f.plan(u, cols)
	if err != nil {
		return nil, newError(f.name, true, fmt.Sprintf("row group %d", u), err)
	}
	if plan == nil {
		return whole, nil
	}
	defer rc.release()
	n = min(n, f.maxParts(u, plan))
	// Cut at the pages where the bytes of the primary column before are
	// closest to equal shares.
	var total int64
	for _, p := range rc.pages {
		total += int64(p.uncompressed)
	}
	var cuts []int
	at, i := int64(rc.pages[0].uncompressed), 1
	for j := 1; j < n && i < len(rc.pages); j++ {
		target := total * int64(j) / int64(n)
		for i+1 < len(rc.pages) && abs64(at+int64(rc.pages[i].uncompressed)-target) < abs64(at-target) {
			at += int64(rc.pages[i].uncompressed)
			i++
		}
		cuts = append(cuts, i)
		at += int64(rc.pages[i].uncompressed)
		i++
	}
	if len(cuts) == 0 {
		return whole, nil
	}
	// The rows that start in the pages before the last cut: the first
	// row of each part. The last part checks, as it reads, that the
	// column chunk holds the row group's rows.
	first := int64(0)
	for _, p := range rc.pages[:cuts[len(cuts)-1]] {
		r := int64(p.numValues)
		if rc.col.maxRep > 0 {
			if r, err = rc.rowStarts(p); err != nil {
				return nil, newError(f.name, true, fmt.Sprintf("row group %d", u), fmt.Errorf("column %q: reading page: %w", cols[plan.primary], err))
			}
		}
		plan.pageRows = append(plan.pageRows, r)
	}
	var before int64
	k := 0
	for pi := 0; pi <= len(plan.pageRows) && k < len(cuts); pi++ {
		if pi == cuts[k] {
			if before > rows {
				return nil, newError(f.name, true, fmt.Sprintf("row group %d", u), fmt.Errorf("column %q: column chunk holds more rows than the row group", cols[plan.primary]))
			}
			if before > first && before < rows {
				parts = append(parts, Part{Unit: u, First: first, Rows: before - first, pq: plan})
				first = before
			}
			k++
		}
		if pi < len(plan.pageRows) {
			before += plan.pageRows[pi]
		}
	}
	if parts == nil {
		return whole, nil
	}
	return append(parts, Part{Unit: u, First: first, Rows: rows - first, last: true, pq: plan}), nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func (f *pqFile) mustLookup(name string) *pqCol {
	c, err := f.lookup(name)
	if err != nil {
		panic(err)
	}
	return c
}

// plan finds the primary column of row group rg for cols, and returns a
// reader of its chunk, or nil when the row group is not to be cut (a
// column that Scan would refuse, no column that the raw page reader reads,
// a chunk of one page).
func (f *pqFile) plan(rg int, cols []string) (*pqPlan, *rawChunk, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, nil, errors.New("file is closed")
	}
	md := f.pf.Metadata().RowGroups[rg].Columns
	var read []int
	for _, name := range cols {
		c, err := f.lookup(name)
		if err != nil || c.field.Type == column.Unsupported || c.leaf < 0 || c.leaf >= len(md) || c.maxRep > 1 {
			return nil, nil, nil // Scan says why
		}
		switch md[c.leaf].MetaData.Codec {
		case format.Lz4, format.LZO:
			return nil, nil, nil
		}
		read = append(read, c.leaf)
	}
	if err := f.checkRowGroup(rg, read, false); err != nil {
		return nil, nil, err
	}
	plan := &pqPlan{f: f, rg: rg, cols: slices.Clone(cols), primary: -1}
	var most int64 = -1
	var rc *rawChunk
	for i, name := range cols {
		c := f.mustLookup(name)
		r := f.rawChunkFor(rg, c)
		if r == nil {
			continue
		}
		if s := md[c.leaf].MetaData.TotalUncompressedSize; s > most {
			most, plan.primary, rc = s, i, r
		}
	}
	if rc == nil || len(rc.pages) < 2 {
		return nil, nil, nil
	}
	return plan, rc, nil
}

// maxParts is the most parts row group rg can be cut into at little
// extra decoding: each part but the first skips to its first row in every
// column but the primary, decoding on average half a page of it before
// that row (raw page reader), or half the column chunk (parquet-go, which
// decodes every page before it). Those halves add up to at most
// 1/maxSplitCost of the bytes of the columns.
func (f *pqFile) maxParts(rg int, plan *pqPlan) int {
	md := f.pf.Metadata().RowGroups[rg].Columns
	var all, perPart int64
	for i, name := range plan.cols {
		c := f.mustLookup(name)
		size := max(md[c.leaf].MetaData.TotalUncompressedSize, 0)
		all += size
		if i == plan.primary {
			continue
		}
		if rc := f.rawChunkFor(rg, c); rc != nil {
			most := 0
			for _, p := range rc.pages {
				most = max(most, p.uncompressed)
			}
			perPart += int64(most) / 2
		} else {
			perPart += size / 2
		}
	}
	if perPart == 0 {
		return math.MaxInt
	}
	return int(min(1+all/maxSplitCost/perPart, math.MaxInt32))
}

// ScanPart reads a part of a row group that Split cut.
func (f *pqFile) ScanPart(p Part, cols []string, maxRows int) Scanner {
	sc := f.Scan(p.Unit, cols, maxRows)
	s, ok := sc.(*pqScanner)
	if !ok || s.err != nil {
		return sc
	}
	switch {
	case p.pq == nil && p.First == 0 && p.last && p.Rows == f.units[p.Unit].Rows:
		return s // the whole row group
	case p.pq == nil:
		s.err = newError(f.name, false, "", errors.New("not a part that Split made"))
	case p.pq.f != f || p.pq.rg != p.Unit || !slices.Equal(p.pq.cols, cols):
		s.err = newError(f.name, false, "", errors.New("a part read for other columns than it was cut for"))
	case p.First < 0 || p.Rows < 0 || p.First+p.Rows > f.units[p.Unit].Rows:
		s.err = newError(f.name, false, "", errors.New("a part outside its row group"))
	}
	s.part = &p
	return s
}

// startPart positions the cursors of a scanner opened on a row group at
// the first row of its part.
func (s *pqScanner) startPart() error {
	p := s.part
	s.left = p.Rows
	for i, c := range s.curs {
		if c.raw != nil {
			// Decode no more of a page than the part needs: the pages it
			// reads into beyond its own rows, and those it starts in the
			// middle of.
			c.raw.streamAll = true
		}
		if p.First == 0 {
			continue
		}
		var pageRows []int64
		if p.pq != nil && i == p.pq.primary {
			pageRows = p.pq.pageRows
		}
		if err := c.skipRows(p.First, pageRows); err != nil {
			return fmt.Errorf("column %q: %w", c.name, err)
		}
	}
	return nil
}

// skipRows moves the cursor past n rows, to the start of the next row: for
// a list column, past n repetition levels of 0 and the levels that follow
// them up to the next 0 (or past the levels at the start that finish a row
// begun before, when n is 0). Whole pages of the raw page reader are
// skipped by their row counts (pageRows, when given, or their headers or
// levels) without decoding their values.
func (c *pqCursor) skipRows(n int64, pageRows []int64) error {
	if rc := c.raw; rc != nil && c.lvl >= c.nlvl && rc.left == 0 {
		for rc.pi < len(rc.pages) {
			p := rc.pages[rc.pi]
			var rows int64
			switch {
			case pageRows != nil && rc.pi < len(pageRows):
				rows = pageRows[rc.pi]
			case c.col.maxRep == 0:
				rows = int64(p.numValues)
			case n == 0:
				// The next row starts in this page or after it: reading
				// on finds it, without counting the page's rows first.
				rows = 1
			default:
				var err error
				if rows, err = rc.rowStarts(p); err != nil {
					return fmt.Errorf("reading page: %w", err)
				}
			}
			if rows > n {
				break
			}
			n -= rows
			rc.pi++
		}
	}
	list := c.col.maxRep > 0
	if !list && n == 0 {
		return nil
	}
	for {
		if c.lvl >= c.nlvl {
			if err := c.nextPage(); err != nil {
				if err == io.EOF {
					return errors.New("column chunk holds fewer rows than the row group")
				}
				return err
			}
			continue
		}
		k := c.lvl
		if list {
			rep := c.rep
			for k < c.nlvl {
				for k+8 <= c.nlvl && !hasZeroByte(binary.LittleEndian.Uint64(rep[k:])) {
					k += 8
				}
				if k >= c.nlvl {
					break
				}
				if rep[k] == 0 {
					if n == 0 {
						break
					}
					n--
				}
				k++
			}
		} else {
			k += int(min(n, int64(c.nlvl-c.lvl)))
			n -= int64(k - c.lvl)
		}
		nv := k - c.lvl
		if c.col.maxDef > 0 && c.def != nil {
			nv = countLevels(c.def[c.lvl:k], c.col.maxDef)
		}
		if nv < 0 || c.vi+nv > c.nvals {
			return fmt.Errorf("page ran out of values (%d of %d)", c.vi+nv, c.nvals)
		}
		c.vi += nv
		c.lvl = k
		if k < c.nlvl || !list && n == 0 {
			return nil
		}
	}
}

// rowStarts counts the rows that start in page p of a list column (its
// repetition levels of 0), decompressing only the repetition levels at the
// start of the page.
func (rc *rawChunk) rowStarts(p rawPage) (int64, error) {
	col := rc.col
	if p.numValues == 0 {
		return 0, nil
	}
	if col.maxRep != 1 {
		return 0, fmt.Errorf("cannot count rows with repetition levels up to %d", col.maxRep)
	}
	if rc.streaming {
		rc.in = rc.vs.in
		rc.vs = pageStream{}
		rc.streaming = false
	}
	size := p.uncompressed
	want := min(size+8, readWindow)
	if rc.buf == nil || cap(rc.buf) < want {
		if rc.buf != nil {
			rc.f.putPageBuf(rc.buf)
		}
		rc.buf = rc.f.pageBuf(want)
	}
	s := pageStream{r: rc.f.ra, pos: p.pos, end: p.pos + int64(p.compressed), in: rc.in, dst: rc.buf[:min(size, cap(rc.buf))], total: size}
	if rc.snappy {
		if err := s.startSnappy(); err != nil {
			return 0, err
		}
	} else {
		s.lit = p.compressed
	}
	if err := rc.untilLevels(&s, 4); err != nil {
		return 0, err
	}
	n := int(binary.LittleEndian.Uint32(s.dst))
	if n < 0 || n > size-4 {
		return 0, fmt.Errorf("levels of %d bytes in a page of %d", n, size)
	}
	if err := rc.untilLevels(&s, 4+n); err != nil {
		return 0, err
	}
	rc.in = s.in
	d := rleLevels{b: s.dst[4 : 4+n], width: uint(bits.Len8(col.maxRep))}
	ones, err := d.scan(p.numValues, col.maxRep)
	if err != nil {
		if err == errLevelAbove {
			return 0, fmt.Errorf("repetition level above the maximum %d", col.maxRep)
		}
		return 0, err
	}
	return int64(p.numValues - ones), nil
}
