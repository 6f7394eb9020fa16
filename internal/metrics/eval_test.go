package metrics

import (
	"fmt"
	"github.com/evalnll/evalnll/internal/exact"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// binaryRows builds a binary batch: labels, probabilities, weights, a slice
// column.
func binaryRows(r *rand.Rand, n int) (y []int64, p, w []float64, s []string) {
	for i := 0; i < n; i++ {
		q := r.Float64()
		switch r.IntN(50) {
		case 0:
			q = 0
		case 1:
			q = 1
		case 2:
			q = math.Ldexp(1, -r.IntN(1000))
		}
		lab := int64(0)
		if r.Float64() < q {
			lab = 1
		}
		y = append(y, lab)
		p = append(p, q)
		w = append(w, float64(r.IntN(4))+r.Float64())
		s = append(s, []string{"a", "b", "c"}[r.IntN(3)])
	}
	return
}

func cols(y []int64, p, w []float64, s []string, lo, hi int, weighted, by bool) *Cols {
	c := &Cols{
		Rows:  hi - lo,
		Label: &column.Column{Type: column.Int, Len: hi - lo, Ints: y[lo:hi]},
		Pred:  &column.Column{Type: column.Float64, Len: hi - lo, F64: p[lo:hi]},
	}
	if weighted {
		c.Weight = &column.Column{Type: column.Float64, Len: hi - lo, F64: w[lo:hi]}
	}
	if by {
		c.By = []*column.Column{{Type: column.String, Len: hi - lo, Strs: s[lo:hi]}}
	}
	return c
}

// TestSplitIndependence evaluates the same rows cut into units and batches
// in different ways, over different numbers of evaluators merged in
// different orders: every figure must be bit-identical.
func TestSplitIndependence(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	y, p, w, s := binaryRows(r, 5000)
	for _, weighted := range []bool{false, true} {
		for _, by := range []bool{false, true} {
			cfg := DefaultConfig()
			cfg.Weighted, cfg.Worst = weighted, 5
			if by {
				cfg.ByCols = 1
			}
			var ref string
			for trial := 0; trial < 6; trial++ {
				nev := 1 + trial%3
				evs := make([]*Evaluator, nev)
				for i := range evs {
					evs[i] = NewEvaluator(&cfg, 0)
				}
				// Cut into units of random size; each unit to a random
				// evaluator, in batches of random size.
				for lo, u := 0, 0; lo < len(y); u++ {
					hi := min(len(y), lo+1+r.IntN(1500))
					ev := evs[r.IntN(nev)]
					ev.BeginUnit(u)
					for b := lo; b < hi; {
						e := min(hi, b+1+r.IntN(400))
						if !ev.Add(cols(y, p, w, s, b, e, weighted, by), int64(b-lo)) {
							t.Fatal("valid rows rejected")
						}
						b = e
					}
					lo = hi
				}
				st := evs[nev-1].State()
				for i := nev - 2; i >= 0; i-- {
					st.Merge(evs[i].State())
				}
				res := st.Summary()
				res.Worst = nil // positions differ by split
				got := fmt.Sprintf("%+v", summaryValues(res))
				if trial == 0 {
					ref = got
				} else if got != ref {
					t.Fatalf("weighted=%v by=%v: trial %d differs:\n%s\nvs\n%s", weighted, by, trial, got, ref)
				}
			}
		}
	}
}

// summaryValues dereferences every pointer so that %+v prints values.
func summaryValues(r Result) any {
	var out []any
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				out = append(out, "nil")
			} else {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			out = append(out, fmt.Sprint(v.Interface()))
		case reflect.Float64:
			out = append(out, math.Float64bits(v.Float()))
		default:
			out = append(out, fmt.Sprint(v.Interface()))
		}
	}
	walk(reflect.ValueOf(r))
	return out
}

