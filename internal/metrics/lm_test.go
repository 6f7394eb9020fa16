package metrics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// lmData is a generated set of documents: token log-probabilities, a mask,
// byte and word counts, weights, texts and a slice column.
type lmData struct {
	off        []int64
	lp         []float64
	mask       []int64
	maskOff    []int64
	bytes      []int64
	words      []int64
	w          []float64
	text       []string
	slice      []string
	bytesValid []bool
}

func genLM(r *rand.Rand, n int) *lmData {
	d := &lmData{off: []int64{0}, maskOff: []int64{0}}
	vocab := []string{"the", "cat", "sat", "été", "日本語", "on", "a", "mat", "\u00a0", "x"}
	seps := []string{" ", "  ", "\t", "\n", "\u2003", "\u3000"}
	for i := 0; i < n; i++ {
		k := r.IntN(40)
		if i%17 == 0 {
			k = 0 // an empty document
		}
		for j := 0; j < k; j++ {
			d.lp = append(d.lp, -r.ExpFloat64()*math.Pow(10, float64(r.IntN(6)-3)))
			d.mask = append(d.mask, int64(r.IntN(2)))
		}
		d.off = append(d.off, int64(len(d.lp)))
		d.maskOff = append(d.maskOff, int64(len(d.mask)))
		var sb strings.Builder
		for j := r.IntN(12); j > 0; j-- {
			sb.WriteString(vocab[r.IntN(len(vocab))])
			sb.WriteString(seps[r.IntN(len(seps))])
		}
		d.text = append(d.text, sb.String())
		d.bytes = append(d.bytes, int64(r.IntN(5000)))
		d.words = append(d.words, int64(r.IntN(800)))
		d.w = append(d.w, float64(r.IntN(4))+r.Float64())
		d.slice = append(d.slice, []string{"en", "de", "ja"}[r.IntN(3)])
	}
	return d
}

// cols returns rows [lo, hi) as a batch.
func (d *lmData) cols(lo, hi int, weighted, by bool) *Cols {
	n := hi - lo
	c := &Cols{
		Rows:  n,
		Pred:  &column.Column{Type: column.Float64, List: true, Len: n, F64: d.lp, Offsets: d.off[lo : hi+1]},
		Bytes: &column.Column{Type: column.Int, Len: n, Ints: d.bytes[lo:hi]},
		Words: &column.Column{Type: column.Int, Len: n, Ints: d.words[lo:hi]},
		Text:  &column.Column{Type: column.String, Len: n, Strs: d.text[lo:hi]},
		Mask:  &column.Column{Type: column.Int, List: true, Len: n, Ints: d.mask, Offsets: d.maskOff[lo : hi+1]},
	}
	if d.bytesValid != nil {
		c.Bytes.Valid = d.bytesValid[lo:hi]
	}
	if weighted {
		c.Weight = &column.Column{Type: column.Float64, Len: n, F64: d.w[lo:hi]}
	}
	if by {
		c.By = []*column.Column{{Type: column.String, Len: n, Strs: d.slice[lo:hi]}}
	}
	return c
}

func lmConfig(weighted, by, bytes, words, mask bool) Config {
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred, cfg.Tokens = Logprob, PredLogprob, true
	cfg.Weighted, cfg.LMBytes, cfg.LMWords, cfg.Mask = weighted, bytes, words, mask
	if by {
		cfg.ByCols = 1
	}
	return cfg
}

// evalLM evaluates rows [0, n) of d, dropping the columns cfg does not use
// (text when noText), in batches of size batch over evaluators merged in
// order.
func evalLM(t *testing.T, d *lmData, cfg *Config, batch, evaluators int, noText, noCounts bool) Result {
	t.Helper()
	n := len(d.w)
	var st *State
	for k := 0; k < evaluators; k++ {
		e := NewEvaluator(cfg, 0)
		e.BeginUnit(k)
		lo, hi := k*n/evaluators, (k+1)*n/evaluators
		for b := lo; b < hi; b += batch {
			c := d.cols(b, min(hi, b+batch), cfg.Weighted, cfg.ByCols > 0)
			if !cfg.LMBytes || noCounts {
				c.Bytes = nil
			}
			if !cfg.LMWords || noCounts {
				c.Words = nil
			}
			if noText {
				c.Text = nil
			}
			if !cfg.Mask {
				c.Mask = nil
			}
			if !e.Add(c, int64(b-lo)) {
				t.Fatalf("row error: %+v", e.State().Errs)
			}
		}
		if st == nil {
			st = e.State()
		} else {
			st.Merge(e.State())
		}
	}
	return st.Summary()
}

