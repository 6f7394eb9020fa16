package reader

import (
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

const goldenDir = "../../testdata/golden"

type goldenCase struct {
	name   string
	dir    string
	Args   []string       `json:"args"`
	Inputs []string       `json:"inputs"`
	Expect map[string]any `json:"expect"`
	Exit   int            `json:"exit"`
	Group  string         `json:"group"`
}

func (c *goldenCase) flag(name string) string {
	for i := 0; i+1 < len(c.Args); i++ {
		if c.Args[i] == name {
			return c.Args[i+1]
		}
	}
	return ""
}

// files lists the input files of a case (directories walked).
func (c *goldenCase) files(t *testing.T) []string {
	var out []string
	for _, in := range c.Inputs {
		p := filepath.Join(c.dir, in)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, q)
			}
			return err
		})
	}
	sort.Strings(out)
	return out
}

func goldenCases(t *testing.T) []*goldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*", "case.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases in %s: %v", goldenDir, err)
	}
	var cases []*goldenCase
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &goldenCase{dir: filepath.Dir(p), name: filepath.Base(filepath.Dir(p))}
		if err := json.Unmarshal(b, c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestGoldenFiles opens every input file of the golden cases and reads every
// readable column of every unit; truncated files must fail with ErrFormat.
func TestGoldenFiles(t *testing.T) {
	for _, c := range goldenCases(t) {
		for _, p := range c.files(t) {
			t.Run(c.name+"/"+filepath.Base(p), func(t *testing.T) {
				truncated := strings.HasPrefix(c.name, "err_truncated")
				f, err := Open(p, DefaultOptions())
				if truncated {
					if err == nil {
						_, _, err = scanAll(t, f, -1, supported(f), 0)
						f.Close()
					}
					if err == nil || !isFormat(err) {
						t.Fatalf("want an ErrFormat error, got %v", err)
					}
					checkMessage(t, err, p)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				names := supported(f)
				if len(names) != len(f.Fields()) {
					t.Errorf("unsupported columns in %v", f.Fields())
				}
				if f.Format() == FormatArrowStream {
					if f.Units() != nil || f.Rows() != -1 {
						t.Errorf("stream has units %v, rows %d", f.Units(), f.Rows())
					}
					cols, _, err := scanAll(t, f, -1, names, 5)
					if err != nil {
						t.Fatal(err)
					}
					if len(cols) > 0 && cols[0].rows == 0 {
						t.Errorf("no rows read")
					}
					return
				}
				var total int64
				for _, u := range f.Units() {
					cols, _, err := scanAll(t, f, u.Index, names, 5)
					if err != nil {
						t.Fatal(err)
					}
					if u.Rows >= 0 && len(cols) > 0 && int64(cols[0].rows) != u.Rows {
						t.Errorf("unit %d: read %d rows, metadata says %d", u.Index, cols[0].rows, u.Rows)
					}
					total += u.Rows
				}
				if total != f.Rows() {
					t.Errorf("units hold %d rows, Rows() = %d", total, f.Rows())
				}
				// Every column on its own, and the whole file at once.
				for _, n := range names {
					if _, _, err := scanAll(t, f, -1, []string{n}, 3); err != nil {
						t.Fatal(err)
					}
				}
				if len(f.Metadata()) == 0 || f.Metadata()[0][0] != "format" {
					t.Errorf("metadata %v", f.Metadata())
				}
			})
		}
	}
}

// readCase reads the named columns of every input of a case.
func readCase(t *testing.T, c *goldenCase, cols []string) [][]*colData {
	t.Helper()
	var out [][]*colData
	for _, p := range c.files(t) {
		f, err := Open(p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		data, _, err := scanAll(t, f, -1, cols, 7)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func num(c *colData, i int) float64 {
	switch c.typ {
	case column.Bool:
		if c.bools[i] {
			return 1
		}
		return 0
	case column.Int, column.Uint64:
		return float64(c.ints[i])
	}
	return c.f[i]
}

func closeTo(got, want, rel float64) bool {
	return math.Abs(got-want) <= math.Max(1e-15, rel*math.Abs(want))
}

// TestGoldenValues recomputes simple statistics of the golden cases from the
// values read and compares them with the expected report: the Brier score
// of binary and multiclass predictions, the token count and NLL sum of
// log-probabilities, and the row count.
func TestGoldenValues(t *testing.T) {
	checked := 0
	for _, c := range goldenCases(t) {
		if c.Exit == 2 || c.flag("--on-invalid") != "" {
			continue
		}
		kind, _ := c.Expect["kind"].(string)
		label, weight := c.flag("--label"), c.flag("--weight")
		prob, logit, lp := c.flag("--prob"), c.flag("--logit"), c.flag("--logprob")
		t.Run(c.name, func(t *testing.T) {
			var cols []string
			switch {
			case (kind == "binary" || kind == "multiclass") && (prob != "" || logit != ""):
				cols = []string{prob + logit, label}
			case kind == "logprob":
				cols = []string{lp}
			default:
				t.Skip("no simple statistic")
			}
			if weight != "" {
				cols = append(cols, weight)
			}
			var rows, tokens int
			var sw, sum float64
			for _, d := range readCase(t, c, cols) {
				w := func(i int) float64 {
					if weight == "" {
						return 1
					}
					return num(d[len(d)-1], i)
				}
				pc := d[0]
				for i := range pc.rows {
					rows++
					switch {
					case kind == "logprob" && pc.list:
						for j := pc.offs[i]; j < pc.offs[i+1]; j++ {
							sum -= pc.f[j] * w(i)
							tokens++
						}
						sw += w(i)
					case kind == "logprob":
						sum -= pc.f[i] * w(i)
						sw += w(i)
					case kind == "binary":
						p := num(pc, i)
						if logit != "" {
							p = 1 / (1 + math.Exp(-p))
						}
						y := num(d[1], i)
						sum += w(i) * (p - y) * (p - y)
						sw += w(i)
					case kind == "multiclass":
						y := int64(num(d[1], i))
						lo, hi := pc.offs[i], pc.offs[i+1]
						ps := make([]float64, 0, hi-lo)
						for j := lo; j < hi; j++ {
							ps = append(ps, pc.f[j])
						}
						if logit != "" {
							m := slices.Max(ps)
							var z float64
							for k := range ps {
								ps[k] = math.Exp(ps[k] - m)
								z += ps[k]
							}
							for k := range ps {
								ps[k] /= z
							}
						}
						var b float64
						for k, p := range ps {
							o := 0.0
							if int64(k) == y {
								o = 1
							}
							b += (p - o) * (p - o)
						}
						sum += w(i) * b
						sw += w(i)
					}
				}
			}
			if want, ok := c.Expect["overall.rows"].(float64); ok && int(want) != rows {
				t.Errorf("read %d rows, report has %v", rows, want)
			}
			switch kind {
			case "logprob":
				if want, ok := c.Expect["overall.nll_sum"].(float64); ok && !closeTo(sum, want, 1e-12) {
					t.Errorf("nll_sum %v, want %v", sum, want)
				}
				if want, ok := c.Expect["overall.tokens"].(float64); ok && int(want) != tokens {
					t.Errorf("tokens %d, want %v", tokens, want)
				}
			default:
				want, ok := c.Expect["overall.brier"].(float64)
				if !ok {
					t.Fatal("no overall.brier")
				}
				if got := sum / sw; !closeTo(got, want, 1e-12) {
					t.Errorf("brier %v, want %v", got, want)
				}
			}
			checked++
		})
	}
	if checked < 40 {
		t.Errorf("only %d cases checked", checked)
	}
}

// TestGoldenGroups checks that the cases of a group, written by different
// writers in different layouts, hold the same rows.
func TestGoldenGroups(t *testing.T) {
	groups := map[string][]*goldenCase{}
	for _, c := range goldenCases(t) {
		if c.Group != "" {
			groups[c.Group] = append(groups[c.Group], c)
		}
	}
	if len(groups) < 5 {
		t.Fatalf("only %d groups", len(groups))
	}
	for g, cs := range groups {
		t.Run(g, func(t *testing.T) {
			var want []string
			for k, c := range cs {
				cols := []string{c.flag("--prob") + c.flag("--logit"), c.flag("--label")}
				var rows []string
				for _, d := range readCase(t, c, cols) {
					// Labels: compare as numbers whatever their type.
					for i := range d[0].rows {
						rows = append(rows, fmtRow(d[:1], i)+"|"+strings.TrimSuffix(strings.TrimSuffix(fmtRow(d[1:], i), ".0"), ""))
					}
				}
				sort.Strings(rows)
				if k == 0 {
					want = rows
					continue
				}
				if !slices.Equal(rows, want) {
					t.Errorf("%s and %s hold different rows:\n%v\n%v", cs[0].name, c.name, want, rows)
				}
			}
		})
	}
}

func openT(t *testing.T, p string) File {
	t.Helper()
	f, err := Open(p, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func fieldByName(f File, name string) Field {
	for _, fl := range f.Fields() {
		if fl.Name == name {
			return fl
		}
	}
	return Field{}
}

// TestGoldenDictionary reads the DuckDB file whose columns are all
// dictionary-encoded: a double with 5 distinct values, an int8 and a string.
func TestGoldenDictionary(t *testing.T) {
	f := openT(t, filepath.Join(goldenDir, "dictionary_encoded", "preds.parquet"))
	if fl := fieldByName(f, "y"); fl.Type != column.Int || fl.Desc != "int8" {
		t.Errorf("y: %+v", fl)
	}
	if fl := fieldByName(f, "platform"); fl.Type != column.String {
		t.Errorf("platform: %+v", fl)
	}
	// Batches of 64 rows: Dict+Codes for the strings.
	s := f.Scan(0, []string{"p", "y", "platform"}, 64)
	defer s.Close()
	byP := map[float64]int{}
	byPlatform := map[string]int{}
	ySum := int64(0)
	rows := 0
	for s.Next() {
		b := s.Batch()
		p, y, pl := b.Cols[0], b.Cols[1], b.Cols[2]
		if pl.Strs != nil || pl.Dict == nil || len(pl.Codes) != b.Rows {
			t.Fatalf("platform not Dict+Codes: %+v", pl)
		}
		for i := range b.Rows {
			byP[p.F64[i]]++
			byPlatform[pl.Str(i)]++
			ySum += y.Ints[i]
		}
		rows += b.Rows
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	// From the calibration bins and slices of case.json.
	wantP := map[float64]int{0.05: 78, 0.2: 72, 0.5: 81, 0.8: 82, 0.95: 87}
	if !mapsEqual(byP, wantP) {
		t.Errorf("p counts %v, want %v", byP, wantP)
	}
	wantPl := map[string]int{"android": 142, "ios": 122, "web": 136}
	if !mapsEqual(byPlatform, wantPl) {
		t.Errorf("platform counts %v, want %v", byPlatform, wantPl)
	}
	// Positives: 78×4/78 + 72×14/72 + 81×35/81 + 82×56/82 + 87×79/87.
	if rows != 400 || ySum != 4+14+35+56+79 {
		t.Errorf("rows %d, sum of y %d", rows, ySum)
	}
}

func mapsEqual[K comparable](a, b map[K]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestGoldenFixedSizeList reads a fixed_size_list<double, 4> written by
// apache-arrow JS.
func TestGoldenFixedSizeList(t *testing.T) {
	f := openT(t, filepath.Join(goldenDir, "mc_probs_fixed_size_ipc", "preds.arrow"))
	if fl := fieldByName(f, "probs"); !fl.List || fl.FixedSize != 4 || fl.Type != column.Float64 {
		t.Fatalf("probs: %+v", fl)
	}
	s := f.Scan(0, []string{"probs"}, 10)
	defer s.Close()
	if !s.Next() {
		t.Fatal(s.Err())
	}
	c := s.Batch().Cols[0]
	if c.FixedSize != 4 || c.Len != 10 {
		t.Fatalf("column %+v", c)
	}
	for i, o := range c.Offsets {
		if o != int64(4*i) {
			t.Fatalf("offsets %v", c.Offsets)
		}
	}
	if want := []float64{0.0472, 0.3412, 0.5179, 0.0937}; !slices.Equal(c.F64[:4], want) {
		t.Errorf("row 0 %v, want %v", c.F64[:4], want)
	}
	// The same rows as the Polars large_list file of the group.
	a := readCase(t, &goldenCase{dir: filepath.Join(goldenDir, "mc_probs_fixed_size_ipc"), Inputs: []string{"preds.arrow"}}, []string{"probs", "y"})[0]
	b := readCase(t, &goldenCase{dir: filepath.Join(goldenDir, "mc_fmt_polars_list_ipc_zstd"), Inputs: []string{"preds.arrow"}}, []string{"probs", "y"})[0]
	for i := range a[0].rows {
		if fmtRow(a, i) != fmtRow(b, i) {
			t.Fatalf("row %d: %s vs %s", i, fmtRow(a, i), fmtRow(b, i))
		}
	}
}

// TestGoldenTokenLists reads Parquet token log-probability lists, one of
// them empty, in batches smaller than the file.
func TestGoldenTokenLists(t *testing.T) {
	f := openT(t, filepath.Join(goldenDir, "logprob_tokens", "tokens.parquet"))
	for _, maxRows := range []int{1, 2, 3, 100} {
		cols, _, err := scanAll(t, f, -1, []string{"token_logprobs"}, maxRows)
		if err != nil {
			t.Fatal(err)
		}
		c := cols[0]
		if c.rows != 8 || c.offs[8] != 41 {
			t.Fatalf("%d rows, %d tokens", c.rows, c.offs[8])
		}
		if c.offs[1] != 5 || c.offs[2] != 5 {
			t.Errorf("row 1 is not the empty list: offsets %v", c.offs)
		}
		for i, ok := range c.valid {
			if !ok {
				t.Errorf("row %d null", i)
			}
		}
		if want := []float64{-0.868, -2.939, -3.031, -5.813, -4.872}; !slices.Equal(c.f[:5], want) {
			t.Errorf("row 0 %v, want %v", c.f[:5], want)
		}
	}
}

// TestGoldenCompressedIPC reads Polars' LZ4 stream and ZSTD file.
func TestGoldenCompressedIPC(t *testing.T) {
	var rows [][]string
	for _, tc := range []struct{ path, codec string }{
		{"ipc_stream_polars_lz4/preds.arrows", ""},
		{"ipc_file_polars_zstd/preds.arrow", "zstd"},
		{"ipc_file_arrowjs/preds.arrow", "none"},
	} {
		f := openT(t, filepath.Join(goldenDir, tc.path))
		if tc.codec != "" {
			found := false
			for _, kv := range f.Metadata() {
				if kv[0] == "compression" && kv[1] == tc.codec {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: metadata %v", tc.path, f.Metadata())
			}
		}
		cols, _, err := scanAll(t, f, -1, []string{"p", "y"}, 4)
		if err != nil {
			t.Fatal(err)
		}
		var r []string
		for i := range cols[0].rows {
			r = append(r, fmtRow(cols, i))
		}
		if len(r) != 16 {
			t.Fatalf("%s: %d rows", tc.path, len(r))
		}
		if r[0] != "0.709|1" {
			t.Errorf("%s: row 0 %s", tc.path, r[0])
		}
		rows = append(rows, r)
	}
	for _, r := range rows[1:] {
		if !slices.Equal(r, rows[0]) {
			t.Errorf("rows differ:\n%v\n%v", rows[0], r)
		}
	}
}

// TestGoldenNullElement reads a Parquet list with a null element.
func TestGoldenNullElement(t *testing.T) {
	f := openT(t, filepath.Join(goldenDir, "skip_multiclass_reasons", "mc.parquet"))
	for _, maxRows := range []int{1, 5, 16} {
		cols, _, err := scanAll(t, f, -1, []string{"probs"}, maxRows)
		if err != nil {
			t.Fatal(err)
		}
		c := cols[0]
		if c.rows != 16 {
			t.Fatalf("%d rows", c.rows)
		}
		var nulls []int
		for j, ok := range c.elemValid {
			if !ok {
				nulls = append(nulls, j)
			}
		}
		if !slices.Equal(nulls, []int{38}) {
			t.Errorf("null elements at %v, want [38]", nulls)
		}
		if got := fmtRow(cols, 12); got != "[0.5,null,0.5]" {
			t.Errorf("row 12 = %s", got)
		}
		if got := fmtRow(cols, 8); got != "[0.25,0.25,0.25,0.25]" {
			t.Errorf("row 8 = %s", got)
		}
	}
}

// TestGoldenNullLabel reads an Arrow IPC file with a null label.
func TestGoldenNullLabel(t *testing.T) {
	f := openT(t, filepath.Join(goldenDir, "err_null_label", "null_label.arrow"))
	s := f.Scan(0, []string{"y", "p"}, 100)
	defer s.Close()
	if !s.Next() {
		t.Fatal(s.Err())
	}
	y := s.Batch().Cols[0]
	if y.Valid == nil {
		t.Fatal("no validity for a column with a null")
	}
	for i := range y.Len {
		if y.IsNull(i) != (i == 4) {
			t.Errorf("row %d null = %v", i, y.IsNull(i))
		}
	}
	if p := s.Batch().Cols[1]; p.Valid != nil || p.F64[11] != 0.65 {
		t.Errorf("p: %+v", p)
	}
	if s.Next() || s.Err() != nil {
		t.Errorf("second batch, or error %v", s.Err())
	}
}
