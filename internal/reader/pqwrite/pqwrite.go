// Package pqwrite writes small Parquet files page by page, for tests of
// the readers: data pages (v1) of a chosen number of levels each, so that
// a list column's pages start in the middle of a row as DuckDB's do, PLAIN
// or dictionary-encoded values, levels as a mix of RLE and bit-packed runs,
// uncompressed or snappy.
package pqwrite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"os"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Col is a column of a file.
type Col struct {
	Name string
	// Type is format.Int32, Int64, Float or Double.
	Type format.Type
	// List makes a three-level list column of Type elements.
	List bool
	// Optional: the value (the list, for a list column) may be null.
	Optional bool
	// ElemOptional: the elements of a list may be null.
	ElemOptional bool
	// Dict writes a dictionary page and dictionary-encoded data pages.
	Dict bool
	// PageLevels is the number of levels (values, nulls included) of each
	// data page, cut wherever it falls (0: one page per chunk).
	PageLevels int
}

// Cell is one row of a column: a value, or a list of elements (nil List
// with Null for a null list; an empty non-nil List for an empty one).
type Cell struct {
	Null bool
	V    float64
	List []Elem
}

// Elem is an element of a list.
type Elem struct {
	Null bool
	V    float64
}

// File is a file to write.
type File struct {
	Cols []Col
	// Groups are the row groups: per column, one cell per row.
	Groups [][][]Cell
	Snappy bool
	// CRC writes each page's checksum.
	CRC bool
	// Mangle, if set, may change each data page before it is compressed
	// (to write corrupt files): its header's counts and its body.
	Mangle func(col string, group, page int, h *format.PageHeader, body []byte) []byte
}

// Write writes f to path.
func (f *File) Write(path string) error {
	b, err := f.Bytes()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Bytes encodes f.
func (f *File) Bytes() ([]byte, error) {
	var out bytes.Buffer
	out.WriteString("PAR1")
	meta := format.FileMetaData{Version: 1, CreatedBy: "evalnll pqwrite"}
	meta.Schema = append(meta.Schema, format.SchemaElement{Name: "schema", NumChildren: thrift.New(int32(len(f.Cols)))})
	for _, c := range f.Cols {
		meta.Schema = append(meta.Schema, c.schema()...)
	}
	for gi, g := range f.Groups {
		if len(g) != len(f.Cols) {
			return nil, fmt.Errorf("row group %d has %d columns, the file %d", gi, len(g), len(f.Cols))
		}
		rows := len(g[0])
		rg := format.RowGroup{NumRows: int64(rows)}
		for ci, c := range f.Cols {
			if len(g[ci]) != rows {
				return nil, fmt.Errorf("row group %d: column %q has %d rows, not %d", gi, c.Name, len(g[ci]), rows)
			}
			cc, err := f.writeChunk(&out, c, gi, g[ci])
			if err != nil {
				return nil, err
			}
			rg.Columns = append(rg.Columns, cc)
			rg.TotalByteSize += cc.MetaData.TotalUncompressedSize
		}
		meta.NumRows += int64(rows)
		meta.RowGroups = append(meta.RowGroups, rg)
	}
	mb, err := thrift.Marshal(new(thrift.CompactProtocol), &meta)
	if err != nil {
		return nil, err
	}
	out.Write(mb)
	binary.Write(&out, binary.LittleEndian, uint32(len(mb)))
	out.WriteString("PAR1")
	return out.Bytes(), nil
}

func (c Col) rep(opt bool) thrift.Null[format.FieldRepetitionType] {
	if opt {
		return thrift.New(format.Optional)
	}
	return thrift.New(format.Required)
}

func (c Col) schema() []format.SchemaElement {
	if !c.List {
		return []format.SchemaElement{{Name: c.Name, Type: thrift.New(c.Type), RepetitionType: c.rep(c.Optional)}}
	}
	return []format.SchemaElement{
		{Name: c.Name, RepetitionType: c.rep(c.Optional), NumChildren: thrift.New(int32(1)), ConvertedType: thrift.New(deprecated.List)},
		{Name: "list", RepetitionType: thrift.New(format.Repeated), NumChildren: thrift.New(int32(1))},
		{Name: "element", Type: thrift.New(c.Type), RepetitionType: c.rep(c.ElemOptional)},
	}
}

// levels returns the maximum repetition and definition levels.
func (c Col) levels() (maxRep, maxDef byte) {
	if !c.List {
		if c.Optional {
			return 0, 1
		}
		return 0, 0
	}
	maxDef = 1 // an element present
	if c.Optional {
		maxDef++
	}
	if c.ElemOptional {
		maxDef++
	}
	return 1, maxDef
}

// flatten turns cells into levels and the non-null values.
func (c Col) flatten(cells []Cell) (rep, def []byte, vals []float64, err error) {
	maxRep, maxDef := c.levels()
	listDef := byte(0)
	if c.Optional {
		listDef = 1
	}
	for i, cell := range cells {
		if cell.Null && !c.Optional {
			return nil, nil, nil, fmt.Errorf("column %q: row %d is null, the column is required", c.Name, i)
		}
		for _, e := range cell.List {
			if e.Null && !c.ElemOptional {
				return nil, nil, nil, fmt.Errorf("column %q: row %d has a null element, the elements are required", c.Name, i)
			}
		}
		if !c.List {
			if cell.Null {
				def = append(def, 0)
				continue
			}
			def = append(def, maxDef)
			vals = append(vals, cell.V)
			continue
		}
		switch {
		case cell.Null:
			rep, def = append(rep, 0), append(def, 0)
		case len(cell.List) == 0:
			rep, def = append(rep, 0), append(def, listDef)
		default:
			for i, e := range cell.List {
				r := byte(0)
				if i > 0 {
					r = maxRep
				}
				rep = append(rep, r)
				if e.Null {
					def = append(def, listDef+1)
				} else {
					def = append(def, maxDef)
					vals = append(vals, e.V)
				}
			}
		}
	}
	return rep, def, vals, nil
}

func (c Col) plain(dst []byte, v float64) []byte {
	switch c.Type {
	case format.Int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(int32(v)))
	case format.Int64:
		return binary.LittleEndian.AppendUint64(dst, uint64(int64(v)))
	case format.Float:
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(v)))
	}
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

