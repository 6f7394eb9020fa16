package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"

	"github.com/evalnll/evalnll/internal/reader"
)

type sliceRow struct {
	Label int64   `parquet:"label"`
	P     float64 `parquet:"p"`
	Slice *string `parquet:"slice,optional,dict"`
}

// TestBySliceFormatsAgree: --by over a string column (some values null,
// empty or not UTF-8), read from a dictionary-encoded Parquet column and
// from an Arrow LargeString column (which the reader dictionary-encodes
// itself), gives the same report, with one worker or two (the Arrow file's
// bootstrap too); over 10,000 distinct values, --max-slices 10000 fails
// alike for both.
func TestBySliceFormatsAgree(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	// rows draws n rows from k slice values.
	rows := func(n, k int) []sliceRow {
		out := make([]sliceRow, n)
		for i := range out {
			var s *string
			switch v := r.IntN(k); {
			case v == 0:
			case v == 1:
				e := ""
				s = &e
			case v == 2:
				e := "\xff\xfe slice"
				s = &e
			default:
				e := "slice-" + strconv.Itoa(v)
				s = &e
			}
			out[i] = sliceRow{int64(r.IntN(2)), 1 / (1 + math.Exp(r.NormFloat64()*2)), s}
		}
		return out
	}
	run := func(path string, workers, maxSlices int) (string, string, error) {
		f, err := reader.Open(path, reader.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		task := benchTask{cols: []string{"label", "p", "slice"}, by: true, cfg: bySliceCfg}
		job := benchJob(f, path, task, workers)
		job.Config.MaxSlices = maxSlices
		job.Options.BatchRows = 3000
		res, err := Run(context.Background(), job)
		if err != nil {
			return "", "", err
		}
		// The report, and the report without the bootstrap (whose
		// buckets depend on the file's name: the two files' differ).
		sum := res.State.Summary()
		js, err := json.Marshal(sum)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Bootstrap == nil {
			t.Fatal("no bootstrap")
		}
		sum.Bootstrap = nil
		jn, err := json.Marshal(sum)
		if err != nil {
			t.Fatal(err)
		}
		return string(js), string(jn), nil
	}

	// The same reports: 2,000 slices.
	pq, ar := writeSliceFiles(t, dir, "few", rows(12000, 2000))
	_, want, err := run(pq, 1, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	for _, workers := range []int{1, 2} {
		full, got, err := run(ar, workers, 100000)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Arrow, %d workers: report differs from the Parquet file's", workers)
		}
		if ref == "" {
			ref = full
		} else if full != ref {
			t.Fatalf("Arrow: the bootstrap differs with %d workers", workers)
		}
	}
	// Over 10,000 slices (25,000 rows of 12,000 values): --max-slices.
	pq, ar = writeSliceFiles(t, dir, "many", rows(25000, 12000))
	for _, path := range []string{pq, ar} {
		_, _, err := run(path, 2, 10000)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "more than 10000 distinct --by combinations") {
			t.Fatalf("%s with --max-slices 10000: error %v", filepath.Base(path), err)
		}
	}
}

// writeSliceFiles writes rows to a Parquet file (the slice column
// dictionary-encoded, row groups of 9000 rows) and an Arrow IPC file (a
// LargeString slice column, record batches of 7000 rows).
func writeSliceFiles(t *testing.T, dir, name string, rows []sliceRow) (pq, ar string) {
	t.Helper()
	n := len(rows)
	pq = filepath.Join(dir, name+".parquet")
	f, err := os.Create(pq)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[sliceRow](f)
	for lo := 0; lo < n; lo += 9000 {
		if _, err := w.Write(rows[lo:min(n, lo+9000)]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "p", Type: arrow.PrimitiveTypes.Float64},
		{Name: "slice", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	}, nil)
	ar = filepath.Join(dir, name+".arrow")
	out, err := os.Create(ar)
	if err != nil {
		t.Fatal(err)
	}
	aw, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += 7000 {
		b := array.NewRecordBuilder(mem, schema)
		for _, row := range rows[lo:min(n, lo+7000)] {
			b.Field(0).(*array.Int64Builder).Append(row.Label)
			b.Field(1).(*array.Float64Builder).Append(row.P)
			if row.Slice == nil {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.LargeStringBuilder).Append(*row.Slice)
			}
		}
		rec := b.NewRecordBatch()
		if err := aw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return pq, ar
}
