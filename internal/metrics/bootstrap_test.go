package metrics

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
)

// fxRef is the sum fx must hold: every term times 2^40, truncated toward
// zero, summed as integers.
func fxRef(xs []float64) *big.Int {
	z := new(big.Int)
	for _, x := range xs {
		t, _ := new(big.Float).SetMantExp(big.NewFloat(x), 40).Int(nil)
		z.Add(z, t)
	}
	return z
}

func fxInt(f *fx) *big.Int {
	g := *f
	g.flush()
	z := new(big.Int).SetInt64(g.hi)
	z.Lsh(z, 64)
	return z.Add(z, new(big.Int).SetUint64(g.lo))
}

func TestFxExactIntegerSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gens := map[string]func() float64{
		"small":    func() float64 { return r.Float64() },
		"negative": func() float64 { return -r.Float64() * 4000 },
		"edge":     func() float64 { return math.Nextafter(4096, 0) * float64(1-2*r.IntN(2)) },
		"wide":     func() float64 { return (r.Float64() - 0.5) * math.Ldexp(1, r.IntN(80)) },
		"tiny":     func() float64 { return r.Float64() * 1e-13 },
	}
	for name, g := range gens {
		for _, n := range []int{0, 1, fxPend - 1, fxPend, fxPend + 1, 3*fxPend + 5, 20000} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = g()
			}
			var f fx
			for _, x := range xs {
				f.add(x)
			}
			if got, want := fxInt(&f), fxRef(xs); got.Cmp(want) != 0 {
				t.Fatalf("%s n=%d: sum %v, want %v", name, n, got, want)
			}
			// Split anywhere and merged: the same integer.
			if n > 2 {
				var a, b fx
				k := r.IntN(n)
				for _, x := range xs[:k] {
					a.add(x)
				}
				for _, x := range xs[k:] {
					b.add(x)
				}
				a.merge(&b)
				if got, want := fxInt(&a), fxRef(xs); got.Cmp(want) != 0 {
					t.Fatalf("%s n=%d split at %d: %v, want %v", name, n, k, got, want)
				}
				if a.float() != f.float() {
					t.Fatalf("%s n=%d: float %v after merge, %v in one", name, n, a.float(), f.float())
				}
			}
		}
	}
}

func TestFxNonFinite(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0x1p90} {
		var f fx
		f.add(1)
		f.add(x)
		if !math.IsNaN(f.float()) {
			t.Errorf("after %v: %v, want NaN", x, f.float())
		}
	}
	var f fx
	for range 5000 {
		f.add(-0.5)
	}
	if got := f.float(); got != -2500 {
		t.Errorf("5000 × -0.5 = %v", got)
	}
}

// TestPoisson1Table: the table-driven draw returns what the term-by-term
// inversion it replaced returns, for the same generator states, including
// the tail and u at the table's own values.
func TestPoisson1Table(t *testing.T) {
	ref := func(u float64) int {
		p := math.Exp(-1)
		cum := p
		k := 0
		for u > cum && k < 30 {
			k++
			p /= float64(k)
			cum += p
		}
		return k
	}
	a := rand.NewPCG(1, 2)
	b := rand.New(rand.NewPCG(1, 2))
	counts := map[int]int{}
	for i := 0; i < 1_000_000; i++ {
		u := b.Float64()
		got, want := poisson1(a.Uint64()), ref(u)
		if got != want {
			t.Fatalf("draw %d: u=%v: poisson1 %d, inversion %d", i, u, got, want)
		}
		counts[got]++
	}
	if counts[0] < 360000 || counts[0] > 376000 || counts[6] == 0 {
		t.Errorf("counts %v are not Poisson(1)-like", counts)
	}
	for k, c := range poisson1CDF {
		for _, v := range []float64{c, math.Nextafter(c, 0), math.Nextafter(c, 2)} {
			if v >= 1 {
				continue // Float64 returns values below 1
			}
			u := rand.New(&fixedSource{v}).Float64()
			if got, want := poisson1((&fixedSource{v}).Uint64()), ref(u); got != want {
				t.Errorf("k=%d u=%v: poisson1 %d, inversion %d", k, u, got, want)
			}
		}
	}
}

