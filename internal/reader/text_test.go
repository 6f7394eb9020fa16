package reader

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

func writeText(t *testing.T, name, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTextFormats reads CSV, TSV and JSON Lines whatever their names:
// types from the first rows, nulls, lists with null elements, a BOM, blank
// lines, batches smaller than the file.
func TestTextFormats(t *testing.T) {
	cases := []struct {
		name, body string
		format     Format
	}{
		{"a.data", "\ufeffy,p,tag,probs\n1,0.5,x,\"[0.25, 0.75]\"\n0,,NA,\"[1, null]\"\n1,1e-3,z,\n", FormatCSV},
		{"b.parquet", "y\tp\ttag\tprobs\n1\t0.5\tx\t[0.25,0.75]\n0\tnull\tNA\t[1,null]\n1\t0.001\tz\t\n", FormatCSV},
		{"c.csv", "{\"y\":1,\"p\":0.5,\"tag\":\"x\",\"probs\":[0.25,0.75]}\n\n{\"y\":0,\"p\":null,\"tag\":null,\"probs\":[1,null],\"extra\":{\"a\":1}}\n{\"y\":1,\"p\":0.001,\"tag\":\"z\"}\n", FormatJSONL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Open(writeText(t, c.name, c.body), DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Format() != c.format {
				t.Fatalf("format %v", f.Format())
			}
			got, batches, err := scanAll(t, f, -1, []string{"y", "p", "tag", "probs"}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if batches != 2 || got[0].rows != 3 {
				t.Fatalf("%d rows in %d batches", got[0].rows, batches)
			}
			y, p, tag, probs := got[0], got[1], got[2], got[3]
			if y.ints[0] != 1 || y.ints[1] != 0 || y.ints[2] != 1 {
				t.Errorf("y %v", y.ints)
			}
			if !p.valid[0] || p.valid[1] || p.f[0] != 0.5 || p.f[2] != 0.001 {
				t.Errorf("p %v %v", p.valid, p.f)
			}
			if tag.strs[0] != "x" || tag.valid[1] || tag.strs[2] != "z" {
				t.Errorf("tag %q %v", tag.strs, tag.valid)
			}
			if !probs.list || probs.valid[2] || probs.offs[1] != 2 || probs.offs[2] != 4 || probs.f[1] != 0.75 || probs.elemValid[3] || math.IsNaN(probs.f[2]) {
				t.Errorf("probs %v %v %v %v", probs.valid, probs.offs, probs.f, probs.elemValid)
			}
		})
	}
}

// TestTextErrors: values that do not fit the type of the first rows, and
// broken lines, are errors that name the line (and the column).
func TestTextErrors(t *testing.T) {
	old := inferRows
	inferRows = 2
	defer func() { inferRows = old }()
	for _, c := range []struct{ name, body, want string }{
		{"a.csv", "y,p\n1,0.5\n0,0.25\n1,0.5\n1,high\n", `line 5: column "p": "high" is not double`},
		{"b.csv", "y,p\n1,0.5\n0,0.25\n1.5,0.5\n", `line 4: column "y": "1.5" is not int64`},
		{"c.csv", "y,p\n1,0.5\n0,0.25,9\n", `line 3`},
		{"d.csv", "y,probs\n1,\"[0.5,0.5]\"\n0,\"[0.5,0.5]\"\n0,\"[0.5,x]\"\n", `line 4: column "probs": "[0.5,x]" is not a JSON array of numbers`},
		{"e.jsonl", "{\"y\":1}\n{\"y\":0}\n\n{\"y\":\"one\"}\n", `line 4: column "y": "one" is not int64`},
		{"f.jsonl", "{\"y\":1}\n{\"y\":0}\n[1]\n", `line 3: not a JSON object`},
		{"g.jsonl", "{\"y\":1}\n{\"y\":0}\n{\"y\":\n", `line 3`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeText(t, c.name, c.body)
			f, err := Open(path, DefaultOptions())
			if err == nil {
				_, _, err = scanAll(t, f, -1, []string{f.Fields()[0].Name, f.Fields()[len(f.Fields())-1].Name}, 1)
				f.Close()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	// Binary content is not text.
	if _, err := Open(writeText(t, "x.csv", "y,p\n\x00\x01"), DefaultOptions()); err == nil || !isFormat(err) {
		t.Fatalf("binary file: %v", err)
	}
}

// TestTextGivenTypes: Options.TextTypes replaces the inferred types.
func TestTextGivenTypes(t *testing.T) {
	old := inferRows
	inferRows = 2
	defer func() { inferRows = old }()
	for _, name := range []string{"a.csv", "a.jsonl"} {
		body := "y,p\n1,0.5\n0,0.25\n1.5,0.5\n"
		if name == "a.jsonl" {
			body = "{\"y\":1,\"p\":0.5}\n{\"y\":0,\"p\":0.25}\n{\"y\":1.5,\"p\":0.5}\n"
		}
		opt := DefaultOptions()
		opt.TextTypes = map[string]string{"y": "double", "p": "string"}
		if name == "a.jsonl" {
			opt.TextTypes["p"] = "double" // a JSON number is not a string
		}
		f, err := Open(writeText(t, name, body), opt)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := scanAll(t, f, -1, []string{"y", "p"}, 0)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got[0].typ != column.Float64 || got[0].f[2] != 1.5 || (name == "a.csv" && (got[1].typ != column.String || got[1].strs[1] != "0.25")) {
			t.Errorf("%s: %+v %+v", name, got[0], got[1])
		}
		opt.TextTypes = map[string]string{"nope": "double"}
		if _, err := Open(writeText(t, name, body), opt); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
