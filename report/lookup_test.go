package report

import (
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
