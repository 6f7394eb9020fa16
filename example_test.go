package evalnll_test

import (
	"context"
	"fmt"
	"log"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	evalnll "github.com/evalnll/evalnll"
)

// Evaluate a Parquet file: the columns are named, or found by convention.
func ExampleEvaluate() {
	spec := evalnll.DefaultSpec()
	spec.Label, spec.Prob = "y", "p"
	m, err := evalnll.Evaluate(context.Background(), spec, "testdata/golden/binary_prob_basic/preds.parquet")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, %d rows: nll %.4f nats, accuracy %.2f, ece %.3f\n", m.Kind, m.Overall.Rows, m.Overall.NLL, *m.Overall.Accuracy, *m.Overall.ECE)
	// Output: binary, 20 rows: nll 0.4245 nats, accuracy 0.80, ece 0.221
}

// predictions builds a record batch of labels y and probabilities p, as a
// training loop's eval step might hold them.
func predictions(mem memory.Allocator, y []int64, p []float64) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "y", Type: arrow.PrimitiveTypes.Int64},
		{Name: "p", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(y, nil)
	b.Field(1).(*array.Float64Builder).AppendValues(p, nil)
	return b.NewRecordBatch()
}

// Feed an accumulator Arrow records built in memory (NLL: the mean of
// -log2 p of the observed outcome: -log2 0.9, -log2 0.8, -log2 0.6,
// -log2 0.99). KindAuto finds the
// label and prediction columns by their conventional names (y, p) and
// decides the kind from their shapes.
func ExampleAccumulator() {
	rec := predictions(memory.DefaultAllocator, []int64{1, 0, 1, 1}, []float64{0.9, 0.2, 0.6, 0.99})
	defer rec.Release()

	spec := evalnll.DefaultSpec()
	spec.Units = evalnll.Bits
	spec.Bootstrap = 0
	acc, err := evalnll.NewAccumulator(spec, rec.Schema())
	if err != nil {
		log.Fatal(err)
	}
	if err := acc.Add(rec); err != nil {
		log.Fatal(err)
	}
	m, err := acc.Report()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s=%s, %s=%s): nll %.4f %s over %d rows\n", m.Kind, "label", m.Mapping.Label, "prob", m.Mapping.Prob, m.Overall.NLL, m.Units, m.Overall.Rows)
	// Output: binary (label=y, prob=p): nll 0.3063 bits over 4 rows
}

// Merge the accumulators of two shards: the report is the one a single
// accumulator fed every row gives, exactly.
func ExampleAccumulator_Merge() {
	mem := memory.DefaultAllocator
	a := predictions(mem, []int64{1, 0}, []float64{0.9, 0.2})
	defer a.Release()
	b := predictions(mem, []int64{1, 1}, []float64{0.6, 0.99})
	defer b.Release()

	spec := evalnll.DefaultSpec()
	shard := func(rec arrow.RecordBatch) *evalnll.Accumulator {
		acc, err := evalnll.NewAccumulator(spec, rec.Schema())
		if err != nil {
			log.Fatal(err)
		}
		if err := acc.Add(rec); err != nil {
			log.Fatal(err)
		}
		return acc
	}
	total := shard(a)
	if err := total.Merge(shard(b)); err != nil {
		log.Fatal(err)
	}
	merged, err := total.Report()
	if err != nil {
		log.Fatal(err)
	}

	one := shard(a)
	if err := one.Add(b); err != nil {
		log.Fatal(err)
	}
	single, err := one.Report()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("merged: %d rows, nll %.6f\n", merged.Overall.Rows, merged.Overall.NLL)
	fmt.Println("same as one accumulator:", merged.Overall.NLL == single.Overall.NLL)
	// Output:
	// merged: 4 rows, nll 0.212345
	// same as one accumulator: true
}
