package main

import (
	"os"
	"path"
	"strings"

	"github.com/evalnll/evalnll/internal/evalcmd"
	"github.com/evalnll/evalnll/internal/outset"
	"github.com/evalnll/evalnll/internal/pipeline"
	"github.com/evalnll/evalnll/store"
)

// namedPath is a path given on the command line, with what gave it ("--json",
// "--baseline", "input") for messages.
type namedPath struct{ what, path string }

// checkOutputs refuses, before anything is read or written, an output that
// is an input, the baseline, or another output: the same file by device
// and inode, whatever the spelling (a symlink, "..", a hard link), or for a
// file not yet created the same name in the same directory. It also
// refuses two outputs on standard output, and standard output redirected
// to an input when something is to be written there. toStdout says whether
// the command writes to standard output without a "-" output (the summary).
func checkOutputs(e *env, outs, ins []namedPath, toStdout bool) error {
	type seen struct {
		np     namedPath
		key    pipeline.PathKey
		exists bool
	}
	var inputs []seen
	for _, in := range ins {
		if in.path == "-" {
			if f, ok := e.stdin.(*os.File); ok {
				if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
					if id, ok := pipeline.IDOf(st); ok {
						inputs = append(inputs, seen{np: in, key: pipeline.PathKey{ID: id}, exists: true})
					}
				}
			}
			continue
		}
		k, exists := keyOf(in.path)
		inputs = append(inputs, seen{np: in, key: k, exists: exists})
	}
	var outputs []seen
	stdouts := 0
	for _, o := range outs {
		if o.path == "-" {
			stdouts++
			if stdouts > 1 {
				var first string
				for _, p := range outs {
					if p.path == "-" {
						first = p.what
						break
					}
				}
				return usagef("%s - and %s -: only one output can go to standard output", first, o.what)
			}
			continue
		}
		k, exists := keyOf(o.path)
		for _, in := range inputs {
			if in.key == k {
				return usagef("%s %s: is %s %s; an output never replaces what is read", o.what, store.Redact(o.path), article(in.np.what), store.Redact(in.np.path))
			}
		}
		// Two outputs may share a device or a FIFO (/dev/null), not a file.
		regular := !exists || store.IsURL(o.path)
		if st, err := os.Stat(localPath(o.path)); err == nil {
			regular = st.Mode().IsRegular()
			if st.IsDir() {
				return usagef("%s %s: is a directory", o.what, store.Redact(o.path))
			}
		}
		if regular {
			for _, p := range outputs {
				if p.key == k {
					return usagef("%s %s and %s %s: two outputs name the same file", p.np.what, store.Redact(p.np.path), o.what, store.Redact(o.path))
				}
			}
		}
		outputs = append(outputs, seen{np: o, key: k, exists: exists})
	}
	if stdouts > 0 || toStdout {
		if f, ok := e.stdout.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				if id, ok := pipeline.IDOf(st); ok {
					for _, in := range inputs {
						if in.key == (pipeline.PathKey{ID: id}) {
							return usagef("standard output is %s %s; an output never replaces what is read", article(in.np.what), in.np.path)
						}
					}
				}
			}
		}
	}
	return nil
}

// keyOf identifies what path names, for checkOutputs: a local file by
// device and inode (pipeline.KeyOf), a file:// URL as the local file it
// names, and another URL by scheme, bucket and cleaned key, whatever its
// query parameters (an endpoint spelt two ways is still refused: a false
// refusal costs a retyped flag, a false pass an overwritten input).
func keyOf(p string) (pipeline.PathKey, bool) {
	if !store.IsURL(p) {
		return pipeline.KeyOf(p)
	}
	l, err := store.Parse(p)
	if err != nil {
		return pipeline.PathKey{Name: p}, false
	}
	if l.Scheme == "file" {
		return pipeline.KeyOf("/" + l.Key)
	}
	key := path.Clean("/" + l.Key)
	if strings.HasSuffix(l.Key, "/") {
		key += "/"
	}
	return pipeline.PathKey{Name: l.Scheme + "://" + strings.ToLower(l.Bucket) + key}, false
}

// localPath is the local path a file:// URL names, or p itself.
func localPath(p string) string {
	if !store.IsURL(p) {
		return p
	}
	if l, err := store.Parse(p); err == nil && l.Scheme == "file" {
		return "/" + l.Key
	}
	return p
}

func article(what string) string {
	if what == "input" {
		return "the input"
	}
	return "the " + what
}

// commitOutputs writes a set of outputs all or nothing (see
// outset.Set): staged first, each file to a temporary file beside
// it, and committed only when every one was staged and the command was
// not interrupted. An interrupt during staging removes what was staged.
func commitOutputs(e *env, set *outset.Set) error {
	if !e.atInterrupt(set.Abort) {
		return e.ctx.Err()
	}
	if err := set.Stage(); err != nil {
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
		return err
	}
	if !e.beginCommit() {
		set.Abort()
		return e.ctx.Err()
	}
	return set.Commit(e.ctx)
}

// io is where the command writes its outputs, committed by commitOutputs.
func (e *env) io() *evalcmd.IO {
	return &evalcmd.IO{Ctx: e.ctx, Stdout: e.stdout, Stderr: e.stderr,
		Commit: func(set *outset.Set) error { return commitOutputs(e, set) }}
}

// addOutput adds data for path to set, standard output last.
func addOutput(e *env, set *outset.Set, path string, data []byte) {
	e.io().AddOutput(set, path, data)
}
