// Package partial reads, writes and merges evalnll's partial states: the
// result of evaluating a share of the inputs (evalnll eval --shard i/N
// --state FILE), which merges with the states of the other shares into the
// state of one evaluation over all of them (evalnll merge).
//
// Callers build a State from a finished run (its metrics.State, mapping
// and inputs), Encode it; elsewhere Decode each file, Merge them in any
// order, check Complete, and report the merged metrics.State.
//
// A state file is
//
//	offset  size  field
//	0       8     magic "\x89EVNLLst"
//	8       2     format version, uint16 little-endian (1)
//	10      8     configuration fingerprint: the first 8 bytes of the
//	              SHA-256 of the encoded configuration and mapping
//	18      8     body length n, uint64 little-endian
//	26      n     body
//	26+n    4     CRC-32C (Castagnoli) of bytes [0, 26+n), little-endian
//
// and the body holds, as uvarints and length-prefixed strings: the shard
// count N and the shards the state covers (ranges of shard indices), the
// column mapping (role, column pairs), the inputs (name, format, row count
// from the file's metadata or -1, rows read, and the row ranges read), then
// the metrics.State encoding (package metrics, State.AppendBinary).
package partial

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"sort"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/wire"
	"github.com/evalnll/evalnll/report"
)

// Magic starts every state file.
const Magic = "\x89EVNLLst"

// Version is the format version this package writes and reads.
const Version = 1

const headerLen = 8 + 2 + 8 + 8

// MaxShards is the largest shard count a state may declare.
const MaxShards = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Range is the rows [Lo, Hi) of an input, counted from 0.
type Range struct{ Lo, Hi int64 }

// Input is one input file of the evaluation.
type Input struct {
	Name, Format string
	// Rows is the file's row count from its metadata, or -1 when only
	// reading tells (an Arrow IPC stream).
	Rows int64
	// Read is the number of rows the state holds; Ranges which, in order
	// and not touching.
	Read   int64
	Ranges []Range
}

// State is a partial state and what it is a part of.
type State struct {
	// Shards is N, the shard count of the runs; Covered the shards whose
	// rows the state holds, as sorted, disjoint ranges [lo, hi) of shard
	// indices.
	Shards  int
	Covered [][2]int
	Mapping report.Mapping
	Inputs  []Input
	Metrics *metrics.State
}

// Errors of Decode, which wrap one of these.
var (
	ErrNotState = errors.New("not an evalnll state file")
	ErrVersion  = errors.New("unsupported state format version")
	ErrCorrupt  = errors.New("corrupt state file")
)

// Encode returns the state file's bytes.
func (s *State) Encode() ([]byte, error) {
	ms, err := s.Metrics.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	var body []byte
	body = binary.AppendUvarint(body, uint64(s.Shards))
	body = binary.AppendUvarint(body, uint64(len(s.Covered)))
	for _, c := range s.Covered {
		body = binary.AppendUvarint(body, uint64(c[0]))
		body = binary.AppendUvarint(body, uint64(c[1]))
	}
	body = appendMapping(body, s.Mapping)
	body = binary.AppendUvarint(body, uint64(len(s.Inputs)))
	for _, in := range s.Inputs {
		body = appendString(body, in.Name)
		body = appendString(body, in.Format)
		body = binary.AppendVarint(body, in.Rows)
		body = binary.AppendUvarint(body, uint64(in.Read))
		body = binary.AppendUvarint(body, uint64(len(in.Ranges)))
		for _, r := range in.Ranges {
			body = binary.AppendUvarint(body, uint64(r.Lo))
			body = binary.AppendUvarint(body, uint64(r.Hi))
		}
	}
	body = append(binary.AppendUvarint(body, uint64(len(ms))), ms...)

	out := make([]byte, 0, headerLen+len(body)+4)
	out = append(out, Magic...)
	out = binary.LittleEndian.AppendUint16(out, Version)
	out = append(out, s.Fingerprint()...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli)), nil
}

