package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/evalnll/evalnll/internal/metrics"
)

// compareOrder is the order figures are listed in a comparison.
var compareOrder = []string{"rows", "weight", "tokens", "nll", "nll_per_token", "nll_stderr", "perplexity", "accuracy", "brier", "ece", "mce", "clipped",
	"bytes", "bits_per_byte", "byte_perplexity", "words", "word_perplexity"}

// higherIsBetter names the figures where a rise is an improvement.
var higherIsBetter = map[string]bool{"accuracy": true}

// judged figures get a verdict; the rest are context.
var judged = map[string]bool{"nll": true, "nll_per_token": true, "perplexity": true, "accuracy": true, "brier": true, "ece": true, "mce": true,
	"bits_per_byte": true, "byte_perplexity": true, "word_perplexity": true}

// CompareRow is one figure of a comparison.
type CompareRow struct {
	Metric    string
	Base, New float64
	// Paired is set when the bootstrap replicates paired: Lo and Hi are
	// the 95% interval of New - Base.
	Paired  bool
	Lo, Hi  float64
	Verdict string
}

// Comparison is the diff of two reports.
type Comparison struct {
	Overall []CompareRow
	// Slices maps a slice selector ("model=a") to its rows (point
	// estimates), in key order.
	Slices []SliceCompare
	// Unpaired says why intervals were not available, or "".
	Unpaired string
	// Notes are caveats (a baseline converted to other units, figures
	// whose settings differ), in first-seen order.
	Notes []string
	Gates []Gate
}

// MarkMismatches gives the figures that are defined by a setting that
// differs between base and cur (see Mismatch) the verdict "not comparable"
// and no interval, and notes each setting once.
func (c *Comparison) MarkMismatches(base, cur Doc) {
	mark := func(r *CompareRow) {
		s, ok := Mismatch(base, cur, r.Metric)
		if !ok {
			return
		}
		r.Paired = false
		r.Verdict = fmt.Sprintf("not comparable (%s %s vs %s)", s.Flag, s.Base, s.Cur)
		note := fmt.Sprintf("the baseline was made with %s %s, the new run with %s %s: figures that depend on it are not compared", s.Flag, s.Base, s.Flag, s.Cur)
		for _, n := range c.Notes {
			if n == note {
				return
			}
		}
		c.Notes = append(c.Notes, note)
	}
	for i := range c.Overall {
		mark(&c.Overall[i])
	}
	for i := range c.Slices {
		for j := range c.Slices[i].Rows {
			mark(&c.Slices[i].Rows[j])
		}
	}
}

// SliceCompare is one slice present in both reports.
type SliceCompare struct {
	Key  string
	Rows []CompareRow
}

// Delta is New - Base.
func (r CompareRow) Delta() float64 { return r.New - r.Base }

// Compare diffs two parsed reports.
func Compare(base, cur Doc) *Comparison {
	c := &Comparison{}
	for _, k := range compareOrder {
		b, ok1 := base.Lookup(k)
		n, ok2 := cur.Lookup(k)
		if !ok1 || !ok2 {
			continue
		}
		row := CompareRow{Metric: k, Base: b, New: n}
		if bs, cs, why := Pair(base, cur, k); why == "" {
			d := make([]float64, len(bs))
			for i := range bs {
				d[i] = cs[i] - bs[i]
			}
			row.Paired = true
			row.Lo, row.Hi = metrics.Percentile95(d)
		} else if judged[k] && k != "perplexity" && k != "mce" && c.Unpaired == "" {
			c.Unpaired = why
		}
		row.Verdict = verdict(row)
		c.Overall = append(c.Overall, row)
	}
	// Slices present in both, by selector text.
	bs := sliceMap(base)
	cs := sliceMap(cur)
	var keys []string
	for k := range cs {
		if _, ok := bs[k]; ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		sc := SliceCompare{Key: k}
		for _, m := range []string{"rows", "nll", "accuracy", "brier", "ece"} {
			b, ok1 := num(bs[k][m])
			n, ok2 := num(cs[k][m])
			if ok1 && ok2 {
				row := CompareRow{Metric: m, Base: b, New: n}
				row.Verdict = verdict(row)
				sc.Rows = append(sc.Rows, row)
			}
		}
		c.Slices = append(c.Slices, sc)
	}
	return c
}