// lmRef is the reference: exact sums in big arithmetic of each document's
// NLL (its exact token sum rounded once to float64, as the SPEC defines a
// row's NLL), bytes and words, for the rows whose slice is want ("" all).
type lmRef struct{ nll, bytes, words, tokens *big.Float }

func refLM(d *lmData, weighted, mask, fromText bool, want string) lmRef {
	nf := func() *big.Float { return new(big.Float).SetPrec(4096) }
	ref := lmRef{nf(), nf(), nf(), nf()}
	for i := range d.w {
		if want != "" && d.slice[i] != want {
			continue
		}
		s := nf()
		ntok := 0
		for j := d.off[i]; j < d.off[i+1]; j++ {
			if mask && d.mask[d.maskOff[i]+(j-d.off[i])] == 0 {
				continue
			}
			s.Add(s, nf().SetFloat64(d.lp[j]))
			ntok++
		}
		x, _ := s.Float64()
		w := 1.0
		if weighted {
			w = d.w[i]
		}
		wb := nf().SetFloat64(w)
		b, wd := float64(d.bytes[i]), float64(d.words[i])
		if fromText {
			b, wd = float64(len(d.text[i])), float64(len(strings.Fields(d.text[i])))
		}
		ref.nll.Add(ref.nll, nf().Mul(wb, nf().SetFloat64(-x)))
		ref.bytes.Add(ref.bytes, nf().Mul(wb, nf().SetFloat64(b)))
		ref.words.Add(ref.words, nf().Mul(wb, nf().SetFloat64(wd)))
		ref.tokens.Add(ref.tokens, nf().Mul(wb, nf().SetFloat64(float64(ntok))))
	}
	return ref
}

func bigRatio(x, y *big.Float) float64 {
	q, _ := new(big.Float).SetPrec(4096).Quo(x, y).Float64()
	return q
}

// near is |got - want| <= 2 ulps of want.
func lmNear(got, want float64) bool {
	return math.Abs(got-want) <= 2*(math.Nextafter(math.Abs(want), math.Inf(1))-math.Abs(want))
}

func checkLMFigures(t *testing.T, name string, f *Figures, ref lmRef) {
	t.Helper()
	bpb := bigRatio(ref.nll, ref.bytes) / math.Ln2
	wantBytes, _ := ref.bytes.Float64()
	wantWords, _ := ref.words.Float64()
	wantTok, _ := ref.tokens.Float64()
	if f.Bytes == nil || f.BitsPerByte == nil || f.BytePerplexity == nil || f.Words == nil || f.WordPerplexity == nil {
		t.Fatalf("%s: missing LM figures: %+v", name, f)
	}
	if *f.Bytes != wantBytes || *f.Words != wantWords || *f.Tokens != wantTok {
		t.Errorf("%s: bytes %v words %v tokens %v, want %v %v %v", name, *f.Bytes, *f.Words, *f.Tokens, wantBytes, wantWords, wantTok)
	}
	if !lmNear(*f.BitsPerByte, bpb) {
		t.Errorf("%s: bits_per_byte %v, want %v", name, *f.BitsPerByte, bpb)
	}
	if bp := math.Pow(2, bpb); math.Abs(*f.BytePerplexity-bp) > 1e-14*bp {
		t.Errorf("%s: byte_perplexity %v, want %v", name, *f.BytePerplexity, bp)
	}
	if wp := math.Exp(bigRatio(ref.nll, ref.words)); math.Abs(*f.WordPerplexity-wp) > 1e-14*wp {
		t.Errorf("%s: word_perplexity %v, want %v", name, *f.WordPerplexity, wp)
	}
}

