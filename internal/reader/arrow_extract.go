package reader

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/evalnll/evalnll/internal/column"
)

type arrowBuffer = memory.Buffer

// bufBytes returns the bytes of buffer i, or nil.
func bufBytes(bufs []*arrowBuffer, i int) []byte {
	if i >= len(bufs) || bufs[i] == nil {
		return nil
	}
	return bufs[i].Bytes()
}

// arrowCol builds one column of a batch from the Arrow arrays of record
// batches. Value slices point into the Arrow buffers where the type allows
// (float32, float64, int64, uint64, int32 dictionary codes, strings);
// otherwise they are converted into buffers reused from batch to batch.
type arrowCol struct {
	field Field
	out   column.Column

	valid, elemValid []bool
	bools            []bool
	ints             []int64
	f32              []float32
	f64              []float64
	strs             []string
	codes            []int32
	offs             []int64

	// The values of the last dictionary seen, and which one it was.
	dictData arrow.ArrayData
	dict     *arrowCol

	// in dictionary-encodes a column of plain strings (not list
	// elements nor a dictionary's values: plain is set for those).
	in    strIntern
	plain bool
	// fileOff, when set, is the file's note that this column is not worth
	// encoding (a scan that found so tells the scans after it).
	fileOff *atomic.Bool
}

// encodeArrowStrings makes rows [lo, hi) of a String, LargeString, Binary
// or LargeBinary array Dict and Codes of o (see strIntern), and reports
// whether it did.
func (c *arrowCol) encodeArrowStrings(arr arrow.Array, lo, hi int64, o *column.Column) bool {
	if c.plain || c.in.off {
		return false
	}
	d := arr.Data()
	bufs := d.Buffers()
	data := bufBytes(bufs, 2)
	first := d.Offset() + int(lo)
	c.codes = grow(c.codes[:0], int(hi-lo))
	var ok bool
	switch arr.(type) {
	case *array.String, *array.Binary:
		ok = encodeStrings(&c.in, c.codes, offsetsOf32(bufs), data, first)
	case *array.LargeString, *array.LargeBinary:
		ok = encodeStrings(&c.in, c.codes, offsetsOf64(bufs), data, first)
	}
	if !ok {
		if c.fileOff != nil {
			c.fileOff.Store(true)
		}
		return false
	}
	o.Dict, o.Codes = c.in.dict, c.codes
	return true
}

// extract makes rows [lo, hi) of arr the batch column.
func (c *arrowCol) extract(arr arrow.Array, lo, hi int64) error {
	o := &c.out
	*o = column.Column{Type: c.field.Type, List: c.field.List, FixedSize: c.field.FixedSize, Len: int(hi - lo)}
	switch a := arr.(type) {
	case *array.List:
		off := int64(a.Data().Offset())
		raw := a.Offsets()[off+lo : off+hi+1]
		c.offs = grow(c.offs[:0], len(raw))
		for i, v := range raw {
			c.offs[i] = int64(v)
		}
		return c.list(a, a.ListValues(), lo, hi)
	case *array.LargeList:
		off := int64(a.Data().Offset())
		c.offs = append(c.offs[:0], a.Offsets()[off+lo:off+hi+1]...)
		return c.list(a, a.ListValues(), lo, hi)
	case *array.FixedSizeList:
		size := int64(a.DataType().(*arrow.FixedSizeListType).Len())
		base := int64(a.Data().Offset()) + lo
		c.offs = grow(c.offs[:0], int(hi-lo+1))
		for i := range c.offs {
			c.offs[i] = (base + int64(i)) * size
		}
		return c.list(a, a.ListValues(), lo, hi)
	}
	if c.field.List {
		return fmt.Errorf("record batch holds %s, not a list", arr.DataType())
	}
	return c.values(arr, lo, hi, o, false)
}

// list finishes a list column whose child offsets (absolute) are in c.offs.
func (c *arrowCol) list(arr, child arrow.Array, lo, hi int64) error {
	o := &c.out
	o.Valid = bitmapBools(arr, lo, hi, &c.valid)
	beg, end := c.offs[0], c.offs[len(c.offs)-1]
	if err := c.values(child, beg, end, o, true); err != nil {
		return err
	}
	for i := range c.offs {
		c.offs[i] -= beg
	}
	// A null row must hold no elements: drop those that some do (a null
	// fixed-size list row always does).
	if o.Valid != nil {
		for i, ok := range o.Valid {
			if !ok && c.offs[i+1] != c.offs[i] {
				c.compact()
				break
			}
		}
	}
	o.Offsets = c.offs
	return nil
}