// TestBinaryFiguresAgainstDirect compares the figures with a direct
// float64 computation (two-pass stderr, per-bin means) on data where plain
// summation is accurate to far better than the tolerance.
func TestBinaryFiguresAgainstDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	n := 2000
	var y []int64
	var p, w []float64
	for i := 0; i < n; i++ {
		q := 0.02 + 0.96*r.Float64()
		lab := int64(0)
		if r.Float64() < q {
			lab = 1
		}
		y, p, w = append(y, lab), append(p, q), append(w, 0.5+r.Float64())
	}
	for _, weighted := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Weighted = weighted
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnit(0)
		ev.Add(cols(y, p, w, nil, 0, n, weighted, false), 0)
		f := ev.State().Summary().Overall
		var W, S, C, B float64
		xs := make([]float64, n)
		ws := make([]float64, n)
		for i := range y {
			wi := 1.0
			if weighted {
				wi = w[i]
			}
			x := -math.Log(p[i])
			d := 1 - p[i]
			if y[i] == 0 {
				x = -math.Log1p(-p[i])
				d = p[i]
			}
			if (p[i] >= 0.5) == (y[i] == 1) {
				C += wi
			}
			xs[i], ws[i] = x, wi
			W += wi
			S += wi * x
			B += wi * d * d
		}
		m := S / W
		var v float64
		for i := range xs {
			v += ws[i] * ws[i] * (xs[i] - m) * (xs[i] - m)
		}
		se := math.Sqrt(float64(n)/float64(n-1)*v) / W
		near := func(name string, got, want, tol float64) {
			if math.Abs(got-want) > tol*math.Abs(want) {
				t.Errorf("weighted=%v %s = %v, want %v", weighted, name, got, want)
			}
		}
		near("weight", f.Weight, W, 1e-14)
		near("nll", f.NLL, m, 1e-13)
		near("nll_stderr", *f.NLLStderr, se, 1e-11)
		near("accuracy", *f.Accuracy, C/W, 1e-14)
		near("brier", *f.Brier, B/W, 1e-13)
		near("perplexity", f.Perplexity, math.Exp(m), 1e-13)
	}
}

func TestInvalidRowsSkipAndError(t *testing.T) {
	y := []int64{1, 0, 2, 1, 0}
	p := []float64{0.9, math.NaN(), 0.5, 1.5, 0.2}
	w := []float64{1, 1, 1, 1, -1}
	cfg := DefaultConfig()
	cfg.Weighted, cfg.Skip = true, true
	ev := NewEvaluator(&cfg, 0)
	ev.BeginUnit(0)
	ev.Add(cols(y, p, w, nil, 0, 5, true, false), 0)
	f := ev.State().Summary().Overall
	want := map[string]int64{"nan": 1, "bad_label": 1, "out_of_range": 1, "negative_weight": 1}
	if !reflect.DeepEqual(f.Skipped, want) || f.Rows != 1 {
		t.Fatalf("skipped %v rows %d, want %v and 1", f.Skipped, f.Rows, want)
	}
	cfg.Skip = false
	ev = NewEvaluator(&cfg, 0)
	ev.BeginUnit(3)
	if ev.Add(cols(y, p, w, nil, 0, 5, true, false), 10) {
		t.Fatal("error mode accepted an invalid row")
	}
	e := ev.State().Errs[0]
	if e.Unit != 3 || e.Row != 11 || e.Reason != ReasonNaN || e.Role != RolePred {
		t.Fatalf("first error %+v", e)
	}
}

func TestMulticlassLengthAndSum(t *testing.T) {
	// Rows: ok; wrong length; sum 1.01; label 3 out of [0,3); ok.
	vals := []float64{0.2, 0.3, 0.5, 1, 0, 0.5, 0.5, 0.01, 0.1, 0.2, 0.7, 0.6, 0.4, 0}
	off := []int64{0, 3, 5, 8, 11, 14}
	c := &Cols{Rows: 5,
		Label: &column.Column{Type: column.Int, Len: 5, Ints: []int64{2, 0, 1, 3, 0}},
		Pred:  &column.Column{Type: column.Float64, List: true, Len: 5, F64: vals, Offsets: off},
	}
	cfg := DefaultConfig()
	cfg.Kind, cfg.Skip = Multiclass, true
	ev := NewEvaluator(&cfg, 3)
	ev.BeginUnit(0)
	ev.Add(c, 0)
	f := ev.State().Summary().Overall
	want := map[string]int64{"length": 1, "sum": 1, "bad_label": 1}
	if !reflect.DeepEqual(f.Skipped, want) || f.Rows != 2 {
		t.Fatalf("skipped %v rows %d", f.Skipped, f.Rows)
	}
	wantNLL := (-math.Log(0.5) - math.Log(0.6)) / 2
	if math.Abs(f.NLL-wantNLL) > 1e-15 {
		t.Fatalf("nll %v want %v", f.NLL, wantNLL)
	}
}

