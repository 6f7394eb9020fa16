package reader

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

// BenchmarkParquetFloat64 reads a double column of 2M rows.
func BenchmarkParquetFloat64(b *testing.B) {
	type required struct {
		P float64 `parquet:"p"`
	}
	type optional struct {
		P *float64 `parquet:"p,optional"`
	}
	const rows = 2 << 20
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	write := func(name string, opts ...parquet.WriterOption) string {
		p := filepath.Join(dir, name)
		out, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, parquet.MaxRowsPerRowGroup(1<<20))
		if name == "required.parquet" {
			w := parquet.NewGenericWriter[required](out, opts...)
			buf := make([]required, 4096)
			for n := 0; n < rows; n += len(buf) {
				for i := range buf {
					buf[i].P = rng.Float64()
				}
				if _, err := w.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		} else {
			w := parquet.NewGenericWriter[optional](out, opts...)
			buf := make([]optional, 4096)
			vals := make([]float64, len(buf))
			for n := 0; n < rows; n += len(buf) {
				for i := range buf {
					vals[i] = rng.Float64()
					buf[i].P = &vals[i]
				}
				if _, err := w.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		out.Close()
		return p
	}
	for _, tc := range []struct {
		name string
		path string
	}{
		{"required", write("required.parquet")},
		{"optional", write("optional.parquet")},
		{"optional-snappy", write("optional-snappy.parquet", parquet.Compression(&parquet.Snappy))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := Open(tc.path, DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(8 * rows)
			b.ReportAllocs()
			b.ResetTimer()
			var sum float64
			for range b.N {
				s := f.Scan(-1, []string{"p"}, 65536)
				for s.Next() {
					for _, v := range s.Batch().Cols[0].F64 {
						sum += v
					}
				}
				if err := s.Err(); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			_ = sum
		})
	}
}

// BenchmarkArrowFloat32List reads 20k rows of 1000 float32 logits from an
// Arrow IPC file.
func BenchmarkArrowFloat32List(b *testing.B) {
	const rows, width = 20000, 1000
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "logits", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "y", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	path := filepath.Join(b.TempDir(), "logits.arrow")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for range rows / 5000 {
		rb := array.NewRecordBuilder(mem, schema)
		lb := rb.Field(0).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		yb := rb.Field(1).(*array.Int64Builder)
		vals := make([]float32, width)
		for range 5000 {
			lb.Append(true)
			for i := range vals {
				vals[i] = float32(rng.NormFloat64())
			}
			vb.AppendValues(vals, nil)
			yb.Append(rng.Int64N(width))
		}
		rec := rb.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
		rb.Release()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	out.Close()
	f, err := Open(path, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(4 * rows * width)
	b.ReportAllocs()
	b.ResetTimer()
	var sum float32
	for range b.N {
		s := f.Scan(-1, []string{"logits", "y"}, 65536)
		for s.Next() {
			c := s.Batch().Cols[0]
			for _, o := range c.Offsets[1:] {
				sum += c.F32[o-1]
			}
		}
		if err := s.Err(); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = sum
}

// BenchmarkParquetFloat32List reads 20k rows of 1000 float32 logits from a
// Parquet list column.
func BenchmarkParquetFloat32List(b *testing.B) {
	type row struct {
		L []float32 `parquet:"l,list"`
	}
	const rows, width = 20000, 1000
	path := filepath.Join(b.TempDir(), "logits.parquet")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := parquet.NewGenericWriter[row](out, parquet.MaxRowsPerRowGroup(5000))
	rng := rand.New(rand.NewPCG(3, 3))
	buf := make([]row, 100)
	for i := range buf {
		buf[i].L = make([]float32, width)
	}
	for n := 0; n < rows; n += len(buf) {
		for i := range buf {
			for j := range buf[i].L {
				buf[i].L[j] = float32(rng.NormFloat64())
			}
		}
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	out.Close()
	f, err := Open(path, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(4 * rows * width)
	b.ReportAllocs()
	b.ResetTimer()
	var sum float32
	for range b.N {
		s := f.Scan(-1, []string{"l"}, 4096)
		for s.Next() {
			c := s.Batch().Cols[0]
			for _, o := range c.Offsets[1:] {
				sum += c.F32[o-1]
			}
		}
		if err := s.Err(); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = sum
}
