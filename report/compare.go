package report

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// compareOrder is the order figures are listed in a comparison.
var compareOrder = []string{"rows", "weight", "tokens", "nll", "nll_per_token", "nll_stderr", "perplexity", "accuracy", "brier", "ece", "mce", "clipped"}

// CompareText writes base, new, Δ and Δ% for every overall figure both
// reports have.
func CompareText(w io.Writer, base, cur Doc) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tbase\tnew\tΔ\tΔ%\t")
	for _, k := range compareOrder {
		b, ok1 := base.Lookup(k)
		n, ok2 := cur.Lookup(k)
		if !ok1 || !ok2 {
			continue
		}
		d := n - b
		pct := "-"
		if b != 0 && !math.IsNaN(d) {
			pct = fmt.Sprintf("%+.2f%%", 100*d/math.Abs(b))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", k, Fmt(b), Fmt(n), signed(d), pct)
	}
	return tw.Flush()
}

func signed(d float64) string {
	if d > 0 {
		return "+" + Fmt(d)
	}
	return Fmt(d)
}
