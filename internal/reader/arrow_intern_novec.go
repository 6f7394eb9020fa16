//go:build !(goexperiment.simd && amd64)

package reader

// useVecIntern is whether encodeShortVec runs: not in this build.
var useVecIntern = false

// encodeShortVec is the vector loop of encodeShort; this build has none.
func encodeShortVec[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte) int {
	return encodeShortScalar(s, codes, offs, data)
}
