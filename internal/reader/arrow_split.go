package reader

// Cutting an Arrow IPC file's record batch into row ranges. A record batch
// of a mapped file is used in place, so a part costs no more than its rows:
// each part's scanner loads the record batch (its metadata, and a check of
// the offsets of the columns read) and yields slices of its own rows, whose
// pages of the mapping its worker populates. A compressed record batch, or
// one of a file that is read rather than mapped, would be decompressed or
// read whole by every part: it stays one part.

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// UnitBytes is the size of the body of record batch u (every column).
func (f *arrowFile) UnitBytes(u int, cols []string) int64 {
	if u < 0 || u >= len(f.blocks) {
		return 0
	}
	return f.blocks[u].bodyLen
}

// Split cuts record batch u into row ranges of about equal bytes of the
// columns cols.
func (f *arrowFile) Split(u int, cols []string, n int) (parts []Part, err error) {
	if u < 0 || u >= len(f.units) {
		return nil, newError(f.name, false, "", fmt.Errorf("no record batch %d (the file has %d)", u, len(f.units)))
	}
	rows := f.units[u].Rows
	whole := []Part{{Unit: u, Rows: rows, last: true}}
	f.mu.Lock()
	mapped := f.data != nil || f.selective // selective: small record batches, read again by each part
	f.mu.Unlock()
	if n < 2 || rows < 2 || !mapped || u >= len(f.compressed) || f.compressed[u] {
		return whole, nil
	}
	s := f.Scan(u, cols, 0).(*arrowScanner)
	defer s.Close()
	if s.err != nil {
		return nil, s.err
	}
	s.part, s.lo, s.hi = true, 0, rows
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			parts, err = nil, newError(f.name, true, fmt.Sprintf("record batch %d", u), panicError(r))
		}
	}()
	if !s.load() {
		if s.err == nil {
			s.err = newError(f.name, true, "", fmt.Errorf("no record batch %d", u))
		}
		return nil, s.err
	}
	if s.rec.NumRows() != rows {
		return nil, newError(f.name, true, fmt.Sprintf("record batch %d", u), fmt.Errorf("record batch of %d rows, the file's footer says %d", s.rec.NumRows(), rows))
	}
	// The bytes of rows [0, r): a width per row, and the elements of the
	// list columns (whose offsets load checked).
	var flat int64
	type listCol struct {
		o32  []int32
		o64  []int64
		elem int64
	}
	var lists []listCol
	for k := range s.cols {
		switch a := s.rec.Column(s.colIdx[k]).(type) {
		case *array.List:
			off := a.Data().Offset()
			lists = append(lists, listCol{o32: a.Offsets()[off : off+int(rows)+1], elem: byteWidth(a.DataType().(*arrow.ListType).Elem())})
		case *array.LargeList:
			off := a.Data().Offset()
			lists = append(lists, listCol{o64: a.Offsets()[off : off+int(rows)+1], elem: byteWidth(a.DataType().(*arrow.LargeListType).Elem())})
		case *array.FixedSizeList:
			dt := a.DataType().(*arrow.FixedSizeListType)
			flat += int64(dt.Len()) * byteWidth(dt.Elem())
		default:
			flat += byteWidth(a.DataType())
		}
	}
	flat = max(flat, 1)
	cost := func(r int64) int64 {
		c := r * flat
		for _, l := range lists {
			if l.o32 != nil {
				c += l.elem * int64(l.o32[r]-l.o32[0])
			} else {
				c += l.elem * (l.o64[r] - l.o64[0])
			}
		}
		return c
	}
	total := cost(rows)
	first := int64(0)
	for j := int64(1); j < int64(n); j++ {
		// The first row at which the bytes before reach j/n of the total.
		target := total * j / int64(n)
		lo, hi := first+1, rows
		for lo < hi {
			m := lo + (hi-lo)/2
			if cost(m) >= target {
				hi = m
			} else {
				lo = m + 1
			}
		}
		if lo >= rows {
			break
		}
		parts = append(parts, Part{Unit: u, First: first, Rows: lo - first})
		first = lo
	}
	if parts == nil {
		return whole, nil
	}
	return append(parts, Part{Unit: u, First: first, Rows: rows - first, last: true}), nil
}

// byteWidth is the size of a value of a fixed-width type, else 8.
func byteWidth(dt arrow.DataType) int64 {
	if fw, ok := dt.(arrow.FixedWidthDataType); ok && fw.BitWidth() >= 8 {
		return int64(fw.BitWidth() / 8)
	}
	return 8
}

// ScanPart reads rows [p.First, p.First+p.Rows) of a record batch.
func (f *arrowFile) ScanPart(p Part, cols []string, maxRows int) Scanner {
	sc := f.Scan(p.Unit, cols, maxRows)
	s, ok := sc.(*arrowScanner)
	if !ok || s.err != nil {
		return sc
	}
	switch rows := f.units[p.Unit].Rows; {
	case p.First < 0 || p.Rows < 0 || p.First+p.Rows > rows:
		s.err = newError(f.name, false, "", errors.New("a part outside its record batch"))
		return s
	case p.First == 0 && p.Rows == rows:
		return s // the whole record batch
	}
	s.part, s.lo, s.hi = true, p.First, p.First+p.Rows
	return s
}
