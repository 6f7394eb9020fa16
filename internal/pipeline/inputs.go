package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evalnll/evalnll/store"
)

// tableExts are the extensions a directory walk picks up.
var tableExts = map[string]bool{".parquet": true, ".arrow": true, ".arrows": true, ".ipc": true, ".feather": true,
	".csv": true, ".tsv": true, ".jsonl": true, ".ndjson": true}

// ErrNoInputs is wrapped when the arguments name no input file.
var ErrNoInputs = errors.New("no input files")

// Expand turns INPUT arguments (files, directories walked recursively for
// table extensions, globs, "-") into a sorted, de-duplicated list of paths.
// "-" stays "-" and sorts first. One file named twice (relative and
// absolute paths, "..", a symlink or a hard link) is listed once, under
// the first of its names in sorted order: files are compared by device
// and inode. Object store URLs (s3://, gs://, azblob://, file://) are
// listed with store.Expand: an object, a prefix (with the directory walk's
// rules) or a glob in the key.
func Expand(args []string) ([]string, error) {
	paths, _, err := ExpandKeys(args)
	return paths, err
}

// ExpandContext is Expand, listing object stores under ctx.
func ExpandContext(ctx context.Context, args []string) ([]string, error) {
	paths, _, err := ExpandKeysContext(ctx, args)
	return paths, err
}

// ExpandKeys is Expand, and for each path its key: the path relative to the
// input it was found under, with forward slashes. A file named as an
// argument is keyed by its base name, a file found in a directory argument
// by its path below that directory, a file matched by a glob by its path
// below the glob's fixed leading directories ("runs/*/p.parquet" keys
// runs/a/p.parquet as "a/p.parquet"), and "-" as "-". So the keys do not
// depend on the working directory nor on where the inputs were copied. A
// file that several arguments name gets the longest of its keys (then the
// least bytewise), whatever the order of the arguments. Object store URLs
// are keyed alike, by their keys below the prefix or the glob's fixed
// leading elements.
func ExpandKeys(args []string) (paths, keys []string, err error) {
	return ExpandKeysContext(context.Background(), args)
}

// ExpandKeysContext is ExpandKeys, listing object stores under ctx.
func ExpandKeysContext(ctx context.Context, args []string) (paths, keys []string, err error) {
	key := map[string]string{}
	var out []string
	add := func(root string) func(string) {
		return func(p string) {
			var k string
			if store.IsURL(p) {
				k = urlKey(root, p)
			} else {
				p = filepath.Clean(p)
				k = relKey(root, p)
			}
			old, seen := key[p]
			if !seen {
				out = append(out, p)
			}
			if !seen || len(k) > len(old) || len(k) == len(old) && k < old {
				key[p] = k
			}
		}
	}
	stdin := false
	for _, a := range args {
		if a == "-" {
			stdin = true
			continue
		}
		if store.IsURL(a) {
			urls, err := store.Expand(ctx, a, tableExts)
			if err != nil {
				return nil, nil, err
			}
			root := ""
			if l, err := store.Parse(a); err == nil {
				root = l.Key
				if hasMeta(root) {
					root = root[:strings.LastIndex(root[:strings.IndexAny(root, "*?[")], "/")+1]
				} else if len(urls) == 1 && urls[0] == a {
					root = path.Dir(root) // an object named: its base name
				}
			}
			for _, u := range urls {
				add(root)(u)
			}
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) || !hasMeta(a) {
				return nil, nil, fmt.Errorf("%s: %w", a, unwrapPathErr(err))
			}
			matches, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, nil, fmt.Errorf("%s: bad glob pattern: %v", a, gerr)
			}
			if len(matches) == 0 {
				return nil, nil, fmt.Errorf("%s: no file matches the pattern", a)
			}
			root := globRoot(a)
			for _, m := range matches {
				if err := addPath(m, add(root)); err != nil {
					return nil, nil, err
				}
			}
			continue
		}
		if st.IsDir() {
			n := len(out)
			if err := walk(a, add(a)); err != nil {
				return nil, nil, err
			}
			if len(out) == n {
				return nil, nil, fmt.Errorf("%s: directory holds no .parquet, .arrow, .arrows, .ipc, .feather, .csv, .tsv, .jsonl or .ndjson file", a)
			}
			continue
		}
		add(filepath.Dir(a))(a)
	}
	sort.Strings(out)
	out = dedupeByID(out, key)
	if stdin {
		out = append([]string{"-"}, out...)
		key["-"] = "-"
	}
	if len(out) == 0 {
		return nil, nil, ErrNoInputs
	}
	keys = make([]string, len(out))
	for i, p := range out {
		keys[i] = key[p]
	}
	return out, keys, nil
}

// relKey is p relative to root, with forward slashes (p's base name when
// it is not below root).
func relKey(root, p string) string {
	r, err := filepath.Rel(filepath.Clean(root), p)
	if err != nil || r == "." || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		r = filepath.Base(p)
	}
	return filepath.ToSlash(r)
}

// urlKey is the key of object URL u relative to the key prefix root.
func urlKey(root, u string) string {
	l, err := store.Parse(u)
	if err != nil {
		return u
	}
	root = strings.TrimSuffix(root, "/")
	if root == "." || root == "" {
		return l.Key
	}
	if k, ok := strings.CutPrefix(l.Key, root+"/"); ok && k != "" {
		return k
	}
	return path.Base(l.Key)
}

// globRoot is the directory of a glob pattern's leading elements that hold
// no pattern characters: "runs/*/p.parquet" and "runs/*.arrow" give "runs".
func globRoot(pattern string) string {
	dir := pattern
	for hasMeta(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// dedupeByID drops the paths that name a file listed before them; the
// kept path takes the longest (then least) key of all its names.
func dedupeByID(paths []string, key map[string]string) []string {
	first := make(map[FileID]string, len(paths))
	out := paths[:0]
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			if id, ok := IDOf(st); ok {
				if q, dup := first[id]; dup {
					if k, old := key[p], key[q]; len(k) > len(old) || len(k) == len(old) && k < old {
						key[q] = k
					}
					continue
				}
				first[id] = p
			}
		}
		out = append(out, p)
	}
	return out
}

func addPath(p string, add func(string)) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, unwrapPathErr(err))
	}
	if st.IsDir() {
		return walk(p, add)
	}
	add(p)
	return nil
}

func walk(root string, add func(string)) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, unwrapPathErr(err))
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if tableExts[strings.ToLower(filepath.Ext(p))] && !strings.HasPrefix(d.Name(), ".") {
			add(p)
		}
		return nil
	})
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// unwrapPathErr drops the path from an *fs.PathError: callers name the path
// themselves, once.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