// TestBinConfidenceSumsExact: the unweighted bins' confidence sums (taken
// as 128-bit integers above 2^-10, exact.Sum below) equal the exact sums of
// the confidences of each bin, for values near 0, around 2^-10, near 1 and
// at the bin edges.
func TestBinConfidenceSumsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 30000
	y := make([]int64, n)
	p := make([]float64, n)
	for i := range p {
		switch i % 6 {
		case 0:
			p[i] = r.Float64() * 1e-9
		case 1:
			p[i] = math.Nextafter(0x1p-10, float64(r.IntN(2))) // either side of 2^-10
		case 2:
			p[i] = 1 - r.Float64()*1e-12
		case 3:
			p[i] = float64(r.IntN(16)) / 15
		case 4:
			p[i] = 5e-324 * float64(r.IntN(3))
		default:
			p[i] = r.Float64()
		}
		y[i] = int64(r.IntN(2))
	}
	cfg := DefaultConfig()
	ev := NewEvaluator(&cfg, 0)
	ev.BeginUnit(0)
	if !ev.Add(cols(y, p, nil, nil, 0, n, false, false), 0) {
		t.Fatalf("invalid rows: %+v", ev.State().Errs)
	}
	want := make([]exact.Sum, cfg.Bins)
	counts := make([]int64, cfg.Bins)
	for _, c := range p {
		b := UniformBin(c, cfg.Bins)
		want[b].Add(c)
		counts[b]++
	}
	st := ev.State()
	if len(st.slices) != 1 {
		t.Fatalf("%d slices", len(st.slices))
	}
	var bins []Bin
	for _, a := range st.slices {
		bins = a.Bins
	}
	for b := range want {
		if got := bins[b].Conf.Big(); got.Cmp(want[b].Big()) != 0 || bins[b].Count != counts[b] {
			t.Errorf("bin %d: sum %v (count %d), want %v (count %d)", b, got, bins[b].Count, want[b].Big(), counts[b])
		}
	}
}

// TestChunkedBatches: a batch larger than evalChunk, evaluated in chunks,
// gives what small batches of the same rows give, with a dictionary-coded
// slice column (its code table is reset per chunk) and the worst rows; an
// invalid row in a late chunk is reported at its row.
func TestChunkedBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	n := 3*evalChunk + 777
	y, p, w, _ := binaryRows(r, n)
	dict := []string{"x", "y", "z", "w"}
	codes := make([]int32, n)
	for i := range codes {
		codes[i] = int32(r.IntN(len(dict)))
	}
	mk := func(lo, hi int) *Cols {
		c := cols(y, p, w, nil, lo, hi, false, false)
		c.By = []*column.Column{{Type: column.String, Len: hi - lo, Dict: dict, Codes: codes[lo:hi]}}
		return c
	}
	cfg := DefaultConfig()
	cfg.ByCols, cfg.Worst = 1, 7
	cfg.Bootstrap = DefaultBootstrap()
	eval := func(sizes func() int) string {
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnit(0)
		for lo := 0; lo < n; {
			hi := min(n, lo+sizes())
			if !ev.Add(mk(lo, hi), int64(lo)) {
				t.Fatalf("valid rows rejected: %+v", ev.State().Errs)
			}
			lo = hi
		}
		return fmt.Sprintf("%+v", summaryValues(ev.State().Summary()))
	}
	whole := eval(func() int { return n })
	small := eval(func() int { return 1 + r.IntN(300) })
	if whole != small {
		t.Fatalf("one batch of %d rows and small batches differ:\n%s\n%s", n, whole, small)
	}
	p[2*evalChunk+5] = math.NaN()
	p[3*evalChunk+1] = 3
	ev := NewEvaluator(&cfg, 0)
	ev.BeginUnit(0)
	if ev.Add(mk(0, n), 0) {
		t.Fatal("invalid rows accepted")
	}
	if errs := ev.State().Errs; len(errs) != 1 || errs[0].Row != 2*evalChunk+5 {
		t.Fatalf("errors %+v; want one at row %d", errs, 2*evalChunk+5)
	}
}