// compact copies the elements of the valid rows of a list column into
// buffers of its own, and makes the null rows empty.
func (c *arrowCol) compact() {
	o := &c.out
	keep := func(yield func(a, b int64)) {
		for i, ok := range o.Valid {
			if ok {
				yield(c.offs[i], c.offs[i+1])
			}
		}
	}
	if o.ElemValid != nil {
		o.ElemValid = compactInto(make([]bool, 0, len(o.ElemValid)), o.ElemValid, keep)
	}
	switch {
	case o.Bools != nil:
		o.Bools = compactInto(make([]bool, 0, len(o.Bools)), o.Bools, keep)
	case o.Ints != nil:
		o.Ints = compactInto(make([]int64, 0, len(o.Ints)), o.Ints, keep)
	case o.F32 != nil:
		o.F32 = compactInto(make([]float32, 0, len(o.F32)), o.F32, keep)
	case o.F64 != nil:
		o.F64 = compactInto(make([]float64, 0, len(o.F64)), o.F64, keep)
	case o.Strs != nil:
		o.Strs = compactInto(make([]string, 0, len(o.Strs)), o.Strs, keep)
	case o.Codes != nil:
		o.Codes = compactInto(make([]int32, 0, len(o.Codes)), o.Codes, keep)
	}
	var pos int64
	prev := c.offs[0]
	c.offs[0] = 0
	for i, ok := range o.Valid {
		next := c.offs[i+1]
		if ok {
			pos += next - prev
		}
		prev = next
		c.offs[i+1] = pos
	}
}

func compactInto[T any](dst, src []T, keep func(func(a, b int64))) []T {
	keep(func(a, b int64) { dst = append(dst, src[a:b]...) })
	return dst
}

// bitmapBools returns the validity of rows [lo, hi) of arr, or nil when
// none of them is null.
func bitmapBools(arr arrow.Array, lo, hi int64, buf *[]bool) []bool {
	if arr.NullN() == 0 {
		return nil
	}
	d := arr.Data()
	bits := bufBytes(d.Buffers(), 0)
	if len(bits) == 0 {
		return nil
	}
	off := int64(d.Offset())
	*buf = unpackBits((*buf)[:0], bits, int(off+lo), int(off+hi))
	for _, ok := range *buf {
		if !ok {
			return *buf
		}
	}
	return nil
}