// TestLMFigures compares bits per byte, byte and word perplexity, overall
// and per slice, weighted or not, with counts given or taken from the
// text, masked or not, with the reference.
func TestLMFigures(t *testing.T) {
	d := genLM(rand.New(rand.NewPCG(31, 32)), 3000)
	for _, weighted := range []bool{false, true} {
		for _, mask := range []bool{false, true} {
			for _, fromText := range []bool{false, true} {
				cfg := lmConfig(weighted, true, true, true, mask)
				res := evalLM(t, d, &cfg, 700, 3, !fromText, fromText)
				name := map[bool]string{false: "unweighted", true: "weighted"}[weighted]
				if mask {
					name += "/mask"
				}
				if fromText {
					name += "/text"
				}
				checkLMFigures(t, name, &res.Overall, refLM(d, weighted, mask, fromText, ""))
				if len(res.Slices) != 3 {
					t.Fatalf("%s: %d slices", name, len(res.Slices))
				}
				for _, s := range res.Slices {
					checkLMFigures(t, name+"/"+s.By[0].S, &s.Figures, refLM(d, weighted, mask, fromText, s.By[0].S))
				}
			}
		}
	}
}

// TestLMScalarLogprob: a float log-probability per document works too.
func TestLMScalarLogprob(t *testing.T) {
	lp := []float64{-10, -3.5, 0, -120.25}
	by := []int64{40, 7, 0, 500}
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred, cfg.LMBytes = Logprob, PredLogprob, true
	e := NewEvaluator(&cfg, 0)
	c := &Cols{Rows: 4, Pred: &column.Column{Type: column.Float64, Len: 4, F64: lp}, Bytes: &column.Column{Type: column.Int, Len: 4, Ints: by}}
	if !e.Add(c, 0) {
		t.Fatal(e.State().Errs)
	}
	f := e.State().Summary().Overall
	want := (10 + 3.5 + 120.25) / 547.0 / math.Ln2
	if *f.Bytes != 547 || !lmNear(*f.BitsPerByte, want) || f.Words != nil {
		t.Fatalf("bytes %v bpb %v (want %v) words %v", *f.Bytes, *f.BitsPerByte, want, f.Words)
	}
}

// TestLMEdges: zero bytes give +Inf bits per byte (NaN for a zero NLL), the
// units of the report leave bits per byte in bits.
func TestLMEdges(t *testing.T) {
	for _, tc := range []struct {
		lp    float64
		bytes int64
		units Units
		want  float64
	}{
		{-1, 0, Nats, math.Inf(1)},
		{0, 0, Nats, math.NaN()},
		{0, 10, Nats, 0},
		{-math.Ln2 * 8, 8, Nats, 1},
		{-math.Ln2 * 8, 8, Bits, 1},
		{-math.Ln2 * 8, 8, Hartleys, 1},
		{-1e300, 1, Nats, 1e300 / math.Ln2},
	} {
		cfg := DefaultConfig()
		cfg.Kind, cfg.Pred, cfg.LMBytes, cfg.Units = Logprob, PredLogprob, true, tc.units
		e := NewEvaluator(&cfg, 0)
		c := &Cols{Rows: 1, Pred: &column.Column{Type: column.Float64, Len: 1, F64: []float64{tc.lp}}, Bytes: &column.Column{Type: column.Int, Len: 1, Ints: []int64{tc.bytes}}}
		e.Add(c, 0)
		f := e.State().Summary().Overall
		got := *f.BitsPerByte
		if !(got == tc.want || got != got && tc.want != tc.want || lmNear(got, tc.want)) {
			t.Errorf("lp %v bytes %d units %v: bits_per_byte %v, want %v", tc.lp, tc.bytes, tc.units, got, tc.want)
		}
	}
}

