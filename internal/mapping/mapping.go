// Package mapping decides which column of a table plays which role (label,
// prediction, scale, weight, id, slices) and, for KindAuto, the kind of
// evaluation, from what the caller asked for and the tables' fields.
//
// Callers fill a Request, call Resolve with the fields of every input (it
// completes the metrics.Config: Pred, Kind, Classes, Tokens, Weighted,
// ByCols, HasID), then read batches of Mapping.Columns and Bind them.
// Messages name the roles as Names says: the CLI passes its flags.
package mapping

import (
	"context"
	"fmt"
	"strings"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/report"
)

// Request is what the caller asked for: the column of each role ("" picks
// the label and prediction columns by convention, and leaves the weight, id
// and slices out) and the kind (KindAuto: from the columns' shapes).
type Request struct {
	Label, Prob, Logit, Logprob, Mean, Std, Var, Weight, ID string
	By                                                      []string
	Kind                                                    metrics.Kind
	// Positive is the string label of the positive class (binary);
	// Classes names the prediction list's positions (multiclass), mapping
	// string labels to them. See LabelNames.
	Positive string
	Classes  []string
	// PairProbe, when set, reports whether the first non-null list of a
	// column (in input order) has 2 elements: a variable-length
	// probability list of pairs is then binary (see the auto kind).
	PairProbe func(col string) bool
	// Language-model columns (kind logprob): byte count, word count, text
	// (its byte length and words stand in for missing counts), token mask.
	Bytes, Words, Text, Mask string
}

// Names says how messages name each role and the kind: the CLI passes its
// flags ("--label"), a library its option names.
type Names struct {
	Label, Prob, Logit, Logprob, Mean, Std, Var, Weight, ID, By, Kind string
	Positive, Classes                                                 string
	Bytes, Words, Text, Mask                                          string
	// AllowMismatch is the setting that lets baseline gates judge figures
	// of mismatched settings (named in warnings).
	AllowMismatch string
}

// Mapping is the resolved column of each role.
type Mapping struct {
	label, pred, scale, weight, id string
	by                             []string
	bytes, words, text, mask       string
	report                         report.Mapping
	// listPred is set when the prediction column holds a list per row.
	listPred bool
	// warnings are caveats about the mapping, for stderr and the report.
	warnings []string
}

// labelNames checks Positive and Classes against the kind and the label
// column, and sets cfg.Labels for a string label column.
func (m *Mapping) labelNames(f *Request, n Names, cfg *metrics.Config, pred, label reader.Field) error {
	str := label.Type == column.String
	if f.Positive != "" {
		if cfg.Kind != metrics.Binary {
			return fmt.Errorf("%s names the positive class of a binary run, not a %s one (for class names use %s)", n.Positive, cfg.Kind, n.Classes)
		}
		if !str {
			return fmt.Errorf("%s: label column %q holds %s, not strings; a numeric label must be 0/1", n.Positive, m.label, label.Desc)
		}
		cfg.Labels = metrics.PositiveLabel(f.Positive)
	}
	if f.Classes != nil {
		if cfg.Kind != metrics.Multiclass {
			return fmt.Errorf("%s names the classes of a multiclass run, not a %s one (a binary string label takes %s)", n.Classes, cfg.Kind, n.Positive)
		}
		if len(f.Classes) < 2 {
			return fmt.Errorf("%s: %d class name; give at least 2", n.Classes, len(f.Classes))
		}
		if pred.FixedSize != 0 && pred.FixedSize != len(f.Classes) {
			return fmt.Errorf("%s names %d classes, but column %q holds lists of %d", n.Classes, len(f.Classes), m.pred, pred.FixedSize)
		}
		l, err := metrics.ClassLabels(f.Classes)
		if err != nil {
			return fmt.Errorf("%s: %v", n.Classes, err)
		}
		if str {
			cfg.Labels = l
		}
		cfg.Classes = len(f.Classes)
	}
	if str && cfg.Labels == nil {
		switch cfg.Kind {
		case metrics.Binary:
			return fmt.Errorf("label column %q holds strings (%s): name the positive class with %s VALUE", m.label, label.Desc, n.Positive)
		case metrics.Multiclass:
			return fmt.Errorf("label column %q holds strings (%s): give the class names in the order of the prediction list with %s NAME,NAME,...", m.label, label.Desc, n.Classes)
		}
		return fmt.Errorf("label column %q holds strings (%s); a %s label must be a number", m.label, label.Desc, cfg.Kind)
	}
	return nil
}