// values makes rows [lo, hi) of a scalar array the values of o, with their
// validity in o.Valid, or o.ElemValid for list elements.
func (c *arrowCol) values(arr arrow.Array, lo, hi int64, o *column.Column, elem bool) error {
	vbuf := &c.valid
	if elem {
		vbuf = &c.elemValid
	}
	v := bitmapBools(arr, lo, hi, vbuf)
	if elem {
		o.ElemValid = v
	} else {
		o.Valid = v
	}
	n := int(hi - lo)
	if dt, ok := arr.DataType().(arrow.DecimalType); ok {
		d := arr.Data()
		w := int64(dt.BitWidth() / 8)
		b := bufBytes(d.Buffers(), 1)
		off := int64(d.Offset())
		if int64(len(b)) < (off+hi)*w {
			return fmt.Errorf("decimal values buffer of %d bytes for %d values", len(b), off+hi)
		}
		c.f64 = grow(c.f64[:0], n)
		for i := range c.f64 {
			at := (off + lo + int64(i)) * w
			c.f64[i] = decimalLE(b[at:at+w], dt.GetScale())
		}
		o.F64 = c.f64
		return nil
	}
	if !elem && n > 0 && c.field.Type == column.String && c.encodeArrowStrings(arr, lo, hi, o) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Float64:
		o.F64 = a.Float64Values()[lo:hi]
	case *array.Float32:
		o.F32 = a.Float32Values()[lo:hi]
	case *array.Float16:
		vals := a.Values()[lo:hi]
		c.f32 = grow(c.f32[:0], n)
		for i, h := range vals {
			c.f32[i] = halfToFloat32(h.Uint16())
		}
		o.F32 = c.f32
	case *array.Int64:
		o.Ints = a.Int64Values()[lo:hi]
	case *array.Uint64:
		u := a.Uint64Values()[lo:hi]
		o.Ints = unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(u))), len(u))
	case *array.Int32:
		c.ints = widen(c.ints[:0], a.Int32Values()[lo:hi])
		o.Ints = c.ints
	case *array.Int16:
		c.ints = widen(c.ints[:0], a.Int16Values()[lo:hi])
		o.Ints = c.ints
	case *array.Int8:
		c.ints = widen(c.ints[:0], a.Int8Values()[lo:hi])
		o.Ints = c.ints
	case *array.Uint32:
		c.ints = widen(c.ints[:0], a.Uint32Values()[lo:hi])
		o.Ints = c.ints
	case *array.Uint16:
		c.ints = widen(c.ints[:0], a.Uint16Values()[lo:hi])
		o.Ints = c.ints
	case *array.Uint8:
		c.ints = widen(c.ints[:0], a.Uint8Values()[lo:hi])
		o.Ints = c.ints
	case *array.Boolean:
		d := a.Data()
		off := d.Offset()
		c.bools = unpackBits(c.bools[:0], bufBytes(d.Buffers(), 1), off+int(lo), off+int(hi))
		o.Bools = c.bools
	case *array.String:
		c.strs = grow(c.strs[:0], n)
		for i := range c.strs {
			c.strs[i] = a.Value(int(lo) + i)
		}
		o.Strs = c.strs
	case *array.LargeString:
		c.strs = grow(c.strs[:0], n)
		for i := range c.strs {
			c.strs[i] = a.Value(int(lo) + i)
		}
		o.Strs = c.strs
	case *array.StringView:
		c.strs = grow(c.strs[:0], n)
		for i := range c.strs {
			c.strs[i] = a.Value(int(lo) + i)
		}
		o.Strs = c.strs
	case *array.Binary:
		c.strs = grow(c.strs[:0], n)
		for i := range c.strs {
			c.strs[i] = a.ValueString(int(lo) + i)
		}
		o.Strs = c.strs
	case *array.LargeBinary:
		c.strs = grow(c.strs[:0], n)
		for i := range c.strs {
			c.strs[i] = a.ValueString(int(lo) + i)
		}
		o.Strs = c.strs
	case *array.BinaryView:
		c.strs = grow(c.strs[:0], n)
		for i := range c.strs {
			c.strs[i] = a.ValueString(int(lo) + i)
		}
		o.Strs = c.strs
	case *array.Dictionary:
		return c.dictionary(a, lo, hi, o, elem)
	default:
		return fmt.Errorf("record batch holds %s values", arr.DataType())
	}
	if o.Strs == nil && c.field.Type == column.String && n == 0 {
		o.Strs = []string{}
	}
	return nil
}

func widen[T int8 | int16 | int32 | uint8 | uint16 | uint32](dst []int64, src []T) []int64 {
	dst = grow(dst, len(src))
	for i, v := range src {
		dst[i] = int64(v)
	}
	return dst
}

