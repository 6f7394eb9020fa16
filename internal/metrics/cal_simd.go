//go:build goexperiment.simd && amd64

package metrics

import (
	"simd/archsimd"
	"unsafe"
)

// bootCalVecOK is whether bootCalVec does any rows.
var bootCalVecOK = useAVX512

// uniformBinsVec sets bin[i] = UniformBin(c[i], n) for the whole blocks of
// 8 at the start of c and returns how many it did (none without AVX-512).
// It takes UniformBin's steps: x = c·n, 0 unless x >= 0 (NaN too), at most
// n-1, then truncated; n-1 < 2^31, so the conversion is exact.
func uniformBinsVec(c []float64, n int, bin []int32) int {
	if !useAVX512 || n < 1 || n > 1<<31 {
		return 0
	}
	fn, top, zero := archsimd.BroadcastFloat64x8(float64(n)), archsimd.BroadcastFloat64x8(float64(n-1)), archsimd.BroadcastFloat64x8(0)
	bin = bin[:len(c)]
	i := 0
	for ; i+8 <= len(c); i += 8 {
		x := archsimd.LoadFloat64x8Slice(c[i:]).Mul(fn)
		x = x.Merge(zero, x.GreaterEqual(zero)).Min(top)
		x.ConvertToInt32().StoreSlice(bin[i:])
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return i
}

// bootCalVec fills r for rows i, i+8, ... (addBootCal's first loop, with
// its operations: posHash of row row0+i of the file of seed fs, the
// products by 2^40 and conf62 truncated),
// and lists in r.small the blocks with a confidence below confSmall, block by
// block while every row of a block is valid with an NLL within pendMax. It
// returns the first row it did not do: the start of a block that is not,
// or of the last part block (i itself without AVX-512).
func bootCalVec(r *bootCalRows, i int, reason []Reason, xs, conf, br []float64, out, cor []bool,
	bin []int32, fs uint64, row0 int64, mask uint64, bins int) int {
	if !useAVX512 || bins > 1<<23 || mask >= 1<<23 {
		return i
	}
	n := len(reason)
	bc, bu := archsimd.BroadcastFloat64x8, archsimd.BroadcastUint64x8
	lim, nlim, grid, grid62, small := bc(pendMax), bc(-pendMax), bc(0x1p40), bc(0x1p62), bc(confSmall)
	mk, m1, m2, one := bu(mask), bu(0xbf58476d1ce4e5b9), bu(0x94d049bb133111eb), bu(1)
	// posHash's argument for rows i..i+7, stepped by 8 rows a block.
	var lanes [8]uint64
	g := uint64(posGamma)
	for k := range lanes {
		lanes[k] = uint64(k) * g
	}
	pos := bu(fs + uint64(row0+int64(i))*g).Add(archsimd.LoadUint64x8(&lanes))
	step := bu(8 * g)
	nbins := archsimd.BroadcastInt32x8(int32(bins))
	bucket, cell, nll, brier, c62, inc := r.bucket[:n], r.cell[:n], r.nll[:n], r.brier[:n], r.conf[:n], r.inc[:n]
	out, cor, bin = out[:n], cor[:n], bin[:n]
	xs, conf, br = xs[:n], conf[:n], br[:n]
	for ; i+8 <= n; i, pos = i+8, pos.Add(step) {
		if *(*uint64)(unsafe.Pointer(&reason[i])) != 0 { // ReasonNone is 0
			break
		}
		x := archsimd.LoadFloat64x8Slice(xs[i:])
		if x.Less(lim).And(x.Greater(nlim)).ToBits() != 0xff {
			break
		}
		cf := archsimd.LoadFloat64x8Slice(conf[i:])
		h := pos.Xor(pos.ShiftAllRight(30)).Mul(m1) // mix64
		h = h.Xor(h.ShiftAllRight(27)).Mul(m2)
		h = h.Xor(h.ShiftAllRight(31))
		b := h.And(mk).TruncateToUint32().AsInt32x8()
		b.StoreSlice(bucket[i:])
		b.Mul(nbins).Add(archsimd.LoadInt32x8Slice(bin[i:])).StoreSlice(cell[i:])
		x.Mul(grid).ConvertToInt64().StoreSlice(nll[i:])
		archsimd.LoadFloat64x8Slice(br[i:]).Mul(grid).ConvertToInt64().StoreSlice(brier[i:])
		// conf62: below 2^63, so the signed conversion is exact.
		cf.Mul(grid62).ConvertToInt64().StoreSlice(c62[i:])
		if cf.Less(small).ToBits() != 0 {
			r.small = append(r.small, int32(i))
		}
		// A byte per row: outcome in bit 0, hit in bit 1.
		oc := *(*uint64)(unsafe.Pointer(&out[i])) | *(*uint64)(unsafe.Pointer(&cor[i]))<<1
		v := archsimd.BroadcastUint64x2(oc).AsUint8x16().ExtendLo8ToUint64()
		one.Or(v.And(one).ShiftAllLeft(21)).Or(v.ShiftAllRight(1).ShiftAllLeft(42)).StoreSlice(inc[i:])
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return i
}

// histKeysVec sets key[j], mant[j] = histKey(conf[j]) for the blocks of 8
// from i on while every confidence of a block, c and 1 - c, is at least
// 2^-53, and returns the first row it did not do (i itself without
// AVX-512). histKey's steps: x = 1 - c where c >= 1/2 (exact), else c; the
// key from x's bits; mirrored where c >= 1/2; the integer confidence from
// c's mantissa, or c·2^53 where c >= 1/2 (an integer below 2^54: exact).
func histKeysVec(conf []float64, key []int32, mant []uint64, i int) int {
	if !useAVX512 {
		return i
	}
	n := len(conf)
	key, mant = key[:n], mant[:n]
	bc, bu := archsimd.BroadcastFloat64x8, archsimd.BroadcastUint64x8
	half, one, tiny, scale := bc(0.5), bc(1), bc(0x1p-53), bc(0x1p53)
	base, top := bu((1023-53)<<histM-1), bu(histCells-1)
	m52, bit52 := bu(1<<52-1), bu(1<<52)
	for ; i+8 <= n; i += 8 {
		c := archsimd.LoadFloat64x8Slice(conf[i:])
		up := c.GreaterEqual(half)
		x := one.Sub(c).Merge(c, up)
		if x.GreaterEqual(tiny).ToBits() != 0xff { // also NaN
			break
		}
		k := x.AsUint64x8().ShiftAllRight(52 - histM).Sub(base)
		k = top.Sub(k).Merge(k, up)
		k.TruncateToUint32().AsInt32x8().StoreSlice(key[i:])
		lo := c.AsUint64x8().And(m52).Or(bit52)
		c.Mul(scale).ConvertToInt64().AsUint64x8().Merge(lo, up).StoreSlice(mant[i:])
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return i
}

// mapCodesVec is mapCodes's loop in the vector unit, over whole blocks of
// 16 rows from row i (a multiple of sliceLanes, so that row i+p of a block
// is in count lane p mod sliceLanes), while every code of a block is below
// 16 and has a slice: each row's slice from a 16-entry copy of keyOfCode,
// and the valid rows of each of the batch's first ns slices (ns <= 16)
// counted, added to cnt at the end. vid (as long as sliceOf) is scratch.
// It returns the first row it did not do, and whether a block stopped it
// for a reason other than a code with no slice yet (a code of 16 or more:
// it is no use calling again for this batch).
func mapCodesVec(sliceOf, codes, keyOfCode, vid []int32, reason []Reason, cnt []int32, ns, i int) (int, bool) {
	if !useAVX512 || ns > 16 || i&(sliceLanes-1) != 0 {
		return i, ns > 16
	}
	var tab [16]int32
	for k := range tab {
		tab[k] = -1
		if k < len(keyOfCode) {
			tab[k] = keyOfCode[k]
		}
	}
	table := archsimd.LoadInt32x16(&tab)
	n := len(sliceOf)
	codes, reason, vid = codes[:n], reason[:n], vid[:n]
	sixteen, zero := archsimd.BroadcastInt32x16(16), archsimd.BroadcastInt32x16(0)
	none := archsimd.BroadcastUint8x16(uint8(ReasonNone))
	big := false
	i0 := i
	// Each row's slice, and in vid the same for valid rows and -1 for
	// the others ...
	for ; i+16 <= n; i += 16 {
		c := archsimd.LoadInt32x16Slice(codes[i:])
		inRange := c.GreaterEqual(zero).And(c.Less(sixteen))
		if inRange.ToBits() != 0xffff {
			big = true
			break
		}
		id := table.Permute(c.AsUint32x16())
		if id.GreaterEqual(zero).ToBits() != 0xffff {
			break // a code with no slice yet
		}
		id.StoreSlice(sliceOf[i:])
		invalid := archsimd.Mask32x16FromBits(archsimd.LoadUint8x16Slice(unsafe.Slice((*uint8)(unsafe.Pointer(&reason[i])), 16)).NotEqual(none).ToBits())
		id.Or(invalid.ToInt32x16()).StoreSlice(vid[i:]) // ToInt32x16 is -1 where the mask is set
	}
	// ... then each slice's rows counted in one pass over vid, in a
	// register (a vector per slice in the loop above would live in
	// memory, and each block wait on the last one's stores).
	for s := range ns {
		id := archsimd.BroadcastInt32x16(int32(s))
		var acc archsimd.Int32x16
		for k := i0; k < i; k += 16 {
			acc = acc.Sub(archsimd.LoadInt32x16Slice(vid[k:]).Equal(id).ToInt32x16())
		}
		var v [16]int32
		acc.Store(&v)
		for p, k := range v {
			cnt[s*sliceLanes+p&(sliceLanes-1)] += k
		}
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return i, big
}

// sliceBinIndexVec is sliceBinIndex's loop over the whole blocks of 16 rows
// from the start, in the vector unit (sliceBinEntry's layout): it returns how many rows it did (0
// without AVX-512, or when an index could exceed an int32).
func sliceBinIndexVec(idx, bucket, sliceOf, bin []int32, bins, spare int) int {
	if !useAVX512 || spare >= 1<<31-1 {
		return 0
	}
	n := len(idx) &^ 15
	var laneOff [16]int32 // (row mod sliceBinLanes)·bins
	for p := range laneOff {
		laneOff[p] = int32(p & (sliceBinLanes - 1) * bins)
	}
	off := archsimd.LoadInt32x16(&laneOff)
	step := archsimd.BroadcastInt32x16(int32(sliceBinLanes * bins))
	sp, zero := archsimd.BroadcastInt32x16(int32(spare)), archsimd.BroadcastInt32x16(0) // spare where not valid
	for i := 0; i < n; i += 16 {
		k := archsimd.LoadInt32x16Slice(sliceOf[i:]).Mul(step).Add(off).Add(archsimd.LoadInt32x16Slice(bin[i:]))
		valid := archsimd.LoadInt32x16Slice(bucket[i:]).GreaterEqual(zero)
		k.Merge(sp, valid).StoreSlice(idx[i:])
	}
	archsimd.ClearAVXUpperBits() // see expVec
	return n
}