// TestPlainStringSlices: a plain string --by column (found through a
// cache keyed by length and end bytes) gives the slices the same column
// dictionary-coded gives, with strings that share a cache slot, the empty
// string and nulls.
func TestPlainStringSlices(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	n := 2*evalChunk + 99
	y, p, w, _ := binaryRows(r, n)
	dict := []string{"aXb", "aYb", "aZb", "", "ab", "a", "mobile", "web"}
	codes := make([]int32, n)
	strs := make([]string, n)
	valid := make([]bool, n)
	for i := range codes {
		codes[i] = int32(r.IntN(len(dict)))
		strs[i] = dict[codes[i]]
		valid[i] = r.IntN(17) > 0
	}
	cfg := DefaultConfig()
	cfg.ByCols = 1
	eval := func(by func(lo, hi int) *column.Column) string {
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnit(0)
		for lo := 0; lo < n; {
			hi := min(n, lo+1+r.IntN(3000))
			c := cols(y, p, w, nil, lo, hi, false, false)
			c.By = []*column.Column{by(lo, hi)}
			if !ev.Add(c, int64(lo)) {
				t.Fatalf("valid rows rejected: %+v", ev.State().Errs)
			}
			lo = hi
		}
		res := ev.State().Summary()
		if len(res.Slices) != len(dict)+1 {
			t.Fatalf("%d slices, want %d", len(res.Slices), len(dict)+1)
		}
		return fmt.Sprintf("%+v", summaryValues(res))
	}
	plain := eval(func(lo, hi int) *column.Column {
		return &column.Column{Type: column.String, Len: hi - lo, Strs: strs[lo:hi], Valid: valid[lo:hi]}
	})
	coded := eval(func(lo, hi int) *column.Column {
		return &column.Column{Type: column.String, Len: hi - lo, Dict: dict, Codes: codes[lo:hi], Valid: valid[lo:hi]}
	})
	if plain != coded {
		t.Fatalf("plain and dictionary-coded slice columns differ:\n%s\n%s", plain, coded)
	}
}

// TestBinaryProbFastPath: integer labels without nulls take binaryProbFast;
// the same rows with a validity column (all valid) take the general loop.
// Both give the same figures and skip the same rows for the same reasons,
// with or without clipping, for float64 and float32 probabilities.
func TestBinaryProbFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	n := 6000
	y := make([]int64, n)
	p := make([]float64, n)
	edge := []float64{0, 1, math.Copysign(0, -1), 5e-324, 1e-300, 1e-16, 1 - 1e-16, math.Nextafter(1, 0),
		0.5, math.Nextafter(0.5, 0), math.NaN(), math.Inf(1), math.Inf(-1), -1e-9, 1 + 1e-9}
	for i := range p {
		y[i] = int64(r.IntN(2))
		if r.IntN(300) == 0 {
			y[i] = []int64{2, -1, 7}[r.IntN(3)]
		}
		p[i] = r.Float64()
		if r.IntN(8) == 0 {
			p[i] = edge[r.IntN(len(edge))]
		}
	}
	valid := make([]bool, n)
	for i := range valid {
		valid[i] = true
	}
	for _, eps := range []float64{0, 1e-15, 1e-3} {
		for _, f32 := range []bool{false, true} {
			cfg := DefaultConfig()
			cfg.Eps, cfg.Skip = eps, true
			run := func(withValid bool) string {
				ev := NewEvaluator(&cfg, 0)
				ev.BeginUnit(0)
				c := &Cols{Rows: n, Label: &column.Column{Type: column.Int, Len: n, Ints: y}}
				if withValid {
					c.Label.Valid = valid
				}
				if f32 {
					q := make([]float32, n)
					for i := range q {
						q[i] = float32(p[i])
					}
					c.Pred = &column.Column{Type: column.Float32, Len: n, F32: q}
				} else {
					c.Pred = &column.Column{Type: column.Float64, Len: n, F64: p}
				}
				if !ev.Add(c, 0) {
					t.Fatalf("stopped in skip mode: %+v", ev.State().Errs)
				}
				return fmt.Sprintf("%+v", summaryValues(ev.State().Summary()))
			}
			if fast, general := run(false), run(true); fast != general {
				t.Fatalf("eps %v f32 %v: the fast path differs from the general loop:\n%s\n%s", eps, f32, fast, general)
			}
		}
	}
}

