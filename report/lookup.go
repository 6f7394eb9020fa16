package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Doc is a parsed JSON report, read back for gates and comparisons.
type Doc map[string]any

// ParseDoc parses a JSON report; name is used in errors.
func ParseDoc(name string, data []byte) (Doc, error) {
	var d Doc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: not a JSON report: %v", name, err)
	}
	if s, _ := d["schema"].(string); s != Schema {
		return nil, fmt.Errorf("%s: schema is %q, want %q", name, s, Schema)
	}
	return d, nil
}

// Baseline is a baseline report given with --baseline.
type Baseline struct {
	Path string
	Doc  Doc
}

// ReadBaseline reads and parses a baseline report.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %v", path, err)
	}
	d, err := ParseDoc(path, data)
	if err != nil {
		return nil, err
	}
	return &Baseline{Path: path, Doc: d}, nil
}

// num reads a report number, including the strings "+Inf", "-Inf", "NaN".
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		switch x {
		case "+Inf":
			return math.Inf(1), true
		case "-Inf":
			return math.Inf(-1), true
		case "NaN":
			return math.NaN(), true
		}
	}
	return 0, false
}

// Lookup finds a figure: "nll" (overall), or "slice[COL=V,...].nll".
func (d Doc) Lookup(metric string) (float64, bool) {
	if strings.HasPrefix(metric, "slice[") {
		end := strings.Index(metric, "].")
		if end < 0 {
			return 0, false
		}
		sel, field := metric[len("slice["):end], metric[end+2:]
		s := d.slice(sel)
		if s == nil {
			return 0, false
		}
		return num(s[field])
	}
	if name, ok := calibrationName(metric); ok {
		c, _ := d["calibration"].(map[string]any)
		if c == nil {
			return 0, false
		}
		return num(c[name])
	}
	o, _ := d["overall"].(map[string]any)
	if o == nil {
		return 0, false
	}
	return num(o[metric])
}

// calibrationName is the field of the calibration object a gate's figure
// names: "smece" or "calibration.smece" name calibration.smece (the names
// of calibrationNames; no overall figure shares one).
func calibrationName(metric string) (string, bool) {
	name := strings.TrimPrefix(metric, "calibration.")
	for _, n := range calibrationNames {
		if n == name {
			return n, true
		}
	}
	return "", false
}

func (d Doc) slice(sel string) map[string]any {
	want := map[string]string{}
	for _, kv := range strings.Split(sel, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil
		}
		want[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	sl, _ := d["slices"].([]any)
	for _, x := range sl {
		s, _ := x.(map[string]any)
		by, _ := s["by"].(map[string]any)
		if len(by) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			bv, ok := by[k]
			if !ok || valueText(bv) != v {
				match = false
				break
			}
		}
		if match {
			return s
		}
	}
	return nil
}

// valueText is how a by value is written in a slice selector.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// Metrics lists the names Lookup accepts for overall figures.
func (d Doc) Metrics() []string {
	o, _ := d["overall"].(map[string]any)
	var out []string
	for k, v := range o {
		if _, ok := num(v); ok {
			out = append(out, k)
		}
	}
	c, _ := d["calibration"].(map[string]any)
	for _, k := range calibrationNames {
		if _, ok := num(c[k]); ok {
			out = append(out, k)
		}
	}
	if sl, _ := d["slices"].([]any); len(sl) > 0 {
		out = append(out, "slice[COL=VALUE].METRIC")
	}
	sort.Strings(out)
	return out
}

// Replicates returns the bootstrap replicate values of a metric, or nil.
func (d Doc) Replicates(metric string) []float64 {
	if name, ok := calibrationName(metric); ok {
		metric = name
	}
	b, _ := d["bootstrap"].(map[string]any)
	rv, _ := b["replicate_values"].(map[string]any)
	xs, _ := rv[metric].([]any)
	if xs == nil {
		return nil
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		v, ok := num(x)
		if !ok {
			return nil
		}
		out[i] = v
	}
	return out
}

// Figures is what gates and comparisons read of a report: a finished Model,
// or a JSON report read back (Doc). Lookup and Metrics name figures as
// `--fail-if` does; the bootstrap section is read by Pair.
type Figures interface {
	// Lookup finds a figure: "nll" (overall), or "slice[COL=V,...].nll".
	Lookup(metric string) (float64, bool)
	// Metrics lists the names Lookup accepts, sorted.
	Metrics() []string
	// boot is the bootstrap section as Pair compares it (nil: none).
	boot() *bootView
}

// bootView is a report's bootstrap section, its values as the JSON report
// holds them (numbers as float64), so that a Model and a Doc compare alike.
type bootView struct {
	key, seed, buckets, replicates, units any
	bucketRows                            []any
	values                                func(metric string) []float64
}

func (d Doc) boot() *bootView {
	b, _ := d["bootstrap"].(map[string]any)
	if b == nil {
		return nil
	}
	br, _ := b["bucket_rows"].([]any)
	return &bootView{key: b["key"], seed: b["seed"], buckets: b["buckets"], replicates: b["replicates"],
		units: d["units"], bucketRows: br, values: d.Replicates}
}

// Pair returns the paired replicates of metric in base and cur, or why the
// two runs cannot be paired: bootstraps must exist, bucket rows by --id with
// the same seed, bucket count and replicate count, and hold the same number
// of rows in every bucket (the same rows), in the same units.
func Pair(base, cur Figures, metric string) (b, c []float64, why string) {
	bb, cb := base.boot(), cur.boot()
	switch {
	case bb == nil && cb == nil:
		return nil, nil, "neither report has bootstrap replicates"
	case bb == nil:
		return nil, nil, "the baseline has no bootstrap replicates"
	case cb == nil:
		return nil, nil, "this run has no bootstrap replicates"
	}
	if !sameScalar(bb.key, "id") || !sameScalar(cb.key, "id") {
		return nil, nil, "rows were not bucketed by --id in both runs"
	}
	for _, k := range []struct {
		name string
		b, c any
	}{{"seed", bb.seed, cb.seed}, {"buckets", bb.buckets, cb.buckets}, {"replicates", bb.replicates, cb.replicates}} {
		if !sameScalar(k.b, k.c) {
			return nil, nil, fmt.Sprintf("the bootstrap %s differs (%v vs %v)", k.name, k.b, k.c)
		}
	}
	if !sameScalar(bb.units, cb.units) {
		return nil, nil, "the reports are in different units"
	}
	br, cr := bb.bucketRows, cb.bucketRows
	if len(br) != len(cr) {
		return nil, nil, "the bucket counts differ"
	}
	for i := range br {
		if !sameScalar(br[i], cr[i]) {
			return nil, nil, "the runs did not see the same rows (bucket row counts differ)"
		}
	}
	b, c = bb.values(metric), cb.values(metric)
	if b == nil || c == nil || len(b) != len(c) {
		return nil, nil, fmt.Sprintf("no bootstrap replicates of %s in both reports", metric)
	}
	return b, c, ""
}

// sameScalar reports whether a and b are the same JSON scalar (string,
// number, bool or null). Objects and arrays never match: a report that holds
// one where a scalar belongs is malformed, and == on them would panic.
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}