func (f *File) writeChunk(out *bytes.Buffer, c Col, group int, cells []Cell) (format.ColumnChunk, error) {
	maxRep, maxDef := c.levels()
	rep, def, vals, err := c.flatten(cells)
	if err != nil {
		return format.ColumnChunk{}, err
	}
	nlev := len(def)
	if !c.List && maxDef == 0 {
		nlev = len(vals)
	}
	codec := format.Uncompressed
	if f.Snappy {
		codec = format.Snappy
	}
	cm := format.ColumnMetaData{Type: c.Type, Codec: codec, NumValues: int64(nlev)}
	cm.PathInSchema = thrift.Slice[string]{c.Name}
	if c.List {
		cm.PathInSchema = append(cm.PathInSchema, "list", "element")
	}
	start := int64(out.Len())
	var dict map[float64]int
	var dictVals []float64
	if c.Dict {
		dict = map[float64]int{}
		for _, v := range vals {
			if _, ok := dict[v]; !ok {
				dict[v] = len(dictVals)
				dictVals = append(dictVals, v)
			}
		}
		var body []byte
		for _, v := range dictVals {
			body = c.plain(body, v)
		}
		hdr := format.PageHeader{Type: format.DictionaryPage,
			DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: int32(len(dictVals)), Encoding: format.PlainDictionary})}
		if err := f.page(out, &cm, hdr, body); err != nil {
			return format.ColumnChunk{}, err
		}
		cm.DictionaryPageOffset = start
		cm.Encoding = append(cm.Encoding, format.PlainDictionary)
	} else {
		cm.Encoding = append(cm.Encoding, format.Plain)
	}
	cm.Encoding = append(cm.Encoding, format.RLE)
	cm.DataPageOffset = int64(out.Len())
	per := c.PageLevels
	if per <= 0 {
		per = max(nlev, 1)
	}
	vi, page := 0, 0
	for lo := 0; lo < nlev || lo == 0; lo += per {
		hi := min(lo+per, nlev)
		var body []byte
		if maxRep > 0 {
			body = appendLevels(body, rep[lo:hi], maxRep)
		}
		n := hi - lo
		if maxDef > 0 {
			body = appendLevels(body, def[lo:hi], maxDef)
			n = 0
			for _, d := range def[lo:hi] {
				if d == maxDef {
					n++
				}
			}
		}
		pv := vals[vi : vi+n]
		vi += n
		enc := format.Plain
		if c.Dict {
			enc = format.PlainDictionary
			w := max(1, bits.Len(uint(max(len(dictVals)-1, 0))))
			body = append(body, byte(w))
			idx := make([]byte, len(pv))
			for i, v := range pv {
				idx[i] = byte(dict[v]) // tests keep dictionaries under 256 values
			}
			if len(dictVals) > 256 {
				return format.ColumnChunk{}, fmt.Errorf("column %q: dictionary of %d values", c.Name, len(dictVals))
			}
			body = appendHybrid(body, idx, w)
		} else {
			for _, v := range pv {
				body = c.plain(body, v)
			}
		}
		hdr := format.PageHeader{Type: format.DataPage,
			DataPageHeader: thrift.New(format.DataPageHeader{NumValues: int32(hi - lo), Encoding: enc,
				DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE})}
		if f.Mangle != nil {
			body = f.Mangle(c.Name, group, page, &hdr, body)
		}
		page++
		if err := f.page(out, &cm, hdr, body); err != nil {
			return format.ColumnChunk{}, err
		}
		if hi >= nlev {
			break
		}
	}
	return format.ColumnChunk{FileOffset: start, MetaData: cm}, nil
}

