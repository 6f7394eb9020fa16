// Package column holds the columnar data that readers produce and the metric
// kernels consume: one Batch of rows, each mapped column a Column of typed
// slices. Readers fill a Batch (see package reader); package metrics reads it
// without reflection or per-row interface values.
//
// Ownership: a Batch and every slice it holds are borrowed from the reader
// that produced it and stay valid only until that reader's next call to Next
// or Close. Strings in Strs and Dict may alias reader buffers: a consumer that
// keeps one past that point must copy it (strings.Clone).
package column

import "fmt"

// Type is the element type of a column after normalisation.
type Type uint8

const (
	// Unsupported marks a column whose type evalnll cannot evaluate
	// (decimal, struct, map, nested lists, ...). Its Field.Desc says what it is.
	Unsupported Type = iota
	Bool             // values in Bools
	Int              // every signed integer, and unsigned up to 32 bits: values in Ints
	Uint64           // unsigned 64-bit integers: values in Ints, as the same bits
	Float32          // values in F32 (float16 is widened to float32)
	Float64          // values in F64
	String           // strings and binary: values in Strs, or Dict with Codes
)

var typeNames = [...]string{"unsupported", "bool", "int", "uint64", "float32", "float64", "string"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// Numeric reports whether values of t are numbers.
func (t Type) Numeric() bool { return t == Int || t == Uint64 || t == Float32 || t == Float64 }

// Column is one column of a Batch: Len rows of a scalar type, or, when List
// is set, Len lists whose elements are of that type.
//
// Exactly one of the value slices is set, chosen by Type. For a scalar
// column it is indexed by row; for a list column by element, row i holding
// elements [Offsets[i], Offsets[i+1]).
type Column struct {
	Type Type
	List bool
	// FixedSize is the list length of a fixed-size list column, else 0.
	FixedSize int
	Len       int

	// Valid[i] is false when row i is null. Nil means no row is null.
	// A null row of a list column has Offsets[i] == Offsets[i+1].
	Valid []bool

	Bools []bool
	Ints  []int64
	F32   []float32
	F64   []float64
	// Strs holds string values; or, for a dictionary-encoded column, Strs
	// is nil and value i is Dict[Codes[i]].
	Strs  []string
	Dict  []string
	Codes []int32

	// Offsets has Len+1 entries for a list column, nil otherwise.
	Offsets []int64
	// ElemValid[j] is false when list element j is null. Nil means no
	// element is null.
	ElemValid []bool
}

// IsNull reports whether row i is null.
func (c *Column) IsNull(i int) bool { return c.Valid != nil && !c.Valid[i] }

// Str returns string value i of a String column (row i of a scalar column).
func (c *Column) Str(i int) string {
	if c.Strs != nil {
		return c.Strs[i]
	}
	return c.Dict[c.Codes[i]]
}

// Batch is a set of rows: Cols[k] is the k-th column the reader was asked
// for, every one Rows long.
type Batch struct {
	Rows int
	Cols []*Column
}

// Slice returns rows [lo, hi) of c as a column that shares c's memory. The
// values of a list column are not cut: the offsets still index them.
func (c *Column) Slice(lo, hi int) *Column {
	s := *c
	s.Len = hi - lo
	cut := func(v []bool) []bool {
		if v == nil {
			return nil
		}
		return v[lo:hi]
	}
	s.Valid = cut(c.Valid)
	if c.List {
		s.Offsets = c.Offsets[lo : hi+1]
		return &s
	}
	s.Bools = cut(c.Bools)
	if c.Ints != nil {
		s.Ints = c.Ints[lo:hi]
	}
	if c.F32 != nil {
		s.F32 = c.F32[lo:hi]
	}
	if c.F64 != nil {
		s.F64 = c.F64[lo:hi]
	}
	if c.Strs != nil {
		s.Strs = c.Strs[lo:hi]
	}
	if c.Codes != nil {
		s.Codes = c.Codes[lo:hi]
	}
	return &s
}
