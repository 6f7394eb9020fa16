package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// tableExts are the extensions a directory walk picks up.
var tableExts = map[string]bool{".parquet": true, ".arrow": true, ".arrows": true, ".ipc": true, ".feather": true}

// ErrNoInputs is wrapped when the arguments name no input file.
var ErrNoInputs = errors.New("no input files")

// Expand turns INPUT arguments (files, directories walked recursively for
// table extensions, globs, "-") into a sorted, de-duplicated list of paths.
// "-" stays "-" and sorts first.
func Expand(args []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	stdin := false
	for _, a := range args {
		if a == "-" {
			stdin = true
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) || !hasMeta(a) {
				return nil, fmt.Errorf("%s: %w", a, unwrapPathErr(err))
			}
			matches, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, fmt.Errorf("%s: bad glob pattern: %v", a, gerr)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no file matches the pattern", a)
			}
			for _, m := range matches {
				if err := addPath(m, add); err != nil {
					return nil, err
				}
			}
			continue
		}
		if st.IsDir() {
			n := len(out)
			if err := walk(a, add); err != nil {
				return nil, err
			}
			if len(out) == n {
				return nil, fmt.Errorf("%s: directory holds no .parquet, .arrow, .arrows, .ipc or .feather file", a)
			}
			continue
		}
		add(a)
	}
	sort.Strings(out)
	if stdin {
		out = append([]string{"-"}, out...)
	}
	if len(out) == 0 {
		return nil, ErrNoInputs
	}
	return out, nil
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

// SpoolStdin copies standard input into a temporary file, so that it can be
// read more than once like any other input. The caller removes the file.
func SpoolStdin(r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "evalnll-stdin-*.arrows")
	if err != nil {
		return "", fmt.Errorf("-: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("-: reading standard input: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("-: %w", err)
	}
	return f.Name(), nil
}
