package main

import (
	"encoding/json"
	"strings"

	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/metrics"
	"github.com/evalnll/evalnll/reader"
)

// flagNames names the roles in mapping messages by eval's flags.
var flagNames = mapping.Names{
	Label: "--label", Prob: "--prob", Logit: "--logit", Logprob: "--logprob",
	Mean: "--mean", Std: "--std", Var: "--var", Weight: "--weight", ID: "--id",
	By: "--by", Kind: "--kind", Positive: "--positive", Classes: "--classes",
	Bytes: "--bytes", Words: "--words", Text: "--text", Mask: "--mask",
}

// resolveMapping picks the columns and the kind from the flags, or by
// convention, and checks every file has them with usable types.
func resolveMapping(f *evalFlags, files []reader.File, names []string, cfg *metrics.Config) (*mapping.Mapping, error) {
	req := mapping.Request{Label: f.label, Prob: f.prob, Logit: f.logit, Logprob: f.logprob,
		Mean: f.mean, Std: f.std, Var: f.varc, Weight: f.weight, ID: f.id, Kind: cfg.Kind,
		Bytes: f.bytes, Words: f.words, Text: f.text, Mask: f.mask}
	if f.by != "" {
		for _, b := range strings.Split(f.by, ",") {
			b = strings.TrimSpace(b)
			if b == "" {
				return nil, usagef("--by %q: empty column name", f.by)
			}
			req.By = append(req.By, b)
		}
	}
	req.Positive = f.positive
	if f.classes != "" {
		if strings.HasPrefix(strings.TrimSpace(f.classes), "[") {
			if err := json.Unmarshal([]byte(f.classes), &req.Classes); err != nil {
				return nil, usagef("--classes: not a JSON array of strings: %v", err)
			}
		} else {
			req.Classes = strings.Split(f.classes, ",")
		}
	}
	req.PairProbe = func(col string) bool { return firstListIsPair(files, col) }
	fields := make([][]reader.Field, len(files))
	for i, fl := range files {
		fields[i] = fl.Fields()
	}
	return mapping.Resolve(&req, flagNames, fields, names, cfg)
}

// firstListIsPair reports whether the first non-null list of col, in input
// order, has 2 elements (scikit-learn's predict_proba pairs). Inputs
// without units (a stream given as a pipe) are not peeked at.
func firstListIsPair(files []reader.File, col string) bool {
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
