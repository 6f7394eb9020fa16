package main

// The acceptance cases of testdata/golden (copied from the shared corpus,
// with expected values computed independently in 50-digit arithmetic) run
// here in-process, with the semantics of testdata/golden/check.py: exit
// status, stderr substrings, values at report paths within tolerance, absent
// fields, and byte-identical reports across --workers, input order and
// groups of cases holding the same rows.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type goldenCase struct {
	Args           []string             `json:"args"`
	Inputs         []string             `json:"inputs"`
	Stdin          string               `json:"stdin"`
	Exit           int                  `json:"exit"`
	StderrContains json.RawMessage      `json:"stderr_contains"`
	Expect         map[string]any       `json:"expect"`
	Tol            *tolerance           `json:"tol"`
	TolPaths       map[string]tolerance `json:"tol_paths"`
	Absent         []string             `json:"absent"`
	Group          string               `json:"group"`
}

type tolerance struct {
	Rel float64 `json:"rel"`
	Abs float64 `json:"abs"`
}

func (c *goldenCase) stderrWants() []string {
	if len(c.StderrContains) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(c.StderrContains, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(c.StderrContains, &many)
	return many
}

// runCase runs `evalnll eval ARGS... EXTRA... --json OUT INPUTS...` from the
// case folder and returns the exit status, stderr and report bytes.
func runCase(t *testing.T, dir string, c *goldenCase, extra []string, reverse bool) (int, string, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	inputs := append([]string(nil), c.Inputs...)
	if reverse {
		for i, j := 0, len(inputs)-1; i < j; i, j = i+1, j-1 {
			inputs[i], inputs[j] = inputs[j], inputs[i]
		}
	}
	for i, in := range inputs {
		if in != "-" {
			inputs[i] = filepath.Join(dir, in)
		}
	}
	args := append([]string{"eval"}, c.Args...)
	// Paths inside args (a --baseline file) are relative to the case.
	for i := 1; i < len(args)-1; i++ {
		if args[i] == "--baseline" {
			args[i+1] = filepath.Join(dir, args[i+1])
		}
	}
	args = append(args, extra...)
	args = append(args, "--json", out)
	args = append(args, inputs...)
	var stdin *os.File
	if c.Stdin != "" {
		f, err := os.Open(filepath.Join(dir, c.Stdin))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stdin = f
	} else {
		stdin, _ = os.Open(os.DevNull)
		defer stdin.Close()
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), stdin, &stdout, &stderr, args)
	rep, err := os.ReadFile(out)
	if err != nil {
		rep = nil
	}
	return code, stderr.String(), rep
}

func goldenDirs(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "golden", "*", "case.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	sort.Strings(dirs)
	return dirs
}

func loadCase(t *testing.T, dir string) *goldenCase {
	data, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	if c.Tol == nil {
		c.Tol = &tolerance{Rel: 1e-12, Abs: 1e-15}
	}
	return &c
}

