package metrics

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/internal/column"
)

// ValueKind is the JSON type a --by or --id value keeps.
type ValueKind uint8

const (
	VNull ValueKind = iota
	VBool
	VInt
	VUint
	VFloat
	VString
)

// Value is one --by or --id value.
type Value struct {
	Kind ValueKind
	B    bool
	I    int64
	U    uint64
	F    float64
	S    string
}

// ValueAt returns row i of a scalar column; a String value is copied, so it
// outlives the batch.
func ValueAt(c *column.Column, i int) Value {
	if c.IsNull(i) {
		return Value{}
	}
	switch c.Type {
	case column.Bool:
		return Value{Kind: VBool, B: c.Bools[i]}
	case column.Int:
		return Value{Kind: VInt, I: c.Ints[i]}
	case column.Uint64:
		return Value{Kind: VUint, U: uint64(c.Ints[i])}
	case column.Float32:
		return Value{Kind: VFloat, F: float64(c.F32[i])}
	case column.Float64:
		return Value{Kind: VFloat, F: c.F64[i]}
	case column.String:
		return Value{Kind: VString, S: strings.Clone(c.Str(i))}
	}
	return Value{}
}

// appendKey appends an encoding of row i of c that is equal for equal
// values and decodes back with decodeKey.
func appendKey(buf []byte, c *column.Column, i int) []byte {
	if c.IsNull(i) {
		return append(buf, byte(VNull))
	}
	switch c.Type {
	case column.Bool:
		if c.Bools[i] {
			return append(buf, byte(VBool), 1)
		}
		return append(buf, byte(VBool), 0)
	case column.Int:
		return binary.LittleEndian.AppendUint64(append(buf, byte(VInt)), uint64(c.Ints[i]))
	case column.Uint64:
		return binary.LittleEndian.AppendUint64(append(buf, byte(VUint)), uint64(c.Ints[i]))
	case column.Float32:
		return binary.LittleEndian.AppendUint64(append(buf, byte(VFloat)), canonFloat(float64(c.F32[i])))
	case column.Float64:
		return binary.LittleEndian.AppendUint64(append(buf, byte(VFloat)), canonFloat(c.F64[i]))
	case column.String:
		s := c.Str(i)
		buf = binary.AppendUvarint(append(buf, byte(VString)), uint64(len(s)))
		return append(buf, s...)
	}
	return append(buf, byte(VNull))
}

// canonFloat maps -0 to 0 and every NaN to one NaN, so equal-looking values
// share a slice.
func canonFloat(f float64) uint64 {
	if f == 0 {
		return 0
	}
	if f != f {
		return math.Float64bits(math.NaN())
	}
	return math.Float64bits(f)
}

func decodeKey(key string, n int) []Value {
	vs := make([]Value, 0, n)
	b := []byte(key)
	for len(b) > 0 {
		k := ValueKind(b[0])
		b = b[1:]
		v := Value{Kind: k}
		switch k {
		case VBool:
			v.B = b[0] == 1
			b = b[1:]
		case VInt:
			v.I = int64(binary.LittleEndian.Uint64(b))
			b = b[8:]
		case VUint:
			v.U = binary.LittleEndian.Uint64(b)
			b = b[8:]
		case VFloat:
			v.F = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
		case VString:
			l, m := binary.Uvarint(b)
			v.S = string(b[m : m+int(l)])
			b = b[m+int(l):]
		}
		vs = append(vs, v)
	}
	return vs
}

// rank orders kinds: null first, then booleans, numbers, strings.
func rank(k ValueKind) int {
	switch k {
	case VNull:
		return 0
	case VBool:
		return 1
	case VInt, VUint, VFloat:
		return 2
	}
	return 3
}

// Compare orders values as the report lists slices: null first, false
// before true, numbers numerically (NaN last among them), strings bytewise.
func Compare(a, b Value) int {
	if ra, rb := rank(a.Kind), rank(b.Kind); ra != rb {
		return ra - rb
	}
	switch a.Kind {
	case VNull:
		return 0
	case VBool:
		switch {
		case a.B == b.B:
			return 0
		case !a.B:
			return -1
		}
		return 1
	case VString:
		return strings.Compare(a.S, b.S)
	}
	return compareNum(a, b)
}

func compareNum(a, b Value) int {
	// Exact integer comparisons first; floats compare as float64, which
	// is exact for integers below 2^53 and orders the rest correctly
	// except for ties that float64 cannot tell apart.
	switch {
	case a.Kind == VInt && b.Kind == VInt:
		return cmp3(a.I < b.I, a.I > b.I)
	case a.Kind == VUint && b.Kind == VUint:
		return cmp3(a.U < b.U, a.U > b.U)
	case a.Kind == VInt && b.Kind == VUint:
		if a.I < 0 {
			return -1
		}
		return cmp3(uint64(a.I) < b.U, uint64(a.I) > b.U)
	case a.Kind == VUint && b.Kind == VInt:
		return -compareNum(b, a)
	}
	x, y := a.num(), b.num()
	xn, yn := x != x, y != y
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	}
	return cmp3(x < y, x > y)
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

func (v Value) num() float64 {
	switch v.Kind {
	case VInt:
		return float64(v.I)
	case VUint:
		return float64(v.U)
	}
	return v.F
}

// compareKeys orders two decoded slice keys column by column.
func compareKeys(a, b []Value) int {
	for i := range a {
		if c := Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// keyString is a readable form for messages.
func keyString(vs []Value) string {
	var sb bytes.Buffer
	for i, v := range vs {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(v.String())
	}
	return sb.String()
}

// String formats the value as the report shows it.
func (v Value) String() string {
	switch v.Kind {
	case VNull:
		return "null"
	case VBool:
		return strconv.FormatBool(v.B)
	case VInt:
		return strconv.FormatInt(v.I, 10)
	case VUint:
		return strconv.FormatUint(v.U, 10)
	case VFloat:
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	}
	return v.S
}
