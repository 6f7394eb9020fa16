package evalcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/outset"
	"github.com/evalnll/evalnll/report"
	"github.com/evalnll/evalnll/store"
)

// IO is where a command writes its outputs.
type IO struct {
	Ctx            context.Context
	Stdout, Stderr io.Writer
	// Commit writes a set of outputs all or nothing; nil stages the set,
	// then commits it under Ctx.
	Commit func(*outset.Set) error
	// CheckOutputs, if set, refuses outputs before anything is read (the
	// command's check that none is an input).
	CheckOutputs func([]Output) error
}

func (w *IO) commit(set *outset.Set) error {
	if w.Commit != nil {
		return w.Commit(set)
	}
	if err := w.Ctx.Err(); err != nil {
		set.Abort()
		return err
	}
	if err := set.Stage(); err != nil {
		return err
	}
	return set.Commit(w.Ctx)
}

// Output is a report to write: its path (or URL, or - for standard
// output), its format (json, md, svg, png) and the flag that named it.
type Output struct{ Path, Format, Flag string }

// Outputs are the reports the flags name, in the order eval writes them.
func (f *Flags) Outputs() ([]Output, error) {
	var outs []Output
	if f.JSONOut != "" {
		outs = append(outs, Output{f.JSONOut, "json", "--json"})
	}
	if f.MDOut != "" {
		outs = append(outs, Output{f.MDOut, "md", "--md"})
	}
	if f.SVGOut != "" {
		outs = append(outs, Output{f.SVGOut, "svg", "--svg"})
	}
	if f.PNGOut != "" {
		outs = append(outs, Output{f.PNGOut, "png", "--png"})
	}
	for _, o := range f.Outs {
		ext := filepath.Ext(o)
		if store.IsURL(o) {
			ext = path.Ext(urlKey(o))
		}
		switch strings.ToLower(ext) {
		case ".json":
			outs = append(outs, Output{o, "json", "-o"})
		case ".md", ".markdown":
			outs = append(outs, Output{o, "md", "-o"})
		case ".svg":
			outs = append(outs, Output{o, "svg", "-o"})
		case ".png":
			outs = append(outs, Output{o, "png", "-o"})
		default:
			return nil, usagef("-o %s: unknown extension (want .json, .md, .svg or .png)", o)
		}
	}
	if f.MinSliceSize < 0 {
		return nil, usagef("--min-slice-size: %d is negative", f.MinSliceSize)
	}
	return outs, nil
}

// WriteOutputs renders m in every output (the text summary on standard
// output when there is none), adds what the profiles add, and writes them
// all or none.
func (w *IO) WriteOutputs(m *report.Model, outs []Output, profiles []func(*outset.Set)) error {
	if len(outs) == 0 && len(profiles) == 0 {
		return m.Text(w.Stdout)
	}
	// The markdown links the diagram when one is written beside it.
	img := ""
	for _, o := range outs {
		if (o.Format == "svg" || o.Format == "png" && img == "") && m.Kind.HasCalibration() {
			img = o.Path
		}
	}
	// Render every output, then write them all or none.
	var set outset.Set
	for _, o := range outs {
		p := o.Path
		m.ImageLink = ""
		if img != "" && o.Format == "md" {
			if li, lm, ok := linkPaths(img, o.Path); ok {
				m.ImageLink, p = li, lm
			}
		}
		data, err := m.Render(o.Format, p)
		if err != nil {
			return err
		}
		w.AddOutput(&set, o.Path, data)
	}
	if len(outs) == 0 {
		var b bytes.Buffer
		if err := m.Text(&b); err != nil {
			return err
		}
		set.AddLast(outset.WriterSink("-", w.Stdout), b.Bytes())
	}
	for _, p := range profiles {
		p(&set)
	}
	return w.commit(&set)
}

// sinkFor is the sink of an output path: standard output for "-", else a
// file written through a temporary file.
func (w *IO) sinkFor(path string) outset.Sink {
	if path == "-" {
		return outset.WriterSink("-", w.Stdout)
	}
	if store.IsURL(path) {
		return &urlSink{ctx: w.Ctx, url: path}
	}
	return outset.FileSink(filepath.Clean(path))
}

// AddOutput adds data for path to set, standard output last.
func (w *IO) AddOutput(set *outset.Set, path string, data []byte) {
	if path == "-" {
		set.AddLast(w.sinkFor(path), data)
		return
	}
	set.Add(w.sinkFor(path), data)
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

// DropDiagrams leaves out the reliability diagrams (--svg, --png, -o
// .svg/.png) of a run of a kind without calibration, known before any row
// is read, with a warning for each; naming only diagrams is an error.
func DropDiagrams(outs []Output, kind metrics.Kind) ([]Output, []string, error) {
	if kind.HasCalibration() {
		return outs, nil, nil
	}
	var keep []Output
	var warnings []string
	for _, o := range outs {
		if o.Format == "svg" || o.Format == "png" {
			warnings = append(warnings, fmt.Sprintf("%s not written: a %s run has no calibration, so no reliability diagram", o.Path, kind))
			continue
		}
		keep = append(keep, o)
	}
	if len(keep) == 0 && len(outs) > 0 {
		return nil, nil, usagef("--svg/--png: a %s run has no calibration, so no reliability diagram; give --json or --md, or no output flag for a summary", kind)
	}
	return keep, warnings, nil
}
