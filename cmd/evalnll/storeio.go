package main

// Inputs and outputs in object storage (package store): s3://, gs://,
// azblob:// and file:// URLs.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/evalnll/evalnll/reader"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

// maxReportBytes bounds a baseline or compared report read from a URL.
const maxReportBytes = 256 << 20

// openURL opens an object as a table, read with ranged GETs.
func openURL(ctx context.Context, u string, opt reader.Options) (reader.File, error) {
	obj, err := store.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	f, err := reader.OpenReaderAt(obj.Name(), obj, obj.Size(), obj, opt)
	if err != nil {
		obj.Close()
		return nil, err
	}
	return f, nil
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

// readReport reads a JSON report from a file or a URL; name is how
// messages and reports show it.
func readReport(ctx context.Context, p string) (data []byte, name string, err error) {
	if store.IsURL(p) {
		data, err = store.ReadAll(ctx, p, maxReportBytes)
		return data, store.Redact(p), err
	}
	data, err = os.ReadFile(p)
	if err != nil {
		return nil, p, fmt.Errorf("%s: %v", p, unwrapPath(err))
	}
	return data, p, nil
}

// readBaseline is report.ReadBaseline for files and URLs.
func readBaseline(ctx context.Context, p string) (*report.Baseline, error) {
	if !store.IsURL(p) {
		return report.ReadBaseline(p)
	}
	data, name, err := readReport(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("--baseline %v", err)
	}
	d, err := report.ParseDoc(name, data)
	if err != nil {
		return nil, err
	}
	return &report.Baseline{Path: name, Doc: d}, nil
}

// contentTypes of the rendered formats.
var contentTypes = map[string]string{
	"json": "application/json", "md": "text/markdown; charset=utf-8",
	"svg": "image/svg+xml", "png": "image/png", "state": "application/octet-stream",
}

// putURLOutputs uploads the outputs that are URLs, one PUT each, once every
// output has been rendered. When one fails, those already uploaded are
// deleted (best effort) and the error returned: the caller then writes no
// local output either.
func putURLOutputs(ctx context.Context, paths, formats []string, data [][]byte) error {
	var done []string
	for i, p := range paths {
		if !store.IsURL(p) {
			continue
		}
		if err := store.Put(ctx, p, data[i], contentTypes[formats[i]]); err != nil {
			for _, d := range done {
				_ = store.Delete(context.WithoutCancel(ctx), d)
			}
			return err
		}
		done = append(done, p)
	}
	return nil
}

// linkPaths returns the paths the markdown report links its diagram with:
// two URLs of one bucket link by key, a URL and a local path not at all
// (ok false).
func linkPaths(img, md string) (string, string, bool) {
	iu, mu := store.IsURL(img), store.IsURL(md)
	if !iu && !mu {
		return img, md, true
	}
	if md == "" || md == "-" || !iu || !mu {
		return "", "", false
	}
	li, err1 := store.Parse(img)
	lm, err2 := store.Parse(md)
	if err1 != nil || err2 != nil || li.Scheme != lm.Scheme || li.Bucket != lm.Bucket {
		return "", "", false
	}
	return "/" + strings.TrimPrefix(li.Key, "/"), "/" + lm.Key, true
}