// TestLMInvalidRows: negative and null counts, a null text, mask length
// mismatches and bad mask values are invalid rows: skipped and counted by
// reason, or the first one named with its column's role.
func TestLMInvalidRows(t *testing.T) {
	mk := func() *Cols {
		return &Cols{
			Rows:  6,
			Pred:  &column.Column{Type: column.Float64, List: true, Len: 6, F64: []float64{-1, -2, -3, -4, -5, -6, -7, -8}, Offsets: []int64{0, 1, 2, 3, 4, 6, 8}},
			Bytes: &column.Column{Type: column.Int, Len: 6, Ints: []int64{5, -1, 5, 5, 5, 5}, Valid: []bool{true, true, false, true, true, true}},
			Words: &column.Column{Type: column.Int, Len: 6, Ints: []int64{1, 1, 1, -3, 1, 1}},
			Mask:  &column.Column{Type: column.Int, List: true, Len: 6, Ints: []int64{1, 1, 1, 1, 1, 2, 1}, Offsets: []int64{0, 1, 2, 3, 4, 5, 7}},
		}
	}
	// Row 0 valid; 1 negative bytes; 2 null bytes; 3 negative words; 4 mask
	// of 1 for 2 tokens; 5 mask value 2.
	cfg := lmConfig(false, false, true, true, true)
	cfg.Skip = true
	e := NewEvaluator(&cfg, 0)
	e.Add(mk(), 0)
	f := e.State().Summary().Overall
	want := map[string]int64{"negative_count": 2, "null": 1, "length": 1, "out_of_range": 1}
	if f.Rows != 1 || len(f.Skipped) != len(want) {
		t.Fatalf("rows %d skipped %v, want 1 and %v", f.Rows, f.Skipped, want)
	}
	for k, v := range want {
		if f.Skipped[k] != v {
			t.Errorf("skipped[%s] = %d, want %d (%v)", k, f.Skipped[k], v, f.Skipped)
		}
	}
	if *f.Bytes != 5 || *f.Words != 1 || *f.Tokens != 1 {
		t.Errorf("bytes %v words %v tokens %v", *f.Bytes, *f.Words, *f.Tokens)
	}
	// Error mode: each invalid row alone, its error.
	for _, tc := range []struct {
		row  int
		role Role
		r    Reason
		msg  string
	}{
		{1, RoleBytes, ReasonNegativeCount, `column "b": negative count -1`},
		{2, RoleBytes, ReasonNull, `column "b": null value`},
		{3, RoleWords, ReasonNegativeCount, `column "b": negative count -3`},
		{4, RoleMask, ReasonLength, `column "b": mask has 1 elements, the log-probabilities 2`},
		{5, RoleMask, ReasonOutOfRange, `column "b" element 0: mask value 2 is not 0 or 1`},
	} {
		cfg := lmConfig(false, false, true, true, true)
		e := NewEvaluator(&cfg, 0)
		c := mk().Slice(tc.row, tc.row+1)
		if e.Add(&c, 0) {
			t.Fatalf("row %d accepted", tc.row)
		}
		re := e.State().Errs[0]
		if re.Role != tc.role || re.Reason != tc.r || re.Message("b") != tc.msg {
			t.Errorf("row %d: role %v reason %v %q, want %v %v %q", tc.row, re.Role, re.Reason, re.Message("b"), tc.role, tc.r, tc.msg)
		}
	}
}

// TestLMMaskIgnoresMaskedOut: masked-out tokens are not read (a prompt's
// null or NaN log-probability does not make the row invalid), masked-in
// ones are checked; bool masks work as 0/1.
func TestLMMaskIgnoresMaskedOut(t *testing.T) {
	cfg := lmConfig(false, false, false, false, true)
	e := NewEvaluator(&cfg, 0)
	c := &Cols{
		Rows: 2,
		Pred: &column.Column{Type: column.Float32, List: true, Len: 2, F32: []float32{float32(math.NaN()), -1, -2, 0, -4},
			ElemValid: []bool{true, true, true, false, true}, Offsets: []int64{0, 3, 5}},
		Mask: &column.Column{Type: column.Bool, List: true, Len: 2, Bools: []bool{false, true, true, false, true}, Offsets: []int64{0, 3, 5}},
	}
	if !e.Add(c, 0) {
		t.Fatal(e.State().Errs)
	}
	f := e.State().Summary().Overall
	if f.NLLSum != 7 || *f.Tokens != 3 {
		t.Fatalf("nll_sum %v tokens %v, want 7 and 3", f.NLLSum, *f.Tokens)
	}
	c.Mask.Bools[0] = true
	e = NewEvaluator(&cfg, 0)
	if e.Add(c, 0) || e.State().Errs[0].Reason != ReasonNaN {
		t.Fatalf("a masked-in NaN was accepted")
	}
}

