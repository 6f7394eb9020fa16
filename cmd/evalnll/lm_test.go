package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type lmRow struct {
	ID    string    `parquet:"id"`
	LP    []float64 `parquet:"token_logprobs,list"`
	Mask  []int32   `parquet:"mask,list"`
	Text  string    `parquet:"text"`
	Bytes int64     `parquet:"n_bytes"`
	Words int64     `parquet:"n_words"`
	Lang  string    `parquet:"lang"`
}

func writeLM(t *testing.T, path string, rows []lmRow) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[lmRow](f, parquet.MaxRowsPerRowGroup(64))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func genLMRows(r *rand.Rand, n int) []lmRow {
	words := []string{"the", "cat", "été", "日本語", "sat"}
	var rows []lmRow
	for i := 0; i < n; i++ {
		k := 1 + r.IntN(30)
		row := lmRow{ID: "doc" + string(rune('A'+i%26)) + strings.Repeat("x", i/26), Lang: []string{"en", "fr"}[i%2]}
		for j := 0; j < k; j++ {
			row.LP = append(row.LP, -r.ExpFloat64()*2)
			row.Mask = append(row.Mask, int32(b2i(j >= k/3)))
		}
		var sb strings.Builder
		for j := r.IntN(9); j >= 0; j-- {
			sb.WriteString(words[r.IntN(len(words))])
			sb.WriteString([]string{" ", "\n", "\u3000 "}[r.IntN(3)])
		}
		row.Text = sb.String()
		row.Bytes = int64(len(row.Text))
		row.Words = int64(len(strings.Fields(row.Text)))
		rows = append(rows, row)
	}
	return rows
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLMReport: the JSON report's language-model figures, overall and per
// slice, against plain float sums over the rows; --text gives the figures
// --bytes and --words give; --workers does not change a byte.
func TestLMReport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "lm.parquet")
	rows := genLMRows(rand.New(rand.NewPCG(41, 42)), 300)
	writeLM(t, in, rows)
	evalJSON := func(args ...string) []byte {
		t.Helper()
		out := filepath.Join(dir, "out.json")
		var so, se bytes.Buffer
		args = append(append([]string{"eval", "--logprob", "token_logprobs", "--json", out, "--by", "lang", "--worst", "3", "--id", "id", "--bootstrap", "50"}, args...), in)
		if code := run(context.Background(), strings.NewReader(""), &so, &se, args); code != 0 {
			t.Fatalf("exit %d: %s", code, se.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, masked := range []bool{false, true} {
		var extra []string
		if masked {
			extra = []string{"--mask", "mask"}
		}
		counts := evalJSON(append(extra, "--bytes", "n_bytes", "--words", "n_words")...)
		text := evalJSON(append(extra, "--text", "text", "--workers", "1")...)
		text2 := evalJSON(append(extra, "--text", "text", "--workers", "2")...)
		if !bytes.Equal(text, text2) {
			t.Fatalf("masked %v: --workers 1 and 2 differ", masked)
		}
		var a, b struct {
			Overall map[string]any   `json:"overall"`
			Slices  []map[string]any `json:"slices"`
			Worst   []map[string]any `json:"worst"`
			Boot    struct {
				Intervals map[string][]float64 `json:"intervals"`
			} `json:"bootstrap"`
		}
		if err := json.Unmarshal(counts, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(text, &b); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"bytes", "words", "bits_per_byte", "byte_perplexity", "word_perplexity"} {
			if a.Overall[k] != b.Overall[k] {
				t.Errorf("masked %v: %s: counts %v, text %v", masked, k, a.Overall[k], b.Overall[k])
			}
		}
		check := func(name string, o map[string]any, lang string) {
			var nll, by, wd, tok float64
			for _, r := range rows {
				if lang != "" && r.Lang != lang {
					continue
				}
				for j, v := range r.LP {
					if !masked || r.Mask[j] == 1 {
						nll -= v
						tok++
					}
				}
				by += float64(r.Bytes)
				wd += float64(r.Words)
			}
			want := map[string]float64{
				"tokens": tok, "bytes": by, "words": wd, "bits_per_byte": nll / by / math.Ln2,
				"byte_perplexity": math.Exp(nll / by), "word_perplexity": math.Exp(nll / wd),
			}
			for k, w := range want {
				g, ok := o[k].(float64)
				if !ok || math.Abs(g-w) > 1e-12*math.Abs(w) {
					t.Errorf("masked %v %s: %s = %v, want %v", masked, name, k, o[k], w)
				}
			}
		}
		check("overall", b.Overall, "")
		for _, s := range b.Slices {
			lang := s["by"].(map[string]any)["lang"].(string)
			check("slice "+lang, s, lang)
		}
		if len(b.Worst) != 3 {
			t.Fatalf("worst: %v", b.Worst)
		}
		for _, w := range b.Worst {
			var r *lmRow
			for i := range rows {
				if rows[i].ID == w["id"] {
					r = &rows[i]
				}
			}
			n := 0
			for j := range r.LP {
				if !masked || r.Mask[j] == 1 {
					n++
				}
			}
			if w["tokens"] != float64(n) {
				t.Errorf("worst %v: tokens %v, want %d", w["id"], w["tokens"], n)
			}
		}
		for _, k := range []string{"bits_per_byte", "byte_perplexity", "word_perplexity"} {
			iv := b.Boot.Intervals[k]
			if len(iv) != 2 || !(iv[0] <= b.Overall[k].(float64) && b.Overall[k].(float64) <= iv[1]) {
				t.Errorf("masked %v: interval of %s: %v", masked, k, iv)
			}
		}
	}
	// bits_per_byte is in bits whatever --base; nll_per_token follows it.
	nats := evalJSON("--bytes", "n_bytes")
	bits := evalJSON("--bytes", "n_bytes", "--base", "2")
	var n, b map[string]map[string]any
	json.Unmarshal(nats, &n)
	json.Unmarshal(bits, &b)
	if n["overall"]["bits_per_byte"] != b["overall"]["bits_per_byte"] || n["overall"]["nll_per_token"] == b["overall"]["nll_per_token"] {
		t.Errorf("--base 2 changed bits_per_byte (%v, %v) or left nll_per_token (%v)", n["overall"]["bits_per_byte"], b["overall"]["bits_per_byte"], b["overall"]["nll_per_token"])
	}
}

// TestLMErrors: bad counts and masks are one-line errors naming file, row
// and column (exit 2), or skipped and counted; the flags are checked.
func TestLMErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "lm.parquet")
	rows := genLMRows(rand.New(rand.NewPCG(43, 44)), 10)
	rows[3].Bytes = -4
	rows[6].Mask = rows[6].Mask[1:]
	writeLM(t, in, rows)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bytes", "n_bytes"}, 2, "lm.parquet:4: column \"n_bytes\": negative count -4\n"},
		{[]string{"--mask", "mask"}, 2, fmtectx(in, 7, "column \"mask\": mask has %d elements, the log-probabilities %d", len(rows[6].Mask), len(rows[6].LP))},
		{[]string{"--bytes", "n_bytes", "--mask", "mask", "--on-invalid", "skip"}, 0, ""},
		{[]string{"--bytes", "text"}, 2, "want an integer count"},
		{[]string{"--text", "n_bytes"}, 2, "want a string"},
		{[]string{"--mask", "text"}, 2, "want a list of 0/1 integers or bools"},
		{[]string{"--bytes", "nope"}, 2, "column \"nope\" (--bytes) not found"},
	} {
		var so, se bytes.Buffer
		args := append(append([]string{"eval", "--logprob", "token_logprobs", "--json", filepath.Join(dir, "o.json")}, tc.args...), in)
		code := run(context.Background(), strings.NewReader(""), &so, &se, args)
		if code != tc.code || !strings.Contains(se.String(), tc.want) {
			t.Errorf("%v: exit %d %q, want %d %q", tc.args, code, se.String(), tc.code, tc.want)
		}
		if tc.code == 0 {
			var d map[string]map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, "o.json"))
			json.Unmarshal(b, &d)
			sk := d["overall"]["skipped"].(map[string]any)
			if sk["negative_count"] != 1.0 || sk["length"] != 1.0 || d["overall"]["rows"] != 8.0 {
				t.Errorf("skipped %v rows %v", sk, d["overall"]["rows"])
			}
		}
	}
	// Language-model columns need --kind logprob.
	p := filepath.Join(dir, "p.parquet")
	writePreds(t, p, []predRow{{1, 1, 0.5}})
	var so, se bytes.Buffer
	if code := run(context.Background(), strings.NewReader(""), &so, &se, []string{"eval", "--bytes", "id", p}); code != 2 || !strings.Contains(se.String(), "apply to --kind logprob") {
		t.Errorf("binary with --bytes: exit %d %q", code, se.String())
	}
}

