package main

import (
	"strings"

	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/metrics"
	"github.com/evalnll/evalnll/reader"
)

// flagNames names the roles in mapping messages by eval's flags.
var flagNames = mapping.Names{
	Label: "--label", Prob: "--prob", Logit: "--logit", Logprob: "--logprob",
	Mean: "--mean", Std: "--std", Var: "--var", Weight: "--weight", ID: "--id",
	By: "--by", Kind: "--kind",
}

// resolveMapping picks the columns and the kind from the flags, or by
// convention, and checks every file has them with usable types.
func resolveMapping(f *evalFlags, files []reader.File, names []string, cfg *metrics.Config) (*mapping.Mapping, error) {
	req := mapping.Request{Label: f.label, Prob: f.prob, Logit: f.logit, Logprob: f.logprob,
		Mean: f.mean, Std: f.std, Var: f.varc, Weight: f.weight, ID: f.id, Kind: cfg.Kind}
	if f.by != "" {
		for _, b := range strings.Split(f.by, ",") {
			b = strings.TrimSpace(b)
			if b == "" {
				return nil, usagef("--by %q: empty column name", f.by)
			}
			req.By = append(req.By, b)
		}
	}
	fields := make([][]reader.Field, len(files))
	for i, fl := range files {
		fields[i] = fl.Fields()
	}
	return mapping.Resolve(&req, flagNames, fields, names, cfg)
}
