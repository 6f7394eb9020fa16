package gate

import (
	"fmt"

	"github.com/evalnll/evalnll/report"
)

// A baseline must match the run before it judges it: figures of another
// kind are not comparable at all; NLL figures in other units are converted;
// a figure whose definition depends on a setting (--bins and --binning for
// ECE and MCE, --eps for the NLL figures) that differs is refused unless
// the user allows it (--allow-config-mismatch), and then judged with a
// warning.

// A BaselineError is a baseline gate whose figure depends on a setting that
// differs between the baseline and the run, refused because mismatches were
// not allowed.
type BaselineError struct {
	Path  string
	Limit Limit
	// Setting is the setting that differs, and its two values.
	Setting report.Setting
}

func (e *BaselineError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Path, e.Limit.Name(), e.Setting)
}

// MatchBaseline checks base against the current report cur and converts
// base's NLL figures to cur's units, in place; the conversion and any
// allowed mismatch are recorded as warnings (warn). A baseline of another
// kind, or a mismatched setting that a limit's figure depends on when
// allow is off, is an error.
//
// allowFlag names the setting that allows mismatches in the warnings
// (the CLI: --allow-config-mismatch).
func MatchBaseline(base *report.Baseline, cur report.Doc, lims []Limit, allow bool, allowFlag string, warn func(string)) error {
	if err := sameKind(base.Path, base.Doc, cur); err != nil {
		return err
	}
	to, _ := cur["units"].(string)
	conv, from, err := report.ConvertUnits(base.Doc, to)
	if err != nil {
		return fmt.Errorf("%s: cannot compare NLL figures with this run's (%s): %v", base.Path, to, err)
	}
	if from != to {
		base.Doc = conv
		warn(fmt.Sprintf("the baseline's NLL figures were converted from %s to %s", from, to))
	}
	for _, l := range lims {
		s, ok := report.Mismatch(base.Doc, cur, l.Metric)
		if !ok {
			continue
		}
		if !allow {
			return &BaselineError{Path: base.Path, Limit: l, Setting: s}
		}
		warn(fmt.Sprintf("baseline gate %s judged although %s (%s)", l.Name(), s, allowFlag))
	}
	return nil
}

// sameKind refuses to compare reports of different kinds: their figures
// share names but not meanings (a multiclass NLL against a binary one).
func sameKind(basePath string, base, cur report.Doc) error {
	bk, ck := base.Kind(), cur.Kind()
	if bk != ck {
		return fmt.Errorf("%s is a %s report and this one is %s: figures of different kinds cannot be compared", basePath, orNone(bk), orNone(ck))
	}
	return nil
}

func orNone(k string) string {
	if k == "" {
		return "kindless"
	}
	return k
}
