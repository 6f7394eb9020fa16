package metrics

import (
	"math"
	"testing"
)

// neighbours returns x and its float64 neighbours on both sides.
func neighbours(x float64) []float64 {
	return []float64{math.Nextafter(x, math.Inf(-1)), x, math.Nextafter(x, math.Inf(1))}
}

func TestSoftplusIdentitiesAndEdges(t *testing.T) {
	// Exact values: softplus(0) = ln 2; for |x| >= 40, e^-|x| is below half
	// an ulp of |x|, so softplus(x) = x and softplus(-x) = e^-x to within
	// an ulp of e^-x.
	cases := []struct {
		x, want, relTol float64
	}{
		{0, math.Ln2, 0},
		{1000, 1000, 0},
		{-1000, 0, 0}, // e^-1000 underflows to 0
		{-745, 5e-324, 0},
		{-40, math.Exp(-40), 1e-15},
		{800, 800, 0},
		{1e-300, math.Ln2, 0},
		{math.MaxFloat64, math.MaxFloat64, 0},
		{-math.MaxFloat64, 0, 0},
	}
	for _, c := range cases {
		got := Softplus(c.x)
		if c.relTol == 0 && got != c.want || c.relTol > 0 && math.Abs(got-c.want) > c.relTol*c.want {
			t.Errorf("Softplus(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	// softplus(x) - softplus(-x) = x, checked where both are representable.
	for _, x0 := range []float64{1e-20, 1e-8, 0.5, 1, 2, 10, 30, 36, 37, 50} {
		for _, x := range neighbours(x0) {
			d := Softplus(x) - Softplus(-x)
			if math.Abs(d-x) > 4e-16*math.Max(1, x) {
				t.Errorf("softplus(%v) - softplus(-%v) = %v", x, x, d)
			}
		}
	}
}

func TestSigmoidEdges(t *testing.T) {
	for _, x0 := range []float64{0, 1e-300, 1, 20, 36, 40, 700, 710, 1000} {
		for _, x := range neighbours(x0) {
			s, r := Sigmoid(x), Sigmoid(-x)
			if math.IsNaN(s) || math.IsNaN(r) || s < 0 || s > 1 || r < 0 || r > 1 {
				t.Fatalf("Sigmoid(±%v) = %v, %v", x, s, r)
			}
			if math.Abs(s+r-1) > 2.3e-16 {
				t.Errorf("Sigmoid(%v)+Sigmoid(-%v) = %v", x, x, s+r)
			}
		}
	}
	if Sigmoid(0) != 0.5 {
		t.Errorf("Sigmoid(0) = %v", Sigmoid(0))
	}
	if Sigmoid(-1000) != 0 || Sigmoid(1000) != 1 {
		t.Errorf("saturation: %v %v", Sigmoid(-1000), Sigmoid(1000))
	}
}

func TestBinaryProbNLLEdges(t *testing.T) {
	eps := 1e-15
	lo, hi := eps, 1-eps
	cases := []struct {
		p       float64
		y       bool
		want    float64
		clipped bool
	}{
		{0, true, -math.Log(1e-15), true},
		{1, false, -math.Log1p(-(1 - 1e-15)), true},
		{1e-15, true, -math.Log(1e-15), false},
		{math.Nextafter(1e-15, 0), true, -math.Log(1e-15), true},
		{math.Nextafter(1e-15, 1), true, -math.Log(math.Nextafter(1e-15, 1)), false},
		{1, true, -math.Log(1 - 1e-15), true},
		{0.5, true, math.Ln2, false},
		{0.5, false, math.Ln2, false},
		// log1p keeps precision for small p with y = 0: -ln(1-1e-10) =
		// 1e-10 + 5e-21 + ...
		{1e-10, false, 1.00000000005e-10, false},
	}
	for _, c := range cases {
		p, clipped := Clip(c.p, lo, hi)
		got := BinaryProbNLL(p, c.y)
		if clipped != c.clipped {
			t.Errorf("p=%v: clipped=%v, want %v", c.p, clipped, c.clipped)
		}
		if math.Abs(got-c.want) > 2e-16*math.Abs(c.want) {
			t.Errorf("p=%v y=%v: NLL %v, want %v", c.p, c.y, got, c.want)
		}
	}
	// eps = 0: a zero probability on the observed class costs +Inf.
	if got := BinaryProbNLL(0, true); !math.IsInf(got, 1) {
		t.Errorf("unclipped NLL of p=0,y=1 = %v", got)
	}
	if got := BinaryProbNLL(1, true); got != 0 {
		t.Errorf("NLL of p=1,y=1 = %v", got)
	}
}

func TestLogitsRow(t *testing.T) {
	cases := []struct {
		name   string
		z      []float64
		y      int
		nll    float64
		argmax int
		conf   float64
	}{
		{"uniform", []float64{3, 3}, 1, math.Ln2, 0, 0.5},
		{"huge spread", []float64{1000, 0, -1000, 5}, 2, 2000, 0, 1},
		{"all very negative", []float64{-1e4, -1e4 - 1}, 0, math.Log1p(math.Exp(-1)), 0, 1 / (1 + math.Exp(-1))},
		{"single class", []float64{-7}, 0, 0, 0, 1},
		{"tie picks first", []float64{1, 2, 2}, 2, math.Log(math.Exp(-1) + 2), 1, 1 / (math.Exp(-1) + 2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nll, am, conf, brier := LogitsRow(c.z, c.y)
			if math.Abs(nll-c.nll) > 4e-16*math.Max(1, c.nll) {
				t.Errorf("nll %v, want %v", nll, c.nll)
			}
			if am != c.argmax {
				t.Errorf("argmax %d, want %d", am, c.argmax)
			}
			if math.Abs(conf-c.conf) > 4e-16 {
				t.Errorf("conf %v, want %v", conf, c.conf)
			}
			// Brier from the softmax directly.
			m := c.z[0]
			for _, v := range c.z {
				m = math.Max(m, v)
			}
			var s float64
			for _, v := range c.z {
				s += math.Exp(v - m)
			}
			var want float64
			for k, v := range c.z {
				d := math.Exp(v-m) / s
				if k == c.y {
					d -= 1
				}
				want += d * d
			}
			if math.Abs(brier-want) > 1e-15 {
				t.Errorf("brier %v, want %v", brier, want)
			}
		})
	}
	// float32 logits are used at their exact widened values.
	z32 := []float32{0.1, 0.2}
	nll32, _, _, _ := LogitsRow(z32, 0)
	nll64, _, _, _ := LogitsRow([]float64{float64(z32[0]), float64(z32[1])}, 0)
	if nll32 != nll64 {
		t.Errorf("float32 row %v != widened row %v", nll32, nll64)
	}
}

func TestProbsRowBrierNoCancellation(t *testing.T) {
	// A near-perfect prediction: Brier = 2 * 1e-12^2 / ... computed
	// without 1 - p_y cancelling to garbage.
	p := []float64{1e-12, 1 - 1e-12}
	_, conf, brier, sum := ProbsRow(p, 1)
	d := 1 - p[1]
	want := 1e-24 + d*d
	if math.Abs(brier-want) > 1e-15*want {
		t.Errorf("brier %v, want %v", brier, want)
	}
	if conf != p[1] || sum != 1 {
		t.Errorf("conf %v sum %v", conf, sum)
	}
}

func TestUniformBinEdges(t *testing.T) {
	cases := []struct {
		c    float64
		n    int
		want int
	}{
		{0, 15, 0},
		{1, 15, 14},
		{0.7, 10, 7}, // 0.7*10 rounds to exactly 7 in float64
		{math.Nextafter(0.7, 0), 10, 6},
		{0.1, 10, 1},
		{1.0 / 15, 15, 1},
		{math.Nextafter(1.0/15, 0), 15, 0},
		{math.Nextafter(1, 0), 15, 14},
		{0.5, 1, 0},
		{1, 1, 0},
	}
	for _, c := range cases {
		if got := UniformBin(c.c, c.n); got != c.want {
			t.Errorf("UniformBin(%v, %d) = %d, want %d", c.c, c.n, got, c.want)
		}
	}
}

func TestGaussianNLL(t *testing.T) {
	// Standard normal at 0: 0.5 ln(2 pi).
	if got := GaussianNLL(0, 0, 1); math.Abs(got-0.91893853320467274178) > 1.2e-16 {
		t.Errorf("N(0,1) at 0: %v", got)
	}
	// std and var forms agree.
	for _, c := range [][3]float64{{1, 0, 2}, {-3, 1.5, 0.1}, {1e3, 1e3 + 1e-3, 1e-3}} {
		a := GaussianNLL(c[0], c[1], c[2])
		b := GaussianNLLVar(c[0], c[1], c[2]*c[2])
		if math.Abs(a-b) > 1e-14*math.Max(1, math.Abs(a)) {
			t.Errorf("std form %v != var form %v for %v", a, b, c)
		}
	}
}

func TestLogSubnormal(t *testing.T) {
	// ln(2^-1074) = -1074 ln 2 = -744.4400719213812...
	cases := []struct{ x, want float64 }{
		{5e-324, -744.4400719213812},
		{math.Ldexp(1, -1050), -1050 * math.Ln2},
		{math.Ldexp(1, -1022), -1022 * math.Ln2},
		{math.Nextafter(minNormal, 0), -708.3964185322641},
		{1, 0},
	}
	for _, c := range cases {
		if got := Log(c.x); math.Abs(got-c.want) > 2e-16*math.Abs(c.want) {
			t.Errorf("Log(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := BinaryProbNLL(5e-324, true); math.Abs(got-744.4400719213812) > 1e-13 {
		t.Errorf("NLL of p=5e-324 = %v", got)
	}
}

// TestUniformBins: the batch's bin indexes (the vector loop where there is
// one, and the scalar tail) are UniformBin's, at and beside every bin edge,
// for the invalid values too (NaN, infinities, out of range).
func TestUniformBins(t *testing.T) {
	for _, n := range []int{1, 2, 10, 15, 256, 1000} {
		var cs []float64
		for k := 0; k <= n; k++ {
			e := float64(k) / float64(n)
			cs = append(cs, e, math.Nextafter(e, -1), math.Nextafter(e, 2))
		}
		cs = append(cs, 0, math.Copysign(0, -1), 1, -1e-300, 5e-324, 1.5, 1e300,
			math.Inf(1), math.Inf(-1), math.NaN(), -math.NaN())
		cs = append(cs, cs[:7]...) // a part block at the end
		var tm terms
		tm.conf = cs
		got := tm.uniformBins(len(cs), n)
		for i, c := range cs {
			if want := UniformBin(c, n); int(got[i]) != want {
				t.Fatalf("n=%d: bin of %v (row %d) is %d, want %d", n, c, i, got[i], want)
			}
		}
		if again := tm.uniformBins(len(cs), n); &again[0] != &got[0] {
			t.Fatal("the bins were worked out twice")
		}
	}
}