func sliceMap(d Doc) map[string]map[string]any {
	out := map[string]map[string]any{}
	sl, _ := d["slices"].([]any)
	for _, x := range sl {
		s, _ := x.(map[string]any)
		by, _ := s["by"].(map[string]any)
		var ks []string
		for k := range by {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var parts []string
		for _, k := range ks {
			parts = append(parts, k+"="+valueText(by[k]))
		}
		out[strings.Join(parts, ",")] = s
	}
	return out
}

// verdict: with a paired interval, "worse" or "better" when it excludes 0,
// else "within noise"; without one, the direction of the point change.
func verdict(r CompareRow) string {
	if !judged[r.Metric] {
		return ""
	}
	d := r.Delta()
	if math.IsNaN(d) {
		return "n/a"
	}
	worse := d > 0
	if higherIsBetter[r.Metric] {
		worse = d < 0
	}
	if r.Paired {
		if r.Lo <= 0 && r.Hi >= 0 {
			return "within noise"
		}
	} else if d == 0 {
		return "same"
	}
	v := "better"
	if worse {
		v = "worse"
	}
	if !r.Paired {
		v += " (point)"
	}
	return v
}

func pct(r CompareRow) string {
	if r.Base == 0 || math.IsNaN(r.Delta()) {
		return "-"
	}
	return fmt.Sprintf("%+.2f%%", 100*r.Delta()/math.Abs(r.Base))
}

func ivText(r CompareRow) string {
	if !r.Paired {
		return "-"
	}
	return "[" + signed(r.Lo) + ", " + signed(r.Hi) + "]"
}

func signed(d float64) string {
	if d > 0 {
		return "+" + Fmt(d)
	}
	return Fmt(d)
}

// Text writes the comparison as aligned columns.
func (c *Comparison) Text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tbase\tnew\tΔ\tΔ%\t95% CI of Δ\tverdict")
	for _, r := range c.Overall {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Metric, Fmt(r.Base), Fmt(r.New), signed(r.Delta()), pct(r), ivText(r), r.Verdict)
	}
	for _, s := range c.Slices {
		for _, r := range s.Rows {
			fmt.Fprintf(tw, "[%s] %s\t%s\t%s\t%s\t%s\t%s\t%s\n", Escape(s.Key), r.Metric, Fmt(r.Base), Fmt(r.New), signed(r.Delta()), pct(r), "-", r.Verdict)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.Unpaired != "" {
		fmt.Fprintf(w, "not paired: %s; verdicts compare point estimates\n", Escape(c.Unpaired))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	// A failure's message goes to stderr (the caller's), as eval's do.
	for _, g := range c.Gates {
		st, text := "pass", gateText(g)
		if g.Failed {
			st, text = "FAIL", gateShort(g)
		}
		fmt.Fprintf(w, "gate %s: %s\n", st, Escape(text))
	}
	return nil
}

// gateShort is a gate without its message.
func gateShort(g Gate) string {
	g.Message = ""
	return gateText(g)
}

func gateText(g Gate) string {
	if g.Message != "" {
		return g.Message
	}
	s := fmt.Sprintf("%s (value %s", g.Expr, Fmt(g.Value))
	if g.Base != nil {
		s += ", base " + Fmt(*g.Base)
	}
	if g.Paired {
		s += ", 95% CI of the change [" + signed(g.DeltaLo) + ", " + signed(g.DeltaHi) + "]"
	}
	return s + ")"
}

// Markdown writes the comparison as GitHub-flavoured markdown, for
// $GITHUB_STEP_SUMMARY and pull-request comments.
func (c *Comparison) Markdown(w io.Writer) error {
	var b strings.Builder
	failed := false
	for _, g := range c.Gates {
		failed = failed || g.Failed
	}
	title := "### evalnll: comparison with the baseline"
	if len(c.Gates) > 0 {
		if failed {
			title += " — ❌ gate failed"
		} else {
			title += " — ✅ gates passed"
		}
	}
	b.WriteString(title + "\n\n")
	b.WriteString("| metric | base | new | Δ | Δ% | 95% CI of Δ | verdict |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range c.Overall {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Metric, Fmt(r.Base), Fmt(r.New), signed(r.Delta()), pct(r), ivText(r), r.Verdict)
	}
	if c.Unpaired != "" {
		fmt.Fprintf(&b, "\nIntervals not paired: %s; verdicts compare point estimates.\n", esc(c.Unpaired))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "\nNote: %s.\n", n)
	}
	if len(c.Slices) > 0 {
		b.WriteString("\n<details><summary>Slices</summary>\n\n| slice | metric | base | new | Δ | Δ% | verdict |\n|---|---|---:|---:|---:|---:|---|\n")
		for _, s := range c.Slices {
			for _, r := range s.Rows {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", code(s.Key, true), r.Metric, Fmt(r.Base), Fmt(r.New), signed(r.Delta()), pct(r), r.Verdict)
			}
		}
		b.WriteString("\n</details>\n")
	}
	if len(c.Gates) > 0 {
		b.WriteString("\n**Gates**\n\n")
		for _, g := range c.Gates {
			mark := "✅"
			if g.Failed {
				mark = "❌"
			}
			fmt.Fprintf(&b, "- %s %s\n", mark, esc(gateText(g)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
