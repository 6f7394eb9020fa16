package metrics

import (
	"fmt"
	"unsafe"

	"github.com/evalnll/evalnll/internal/column"
)

// Labels maps string labels to the label values the kernels read: for a
// binary run, Positive is 1 and every other value 0 (as scikit-learn's
// pos_label); for a multiclass run, a label is the position of its name in
// Classes, and a name not in Classes is an invalid label (bad_label).
type Labels struct {
	Positive string
	Binary   bool
	Classes  []string
	index    map[string]int64
}

// PositiveLabel is the binary mapping of --positive VALUE.
func PositiveLabel(v string) *Labels { return &Labels{Positive: v, Binary: true} }

// ClassLabels is the multiclass mapping of --classes a,b,c: names must be
// distinct.
func ClassLabels(names []string) (*Labels, error) {
	l := &Labels{Classes: names, index: make(map[string]int64, len(names))}
	for i, n := range names {
		if _, dup := l.index[n]; dup {
			return nil, fmt.Errorf("class %q is named twice", n)
		}
		l.index[n] = int64(i)
	}
	return l, nil
}

func (l *Labels) code(s string) int64 {
	if l.Binary {
		if s == l.Positive {
			return 1
		}
		return 0
	}
	if k, ok := l.index[s]; ok {
		return k
	}
	return -1
}

// labelScratch holds an evaluator's translated label column, and the codes
// of the last dictionary it met.
type labelScratch struct {
	dict  *string // identity of the dictionary the table is for
	dlen  int
	table []int64
	ints  []int64
	col   column.Column
}

// translate returns c with a string label column replaced by the label
// values of e.cfg.Labels: a dictionary-encoded column through a table made
// once per dictionary, plain strings one lookup per row.
func (e *Evaluator) translate(c *Cols) *Cols {
	l := c.Label
	if e.cfg.Labels == nil || l == nil || l.Type != column.String || l.List {
		return c
	}
	s := &e.labels
	s.ints = grow(s.ints, l.Len)
	if l.Strs == nil && l.Codes != nil {
		if d := unsafe.SliceData(l.Dict); d != s.dict || len(l.Dict) != s.dlen {
			s.table = grow(s.table, len(l.Dict))
			for i, v := range l.Dict {
				s.table[i] = e.cfg.Labels.code(v)
			}
			s.dict, s.dlen = d, len(l.Dict)
		}
		for i, k := range l.Codes[:l.Len] {
			if uint(k) < uint(len(s.table)) {
				s.ints[i] = s.table[k]
			} else {
				s.ints[i] = 0 // a null row's code
			}
		}
	} else {
		for i := range s.ints {
			if l.Strs != nil {
				s.ints[i] = e.cfg.Labels.code(l.Strs[i])
			} else {
				s.ints[i] = 0 // every row is null
			}
		}
	}
	s.col = column.Column{Type: column.Int, Len: l.Len, Valid: l.Valid, Ints: s.ints}
	t := *c
	t.Label = &s.col
	return &t
}

// nameBadLabel puts the label as written into the row errors from errs on
// that refuse a translated label.
func (e *Evaluator) nameBadLabel(orig *column.Column, base int64, errs int) {
	for k := errs; k < len(e.st.Errs); k++ {
		re := &e.st.Errs[k]
		if i := re.Row - base; re.Role == RoleLabel && re.Reason == ReasonBadLabel && i >= 0 && i < int64(orig.Len) && !orig.IsNull(int(i)) {
			re.Label, re.HasLabel = orig.Str(int(i)), true
		}
	}
}

// pairRow is a row of a probability pair column whose list does not have 2
// elements.
type pairRow struct {
	i, n int
}

// pairScratch holds the p[1] column an evaluator made of a pair column.
type pairScratch struct {
	f64   []float64
	f32   []float32
	valid []bool
	bad   []pairRow
	col   column.Column
}

// pairColumn returns c with its prediction, a list of two probabilities
// per row (scikit-learn's predict_proba for classes [0, 1]), replaced by
// the second, P(y=1) (Config.Pair), and the rows whose list has another
// length: their prediction is null here, and add reports them as length.
func (e *Evaluator) pairColumn(c *Cols) (*Cols, []pairRow) {
	p := c.Pred
	s := &e.pair
	s.bad = s.bad[:0]
	s.valid = grow(s.valid, p.Len)
	for i := range s.valid {
		s.valid[i] = true
	}
	s.col = column.Column{Len: p.Len, Valid: s.valid}
	at := func(i int) (int64, bool) {
		if p.IsNull(i) {
			s.valid[i] = false
			return 0, false
		}
		lo, hi := p.Offsets[i], p.Offsets[i+1]
		if hi-lo != 2 {
			s.valid[i] = false
			s.bad = append(s.bad, pairRow{i, int(hi - lo)})
			return 0, false
		}
		if p.ElemValid != nil && !p.ElemValid[lo+1] {
			s.valid[i] = false
			return 0, false
		}
		return lo + 1, true
	}
	switch p.Type {
	case column.Float32:
		s.f32 = grow(s.f32, p.Len)
		for i := range s.f32 {
			j, ok := at(i)
			s.f32[i] = 0
			if ok {
				s.f32[i] = p.F32[j]
			}
		}
		s.col.Type, s.col.F32 = column.Float32, s.f32
	default:
		s.f64 = grow(s.f64, p.Len)
		for i := range s.f64 {
			j, ok := at(i)
			s.f64[i] = 0
			if !ok {
				continue
			}
			switch p.Type {
			case column.Float64:
				s.f64[i] = p.F64[j]
			case column.Int:
				s.f64[i] = float64(p.Ints[j])
			case column.Uint64:
				s.f64[i] = float64(uint64(p.Ints[j]))
			}
		}
		s.col.Type, s.col.F64 = column.Float64, s.f64
	}
	t := *c
	t.Pred = &s.col
	return &t, s.bad
}

// pairError is the row error of a pair row i whose list has another length.
func pairError(bad []pairRow, i int) (RowError, bool) {
	for _, b := range bad {
		if b.i == i {
			return RowError{Role: RolePred, Reason: ReasonLength, Len: b.n, Want: 2, Elem: -1}, true
		}
	}
	return RowError{}, false
}
