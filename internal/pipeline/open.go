package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/evalnll/evalnll/internal/reader"
)

// Open expands the INPUT arguments (see Expand) and opens every file, in
// order; names are the paths as expanded, "-" for standard input, which is
// spooled to a temporary file; keys are their bootstrap keys (see
// ExpandKeys). cleanup closes the files and removes the spool; call it even
// when err is not nil.
func Open(ctx context.Context, args []string, stdin io.Reader, opt reader.Options) (files []reader.File, names, keys []string, cleanup func(), err error) {
	var tmp string
	cleanup = func() {
		for _, f := range files {
			f.Close()
		}
		if tmp != "" {
			os.Remove(tmp)
		}
	}
	paths, keys, err := ExpandKeysContext(ctx, args)
	if err != nil {
		return nil, nil, nil, cleanup, err
	}
	names = make([]string, len(paths))
	for i, p := range paths {
		names[i] = p
		open := p
		if p == "-" {
			tmp, err = Spool(ctx, nil, stdin, math.MaxInt64, func(string) {})
			if err != nil {
				return nil, nil, nil, cleanup, err
			}
			open = tmp
		}
		f, err := reader.Open(open, opt)
		if err != nil {
			if p == "-" {
				return nil, nil, nil, cleanup, fmt.Errorf("-: %v", strings.TrimPrefix(err.Error(), open+": "))
			}
			return nil, nil, nil, cleanup, err
		}
		files = append(files, f)
	}
	// Partition folders below the input each file was found under.
	files = reader.HivePartitions(files, keys)
	return files, names, keys, cleanup, nil
}
