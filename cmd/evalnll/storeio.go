package main

// Inputs and outputs in object storage (package store): s3://, gs://,
// azblob:// and file:// URLs.

import (
	"context"
	"sync"

	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/store"
)

// openURL opens an object as a table, read with ranged GETs.
func openURL(ctx context.Context, u string, opt reader.Options) (reader.File, error) {
	return evalcmd.OpenURL(ctx, u, opt)
}

type opened struct {
	f   reader.File
	err error
}

// openURLs opens the URLs among paths, 16 at a time; the other entries of
// the result are empty.
func openURLs(ctx context.Context, paths []string, opt reader.Options) []opened {
	out := make([]opened, len(paths))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, p := range paths {
		if !store.IsURL(p) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].f, out[i].err = openURL(ctx, p, opt)
		}()
	}
	wg.Wait()
	return out
}