// fixedSource makes rand.Float64 return u rounded down to a multiple of
// 2^-53 (Float64 keeps the low 53 bits of Uint64); u in [0, 1).
type fixedSource struct{ u float64 }

func (f *fixedSource) Uint64() uint64 { return uint64(f.u * (1 << 53)) }

// TestBinsFromBoot: with the bootstrap on, the calibration bins of a run
// without --by are taken from the bootstrap's pending sums (binsFromBoot);
// every overall figure, the bins included, must be the one the run without
// the bootstrap computes, bit for bit: with confidences that conf62
// truncates (below 2^-10, subnormal, 0), invalid rows skipped, rows
// bucketed by --id (the general loop) or by content (addBootCal, with and
// without its vector loop), and more rows than the pending sums hold
// between flushes.
func TestBinsFromBoot(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	n := pendRows + 3*evalChunk + 7
	y, p, w, _ := binaryRows(r, n)
	ids := make([]int64, n)
	for i := range p {
		ids[i] = int64(i)
		switch r.IntN(30) {
		case 0, 1, 2:
			p[i] = r.Float64() * 0x1p-10 // truncated by conf62
		case 3:
			p[i] = math.Nextafter(0x1p-10, 0)
		case 4:
			p[i] = 0x1p-10
		case 5:
			p[i] = math.NaN() // invalid: its block is done row by row
		}
	}
	p[17], y[99], p[4000] = math.NaN(), 5, -1
	run := func(boot, vec, calLoop, byID bool, cut int) *State {
		defer func(a, b bool) { bootCalVecOK, bootCalLoop = a, b }(bootCalVecOK, bootCalLoop)
		bootCalVecOK = bootCalVecOK && vec
		bootCalLoop = calLoop
		cfg := DefaultConfig()
		cfg.Eps, cfg.Skip = 1e-15, true
		if boot {
			cfg.Bootstrap = DefaultBootstrap()
		}
		cfg.HasID = byID
		evs := []*Evaluator{NewEvaluator(&cfg, 0), NewEvaluator(&cfg, 0)}
		for u, lo := 0, 0; lo < n; u, lo = u+1, lo+cut {
			hi := min(n, lo+cut)
			ev := evs[u%2]
			ev.BeginUnit(u)
			c := cols(y, p, w, nil, lo, hi, false, false)
			if byID {
				c.ID = &column.Column{Type: column.Int, Len: hi - lo, Ints: ids[lo:hi]}
			}
			if !ev.Add(c, 0) {
				t.Fatal("stopped in skip mode")
			}
		}
		st := evs[0].State()
		st.Merge(evs[1].State())
		return st
	}
	// The figures, and the exact sums of the bins (a figure is rounded
	// once from them, which could hide a difference).
	show := func(st *State) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%+v\n", summaryValues(Result{Overall: st.Summary().Overall}))
		for _, bin := range st.slices[""].Bins {
			fmt.Fprintf(&b, "%d %d %s\n", bin.Count, bin.OutN, bin.Conf.Big().Text('p', 0))
		}
		return b.String()
	}
	want := show(run(false, true, true, false, 9000))
	if strings.Count(want, "\n") != 16 {
		t.Fatalf("no figures: %s", want)
	}
	for _, tc := range []struct {
		vec, calLoop, byID bool
		cut                int
	}{
		{true, true, false, 9000}, {false, true, false, 9000}, {true, false, false, 9000},
		{true, true, true, 9000}, {true, true, false, n}, {true, true, false, 777},
	} {
		st := run(true, tc.vec, tc.calLoop, tc.byID, tc.cut)
		if st.Summary().Bootstrap == nil {
			t.Fatal("no bootstrap")
		}
		if got := show(st); got != want {
			t.Errorf("%+v: overall figures with the bootstrap differ from those without:\n%s\n%s", tc, got, want)
		}
	}
}
