// Package wire reads the binary encodings of evalnll's state files
// (internal/metrics' State, package partial's body): uvarints, varints and
// length-prefixed byte strings. A caller makes a Decoder over the bytes with
// the sentinel its errors wrap, reads values in order, and checks Err once
// at the end: the first problem sticks, and every later read returns zero.
package wire

import (
	"encoding/binary"
	"fmt"
)

// Decoder reads values from the front of B.
type Decoder struct {
	// B is the bytes not read yet; readers of other types (fixed-width
	// floats, flags) take them from B and advance it themselves.
	B []byte
	// Err is the first problem, "SENTINEL: bad WHAT", or nil.
	Err error
	// Sentinel is the error every failure wraps.
	Sentinel error
}

// Fail records that what could not be read, unless a problem was
// recorded already.
func (d *Decoder) Fail(what string) {
	if d.Err == nil {
		d.Err = fmt.Errorf("%w: bad %s", d.Sentinel, what)
	}
}

// Uvarint reads a uvarint of at most max.
func (d *Decoder) Uvarint(what string, max uint64) uint64 {
	if d.Err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.B)
	if k <= 0 || v > max {
		d.Fail(what)
		return 0
	}
	d.B = d.B[k:]
	return v
}

// Varint reads a varint.
func (d *Decoder) Varint(what string) int64 {
	if d.Err != nil {
		return 0
	}
	v, k := binary.Varint(d.B)
	if k <= 0 {
		d.Fail(what)
		return 0
	}
	d.B = d.B[k:]
	return v
}

// Bytes reads a uvarint length and that many bytes, which alias B's (the
// capacity is cut to the length, so appending to them copies).
func (d *Decoder) Bytes(what string) []byte {
	n := d.Uvarint(what, ^uint64(0))
	if d.Err != nil {
		return nil
	}
	if n > uint64(len(d.B)) {
		d.Fail(what)
		return nil
	}
	p := d.B[:n:n]
	d.B = d.B[n:]
	return p
}

// Count reads a uvarint count of items each at least min bytes long (min
// below 1 counts as 1): a count the remaining bytes cannot hold is an
// error, so what the caller allocates for it is bounded by the input's
// length.
func (d *Decoder) Count(what string, min int) int {
	c := d.Uvarint(what, ^uint64(0))
	if d.Err != nil {
		return 0
	}
	if c > uint64(len(d.B))/uint64(max(min, 1)) {
		d.Fail(what)
		return 0
	}
	return int(c)
}
