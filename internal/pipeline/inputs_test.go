package pipeline

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.parquet", "a.arrow", "sub/c.ipc", "sub/d.feather", "sub/e.arrows", "notes.txt", ".hidden/x.parquet", "sub/.y.parquet", "F.PARQUET"} {
		touch(t, filepath.Join(dir, p))
	}
	j := func(ps ...string) []string {
		for i, p := range ps {
			if p != "-" {
				ps[i] = filepath.Join(dir, p)
			}
		}
		return ps
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"directory walk, sorted, hidden skipped", []string{dir}, j("F.PARQUET", "a.arrow", "b.parquet", "sub/c.ipc", "sub/d.feather", "sub/e.arrows")},
		{"glob", []string{filepath.Join(dir, "*.parquet")}, j("b.parquet")},
		{"duplicates read once", []string{filepath.Join(dir, "b.parquet"), dir + "/./b.parquet"}, j("b.parquet")},
		{"stdin first", []string{filepath.Join(dir, "b.parquet"), "-"}, j("-", "b.parquet")},
		{"a named file of any extension", []string{filepath.Join(dir, "notes.txt")}, j("notes.txt")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Expand(c.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
		})
	}
	for _, bad := range [][]string{{filepath.Join(dir, "missing.parquet")}, {filepath.Join(dir, "*.nothing")}} {
		if _, err := Expand(bad); err == nil {
			t.Errorf("Expand(%v) succeeded", bad)
		}
	}
	// A hidden folder named on the command line is walked.
	if got, err := Expand([]string{filepath.Join(dir, ".hidden")}); err != nil || len(got) != 1 {
		t.Errorf("named hidden folder: %v %v", got, err)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := Expand([]string{empty}); err == nil {
		t.Error("an empty directory should be an error")
	}
}

// TestExpandSameFileOnce: one file named twice — relative and absolute,
// through "..", by a symlink in a walked directory, by a hard link — is
// listed once, under its first name in sorted order, whatever the order of
// the arguments.
func TestExpandSameFileOnce(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "data", "a.parquet")
	touch(t, a)
	touch(t, filepath.Join(dir, "data", "b.parquet"))
	if err := os.Symlink(a, filepath.Join(dir, "data", "z-link.parquet")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, filepath.Join(dir, "hard.parquet")); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	args := []string{"a.parquet", a, "../data/a.parquet", ".", filepath.Join(dir, "hard.parquet")}
	want := []string{"../data/a.parquet", "b.parquet"} // "." sorts before "/"
	for _, order := range [][]string{args, {args[4], args[3], args[2], args[1], args[0]}} {
		got, err := Expand(order)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Expand(%q) = %q, want %q", order, got, want)
		}
	}
}

// TestExpandKeys: a file's key is its path relative to the input it was
// found under, whatever the working directory, the spelling of the
// argument or the order of the arguments.
func TestExpandKeys(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"runs/a/p.parquet", "runs/b/p.parquet", "runs/q.parquet", "other/p.parquet"} {
		touch(t, filepath.Join(dir, p))
	}
	keys := func(args ...string) map[string]string {
		t.Helper()
		paths, ks, err := ExpandKeys(args)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, p := range paths {
			r, _ := filepath.Rel(dir, p)
			if p == "-" {
				r = p
			}
			m[filepath.ToSlash(r)] = ks[i]
		}
		return m
	}
	j := func(p string) string { return filepath.Join(dir, p) }
	cases := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{"directory", keys(j("runs")), map[string]string{"runs/a/p.parquet": "a/p.parquet", "runs/b/p.parquet": "b/p.parquet", "runs/q.parquet": "q.parquet"}},
		{"directory spelled otherwise", keys(j("runs") + "/./"), map[string]string{"runs/a/p.parquet": "a/p.parquet", "runs/b/p.parquet": "b/p.parquet", "runs/q.parquet": "q.parquet"}},
		{"named files: base names", keys(j("runs/a/p.parquet"), j("other/p.parquet")), map[string]string{"runs/a/p.parquet": "p.parquet", "other/p.parquet": "p.parquet"}},
		{"glob of folders", keys(j("runs/*/p.parquet")), map[string]string{"runs/a/p.parquet": "a/p.parquet", "runs/b/p.parquet": "b/p.parquet"}},
		{"glob matching a folder, walked", keys(j("run?")), map[string]string{"runs/a/p.parquet": "runs/a/p.parquet", "runs/b/p.parquet": "runs/b/p.parquet", "runs/q.parquet": "runs/q.parquet"}},
		{"named twice: the longer key, any order", keys(j("runs/a/p.parquet"), j("runs")), map[string]string{"runs/a/p.parquet": "a/p.parquet", "runs/b/p.parquet": "b/p.parquet", "runs/q.parquet": "q.parquet"}},
		{"named twice, reversed", keys(j("runs"), j("runs/a/p.parquet")), map[string]string{"runs/a/p.parquet": "a/p.parquet", "runs/b/p.parquet": "b/p.parquet", "runs/q.parquet": "q.parquet"}},
		{"stdin", keys("-", j("runs/q.parquet")), map[string]string{"-": "-", "runs/q.parquet": "q.parquet"}},
	}
	for _, c := range cases {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// Relative arguments from another working directory give the same keys.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(filepath.Join(dir, "runs")); err != nil {
		t.Fatal(err)
	}
	_, ks, err := ExpandKeys([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a/p.parquet", "b/p.parquet", "q.parquet"}; !reflect.DeepEqual(ks, want) {
		t.Errorf("from inside the folder: %v, want %v", ks, want)
	}
}
