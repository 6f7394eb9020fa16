package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/evalnll/evalnll/column"
	"github.com/evalnll/evalnll/metrics"
	"github.com/evalnll/evalnll/pipeline"
	"github.com/evalnll/evalnll/reader"
	"github.com/evalnll/evalnll/report"
)

// mapping is the resolved column of each role.
type mapping struct {
	label, pred, scale, weight, id string
	by                             []string
	report                         report.Mapping
	// listPred is set when the prediction column holds a list per row.
	listPred bool
	// classes are the names of --classes.
	classes []string
}

// isPair reports whether a probability list column holds two elements per
// row: a fixed size of 2, or a first non-null list (in input order) of 2.
func isPair(files []reader.File, col string, fl reader.Field) bool {
	if fl.FixedSize != 0 {
		return fl.FixedSize == 2
	}
	for _, f := range files {
		for _, u := range f.Units() {
			s := f.Scan(u.Index, []string{col}, 256)
			for s.Next() {
				c := s.Batch().Cols[0]
				for i := range c.Len {
					if !c.IsNull(i) {
						pair := c.Offsets[i+1]-c.Offsets[i] == 2 // before Close frees the batch
						s.Close()
						return pair
					}
				}
			}
			s.Close()
		}
	}
	return false
}

// labelNames checks --positive and --classes against the kind and the
// label column, and sets cfg.Labels for a string label column.
func (m *mapping) labelNames(f *evalFlags, cfg *metrics.Config, pred, label reader.Field) error {
	str := label.Type == column.String
	if f.positive != "" {
		if cfg.Kind != metrics.Binary {
			return usagef("--positive names the positive class of a binary run, not a %s one (for class names use --classes)", cfg.Kind)
		}
		if !str {
			return usagef("--positive: label column %q holds %s, not strings; a numeric label must be 0/1", m.label, label.Desc)
		}
		cfg.Labels = metrics.PositiveLabel(f.positive)
	}
	if f.classes != "" {
		var names []string
		if strings.HasPrefix(strings.TrimSpace(f.classes), "[") {
			if err := json.Unmarshal([]byte(f.classes), &names); err != nil {
				return usagef("--classes: not a JSON array of strings: %v", err)
			}
		} else {
			names = strings.Split(f.classes, ",")
		}
		if cfg.Kind != metrics.Multiclass {
			return usagef("--classes names the classes of a multiclass run, not a %s one (a binary string label takes --positive)", cfg.Kind)
		}
		if len(names) < 2 {
			return usagef("--classes: %d class name; give at least 2", len(names))
		}
		if pred.FixedSize != 0 && pred.FixedSize != len(names) {
			return usagef("--classes names %d classes, but column %q holds lists of %d", len(names), m.pred, pred.FixedSize)
		}
		l, err := metrics.ClassLabels(names)
		if err != nil {
			return usagef("--classes: %v", err)
		}
		if str {
			cfg.Labels = l
		}
		cfg.Classes, m.classes = len(names), names
	}
	if str && cfg.Labels == nil {
		switch cfg.Kind {
		case metrics.Binary:
			return usagef("label column %q holds strings (%s): name the positive class with --positive VALUE", m.label, label.Desc)
		case metrics.Multiclass:
			return usagef("label column %q holds strings (%s): give the class names in the order of the prediction list with --classes NAME,NAME,...", m.label, label.Desc)
		}
		return usagef("label column %q holds strings (%s); a %s label must be a number", m.label, label.Desc, cfg.Kind)
	}
	return nil
}

// Conventional names `--kind auto` looks for, in order of preference.
var (
	labelNames   = []string{"label", "target", "y"}
	probNames    = []string{"prob", "probs", "p"}
	logitNames   = []string{"logit", "logits"}
	logprobNames = []string{"logprob", "logprobs", "token_logprobs"}
)

