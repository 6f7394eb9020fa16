//go:build !(goexperiment.simd && amd64)

package exact

// addSliceVec is the vector loop of AddSlice; this build has none.
func (s *Sum) addSliceVec(xs []float64) int { return 0 }

// addSquaresVec is the vector loop of AddSquares; this build has none.
func (s *Sum) addSquaresVec(xs []float64) int { return 0 }
