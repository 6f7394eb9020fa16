package metrics

import (
	"fmt"
	"unsafe"

	"github.com/evalnll/evalnll/column"
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