// page writes a page: its header, then its body, compressed.
func (f *File) page(out *bytes.Buffer, cm *format.ColumnMetaData, hdr format.PageHeader, body []byte) error {
	data := body
	if f.Snappy {
		data = snappy.Encode(nil, body)
	}
	hdr.UncompressedPageSize = int32(len(body))
	hdr.CompressedPageSize = int32(len(data))
	if f.CRC {
		hdr.CRC = int32(crc32.ChecksumIEEE(data))
	}
	hb, err := thrift.Marshal(new(thrift.CompactProtocol), &hdr)
	if err != nil {
		return err
	}
	out.Write(hb)
	out.Write(data)
	cm.TotalUncompressedSize += int64(len(hb) + len(body))
	cm.TotalCompressedSize += int64(len(hb) + len(data))
	return nil
}

// appendLevels appends levels of at most max, as a 4-byte length and the
// RLE/bit-packed hybrid encoding.
func appendLevels(dst []byte, levels []byte, max byte) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendHybrid(dst, levels, bits.Len8(max))
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// appendHybrid encodes v with width bits per value: runs of 8 or more
// equal values as RLE runs, the rest bit-packed in groups of 8 (the last
// group padded with zeros).
func appendHybrid(dst []byte, v []byte, width int) []byte {
	runAt := func(i int) int {
		j := i
		for j < len(v) && v[j] == v[i] {
			j++
		}
		return j - i
	}
	for i := 0; i < len(v); {
		if r := runAt(i); r >= 8 || width == 0 {
			dst = binary.AppendUvarint(dst, uint64(r)<<1)
			if width > 0 {
				dst = append(dst, v[i])
			}
			i += r
			continue
		}
		start := i
		for {
			i += 8
			if i >= len(v) || runAt(i) >= 8 {
				break
			}
		}
		groups := (i - start) / 8
		dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
		var acc uint64
		nb := 0
		for k := start; k < i; k++ {
			x := byte(0)
			if k < len(v) {
				x = v[k]
			}
			acc |= uint64(x) << nb
			nb += width
			for nb >= 8 {
				dst = append(dst, byte(acc))
				acc >>= 8
				nb -= 8
			}
		}
		i = min(i, len(v))
	}
	return dst
}