// TestLMDeterminism: the figures, bootstrap included, are bit-identical
// however the rows are cut into batches and evaluators.
func TestLMDeterminism(t *testing.T) {
	d := genLM(rand.New(rand.NewPCG(33, 34)), 2000)
	for _, weighted := range []bool{false, true} {
		cfg := lmConfig(weighted, true, true, true, false)
		cfg.Bootstrap = BootstrapConfig{Replicates: 200, Buckets: 64, Seed: 5}
		cfg.Worst = 5
		var first any
		for _, split := range [][2]int{{2000, 1}, {333, 1}, {97, 4}, {1000, 2}} {
			// Evaluators see one unit each, so bucket keys (positions)
			// follow the unit: key rows by id for split independence.
			res := evalLMKeyed(t, d, &cfg, split[0], split[1])
			if len(res.Worst) != 5 {
				t.Fatalf("%d worst rows", len(res.Worst))
			}
			for i := range res.Worst {
				w := res.Worst[i]
				if id := w.ID.I; w.Tokens != float64(d.off[id+1]-d.off[id]) {
					t.Fatalf("worst row %d: tokens %v, want %d", id, w.Tokens, d.off[id+1]-d.off[id])
				}
				// Named by id in the report; the position depends on the split.
				res.Worst[i].Unit, res.Worst[i].Row = 0, 0
			}
			for i := range res.WorstPerToken {
				res.WorstPerToken[i].Unit, res.WorstPerToken[i].Row = 0, 0
			}
			v := summaryValues(res)
			if first == nil {
				first = v
			} else if !equalAny(first, v) {
				t.Fatalf("weighted %v: split %v differs", weighted, split)
			}
		}
	}
}

// evalLMKeyed is evalLM with an --id column (the row index), so that
// bootstrap buckets do not depend on the split.
func evalLMKeyed(t *testing.T, d *lmData, cfg *Config, batch, evaluators int) Result {
	c2 := *cfg
	c2.HasID = true
	n := len(d.w)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	var st *State
	for k := 0; k < evaluators; k++ {
		e := NewEvaluator(&c2, 0)
		e.BeginUnit(k)
		lo, hi := k*n/evaluators, (k+1)*n/evaluators
		for b := lo; b < hi; b += batch {
			h := min(hi, b+batch)
			c := d.cols(b, h, c2.Weighted, c2.ByCols > 0)
			c.Text, c.Mask = nil, nil
			c.ID = &column.Column{Type: column.Int, Len: h - b, Ints: ids[b:h]}
			if !e.Add(c, int64(b-lo)) {
				t.Fatalf("row error: %+v", e.State().Errs)
			}
		}
		if st == nil {
			st = e.State()
		} else {
			st.Merge(e.State())
		}
	}
	return st.Summary()
}

