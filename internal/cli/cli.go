// Package cli is the evalnll command's door into the evalnll package for
// what the package does not export: evaluating inputs that the command
// opened itself (lazily, standard input streamed or spooled, Hive
// partitions added), with the package's one evaluation path.
package cli

import (
	"context"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/report"
)

// Options are the command's additions to an evaluation of opened files.
type Options struct {
	// Shard is the share of the inputs' units evaluated (zero: all).
	Shard pipeline.Shard
	// NumClasses fixes the class count (eval --num-classes; 0: adopted).
	NumClasses int
	// StateOnly makes no report (the Model is nil): the run is kept for
	// its state alone, and a share may then be empty.
	StateOnly bool
	// Keys are the files' bootstrap keys (pipeline.ExpandKeys), one per
	// file; nil: found from the INPUT arguments again (which lists object
	// stores again).
	Keys []string
}

// Run is a finished evaluation before its report: what a state keeps.
type Run struct {
	Config  *metrics.Config
	Mapping report.Mapping
	Result  *pipeline.Result
}

// Report is set by package evalnll: the report of a finished state (of
// cfg, its kind and mapping resolved), as Evaluate makes it, its gates
// judged as spec (an evalnll.Spec) says. rowName names a worst row without
// id by its input file and row within it.
var Report func(ctx context.Context, spec any, cfg *metrics.Config, mp report.Mapping, st *metrics.State, inputs []report.Input, rowName func(file int, row int64) string) (*report.Model, error)

// EvaluateFiles is set by package evalnll (its init): it evaluates the
// opened files as evalnll.Evaluate evaluates the files it opens. spec is
// an evalnll.Spec; args are the INPUT arguments the files were found from
// (their bootstrap keys); names name the files in messages.
var EvaluateFiles func(ctx context.Context, spec any, opt Options, args []string, files []reader.File, names []string) (*report.Model, *Run, error)