// TestTokensKernel: each row's NLL, token count and reason from
// tokensKernel are those of logprobRow (the per-row reference), for
// float32 and float64 lists with nulls, empty lists, null elements and
// values that are not log-probabilities.
func TestTokensKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.5, 5e-324, math.Copysign(0, -1), 0}
	for _, f32 := range []bool{false, true} {
		for _, nullElems := range []bool{false, true} {
			n := 500
			off := []int64{0}
			var vals []float64
			var ev []bool
			rowValid := make([]bool, n)
			for i := range n {
				rowValid[i] = r.IntN(20) > 0
				k := r.IntN(700)
				if r.IntN(15) == 0 {
					k = 0
				}
				for range k {
					v := -r.ExpFloat64() * math.Pow(10, float64(r.IntN(8)-4))
					if r.IntN(400) == 0 {
						v = bad[r.IntN(len(bad))]
					}
					vals = append(vals, v)
					ev = append(ev, !nullElems || r.IntN(500) > 0)
				}
				off = append(off, int64(len(vals)))
			}
			col := &column.Column{Type: column.Float64, List: true, Len: n, Offsets: off, F64: vals, Valid: rowValid}
			if f32 {
				q := make([]float32, len(vals))
				for i, v := range vals {
					q[i] = float32(v)
				}
				col.Type, col.F64, col.F32 = column.Float32, nil, q
			}
			if nullElems {
				col.ElemValid = ev
			}
			cfg := DefaultConfig()
			cfg.Kind, cfg.Pred, cfg.Tokens = Logprob, PredLogprob, true
			e := NewEvaluator(&cfg, 0)
			c := &Cols{Rows: n, Pred: col}
			tm := &terms{}
			tm.reset(n, n)
			if f32 {
				tokensKernel(e, c, col.F32, tm)
			} else {
				tokensKernel(e, c, col.F64, tm)
			}
			invalid := 0
			for i := range n {
				re, ok := e.logprobRow(c, i)
				switch {
				case !ok:
					invalid++
					if tm.reason[i] != re.Reason {
						t.Fatalf("f32 %v row %d: reason %v, want %v", f32, i, tm.reason[i], re.Reason)
					}
				case tm.reason[i] != ReasonNone:
					t.Fatalf("f32 %v row %d: marked %v, valid for logprobRow", f32, i, tm.reason[i])
				case math.Float64bits(tm.x[i]) != math.Float64bits(e.curX) || tm.tok[i] != e.curTok:
					t.Fatalf("f32 %v row %d: x %v tok %v, want %v %v", f32, i, tm.x[i], tm.tok[i], e.curX, e.curTok)
				}
			}
			if invalid == 0 || invalid == n {
				t.Fatalf("%d of %d rows invalid: the test does not mix valid and invalid rows", invalid, n)
			}
		}
	}
}

// TestAddFixed62: the 128-bit bin sums are added exactly over their whole
// range (the top part is reached only by sums above 2^42).
func TestAddFixed62(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for range 2000 {
		lo, hi := r.Uint64(), r.Uint64()>>uint(r.IntN(64))
		var s exact.Sum
		addFixed62(&s, lo, hi)
		want := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
		want.Or(want, new(big.Int).SetUint64(lo))
		wf := new(big.Float).SetPrec(exact.Prec).SetInt(want)
		wf.SetMantExp(wf, -62)
		if s.Big().Cmp(wf) != 0 {
			t.Fatalf("%x:%x: %v, want %v", hi, lo, s.Big(), wf)
		}
	}
}

// TestAddBootCal: the bootstrap loop for binary and multiclass rows gives
// the replicates and intervals of the general loop, bit for bit, with
// invalid rows skipped and NLLs beyond the pending sums' range.
func TestAddBootCal(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	n := 3*evalChunk + 5
	y, p, w, _ := binaryRows(r, n)
	for i := range p {
		if r.IntN(40) == 0 {
			p[i] = 1e-300 // NLL ~690 with eps 0: beyond pendMax
		}
	}
	p[17], y[99] = math.NaN(), 5
	cfg := DefaultConfig()
	cfg.Eps, cfg.Skip, cfg.Bootstrap = 0, true, DefaultBootstrap()
	run := func(fast bool) string {
		defer func(v bool) { bootCalLoop = v }(bootCalLoop)
		bootCalLoop = fast
		ev := NewEvaluator(&cfg, 0)
		ev.BeginUnit(0)
		for lo := 0; lo < n; lo += 5000 {
			if !ev.Add(cols(y, p, w, nil, lo, min(n, lo+5000), false, false), int64(lo)) {
				t.Fatal("stopped in skip mode")
			}
		}
		res := ev.State().Summary()
		if res.Bootstrap == nil || len(res.Bootstrap.Replicates) == 0 {
			t.Fatal("no bootstrap")
		}
		return fmt.Sprintf("%+v", summaryValues(res))
	}
	if a, b := run(true), run(false); a != b {
		t.Fatalf("addBootCal and the general loop differ:\n%s\n%s", a, b)
	}
}
