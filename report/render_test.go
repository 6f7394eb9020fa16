package report

import (
	"bytes"
	"errors"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptrF(v float64) *float64 { return &v }
func ptrI(v int64) *int64     { return &v }

func valStr(s string) metrics.Value    { return metrics.Value{Kind: metrics.VString, S: s} }
func valInt(i int64) metrics.Value     { return metrics.Value{Kind: metrics.VInt, I: i} }
func valNull() metrics.Value           { return metrics.Value{} }
func valBool(b bool) metrics.Value     { return metrics.Value{Kind: metrics.VBool, B: b} }
func valFloat(f float64) metrics.Value { return metrics.Value{Kind: metrics.VFloat, F: f} }

// bin is one calibration bin for uniformBins: an empty bin has count 0.
type calBin struct {
	count     int64
	conf, out float64
}

// uniformBins lays bins out over [0, 1] as metrics does: weight = count.
func uniformBins(bs ...calBin) []metrics.BinFigures {
	n := len(bs)
	out := make([]metrics.BinFigures, n)
	for i, b := range bs {
		out[i] = metrics.BinFigures{Lo: float64(i) / float64(n), Hi: float64(i+1) / float64(n), Count: b.count, Weight: float64(b.count)}
		if b.count > 0 {
			out[i].Confidence, out[i].Outcome = ptrF(b.conf), ptrF(b.out)
		}
	}
	return out
}

// binaryModel is a binary run with slices, gates, worst rows and warnings.
func binaryModel() *Model {
	cal := uniformBins(
		calBin{412, 0.0312, 0.0243}, calBin{96, 0.1487, 0.1771}, calBin{51, 0.2513, 0.2157},
		calBin{0, 0, 0}, calBin{38, 0.4471, 0.5263}, calBin{44, 0.5502, 0.5},
		calBin{49, 0.6519, 0.7143}, calBin{63, 0.7488, 0.6984}, calBin{101, 0.8532, 0.8317},
		calBin{146, 0.9641, 0.9795},
	)
	sliceBins := func(scale float64) []metrics.BinFigures {
		bs := make([]metrics.BinFigures, len(cal))
		copy(bs, cal)
		for i := range bs {
			if bs[i].Confidence != nil {
				o := math.Min(1, *bs[i].Outcome*scale)
				bs[i].Outcome = &o
				bs[i].Count = bs[i].Count / 3
				bs[i].Weight = float64(bs[i].Count)
			}
		}
		return bs
	}
	sl := func(by metrics.Value, rows int64, nll, se, acc, brier, ece float64, bins []metrics.BinFigures) metrics.SliceFigures {
		return metrics.SliceFigures{By: []metrics.Value{by}, Figures: metrics.Figures{
			Rows: rows, Weight: float64(rows), NLL: nll, NLLSum: nll * float64(rows), NLLStderr: ptrF(se),
			Perplexity: math.Exp(nll), Accuracy: ptrF(acc), Brier: ptrF(brier), ECE: ptrF(ece), MCE: ptrF(2 * ece),
			Clipped: ptrI(0), Skipped: map[string]int64{}, Calibration: bins,
		}}
	}
	return &Model{
		Kind: metrics.Binary, Units: metrics.Nats, Eps: 1e-15, Clips: true, Binning: metrics.Uniform,
		Inputs: []Input{
			{Path: "preds/part-0.parquet", Rows: 600, Format: "parquet"},
			{Path: "preds/part 1|b.arrow", Rows: 403, Format: "arrow-file"},
		},
		Mapping: Mapping{Label: "y", Prob: "p", ID: "id", By: []string{"model"}},
		Overall: metrics.Figures{
			Rows: 1000, Weight: 1000, NLL: 0.2843917736, NLLSum: 284.3917736, NLLStderr: ptrF(0.0127361),
			Perplexity: 1.32891527, Accuracy: ptrF(0.894), Brier: ptrF(0.0821113), ECE: ptrF(0.0312774), MCE: ptrF(0.0792),
			Clipped: ptrI(2), Skipped: map[string]int64{"nan": 2, "null": 1}, Calibration: cal,
		},
		Slices: []metrics.SliceFigures{
			sl(valStr("baseline"), 400, 0.3011, 0.021, 0.88, 0.09, 0.041, sliceBins(0.9)),
			sl(valStr("big|model"), 380, 0.2519, 0.019, 0.91, 0.071, 0.022, sliceBins(1.05)),
			sl(valStr("small"), 200, 0.3011, 0.031, 0.87, 0.094, 0.051, sliceBins(0.8)),
			sl(valNull(), 20, 0.512, 0.11, 0.75, 0.17, 0.12, sliceBins(0.7)),
		},
		Worst: []WorstRow{
			{ID: valStr("row-17"), NLL: 34.538776, Label: valInt(1), Pred: ptrF(1e-15)},
			{ID: valStr("row`2`"), NLL: 6.90775528, Label: valInt(0), Pred: ptrF(0.999)},
			{ID: valStr("a|b"), NLL: 4.60517019, Label: valInt(1), Pred: ptrF(0.01)},
		},
		Bootstrap: &metrics.BootstrapResult{
			Config:  metrics.BootstrapConfig{Replicates: 1000, Buckets: 256, Seed: 20240601},
			Metrics: []string{"nll", "accuracy", "brier", "ece"},
			Lo:      []float64{0.2601, 0.875, 0.0712, 0.0201},
			Hi:      []float64{0.3102, 0.9131, 0.0937, 0.0455},
		},
		Gates: []Gate{
			{Expr: "nll > 0.35", Value: 0.2843917736},
			{Expr: "ece >= 0.03", Value: 0.0312774, Failed: true, Message: "ece >= 0.03: ece is 0.0312774"},
			{Expr: "--max-increase nll=1%", Value: 0.2843917736, Base: ptrF(0.27), Failed: true, Message: "--max-increase nll=1%: nll went from 0.27 to 0.284392, a change of 0.0532, over the limit 0.01"},
		},
		Warnings:     []string{"2 probabilities were clipped to [eps, 1-eps]", "3 rows skipped (--on-invalid skip)"},
		MinSliceSize: 50,
		ImageLink:    "out/reliability.svg",
	}
}

// multiclassModel is a weighted multiclass logits run with quantile bins
// and per-class figures.
func multiclassModel() *Model {
	cal := []metrics.BinFigures{
		{Lo: 0.34, Hi: 0.52, Count: 30, Weight: 41.5, Confidence: ptrF(0.4432), Outcome: ptrF(0.3855)},
		{Lo: 0.52, Hi: 0.71, Count: 31, Weight: 40.25, Confidence: ptrF(0.6188), Outcome: ptrF(0.5963)},
		{Lo: 0.71, Hi: 0.88, Count: 29, Weight: 41, Confidence: ptrF(0.7913), Outcome: ptrF(0.8293)},
		{Lo: 0.88, Hi: 0.999, Count: 30, Weight: 40.75, Confidence: ptrF(0.9502), Outcome: ptrF(0.9571)},
		{Lo: math.NaN(), Hi: math.NaN(), Count: 0, Weight: 0},
	}
	return &Model{
		Kind: metrics.Multiclass, Units: metrics.Bits, Binning: metrics.Quantile,
		Inputs:  []Input{{Path: "iris.parquet", Rows: 120, Format: "parquet"}},
		Mapping: Mapping{Label: "species", Logit: "logits", Weight: "w"},
		Overall: metrics.Figures{
			Rows: 120, Weight: 163.5, NLL: 0.61523, NLLSum: 100.590105, NLLStderr: ptrF(0.0812),
			Perplexity: 1.53204, Accuracy: ptrF(0.7896), Brier: ptrF(0.30118), ECE: ptrF(0.0287), MCE: ptrF(0.0577),
			Skipped: map[string]int64{}, Calibration: cal,
		},
		PerClass: []ClassFigures{
			{Class: 0, Rows: 40, Weight: 55, NLL: 0.0912, Accuracy: 1, MeanConfidence: 0.9711},
			{Class: 1, Rows: 41, Weight: 54.5, NLL: 0.9021, Accuracy: 0.6697, MeanConfidence: 0.6012},
			{Class: 2, Rows: 39, Weight: 54, NLL: 0.8577, Accuracy: 0.6944, MeanConfidence: 0.6377},
		},
		Worst: []WorstRow{
			{ID: valStr("iris.parquet:17"), NLL: 4.2, Label: valInt(2), Pred: ptrF(0.93), PredClass: ptrInt(1)},
			{ID: valStr("iris.parquet:3"), NLL: 2.5, Label: valInt(1), Pred: ptrF(0.71), PredClass: ptrInt(0)},
		},
		Gates: []Gate{},
	}
}

func ptrInt(v int) *int { return &v }

// tokensModel is a token-list logprob run in bits.
func tokensModel() *Model {
	return &Model{
		Kind: metrics.Logprob, Units: metrics.Bits,
		Inputs:  []Input{{Path: "-", Rows: 3, Format: "arrow-stream"}},
		Mapping: Mapping{Logprob: "token_logprobs", By: []string{"lang", "long"}},
		Overall: metrics.Figures{
			Rows: 3, Weight: 3, Tokens: ptrF(9), NLL: 7.2134752, NLLSum: 21.6404256, NLLStderr: ptrF(2.885),
			NLLPerToken: ptrF(2.40449173), Perplexity: 5.29449005, Skipped: map[string]int64{"length": 1},
		},
		Slices: []metrics.SliceFigures{
			{By: []metrics.Value{valStr("de"), valBool(false)}, Figures: metrics.Figures{Rows: 1, Weight: 1, Tokens: ptrF(0), NLL: 0, Perplexity: math.NaN(), NLLPerToken: ptrF(math.NaN())}},
			{By: []metrics.Value{valStr("en"), valBool(true)}, Figures: metrics.Figures{Rows: 2, Weight: 2, Tokens: ptrF(9), NLL: 10.8202128, NLLStderr: ptrF(1.5), NLLPerToken: ptrF(2.40449173), Perplexity: 5.29449005}},
		},
		Worst:         []WorstRow{{ID: valStr("-:2"), NLL: 12.3, Tokens: ptrF(8), NLLPerToken: ptrF(1.5375)}, {ID: valFloat(2.5), NLL: 9.34, Tokens: ptrF(1), NLLPerToken: ptrF(9.34)}, {ID: valInt(3), NLL: 0, Tokens: ptrF(0)}},
		WorstPerToken: []WorstRow{{ID: valFloat(2.5), NLL: 9.34, Tokens: ptrF(1), NLLPerToken: ptrF(9.34)}, {ID: valStr("-:2"), NLL: 12.3, Tokens: ptrF(8), NLLPerToken: ptrF(1.5375)}, {ID: valInt(3), NLL: 0, Tokens: ptrF(0)}},
		Bootstrap: &metrics.BootstrapResult{
			Config:  metrics.BootstrapConfig{Replicates: 200, Buckets: 256, Seed: 7},
			Metrics: []string{"nll", "nll_per_token"},
			// In the report's units (bits), as metrics' Summary gives them.
			Lo: []float64{4.4724, 1.7312},
			Hi: []float64{11.3974, 3.0297},
		},
	}
}

// lmModel is a token-list run with byte and word counts whose figures are
// round: Σ NLL = 400 ln 2 nats over 100 tokens, 400 bytes and 80 words, so
// NLL per token 4 ln 2 (perplexity 16), 1 bit per byte (byte perplexity
// 2), word perplexity 32.
func lmModel() *Model {
	ln2 := math.Ln2
	return &Model{
		Kind: metrics.Logprob, Units: metrics.Nats,
		Inputs:  []Input{{Path: "docs.parquet", Rows: 4, Format: "parquet"}},
		Mapping: Mapping{Logprob: "token_logprobs", ID: "doc", Text: "text", Mask: "mask"},
		Overall: metrics.Figures{
			Rows: 4, Weight: 4, Tokens: ptrF(100), NLL: 100 * ln2, NLLSum: 400 * ln2, NLLStderr: ptrF(0.5),
			NLLPerToken: ptrF(4 * ln2), Perplexity: 16, Skipped: map[string]int64{},
			Bytes: ptrF(400), BitsPerByte: ptrF(1), BytePerplexity: ptrF(2), Words: ptrF(80), WordPerplexity: ptrF(32),
		},
		Worst: []WorstRow{{ID: valStr("d7"), NLL: 90, Tokens: ptrF(31)}, {ID: valStr("d2"), NLL: 80, Tokens: ptrF(0)}},
	}
}

// gaussianModel is a gaussian run with no optional extras.
func gaussianModel() *Model {
	return &Model{
		Kind: metrics.Gaussian, Units: metrics.Hartleys,
		Inputs:  []Input{{Path: "reg.parquet", Rows: 1, Format: "parquet"}},
		Mapping: Mapping{Label: "target", Mean: "mu", Var: "sigma2"},
		Overall: metrics.Figures{Rows: 1, Weight: 1, NLL: math.Inf(1), NLLSum: math.Inf(1), Perplexity: math.Inf(1), Skipped: map[string]int64{}},
		Worst:   []WorstRow{{ID: valStr("reg.parquet:1"), NLL: math.Inf(1), Label: valFloat(3.5), Pred: ptrF(1.25), Scale: ptrF(0)}},
	}
}

var goldenModels = []struct {
	name string
	m    func() *Model
}{
	{"binary_slices", binaryModel},
	{"multiclass_perclass", multiclassModel},
	{"logprob_tokens", tokensModel},
	{"gaussian", gaussianModel},
	{"logprob_lm", lmModel},
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ, want then got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + a + "\n  got:  " + c + "\n")
		}
	}
	return b.String()
}