// Fingerprint identifies the configuration and mapping: states with other
// fingerprints do not merge.
func (s *State) Fingerprint() []byte {
	h := sha256.New()
	h.Write(s.Metrics.Config().AppendBinary(nil))
	h.Write(appendMapping(nil, s.Mapping))
	return h.Sum(nil)[:8]
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// mappingFields lists the roles of report.Mapping: its string and []string
// fields, by name, so that a role added to Mapping is written too.
func mappingFields(m *report.Mapping) []reflect.Value {
	v := reflect.ValueOf(m).Elem()
	fs := make([]reflect.Value, v.NumField())
	for i := range fs {
		fs[i] = v.Field(i)
	}
	return fs
}

func appendMapping(b []byte, m report.Mapping) []byte {
	t := reflect.TypeOf(m)
	fs := mappingFields(&m)
	b = binary.AppendUvarint(b, uint64(len(fs)))
	for i, f := range fs {
		b = appendString(b, t.Field(i).Name)
		switch f.Kind() {
		case reflect.String:
			b = append(b, 0)
			b = appendString(b, f.String())
		case reflect.Slice:
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(f.Len()))
			for k := 0; k < f.Len(); k++ {
				b = appendString(b, f.Index(k).String())
			}
		case reflect.Bool:
			b = append(b, 2)
			b = append(b, boolByte(f.Bool()))
		default:
			panic("partial: report.Mapping field " + t.Field(i).Name + " is not a string, []string or bool")
		}
	}
	return b
}

// dec reads the body; the first problem sticks in Err.
type dec struct{ wire.Decoder }

func (d *dec) fail(what string)                  { d.Fail(what) }
func (d *dec) uv(what string, max uint64) uint64 { return d.Uvarint(what, max) }
func (d *dec) v(what string) int64               { return d.Varint(what) }
func (d *dec) str(what string) string            { return string(d.Bytes(what)) }

// count reads a count of items of at least min bytes each.
func (d *dec) count(what string, min int) int { return d.Count(what, min) }

const maxRows = 1 << 62

// Decode reads a state file. Its errors wrap ErrNotState, ErrVersion or
// ErrCorrupt (ErrCorrupt also for a file cut short).
func Decode(b []byte) (*State, error) { return DecodeReusing(b, nil) }

