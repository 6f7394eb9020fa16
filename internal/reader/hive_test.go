package reader

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

func TestHivePairs(t *testing.T) {
	got := hivePairs(filepath.FromSlash("root/a=1/b=x%2Fy/.hidden=3/a=2/f.parquet"))
	want := [][2]string{{"b", "x/y"}, {"a", "2"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("%v, want %v", got, want)
	}
}

// TestHivePartitions: keys typed int64 when every value is an integer,
// else string; null for an empty value, __HIVE_DEFAULT_PARTITION__ and a
// path without the key; a file's own column wins; the Splitter is kept.
func TestHivePartitions(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, sub := range []string{"year=2024/country=BR", "year=2023/country=__HIVE_DEFAULT_PARTITION__", "year=x/country="} {
		d := filepath.Join(dir, filepath.FromSlash(sub))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, "part.csv")
		if err := os.WriteFile(p, []byte("y,country\n1,own\n0,own\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	nested := filepath.Join(dir, "part=7", "x.csv")
	os.MkdirAll(filepath.Dir(nested), 0o755)
	os.WriteFile(nested, []byte("y\n1\n"), 0o644)
	paths = append(paths, nested)
	var files []File
	for _, p := range paths {
		f, err := Open(p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	files = HivePartitions(files, paths)
	fields := map[string]Field{}
	for _, fl := range files[0].Fields() {
		fields[fl.Name] = fl
	}
	if fields["year"].Type != column.String || fields["part"].Type != column.Int || fields["country"].Desc != "string" {
		t.Fatalf("fields %+v", files[0].Fields())
	}
	type want struct {
		year    string
		part    int64
		partNil bool
		country string
	}
	for i, w := range []want{{"2024", 0, true, "own"}, {"2023", 0, true, "own"}, {"x", 0, true, "own"}, {"", 7, false, ""}} {
		cols := []string{"year", "y", "part"}
		if i < 3 {
			cols = append(cols, "country")
		}
		got, _, err := scanAll(t, files[i], -1, cols, 1)
		if err != nil {
			t.Fatal(err)
		}
		yr, part := got[0], got[2]
		if w.year == "" {
			if yr.valid[0] {
				t.Errorf("file %d: year %q, want null", i, yr.strs[0])
			}
		} else if !yr.valid[0] || yr.strs[0] != w.year || yr.strs[1] != w.year {
			t.Errorf("file %d: year %v %q", i, yr.valid, yr.strs)
		}
		if part.valid[0] == w.partNil || (!w.partNil && part.ints[0] != w.part) {
			t.Errorf("file %d: part %v %v", i, part.valid, part.ints)
		}
		if i < 3 && got[3].strs[0] != "own" {
			t.Errorf("file %d: the file's own column lost: %q", i, got[3].strs)
		}
	}
}
