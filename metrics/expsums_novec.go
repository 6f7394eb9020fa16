//go:build !(goexperiment.simd && amd64)

package metrics

// expVec is the vector loop of expSums; this build has none.
func expVec[T Float](z []T, m float64, ls, lq *[8]float64) int { return 0 }

// VectorKernels says which vector kernels this build runs.
func VectorKernels() string { return "none (build with GOEXPERIMENT=simd on amd64 for AVX-512)" }

// argmaxVec and firstNonFiniteVec are vector loops of LogitsRow and
// firstBad; this build has none.
func argmaxVec[T Float](z []T) (int, bool)         { return 0, false }
func firstNonFiniteVec[T Float](z []T) (int, bool) { return 0, false }
