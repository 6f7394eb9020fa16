package reader

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/column"
)

// conv says how the values of a Parquet leaf column become column values.
type conv uint8

const (
	convNone    conv = iota
	convBool         // BOOLEAN -> Bools
	convInt32        // signed INT32 -> Ints
	convUint32       // unsigned INT32 -> Ints
	convInt64        // INT64 -> Ints (Uint64 keeps the bits)
	convFloat        // FLOAT -> F32
	convDouble       // DOUBLE -> F64
	convFloat16      // FIXED_LEN_BYTE_ARRAY(2) FLOAT16 -> F32
	convBytes        // BYTE_ARRAY -> Strs / Dict+Codes
	convFixed        // FIXED_LEN_BYTE_ARRAY -> Strs / Dict+Codes
)

// kind is the encoding.Kind of the page data of a conv.
func (c conv) kind() encoding.Kind {
	switch c {
	case convBool:
		return encoding.Boolean
	case convInt32, convUint32:
		return encoding.Int32
	case convInt64:
		return encoding.Int64
	case convFloat:
		return encoding.Float
	case convDouble:
		return encoding.Double
	case convFloat16, convFixed:
		return encoding.FixedLenByteArray
	case convBytes:
		return encoding.ByteArray
	}
	return encoding.Undefined
}

// plainBits is the size in bits of a PLAIN-encoded value, or 0 for byte
// arrays.
func (cv conv) plainBits(c *pqCol) int64 {
	switch cv {
	case convBool:
		return 1
	case convInt32, convUint32, convFloat:
		return 32
	case convInt64, convDouble:
		return 64
	case convFloat16:
		return 16
	case convFixed:
		return int64(c.fixedSize) * 8
	}
	return 0
}

// encodingKind maps a physical type to the kind of its page data.
func encodingKind(k parquet.Kind) encoding.Kind {
	switch k {
	case parquet.Boolean:
		return encoding.Boolean
	case parquet.Int32:
		return encoding.Int32
	case parquet.Int64:
		return encoding.Int64
	case parquet.Int96:
		return encoding.Int96
	case parquet.Float:
		return encoding.Float
	case parquet.Double:
		return encoding.Double
	case parquet.ByteArray:
		return encoding.ByteArray
	case parquet.FixedLenByteArray:
		return encoding.FixedLenByteArray
	}
	return encoding.Undefined
}

// pqCol is a top-level column of a Parquet file and how to read it.
type pqCol struct {
	field     Field
	leaf      int // index of its leaf column
	conv      conv
	fixedSize int // of a FIXED_LEN_BYTE_ARRAY
	// A DECIMAL column, read as float64 from its unscaled integers.
	decimal bool
	scale   int32
	// Definition and repetition levels. For a list, rows with a definition
	// level below listDef are null, rows at listDef are empty lists, levels
	// at or above elemDef are elements, and maxDef marks a non-null value.
	maxDef, maxRep   byte
	listDef, elemDef byte
}

type pqNode struct {
	el   *format.SchemaElement
	kids []*pqNode
	leaf int // leaf index, -1 for a group
}

// pqFile is an open Parquet file.
type pqFile struct {
	path, name string
	closer     io.Closer   // nil: not closed (standard input)
	ra         io.ReaderAt // the file, or the file with a patched footer
	hint       RangeHinter // the file's, or nil
	size       int64
	opt        Options
	pf         *parquet.File
	cols       []pqCol
	fields     []Field
	units      []Unit
	rows       int64
	meta       [][2]string

	mu      sync.Mutex
	checked map[chunkKey]error // results of checkChunkPages
	// The pages of the chunks that the raw page reader reads (see
	// rawChunkFor), nil for those it does not.
	rawPages map[chunkKey][]rawPage
	leaves   []pqLeaf
	closed   bool
	noRaw    bool // read every chunk with parquet-go (tests)
	// The LZ4_RAW chunks, by (row group, leaf), whose pages parquet-go
	// would decode wrongly (see parquet_lz4.go), and the leaf columns.
	lz4raw   map[[2]int]bool
	leafCols []*parquet.Column
}

