// Package cli is the evalnll command's door into the evalnll package for
// what the package does not export: evaluating inputs that the command
// opened itself (lazily, standard input streamed or spooled, Hive
// partitions added), with the package's one evaluation path.
package cli

import (
	"context"

	"github.com/evalnll/evalnll/reader"
	"github.com/evalnll/evalnll/report"
)

// EvaluateFiles is set by package evalnll (its init): it evaluates the
// opened files as evalnll.Evaluate evaluates the files it opens. spec is
// an evalnll.Spec; args are the INPUT arguments the files were found from
// (their bootstrap keys); names name the files in messages.
var EvaluateFiles func(ctx context.Context, spec any, args []string, files []reader.File, names []string) (*report.Model, error)
