package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/evalnll/evalnll/internal/column"
)

// validity builds a []bool of entries (rows, or list elements) lazily: it
// stays nil until the first invalid entry.
type validity struct {
	buf []bool
	on  bool
	n   int // entries so far
}

func (v *validity) reset() {
	v.buf = v.buf[:0]
	v.on = false
	v.n = 0
}

func (v *validity) turnOn() {
	v.buf = grow(v.buf[:0], v.n)
	for i := range v.buf {
		v.buf[i] = true
	}
	v.on = true
}

// addValid appends n valid entries.
func (v *validity) addValid(n int) {
	if v.on {
		for range n {
			v.buf = append(v.buf, true)
		}
	}
	v.n += n
}

// add appends one entry.
func (v *validity) add(ok bool) {
	if !v.on {
		if ok {
			v.n++
			return
		}
		v.turnOn()
	}
	v.buf = append(v.buf, ok)
	v.n++
}

// addLevels appends the entries of def (levels >= entryDef), valid when at
// maxDef.
func (v *validity) addLevels(def []byte, entryDef, maxDef byte) {
	if !v.on {
		cnt := 0
		for i, d := range def {
			if d < entryDef {
				continue
			}
			if d != maxDef {
				v.n += cnt
				v.turnOn()
				def = def[i:]
				break
			}
			cnt++
		}
		if !v.on {
			v.n += cnt
			return
		}
	}
	for _, d := range def {
		if d >= entryDef {
			v.buf = append(v.buf, d == maxDef)
		}
	}
	v.n = len(v.buf)
}

func (v *validity) slice() []bool {
	if !v.on {
		return nil
	}
	return v.buf
}

// begin starts a batch.
func (c *pqCursor) begin() {
	c.dropAlias()
	c.valid.reset()
	c.rowValid.reset()
	c.strMode, c.strDict = strNone, nil
	c.arena = c.arena[:0]
	c.bBool = c.bBool[:0]
	c.bInt = c.bInt[:0]
	c.bF32 = c.bF32[:0]
	c.bF64 = c.bF64[:0]
	c.bStr = c.bStr[:0]
	c.bCodes = c.bCodes[:0]
	c.bOff = c.bOff[:0]
}

// fillFlat reads n rows of a scalar column.
func (c *pqCursor) fillFlat(n int) error {
	c.begin()
	maxDef := c.col.maxDef
	for pos := 0; pos < n; {
		if c.lvl >= c.nlvl {
			if err := c.nextPage(); err != nil {
				if err == io.EOF {
					return errors.New("column chunk holds fewer values than the row group has rows")
				}
				return err
			}
			continue
		}
		take := min(n-pos, c.nlvl-c.lvl)
		var def []byte
		cnt := take
		if maxDef > 0 && c.pageNulls > 0 {
			def = c.def[c.lvl : c.lvl+take]
			cnt = countLevels(def, maxDef)
			c.valid.addLevels(def, 0, maxDef)
		} else {
			c.valid.addValid(take)
		}
		if err := c.take(cnt); err != nil {
			return err
		}
		c.appendRun(def, 0, take)
		c.lvl += take
		pos += take
	}
	c.end(n)
	return nil
}

