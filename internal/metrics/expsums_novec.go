//go:build !(goexperiment.simd && amd64)

package metrics

// expVec is the vector loop of expSums; this build has none.
func expVec[T Float](z []T, m float64, ls, lq *[8]float64) int { return 0 }

// VectorKernels says which vector kernels this build runs.
func VectorKernels() string { return "none (build with GOEXPERIMENT=simd on amd64 for AVX-512)" }

// argmaxVec and firstNonFiniteVec are vector loops of LogitsRow and
// firstBad; this build has none.
func argmaxVec[T Float](z []T) (int, bool)             { return 0, false }
func argmaxFiniteVec[T Float](z []T) (int, bool, bool) { return 0, false, false }
func firstNonFiniteVec[T Float](z []T) (int, bool)     { return 0, false }

// binaryProbVec is the vector loop of binaryProbFast; this build has none.
func binaryProbVec[T Float](i int, lab []int64, p []T, lo, hi float64, countClip bool,
	qb []uint64, ql []float64, clip []int32, conf, brier []float64, out, correct []bool, rare []int32) (int, []int32) {
	return i, rare
}

// negLogPartsVec is the vector loop of binaryProbFast's logs; this build
// has none.
func negLogPartsVec(x []float64, qb []uint64, ql []float64) int { return 0 }

// uniformBinsVec is the vector loop of terms.uniformBins; this build has
// none.
func uniformBinsVec(c []float64, n int, bin []int32) int { return 0 }

// bootCalVecOK is whether bootCalVec does any rows.
var bootCalVecOK = false

// bootCalVec is the vector loop of addBootCal; this build has none.
func bootCalVec(r *bootCalRows, i int, reason []Reason, xs, conf, br []float64, out, cor []bool,
	bin []int32, fs uint64, row0 int64, mask uint64, bins int) int {
	return i
}

// tokensVec is the vector loop of tokenNLL; this build has none.
func tokensVec[T Float](vs []T, a *tokAcc) (int, bool) { return 0, true }

// histKeysVec is the vector loop of Hist.addChunk; this build has none.
func histKeysVec(conf []float64, key []int32, mant []uint64, i int) int { return i }

// mapCodesVec is the vector loop of mapCodes; this build has none.
func mapCodesVec(sliceOf, codes, keyOfCode, vid []int32, reason []Reason, cnt []int32, ns, i int) (int, bool) {
	return i, true
}

// sliceBinIndexVec is the vector loop of sliceBinIndex; this build has none.
func sliceBinIndexVec(idx, bucket, sliceOf, bin []int32, bins, spare int) int { return 0 }