func fmtectx(path string, row int, format string, a ...any) string {
	return fmt.Sprintf("%s:%d: ", filepath.Base(path), row) + fmt.Sprintf(format, a...)
}

// TestLMGates: gates and baselines on the language-model figures; a
// baseline in other units compares bits_per_byte as it is (it is in bits
// in both).
func TestLMGates(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "lm.parquet")
	writeLM(t, in, genLMRows(rand.New(rand.NewPCG(45, 46)), 40))
	evalArgs := func(args ...string) (int, string, map[string]any) {
		out := filepath.Join(dir, "g.json")
		os.Remove(out)
		var so, se bytes.Buffer
		code := run(context.Background(), strings.NewReader(""), &so, &se, append(append([]string{"eval", "--logprob", "token_logprobs", "--json", out}, args...), in))
		var d map[string]any
		if b, err := os.ReadFile(out); err == nil {
			json.Unmarshal(b, &d)
		}
		return code, se.String(), d
	}
	code, msg, base := evalArgs("--text", "text", "--base", "2")
	if code != 0 {
		t.Fatal(msg)
	}
	bpb := base["overall"].(map[string]any)["bits_per_byte"].(float64)
	basePath := filepath.Join(dir, "base.json")
	b, _ := json.Marshal(base)
	os.WriteFile(basePath, b, 0o644)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--text", "text", "--fail-if", fmt.Sprintf("bits_per_byte > %v", bpb)}, 0},
		{[]string{"--text", "text", "--fail-if", fmt.Sprintf("bits_per_byte >= %v", bpb)}, 1},
		{[]string{"--text", "text", "--fail-if", "word_perplexity < 1"}, 0},
		{[]string{"--text", "text", "--baseline", basePath, "--max-increase", "bits_per_byte=0"}, 0},
		{[]string{"--text", "text", "--mask", "mask", "--baseline", basePath, "--max-decrease", "byte_perplexity=0.001"}, 1},
		{[]string{"--bytes", "n_bytes", "--fail-if", "word_perplexity > 1"}, 2}, // no words in this run
	} {
		code, msg, _ := evalArgs(tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d (%s), want %d", tc.args, code, msg, tc.code)
		}
	}
}
