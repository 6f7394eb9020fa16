package report

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

// A tiny ordered JSON writer: the report's key order and float format are
// part of its byte-identity contract, so nothing here depends on map order
// or reflection. The document is built of values (object, []any, string,
// bool, nil, int, int64, uint64, float64, number, floats, ints), then
// written once by marshalIndent.

// object is a JSON object with its keys in order.
type object []member

// member is one member of an object.
type member struct {
	K string
	V any // object, []any, string, bool, nil, int64, int, float64, number
}

// number is a float written in full precision (shortest round-trip form);
// non-finite values become the strings "+Inf", "-Inf" and "NaN".
type number float64

// floats is a list of numbers written on one line.
type floats []float64

// ints is a list of integers written on one line.
type ints []int64

// Get returns the value of key k, or nil.
func (o object) Get(k string) any {
	for _, kv := range o {
		if kv.K == k {
			return kv.V
		}
	}
	return nil
}

// marshalIndent writes v with two-space indentation and a final newline.
func marshalIndent(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, v, 0)
	b.WriteByte('\n')
	return b.Bytes()
}

func indent(b *bytes.Buffer, n int) {
	b.WriteByte('\n')
	for i := 0; i < n; i++ {
		b.WriteString("  ")
	}
}

func writeValue(b *bytes.Buffer, v any, depth int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case object:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(b, depth+1)
			writeString(b, kv.K)
			b.WriteString(": ")
			writeValue(b, kv.V, depth+1)
		}
		indent(b, depth)
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(b, depth+1)
			writeValue(b, e, depth+1)
		}
		indent(b, depth)
		b.WriteByte(']')
	case string:
		writeString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case floats:
		b.WriteByte('[')
		for i, f := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeNum(b, f)
		}
		b.WriteByte(']')
	case ints:
		b.WriteByte('[')
		for i, n := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatInt(n, 10))
		}
		b.WriteByte(']')
	case float64:
		writeNum(b, x)
	case number:
		writeNum(b, float64(x))
	default:
		panic("report: cannot write JSON value")
	}
}

func writeNum(b *bytes.Buffer, f float64) {
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		b.WriteString(`"+Inf"`)
	case math.IsInf(f, -1):
		b.WriteString(`"-Inf"`)
	default:
		b.Write(formatFloat(nil, f))
	}
}

// formatFloat appends f in the shortest form that reads back exactly, as
// JSON allows it ("1e-15", "0.25", "36").
func formatFloat(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'e', -1, 64)
}

func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0xFFFD && size == 1 { // invalid UTF-8: escape the byte as U+FFFD
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