// fillList reads n rows of a list column. A row starts at a repetition
// level of 0 and runs to the next one, which may be pages later.
func (c *pqCursor) fillList(n int) error {
	c.begin()
	col := c.col
	rows, elems := 0, 0
	for {
		if c.lvl >= c.nlvl {
			err := c.nextPage()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			continue
		}
		def, rep := c.def, c.rep
		start, k := c.lvl, c.lvl
		r, ne, nv := rows, 0, 0
		stop := false
		if c.pageNulls == 0 {
			// Every level of the page is a value: only rows to find, where
			// the repetition level is 0, skipping 8 levels at a time.
			if r == 0 && rep[k] != 0 {
				return errors.New("a page starts in the middle of a row (repetition level of the first value is not 0)")
			}
			for k < c.nlvl {
				for k+8 <= c.nlvl && !hasZeroByte(binary.LittleEndian.Uint64(rep[k:])) {
					k += 8
				}
				if k >= c.nlvl {
					break
				}
				if rep[k] == 0 {
					if r == n {
						stop = true
						break
					}
					r++
					c.bOff = append(c.bOff, int64(elems+k-start))
				}
				k++
			}
			cnt := k - start
			if err := c.take(cnt); err != nil {
				return err
			}
			c.rowValid.addValid(r - rows)
			c.valid.addValid(cnt)
			c.appendRun(nil, col.elemDef, cnt)
			elems += cnt
			rows = r
			c.lvl = k
			if stop {
				break
			}
			continue
		}
		for ; k < c.nlvl; k++ {
			d := def[k]
			if rep[k] == 0 {
				if r == n {
					stop = true
					break
				}
				r++
			} else if r == 0 {
				return errors.New("a page starts in the middle of a row (repetition level of the first value is not 0)")
			} else if d < col.elemDef {
				return fmt.Errorf("repeated value with definition level %d", d)
			}
			if d >= col.elemDef {
				ne++
				if d == col.maxDef {
					nv++
				}
			}
		}
		seg, segRep := def[start:k], rep[start:k]
		if err := c.take(nv); err != nil {
			return err
		}
		for i, rl := range segRep {
			d := seg[i]
			if rl == 0 {
				c.bOff = append(c.bOff, int64(elems))
				c.rowValid.add(d >= col.listDef)
			}
			if d >= col.elemDef {
				elems++
			}
		}
		c.valid.addLevels(seg, col.elemDef, col.maxDef)
		c.appendRun(seg, col.elemDef, ne)
		rows = r
		c.lvl = k
		if stop {
			break
		}
	}
	if rows < n {
		return errors.New("column chunk holds fewer rows than the row group")
	}
	c.bOff = append(c.bOff, int64(elems))
	c.end(n)
	return nil
}

// hasZeroByte reports whether one of the 8 bytes of x is 0.
func hasZeroByte(x uint64) bool {
	return (x-0x0101010101010101)&^x&0x8080808080808080 != 0
}

// appendRun appends the entries of def (levels >= entryDef, all of them
// when def is nil) to the batch: the current run's values, and a zero value
// for each null entry.
func (c *pqCursor) appendRun(def []byte, entryDef byte, entries int) {
	maxDef := c.col.maxDef
	switch c.col.field.Type {
	case column.Bool:
		c.bBool = appendEntries(c.bBool, c.vBool, def, entryDef, maxDef, entries)
	case column.Int, column.Uint64:
		c.bInt = appendVals(c, c.bInt, c.vInt, &c.ownInt, def, entryDef, maxDef, entries)
	case column.Float32:
		c.bF32 = appendVals(c, c.bF32, c.vF32, &c.ownF32, def, entryDef, maxDef, entries)
	case column.Float64:
		c.bF64 = appendVals(c, c.bF64, c.vF64, &c.ownF64, def, entryDef, maxDef, entries)
	case column.String:
		c.appendStrRun(def, entryDef, entries)
	}
}

// appendStrRun keeps a batch of strings as Dict+Codes while every run comes
// from the same dictionary, and switches to Strs otherwise.
func (c *pqCursor) appendStrRun(def []byte, entryDef byte, entries int) {
	maxDef := c.col.maxDef
	if c.vCodes != nil {
		if c.strMode == strNone {
			c.strMode, c.strDict = strCodes, c.vDict
		}
		if c.strMode == strCodes && sameStrings(c.strDict, c.vDict) {
			c.bCodes = appendEntries(c.bCodes, c.vCodes, def, entryDef, maxDef, entries)
			return
		}
		c.sStr = gather(c.sStr[:0], c.vDict, c.vCodes)
		c.vStr = c.sStr
	}
	if c.strMode == strCodes {
		c.bStr = gather(c.bStr[:0], c.strDict, c.bCodes)
	}
	c.strMode = strStrs
	c.bStr = appendEntries(c.bStr, c.vStr, def, entryDef, maxDef, entries)
}

