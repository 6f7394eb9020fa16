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

	// The short set: up to shortMax values of at most 8 bytes, the
	// first added to the dictionary (sw, sn, sc: bytes zero padded,
	// lengths, codes), in a table of 16 slots, tw and tnc, indexed by
	// shortSlot with a multiplier (shortMul) that puts each in a slot of
	// its own, found when a value is added: tw holds a value's bytes,
	// tnc its length << 32 | its code; an empty slot has bytes 0 and
	// length 15, which no row is taken to have (the fast loops take a
	// row's length as at most 9). The fast loops (encodeShort) encode the
	// rows whose values are in the set with one look-up each.
	sw       [shortMax]uint64
	sn       [shortMax]int
	sc       [shortMax]int32
	nShort   int
	shortMul uint64
	tw, tnc  [16]uint64
	fastRows int64 // rows the fast loops encoded
	fastMiss int64 // times they stopped at a value not in the set
	fastOff  bool  // too many of those: encodeScalar only
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

// shortMax is the most values in the short set: 12 values find a
// hash into 16 slots that separates them within a few hundred tries (the
// odds of a random one are 16!/(4!·16^12) ≈ 1/320), 8 within ten.
const (
	shortMax   = 12
	shortTries = 4096
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

// encodeStrings sets codes[i] to the code of value lo+i of an array with
// these offsets (checked: in order, within data) and values, for i <
// len(codes). It returns false, with s.off set, when the column is not
// worth encoding: codes are then incomplete, and the caller reads the rows
// as strings.
//
// The fast loops (encodeShort) take the rows whose values are in the short
// set; at a row they cannot encode (a value new or not in the set, longer
// than 8 bytes, or near the end of data), the next fastBlock rows take
// encodeScalar, which adds new values to the dictionary, and short ones to
// the set while it has room, and the fast loops start again.
func encodeStrings[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte, lo int) bool {
	if len(s.slots) == 0 {
		s.slots = make([]internSlot, internSlots0)
	}
	offs = offs[lo : lo+len(codes)+1]
	for i := 0; i < len(codes); {
		end := len(codes)
		if !s.fastOff {
			i += encodeShort(s, codes[i:], offs[i:], data)
			if i == len(codes) {
				break
			}
			end = min(end, i+fastBlock)
		}
		if !encodeScalar(s, codes[i:end], offs[i:end+1], data) {
			return false
		}
		i = end
	}
	return true
}

// fastBlock is how many rows the vector loop takes at a time, and how many
// encodeScalar takes where a fast loop stops.
const fastBlock = 8

// encodeShort encodes rows from the start of codes (offs holds their
// offsets, one more than rows) whose values are in the short set, and
// returns how many: eight at a time with AVX-512 (encodeShortVec), else
// one at a time.
func encodeShort[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte) int {
	if s.nShort == 0 {
		return 0
	}
	if useVecIntern {
		return encodeShortVec(s, codes, offs, data)
	}
	return encodeShortScalar(s, codes, offs, data)
}

// lenMask[n] keeps the first n bytes of a little-endian word.
var lenMask = [16]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, ^uint64(0)}

// encodeShortScalar is the fast loop without vectors: one row at a time,
// while the rows' values are in the short set and their first 8 bytes
// within data.
func encodeShortScalar[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte) int {
	offs = offs[:len(codes)+1]
	m := s.shortMul
	tw, tnc := &s.tw, &s.tnc
	limit := len(data) - 8
	i := 0
	for ; i < len(codes); i++ {
		a, n := int(offs[i]), uint(offs[i+1]-offs[i])
		if a > limit {
			break
		}
		if n > 8 {
			s.fastMissed()
			break
		}
		w := binary.LittleEndian.Uint64(data[a:]) & lenMask[n&15]
		k := shortSlot(shortKey(w, int(n)), m) & 15
		if tw[k] != w || tnc[k]>>32 != uint64(n) {
			s.fastMissed()
			break
		}
		codes[i] = int32(uint32(tnc[k]))
	}
	s.rows += int64(i)
	s.fastRows += int64(i)
	return i
}

// fastMissed counts a stop of the fast loops at a value not in the short
// set, and turns them off for the rest of the scan when that happens past
// the first rows (a new value stops them until it is in the set) more than
// once in 64 rows.
func (s *strIntern) fastMissed() {
	s.fastMiss++
	if s.fastMiss > 32 && s.fastMiss*64 > s.fastRows {
		s.fastOff = true
	}
}

// encodeScalar encodes rows one at a time: codes[i] is the code of the
// value from offs[i] to offs[i+1].
func encodeScalar[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte) bool {
	shift := 64 - uint(bits.TrailingZeros(uint(len(s.slots))))
	mask := len(s.slots) - 1
	offs = offs[:len(codes)+1]
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
				if n <= 8 && !s.fastOff {
					s.addShort(w, n, code)
				}
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

// shortKey is the value of n <= 8 bytes w (zero padded) as the short set
// hashes it; shortSlot is its slot in the table with multiplier m.
func shortKey(w uint64, n int) uint64 { return w ^ uint64(n)<<59 }
func shortSlot(key, m uint64) int     { return int(key * m >> 60) }

// addShort adds a value of n <= 8 bytes w (zero padded) and its code to the
// short set, if a multiplier puts each value of the set in a slot of its
// own (the current one, or one of shortTries others); otherwise the set
// stays as it was, and the rows of this value are encoded by
// encodeScalar.
func (s *strIntern) addShort(w uint64, n int, code int32) {
	if s.nShort >= shortMax {
		return
	}
	s.sw[s.nShort], s.sn[s.nShort], s.sc[s.nShort] = w, n, code
	d := s.nShort + 1
	separates := func(m uint64) bool {
		var used uint16
		for e := range d {
			bit := uint16(1) << shortSlot(shortKey(s.sw[e], s.sn[e]), m)
			if used&bit != 0 {
				return false
			}
			used |= bit
		}
		return true
	}
	m := s.shortMul
	if s.nShort == 0 || !separates(m) {
		m = 0
		x := uint64(0x243f6a8885a308d3)
		for range shortTries {
			// splitmix64
			x += 0x9e3779b97f4a7c15
			z := (x ^ x>>30) * 0xbf58476d1ce4e5b9
			z = (z ^ z>>27) * 0x94d049bb133111eb
			if c := (z ^ z>>31) | 1; separates(c) {
				m = c
				break
			}
		}
		if m == 0 {
			return
		}
	}
	s.nShort, s.shortMul = d, m
	for k := range s.tw {
		s.tw[k], s.tnc[k] = 0, 15<<32
	}
	for e := range d {
		k := shortSlot(shortKey(s.sw[e], s.sn[e]), m)
		s.tw[k], s.tnc[k] = s.sw[e], uint64(s.sn[e])<<32|uint64(uint32(s.sc[e]))
	}
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
