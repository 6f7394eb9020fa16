package reader

import (
	"encoding/binary"
	"math/bits"
)

// strIntern dictionary-encodes a column of Arrow strings or binary values
// (String, LargeString, Binary, LargeBinary arrays) as it reads them: each
// row becomes a code into a dictionary of the distinct values, found by
// the value's length and first 8 bytes (and, for longer values, a string
// comparison), so that no Go string is made per row and a consumer that
// groups or translates the values (--by, string labels) looks each distinct
// value up once per batch rather than each row's string (column.Column
// Dict and Codes).
//
// The dictionary holds copies of the values: it stays valid after the
// record batch it came from is released, and grows from batch to batch of
// one scan, entries never changing (a consumer may key a cache by the
// dictionary's address and length). A column of mostly distinct values
// (ids, texts) stops being encoded once that shows (see internWorth), and
// is read as plain strings from then on, in this scan and the file's
// later ones (arrowFile.plainStrs).
type strIntern struct {
	dict  []string
	slots []internSlot // open addressing; len a power of two, at most a quarter full
	bytes int          // the dictionary's bytes
	rows  int64        // rows encoded so far
	off   bool         // not worth it: plain strings from now on
}

// internSlot is a dictionary entry in strIntern's hash table: n is the
// value's length plus 1 (0: an empty slot), w its first 8 bytes (zero
// padded), code its index in the dictionary.
type internSlot struct {
	w    uint64
	n    int32
	code int32
}

const (
	// internMax is the most distinct values encoded, internMaxBytes the
	// most bytes they may hold in all.
	internMax      = 1 << 16
	internMaxBytes = 4 << 20
	// internFree is how many distinct values a column may reach before
	// internWorth asks for repeats: a --by column of ten thousand groups
	// is encoded from its first rows on.
	internFree = 1 << 14
)

// internSlots0 is the size of a new hash table (16 KiB): sparse enough
// for a handful of values to fall in slots of their own (a value found by
// probing further costs a mispredicted branch a row: with 64 slots, four
// of the benchmark's eight slice names shared a slot).
const internSlots0 = 1024

// internWorth reports whether encoding stays worth it with n distinct
// values of size bytes in all in rows rows: at most internMax values and
// internMaxBytes, and, past internFree values, each value twice on average.
func internWorth(n, size int, rows int64) bool {
	return n <= internMax && size <= internMaxBytes && (n <= internFree || int64(n)*2 <= rows)
}

// reset empties s for a new column, keeping a small table's memory.
func (s *strIntern) reset() {
	if len(s.slots) > internSlots0 {
		s.slots = nil
	}
	clear(s.slots)
	*s = strIntern{slots: s.slots}
}

// encode sets codes[i] to the code of value lo+i of an array with these
// offsets (checked: in order, within data) and values, for i < len(codes).
// It returns false, with s.off set, when the column is not worth encoding:
// codes are then incomplete, and the caller reads the rows as strings.
func encodeStrings[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte, lo int) bool {
	if len(s.slots) == 0 {
		s.slots = make([]internSlot, internSlots0)
	}
	shift := 64 - uint(bits.TrailingZeros(uint(len(s.slots))))
	mask := len(s.slots) - 1
	offs = offs[lo : lo+len(codes)+1]
	for i := range codes {
		a, b := int(offs[i]), int(offs[i+1])
		v := data[a:b]
		n := len(v)
		var w, h uint64
		if n <= 8 {
			if a+8 <= len(data) {
				w = binary.LittleEndian.Uint64(data[a:]) & (^uint64(0) >> (64 - 8*uint(n)))
			} else {
				for k := n - 1; k >= 0; k-- {
					w = w<<8 | uint64(v[k])
				}
			}
			h = (w ^ uint64(n)<<59) * 0x9e3779b97f4a7c15
		} else {
			w = binary.LittleEndian.Uint64(v)
			h = (w*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(v[n-8:]) ^ uint64(n)) * 0xbf58476d1ce4e5b9
		}
		k := int(h >> shift)
		for {
			sl := &s.slots[k]
			if sl.n == int32(n+1) && sl.w == w && (n <= 8 || s.dict[sl.code] == string(v)) {
				codes[i] = sl.code
				break
			}
			if sl.n == 0 {
				if !internWorth(len(s.dict)+1, s.bytes+n, s.rows+int64(i)+1) {
					s.off = true
					return false
				}
				code := int32(len(s.dict))
				s.dict = append(s.dict, string(v)) // a copy
				s.bytes += n
				*sl = internSlot{w: w, n: int32(n + 1), code: code}
				codes[i] = code
				if 4*len(s.dict) > len(s.slots) {
					s.grow()
					shift = 64 - uint(bits.TrailingZeros(uint(len(s.slots))))
					mask = len(s.slots) - 1
				}
				break
			}
			k = (k + 1) & mask
		}
	}
	s.rows += int64(len(codes))
	return true
}

// grow doubles the hash table.
func (s *strIntern) grow() {
	old := s.slots
	s.slots = make([]internSlot, 2*len(old))
	shift := 64 - uint(bits.TrailingZeros(uint(len(s.slots))))
	mask := len(s.slots) - 1
	for _, sl := range old {
		if sl.n == 0 {
			continue
		}
		v := s.dict[sl.code]
		n := len(v)
		var h uint64
		if n <= 8 {
			h = (sl.w ^ uint64(n)<<59) * 0x9e3779b97f4a7c15
		} else {
			h = (sl.w*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64([]byte(v[n-8:])) ^ uint64(n)) * 0xbf58476d1ce4e5b9
		}
		k := int(h >> shift)
		for s.slots[k].n != 0 {
			k = (k + 1) & mask
		}
		s.slots[k] = sl
	}
}