func openParquet(path, name string, src io.ReaderAt, closer io.Closer, size int64, opt Options) (File, error) {
	budget := max(opt.MaxBatchBytes/4, 64<<20)
	footer, footerStart, err := readFooter(src, size, budget)
	if err != nil {
		return nil, newError(name, true, "", err)
	}
	ra := src
	vsize := size
	patched, lz4raw := patchFooter(footer)
	if patched != nil {
		pr := newFooterPatchedFile(src, footerStart, patched)
		ra, vsize = pr, pr.size()
	}
	pf, err := parquet.OpenFile(ra, vsize,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.FileReadMode(parquet.ReadModeSync),
		parquet.ReadBufferSize(64<<10),
	)
	if err != nil {
		return nil, newError(name, true, "", fmt.Errorf("corrupt Parquet file: %w", err))
	}
	hint, _ := src.(RangeHinter)
	f := &pqFile{path: path, name: name, closer: closer, ra: ra, hint: hint, size: size, opt: opt, pf: pf, checked: map[chunkKey]error{}}
	md := pf.Metadata()
	if len(lz4raw) > 0 {
		// parquet-go took these chunks for UNCOMPRESSED; everything else
		// sees their real codec, and parquet_lz4.go reads their pages.
		f.lz4raw = map[[2]int]bool{}
		for _, k := range lz4raw {
			md.RowGroups[k[0]].Columns[k[1]].MetaData.Codec = format.Lz4Raw
			f.lz4raw[k] = true
		}
	}
	root, nleaves, err := buildSchemaTree(md.Schema)
	if err != nil {
		return nil, newError(name, true, "", fmt.Errorf("corrupt Parquet schema: %w", err))
	}
	leafCols := leafColumns(pf.Root())
	if len(leafCols) != nleaves {
		return nil, newError(name, true, "", fmt.Errorf("corrupt Parquet schema: %d leaf columns, parquet-go sees %d", nleaves, len(leafCols)))
	}
	f.leafCols = leafCols
	for i, c := range leafCols {
		l := leafInfo(c)
		if f.lz4raw[[2]int{0, i}] {
			l.codec = format.Lz4Raw
		}
		f.leaves = append(f.leaves, l)
	}
	for i, rg := range md.RowGroups {
		if rg.NumRows < 0 {
			return nil, newError(name, true, "", fmt.Errorf("row group %d claims %d rows", i, rg.NumRows))
		}
		if len(rg.Columns) < nleaves {
			return nil, newError(name, true, "", fmt.Errorf("row group %d has %d column chunks for %d columns", i, len(rg.Columns), nleaves))
		}
		f.units = append(f.units, Unit{Index: i, Rows: rg.NumRows})
		if f.rows += rg.NumRows; f.rows < 0 {
			return nil, newError(name, true, "", errors.New("row count overflows"))
		}
	}
	for _, n := range root.kids {
		c := analyseColumn(n)
		if c.field.Type != column.Unsupported {
			// The page data parquet-go hands out must be what the schema says.
			if k := leafCols[c.leaf].Type().Kind(); encodingKind(k) != c.conv.kind() {
				c.field.Desc += fmt.Sprintf(" (stored as %v)", k)
				c.field.Type = column.Unsupported
			}
		}
		f.cols = append(f.cols, c)
		f.fields = append(f.fields, c.field)
	}
	f.meta = parquetMetadata(f, md, nleaves)
	return f, nil
}

func leafColumns(root *parquet.Column) []*parquet.Column {
	var leaves []*parquet.Column
	var walk func(c *parquet.Column)
	walk = func(c *parquet.Column) {
		if c.Leaf() {
			leaves = append(leaves, c)
			return
		}
		for _, k := range c.Columns() {
			walk(k)
		}
	}
	walk(root)
	return leaves
}

