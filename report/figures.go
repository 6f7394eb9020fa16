package report

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/internal/metrics"
)

// A Model answers gates from its figures directly, named as in its JSON
// report (figuresObj is the one list of names), without rendering it.

// figureValue is a figure of figuresObj as a number, or false for the
// members that are not numbers ("skipped").
func figureValue(v any) (float64, bool) {
	switch x := v.(type) {
	case number:
		if x == 0 {
			return 0, true // the JSON report writes -0 as 0
		}
		return float64(x), true
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// Lookup finds a figure: "nll" (overall), or "slice[COL=V,...].nll", as
// Doc.Lookup finds it in the JSON report of m.
func (m *Model) Lookup(metric string) (float64, bool) {
	if strings.HasPrefix(metric, "slice[") {
		end := strings.Index(metric, "].")
		if end < 0 {
			return 0, false
		}
		sel, field := metric[len("slice["):end], metric[end+2:]
		s := m.slice(sel)
		if s == nil {
			return 0, false
		}
		return figureValue(figuresObj(&s.Figures, m.Kind).Get(field))
	}
	if name, ok := calibrationName(metric); ok {
		if !m.Kind.HasCalibration() {
			return 0, false
		}
		return figureValue(calibrationFigures(&m.Overall.Detail).Get(name))
	}
	return figureValue(figuresObj(&m.Overall, m.Kind).Get(metric))
}

// slice finds the slice a selector "COL=V,..." names: the one whose by
// values are exactly those.
func (m *Model) slice(sel string) *metrics.SliceFigures {
	if len(m.Mapping.By) == 0 {
		return nil
	}
	want := map[string]string{}
	for _, kv := range strings.Split(sel, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil
		}
		want[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for i := range m.Slices {
		s := &m.Slices[i]
		// As a JSON object read back: a repeated column keeps its last value.
		by := map[string]string{}
		for j, v := range s.By {
			if j < len(m.Mapping.By) {
				by[m.Mapping.By[j]] = selectorText(v)
			}
		}
		if len(by) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			if bv, ok := by[k]; !ok || bv != v {
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

// selectorText is how a by value is written in a slice selector: as
// valueText writes the value the JSON report holds (numbers read back as
// float64, non-finite floats as their strings).
func selectorText(v metrics.Value) string {
	switch v.Kind {
	case metrics.VBool:
		return strconv.FormatBool(v.B)
	case metrics.VInt:
		return strconv.FormatFloat(float64(v.I), 'g', -1, 64)
	case metrics.VUint:
		return strconv.FormatFloat(float64(v.U), 'g', -1, 64)
	case metrics.VFloat:
		switch {
		case math.IsNaN(v.F):
			return "NaN"
		case math.IsInf(v.F, 1):
			return "+Inf"
		case math.IsInf(v.F, -1):
			return "-Inf"
		case v.F == 0:
			return "0" // the JSON report writes -0 as 0
		}
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	case metrics.VString:
		return v.S
	}
	return "null"
}

// Metrics lists the names Lookup accepts for overall figures, sorted, and
// "slice[COL=VALUE].METRIC" when the model has slices.
func (m *Model) Metrics() []string {
	var out []string
	for _, kv := range figuresObj(&m.Overall, m.Kind) {
		if _, ok := figureValue(kv.V); ok {
			out = append(out, kv.K)
		}
	}
	if m.Kind.HasCalibration() {
		for _, kv := range calibrationFigures(&m.Overall.Detail) {
			out = append(out, kv.K)
		}
	}
	if len(m.Mapping.By) > 0 && len(m.Slices) > 0 {
		out = append(out, "slice[COL=VALUE].METRIC")
	}
	sort.Strings(out)
	return out
}

func (m *Model) boot() *bootView {
	b := m.Bootstrap
	if b == nil {
		return nil
	}
	key := "content"
	if b.ByID {
		key = "id"
	}
	rows := make([]any, len(b.BucketRows))
	for i, n := range b.BucketRows {
		rows[i] = float64(n)
	}
	return &bootView{
		key: key, seed: float64(b.Config.Seed), buckets: float64(b.Config.Buckets),
		replicates: float64(b.Config.Replicates), units: m.Units.String(), bucketRows: rows,
		values: func(metric string) []float64 {
			if name, ok := calibrationName(metric); ok {
				metric = name
			}
			for i, name := range b.Metrics {
				if name == metric {
					out := make([]float64, len(b.Replicates[i]))
					for r, v := range b.Replicates[i] {
						if out[r] = v; v == 0 {
							out[r] = 0 // the JSON report writes -0 as 0
						}
					}
					return out
				}
			}
			return nil
		},
	}
}
