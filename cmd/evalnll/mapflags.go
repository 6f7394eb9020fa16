package main

import (
	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
)

// flagNames names the roles in mapping messages by eval's flags.
var flagNames = evalcmd.FlagNames

// resolveMapping picks the columns and the kind from the flags, or by
// convention, and checks every file has them with usable types.
func resolveMapping(f *evalFlags, files []reader.File, names []string, cfg *metrics.Config) (*mapping.Mapping, error) {
	if err := parseBy(f); err != nil {
		return nil, err
	}
	req := mapping.Request{Label: f.Label, Prob: f.Prob, Logit: f.Logit, Logprob: f.Logprob,
		Mean: f.Mean, Std: f.Std, Var: f.Var, Weight: f.Weight, ID: f.ID, By: f.ByCols, Kind: cfg.Kind,
		Bytes: f.Bytes, Words: f.Words, Text: f.Text, Mask: f.Mask}
	req.Positive = f.Positive
	if err := parseClasses(f); err != nil {
		return nil, err
	}
	req.Classes = f.ClassNames
	req.PairProbe = func(col string) bool { return pipeline.FirstListIsPair(files, col) }
	fields := make([][]reader.Field, len(files))
	for i, fl := range files {
		fields[i] = fl.Fields()
	}
	return mapping.Resolve(&req, flagNames, fields, names, cfg)
}

// parseBy splits --by into f.ByCols.
func parseBy(f *evalFlags) error { return f.ParseBy() }

// parseClasses reads --classes (a,b,c or a JSON array) into f.ClassNames.
func parseClasses(f *evalFlags) error { return f.ParseClasses() }
