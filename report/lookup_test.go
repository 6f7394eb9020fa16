package report

import (
	"slices"
	"testing"
)

// FuzzParseDoc: decoding a report and looking figures up never panics,
// whatever the bytes.
func FuzzParseDoc(f *testing.F) {
	f.Add([]byte(`{"schema":"evalnll.report/v1","overall":{"nll":0.5},"slices":[{"by":{"m":"a"},"nll":1}]}`))
	f.Add([]byte(`{"schema":"evalnll.report/v1","bootstrap":{"key":"id","seed":1,"buckets":2,"replicates":2,"bucket_rows":[1,2],"replicate_values":{"nll":[1,"NaN"]}}}`))
	f.Add([]byte(`{"schema":"evalnll.report/v1","units":{},"bootstrap":{"key":"id","seed":{},"buckets":[],"replicates":2,"bucket_rows":[{},[]]}}`))
	f.Add([]byte(`{"schema":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDoc("fuzz", data)
		if err != nil {
			return
		}
		for _, m := range []string{"nll", "slice[m=a].nll", "slice[].x", "slice[m=a]"} {
			d.Lookup(m)
		}
		d.Metrics()
		Pair(d, d, "nll")
		Compare(d, d)
	})
}

func TestLookupSlices(t *testing.T) {
	d, err := ParseDoc("t", []byte(`{"schema":"evalnll.report/v1","overall":{"nll":0.5,"ece":"NaN"},
	  "slices":[{"by":{"lang":"de","split":1},"nll":0.9},{"by":{"lang":null,"split":1},"nll":0.1},{"by":{"lang":true,"split":2.5},"nll":0.2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]float64{"nll": 0.5, "slice[lang=de,split=1].nll": 0.9, "slice[split=1,lang=null].nll": 0.1, "slice[lang=true,split=2.5].nll": 0.2}
	for m, want := range cases {
		if got, ok := d.Lookup(m); !ok || got != want {
			t.Errorf("%s = %v, %v; want %v", m, got, ok, want)
		}
	}
	if v, ok := d.Lookup("ece"); !ok || v == v {
		t.Errorf("NaN figure: %v %v", v, ok)
	}
	for _, m := range []string{"slice[lang=fr,split=1].nll", "slice[lang=de].nll", "nope"} {
		if _, ok := d.Lookup(m); ok {
			t.Errorf("%s found", m)
		}
	}
}

// TestPairMalformed: objects and arrays where a report holds scalars make
// the runs unpairable, with a reason; they used to panic in ==.
func TestPairMalformed(t *testing.T) {
	good := `{"key":"id","seed":1,"buckets":2,"replicates":2,"bucket_rows":[1,2],"replicate_values":{"nll":[1,2]}}`
	docs := map[string]string{
		"seed object":      `{"key":"id","seed":{},"buckets":2,"replicates":2,"bucket_rows":[1,2],"replicate_values":{"nll":[1,2]}}`,
		"key array":        `{"key":["id"],"seed":1,"buckets":2,"replicates":2,"bucket_rows":[1,2],"replicate_values":{"nll":[1,2]}}`,
		"bucket row array": `{"key":"id","seed":1,"buckets":2,"replicates":2,"bucket_rows":[[1],2],"replicate_values":{"nll":[1,2]}}`,
	}
	parse := func(boot, units string) Doc {
		d, err := ParseDoc("t", []byte(`{"schema":"evalnll.report/v1","units":`+units+`,"bootstrap":`+boot+`}`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if b, c, why := Pair(parse(good, `"nats"`), parse(good, `"nats"`), "nll"); why != "" || len(b) != 2 || len(c) != 2 {
		t.Fatalf("well-formed pair: %v %v %q", b, c, why)
	}
	for name, boot := range docs {
		d := parse(boot, `"nats"`)
		if _, _, why := Pair(d, d, "nll"); why == "" {
			t.Errorf("%s: paired", name)
		}
	}
	d := parse(good, `{}`)
	if _, _, why := Pair(d, d, "nll"); why == "" {
		t.Errorf("units object: paired")
	}
}

func TestSameScalar(t *testing.T) {
	yes := [][2]any{{nil, nil}, {"a", "a"}, {1.5, 1.5}, {true, true}}
	no := [][2]any{{nil, "a"}, {"a", "b"}, {1.0, "1"}, {true, false}, {map[string]any{}, map[string]any{}}, {[]any{}, []any{}}}
	for _, p := range yes {
		if !sameScalar(p[0], p[1]) {
			t.Errorf("sameScalar(%v, %v) = false", p[0], p[1])
		}
	}
	for _, p := range no {
		if sameScalar(p[0], p[1]) {
			t.Errorf("sameScalar(%v, %v) = true", p[0], p[1])
		}
	}
}

// TestCalibrationFiguresLookup: the calibration object's scalar figures are
// found by their bare name and as calibration.NAME, alike in a Model and in
// its JSON report read back, and listed by Metrics in both; a figure the run
// did not compute, or a kind without calibration, finds none.
func TestCalibrationFiguresLookup(t *testing.T) {
	m := binaryModel()
	m.Bootstrap = nil // the fixture's intervals have no replicates to write
	bins := 7
	d := &m.Overall.Detail
	d.RMSCE, d.L2CEDebiased, d.SmECE, d.SmECESigma = ptrF(0.0421), ptrF(-0.0003), ptrF(0.0288), ptrF(0.051)
	d.BrierReliability, d.BrierResolution, d.BrierUncertainty = ptrF(0.0018), ptrF(0.1402), ptrF(0.2205)
	d.ECESweep, d.ECESweepBins = ptrF(0.0333), &bins
	doc, err := ParseDoc("m.json", m.JSON())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"rmsce": 0.0421, "l2ce_debiased": -0.0003, "smece": 0.0288, "smece_sigma": 0.051,
		"brier_reliability": 0.0018, "brier_resolution": 0.1402, "brier_uncertainty": 0.2205,
		"ece_sweep": 0.0333, "ece_sweep_bins": 7}
	for _, f := range []Figures{m, doc} {
		for name, v := range want {
			for _, metric := range []string{name, "calibration." + name} {
				if got, ok := f.Lookup(metric); !ok || got != v {
					t.Errorf("%T %s = %v, %v; want %v", f, metric, got, ok, v)
				}
			}
		}
		for _, metric := range []string{"classwise_ece", "calibration.classwise_ece", "calibration.nll", "calibration.bins", "calibration.binning", "slice[model=small].smece"} {
			if v, ok := f.Lookup(metric); ok {
				t.Errorf("%T %s found: %v", f, metric, v)
			}
		}
		if got, ok := f.Lookup("ece"); !ok || got != 0.0312774 {
			t.Errorf("%T ece = %v, %v", f, got, ok)
		}
		ms := f.Metrics()
		for name := range want {
			if !slices.Contains(ms, name) {
				t.Errorf("%T Metrics() lacks %s: %v", f, name, ms)
			}
		}
		if slices.Contains(ms, "classwise_ece") {
			t.Errorf("%T Metrics() lists classwise_ece, which the run did not compute", f)
		}
	}
	if a, b := m.Metrics(), doc.Metrics(); !slices.Equal(a, b) {
		t.Errorf("Model and Doc list different figures:\n%v\n%v", a, b)
	}
	g := gaussianModel()
	g.Overall.Detail.RMSCE = ptrF(1) // not written: no calibration object of bins
	gd, err := ParseDoc("g.json", g.JSON())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Figures{g, gd} {
		if v, ok := f.Lookup("rmsce"); ok {
			t.Errorf("%T gaussian rmsce found: %v", f, v)
		}
	}
}
