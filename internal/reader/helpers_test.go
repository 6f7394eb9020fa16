package reader

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// colData is a column read whole, with numbers widened to float64 (and
// integers kept in ints) for comparisons.
type colData struct {
	typ       column.Type
	list      bool
	fixed     int
	rows      int
	valid     []bool // per row, always set
	f         []float64
	ints      []int64
	bools     []bool
	strs      []string
	offs      []int64 // lists: rows+1
	elemValid []bool  // lists: per element, always set
}

func (c *colData) values() int {
	switch {
	case c.typ == column.Bool:
		return len(c.bools)
	case c.typ == column.String:
		return len(c.strs)
	case c.typ == column.Int || c.typ == column.Uint64:
		return len(c.ints)
	}
	return len(c.f)
}

// appendBatch appends one batch column, checking its invariants.
func (c *colData) appendBatch(t testing.TB, b *column.Column, rows int) {
	t.Helper()
	if b.Len != rows {
		t.Fatalf("column Len %d in a batch of %d rows", b.Len, rows)
	}
	c.typ, c.list, c.fixed = b.Type, b.List, b.FixedSize
	n := rows
	if b.List {
		if len(b.Offsets) != rows+1 {
			t.Fatalf("%d offsets for %d rows", len(b.Offsets), rows)
		}
		if b.Offsets[0] != 0 {
			t.Fatalf("offsets start at %d", b.Offsets[0])
		}
		base := int64(c.values())
		if len(c.offs) == 0 {
			c.offs = append(c.offs, 0)
		}
		for i := 1; i <= rows; i++ {
			if b.Offsets[i] < b.Offsets[i-1] {
				t.Fatalf("offsets out of order: %v", b.Offsets)
			}
			c.offs = append(c.offs, base+b.Offsets[i])
		}
		n = int(b.Offsets[rows])
		if b.Valid != nil {
			for i, ok := range b.Valid[:rows] {
				if !ok && b.Offsets[i] != b.Offsets[i+1] {
					t.Fatalf("null list row %d holds elements", i)
				}
			}
		}
		if b.ElemValid != nil && len(b.ElemValid) < n {
			t.Fatalf("ElemValid of %d for %d elements", len(b.ElemValid), n)
		}
		for i := range n {
			c.elemValid = append(c.elemValid, b.ElemValid == nil || b.ElemValid[i])
		}
	} else if b.Offsets != nil || b.ElemValid != nil {
		t.Fatalf("scalar column with offsets or element validity")
	}
	if b.Valid != nil && len(b.Valid) < rows {
		t.Fatalf("Valid of %d for %d rows", len(b.Valid), rows)
	}
	for i := range rows {
		c.valid = append(c.valid, b.Valid == nil || b.Valid[i])
	}
	c.rows += rows
	set := 0
	for _, ok := range []bool{b.Bools != nil, b.Ints != nil, b.F32 != nil, b.F64 != nil, b.Strs != nil, b.Codes != nil} {
		if ok {
			set++
		}
	}
	if set > 1 {
		t.Fatalf("%d value slices set", set)
	}
	switch b.Type {
	case column.Bool:
		need(t, len(b.Bools), n)
		c.bools = append(c.bools, b.Bools[:n]...)
	case column.Int, column.Uint64:
		need(t, len(b.Ints), n)
		c.ints = append(c.ints, b.Ints[:n]...)
	case column.Float32:
		need(t, len(b.F32), n)
		for _, v := range b.F32[:n] {
			c.f = append(c.f, float64(v))
		}
	case column.Float64:
		need(t, len(b.F64), n)
		c.f = append(c.f, b.F64[:n]...)
	case column.String:
		if b.Strs == nil {
			need(t, len(b.Codes), n)
			for i := range n {
				null := b.List && !c.elemValid[len(c.elemValid)-n+i] || !b.List && !c.valid[len(c.valid)-n+i]
				if null {
					c.strs = append(c.strs, "")
					continue
				}
				if b.Codes[i] < 0 || int(b.Codes[i]) >= len(b.Dict) {
					t.Fatalf("code %d out of a dictionary of %d", b.Codes[i], len(b.Dict))
				}
				c.strs = append(c.strs, strings.Clone(b.Dict[b.Codes[i]]))
			}
		} else {
			need(t, len(b.Strs), n)
			for _, s := range b.Strs[:n] {
				c.strs = append(c.strs, strings.Clone(s))
			}
		}
	default:
		t.Fatalf("unexpected column type %v", b.Type)
	}
}

func need(t testing.TB, have, want int) {
	t.Helper()
	if have < want {
		t.Fatalf("value slice of %d for %d values", have, want)
	}
}

// scanAll reads the named columns of unit u (or all) of f.
func scanAll(t testing.TB, f File, u int, cols []string, maxRows int) ([]*colData, int, error) {
	t.Helper()
	s := f.Scan(u, cols, maxRows)
	defer s.Close()
	out := make([]*colData, len(cols))
	for i := range out {
		out[i] = &colData{}
	}
	batches := 0
	for s.Next() {
		b := s.Batch()
		if len(b.Cols) != len(cols) {
			t.Fatalf("%d columns in a batch, want %d", len(b.Cols), len(cols))
		}
		if mr := maxRows; mr > 0 && b.Rows > mr {
			t.Fatalf("batch of %d rows, max %d", b.Rows, mr)
		}
		if b.Rows <= 0 {
			t.Fatalf("batch of %d rows", b.Rows)
		}
		for i, c := range b.Cols {
			out[i].appendBatch(t, c, b.Rows)
		}
		batches++
	}
	return out, batches, s.Err()
}

// supported lists the names of the readable columns of f.
func supported(f File) []string {
	var names []string
	for _, fl := range f.Fields() {
		if fl.Type != column.Unsupported {
			names = append(names, fl.Name)
		}
	}
	return names
}

// checkMessage checks that an error is one line starting with the file name.
func checkMessage(t testing.TB, err error, name string) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("multi-line error: %q", msg)
	}
	if !strings.HasPrefix(msg, name+": ") {
		t.Errorf("error does not start with %q: %q", name+": ", msg)
	}
}

func isFormat(err error) bool { return errors.Is(err, ErrFormat) }

func floatEq(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

func fmtRow(cols []*colData, i int) string {
	var b strings.Builder
	for k, c := range cols {
		if k > 0 {
			b.WriteString("|")
		}
		if !c.valid[i] {
			b.WriteString("null")
			continue
		}
		lo, hi := int64(i), int64(i+1)
		if c.list {
			lo, hi = c.offs[i], c.offs[i+1]
			b.WriteString("[")
		}
		for j := lo; j < hi; j++ {
			if j > lo {
				b.WriteString(",")
			}
			if c.list && !c.elemValid[j] {
				b.WriteString("null")
				continue
			}
			switch c.typ {
			case column.Bool:
				if c.bools[j] {
					b.WriteString("1")
				} else {
					b.WriteString("0")
				}
			case column.Int, column.Uint64:
				fmt.Fprint(&b, c.ints[j])
			case column.String:
				fmt.Fprintf(&b, "%q", c.strs[j])
			default:
				fmt.Fprint(&b, c.f[j])
			}
		}
		if c.list {
			b.WriteString("]")
		}
	}
	return b.String()
}
