package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
)

// quantileEdgeRule states what the edges of a quantile bin are.
const quantileEdgeRule = "each bin holds as near total/N weight as ties allow; lo and hi are its smallest and largest confidence"

// maxListedBins is the most calibration bins the markdown lists one by one;
// with more, only the non-empty bins are listed.
const maxListedBins = 30

// Markdown writes a GitHub-flavoured markdown report of the model. path is
// where the report will be written ("-" or "" for standard output): the
// reliability diagram (ImageLink) is linked relative to its directory.
//
// Every figure is formatted with Fmt, so the same model always gives the
// same bytes; nothing in it depends on the clock or the machine.
func (m *Model) Markdown(w io.Writer, path string) error {
	var b bytes.Buffer
	notes := m.notes()
	fmt.Fprintf(&b, "# evalnll report: %s\n", m.Kind)
	m.mdGates(&b)
	m.mdHeader(&b, notes)
	m.mdOverall(&b)
	m.mdLM(&b)
	m.mdCalibration(&b, path)
	m.mdCalibrationDetail(&b)
	m.mdPIT(&b)
	m.mdSlices(&b)
	m.mdPerClass(&b)
	m.mdWorst(&b)
	if len(notes) > 0 {
		b.WriteString("\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "[^%d]: %s\n", i+1, esc(n))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// markdownBytes is the markdown report as bytes, for Render.
func (m *Model) markdownBytes(path string) ([]byte, error) {
	var b bytes.Buffer
	if err := m.Markdown(&b, path); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// notes are the warnings, deduplicated in first-seen order.
func (m *Model) notes() []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range m.Warnings {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func (m *Model) weighted() bool { return m.Mapping.Weight != "" }

func (m *Model) mdHeader(b *bytes.Buffer, notes []string) {
	b.WriteString("\n## Run\n\n")
	t := table{head: []string{"input", "rows", "format"}, align: "lrl"}
	var rows int64
	for _, in := range m.Inputs {
		rows += in.Rows
		t.add(code(in.Path, true), strconv.FormatInt(in.Rows, 10), in.Format)
	}
	if len(m.Inputs) > 1 {
		t.add(fmt.Sprintf("**%d files**", len(m.Inputs)), "**"+strconv.FormatInt(rows, 10)+"**", "")
	}
	t.write(b)
	b.WriteString("\n")

	var mp []string
	for _, p := range m.Mapping.Pairs() {
		kv := strings.SplitN(p, "=", 2)
		mp = append(mp, kv[0]+" "+code(kv[1], false))
	}
	if len(m.Mapping.By) > 0 {
		var by []string
		for _, c := range m.Mapping.By {
			by = append(by, code(c, false))
		}
		mp = append(mp, "by "+strings.Join(by, ", "))
	}
	if len(mp) > 0 {
		fmt.Fprintf(b, "- **mapping:** %s\n", strings.Join(mp, ", "))
	}
	if m.Kind == metrics.Gaussian {
		fmt.Fprintf(b, "- **units:** NLL in %s (%s); a density's NLL has no perplexity\n", m.Units, unitBase(m.Units))
	} else {
		fmt.Fprintf(b, "- **units:** NLL in %s (%s); perplexity does not depend on the unit\n", m.Units, unitBase(m.Units))
	}
	if m.Bootstrap != nil || m.Overall.NLLStderr != nil {
		b.WriteString("- **digits:** each figure is shown to the digits its standard error (±) or 95% interval ([lo, hi]) supports; the JSON report has every digit\n")
	}
	if m.Clips {
		if m.Eps > 0 {
			fmt.Fprintf(b, "- **eps:** %s: probabilities are clipped to [eps, 1 − eps] before the log\n", strconv.FormatFloat(m.Eps, 'g', -1, 64))
		} else {
			b.WriteString("- **eps:** 0: probabilities are not clipped\n")
		}
	}
	if m.Kind.HasCalibration() {
		n := len(m.Overall.Calibration)
		fmt.Fprintf(b, "- **calibration:** %d %s %s, %s; confidence is %s\n", n, m.Binning, plural(n, "bin", "bins"), m.edgeRule(), confidenceOf(m.Kind))
	}
	if len(notes) > 0 {
		var refs strings.Builder
		for i := range notes {
			fmt.Fprintf(&refs, "[^%d]", i+1)
		}
		fmt.Fprintf(b, "- **warnings:** %d, in the notes at the end%s\n", len(notes), refs.String())
	}
}

func (m *Model) edgeRule() string {
	if m.Binning == metrics.Quantile {
		return quantileEdgeRule
	}
	return EdgeRule
}

func unitBase(u metrics.Units) string {
	switch u {
	case metrics.Bits:
		return "log base 2"
	case metrics.Hartleys:
		return "log base 10"
	}
	return "natural log"
}

func confidenceOf(k metrics.Kind) string {
	switch k {
	case metrics.Multiclass:
		return "the top class's probability and the outcome whether it is the true class"
	case metrics.Multilabel:
		return "each label's probability and the outcome that label"
	}
	return "P(y=1) and the outcome y"
}

// nllLabel names the NLL figure: per sequence for token lists.
func (m *Model) nllLabel() string {
	if m.Overall.Tokens != nil {
		return "NLL per sequence"
	}
	return "NLL"
}

func (m *Model) mdOverall(b *bytes.Buffer) {
	f := &m.Overall
	b.WriteString("\n## Overall\n\n")
	t := table{head: []string{"figure", "value"}, align: "lr"}
	t.add("rows", strconv.FormatInt(f.Rows, 10))
	if m.weighted() {
		t.add("weight", fmtCount(f.Weight))
	}
	if f.Tokens != nil {
		t.add("tokens", fmtCount(*f.Tokens))
	}
	if f.NLLStderr != nil {
		t.add(fmt.Sprintf("%s ± stderr (%s)", m.nllLabel(), m.Units), m.figure("nll", f.NLL, f.NLLStderr))
	} else {
		t.add(fmt.Sprintf("%s (%s)", m.nllLabel(), m.Units), m.figure("nll", f.NLL, nil))
	}
	if f.NLLPerToken != nil {
		t.add(fmt.Sprintf("NLL per token (%s)", m.Units), m.figure("nll_per_token", *f.NLLPerToken, nil))
	}
	switch {
	case m.Kind == metrics.Gaussian:
		// exp of a density's NLL is no perplexity: not shown.
	case f.Tokens != nil:
		t.add("perplexity (per token)", m.perplexity(f, "nll_per_token"))
	default:
		t.add("perplexity", m.perplexity(f, "nll"))
	}
	opt := func(k, metric string, v *float64) {
		if v != nil {
			t.add(k, m.figure(metric, *v, nil))
		}
	}
	opt("accuracy", "accuracy", f.Accuracy)
	opt("Brier", "brier", f.Brier)
	opt("ECE", "ece", f.ECE)
	opt("MCE", "", f.MCE)
	if f.TopK != nil {
		t.add(fmt.Sprintf("top-%d accuracy", f.TopKN), m.figure(fmt.Sprintf("accuracy_top%d", f.TopKN), *f.TopK, nil))
	}
	opt("AUROC", "auroc", f.AUROC)
	opt("AUPRC", "auprc", f.AUPRC)
	if g := f.Gauss; g != nil {
		t.add("RMSE", m.figure("rmse", g.RMSE, nil))
		t.add("MAE", m.figure("mae", g.MAE, nil))
		t.add("CRPS", m.figure("crps", g.CRPS, nil))
		t.add("coverage of the 50% / 90% / 95% intervals", Fmt(g.Coverage[0])+" / "+Fmt(g.Coverage[1])+" / "+Fmt(g.Coverage[2]))
	}
	if f.Clipped != nil {
		t.add("clipped", strconv.FormatInt(*f.Clipped, 10))
	}
	for _, r := range skippedOrder(f.Skipped) {
		t.add("skipped: "+r, strconv.FormatInt(f.Skipped[r], 10))
	}
	t.write(b)
	if m.Bootstrap != nil {
		fmt.Fprintf(b, "\nIntervals in brackets are 95%% bootstrap intervals (%d replicates, seed %d).\n", m.Bootstrap.Config.Replicates, m.Bootstrap.Config.Seed)
	}
}

// interval is the bootstrap interval of a metric in the report's units.
func (m *Model) interval(metric string) (lo, hi float64, ok bool) {
	if m.Bootstrap == nil || metric == "" {
		return 0, 0, false
	}
	for i, name := range m.Bootstrap.Metrics {
		if name == metric {
			return m.Bootstrap.Lo[i], m.Bootstrap.Hi[i], true // in units already (metrics' Summary)
		}
	}
	return 0, 0, false
}

// figure formats an overall figure with its standard error (se, or nil)
// and its bootstrap interval when it has them, to the digits they
// support: the standard error decides when there is one, else the
// interval's half-width.
func (m *Model) figure(metric string, v float64, se *float64) string {
	lo, hi, ok := m.interval(metric)
	switch {
	case se != nil:
		d, known := decimalsFor(*se)
		if !known {
			s := Fmt(v) + " ± " + Fmt(*se)
			if ok {
				s += " [" + Fmt(lo) + ", " + Fmt(hi) + "]"
			}
			return s
		}
		s := fmtDecimals(v, d) + " ± " + fmtDecimals(*se, d)
		if ok {
			s += " [" + fmtDecimals(lo, d) + ", " + fmtDecimals(hi, d) + "]"
		}
		return s
	case ok:
		return fmtInterval(v, lo, hi)
	}
	return Fmt(v)
}

// perplexity formats exp(NLL in nats) to the digits the uncertainty of the
// NLL it comes from (metric: nll or nll_per_token) supports: a change of
// u nats in the NLL moves the perplexity by about perplexity × u.
func (m *Model) perplexity(f *metrics.Figures, metric string) string {
	u := math.NaN()
	if lo, hi, ok := m.interval(metric); ok {
		u = (hi - lo) / 2
	} else if metric == "nll" && f.NLLStderr != nil {
		u = *f.NLLStderr
	}
	return fmtUncertain(f.Perplexity, f.Perplexity*u*m.Units.Scale())
}

func (m *Model) mdCalibration(b *bytes.Buffer, path string) {
	if !m.Kind.HasCalibration() {
		return
	}
	cal := m.Overall.Calibration
	b.WriteString("\n## Calibration\n\n")
	if m.ImageLink != "" {
		fmt.Fprintf(b, "![reliability diagram](%s)\n\n", relLink(m.ImageLink, path))
	}
	head := []string{"bin", "range", "count"}
	align := "rlr"
	if m.weighted() {
		head = append(head, "weight")
		align += "r"
	}
	head = append(head, "confidence", "outcome", "gap")
	align += "rrr"
	t := table{head: head, align: align}
	empty := 0
	for i, c := range cal {
		if c.Confidence == nil && len(cal) > maxListedBins {
			empty++
			continue
		}
		row := []string{strconv.Itoa(i + 1), m.binRange(i, c), strconv.FormatInt(c.Count, 10)}
		if m.weighted() {
			row = append(row, fmtCount(c.Weight))
		}
		if c.Confidence != nil && c.Outcome != nil {
			row = append(row, Fmt(*c.Confidence), Fmt(*c.Outcome), signedFmt(*c.Outcome-*c.Confidence))
		} else {
			row = append(row, "—", "—", "—")
		}
		t.add(row...)
	}
	t.write(b)
	b.WriteString("\ngap is outcome − confidence: above 0 the model is under-confident in that bin, below 0 over-confident.")
	if empty > 0 {
		fmt.Fprintf(b, " %d empty %s not listed.", empty, plural(empty, "bin is", "bins are"))
	}
	b.WriteString("\n")
}

// mdPIT is the Gaussian's calibration: the PIT histogram.
func (m *Model) mdPIT(b *bytes.Buffer) {
	if m.Overall.Gauss == nil {
		return
	}
	b.WriteString("\n## Calibration (PIT histogram)\n\n")
	t := table{head: []string{"bin", "PIT range", "count", "share"}, align: "rlrr"}
	for i, c := range m.Overall.Calibration {
		t.add(strconv.Itoa(i+1), "["+Fmt(c.Lo)+", "+Fmt(c.Hi)+")", strconv.FormatInt(c.Count, 10), Fmt(c.Weight/m.Overall.Weight))
	}
	t.write(b)
	b.WriteString("\nPIT = Φ((y − mean)/std): a calibrated model gives a flat histogram; a U shape is over-confident (too narrow), a hump under-confident.\n")
}

// mdCalibrationDetail lists the calibration figures beyond ECE and MCE.
func (m *Model) mdCalibrationDetail(b *bytes.Buffer) {
	d := &m.Overall.Detail
	if !m.Kind.HasCalibration() || d.RMSCE == nil {
		return
	}
	b.WriteString("\n## Calibration detail\n\n")
	t := table{head: []string{"figure", "value"}, align: "lr"}
	opt := func(k string, v *float64) {
		if v != nil {
			t.add(k, Fmt(*v))
		}
	}
	opt("class-wise ECE", d.ClasswiseECE)
	opt("RMSCE", d.RMSCE)
	opt("L2-CE, debiased", d.L2CEDebiased)
	opt("Brier reliability", d.BrierReliability)
	opt("Brier resolution", d.BrierResolution)
	opt("Brier uncertainty", d.BrierUncertainty)
	if d.ECESweep != nil && d.ECESweepBins != nil {
		t.add("ECE, monotone sweep", Fmt(*d.ECESweep)+" ("+strconv.Itoa(*d.ECESweepBins)+" equal-mass bins)")
	}
	if d.SmECE != nil && d.SmECESigma != nil {
		t.add("smooth ECE", Fmt(*d.SmECE)+" (σ = "+Fmt(*d.SmECESigma)+")")
	}
	if f := &m.Overall; f.AUROCTies != nil {
		t.add("AUROC: tie bound (cells)", Fmt(*f.AUROCTies))
	}
	if f := &m.Overall; f.AUROC != nil && f.AUROCSE != nil && !math.IsNaN(*f.AUROCSE) {
		lo, hi := max(0, *f.AUROC-1.96**f.AUROCSE), min(1, *f.AUROC+1.96**f.AUROCSE)
		t.add("AUROC: DeLong 95% interval", "["+Fmt(lo)+", "+Fmt(hi)+"]")
	}
	t.write(b)
	b.WriteString("\nOver the calibration bins: Brier reliability − resolution + uncertainty is the Brier score of the bins' mean confidences (the within-bin spread is left out).\n")
}

// binRange formats a bin's edges by the binning's rule.
func (m *Model) binRange(i int, c metrics.BinFigures) string {
	if m.Binning == metrics.Quantile {
		if math.IsNaN(c.Lo) || math.IsNaN(c.Hi) {
			return "—"
		}
		return "[" + Fmt(c.Lo) + ", " + Fmt(c.Hi) + "]"
	}
	if i == len(m.Overall.Calibration)-1 {
		return "[" + Fmt(c.Lo) + ", " + Fmt(c.Hi) + "]"
	}
	return "[" + Fmt(c.Lo) + ", " + Fmt(c.Hi) + ")"
}

// perToken is a slice's NLL per token, ranking a slice of empty lists as 0.
func perToken(f *metrics.Figures) float64 {
	if f.NLLPerToken == nil || math.IsNaN(*f.NLLPerToken) && f.Tokens != nil && *f.Tokens == 0 {
		return 0
	}
	return *f.NLLPerToken
}

// shownSlices returns the slices with at least MinSliceSize rows, sorted by
// NLL descending, or for token lists by NLL per token (NaN first, then ties
// in key order), and how many were hidden.
func (m *Model) shownSlices() (shown []*metrics.SliceFigures, hidden int) {
	for i := range m.Slices {
		s := &m.Slices[i]
		if s.Rows < m.MinSliceSize {
			hidden++
			continue
		}
		shown = append(shown, s)
	}
	tokens := m.Overall.Tokens != nil
	sort.SliceStable(shown, func(i, j int) bool {
		a, b := shown[i].NLL, shown[j].NLL
		if tokens {
			a, b = perToken(&shown[i].Figures), perToken(&shown[j].Figures)
		}
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.IsNaN(a) && !math.IsNaN(b)
		}
		return a > b
	})
	return shown, hidden
}

func (m *Model) mdSlices(b *bytes.Buffer) {
	if len(m.Mapping.By) == 0 && len(m.Slices) == 0 {
		return
	}
	var by []string
	for _, c := range m.Mapping.By {
		by = append(by, code(c, false))
	}
	fmt.Fprintf(b, "\n## Slices by %s\n\n", strings.Join(by, ", "))
	shown, hidden := m.shownSlices()
	n := len(m.Slices)
	switch {
	case n == 0:
		b.WriteString("No slices.\n")
		return
	case len(shown) == 0:
		fmt.Fprintf(b, "All %d %s fewer than %d rows and %s hidden (the JSON report lists every slice).\n", n, plural(n, "slice has", "slices have"), m.MinSliceSize, plural(n, "is", "are"))
		return
	}
	order := "highest NLL first"
	if m.Overall.Tokens != nil {
		order = "highest NLL per token first"
	}
	fmt.Fprintf(b, "%d %s, %s.", n, plural(n, "slice", "slices"), order)
	if hidden > 0 {
		fmt.Fprintf(b, " %d %s fewer than %d rows %s hidden (the JSON report lists every slice).", hidden, plural(hidden, "slice with", "slices with"), m.MinSliceSize, plural(hidden, "is", "are"))
	}
	b.WriteString("\n\n")

	has := func(get func(f *metrics.Figures) bool) bool {
		for _, s := range shown {
			if get(&s.Figures) {
				return true
			}
		}
		return false
	}
	hasTok := has(func(f *metrics.Figures) bool { return f.Tokens != nil })
	hasSE := has(func(f *metrics.Figures) bool { return f.NLLStderr != nil })
	hasPT := has(func(f *metrics.Figures) bool { return f.NLLPerToken != nil })
	hasAcc := has(func(f *metrics.Figures) bool { return f.Accuracy != nil })
	hasBrier := has(func(f *metrics.Figures) bool { return f.Brier != nil })
	hasECE := has(func(f *metrics.Figures) bool { return f.ECE != nil })

	var head []string
	align := ""
	for i := range shown[0].By {
		name := fmt.Sprintf("by[%d]", i)
		if i < len(m.Mapping.By) {
			name = m.Mapping.By[i]
		}
		head = append(head, esc(name))
		align += "l"
	}
	col := func(h string) { head = append(head, h); align += "r" }
	col("rows")
	if m.weighted() {
		col("weight")
	}
	if hasTok {
		col("tokens")
	}
	if hasPT {
		col(fmt.Sprintf("NLL per token (%s)", m.Units))
	}
	col(fmt.Sprintf("%s (%s)", m.nllLabel(), m.Units))
	if hasSE {
		col("± stderr")
	}
	if m.Kind != metrics.Gaussian {
		col("perplexity")
	}
	if hasAcc {
		col("accuracy")
	}
	if hasBrier {
		col("Brier")
	}
	if hasECE {
		col("ECE")
	}
	t := table{head: head, align: align}
	for _, s := range shown {
		f := &s.Figures
		var row []string
		for _, v := range s.By {
			row = append(row, valueCell(v))
		}
		row = append(row, strconv.FormatInt(f.Rows, 10))
		if m.weighted() {
			row = append(row, fmtCount(f.Weight))
		}
		if hasTok {
			if f.Tokens != nil {
				row = append(row, fmtCount(*f.Tokens))
			} else {
				row = append(row, "—")
			}
		}
		if hasPT {
			row = append(row, optFmt(f.NLLPerToken))
		}
		if f.NLLStderr != nil {
			d, ok := decimalsFor(*f.NLLStderr)
			if ok {
				row = append(row, fmtDecimals(f.NLL, d), fmtDecimals(*f.NLLStderr, d))
			} else {
				row = append(row, Fmt(f.NLL), Fmt(*f.NLLStderr))
			}
		} else {
			row = append(row, Fmt(f.NLL))
			if hasSE {
				row = append(row, "—")
			}
		}
		if m.Kind != metrics.Gaussian {
			u := math.NaN()
			if f.NLLStderr != nil && f.Tokens == nil {
				u = *f.NLLStderr * m.Units.Scale()
			}
			row = append(row, fmtUncertain(f.Perplexity, f.Perplexity*u))
		}
		if hasAcc {
			row = append(row, optFmt(f.Accuracy))
		}
		if hasBrier {
			row = append(row, optFmt(f.Brier))
		}
		if hasECE {
			row = append(row, optFmt(f.ECE))
		}
		t.add(row...)
	}
	t.write(b)
}

func (m *Model) mdPerClass(b *bytes.Buffer) {
	if m.PerClass == nil {
		return
	}
	b.WriteString("\n## Per true class\n\n")
	head := []string{"class", "rows"}
	align := "rr"
	if m.weighted() {
		head = append(head, "weight")
		align += "r"
	}
	head = append(head, fmt.Sprintf("NLL (%s)", m.Units), "accuracy", "mean confidence")
	align += "rrr"
	ece := len(m.PerClass) > 0 && m.PerClass[0].ECE != nil
	if ece {
		head = append(head, "one-vs-rest ECE")
		align += "r"
	}
	t := table{head: head, align: align}
	for _, c := range m.PerClass {
		class := strconv.Itoa(c.Class)
		if c.Name != "" {
			class = code(c.Name, true) + " (" + class + ")"
		}
		row := []string{class, strconv.FormatInt(c.Rows, 10)}
		if m.weighted() {
			row = append(row, fmtCount(c.Weight))
		}
		row = append(row, Fmt(c.NLL), Fmt(c.Accuracy), Fmt(c.MeanConfidence))
		if ece {
			row = append(row, optFmt(c.ECE))
		}
		t.add(row...)
	}
	t.write(b)
}

// mdLM is the language-model section, when byte or word counts were
// given: the counts, NLL per token, byte and word, and the perplexities.
func (m *Model) mdLM(b *bytes.Buffer) {
	f := &m.Overall
	if f.Bytes == nil && f.Words == nil {
		return
	}
	b.WriteString("\n## Language model\n\n")
	t := table{head: []string{"figure", "per token", "per byte", "per word"}, align: "lrrr"}
	cell := func(v *float64) string {
		if v == nil {
			return "—"
		}
		return Fmt(*v)
	}
	per := func(n *float64) *float64 {
		if n == nil {
			return nil
		}
		v := f.NLLSum / *n
		return &v
	}
	t.add("count", cell(f.Tokens), cell(f.Bytes), cell(f.Words))
	if m.Units == metrics.Bits && f.BitsPerByte != nil {
		// The per-byte NLL is bits per byte: its own figure and interval.
		t.add("NLL (bits)", cell(per(f.Tokens)), m.figure("bits_per_byte", *f.BitsPerByte, nil), cell(per(f.Words)))
	} else {
		t.add(fmt.Sprintf("NLL (%s)", m.Units), cell(per(f.Tokens)), cell(per(f.Bytes)), cell(per(f.Words)))
		if f.BitsPerByte != nil {
			t.add("bits per byte", "", m.figure("bits_per_byte", *f.BitsPerByte, nil), "")
		}
	}
	var tokPPL string
	if f.Tokens != nil {
		tokPPL = Fmt(f.Perplexity)
	} else {
		tokPPL = "—"
	}
	ppl := func(v *float64, metric string) string {
		if v == nil {
			return "—"
		}
		return m.figure(metric, *v, nil)
	}
	t.add("perplexity", tokPPL, ppl(f.BytePerplexity, "byte_perplexity"), ppl(f.WordPerplexity, "word_perplexity"))
	t.write(b)
	b.WriteString("\nPer byte and per word figures do not depend on the tokenizer: compare models with them. Bits per byte is Σ NLL ÷ (Σ bytes · ln 2), in bits whatever the units; byte perplexity is 2^(bits per byte), word perplexity exp(Σ NLL in nats ÷ Σ words).\n")
}

func (m *Model) mdWorst(b *bytes.Buffer) {
	if m.Worst == nil {
		return
	}
	b.WriteString("\n## Worst rows\n\n")
	if len(m.Worst) == 0 {
		b.WriteString("No rows.\n")
		return
	}
	if m.WorstPerToken != nil {
		// Token lists: ranked by NLL per token (per sequence mostly
		// tracks length); the JSON also lists the rows by NLL per
		// sequence (worst).
		b.WriteString("Highest NLL per token first.\n\n")
		t := table{head: []string{"#", "id", "tokens", fmt.Sprintf("NLL per token (%s)", m.Units), fmt.Sprintf("NLL per sequence (%s)", m.Units)}, align: "rlrrr"}
		for i, w := range m.WorstPerToken {
			tok := "—"
			if w.Tokens != nil {
				tok = fmtCount(*w.Tokens)
			}
			t.add(strconv.Itoa(i+1), valueCell(w.ID), tok, optFmt(w.NLLPerToken), Fmt(w.NLL))
		}
		t.write(b)
		return
	}
	head := []string{"#", "id"}
	align := "rl"
	hasLabel := m.Mapping.Label != ""
	if hasLabel {
		head, align = append(head, "label "+code(m.Mapping.Label, true)), align+"l"
	}
	pred := m.predColumns()
	for _, h := range pred {
		head, align = append(head, h), align+"r"
	}
	head, align = append(head, fmt.Sprintf("%s (%s)", m.nllLabel(), m.Units)), align+"r"
	t := table{head: head, align: align}
	for i, w := range m.Worst {
		row := []string{strconv.Itoa(i + 1), valueCell(w.ID)}
		if hasLabel {
			row = append(row, valueCell(w.Label))
		}
		switch len(pred) {
		case 1:
			row = append(row, optFmt(w.Pred))
		case 2:
			if m.Kind == metrics.Multiclass {
				c := "—"
				if w.PredClass != nil {
					c = strconv.Itoa(*w.PredClass)
				}
				row = append(row, c, optFmt(w.Pred))
			} else {
				row = append(row, optFmt(w.Pred), optFmt(w.Scale))
			}
		}
		row = append(row, Fmt(w.NLL))
		t.add(row...)
	}
	t.write(b)
}

// predColumns heads the prediction columns of the worst rows table.
func (m *Model) predColumns() []string {
	switch m.Kind {
	case metrics.Binary:
		if m.Mapping.Logit != "" {
			return []string{"logit " + code(m.Mapping.Logit, true)}
		}
		if m.Mapping.Prob != "" {
			return []string{"P(y=1) " + code(m.Mapping.Prob, true)}
		}
	case metrics.Multiclass:
		return []string{"top class", "its probability"}
	case metrics.Gaussian:
		if m.Mapping.Var != "" {
			return []string{"mean " + code(m.Mapping.Mean, true), "var " + code(m.Mapping.Var, true)}
		}
		return []string{"mean " + code(m.Mapping.Mean, true), "std " + code(m.Mapping.Std, true)}
	}
	return nil
}

func (m *Model) mdGates(b *bytes.Buffer) {
	if m.Gates == nil {
		return
	}
	failed, hasBase := 0, false
	for _, g := range m.Gates {
		if g.Failed {
			failed++
		}
		if g.Base != nil {
			hasBase = true
		}
	}
	n := len(m.Gates)
	switch {
	case n == 0:
		b.WriteString("\n## Gates\n\nNo gates.\n")
		return
	case failed == 0:
		fmt.Fprintf(b, "\n## Gates: pass\n\nAll %d %s passed.\n\n", n, plural(n, "gate", "gates"))
	default:
		fmt.Fprintf(b, "\n## Gates: FAIL\n\n**%d of %d %s failed.**\n\n", failed, n, plural(n, "gate", "gates"))
	}
	head := []string{"gate", "value"}
	align := "lr"
	if hasBase {
		head = append(head, "base")
		align += "r"
	}
	head = append(head, "result", "message")
	align += "ll"
	t := table{head: head, align: align}
	for _, g := range m.Gates {
		row := []string{code(g.Expr, true), Fmt(g.Value)}
		if hasBase {
			row = append(row, optFmt(g.Base))
		}
		res := "pass"
		if g.Failed {
			res = "**FAIL**"
		}
		msg := esc(g.Message)
		if msg == "" {
			msg = "—"
		}
		row = append(row, res, msg)
		t.add(row...)
	}
	t.write(b)
}

// table is a GitHub-flavoured markdown table; align holds one of l, r or c
// per column.
type table struct {
	head  []string
	align string
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(b *bytes.Buffer) {
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" ")
			b.WriteString(c)
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		switch t.align[i] {
		case 'r':
			sep[i] = "---:"
		case 'c':
			sep[i] = ":---:"
		default:
			sep[i] = ":---"
		}
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
}

func optFmt(v *float64) string {
	if v == nil {
		return "—"
	}
	return Fmt(*v)
}

func signedFmt(v float64) string {
	if v > 0 {
		return "+" + Fmt(v)
	}
	return Fmt(v)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// valueCell formats a --by or --id value for a table cell: strings in code
// font (an empty string shows as *empty*), null in italics.
func valueCell(v metrics.Value) string {
	switch v.Kind {
	case metrics.VNull:
		return "*null*"
	case metrics.VString:
		return code(v.S, true)
	}
	return v.String()
}

// code formats s as a code span. In a table cell, | is escaped as GFM
// requires even inside code spans.
func code(s string, inTable bool) string {
	s = oneLineText(s)
	if s == "" {
		return "*empty*"
	}
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || (strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "") {
		s = " " + s + " "
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return fence + s + fence
}

// esc escapes the markdown punctuation of plain text (safe in table cells).
func esc(s string) string {
	s = oneLineText(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~&#!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// oneLineText puts s on one line, and escapes the characters that are not
// printable (ESC, BEL, NUL ...: see Escape), so that no name read from a
// file carries them into the report.
func oneLineText(s string) string {
	return Escape(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s))
}

// relLink is img relative to the directory of the markdown file mdPath, as
// a URL path. It never turns a relative path the user gave into an absolute
// one.
func relLink(img, mdPath string) string {
	rel := img
	if mdPath != "" && mdPath != "-" {
		dir := filepath.Dir(mdPath)
		a, b := dir, img
		if filepath.IsAbs(a) != filepath.IsAbs(b) {
			var err1, err2 error
			a, err1 = filepath.Abs(a)
			b, err2 = filepath.Abs(b)
			if err1 != nil || err2 != nil {
				a, b = dir, img
			}
		}
		if r, err := filepath.Rel(a, b); err == nil {
			rel = r
		} else if filepath.IsAbs(img) {
			rel = img
		}
	}
	rel = filepath.ToSlash(rel)
	// A colon in the first segment would read as a URL scheme.
	if first, _, _ := strings.Cut(rel, "/"); strings.Contains(first, ":") {
		rel = "./" + rel
	}
	u := url.URL{Path: rel}
	return strings.NewReplacer("(", "%28", ")", "%29").Replace(u.EscapedPath())
}
