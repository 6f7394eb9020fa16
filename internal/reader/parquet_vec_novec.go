//go:build !(goexperiment.simd && amd64)

package reader

// maxIndexVec is the vector loop of maxIndex; this build has none.
func maxIndexVec(idx []int32) (uint32, int) { return 0, 0 }

// countLevelsVec is the vector loop of countLevels; this build has none.
func countLevelsVec(levels []byte, max byte) (n, done int, over bool) { return 0, 0, false }
