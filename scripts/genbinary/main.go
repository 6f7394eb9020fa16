// Command genbinary writes a binary-prediction Parquet file of N rows for
// the at-scale measurements of BENCHMARKS.md (section 8): columns label
// (int64, 0/1) and p (double), snappy, deterministic (PCG seeded 1, 2);
// p = logistic(2z), z standard normal, and label 1 with probability
// logistic(0.8z) (an overconfident model).
//
//	go run ./scripts/genbinary OUT.parquet 50000000
package main

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

type row struct {
	Label int64   `parquet:"label"`
	P     float64 `parquet:"p"`
}

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	w := parquet.NewGenericWriter[row](f, parquet.Compression(&parquet.Snappy))
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]row, 1<<16)
	for done := 0; done < n; {
		k := min(len(buf), n-done)
		for i := range buf[:k] {
			z := r.NormFloat64() * 2
			p := 1 / (1 + math.Exp(-z))
			var l int64
			if r.Float64() < 1/(1+math.Exp(-z*0.8)) {
				l = 1
			}
			buf[i] = row{l, p}
		}
		if _, err := w.Write(buf[:k]); err != nil {
			panic(err)
		}
		done += k
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	f.Close()
}
