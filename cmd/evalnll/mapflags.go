package main

import (
	"encoding/json"
	"strings"

	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
)

// flagNames names the roles in mapping messages by eval's flags.
var flagNames = mapping.Names{
	Label: "--label", Prob: "--prob", Logit: "--logit", Logprob: "--logprob",
	Mean: "--mean", Std: "--std", Var: "--var", Weight: "--weight", ID: "--id",
	By: "--by", Kind: "--kind", Positive: "--positive", Classes: "--classes",
	Bytes: "--bytes", Words: "--words", Text: "--text", Mask: "--mask",
	AllowMismatch: "--allow-config-mismatch",
}

// resolveMapping picks the columns and the kind from the flags, or by
// convention, and checks every file has them with usable types.
func resolveMapping(f *evalFlags, files []reader.File, names []string, cfg *metrics.Config) (*mapping.Mapping, error) {
	if err := parseBy(f); err != nil {
		return nil, err
	}
	req := mapping.Request{Label: f.label, Prob: f.prob, Logit: f.logit, Logprob: f.logprob,
		Mean: f.mean, Std: f.std, Var: f.varc, Weight: f.weight, ID: f.id, By: f.byCols, Kind: cfg.Kind,
		Bytes: f.bytes, Words: f.words, Text: f.text, Mask: f.mask}
	req.Positive = f.positive
	if err := parseClasses(f); err != nil {
		return nil, err
	}
	req.Classes = f.classNames
	req.PairProbe = func(col string) bool { return pipeline.FirstListIsPair(files, col) }
	fields := make([][]reader.Field, len(files))
	for i, fl := range files {
		fields[i] = fl.Fields()
	}
	return mapping.Resolve(&req, flagNames, fields, names, cfg)
}

// parseBy splits --by into f.byCols.
func parseBy(f *evalFlags) error {
	f.byCols = nil
	if f.by == "" {
		return nil
	}
	for _, b := range strings.Split(f.by, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			return usagef("--by %q: empty column name", f.by)
		}
		f.byCols = append(f.byCols, b)
	}
	return nil
}

// predFlag is the flag of a prediction form.
func predFlag(p metrics.Pred) string {
	return [...]string{"--prob", "--logit", "--logprob", "--mean/--std", "--mean/--var"}[p]
}

// parseClasses reads --classes (a,b,c or a JSON array) into f.classNames.
func parseClasses(f *evalFlags) error {
	f.classNames = nil
	if f.classes == "" {
		return nil
	}
	if strings.HasPrefix(strings.TrimSpace(f.classes), "[") {
		if err := json.Unmarshal([]byte(f.classes), &f.classNames); err != nil {
			return usagef("--classes: not a JSON array of strings: %v", err)
		}
		return nil
	}
	f.classNames = strings.Split(f.classes, ",")
	return nil
}
