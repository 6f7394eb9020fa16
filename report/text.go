package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
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

// fmtCount formats a weight or token count: a whole number as an integer
// (50000000, not 5.0000e+07), anything else as Fmt does.
func fmtCount(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return Fmt(f)
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
	ls := []line{{"rows", strconv.FormatInt(f.Rows, 10)}, {"weight", fmtCount(f.Weight)}}
	if f.Tokens != nil {
		ls = append(ls, line{"tokens", fmtCount(*f.Tokens)})
	}
	nll := Fmt(f.NLL)
	if f.NLLStderr != nil {
		nll = fmtPM(f.NLL, *f.NLLStderr)
	}
	ls = append(ls, line{"nll", nll})
	if f.NLLPerToken != nil {
		ls = append(ls, line{"nll/token", m.figure("nll_per_token", *f.NLLPerToken, nil)})
	}
	switch {
	case m.Kind == metrics.Gaussian:
		// exp of a density's NLL is no perplexity.
	case f.Tokens != nil:
		ls = append(ls, line{"perplexity", m.perplexity(f, "nll_per_token")})
	default:
		ls = append(ls, line{"perplexity", m.perplexity(f, "nll")})
	}
	opt := func(k, metric string, v *float64) {
		if v != nil {
			ls = append(ls, line{k, m.figure(metric, *v, nil)})
		}
	}
	opt("accuracy", "accuracy", f.Accuracy)
	opt("brier", "brier", f.Brier)
	opt("ece", "ece", f.ECE)
	opt("mce", "", f.MCE)
	if f.Clipped != nil {
		ls = append(ls, line{"clipped", strconv.FormatInt(*f.Clipped, 10)})
	}
	for _, r := range skippedOrder(f.Skipped) {
		ls = append(ls, line{"skipped " + r, strconv.FormatInt(f.Skipped[r], 10)})
	}
	if m.Kind.HasCalibration() && len(f.Calibration) > 0 {
		ls = append(ls, line{"reliability", sparkline(f.Calibration)})
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
	if shown, _ := m.shownSlices(); len(shown) > 0 {
		s := shown[0]
		var kv []string
		for j, v := range s.By {
			kv = append(kv, m.Mapping.By[j]+"="+v.String())
		}
		if s.NLLPerToken != nil {
			fmt.Fprintf(&b, "  %d slices; highest NLL per token: %s (nll/token %s, nll %s, %d rows); --md lists them all\n", len(m.Slices), Escape(strings.Join(kv, ",")), Fmt(*s.NLLPerToken), Fmt(s.NLL), s.Rows)
		} else {
			fmt.Fprintf(&b, "  %d slices; highest NLL: %s (nll %s, %d rows); --md lists them all\n", len(m.Slices), Escape(strings.Join(kv, ",")), Fmt(s.NLL), s.Rows)
		}
	}
	switch {
	case len(m.WorstPerToken) > 0:
		w := &m.WorstPerToken[0]
		tok := "0"
		if w.Tokens != nil {
			tok = fmtCount(*w.Tokens)
		}
		unit := "tokens"
		if tok == "1" {
			unit = "token"
		}
		fmt.Fprintf(&b, "  worst row per token: %s (nll/token %s, nll %s, %s %s)\n", Escape(w.ID.String()), optFmt(w.NLLPerToken), Fmt(w.NLL), tok, unit)
	case len(m.Worst) > 0:
		w := &m.Worst[0]
		var what []string
		if m.Mapping.Label != "" {
			what = append(what, "label "+Escape(w.Label.String()))
		}
		switch {
		case m.Kind == metrics.Multiclass && w.PredClass != nil && w.Pred != nil:
			what = append(what, fmt.Sprintf("predicted %d with p %s", *w.PredClass, Fmt(*w.Pred)))
		case w.Pred != nil && m.Mapping.Logit != "":
			what = append(what, "logit "+Fmt(*w.Pred))
		case w.Pred != nil && m.Mapping.Prob != "":
			what = append(what, "p "+Fmt(*w.Pred))
		case w.Pred != nil && m.Kind == metrics.Gaussian:
			what = append(what, "mean "+Fmt(*w.Pred))
			if w.Scale != nil && m.Mapping.Var != "" {
				what = append(what, "var "+Fmt(*w.Scale))
			} else if w.Scale != nil {
				what = append(what, "std "+Fmt(*w.Scale))
			}
		}
		what = append(what, "nll "+Fmt(w.NLL))
		fmt.Fprintf(&b, "  worst row: %s (%s)\n", Escape(w.ID.String()), strings.Join(what, ", "))
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

// sparkline draws each bin's outcome as a block height (· for empty bins).
func sparkline(bins []metrics.BinFigures) string {
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