// Report is the mapping as the report names it.
func (m *Mapping) Report() report.Mapping {
	r := m.report
	r.Warnings = m.warnings
	return r
}

// Warnings are caveats about the mapping (a --logprob list beside a label
// column), for the caller to show and to add to the report.
func (m *Mapping) Warnings() []string { return m.warnings }

// ListPred reports whether the prediction column holds a list per row.
func (m *Mapping) ListPred() bool { return m.listPred }

// Conventional names `--kind auto` looks for, in order of preference.
var (
	labelNames   = []string{"label", "target", "y"}
	probNames    = []string{"prob", "probs", "p"}
	logitNames   = []string{"logit", "logits"}
	logprobNames = []string{"logprob", "logprobs", "token_logprobs"}
)

func fieldMap(f []reader.Field) map[string]reader.Field {
	m := map[string]reader.Field{}
	for _, fl := range f {
		if _, dup := m[fl.Name]; !dup {
			m[fl.Name] = fl
		}
	}
	return m
}

// columnList is "a (double), b (list<float>)" for messages.
func columnList(f []reader.Field) string {
	var parts []string
	for _, fl := range f {
		parts = append(parts, fmt.Sprintf("%s (%s)", fl.Name, fl.Desc))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func firstPresent(fields map[string]reader.Field, names []string) string {
	for _, n := range names {
		if _, ok := fields[n]; ok {
			return n
		}
	}
	return ""
}

// Resolve picks the columns and the kind from the request, or by
// convention, and checks every input has them with usable types. files
// holds each input's fields and names its name for messages; cfg is
// completed in place.
func Resolve(f *Request, n Names, files [][]reader.Field, names []string, cfg *metrics.Config) (*Mapping, error) {
	if len(files) == 0 || len(names) != len(files) {
		return nil, fmt.Errorf("mapping: %d inputs with %d names", len(files), len(names))
	}
	cfg.Kind = f.Kind
	// The first file with columns decides the conventions; every file is
	// then checked against the result.
	first := files[0]
	fields := fieldMap(first)
	m := &Mapping{label: f.Label, weight: f.Weight, id: f.ID, by: append([]string(nil), f.By...),
		bytes: f.Bytes, words: f.Words, text: f.Text, mask: f.Mask}
	for _, b := range m.by {
		if b == "" {
			return nil, fmt.Errorf("%s: an empty column name", n.By)
		}
	}
	switch {
	case f.Prob != "":
		m.pred, cfg.Pred = f.Prob, metrics.PredProb
	case f.Logit != "":
		m.pred, cfg.Pred = f.Logit, metrics.PredLogit
	case f.Logprob != "":
		m.pred, cfg.Pred = f.Logprob, metrics.PredLogprob
	case f.Mean != "":
		m.pred = f.Mean
		if f.Std != "" {
			m.scale, cfg.Pred = f.Std, metrics.PredStd
		} else {
			m.scale, cfg.Pred = f.Var, metrics.PredVar
		}
	default:
		type cand struct {
			col  string
			pred metrics.Pred
		}
		var found []cand
		if c := firstPresent(fields, probNames); c != "" {
			found = append(found, cand{c, metrics.PredProb})
		}
		if c := firstPresent(fields, logitNames); c != "" {
			found = append(found, cand{c, metrics.PredLogit})
		}
		if c := firstPresent(fields, logprobNames); c != "" {
			found = append(found, cand{c, metrics.PredLogprob})
		}
		if _, ok := fields["mean"]; ok {
			if _, ok := fields["std"]; ok {
				found = append(found, cand{"mean", metrics.PredStd})
				m.scale = "std"
			} else if _, ok := fields["var"]; ok {
				found = append(found, cand{"mean", metrics.PredVar})
				m.scale = "var"
			}
		}
		// Restrict to the family --kind asks for.
		var keep []cand
		for _, c := range found {
			if KindAccepts(cfg.Kind, c.pred) {
				keep = append(keep, c)
			}
		}
		switch len(keep) {
		case 0:
			if len(found) > 0 {
				// The conventional columns are there, but the kind rules
				// them out: say so rather than "not found".
				c := found[0]
				return nil, fmt.Errorf("%s: column %q exists but is %s, which does not fit %s %s; %s; columns: %s",
					names[0], c.col, predDescription(fields[c.col], c.pred), n.Kind, cfg.Kind, n.kindNeeds(cfg.Kind), columnList(first))
			}
			return nil, fmt.Errorf("%s: no prediction column found (looked for %s; or mean with std/var); give %s; columns: %s",
				names[0], strings.Join(append(append(append([]string{}, probNames...), logitNames...), logprobNames...), ", "), n.anyPred(), columnList(first))
		case 1:
			m.pred, cfg.Pred = keep[0].col, keep[0].pred
			if cfg.Pred != metrics.PredStd && cfg.Pred != metrics.PredVar {
				m.scale = ""
			}
		default:
			var cs []string
			for _, c := range keep {
				cs = append(cs, c.col)
			}
			return nil, fmt.Errorf("%s: ambiguous prediction columns %s: choose one with %s; columns: %s",
				names[0], strings.Join(cs, ", "), n.anyPred(), columnList(first))
		}
	}
	if !KindAccepts(cfg.Kind, cfg.Pred) {
		return nil, fmt.Errorf("%s %s does not take a %s column", n.Kind, cfg.Kind, n.pred(cfg.Pred))
	}
	needLabel := cfg.Pred != metrics.PredLogprob
	if needLabel && m.label == "" {
		m.label = firstPresent(fields, labelNames)
		if m.label == "" {
			return nil, fmt.Errorf("%s: no label column (looked for label, target, y); give %s; columns: %s", names[0], n.Label, columnList(first))
		}
	}
	if !needLabel && m.label != "" && f.Label != "" {
		return nil, fmt.Errorf("%s: a %s evaluation takes no label", n.Label, n.Logprob)
	}
	if !needLabel {
		m.label = ""
	}

	// Every file must have every column, with the same shape.
	var predField, labelField reader.Field
	for i, fl := range files {
		fm := fieldMap(fl)
		get := func(col, flagName string) (reader.Field, error) {
			x, ok := fm[col]
			if !ok {
				return x, fmt.Errorf("%s: column %q (%s) not found; columns: %s", names[i], col, flagName, columnList(fl))
			}
			if x.Type == column.Unsupported {
				return x, fmt.Errorf("%s: column %q (%s) has type %s, which evalnll cannot evaluate", names[i], col, flagName, x.Desc)
			}
			return x, nil
		}
		pf, err := get(m.pred, n.pred(cfg.Pred))
		if err != nil {
			return nil, err
		}
		if i == 0 {
			predField = pf
		} else if pf.List != predField.List {
			return nil, fmt.Errorf("%s: column %q is %s here but %s in %s", names[i], m.pred, pf.Desc, predField.Desc, names[0])
		}
		if !pf.Type.Numeric() {
			return nil, fmt.Errorf("%s: column %q (%s) has type %s; want numbers", names[i], m.pred, n.pred(cfg.Pred), pf.Desc)
		}
		if m.label != "" {
			lf, err := get(m.label, n.Label)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				labelField = lf
			} else if lf.List != labelField.List {
				return nil, fmt.Errorf("%s: column %q is %s here but %s in %s", names[i], m.label, lf.Desc, labelField.Desc, names[0])
			}
			if !lf.Type.Numeric() && lf.Type != column.Bool && (lf.Type != column.String || lf.List) {
				return nil, fmt.Errorf("%s: label column %q has type %s; want bool, integer or float", names[i], m.label, lf.Desc)
			}
			if i > 0 && (lf.Type == column.String) != (labelField.Type == column.String) {
				return nil, fmt.Errorf("%s: column %q is %s here but %s in %s", names[i], m.label, lf.Desc, labelField.Desc, names[0])
			}
		}
		if m.scale != "" {
			sf, err := get(m.scale, n.pred(cfg.Pred))
			if err != nil {
				return nil, err
			}
			if sf.List || !sf.Type.Numeric() {
				return nil, fmt.Errorf("%s: column %q has type %s; want a number", names[i], m.scale, sf.Desc)
			}
		}
		if m.weight != "" {
			wf, err := get(m.weight, n.Weight)
			if err != nil {
				return nil, err
			}
			if wf.List || !(wf.Type.Numeric() || wf.Type == column.Bool) {
				return nil, fmt.Errorf("%s: weight column %q has type %s; want a number", names[i], m.weight, wf.Desc)
			}
		}
		if m.id != "" {
			xf, err := get(m.id, n.ID)
			if err != nil {
				return nil, err
			}
			if xf.List {
				return nil, fmt.Errorf("%s: id column %q is a list (%s); want one value per row", names[i], m.id, xf.Desc)
			}
		}
		if err := m.checkLM(get, n, names[i]); err != nil {
			return nil, err
		}
		for _, b := range m.by {
			bf, err := get(b, n.By)
			if err != nil {
				return nil, err
			}
			if bf.List {
				return nil, fmt.Errorf("%s: %s column %q is a list (%s); want one value per row", names[i], n.By, b, bf.Desc)
			}
		}
	}

	// The kind, from the shapes when auto.
	if cfg.Kind == metrics.KindAuto {
		switch cfg.Pred {
		case metrics.PredLogprob:
			cfg.Kind = metrics.Logprob
		case metrics.PredStd, metrics.PredVar:
			cfg.Kind = metrics.Gaussian
		default:
			switch {
			case !predField.List:
				cfg.Kind = metrics.Binary
			case labelField.List:
				cfg.Kind = metrics.Multilabel
			case cfg.Pred == metrics.PredProb && f.Classes == nil && (predField.FixedSize == 2 ||
				(predField.FixedSize == 0 && f.PairProbe != nil && f.PairProbe(m.pred))):
				// scikit-learn's predict_proba of a binary classifier.
				cfg.Kind = metrics.Binary
			default:
				cfg.Kind = metrics.Multiclass
			}
		}
	}
	switch cfg.Kind {
	case metrics.Binary:
		if predField.List {
			if cfg.Pred != metrics.PredProb || (predField.FixedSize != 0 && predField.FixedSize != 2) {
				return nil, fmt.Errorf("%s: %s binary needs one number per row, or a list of 2 probabilities [P(y=0), P(y=1)], but %q is %s", names[0], n.Kind, m.pred, predField.Desc)
			}
			cfg.Pair = true
		}
		if labelField.List {
			return nil, fmt.Errorf("%s: %s binary needs one label per row, but %q is %s", names[0], n.Kind, m.label, labelField.Desc)
		}
	case metrics.Multiclass:
		if !predField.List {
			return nil, fmt.Errorf("%s: %s multiclass needs a list of class %s per row, but %q is %s", names[0], n.Kind, predNoun(cfg.Pred), m.pred, predField.Desc)
		}
		if labelField.List {
			return nil, fmt.Errorf("%s: %s multiclass needs an integer class index per row, but %q is %s (for 0/1 lists use %s multilabel)", names[0], n.Kind, m.label, labelField.Desc, n.Kind)
		}
		cfg.Classes = predField.FixedSize
	case metrics.Multilabel:
		if !predField.List || !labelField.List {
			return nil, fmt.Errorf("%s: %s multilabel needs a list of %s and a list of 0/1 labels per row; %q is %s, %q is %s", names[0], n.Kind, predNoun(cfg.Pred), m.pred, predField.Desc, m.label, labelField.Desc)
		}
		cfg.Classes = predField.FixedSize
	case metrics.Logprob:
		cfg.Tokens = predField.List
		// A list of log-probabilities beside a label column may be
		// log-softmax class scores: --logprob reads it as a token
		// sequence and the label goes unused. Say so unless --kind
		// logprob asked for exactly that.
		if l := firstPresent(fields, labelNames); predField.List && l != "" && f.Kind != metrics.Logprob {
			m.warnings = append(m.warnings, fmt.Sprintf("column %q is a list, read as token log-probabilities (one sequence per row), and the label column %q is not used; for log-softmax class scores give %s %s %s %s instead; %s logprob says token sequences are meant and silences this warning", m.pred, l, n.Logit, m.pred, n.Label, l, n.Kind))
		}
	case metrics.Gaussian:
		if predField.List || labelField.List {
			return nil, fmt.Errorf("%s: %s gaussian needs one number per row in %q and %q", names[0], n.Kind, m.label, m.pred)
		}
	}
	if err := m.labelNames(f, n, cfg, predField, labelField); err != nil {
		return nil, fmt.Errorf("%s: %w", names[0], err)
	}
	m.listPred = predField.List
	if m.bytes != "" || m.words != "" || m.text != "" || m.mask != "" {
		if cfg.Kind != metrics.Logprob {
			return nil, fmt.Errorf("%s, %s, %s and %s apply to %s logprob (token log-probabilities), not %s", n.Bytes, n.Words, n.Text, n.Mask, n.Kind, cfg.Kind)
		}
		if m.mask != "" && !predField.List {
			return nil, fmt.Errorf("%s: %s needs a list of token log-probabilities per row, but %q is %s", names[0], n.Mask, m.pred, predField.Desc)
		}
		cfg.LMBytes = m.bytes != "" || m.text != ""
		cfg.LMWords = m.words != "" || m.text != ""
		cfg.Mask = m.mask != ""
	}
	cfg.Weighted = m.weight != ""
	cfg.ByCols = len(m.by)
	cfg.HasID = m.id != ""

	r := report.Mapping{Label: m.label, Weight: m.weight, ID: m.id, By: m.by, Positive: f.Positive, Classes: f.Classes, Pair: cfg.Pair,
		Bytes: m.bytes, Words: m.words, Text: m.text, Mask: m.mask}
	switch cfg.Pred {
	case metrics.PredProb:
		r.Prob = m.pred
	case metrics.PredLogit:
		r.Logit = m.pred
	case metrics.PredLogprob:
		r.Logprob = m.pred
	case metrics.PredStd:
		r.Mean, r.Std = m.pred, m.scale
	case metrics.PredVar:
		r.Mean, r.Var = m.pred, m.scale
	}
	m.report = r
	return m, nil
}

// checkLM checks the language-model columns of one input: integer counts,
// a string text, a list of 0/1 integers or bools for the mask.
func (m *Mapping) checkLM(get func(col, flagName string) (reader.Field, error), n Names, name string) error {
	for _, c := range []struct{ col, flag string }{{m.bytes, n.Bytes}, {m.words, n.Words}} {
		if c.col == "" {
			continue
		}
		f, err := get(c.col, c.flag)
		if err != nil {
			return err
		}
		if f.List || f.Type != column.Int && f.Type != column.Uint64 {
			return fmt.Errorf("%s: %s column %q has type %s; want an integer count", name, c.flag, c.col, f.Desc)
		}
	}
	if m.text != "" {
		f, err := get(m.text, n.Text)
		if err != nil {
			return err
		}
		if f.List || f.Type != column.String {
			return fmt.Errorf("%s: %s column %q has type %s; want a string", name, n.Text, m.text, f.Desc)
		}
	}
	if m.mask != "" {
		f, err := get(m.mask, n.Mask)
		if err != nil {
			return err
		}
		if !f.List || f.Type != column.Int && f.Type != column.Uint64 && f.Type != column.Bool {
			return fmt.Errorf("%s: %s column %q has type %s; want a list of 0/1 integers or bools", name, n.Mask, m.mask, f.Desc)
		}
	}
	return nil
}

// KindAccepts reports whether kind k evaluates predictions of form p.
func KindAccepts(k metrics.Kind, p metrics.Pred) bool {
	switch k {
	case metrics.KindAuto:
		return true
	case metrics.Binary, metrics.Multiclass, metrics.Multilabel:
		return p == metrics.PredProb || p == metrics.PredLogit
	case metrics.Logprob:
		return p == metrics.PredLogprob
	case metrics.Gaussian:
		return p == metrics.PredStd || p == metrics.PredVar
	}
	return false
}

// predDescription is what a prediction column found by its name holds,
// for messages: "a float (double) read as a probability".
func predDescription(f reader.Field, p metrics.Pred) string {
	shape := "a float"
	if f.List {
		shape = "a list"
	} else if f.Type != column.Float32 && f.Type != column.Float64 {
		shape = "a number"
	}
	what := [...]string{"a probability", "a logit", "a log-probability", "a gaussian mean", "a gaussian mean"}[p]
	if f.List {
		what = [...]string{"class probabilities", "class logits", "token log-probabilities", "gaussian means", "gaussian means"}[p]
	}
	return fmt.Sprintf("%s (%s) read as %s", shape, f.Desc, what)
}

// kindNeeds says which roles a kind takes, for messages.
func (n Names) kindNeeds(k metrics.Kind) string {
	switch k {
	case metrics.Binary:
		return fmt.Sprintf("%s binary takes %s or %s (one number per row) with %s", n.Kind, n.Prob, n.Logit, n.Label)
	case metrics.Multiclass:
		return fmt.Sprintf("%s multiclass takes %s or %s (a list per row) with an integer %s", n.Kind, n.Prob, n.Logit, n.Label)
	case metrics.Multilabel:
		return fmt.Sprintf("%s multilabel takes %s or %s (a list per row) with a list %s", n.Kind, n.Prob, n.Logit, n.Label)
	case metrics.Logprob:
		return fmt.Sprintf("%s logprob takes %s COL (the natural-log probability of the observed outcome, or a list of token log-probabilities)", n.Kind, n.Logprob)
	case metrics.Gaussian:
		return fmt.Sprintf("%s gaussian takes %s COL with %s COL or %s COL, and a numeric %s", n.Kind, n.Mean, n.Std, n.Var, n.Label)
	}
	return "give " + n.anyPred()
}

// pred names the role of a prediction form.
func (n Names) pred(p metrics.Pred) string {
	return [...]string{n.Prob, n.Logit, n.Logprob, n.Mean + "/" + n.Std, n.Mean + "/" + n.Var}[p]
}

// anyPred names the four ways to give a prediction column.
func (n Names) anyPred() string {
	return n.Prob + ", " + n.Logit + ", " + n.Logprob + " or " + n.Mean
}

func predNoun(p metrics.Pred) string {
	if p == metrics.PredLogit {
		return "logits"
	}
	return "probabilities"
}

// Job builds the pipeline job: the columns to read and how a batch maps
// onto roles.
func (m *Mapping) Job(files []reader.File, names []string, cfg *metrics.Config) *pipeline.Job {
	var cols []string
	idx := func(c string) int {
		if c == "" {
			return -1
		}
		for i, x := range cols {
			if x == c {
				return i
			}
		}
		cols = append(cols, c)
		return len(cols) - 1
	}
	li, pi, si, wi, ii := idx(m.label), idx(m.pred), idx(m.scale), idx(m.weight), idx(m.id)
	bytesI, wordsI, textI, maskI := idx(m.bytes), idx(m.words), idx(m.text), idx(m.mask)
	var bi []int
	for _, b := range m.by {
		bi = append(bi, idx(b))
	}
	at := func(b *column.Batch, i int) *column.Column {
		if i < 0 {
			return nil
		}
		return b.Cols[i]
	}
	j := &pipeline.Job{
		Files: files, Names: names, Columns: cols, Config: cfg,
		Bind: func(b *column.Batch) metrics.Cols {
			c := metrics.Cols{Rows: b.Rows, Label: at(b, li), Pred: at(b, pi), Scale: at(b, si), Weight: at(b, wi), ID: at(b, ii),
				Bytes: at(b, bytesI), Words: at(b, wordsI), Text: at(b, textI), Mask: at(b, maskI)}
			if len(bi) > 0 {
				c.By = make([]*column.Column, len(bi))
				for k, i := range bi {
					c.By[k] = b.Cols[i]
				}
			}
			return c
		},
		ColumnOf: func(r metrics.Role) string {
			switch r {
			case metrics.RoleLabel:
				return m.label
			case metrics.RolePred:
				return m.pred
			case metrics.RoleScale:
				return m.scale
			case metrics.RoleWeight:
				return m.weight
			case metrics.RoleID:
				return m.id
			case metrics.RoleBytes:
				return m.bytes
			case metrics.RoleWords:
				return m.words
			case metrics.RoleText:
				return m.text
			case metrics.RoleMask:
				return m.mask
			}
			return strings.Join(m.by, ",")
		},
	}
	if (cfg.Kind == metrics.Multiclass || cfg.Kind == metrics.Multilabel) && cfg.Classes == 0 {
		j.PredColumn = m.pred
	}
	return j
}

type namesKey struct{}

// WithNames returns a context under which the evaluation's messages name
// the roles as n says (the command: its flags).
func WithNames(ctx context.Context, n Names) context.Context {
	return context.WithValue(ctx, namesKey{}, n)
}

// NamesFrom returns the names set by WithNames, or def.
func NamesFrom(ctx context.Context, def Names) Names {
	if n, ok := ctx.Value(namesKey{}).(Names); ok {
		return n
	}
	return def
}