func equalAny(a, b any) bool {
	x, y := a.([]any), b.([]any)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// TestLMBootstrap: the buckets carry the byte and word sums: with one
// bucket every replicate is the point figure (on the buckets' 2^-40
// grid), and with many the interval holds it.
func TestLMBootstrap(t *testing.T) {
	d := genLM(rand.New(rand.NewPCG(35, 36)), 4000)
	for _, weighted := range []bool{false, true} {
		for _, buckets := range []int{1, 256} {
			cfg := lmConfig(weighted, false, true, true, false)
			cfg.Bootstrap = BootstrapConfig{Replicates: 300, Buckets: buckets, Seed: 9}
			res := evalLM(t, d, &cfg, 1000, 2, true, false)
			b := res.Bootstrap
			point := map[string]float64{
				"bits_per_byte": *res.Overall.BitsPerByte, "byte_perplexity": *res.Overall.BytePerplexity,
				"word_perplexity": *res.Overall.WordPerplexity,
			}
			seen := 0
			for m, name := range b.Metrics {
				p, ok := point[name]
				if !ok {
					continue
				}
				seen++
				if buckets == 1 {
					for _, v := range b.Replicates[m] {
						if v == v && math.Abs(v-p) > 1e-9*p { // a replicate of 0 rows is NaN
							t.Fatalf("weighted %v: %s replicate %v, point %v", weighted, name, v, p)
						}
					}
				} else if !(b.Lo[m] <= p && p <= b.Hi[m] && b.Lo[m] < b.Hi[m]) {
					t.Errorf("weighted %v: %s interval [%v, %v] misses %v", weighted, name, b.Lo[m], b.Hi[m], p)
				}
			}
			if seen != 3 {
				t.Fatalf("metrics %v", b.Metrics)
			}
		}
	}
}

// TestWordCount: WordCount is len(strings.Fields(s)), on random strings of
// ASCII and Unicode white space, letters and invalid UTF-8.
func TestWordCount(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	parts := []string{" ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2028", "\u202f", "\u3000", "\u200b",
		"a", "Z", "é", "日", "\xff", "\xe2\x80", "x", "\x00", "\x1c"}
	for k := 0; k < 5000; k++ {
		var sb strings.Builder
		for j := r.IntN(20); j > 0; j-- {
			sb.WriteString(parts[r.IntN(len(parts))])
		}
		s := sb.String()
		if got, want := WordCount(s), len(strings.Fields(s)); got != want {
			t.Fatalf("WordCount(%q) = %d, want %d", s, got, want)
		}
	}
	if WordCount("") != 0 || WordCount("   ") != 0 || WordCount(" a  b ") != 2 {
		t.Fatal("edges")
	}
}

// TestMaskedTokensKernel: each row's NLL, token count and reason from
// maskedTokensKernel are those of maskedRow (the per-row reference), for
// float32 and float64 lists, int and bool masks, with null rows, null
// elements, length mismatches, mask values other than 0/1 and values that
// are not log-probabilities or fall outside the integer sums' range.
func TestMaskedTokensKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(39, 40))
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.5, 5e-324, -1e30, math.Copysign(0, -1), 0}
	for _, f32 := range []bool{false, true} {
		for _, boolMask := range []bool{false, true} {
			for _, nulls := range []bool{false, true} {
				n := 600
				off, moff := []int64{0}, []int64{0}
				var vals []float64
				var ev, mv []bool
				var mi []int64
				rowValid, maskValid := make([]bool, n), make([]bool, n)
				for i := range n {
					rowValid[i] = !nulls || r.IntN(20) > 0
					maskValid[i] = !nulls || r.IntN(20) > 0
					k := r.IntN(300)
					if r.IntN(15) == 0 {
						k = 0
					}
					for range k {
						v := -r.ExpFloat64() * math.Pow(10, float64(r.IntN(8)-4))
						if r.IntN(300) == 0 {
							v = bad[r.IntN(len(bad))]
						}
						vals = append(vals, v)
						ev = append(ev, !nulls || r.IntN(500) > 0)
					}
					mk := k
					if r.IntN(40) == 0 {
						mk = r.IntN(300)
					}
					for range mk {
						x := int64(r.IntN(2))
						if !boolMask && r.IntN(2000) == 0 {
							x = 2
						}
						mi = append(mi, x)
						mv = append(mv, x == 1)
					}
					off = append(off, int64(len(vals)))
					moff = append(moff, int64(len(mi)))
				}
				col := &column.Column{Type: column.Float64, List: true, Len: n, Offsets: off, F64: vals}
				if f32 {
					q := make([]float32, len(vals))
					for i, v := range vals {
						q[i] = float32(v)
					}
					col.Type, col.F64, col.F32 = column.Float32, nil, q
				}
				mask := &column.Column{Type: column.Int, List: true, Len: n, Offsets: moff, Ints: mi}
				if boolMask {
					mask.Type, mask.Ints, mask.Bools = column.Bool, nil, mv
				}
				if nulls {
					col.Valid, col.ElemValid, mask.Valid = rowValid, ev, maskValid
				}
				cfg := lmConfig(false, false, false, false, true)
				e := NewEvaluator(&cfg, 0)
				c := &Cols{Rows: n, Pred: col, Mask: mask}
				tm := &terms{}
				tm.reset(n, n)
				if f32 {
					maskedTokensKernel(e, c, col.F32, tm)
				} else {
					maskedTokensKernel(e, c, col.F64, tm)
				}
				invalid := 0
				for i := range n {
					re, ok := e.logprobRow(c, i)
					switch {
					case !ok:
						invalid++
						if tm.reason[i] != re.Reason {
							t.Fatalf("f32 %v bool %v row %d: reason %v, want %v", f32, boolMask, i, tm.reason[i], re.Reason)
						}
					case tm.reason[i] != ReasonNone:
						t.Fatalf("f32 %v bool %v row %d: marked %v, valid for maskedRow", f32, boolMask, i, tm.reason[i])
					case math.Float64bits(tm.x[i]) != math.Float64bits(e.curX) || tm.tok[i] != e.curTok:
						t.Fatalf("f32 %v bool %v row %d: x %v tok %v, want %v %v", f32, boolMask, i, tm.x[i], tm.tok[i], e.curX, e.curTok)
					}
				}
				if invalid == 0 || invalid == n {
					t.Fatalf("%d of %d rows invalid: the test does not mix valid and invalid rows", invalid, n)
				}
			}
		}
	}
}