func fieldMap(f reader.File) map[string]reader.Field {
	m := map[string]reader.Field{}
	for _, fl := range f.Fields() {
		if _, dup := m[fl.Name]; !dup {
			m[fl.Name] = fl
		}
	}
	return m
}

// columnList is "a (double), b (list<float>)" for messages.
func columnList(f reader.File) string {
	var parts []string
	for _, fl := range f.Fields() {
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

// resolveMapping picks the columns and the kind from the flags, or by
// convention, and checks every file has them with usable types.
func resolveMapping(f *evalFlags, files []reader.File, names []string, cfg *metrics.Config) (*mapping, error) {
	// The first file with columns decides the conventions; every file is
	// then checked against the result.
	first := files[0]
	fields := fieldMap(first)
	m := &mapping{label: f.label, weight: f.weight, id: f.id}
	if f.by != "" {
		for _, b := range strings.Split(f.by, ",") {
			b = strings.TrimSpace(b)
			if b == "" {
				return nil, usagef("--by %q: empty column name", f.by)
			}
			m.by = append(m.by, b)
		}
	}
	switch {
	case f.prob != "":
		m.pred, cfg.Pred = f.prob, metrics.PredProb
	case f.logit != "":
		m.pred, cfg.Pred = f.logit, metrics.PredLogit
	case f.logprob != "":
		m.pred, cfg.Pred = f.logprob, metrics.PredLogprob
	case f.mean != "":
		m.pred = f.mean
		if f.std != "" {
			m.scale, cfg.Pred = f.std, metrics.PredStd
		} else {
			m.scale, cfg.Pred = f.varc, metrics.PredVar
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
			if kindAccepts(cfg.Kind, c.pred) {
				keep = append(keep, c)
			}
		}
		switch len(keep) {
		case 0:
			return nil, fmt.Errorf("%s: no prediction column found (looked for %s; or mean with std/var); give --prob, --logit, --logprob or --mean; columns: %s",
				names[0], strings.Join(append(append(append([]string{}, probNames...), logitNames...), logprobNames...), ", "), columnList(first))
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
			return nil, fmt.Errorf("%s: ambiguous prediction columns %s: choose one with --prob, --logit, --logprob or --mean; columns: %s",
				names[0], strings.Join(cs, ", "), columnList(first))
		}
	}
	if !kindAccepts(cfg.Kind, cfg.Pred) {
		return nil, usagef("--kind %s does not take a %s column", cfg.Kind, predFlag(cfg.Pred))
	}
	needLabel := cfg.Pred != metrics.PredLogprob
	if needLabel && m.label == "" {
		m.label = firstPresent(fields, labelNames)
		if m.label == "" {
			return nil, fmt.Errorf("%s: no label column (looked for label, target, y); give --label; columns: %s", names[0], columnList(first))
		}
	}
	if !needLabel && m.label != "" && f.label != "" {
		return nil, usagef("--label: a --logprob evaluation takes no label")
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
		pf, err := get(m.pred, predFlag(cfg.Pred))
		if err != nil {
			return nil, err
		}
		if i == 0 {
			predField = pf
		} else if pf.List != predField.List {
			return nil, fmt.Errorf("%s: column %q is %s here but %s in %s", names[i], m.pred, pf.Desc, predField.Desc, names[0])
		}
		if !pf.Type.Numeric() {
			return nil, fmt.Errorf("%s: column %q (%s) has type %s; want numbers", names[i], m.pred, predFlag(cfg.Pred), pf.Desc)
		}
		if m.label != "" {
			lf, err := get(m.label, "--label")
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
			sf, err := get(m.scale, predFlag(cfg.Pred))
			if err != nil {
				return nil, err
			}
			if sf.List || !sf.Type.Numeric() {
				return nil, fmt.Errorf("%s: column %q has type %s; want a number", names[i], m.scale, sf.Desc)
			}
		}
		if m.weight != "" {
			wf, err := get(m.weight, "--weight")
			if err != nil {
				return nil, err
			}
			if wf.List || !(wf.Type.Numeric() || wf.Type == column.Bool) {
				return nil, fmt.Errorf("%s: weight column %q has type %s; want a number", names[i], m.weight, wf.Desc)
			}
		}
		if m.id != "" {
			xf, err := get(m.id, "--id")
			if err != nil {
				return nil, err
			}
			if xf.List {
				return nil, fmt.Errorf("%s: id column %q is a list (%s); want one value per row", names[i], m.id, xf.Desc)
			}
		}
		for _, b := range m.by {
			bf, err := get(b, "--by")
			if err != nil {
				return nil, err
			}
			if bf.List {
				return nil, fmt.Errorf("%s: --by column %q is a list (%s); want one value per row", names[i], b, bf.Desc)
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
			case cfg.Pred == metrics.PredProb && f.classes == "" && isPair(files, m.pred, predField):
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
				return nil, fmt.Errorf("%s: --kind binary needs one number per row, or a list of 2 probabilities [P(y=0), P(y=1)], but %q is %s", names[0], m.pred, predField.Desc)
			}
			cfg.Pair = true
		}
		if labelField.List {
			return nil, fmt.Errorf("%s: --kind binary needs one label per row, but %q is %s", names[0], m.label, labelField.Desc)
		}
	case metrics.Multiclass:
		if !predField.List {
			return nil, fmt.Errorf("%s: --kind multiclass needs a list of class %s per row, but %q is %s", names[0], predNoun(cfg.Pred), m.pred, predField.Desc)
		}
		if labelField.List {
			return nil, fmt.Errorf("%s: --kind multiclass needs an integer class index per row, but %q is %s (for 0/1 lists use --kind multilabel)", names[0], m.label, labelField.Desc)
		}
		cfg.Classes = predField.FixedSize
	case metrics.Multilabel:
		if !predField.List || !labelField.List {
			return nil, fmt.Errorf("%s: --kind multilabel needs a list of %s and a list of 0/1 labels per row; %q is %s, %q is %s", names[0], predNoun(cfg.Pred), m.pred, predField.Desc, m.label, labelField.Desc)
		}
		cfg.Classes = predField.FixedSize
	case metrics.Logprob:
		cfg.Tokens = predField.List
	case metrics.Gaussian:
		if predField.List || labelField.List {
			return nil, fmt.Errorf("%s: --kind gaussian needs one number per row in %q and %q", names[0], m.label, m.pred)
		}
	}
	if err := m.labelNames(f, cfg, predField, labelField); err != nil {
		return nil, err
	}
	m.listPred = predField.List
	cfg.Weighted = m.weight != ""
	cfg.ByCols = len(m.by)
	cfg.HasID = m.id != ""

	r := report.Mapping{Label: m.label, Weight: m.weight, ID: m.id, By: m.by, Positive: f.positive, Classes: m.classes, Pair: cfg.Pair}
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

func kindAccepts(k metrics.Kind, p metrics.Pred) bool {
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

func predFlag(p metrics.Pred) string {
	return [...]string{"--prob", "--logit", "--logprob", "--mean/--std", "--mean/--var"}[p]
}

func predNoun(p metrics.Pred) string {
	if p == metrics.PredLogit {
		return "logits"
	}
	return "probabilities"
}

// job builds the pipeline job: the columns to read and how a batch maps
// onto roles.
func (m *mapping) job(files []reader.File, names []string, cfg *metrics.Config) *pipeline.Job {
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
			c := metrics.Cols{Rows: b.Rows, Label: at(b, li), Pred: at(b, pi), Scale: at(b, si), Weight: at(b, wi), ID: at(b, ii)}
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
			}
			return strings.Join(m.by, ",")
		},
	}
	if (cfg.Kind == metrics.Multiclass || cfg.Kind == metrics.Multilabel) && cfg.Classes == 0 {
		j.PredColumn = m.pred
	}
	return j
}
