package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

var errBad = errors.New("bad input")

func TestDecoderReads(t *testing.T) {
	var b []byte
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -5)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abc"...)
	b = binary.AppendUvarint(b, 2) // a count of 2 items of 1 byte
	b = append(b, 7, 8)
	d := &Decoder{B: b, Sentinel: errBad}
	if v := d.Uvarint("u", 300); v != 300 {
		t.Errorf("Uvarint = %d, want 300", v)
	}
	if v := d.Varint("v"); v != -5 {
		t.Errorf("Varint = %d, want -5", v)
	}
	p := d.Bytes("s")
	if string(p) != "abc" || cap(p) != 3 {
		t.Errorf("Bytes = %q (cap %d), want \"abc\" (cap 3)", p, cap(p))
	}
	if n := d.Count("c", 1); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	if d.Err != nil || len(d.B) != 2 {
		t.Errorf("after the reads: err %v, %d bytes left, want nil and 2", d.Err, len(d.B))
	}
}

func TestDecoderFailures(t *testing.T) {
	over := binary.AppendUvarint(nil, 301)
	long := append(binary.AppendUvarint(nil, 4), "abc"...)
	many := append(binary.AppendUvarint(nil, 2), 1, 2, 3) // 2 items of 2 bytes in 3
	cases := []struct {
		name string
		b    []byte
		read func(d *Decoder)
	}{
		{"uvarint over max", over, func(d *Decoder) { d.Uvarint("x", 300) }},
		{"uvarint empty", nil, func(d *Decoder) { d.Uvarint("x", ^uint64(0)) }},
		{"uvarint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(d *Decoder) { d.Uvarint("x", ^uint64(0)) }},
		{"varint cut", []byte{0x80}, func(d *Decoder) { d.Varint("x") }},
		{"bytes longer than left", long, func(d *Decoder) { d.Bytes("x") }},
		{"count the bytes cannot hold", many, func(d *Decoder) { d.Count("x", 2) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &Decoder{B: c.b, Sentinel: errBad}
			c.read(d)
			if !errors.Is(d.Err, errBad) || d.Err.Error() != "bad input: bad x" {
				t.Fatalf("err = %v, want \"bad input: bad x\" wrapping the sentinel", d.Err)
			}
			// The first problem sticks: later reads return zero and keep it.
			first := d.Err
			if v := d.Uvarint("y", ^uint64(0)); v != 0 || d.Err != first {
				t.Errorf("after a failure: Uvarint = %d, err %v; want 0 and the first error", v, d.Err)
			}
			if p := d.Bytes("y"); p != nil || d.Err != first {
				t.Errorf("after a failure: Bytes = %q, err %v; want nil and the first error", p, d.Err)
			}
		})
	}
}