// TestLMNoAllocs: a batch with text, counts and a mask allocates nothing
// per row once the evaluator is warm.
func TestLMNoAllocs(t *testing.T) {
	d := genLM(rand.New(rand.NewPCG(47, 48)), 2000)
	for _, fromText := range []bool{false, true} {
		cfg := lmConfig(true, false, true, true, true)
		e := NewEvaluator(&cfg, 0)
		c := d.cols(0, 2000, true, false)
		if fromText {
			c.Bytes, c.Words = nil, nil
		}
		e.Add(c, 0)
		if a := testing.AllocsPerRun(5, func() { e.Add(c, 0) }); a > 2 {
			t.Errorf("text %v: %v allocations per batch of 2000 rows", fromText, a)
		}
	}
}

// TestLMNullText: a null text is an invalid row (null, role text) when it
// stands in for a count, and is not read when both counts are given.
func TestLMNullText(t *testing.T) {
	mk := func() *Cols {
		return &Cols{
			Rows: 3,
			Pred: &column.Column{Type: column.Float64, Len: 3, F64: []float64{-1, -2, -3}},
			Text: &column.Column{Type: column.String, Len: 3, Strs: []string{"a b", "", "c"}, Valid: []bool{true, false, true}},
		}
	}
	cfg := DefaultConfig()
	cfg.Kind, cfg.Pred, cfg.LMBytes, cfg.LMWords, cfg.Skip = Logprob, PredLogprob, true, true, true
	e := NewEvaluator(&cfg, 0)
	e.Add(mk(), 0)
	f := e.State().Summary().Overall
	if f.Rows != 2 || f.Skipped["null"] != 1 || *f.Bytes != 4 || *f.Words != 3 || !lmNear(*f.BitsPerByte, 4/4.0/math.Ln2) {
		t.Fatalf("rows %d skipped %v bytes %v words %v bpb %v", f.Rows, f.Skipped, *f.Bytes, *f.Words, *f.BitsPerByte)
	}
	cfg.Skip = false
	e = NewEvaluator(&cfg, 0)
	if e.Add(mk(), 0) {
		t.Fatal("a null text was accepted")
	}
	if re := e.State().Errs[0]; re.Row != 1 || re.Role != RoleText || re.Reason != ReasonNull {
		t.Fatalf("error %+v", re)
	}
	// Both counts given: the text is not read.
	c := mk()
	c.Bytes = &column.Column{Type: column.Int, Len: 3, Ints: []int64{1, 2, 3}}
	c.Words = &column.Column{Type: column.Int, Len: 3, Ints: []int64{1, 1, 1}}
	e = NewEvaluator(&cfg, 0)
	if !e.Add(c, 0) {
		t.Fatalf("rejected: %+v", e.State().Errs)
	}
	if f := e.State().Summary().Overall; *f.Bytes != 6 || *f.Words != 3 {
		t.Fatalf("bytes %v words %v", *f.Bytes, *f.Words)
	}
}