func sameStrings(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// appendVals appends a run as appendEntries does. A run of values without
// nulls that a rawChunk holds in its page buffer is not copied: the batch
// column points into the page buffer, for as long as the runs are
// contiguous there (c.aliased). The buffer the batch owns is kept in own.
func appendVals[T any](c *pqCursor, dst, dense []T, own *[]T, def []byte, entryDef, maxDef byte, entries int) []T {
	if c.aliasable && (def == nil || entries == len(dense)) {
		switch {
		case len(dense) == 0:
			return dst
		case len(dst) == 0:
			if !c.aliased {
				*own = dst
			}
			c.aliased = true
			return dense
		case c.aliased:
			var zero T
			next := unsafe.Add(unsafe.Pointer(unsafe.SliceData(dst)), uintptr(len(dst))*unsafe.Sizeof(zero))
			if unsafe.Pointer(unsafe.SliceData(dense)) == next {
				return unsafe.Slice(unsafe.SliceData(dst), len(dst)+len(dense))
			}
		}
	}
	if c.aliased {
		dst = append((*own)[:0], dst...)
		c.aliased = false
	}
	return appendEntries(dst, dense, def, entryDef, maxDef, entries)
}

// unalias copies a batch column that points into the page buffer into the
// batch's own buffer, before the page buffer is overwritten.
func (c *pqCursor) unalias() {
	if !c.aliased {
		return
	}
	c.aliased = false
	switch c.col.field.Type {
	case column.Int, column.Uint64:
		c.bInt = append(c.ownInt[:0], c.bInt...)
	case column.Float32:
		c.bF32 = append(c.ownF32[:0], c.bF32...)
	case column.Float64:
		c.bF64 = append(c.ownF64[:0], c.bF64...)
	}
}

// dropAlias forgets a batch column that points into the page buffer, once
// the batch is no longer borrowed.
func (c *pqCursor) dropAlias() {
	if !c.aliased {
		return
	}
	c.aliased = false
	c.bInt, c.bF32, c.bF64 = c.ownInt[:0], c.ownF32[:0], c.ownF64[:0]
}

// copyPreemptible is copy in pieces of 32 KiB. The runtime's memmove
// cannot be preempted: a goroutine copying half a megabyte at a time keeps
// the garbage collector, which must stop it to scan its stack, signalling
// and spinning for the whole copy (a quarter of the CPU time of a tokens
// run, under virtualisation where each signal is costly). Between pieces
// it can be stopped.
func copyPreemptible[T any](dst, src []T) {
	var zero T
	step := max(1, (32<<10)/int(unsafe.Sizeof(zero)))
	for len(src) > step {
		copy(dst, src[:step])
		dst, src = dst[step:], src[step:]
	}
	copy(dst, src)
}

// appendEntries appends one value per entry of def (levels >= entryDef):
// the next dense value at maxDef, else a zero value. With def nil, or no
// null entry, it appends dense as is.
func appendEntries[T any](dst, dense []T, def []byte, entryDef, maxDef byte, entries int) []T {
	start := len(dst)
	if def == nil || entries == len(dense) {
		// grow doubles: append's growth of 1.25 for large slices copies a
		// batch column of millions of values several times over on the
		// way to its size (all of it fresh memory to fault in).
		dst = grow(dst, start+len(dense))
		copyPreemptible(dst[start:], dense)
		return dst
	}
	dst = grow(dst, start+entries)
	out := dst[start:]
	var zero T
	j, k := 0, 0
	for _, d := range def {
		if d < entryDef {
			continue
		}
		if d == maxDef {
			out[k] = dense[j]
			j++
		} else {
			out[k] = zero
		}
		k++
	}
	return dst
}

// end publishes the batch column.
func (c *pqCursor) end(n int) {
	col := c.col
	o := &c.out
	*o = column.Column{Type: col.field.Type, List: col.field.List, Len: n}
	if col.maxRep > 0 {
		o.Offsets = c.bOff
		o.Valid = c.rowValid.slice()
		o.ElemValid = c.valid.slice()
	} else {
		o.Valid = c.valid.slice()
	}
	switch col.field.Type {
	case column.Bool:
		o.Bools = c.bBool
	case column.Int, column.Uint64:
		o.Ints = c.bInt
	case column.Float32:
		o.F32 = c.bF32
	case column.Float64:
		o.F64 = c.bF64
	case column.String:
		if c.strMode == strCodes && len(c.strDict) == 0 {
			// Codes into an empty dictionary: every entry is null.
			c.bStr = grow(c.bStr[:0], len(c.bCodes))
			clear(c.bStr)
			c.strMode = strStrs
		}
		switch c.strMode {
		case strCodes:
			o.Dict, o.Codes = c.strDict, c.bCodes
		default:
			if v := c.valid.slice(); v != nil {
				for i, ok := range v {
					if !ok {
						c.bStr[i] = ""
					}
				}
			}
			o.Strs = c.bStr
			if o.Strs == nil {
				o.Strs = []string{}
			}
		}
	}
}

// finish checks, after the last row of the row group, that the column chunk
// holds no more values.
func (c *pqCursor) finish() error {
	c.dropAlias() // the last batch is no longer borrowed
	if c.lvl < c.nlvl {
		return errors.New("column chunk holds more values than the row group has rows")
	}
	err := c.nextPage()
	c.close()
	switch err {
	case io.EOF:
		return nil
	case nil:
		return errors.New("column chunk holds more values than the row group has rows")
	}
	return err
}
