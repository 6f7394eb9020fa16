package main

// Inputs and outputs in object storage (package store): s3://, gs://,
// azblob:// and file:// URLs.

import (
	"context"
	"path"
	"strings"
	"sync"

	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/store"
)

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

// urlSink is an output to object storage: staged in memory, committed
// with one PUT, rolled back by deleting the object (best effort: an object
// it replaced is gone).
type urlSink struct {
	ctx  context.Context
	url  string
	data []byte
	put  bool
}

func (s *urlSink) Name() string { return store.Redact(s.url) }

func (s *urlSink) Stage(data []byte) error {
	s.data = data
	return nil
}

func (s *urlSink) Commit() error {
	if err := store.Put(s.ctx, s.url, s.data, contentTypes[strings.TrimPrefix(path.Ext(urlKey(s.url)), ".")]); err != nil {
		return err
	}
	s.put = true
	return nil
}

func (s *urlSink) Rollback() bool {
	if !s.put {
		return true
	}
	return store.Delete(context.WithoutCancel(s.ctx), s.url) == nil
}

func (s *urlSink) Abort() {}

// urlKey is the key of an object URL ("" when it does not parse).
func urlKey(u string) string {
	l, err := store.Parse(u)
	if err != nil {
		return ""
	}
	return l.Key
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

// contentTypes of outputs, by extension.
var contentTypes = map[string]string{
	"json": "application/json", "md": "text/markdown; charset=utf-8", "markdown": "text/markdown; charset=utf-8",
	"svg": "image/svg+xml", "png": "image/png",
}
