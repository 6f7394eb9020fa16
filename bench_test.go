package evalnll_test

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	evalnll "github.com/evalnll/evalnll"
)

// BenchmarkAccumulatorAdd feeds an accumulator records of 65536 binary
// rows (seeded), with the CLI's defaults (1000 bootstrap replicates).
func BenchmarkAccumulatorAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 1 << 16
	y, p := make([]int64, n), make([]float64, n)
	for i := range y {
		p[i] = r.Float64()
		if r.Float64() < p[i] {
			y[i] = 1
		}
	}
	rec := predictions(memory.DefaultAllocator, y, p)
	defer rec.Release()
	acc, err := evalnll.NewAccumulator(evalnll.DefaultSpec(), rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := acc.Add(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
