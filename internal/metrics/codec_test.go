package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// codecConfigs are the configurations the encoding is tested with: every
// component of a State in use in at least one.
func codecConfigs() map[string]Config {
	base := DefaultConfig()
	boot := DefaultBootstrap()
	boot.Replicates = 50
	m := map[string]Config{}
	c := base
	m["binary"] = c
	c.Bootstrap = boot
	m["binary boot"] = c
	c.Weighted, c.ByCols, c.Worst = true, 1, 7
	m["binary weighted by worst boot"] = c
	c = base
	c.Binning, c.Worst, c.HasID = Quantile, 5, true
	m["binary quantile id"] = c
	c = base
	c.Binning, c.Discrim, c.Weighted, c.Bootstrap = Quantile, true, true, boot
	m["binary quantile auroc weighted"] = c
	c = base
	c.Kind, c.Pred, c.Eps = Logprob, PredLogprob, 0
	c.Bootstrap = boot
	m["logprob"] = c
	return m
}

// evalParts evaluates the rows [cuts[k], cuts[k+1]) with one evaluator
// each, as units k, and returns their states.
func evalParts(t testing.TB, cfg *Config, y []int64, p, w []float64, s []string, ids []int64, cuts []int) []*State {
	var sts []*State
	for k := 0; k+1 < len(cuts); k++ {
		ev := NewEvaluator(cfg, 0)
		ev.BeginUnit(k)
		lo, hi := cuts[k], cuts[k+1]
		c := cols(y, p, w, s, lo, hi, cfg.Weighted, cfg.ByCols > 0)
		if cfg.Kind == Logprob {
			lp := make([]float64, hi-lo)
			for i := range lp {
				lp[i] = -p[lo+i] * 3
			}
			c.Label = nil
			c.Pred = &column.Column{Type: column.Float64, Len: hi - lo, F64: lp}
		}
		if cfg.HasID {
			c.ID = &column.Column{Type: column.Int, Len: hi - lo, Ints: ids[lo:hi]}
		}
		if !ev.Add(c, 0) {
			t.Fatalf("invalid rows: %+v", ev.State().Errs)
		}
		sts = append(sts, ev.State())
	}
	return sts
}

func mustEncode(t testing.TB, s *State) []byte {
	t.Helper()
	b, err := s.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStateCodecMerge: the states of parts of the rows, encoded, decoded
// and merged in any order, encode to the bytes of the state of all rows,
// and summarise to the same figures.
func TestStateCodecMerge(t *testing.T) {
	// Histograms past 100 predictions move to their grid: both forms are
	// encoded.
	defer func(n int) { histExact = n }(histExact)
	histExact = 100
	r := rand.New(rand.NewPCG(3, 4))
	y, p, w, s := binaryRows(r, 3000)
	for i := range p { // keep every row valid at eps 0 (logprob)
		if p[i] == 0 {
			p[i] = 0.5
		}
	}
	ids := make([]int64, len(y))
	for i := range ids {
		ids[i] = int64(r.IntN(1000))
	}
	for name, cfg := range codecConfigs() {
		t.Run(name, func(t *testing.T) {
			whole := evalParts(t, &cfg, y, p, w, s, ids, []int{0, 1000, 1700, 3000})
			all := whole[0]
			for _, o := range whole[1:] {
				if err := all.Merge(o); err != nil {
					t.Fatal(err)
				}
			}
			want := mustEncode(t, all)
			parts := evalParts(t, &cfg, y, p, w, s, ids, []int{0, 1000, 1700, 3000})
			var encs [][]byte
			for _, st := range parts {
				encs = append(encs, mustEncode(t, st))
			}
			for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}} {
				got, err := DecodeState(encs[order[0]])
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range order[1:] {
					o, err := DecodeState(encs[k])
					if err != nil {
						t.Fatal(err)
					}
					if err := got.Merge(o); err != nil {
						t.Fatal(err)
					}
				}
				if b := mustEncode(t, got); !bytes.Equal(b, want) {
					t.Fatalf("order %v: merged encoding differs (%d vs %d bytes)", order, len(b), len(want))
				}
				if g, w := fmt.Sprint(summaryText(got.Summary())), fmt.Sprint(summaryText(all.Summary())); g != w {
					t.Fatalf("order %v: summary\n%s\nwant\n%s", order, g, w)
				}
			}
		})
	}
}

// summaryText prints a Result with its pointers followed.
func summaryText(r Result) string {
	var b bytes.Buffer
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				b.WriteString("nil")
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			b.WriteString("{")
			for i := 0; i < v.NumField(); i++ {
				if !v.Type().Field(i).IsExported() {
					continue
				}
				b.WriteString(v.Type().Field(i).Name + ":")
				walk(v.Field(i))
				b.WriteString(" ")
			}
			b.WriteString("}")
		case reflect.Slice, reflect.Array:
			b.WriteString("[")
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
				b.WriteString(" ")
			}
			b.WriteString("]")
		case reflect.Map:
			keys := v.MapKeys()
			b.WriteString(fmt.Sprint(len(keys), "{"))
			for _, k := range keys {
				fmt.Fprint(&b, k.Interface(), "=", v.MapIndex(k).Interface(), " ")
			}
			b.WriteString("}")
		default:
			fmt.Fprint(&b, v.Interface())
		}
	}
	walk(reflect.ValueOf(r))
	return b.String()
}