func TestGoldenMarkdown(t *testing.T) {
	for _, c := range goldenModels {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.m().Render("md", "out/report.md")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name+".md", got)
			again, _ := c.m().Render("md", "out/report.md")
			if !bytes.Equal(got, again) {
				t.Error("two renders of the same model differ")
			}
		})
	}
}

func TestGoldenText(t *testing.T) {
	for _, c := range goldenModels {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.m().Text(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name+".txt", b.Bytes())
		})
	}
}

func TestMarkdownSections(t *testing.T) {
	m := binaryModel()
	m.Warnings = append(m.Warnings, m.Warnings[0]) // a repeat, against the Model's doc
	md, err := m.Render("md", "out/report.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{
		"![reliability diagram](reliability.svg)",
		"1 slice with fewer than 50 rows is hidden",
		"**2 of 3 gates failed.**",
		"| 1 | `row-17` | 1 | 1.0000e-15 | 34.5388 |",
		"| NLL ± stderr (nats) | 0.284 ± 0.013 [0.260, 0.310] |",
		"| accuracy | 0.894 [0.875, 0.913] |",
		"[^1]: 2 probabilities",
		"[^2]: 3 rows skipped",
		"| `preds/part 1\\|b.arrow` |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// The verdict comes first, before the inputs.
	if g, in := strings.Index(s, "## Gates: FAIL"), strings.Index(s, "| input |"); !(g >= 0 && g < in) {
		t.Errorf("the gates are not at the top: at %d, the inputs at %d", g, in)
	}
	if strings.Contains(s, "[^3]") {
		t.Error("a repeated warning got its own footnote")
	}
	// Ties keep key order: baseline before small, both above big|model.
	b, sm, big := strings.Index(s, "`baseline`"), strings.Index(s, "`small`"), strings.Index(s, "`big\\|model`")
	if !(b >= 0 && b < sm && sm < big) {
		t.Errorf("slices are not ordered by NLL descending, ties in key order: %d %d %d", b, sm, big)
	}
	if strings.Contains(s, "*null*") {
		t.Error("a slice under --min-slice-size is shown")
	}
	for _, name := range []string{"logprob_tokens", "gaussian"} {
		var m *Model
		for _, c := range goldenModels {
			if c.name == name {
				m = c.m()
			}
		}
		m.ImageLink = "x.svg"
		md, _ := m.Render("md", "r.md")
		if strings.Contains(string(md), "Calibration") || strings.Contains(string(md), "x.svg") {
			t.Errorf("%s: calibration or image link for a kind without calibration", name)
		}
	}
}

func TestRelLink(t *testing.T) {
	abs, _ := filepath.Abs("out")
	for _, c := range []struct{ img, md, want string }{
		{"r.svg", "r.md", "r.svg"},
		{"out/r.svg", "out/r.md", "r.svg"},
		{"out/r.svg", "r.md", "out/r.svg"},
		{"r.svg", "out/r.md", "../r.svg"},
		{filepath.Join(abs, "r.svg"), "out/r.md", "r.svg"},
		{"out/r.svg", filepath.Join(abs, "r.md"), "r.svg"},
		{"a b(1).svg", "-", "a%20b%281%29.svg"},
		{"a:b.svg", "x.md", "./a:b.svg"},
	} {
		if got := relLink(c.img, c.md); got != c.want {
			t.Errorf("relLink(%q, %q) = %q, want %q", c.img, c.md, got, c.want)
		}
	}
}

func TestSVGDeterministic(t *testing.T) {
	for _, c := range []struct {
		name string
		m    func() *Model
	}{
		{"overall", func() *Model { m := binaryModel(); m.Slices, m.Mapping.By = nil, nil; return m }},
		{"slices", binaryModel},
		{"quantile", multiclassModel},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.m().Render("svg", "r.svg")
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.m().Render("svg", "r.svg")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatal("two renders of the same model differ")
			}
			m := c.m()
			if !bytes.Contains(a, []byte("ECE "+Fmt(*m.Overall.ECE))) {
				t.Errorf("the SVG has no title with ECE %s", Fmt(*m.Overall.ECE))
			}
			if !bytes.HasPrefix(a, []byte("<?xml")) || !bytes.Contains(a, []byte("</svg>")) {
				t.Error("not an SVG document")
			}
		})
	}
}

