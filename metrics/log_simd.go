//go:build goexperiment.simd && amd64

package metrics

import "simd/archsimd"

// logTabVec holds logTab's three columns as 16 vectors of 8 entries each,
// for lookups by permutation: a 128-entry lookup is 8 two-register
// permutations (VPERMI2PD, on the index's low 4 bits) and 7 merges (on its
// bits 4, 5 and 6).
var logTabVec [3][16][8]float64

// logChunk is how many rows negLogPartsVec looks up before it computes
// their logs (a multiple of 8).
const logChunk = 256

func init() {
	for j, t := range logTab {
		logTabVec[0][j/8][j%8] = t.invc
		logTabVec[1][j/8][j%8] = t.logc
		logTabVec[2][j/8][j%8] = t.logcLo
	}
}

func lookup128(t *[16][8]float64, idx archsimd.Uint64x8, m4, m5, m6 archsimd.Mask64x8) archsimd.Float64x8 {
	ld := archsimd.LoadFloat64x8
	g0 := ld(&t[0]).ConcatPermute(ld(&t[1]), idx)
	g1 := ld(&t[2]).ConcatPermute(ld(&t[3]), idx)
	g2 := ld(&t[4]).ConcatPermute(ld(&t[5]), idx)
	g3 := ld(&t[6]).ConcatPermute(ld(&t[7]), idx)
	g4 := ld(&t[8]).ConcatPermute(ld(&t[9]), idx)
	g5 := ld(&t[10]).ConcatPermute(ld(&t[11]), idx)
	g6 := ld(&t[12]).ConcatPermute(ld(&t[13]), idx)
	g7 := ld(&t[14]).ConcatPermute(ld(&t[15]), idx)
	a0, a1, a2, a3 := g1.Merge(g0, m4), g3.Merge(g2, m4), g5.Merge(g4, m4), g7.Merge(g6, m4)
	b0, b1 := a1.Merge(a0, m5), a3.Merge(a2, m5)
	return b1.Merge(b0, m6)
}

// negLogPartsVec sets x[i] = -logParts(qb[i], ql[i], 0) for the whole
// blocks of 8 at the start of x, with logParts's operations in its order
// (the same bits: TestNegLogPartsVec), and returns how many it did. Every
// qb[i] must be the bits of a positive normal float64, as binaryProbFast
// leaves them.
func negLogPartsVec(x []float64, qb []uint64, ql []float64) int {
	if !useAVX512 || len(x) < 8 {
		return 0
	}
	bu, bi, bf := archsimd.BroadcastUint64x8, archsimd.BroadcastInt64x8, archsimd.BroadcastFloat64x8
	off := bu(logOff)
	kMin, kMax, bias := bi(-1022), bi(1022), bi(1023)
	minus1, hi42, lo42 := bf(-1), bf(ln2Hi42), bf(ln2Lo42)
	c3, c5, c7, c9 := bf(logInv3), bf(logInv5), bf(logInv7), bf(logInv9)
	m2, m4q, m6, m8 := bf(-logHalf), bf(-logQuart), bf(-logInv6), bf(-logEighth)
	sign := bu(1 << 63)
	n := len(x) &^ 7
	// The table lookups, a chunk at a time in scalar code (AVX-512F has
	// gathers, but archsimd does not offer them; 8 two-register
	// permutations and 7 merges per column were slower). Done block by
	// block, each vector load of the looked-up entries followed its 8
	// scalar stores at once and stalled on store forwarding; a chunk of
	// logChunk rows apart, the stores have drained to the cache first.
	var ti, tl, tll [logChunk]float64
	for c := 0; c < n; c += logChunk {
		m := min(logChunk, n-c)
		for j, ix := range qb[c : c+m] {
			e := &logTab[((ix-logOff)>>(52-7))%logN]
			ti[j], tl[j], tll[j] = e.invc, e.logc, e.logcLo
		}
		for j := 0; j < m; j += 8 {
			i := c + j
			ix := archsimd.LoadUint64x8Slice(qb[i:])
			lo := archsimd.LoadFloat64x8Slice(ql[i:])
			tmp := ix.Sub(off)
			k := tmp.AsInt64x8().ShiftAllRight(52)
			z := ix.Sub(k.AsUint64x8().ShiftAllLeft(52)).AsFloat64x8()
			invc := archsimd.LoadFloat64x8Slice(ti[j:])
			logc := archsimd.LoadFloat64x8Slice(tl[j:])
			logcLo := archsimd.LoadFloat64x8Slice(tll[j:])
			r := z.MulAdd(invc, minus1)
			scale := bias.Sub(k.Max(kMin).Min(kMax)).AsUint64x8().ShiftAllLeft(52).AsFloat64x8()
			d := lo.Mul(scale).Mul(invc)
			lo = d.Sub(d.Mul(r))
			kd := k.ConvertToFloat64()
			a := kd.Mul(hi42)
			w := a.Add(logc)
			e1 := a.Sub(w).Add(logc)
			hi := w.Add(r)
			e2 := w.Sub(hi).Add(r)
			r2 := r.Mul(r)
			q := m8.Add(r.Mul(c9))
			q = m6.Add(r.Mul(c7)).Add(r2.Mul(q))
			q = m4q.Add(r.Mul(c5)).Add(r2.Mul(q))
			q = m2.Add(r.Mul(c3)).Add(r2.Mul(q))
			p := r2.Mul(q)
			lo = lo.Add(e1.Add(e2).Add(kd.Mul(lo42)).Add(logcLo).Add(p))
			hi.Add(lo).AsUint64x8().Xor(sign).AsFloat64x8().StoreSlice(x[i:])
		}
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return n
}