// DecodeReusing is Decode, reusing memory of spare, a state the caller no
// longer uses (one merged into another; see metrics.DecodeStateReusing).
func DecodeReusing(b []byte, spare *State) (*State, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return nil, ErrNotState
	}
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != Version {
		return nil, fmt.Errorf("%w %d (this evalnll reads version %d)", ErrVersion, v, Version)
	}
	n := binary.LittleEndian.Uint64(b[18:])
	if n > uint64(len(b)-headerLen) || uint64(len(b)-headerLen)-n != 4 {
		if n > uint64(len(b)-headerLen) || uint64(len(b)-headerLen)-n < 4 {
			return nil, fmt.Errorf("%w: truncated (%d bytes, the header says %d)", ErrCorrupt, len(b), uint64(headerLen)+n+4)
		}
		return nil, fmt.Errorf("%w: %d bytes after its end", ErrCorrupt, uint64(len(b)-headerLen)-n-4)
	}
	end := headerLen + int(n)
	if crc32.Checksum(b[:end], castagnoli) != binary.LittleEndian.Uint32(b[end:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	fp := b[10:18]
	d := &dec{wire.Decoder{B: b[headerLen:end], Sentinel: ErrCorrupt}}
	s := &State{}
	s.Shards = int(d.uv("shard count", MaxShards))
	if d.Err == nil && s.Shards < 1 {
		d.fail("shard count")
	}
	nc := d.count("shards", 2)
	prev := 0
	for i := 0; i < nc && d.Err == nil; i++ {
		lo, hi := int(d.uv("shards", MaxShards)), int(d.uv("shards", MaxShards))
		if lo < prev || hi <= lo || hi > s.Shards || (i > 0 && lo == prev) {
			d.fail("shards")
		}
		prev = hi
		s.Covered = append(s.Covered, [2]int{lo, hi})
	}
	s.Mapping = decodeMapping(d)
	ni := d.count("inputs", 6)
	for i := 0; i < ni && d.Err == nil; i++ {
		in := Input{Name: d.str("input"), Format: d.str("input"), Rows: d.v("input rows")}
		in.Read = int64(d.uv("input rows", maxRows))
		if in.Rows < -1 || in.Rows > maxRows {
			d.fail("input rows")
		}
		nr := d.count("input ranges", 2)
		var sum, last int64
		for k := 0; k < nr && d.Err == nil; k++ {
			r := Range{int64(d.uv("input ranges", maxRows)), int64(d.uv("input ranges", maxRows))}
			if r.Hi <= r.Lo || (k > 0 && r.Lo <= last) || (in.Rows >= 0 && r.Hi > in.Rows) {
				d.fail("input ranges")
			}
			last, sum = r.Hi, sum+r.Hi-r.Lo
			in.Ranges = append(in.Ranges, r)
		}
		if d.Err == nil && sum != in.Read {
			d.fail("input ranges")
		}
		s.Inputs = append(s.Inputs, in)
	}
	ms := d.Bytes("metrics state")
	if d.Err == nil && len(d.B) != 0 {
		d.fail("end of body")
	}
	if d.Err != nil {
		return nil, d.Err
	}
	var sm *metrics.State
	if spare != nil {
		sm = spare.Metrics
	}
	st, err := metrics.DecodeStateReusing(ms, sm)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := st.CheckPositions(len(s.Inputs)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	s.Metrics = st
	if !bytes.Equal(fp, s.Fingerprint()) {
		return nil, fmt.Errorf("%w: the configuration fingerprint does not match the configuration", ErrCorrupt)
	}
	return s, nil
}

func decodeMapping(d *dec) report.Mapping {
	var m report.Mapping
	t := reflect.TypeOf(m)
	fs := mappingFields(&m)
	nf := d.count("mapping", 3)
	if d.Err == nil && nf != len(fs) {
		d.Err = fmt.Errorf("%w: its column mapping has %d roles, this evalnll knows %d", ErrVersion, nf, len(fs))
	}
	for i := 0; i < nf && d.Err == nil; i++ {
		name := d.str("mapping")
		if d.Err == nil && name != t.Field(i).Name {
			d.Err = fmt.Errorf("%w: unknown column role %q", ErrVersion, name)
			break
		}
		kind := d.uv("mapping", 2)
		f := fs[i]
		switch {
		case d.Err != nil:
		case kind == 0 && f.Kind() == reflect.String:
			f.SetString(d.str("mapping"))
		case kind == 2 && f.Kind() == reflect.Bool:
			v := d.uv("mapping", 1)
			f.SetBool(v == 1)
		case kind == 1 && f.Kind() == reflect.Slice:
			n := d.count("mapping", 1)
			for k := 0; k < n && d.Err == nil; k++ {
				f.Set(reflect.Append(f, reflect.ValueOf(d.str("mapping"))))
			}
		default:
			d.fail("mapping")
		}
	}
	return m
}

// MismatchError is a merge of states that are not parts of one
// evaluation: Field names what differs.
type MismatchError struct {
	Field string
	A, B  string // the values, when they are short enough to show
}

func (e *MismatchError) Error() string {
	if e.A == "" && e.B == "" {
		return fmt.Sprintf("%s differ", e.Field)
	}
	return fmt.Sprintf("%s is %s here but %s in the other state", e.Field, e.B, e.A)
}

// OverlapError is a merge of two states that both hold shard Shard (or,
// for Shard -1, both read rows Lo..Hi of Input).
type OverlapError struct {
	Shard, Of int
	Input     string
	Lo, Hi    int64
}

func (e *OverlapError) Error() string {
	if e.Shard >= 0 {
		return fmt.Sprintf("shard %d/%d is in both states", e.Shard, e.Of)
	}
	return fmt.Sprintf("rows %d to %d of %s are in both states", e.Lo+1, e.Hi, e.Input)
}

// Merge adds o into s. Errors (a *MismatchError, *OverlapError,
// *metrics.ConfigError or *metrics.ClassCountError) leave s as it was.
// The result does not depend on the order of merges.
func (s *State) Merge(o *State) error {
	if s.Shards != o.Shards {
		return &MismatchError{"shard count (--shard i/N)", fmt.Sprint(s.Shards), fmt.Sprint(o.Shards)}
	}
	for _, a := range s.Covered {
		for _, b := range o.Covered {
			if lo, hi := max(a[0], b[0]), min(a[1], b[1]); lo < hi {
				return &OverlapError{Shard: lo, Of: s.Shards}
			}
		}
	}
	if d := mappingDiff(s.Mapping, o.Mapping); d != nil {
		return d
	}
	if d := s.Metrics.Config().Diff(o.Metrics.Config()); d != nil {
		return &metrics.ConfigError{ConfigDiff: *d}
	}
	if len(s.Inputs) != len(o.Inputs) {
		return &MismatchError{"input lists", fmt.Sprintf("%d files", len(s.Inputs)), fmt.Sprintf("%d files", len(o.Inputs))}
	}
	ranges := make([][]Range, len(s.Inputs))
	for i := range s.Inputs {
		a, b := &s.Inputs[i], &o.Inputs[i]
		switch {
		case a.Name != b.Name:
			return &MismatchError{fmt.Sprintf("input %d", i+1), a.Name, b.Name}
		case a.Format != b.Format:
			return &MismatchError{"the format of " + a.Name, a.Format, b.Format}
		case a.Rows != b.Rows:
			return &MismatchError{"the row count of " + a.Name, fmt.Sprint(a.Rows), fmt.Sprint(b.Rows)}
		}
		rs, ov := unionRanges(a.Ranges, b.Ranges)
		if ov != nil {
			return &OverlapError{Shard: -1, Input: a.Name, Lo: ov.Lo, Hi: ov.Hi}
		}
		ranges[i] = rs
	}
	if err := s.Metrics.Merge(o.Metrics); err != nil {
		return err
	}
	for i := range s.Inputs {
		s.Inputs[i].Ranges = ranges[i]
		s.Inputs[i].Read += o.Inputs[i].Read
	}
	s.Covered = unionShards(s.Covered, o.Covered)
	return nil
}

func mappingDiff(a, b report.Mapping) *MismatchError {
	t := reflect.TypeOf(a)
	fa, fb := mappingFields(&a), mappingFields(&b)
	for i := range fa {
		x, y := fmt.Sprint(fa[i].Interface()), fmt.Sprint(fb[i].Interface())
		if x != y {
			name := strings.ToLower(t.Field(i).Name)
			return &MismatchError{"the --" + name + " column", fmt.Sprintf("%q", x), fmt.Sprintf("%q", y)}
		}
	}
	return nil
}

// unionRanges merges two sorted lists of disjoint ranges, or returns the
// first overlap.
func unionRanges(a, b []Range) ([]Range, *Range) {
	all := append(append([]Range(nil), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].Lo < all[j].Lo })
	var out []Range
	for _, r := range all {
		if k := len(out) - 1; k >= 0 {
			if r.Lo < out[k].Hi {
				return nil, &Range{r.Lo, min(r.Hi, out[k].Hi)}
			}
			if r.Lo == out[k].Hi {
				out[k].Hi = r.Hi
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func unionShards(a, b [][2]int) [][2]int {
	all := append(append([][2]int(nil), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i][0] < all[j][0] })
	var out [][2]int
	for _, r := range all {
		if k := len(out) - 1; k >= 0 && r[0] <= out[k][1] {
			out[k][1] = max(out[k][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// Missing lists the shards no merged state covered, at most max of them
// (and whether there are more).
func (s *State) Missing(max int) (missing []int, more bool) {
	next := 0
	gap := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if len(missing) == max {
				more = true
				return
			}
			missing = append(missing, i)
		}
	}
	for _, c := range s.Covered {
		gap(next, c[0])
		next = c[1]
	}
	gap(next, s.Shards)
	return missing, more
}

// Complete checks that the state covers every shard and reads every row
// of every input once.
func (s *State) Complete() error {
	if missing, more := s.Missing(10); len(missing) > 0 {
		var ss []string
		for _, m := range missing {
			ss = append(ss, fmt.Sprint(m))
		}
		list := strings.Join(ss, ", ")
		if more {
			list += ", ..."
		}
		return fmt.Errorf("shards %s of %d are missing (run eval --shard i/%d for each)", list, s.Shards, s.Shards)
	}
	for _, in := range s.Inputs {
		var at int64
		for _, r := range in.Ranges {
			if r.Lo != at {
				return fmt.Errorf("%s: rows %d to %d are in no state (were the shards evaluated over other copies of the inputs?)", in.Name, at+1, r.Lo)
			}
			at = r.Hi
		}
		if in.Rows >= 0 && at != in.Rows {
			return fmt.Errorf("%s: rows %d to %d are in no state (were the shards evaluated over other copies of the inputs?)", in.Name, at+1, in.Rows)
		}
	}
	return nil
}