func TestGolden(t *testing.T) {
	var mu sync.Mutex
	groups := map[string][]string{} // group -> reports without inputs
	groupCase := map[string][]string{}
	for _, dir := range goldenDirs(t) {
		name := filepath.Base(dir)
		c := loadCase(t, dir)
		t.Run(name, func(t *testing.T) {
			code, stderr, rep := runCase(t, dir, c, nil, false)
			if code != c.Exit {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.Exit, stderr)
			}
			for _, s := range c.stderrWants() {
				if !strings.Contains(strings.ToLower(stderr), strings.ToLower(s)) {
					t.Errorf("stderr %q lacks %q", stderr, s)
				}
			}
			if c.Exit == 2 {
				if rep != nil {
					t.Errorf("exit 2 wrote a report")
				}
				if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
					t.Errorf("error is not one line: %q", stderr)
				}
				return
			}
			if rep == nil {
				t.Fatal("no report written")
			}
			// .ci/run saves the reports of two builds (scalar and vector
			// kernels) and compares them byte for byte.
			if save := os.Getenv("EVALNLL_GOLDEN_SAVE"); save != "" {
				if err := os.WriteFile(filepath.Join(save, name+".json"), rep, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var doc map[string]any
			if err := json.Unmarshal(rep, &doc); err != nil {
				t.Fatalf("report is not JSON: %v", err)
			}
			if doc["schema"] != "evalnll.report/v1" {
				t.Fatalf("schema %v", doc["schema"])
			}
			paths := make([]string, 0, len(c.Expect))
			for p := range c.Expect {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, p := range paths {
				got, ok := resolvePath(doc, p)
				if !ok {
					t.Errorf("%s: missing (want %v)", p, c.Expect[p])
					continue
				}
				if why := compareValue(c.Expect[p], got, c.tolFor(p)); why != "" {
					t.Errorf("%s: got %v, want %v: %s", p, got, c.Expect[p], why)
				}
			}
			for _, p := range c.Absent {
				if _, ok := resolvePath(doc, p); ok {
					t.Errorf("%s: present, but does not apply to this kind", p)
				}
			}
			// Determinism: --workers 1, --workers 4, reversed inputs.
			ref := withoutInputs(t, rep)
			variants := []struct {
				name    string
				extra   []string
				reverse bool
			}{{"workers1", []string{"--workers", "1"}, false}, {"workers4", []string{"--workers", "4"}, false}}
			if len(c.Inputs) > 1 {
				variants = append(variants, struct {
					name    string
					extra   []string
					reverse bool
				}{"reversed", nil, true})
			}
			for _, v := range variants {
				code2, stderr2, rep2 := runCase(t, dir, c, v.extra, v.reverse)
				if code2 != c.Exit || rep2 == nil {
					t.Errorf("%s: exit %d (%s)", v.name, code2, stderr2)
					continue
				}
				if got := withoutInputs(t, rep2); got != ref {
					t.Errorf("%s: report differs from the default run", v.name)
				}
			}
			if c.Group != "" {
				// Without --id the bootstrap keys rows by position: the
				// same rows in other files may draw other replicates.
				gref := ref
				if !slices.Contains(c.Args, "--id") {
					gref = withoutBootstrap(t, rep)
				}
				mu.Lock()
				groups[c.Group] = append(groups[c.Group], gref)
				groupCase[c.Group] = append(groupCase[c.Group], name)
				mu.Unlock()
			}
		})
	}
	for g, reps := range groups {
		for i := 1; i < len(reps); i++ {
			if reps[i] != reps[0] {
				t.Errorf("group %s: %s and %s hold the same rows but their reports differ", g, groupCase[g][0], groupCase[g][i])
			}
		}
	}
}

func (c *goldenCase) tolFor(path string) tolerance {
	if t, ok := c.TolPaths[path]; ok {
		return t
	}
	segs := splitPath(path)
	if t, ok := c.TolPaths["*."+segs[len(segs)-1]]; ok {
		return t
	}
	return *c.Tol
}

// withoutInputs re-encodes the report with "inputs" removed, so reports
// that differ only in input file names compare equal.
func withoutInputs(t *testing.T, rep []byte) string {
	return without(t, rep, "inputs")
}

// withoutBootstrap is withoutInputs, less the bootstrap section too.
func withoutBootstrap(t *testing.T, rep []byte) string {
	return without(t, rep, "inputs", "bootstrap")
}

func without(t *testing.T, rep []byte, fields ...string) string {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(rep, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		delete(doc, f)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.Write(doc[k])
	}
	return b.String()
}

func splitPath(p string) []string {
	var segs []string
	depth, cur := 0, ""
	for _, ch := range p {
		switch {
		case ch == '[':
			depth++
		case ch == ']':
			depth--
		}
		if ch == '.' && depth == 0 {
			segs = append(segs, cur)
			cur = ""
			continue
		}
		cur += string(ch)
	}
	return append(segs, cur)
}

func resolvePath(doc any, path string) (any, bool) {
	obj := doc
	segs := splitPath(path)
	for i, seg := range segs {
		wantSum := false
		if i == len(segs)-1 && strings.HasSuffix(seg, "#sum") {
			seg = strings.TrimSuffix(seg, "#sum")
			wantSum = true
		}
		if j := strings.IndexByte(seg, '['); j >= 0 && strings.HasSuffix(seg, "]") {
			name, sel := seg[:j], seg[j+1:len(seg)-1]
			if name != "" {
				m, ok := obj.(map[string]any)
				if !ok {
					return nil, false
				}
				if obj, ok = m[name]; !ok {
					return nil, false
				}
			}
			list, ok := obj.([]any)
			if !ok {
				return nil, false
			}
			want := map[string]string{}
			for _, kv := range strings.Split(sel, ",") {
				k, v, _ := strings.Cut(kv, "=")
				want[k] = v
			}
			var hit any
			for _, el := range list {
				m, _ := el.(map[string]any)
				by, _ := m["by"].(map[string]any)
				if len(by) != len(want) {
					continue
				}
				match := true
				for k, v := range want {
					bv, ok := by[k]
					if !ok || pyStr(bv) != v {
						match = false
					}
				}
				if match {
					hit = el
					break
				}
			}
			if hit == nil {
				return nil, false
			}
			obj = hit
		} else if list, ok := obj.([]any); ok {
			k, err := strconv.Atoi(seg)
			if err != nil || k < 0 || k >= len(list) {
				return nil, false
			}
			obj = list[k]
		} else if m, ok := obj.(map[string]any); ok {
			if obj, ok = m[seg]; !ok {
				return nil, false
			}
		} else {
			return nil, false
		}
		if wantSum {
			m, ok := obj.(map[string]any)
			if !ok {
				return nil, false
			}
			s := 0.0
			for _, v := range m {
				f, ok := v.(float64)
				if !ok {
					return nil, false
				}
				s += f
			}
			obj = s
		}
	}
	return obj, true
}

func pyStr(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return "None"
	}
	return fmt.Sprint(v)
}

// compareValue mirrors check.py: JSON numbers that were integers in the
// case must match exactly, floats within tolerance.
func compareValue(want, got any, tol tolerance) string {
	switch w := want.(type) {
	case bool, string, nil:
		if got != want {
			return "mismatch"
		}
		return ""
	case float64:
		g, ok := got.(float64)
		if !ok {
			return "not a number"
		}
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return "not finite"
		}
		if w == math.Trunc(w) && g == w {
			return ""
		}
		diff := math.Abs(g - w)
		lim := math.Max(tol.Abs, tol.Rel*math.Abs(w))
		if diff <= lim {
			return ""
		}
		return fmt.Sprintf("off by %.3g (allowed %.3g)", diff, lim)
	}
	return "unknown expected type"
}