// dictionary handles a dictionary-encoded array: strings become Dict and
// Codes, other values are looked up.
func (c *arrowCol) dictionary(a *array.Dictionary, lo, hi int64, o *column.Column, elem bool) error {
	dict := a.Dictionary()
	dlen := int64(dict.Len())
	if dlen > 1<<31-1 {
		return fmt.Errorf("dictionary of %d values", dlen)
	}
	if c.dict == nil {
		c.dict = &arrowCol{field: c.field, plain: true}
	}
	if dict.Data() != c.dictData {
		c.dictData = nil
		dc := c.dict
		dc.out = column.Column{Type: c.field.Type, Len: int(dlen)}
		if err := dc.values(dict, 0, dlen, &dc.out, false); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		c.dictData = dict.Data()
	}
	dv := &c.dict.out
	valid := o.Valid
	vbuf := &c.valid
	if elem {
		valid, vbuf = o.ElemValid, &c.elemValid
	}
	// Codes: int32 indices as they are, others converted; the code of a
	// null row is made 0 when out of range.
	var codes []int32
	fix := false
	switch idx := a.Indices().(type) {
	case *array.Int32:
		codes = idx.Int32Values()[lo:hi]
		for i, k := range codes {
			if int64(uint32(k)) >= dlen {
				if valid == nil || valid[i] {
					return fmt.Errorf("dictionary index %d out of range (dictionary of %d values)", k, dlen)
				}
				fix = true
			}
		}
		if fix {
			codes = append(c.codes[:0], codes...)
		}
	default:
		var err error
		if c.codes, err = convertCodes(c.codes[:0], a.Indices(), lo, hi, dlen, valid); err != nil {
			return err
		}
		codes = c.codes
		fix = true
	}
	if fix {
		for i, k := range codes {
			if int64(uint32(k)) >= dlen {
				codes[i] = 0
			}
		}
		c.codes = codes
	}
	// Rows pointing at a null dictionary value are null.
	if dv.Valid != nil {
		if valid == nil {
			*vbuf = grow((*vbuf)[:0], len(codes))
			valid = *vbuf
			for i := range valid {
				valid[i] = true
			}
		}
		for i, k := range codes {
			if int64(k) < dlen && !dv.Valid[k] {
				valid[i] = false
			}
		}
		if elem {
			o.ElemValid = valid
		} else {
			o.Valid = valid
		}
	}
	if dlen == 0 {
		// Every row is null (checked above): zero values.
		codes = nil
	}
	switch c.field.Type {
	case column.String:
		if dlen == 0 {
			c.strs = grow(c.strs[:0], int(hi-lo))
			clear(c.strs)
			o.Strs = c.strs
			return nil
		}
		o.Dict, o.Codes = dv.Strs, codes
	case column.Bool:
		c.bools = lookup(c.bools[:0], dv.Bools, codes, int(hi-lo))
		o.Bools = c.bools
	case column.Int, column.Uint64:
		c.ints = lookup(c.ints[:0], dv.Ints, codes, int(hi-lo))
		o.Ints = c.ints
	case column.Float32:
		c.f32 = lookup(c.f32[:0], dv.F32, codes, int(hi-lo))
		o.F32 = c.f32
	case column.Float64:
		c.f64 = lookup(c.f64[:0], dv.F64, codes, int(hi-lo))
		o.F64 = c.f64
	}
	return nil
}

// lookup appends dict[k] for each code, or n zero values without codes.
func lookup[T any](dst, dict []T, codes []int32, n int) []T {
	if codes == nil {
		dst = grow(dst, n)
		clear(dst)
		return dst
	}
	return gather(dst, dict, codes)
}

// convertCodes converts dictionary indices of any integer type to int32,
// checking the codes of valid rows against the dictionary length.
func convertCodes(dst []int32, idx arrow.Array, lo, hi, dlen int64, valid []bool) ([]int32, error) {
	n := int(hi - lo)
	dst = grow(dst, n)
	get := func(i int) int64 { return 0 }
	switch x := idx.(type) {
	case *array.Int8:
		v := x.Int8Values()[lo:hi]
		get = func(i int) int64 { return int64(v[i]) }
	case *array.Int16:
		v := x.Int16Values()[lo:hi]
		get = func(i int) int64 { return int64(v[i]) }
	case *array.Int64:
		v := x.Int64Values()[lo:hi]
		get = func(i int) int64 { return v[i] }
	case *array.Uint8:
		v := x.Uint8Values()[lo:hi]
		get = func(i int) int64 { return int64(v[i]) }
	case *array.Uint16:
		v := x.Uint16Values()[lo:hi]
		get = func(i int) int64 { return int64(v[i]) }
	case *array.Uint32:
		v := x.Uint32Values()[lo:hi]
		get = func(i int) int64 { return int64(v[i]) }
	case *array.Uint64:
		v := x.Uint64Values()[lo:hi]
		get = func(i int) int64 {
			if v[i] > 1<<62 {
				return -1
			}
			return int64(v[i])
		}
	default:
		return nil, fmt.Errorf("dictionary indices of type %s", idx.DataType())
	}
	for i := range dst {
		k := get(i)
		if k < 0 || k >= dlen {
			if valid == nil || valid[i] {
				return nil, fmt.Errorf("dictionary index %d out of range (dictionary of %d values)", k, dlen)
			}
			k = 0
		}
		dst[i] = int32(k)
	}
	return dst, nil
}