// TestMergeConfigMismatch: every setting of a Config is in its encoding
// and in Diff, so states of other settings do not merge (a field added to
// Config without both fails here).
func TestMergeConfigMismatch(t *testing.T) {
	base := DefaultConfig()
	base.Bootstrap = DefaultBootstrap()
	v := reflect.ValueOf(&base).Elem()
	var fields []string
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			name := path + v.Type().Field(i).Name
			if f.Kind() == reflect.Struct {
				walk(f, name+".")
				continue
			}
			fields = append(fields, name)
		}
	}
	walk(v, "")
	for _, name := range fields {
		t.Run(name, func(t *testing.T) {
			o := base
			f := reflect.ValueOf(&o).Elem().FieldByIndex(fieldIndex(reflect.TypeOf(o), name))
			switch f.Kind() {
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Int:
				f.SetInt(f.Int() + 2)
			case reflect.Uint8:
				f.SetUint(f.Uint() + 1)
			case reflect.Uint64:
				f.SetUint(f.Uint() + 1)
			case reflect.Float64:
				f.SetFloat(f.Float() * 2)
			case reflect.Pointer:
				if f.Type() != reflect.TypeOf((*Labels)(nil)) {
					t.Fatalf("field %s: extend this test", name)
				}
				f.Set(reflect.ValueOf(PositiveLabel("yes")))
			default:
				t.Fatalf("field %s of kind %s: extend this test", name, f.Kind())
			}
			if base.Diff(&o) == nil {
				t.Fatalf("Diff misses %s", name)
			}
			if bytes.Equal(base.AppendBinary(nil), o.AppendBinary(nil)) {
				t.Fatalf("the encoding misses %s", name)
			}
			a, b := NewEvaluator(&base, 0).State(), NewEvaluator(&o, 0).State()
			err := a.Merge(b)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Merge: %v, want a ConfigError", err)
			}
		})
	}
}

func fieldIndex(t reflect.Type, name string) []int {
	f, ok := t.FieldByName(name)
	if ok {
		return f.Index
	}
	var idx []int
	for len(name) > 0 {
		dot := bytes.IndexByte([]byte(name), '.')
		part := name
		if dot >= 0 {
			part, name = name[:dot], name[dot+1:]
		} else {
			name = ""
		}
		sf, _ := t.FieldByName(part)
		idx = append(idx, sf.Index...)
		t = sf.Type
	}
	return idx
}

func TestMergeClassCount(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Kind = Multiclass
	a, b := NewEvaluator(&cfg, 0).State(), NewEvaluator(&cfg, 0).State()
	a.SetClassCount(ClassCount{N: 3, File: 0, Row: 4})
	b.SetClassCount(ClassCount{N: 4, File: 2, Row: 0})
	var ce *ClassCountError
	if err := a.Merge(b); !errors.As(err, &ce) || ce.A.N != 3 || ce.B.N != 4 {
		t.Fatalf("Merge: %v", err)
	}
	if a.ClassCount().N != 3 {
		t.Fatal("a failed merge changed the state")
	}
	b.SetClassCount(ClassCount{N: 3, File: 0, Row: 1})
	if err := a.Merge(b); err != nil || a.ClassCount() != (ClassCount{N: 3, File: 0, Row: 1}) {
		t.Fatalf("Merge: %v, count %+v (want the earlier position)", err, a.ClassCount())
	}
}

// TestDecodeStateHostile: truncations and corruptions of a
// valid encoding are rejected or decode to a state whose summary can be
// made; none panics.
func TestDecodeStateHostile(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	y, p, w, s := binaryRows(r, 400)
	for name, cfg := range codecConfigs() {
		ids := make([]int64, len(y))
		b := mustEncode(t, evalParts(t, &cfg, y, p, w, s, ids, []int{0, 400})[0])
		for n := 0; n < len(b); n += 1 + n/64 {
			if _, err := DecodeState(b[:n]); !errors.Is(err, ErrStateEncoding) {
				t.Fatalf("%s: truncated to %d of %d bytes: %v", name, n, len(b), err)
			}
		}
		for range 200 {
			c := append([]byte(nil), b...)
			c[r.IntN(len(c))] ^= byte(1 << r.IntN(8))
			if st, err := DecodeState(c); err == nil {
				st.Summary()
			}
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	y, p, w, s := binaryRows(r, 50)
	ids := make([]int64, len(y))
	for _, cfg := range codecConfigs() {
		b, _ := evalParts(f, &cfg, y, p, w, s, ids, []int{0, 50})[0].AppendBinary(nil)
		f.Add(b)
	}
	my, mp, mw, mids := mcRows(r, 40, 3)
	for _, cfg := range topkConfigs() {
		b, _ := mcState(f, &cfg, my, mp, mw, mids, 3, 0, 40, 0).AppendBinary(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeState(b)
		if err != nil {
			if !errors.Is(err, ErrStateEncoding) {
				t.Fatalf("error %v does not wrap ErrStateEncoding", err)
			}
			return
		}
		// A decoded state re-encodes to the same bytes or to a canonical
		// form that decodes again, merges with itself, and summarises.
		e1, err := st.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := DecodeState(e1)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if e2, _ := st2.AppendBinary(nil); !bytes.Equal(e1, e2) {
			t.Fatal("encoding is not canonical")
		}
		if err := st2.Merge(st); err != nil {
			t.Fatal(err)
		}
		st2.Summary()
	})
}
