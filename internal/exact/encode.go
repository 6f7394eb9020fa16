package exact

import (
	"encoding/binary"
	"errors"
)

// ErrEncoding is returned by DecodeSum for bytes that are not a Sum.
var ErrEncoding = errors.New("exact: malformed sum encoding")

// maxSpecial bounds the counts of non-finite terms a decoded Sum may hold,
// so that merging decoded sums cannot overflow them.
const maxSpecial = 1 << 60

// AppendBinary appends a canonical encoding of s: equal totals (with equal
// counts of NaN, +Inf and -Inf terms) encode to equal bytes. The layout is
// three uvarints (NaN, +Inf, -Inf counts), then the carried chunks from
// the lowest non-zero one: a uvarint index, a uvarint count, the chunks
// below the last as uvarints (each below 2^32) and the last as a varint.
// An empty sum takes 5 bytes.
func (s *Sum) AppendBinary(b []byte) []byte {
	t := *s
	t.carry()
	b = binary.AppendUvarint(b, uint64(t.nan))
	b = binary.AppendUvarint(b, uint64(t.posInf))
	b = binary.AppendUvarint(b, uint64(t.negInf))
	lo, hi := 0, -1
	for i, c := range t.chunk {
		if c != 0 {
			if hi < 0 {
				lo = i
			}
			hi = i
		}
	}
	b = binary.AppendUvarint(b, uint64(lo))
	b = binary.AppendUvarint(b, uint64(hi-lo+1))
	for i := lo; i <= hi; i++ {
		if i == nChunks-1 {
			b = binary.AppendVarint(b, t.chunk[i])
		} else {
			b = binary.AppendUvarint(b, uint64(t.chunk[i]))
		}
	}
	return b
}

// DecodeSum decodes a Sum encoded by AppendBinary at the start of b and
// returns it with the number of bytes read. Bytes that AppendBinary cannot
// have written (a chunk out of range, a count too large, a truncation) are
// an error wrapping ErrEncoding; it never panics.
func DecodeSum(b []byte) (Sum, int, error) {
	var s Sum
	n := 0
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(b[n:])
		if k <= 0 {
			return 0, false
		}
		n += k
		return v, true
	}
	var sp [3]uint64
	for i := range sp {
		v, ok := uv()
		if !ok || v > maxSpecial {
			return Sum{}, 0, ErrEncoding
		}
		sp[i] = v
	}
	s.nan, s.posInf, s.negInf = int64(sp[0]), int64(sp[1]), int64(sp[2])
	lo, ok1 := uv()
	cnt, ok2 := uv()
	if !ok1 || !ok2 || lo > nChunks || cnt > nChunks-lo {
		return Sum{}, 0, ErrEncoding
	}
	for i := int(lo); i < int(lo+cnt); i++ {
		if i == nChunks-1 {
			v, k := binary.Varint(b[n:])
			// The top chunk weighs 2^1006: a sum of float64 values needs
			// far fewer than 2^52 of it.
			if k <= 0 || v >= 1<<52 || v <= -1<<52 {
				return Sum{}, 0, ErrEncoding
			}
			n += k
			s.chunk[i] = v
			continue
		}
		v, ok := uv()
		if !ok || v >= 1<<chunkBits {
			return Sum{}, 0, ErrEncoding
		}
		s.chunk[i] = int64(v)
	}
	return s, n, nil
}