// buildSchemaTree rebuilds the schema tree from its depth-first listing.
func buildSchemaTree(schema []format.SchemaElement) (*pqNode, int, error) {
	idx, leaves := 0, 0
	var build func(depth int) (*pqNode, error)
	build = func(depth int) (*pqNode, error) {
		if idx >= len(schema) {
			return nil, errors.New("schema ends early")
		}
		if depth > 64 {
			return nil, errors.New("schema nested too deeply")
		}
		n := &pqNode{el: &schema[idx], leaf: -1}
		idx++
		if r := n.el.RepetitionType; r.Valid && (r.V < format.Required || r.V > format.Repeated) {
			return nil, fmt.Errorf("column %q has repetition type %d", n.el.Name, r.V)
		}
		if n.el.Type.Valid {
			switch t := n.el.Type.V; {
			case t < format.Boolean || t > format.FixedLenByteArray:
				return nil, fmt.Errorf("column %q has physical type %d", n.el.Name, t)
			case t == format.FixedLenByteArray && n.el.TypeLength.V <= 0:
				return nil, fmt.Errorf("column %q is a fixed_len_byte_array of %d bytes", n.el.Name, n.el.TypeLength.V)
			}
			n.leaf = leaves
			leaves++
			return n, nil
		}
		nc := int(n.el.NumChildren.V)
		if nc < 0 || nc > len(schema)-idx {
			return nil, fmt.Errorf("group %q claims %d children", n.el.Name, nc)
		}
		for range nc {
			k, err := build(depth + 1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	}
	root, err := build(0)
	if err != nil {
		return nil, 0, err
	}
	return root, leaves, nil
}

func repetition(el *format.SchemaElement) format.FieldRepetitionType {
	if el.RepetitionType.Valid {
		return el.RepetitionType.V
	}
	return format.Required
}

func isListGroup(el *format.SchemaElement) bool {
	if _, ok := el.LogicalType.Value.(*format.ListType); ok {
		return true
	}
	return el.ConvertedType.Valid && el.ConvertedType.V == deprecated.List
}

func isMapGroup(el *format.SchemaElement) bool {
	switch el.LogicalType.Value.(type) {
	case *format.MapType:
		return true
	}
	return el.ConvertedType.Valid && (el.ConvertedType.V == deprecated.Map || el.ConvertedType.V == deprecated.MapKeyValue)
}

// setDecimal marks c as a DECIMAL column when leafType read el as one.
func (c *pqCol) setDecimal(el *format.SchemaElement) {
	if c.field.Type == column.Float64 && c.conv != convDouble {
		c.decimal, c.scale = true, decimalScale(el)
	}
}

// analyseColumn maps a top-level schema node to a column.
func analyseColumn(n *pqNode) pqCol {
	c := pqCol{leaf: -1}
	c.field.Name = n.el.Name
	rep := repetition(n.el)
	c.field.Nullable = rep == format.Optional
	unsupported := func() pqCol {
		c.field.Type = column.Unsupported
		c.field.Desc = describeNode(n, 0)
		c.leaf = -1
		return c
	}
	if n.leaf >= 0 {
		t, cv, desc := leafType(n.el)
		c.field.Type, c.conv, c.leaf = t, cv, n.leaf
		c.setDecimal(n.el)
		c.fixedSize = int(n.el.TypeLength.V)
		if rep == format.Repeated {
			// A bare repeated primitive: a list of required elements that
			// is never null.
			c.field.List, c.field.Nullable = true, false
			c.field.Desc = "list<" + desc + ">"
			c.maxDef, c.maxRep, c.listDef, c.elemDef = 1, 1, 0, 1
		} else {
			c.field.Desc = desc
			if rep == format.Optional {
				c.maxDef = 1
			}
		}
		if t == column.Unsupported {
			c.leaf = -1
		}
		return c
	}
	if !isListGroup(n.el) || rep == format.Repeated || len(n.kids) != 1 {
		return unsupported()
	}
	r := n.kids[0]
	if repetition(r.el) != format.Repeated {
		return unsupported()
	}
	var elem *pqNode
	switch {
	case r.leaf >= 0:
		// Two-level list: the repeated primitive is the element.
		elem = r
	case len(r.kids) == 1 && r.el.Name != "array" && r.el.Name != n.el.Name+"_tuple" && r.kids[0].leaf >= 0 && repetition(r.kids[0].el) != format.Repeated:
		elem = r.kids[0]
	default:
		return unsupported()
	}
	t, cv, desc := leafType(elem.el)
	if t == column.Unsupported {
		return unsupported()
	}
	c.field.Type, c.conv, c.leaf = t, cv, elem.leaf
	c.setDecimal(elem.el)
	c.fixedSize = int(elem.el.TypeLength.V)
	c.field.List = true
	c.field.Desc = "list<" + desc + ">"
	c.maxRep = 1
	if rep == format.Optional {
		c.listDef = 1
	}
	c.elemDef = c.listDef + 1
	c.maxDef = c.elemDef
	if elem != r && repetition(elem.el) == format.Optional {
		c.maxDef++
	}
	return c
}

// decimalType maps a DECIMAL column to float64 (see decimal.go) when it is
// stored in an INT32, INT64 or FIXED_LEN_BYTE_ARRAY of up to 32 bytes.
func decimalType(el *format.SchemaElement, precision, scale int32) (column.Type, conv, string) {
	desc := fmt.Sprintf("decimal(%d,%d)", precision, scale)
	if scale < 0 || !el.Type.Valid {
		return column.Unsupported, convNone, desc
	}
	switch el.Type.V {
	case format.Int32:
		return column.Float64, convInt32, desc
	case format.Int64:
		return column.Float64, convInt64, desc
	case format.FixedLenByteArray:
		if n := el.TypeLength.V; n > 0 && n <= 32 {
			return column.Float64, convFixed, desc
		}
	}
	return column.Unsupported, convNone, desc + " in " + strings.ToLower(el.Type.V.String())
}

// decimalScale is the scale of a DECIMAL schema element.
func decimalScale(el *format.SchemaElement) int32 {
	if v, ok := el.LogicalType.Value.(*format.DecimalType); ok {
		return v.Scale
	}
	return el.Scale.V
}

// leafType maps a primitive schema element to a column type.
func leafType(el *format.SchemaElement) (column.Type, conv, string) {
	lt := el.LogicalType.Value
	ct := deprecated.ConvertedType(-1)
	if el.ConvertedType.Valid {
		ct = el.ConvertedType.V
	}
	unsup := func(desc string) (column.Type, conv, string) { return column.Unsupported, convNone, desc }
	switch v := lt.(type) {
	case *format.DecimalType:
		return decimalType(el, v.Precision, v.Scale)
	case *format.DateType:
		return unsup("date")
	case *format.TimeType:
		return unsup("time")
	case *format.TimestampType:
		return unsup("timestamp")
	case *format.UUIDType:
		return unsup("uuid")
	case *format.NullType:
		return unsup("null")
	case *format.GeometryType, *format.GeographyType:
		return unsup(strings.ToLower(v.String()))
	}
	switch ct {
	case deprecated.Decimal:
		return decimalType(el, el.Precision.V, el.Scale.V)
	case deprecated.Date:
		return unsup("date")
	case deprecated.TimeMillis, deprecated.TimeMicros:
		return unsup("time")
	case deprecated.TimestampMillis, deprecated.TimestampMicros:
		return unsup("timestamp")
	case deprecated.Interval:
		return unsup("interval")
	}
	if !el.Type.Valid {
		return unsup("group")
	}
	switch el.Type.V {
	case format.Boolean:
		return column.Bool, convBool, "bool"
	case format.Int32:
		bits, signed := 32, true
		if it, ok := lt.(*format.IntType); ok {
			bits, signed = int(it.BitWidth), it.IsSigned
		} else {
			switch ct {
			case deprecated.Int8:
				bits = 8
			case deprecated.Int16:
				bits = 16
			case deprecated.Uint8:
				bits, signed = 8, false
			case deprecated.Uint16:
				bits, signed = 16, false
			case deprecated.Uint32:
				bits, signed = 32, false
			}
		}
		if bits != 8 && bits != 16 && bits != 32 {
			bits = 32
		}
		if signed {
			return column.Int, convInt32, "int" + strconv.Itoa(bits)
		}
		return column.Int, convUint32, "uint" + strconv.Itoa(bits)
	case format.Int64:
		bits, signed := 64, true
		if it, ok := lt.(*format.IntType); ok {
			bits, signed = int(it.BitWidth), it.IsSigned
		} else if ct == deprecated.Uint64 {
			signed = false
		}
		if signed || bits < 64 {
			if bits != 8 && bits != 16 && bits != 32 {
				bits = 64
			}
			prefix := "int"
			if !signed {
				prefix = "uint"
			}
			return column.Int, convInt64, prefix + strconv.Itoa(bits)
		}
		return column.Uint64, convInt64, "uint64"
	case format.Int96:
		return unsup("int96")
	case format.Float:
		return column.Float32, convFloat, "float"
	case format.Double:
		return column.Float64, convDouble, "double"
	case format.ByteArray:
		switch lt.(type) {
		case *format.StringType:
			return column.String, convBytes, "string"
		case *format.EnumType:
			return column.String, convBytes, "enum"
		case *format.JsonType:
			return column.String, convBytes, "json"
		case *format.BsonType:
			return column.String, convBytes, "bson"
		case nil:
		default:
			return unsup(strings.ToLower(lt.String()))
		}
		switch ct {
		case deprecated.UTF8:
			return column.String, convBytes, "string"
		case deprecated.Enum:
			return column.String, convBytes, "enum"
		case deprecated.Json:
			return column.String, convBytes, "json"
		}
		return column.String, convBytes, "binary"
	case format.FixedLenByteArray:
		n := el.TypeLength.V
		if _, ok := lt.(*format.Float16Type); ok {
			if n == 2 {
				return column.Float32, convFloat16, "float16"
			}
			return unsup(fmt.Sprintf("float16 in fixed_len_byte_array(%d)", n))
		}
		if n <= 0 {
			return unsup(fmt.Sprintf("fixed_len_byte_array(%d)", n))
		}
		if lt != nil || ct >= 0 {
			return unsup(fmt.Sprintf("fixed_len_byte_array(%d)", n))
		}
		return column.String, convFixed, fmt.Sprintf("fixed_len_byte_array(%d)", n)
	}
	return unsup(fmt.Sprintf("physical type %d", el.Type.V))
}

// describeNode describes a schema node for Field.Desc.
func describeNode(n *pqNode, depth int) string {
	if depth > 4 {
		return "..."
	}
	rep := repetition(n.el)
	var s string
	switch {
	case n.leaf >= 0:
		_, _, s = leafType(n.el)
	case isListGroup(n.el) && len(n.kids) == 1:
		r := n.kids[0]
		switch {
		case r.leaf >= 0:
			s = "list<" + describeNode(&pqNode{el: &format.SchemaElement{Type: r.el.Type, TypeLength: r.el.TypeLength, ConvertedType: r.el.ConvertedType, LogicalType: r.el.LogicalType, Scale: r.el.Scale, Precision: r.el.Precision}, leaf: r.leaf}, depth+1) + ">"
		case len(r.kids) == 1 && r.el.Name != "array" && r.el.Name != n.el.Name+"_tuple":
			s = "list<" + describeNode(r.kids[0], depth+1) + ">"
		default:
			s = "list<" + describeGroup(r, depth+1) + ">"
		}
		return s
	case isMapGroup(n.el):
		s = "map"
		if len(n.kids) == 1 && len(n.kids[0].kids) == 2 {
			kv := n.kids[0].kids
			s = "map<" + describeNode(kv[0], depth+1) + ", " + describeNode(kv[1], depth+1) + ">"
		}
		return s
	default:
		s = describeGroup(n, depth)
	}
	if rep == format.Repeated {
		s = "repeated " + s
	}
	return s
}

func describeGroup(n *pqNode, depth int) string {
	if n.leaf >= 0 {
		_, _, s := leafType(n.el)
		return s
	}
	var b strings.Builder
	b.WriteString("struct<")
	for i, k := range n.kids {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 8 || b.Len() > 200 {
			b.WriteString("...")
			break
		}
		b.WriteString(k.el.Name)
		b.WriteString(": ")
		b.WriteString(describeNode(k, depth+1))
	}
	b.WriteString(">")
	return b.String()
}

func parquetMetadata(f *pqFile, md *format.FileMetaData, nleaves int) [][2]string {
	var codecs, encs []string
	addUnique := func(list *[]string, s string) {
		for _, x := range *list {
			if x == s {
				return
			}
		}
		*list = append(*list, s)
	}
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			addUnique(&codecs, cc.MetaData.Codec.String())
			for _, e := range cc.MetaData.Encoding {
				addUnique(&encs, e.String())
			}
		}
	}
	meta := [][2]string{
		{"format", FormatParquet.String()},
		{"format version", strconv.Itoa(int(md.Version))},
		{"created by", md.CreatedBy},
		{"rows", strconv.FormatInt(f.rows, 10)},
		{"row groups", strconv.Itoa(len(md.RowGroups))},
		{"columns", strconv.Itoa(len(f.cols))},
		{"leaf columns", strconv.Itoa(nleaves)},
		{"compression", strings.Join(codecs, ", ")},
		{"encodings", strings.Join(encs, ", ")},
		{"size", strconv.FormatInt(f.size, 10)},
	}
	if len(md.KeyValueMetadata) > 0 {
		var keys []string
		for _, kv := range md.KeyValueMetadata {
			addUnique(&keys, kv.Key)
		}
		meta = append(meta, [2]string{"key-value metadata", strings.Join(keys, ", ")})
	}
	return meta
}

