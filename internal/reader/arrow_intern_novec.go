//go:build !(goexperiment.simd && amd64)

package reader

// useVecIntern is whether encodeShortVec runs: not in this build.
var useVecIntern = false

// encodeShortVec is the vector loop of encodeShort; this build has none.
func encodeShortVec[T int32 | int64](s *strIntern, codes []int32, offs []T, data []byte) int {
	return encodeShortScalar(s, codes, offs, data)
}

// maxIndexVec is the vector loop of maxIndex; this build has none.
func maxIndexVec(idx []int32) (uint32, int) { return 0, 0 }

// countLevelsVec is the vector loop of countLevels; this build has none.
func countLevelsVec(levels []byte, max byte) (n, done int, over bool) { return 0, 0, false }
