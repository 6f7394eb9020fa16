package report

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/evalnll/evalnll/internal/metrics"
)

// sameNum is equality of figures as the JSON report can tell them apart:
// NaN equals NaN, and 0 equals -0 (written "0").
func sameNum(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// awkwardModel has by values of every kind, non-finite and -0 figures, a
// column given twice in By and a bootstrap whose seed a float64 cannot hold.
func awkwardModel() *Model {
	m := binaryModel()
	m.Mapping.By = []string{"k", "k2"}
	vals := [][2]metrics.Value{
		{valInt(1 << 60), valBool(true)},
		{{Kind: metrics.VUint, U: math.MaxUint64}, valNull()},
		{valFloat(math.NaN()), valFloat(math.Inf(1))},
		{valFloat(math.Copysign(0, -1)), valFloat(2.5e-9)},
		{valStr("a=b,c"), valStr(" padded ")},
		{valInt(10000000), valFloat(1e21)},
	}
	base := m.Slices[0]
	m.Slices = nil
	for i, v := range vals {
		s := base
		s.By = []metrics.Value{v[0], v[1]}
		s.NLL = []float64{math.NaN(), math.Inf(1), math.Copysign(0, -1), 0.1, 1e-300, 7}[i]
		m.Slices = append(m.Slices, s)
	}
	m.Overall.ECE = ptrF(math.NaN())
	m.Overall.NLLSum = math.Copysign(0, -1)
	m.Bootstrap = &metrics.BootstrapResult{
		Config: metrics.BootstrapConfig{Replicates: 3, Buckets: 4, Seed: 1<<60 + 1}, ByID: true,
		BucketRows: []int64{1, 2, 3, 1 << 55}, Metrics: []string{"nll", "accuracy"},
		Replicates: [][]float64{{0.25, math.Copysign(0, -1), math.NaN()}, {0.5, 0.75, 1}},
		Lo:         []float64{0, 0.5}, Hi: []float64{0.25, 1},
	}
	return m
}

// repeatedByModel slices by one column given twice (--by k,k): the JSON
// object then holds the key twice, and reading it back keeps the last.
func repeatedByModel() *Model {
	m := awkwardModel()
	m.Mapping.By = []string{"k", "k"}
	m.Bootstrap.ByID = false
	return m
}

// TestModelLookupMatchesDoc: the typed lookup of a Model answers every
// gate as the JSON report read back does (the round trip it replaces),
// and pairs bootstraps alike.
func TestModelLookupMatchesDoc(t *testing.T) {
	models := map[string]*Model{
		"binary": binaryModel(), "multiclass": multiclassModel(), "tokens": tokensModel(),
		"gaussian": gaussianModel(), "slices": manySlicesModel(), "awkward": awkwardModel(),
		"repeated": repeatedByModel(),
	}
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			doc, err := ParseDoc(name, m.JSON())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.Metrics(), doc.Metrics(); !reflect.DeepEqual(got, want) {
				t.Errorf("Metrics: %v, want %v", got, want)
			}
			names := append(doc.Metrics(), "skipped", "calibration", "nope", "slice[", "slice[x].nll", "")
			sl, _ := doc["slices"].([]any)
			for _, x := range sl {
				s := x.(map[string]any)
				by := s["by"].(map[string]any)
				sel := ""
				for _, k := range m.Mapping.By { // in order, and a repeated column twice
					if sel != "" {
						sel += ","
					}
					sel += k + "=" + valueText(by[k])
				}
				for f := range s {
					names = append(names, "slice["+sel+"]."+f)
				}
				names = append(names, "slice["+sel+",extra=1].nll", "slice["+sel+"]")
			}
			for _, n := range names {
				got, gok := m.Lookup(n)
				want, wok := doc.Lookup(n)
				if gok != wok || (gok && !sameNum(got, want)) {
					t.Errorf("Lookup(%q) = %v, %v; the JSON read back gives %v, %v", n, got, gok, want, wok)
				}
			}
			for _, other := range models {
				od, err := ParseDoc("other", other.JSON())
				if err != nil {
					t.Fatal(err)
				}
				for _, metric := range []string{"nll", "accuracy", "ece"} {
					gb, gc, gwhy := Pair(other, m, metric)
					wb, wc, wwhy := Pair(od, doc, metric)
					if gwhy != wwhy || fmt.Sprint(gb, gc) != fmt.Sprint(wb, wc) {
						t.Errorf("Pair(%s): %v %v %q; the JSON read back gives %v %v %q", metric, gb, gc, gwhy, wb, wc, wwhy)
					}
				}
			}
		})
	}
}
