package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/metrics"
)

// Fmt formats a figure with fixed significant digits for people: the same
// value always gives the same bytes.
func Fmt(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case f == 0:
		return "0"
	}
	a := math.Abs(f)
	if a >= 1e6 || a < 1e-4 {
		return strconv.FormatFloat(f, 'e', 4, 64)
	}
	s := strconv.FormatFloat(f, 'g', 6, 64)
	if strings.ContainsRune(s, 'e') {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// Text writes a short aligned summary for a terminal.
func (m *Model) Text(w io.Writer) error {
	var b strings.Builder
	in := "input"
	if len(m.Inputs) != 1 {
		in = "inputs"
	}
	var rows int64
	for _, x := range m.Inputs {
		rows += x.Rows
	}
	fmt.Fprintf(&b, "evalnll: %s, %d %s, %d rows read, NLL in %s\n", m.Kind, len(m.Inputs), in, rows, m.Units)
	type line struct{ k, v string }
	f := &m.Overall
	ls := []line{{"rows", strconv.FormatInt(f.Rows, 10)}, {"weight", Fmt(f.Weight)}}
	if f.Tokens != nil {
		ls = append(ls, line{"tokens", Fmt(*f.Tokens)})
	}
	nll := Fmt(f.NLL)
	if f.NLLStderr != nil {
		nll += " ± " + Fmt(*f.NLLStderr)
	}
	ls = append(ls, line{"nll", nll})
	if f.NLLPerToken != nil {
		ls = append(ls, line{"nll/token", Fmt(*f.NLLPerToken)})
	}
	ls = append(ls, line{"perplexity", Fmt(f.Perplexity)})
	opt := func(k string, v *float64) {
		if v != nil {
			ls = append(ls, line{k, Fmt(*v)})
		}
	}
	opt("accuracy", f.Accuracy)
	opt("brier", f.Brier)
	opt("ece", f.ECE)
	opt("mce", f.MCE)
	if f.Clipped != nil {
		ls = append(ls, line{"clipped", strconv.FormatInt(*f.Clipped, 10)})
	}
	for _, r := range skippedOrder(f.Skipped) {
		ls = append(ls, line{"skipped " + r, strconv.FormatInt(f.Skipped[r], 10)})
	}
	if m.Kind.HasCalibration() && len(f.Calibration) > 0 {
		ls = append(ls, line{"reliability", Sparkline(f.Calibration)})
	}
	width := 0
	for _, l := range ls {
		if n := len([]rune(l.k)); n > width {
			width = n
		}
	}
	for _, l := range ls {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, l.k, l.v)
	}
	if len(m.Slices) > 0 {
		worst := -1
		for i := range m.Slices {
			if m.Slices[i].Rows >= m.MinSliceSize && (worst < 0 || m.Slices[i].NLL > m.Slices[worst].NLL) {
				worst = i
			}
		}
		if worst >= 0 {
			s := &m.Slices[worst]
			var kv []string
			for j, v := range s.By {
				kv = append(kv, m.Mapping.By[j]+"="+v.String())
			}
			fmt.Fprintf(&b, "  %d slices; highest NLL: %s (nll %s, %d rows); --md lists them all\n", len(m.Slices), Escape(strings.Join(kv, ",")), Fmt(s.NLL), s.Rows)
		}
	}
	if len(m.Worst) > 0 {
		fmt.Fprintf(&b, "  worst row: %s (nll %s)\n", Escape(m.Worst[0].ID.String()), Fmt(m.Worst[0].NLL))
	}
	for _, g := range m.Gates {
		st := "pass"
		if g.Failed {
			st = "FAIL"
		}
		fmt.Fprintf(&b, "  gate %-4s %s (value %s)\n", st, Escape(g.Expr), Fmt(g.Value))
	}
	for _, wn := range m.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", Escape(wn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Sparkline draws each bin's outcome as a block height (· for empty bins).
func Sparkline(bins []metrics.BinFigures) string {
	blocks := []rune("▁▂▃▄▅▆▇█")
	var sb strings.Builder
	for _, b := range bins {
		if b.Outcome == nil {
			sb.WriteRune('·')
			continue
		}
		k := int(math.Round(*b.Outcome * float64(len(blocks)-1)))
		if k < 0 {
			k = 0
		}
		if k >= len(blocks) {
			k = len(blocks) - 1
		}
		sb.WriteRune(blocks[k])
	}
	return sb.String()
}