func TestPNGDecodes(t *testing.T) {
	data, err := binaryModel().Render("png", "r.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 500 {
		t.Errorf("PNG is %dx%d", b.Dx(), b.Dy())
	}
}

func TestDiagramNeedsCalibration(t *testing.T) {
	for _, f := range []string{"svg", "png"} {
		_, err := gaussianModel().Render(f, "r."+f)
		if !errors.Is(err, ErrNoCalibration) {
			t.Errorf("%s of a gaussian run: err = %v, want ErrNoCalibration", f, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "r."+f+": ") {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if _, err := binaryModel().Render("pdf", "r.pdf"); err == nil {
		t.Error("no error for an unknown format")
	}
}

var sampleDir = flag.String("sample", "", "write the sample models' reports (md, svg, png) into `DIR`, for scripts/render-report.sh")

// TestWriteSample writes every sample report into -sample DIR; it does
// nothing without the flag.
func TestWriteSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("no -sample DIR")
	}
	samples := append(goldenModels[:len(goldenModels):len(goldenModels)], struct {
		name string
		m    func() *Model
	}{"many_slices", manySlicesModel})
	for _, c := range samples {
		m := c.m()
		if m.Kind.HasCalibration() {
			m.ImageLink = filepath.Join(*sampleDir, c.name+".svg")
		} else {
			m.ImageLink = ""
		}
		for _, f := range []string{"md", "svg", "png"} {
			if f != "md" && !m.Kind.HasCalibration() {
				continue
			}
			path := filepath.Join(*sampleDir, c.name+"."+f)
			data, err := m.Render(f, path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// manySlicesModel has more slices than the diagram draws, with long keys.
func manySlicesModel() *Model {
	m := binaryModel()
	m.Mapping.By = []string{"model", "dataset_split"}
	base := m.Slices[0]
	m.Slices = nil
	for i := 0; i < 12; i++ {
		s := base
		s.By = []metrics.Value{valStr("transformer-large-v" + strconv.Itoa(i)), valStr([]string{"train", "validation"}[i%2])}
		s.Rows = int64(60 + 10*i)
		s.NLL = 0.2 + 0.01*float64(i%5)
		s.ECE = ptrF(0.01 * float64(i+1))
		m.Slices = append(m.Slices, s)
	}
	return m
}