func (f *pqFile) Path() string          { return f.path }
func (f *pqFile) Format() Format        { return FormatParquet }
func (f *pqFile) Fields() []Field       { return f.fields }
func (f *pqFile) Rows() int64           { return f.rows }
func (f *pqFile) Units() []Unit         { return f.units }
func (f *pqFile) Metadata() [][2]string { return f.meta }

func (f *pqFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// pqLeaf is what the checks of a column chunk need to know of its column.
type pqLeaf struct {
	path      string
	repeated  bool  // has repetition levels
	required  bool  // has no levels at all
	plainBits int64 // size of a PLAIN value of a fixed-width type, else 0
	// codec is the codec parquet-go decompresses every chunk of the column
	// with: that of its first chunk.
	codec format.CompressionCodec
}

func leafInfo(c *parquet.Column) pqLeaf {
	l := pqLeaf{
		path:     strings.Join(c.Path(), "."),
		repeated: c.MaxRepetitionLevel() > 0,
		required: c.MaxDefinitionLevel() == 0,
	}
	if cc := c.Compression(); cc != nil {
		l.codec = cc.CompressionCodec()
	}
	switch c.Type().Kind() {
	case parquet.Boolean:
		l.plainBits = 1
	case parquet.Int32, parquet.Float:
		l.plainBits = 32
	case parquet.Int64, parquet.Double:
		l.plainBits = 64
	case parquet.Int96:
		l.plainBits = 96
	case parquet.FixedLenByteArray:
		l.plainBits = 8 * int64(c.Type().Length())
	}
	return l
}

// checkChunk checks the page headers of a column chunk, once. Only chunks
// that will be read (strict) are held to the size limits.
func (f *pqFile) checkChunk(rg, leaf int, strict bool) error {
	key := chunkKey{rg, leaf, strict}
	f.mu.Lock()
	err, done := f.checked[key]
	f.mu.Unlock()
	if done {
		return err
	}
	md := f.pf.Metadata()
	cm := &md.RowGroups[rg].Columns[leaf].MetaData
	// The same byte range parquet-go reads the chunk's pages from.
	start := cm.DataPageOffset
	if cm.DictionaryPageOffset != 0 {
		start = cm.DictionaryPageOffset
	}
	l := f.leaves[leaf]
	maxBytes, maxValues, inflate := int64(math.MaxInt32), int64(math.MaxInt32), int64(0)
	if strict {
		maxBytes, maxValues, inflate = f.opt.MaxBatchBytes, max(f.opt.MaxBatchBytes/32, 1<<16), f.opt.MaxBatchBytes
		if cm.Codec != l.codec && cm.Codec != format.Lz4 && cm.Codec != format.LZO {
			// parquet-go would decompress it with the other codec.
			err = fmt.Errorf("column chunk %s: %w: compression codec %s where the column's first chunk has %s", l.path, ErrUnsupported, cm.Codec, l.codec)
			f.mu.Lock()
			f.checked[key] = err
			f.mu.Unlock()
			return err
		}
	}
	err = checkChunkPages(f.ra, start, cm.TotalCompressedSize, chunkLimits{
		fileSize:      f.size,
		maxPageBytes:  maxBytes,
		maxPageValues: maxValues,
		rowGroupRows:  md.RowGroups[rg].NumRows,
		chunkValues:   cm.NumValues,
		repeated:      l.repeated,
		required:      l.required,
		plainBits:     l.plainBits,
		compressed:    cm.Codec != format.Uncompressed,
		codec:         l.codec,
		inflate:       inflate,
	})
	if err != nil {
		err = fmt.Errorf("column chunk %s: %w", l.path, err)
	}
	f.mu.Lock()
	f.checked[key] = err
	f.mu.Unlock()
	return err
}

// checkRowGroup checks the page headers of every column chunk of a row
// group, read or not (a row group whose columns disagree is corrupt), and
// those of the leaves it will read against the size limits. A file read
// through a RangeHinter (an object store) has only its chunks read checked.
func (f *pqFile) checkRowGroup(rg int, read []int, whole bool) error {
	if f.hint != nil && whole {
		// A whole row group's chunks; announced before the run when
		// it prefetches (then a no-op). A part reads some of them only:
		// the object's sequential read-ahead serves it.
		md := f.pf.Metadata()
		var spans [][2]int64
		for _, leaf := range read {
			cm := &md.RowGroups[rg].Columns[leaf].MetaData
			start := cm.DataPageOffset
			if cm.DictionaryPageOffset != 0 {
				start = cm.DictionaryPageOffset
			}
			spans = append(spans, [2]int64{start, cm.TotalCompressedSize})
		}
		f.announce(spans)
	}
	for _, leaf := range read {
		if err := f.checkChunk(rg, leaf, true); err != nil {
			return err
		}
	}
	if f.hint != nil {
		// An object in object storage: checking the chunks not read
		// would cost a request per page of theirs.
		return nil
	}
	for leaf := range f.leaves {
		if slices.Contains(read, leaf) {
			continue // checked strictly
		}
		if err := f.checkChunk(rg, leaf, false); err != nil {
			return err
		}
	}
	return nil
}

// Prefetch announces the column chunks of row group u that a scan of cols
// reads, in file order (Prefetcher; only for a file read through a
// RangeHinter).
func (f *pqFile) Prefetches() bool { return f.hint != nil }

func (f *pqFile) Prefetch(u int, cols []string) {
	if f.hint == nil || u < 0 || u >= len(f.units) {
		return
	}
	md := f.pf.Metadata().RowGroups[u].Columns
	var spans [][2]int64
	for _, name := range cols {
		c, err := f.lookup(name)
		if err != nil || c.leaf < 0 || c.leaf >= len(md) {
			continue
		}
		cm := &md[c.leaf].MetaData
		start := cm.DataPageOffset
		if cm.DictionaryPageOffset != 0 {
			start = cm.DictionaryPageOffset
		}
		spans = append(spans, [2]int64{start, cm.TotalCompressedSize})
	}
	f.announce(spans)
}

// announce hands the ranges to the RangeHinter, in file order.
func (f *pqFile) announce(spans [][2]int64) {
	slices.SortFunc(spans, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	if rh, ok := f.hint.(RangesHinter); ok {
		rh.WillReadRanges(spans)
		return
	}
	for _, s := range spans {
		f.hint.WillRead(s[0], s[1])
	}
}

type chunkKey struct {
	rg, leaf int
	strict   bool
}

// lookup finds a column by name.
func (f *pqFile) lookup(name string) (*pqCol, error) {
	for i := range f.cols {
		if f.cols[i].field.Name == name {
			return &f.cols[i], nil
		}
	}
	return nil, unknownColumn(name, f.fields)
}

func unknownColumn(name string, fields []Field) error {
	names := make([]string, 0, len(fields))
	for i, fl := range fields {
		if i == 20 {
			names = append(names, "...")
			break
		}
		names = append(names, strconv.Quote(fl.Name))
	}
	return fmt.Errorf("no column %q (columns: %s)", name, strings.Join(names, ", "))
}

func unsupportedColumn(fl Field) error {
	return fmt.Errorf("column %q has type %s, which evalnll cannot read", fl.Name, fl.Desc)
}
