package report

import (
	"testing"
)

// FuzzParseDoc: decoding a report and looking figures up never panics,
// whatever the bytes.
func FuzzParseDoc(f *testing.F) {
	f.Add([]byte(`{"schema":"evalnll.report/v1","overall":{"nll":0.5},"slices":[{"by":{"m":"a"},"nll":1}]}`))
	f.Add([]byte(`{"schema":"evalnll.report/v1","bootstrap":{"key":"id","seed":1,"buckets":2,"replicates":2,"bucket_rows":[1,2],"replicate_values":{"nll":[1,"NaN"]}}}`))
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
