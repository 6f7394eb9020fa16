//go:build goexperiment.simd && amd64

package metrics

import "simd/archsimd"

// logChunk is how many rows negLogPartsVec looks up before it computes
// their logs (a multiple of 8).
const logChunk = 256

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
			e := logEntry(ix)
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
