package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// What makes two reports comparable: the same kind, NLL figures in the
// same units (ConvertUnits), and, for each figure, the same settings it is
// defined by (Mismatch).

// unitScale is the size of a unit in nats.
var unitScale = map[string]float64{"nats": 1, "bits": math.Ln2, "hartleys": math.Ln10}

// nllFields are the figures measured in the report's units.
var nllFields = map[string]bool{"nll": true, "nll_sum": true, "nll_stderr": true, "nll_per_token": true}

// ConvertUnits returns d with every NLL figure (overall, slices, per
// class, worst rows, bootstrap intervals, bias and replicates) in units
// `to` ("nats", "bits" or "hartleys"), and the units d was in. d itself is
// not changed; when it is already in `to`, it is returned as is.
func ConvertUnits(d Doc, to string) (Doc, string, error) {
	from, _ := d["units"].(string)
	fs, ok1 := unitScale[from]
	ts, ok2 := unitScale[to]
	switch {
	case !ok1:
		return nil, from, fmt.Errorf("its units %q are not nats, bits or hartleys", from)
	case !ok2:
		return nil, from, fmt.Errorf("units %q are not nats, bits or hartleys", to)
	case from == to:
		return d, from, nil
	}
	f := fs / ts
	scale := func(v any) any {
		if x, ok := num(v); ok {
			return x * f
		}
		return v
	}
	scaleFields := func(o map[string]any) {
		for k, v := range o {
			if nllFields[k] {
				o[k] = scale(v)
			}
		}
	}
	c := deepCopy(d).(map[string]any)
	c["units"] = to
	if o, ok := c["overall"].(map[string]any); ok {
		scaleFields(o)
	}
	for _, key := range []string{"slices", "per_class", "worst"} {
		list, _ := c[key].([]any)
		for _, x := range list {
			if o, ok := x.(map[string]any); ok {
				scaleFields(o)
			}
		}
	}
	if b, ok := c["bootstrap"].(map[string]any); ok {
		for _, key := range []string{"intervals", "bias", "replicate_values"} {
			o, _ := b[key].(map[string]any)
			for k, v := range o {
				if !nllFields[k] {
					continue
				}
				switch x := v.(type) {
				case []any:
					for i := range x {
						x[i] = scale(x[i])
					}
				default:
					o[k] = scale(v)
				}
			}
		}
	}
	return Doc(c), from, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case Doc:
		return deepCopy(map[string]any(x))
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// Kind is the report's kind ("binary", "multiclass", ...), or "".
func (d Doc) Kind() string {
	k, _ := d["kind"].(string)
	return k
}

// Setting is a configuration a figure is defined by.
type Setting struct {
	Flag       string // "--bins"
	Base, Cur  string // its values in the two reports
	DependsFor string // the figure
}

func (s Setting) String() string {
	return fmt.Sprintf("the baseline was made with %s %s, this run with %s %s; %s depends on it", s.Flag, s.Base, s.Flag, s.Cur, s.DependsFor)
}

// settingsOf names, for a figure, the flags its definition depends on.
func settingsOf(field string) []string {
	switch field {
	case "ece", "mce":
		return []string{"--bins", "--binning"}
	case "nll", "nll_sum", "nll_stderr", "nll_per_token", "perplexity", "clipped":
		return []string{"--eps"}
	}
	return nil
}

// setting is the value of flag in d, as text.
func (d Doc) setting(flag string) string {
	cal, _ := d["calibration"].(map[string]any)
	switch flag {
	case "--bins":
		if bins, ok := cal["bins"].([]any); ok {
			return strconv.Itoa(len(bins))
		}
	case "--binning":
		if s, ok := cal["binning"].(string); ok {
			return s
		}
	case "--eps":
		if x, ok := num(d["eps"]); ok {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return "(none: not clipped)"
	}
	return "(none)"
}

// Mismatch returns the first setting that metric ("ece", or
// "slice[lang=de].ece") is defined by and that differs between base and
// cur, or false.
func Mismatch(base, cur Doc, metric string) (Setting, bool) {
	field := metric
	if i := strings.LastIndex(metric, "]."); strings.HasPrefix(metric, "slice[") && i >= 0 {
		field = metric[i+2:]
	}
	for _, flag := range settingsOf(field) {
		if b, c := base.setting(flag), cur.setting(flag); b != c {
			return Setting{Flag: flag, Base: b, Cur: c, DependsFor: field}, true
		}
	}
	return Setting{}, false
}
