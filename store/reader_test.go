package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/internal/reader/pqwrite"
	"github.com/evalnll/evalnll/store"
	"github.com/evalnll/evalnll/store/storetest"
	"github.com/parquet-go/parquet-go/format"
)

const groups, groupRows = 4, 20000

// parquetBytes: y (int32), p and junk (double), in 4 row groups.
func parquetBytes(t *testing.T) []byte {
	f := &pqwrite.File{Cols: []pqwrite.Col{
		{Name: "y", Type: format.Int32, PageLevels: 4096},
		{Name: "p", Type: format.Double, PageLevels: 4096},
		{Name: "junk", Type: format.Double, PageLevels: 4096},
	}}
	for g := range groups {
		cols := make([][]pqwrite.Cell, 3)
		for i := range groupRows {
			r := g*groupRows + i
			cols[0] = append(cols[0], pqwrite.Cell{V: float64(r % 2)})
			cols[1] = append(cols[1], pqwrite.Cell{V: float64(r%1000) / 1000})
			cols[2] = append(cols[2], pqwrite.Cell{V: float64(r) * 1.5})
		}
		f.Groups = append(f.Groups, cols)
	}
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// arrowBytes: an Arrow IPC file (stream when stream) of 4 record batches
// of y (int32), p and junk (double).
func arrowBytes(t *testing.T, stream bool) []byte {
	schema := arrow.NewSchema([]arrow.Field{{Name: "y", Type: arrow.PrimitiveTypes.Int32}, {Name: "p", Type: arrow.PrimitiveTypes.Float64}, {Name: "junk", Type: arrow.PrimitiveTypes.Float64}}, nil)
	var buf bytes.Buffer
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(&buf, ipc.WithSchema(schema))
	} else {
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for g := range groups {
		for i := range groupRows {
			r := g*groupRows + i
			b.Field(0).(*array.Int32Builder).Append(int32(r % 2))
			b.Field(1).(*array.Float64Builder).Append(float64(r%1000) / 1000)
			b.Field(2).(*array.Float64Builder).Append(float64(r) * 1.5)
		}
		rec := b.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// scanSum reads y and p of the units given (nil: all) and returns the rows
// and the sums of y and p.
func scanSum(f reader.File, units []int) (int64, float64, error) {
	if units == nil {
		units = []int{-1}
	}
	var rows int64
	var sum float64
	for _, u := range units {
		s := f.Scan(u, []string{"y", "p"}, 5000)
		for s.Next() {
			b := s.Batch()
			rows += int64(b.Rows)
			for i := range b.Rows {
				sum += float64(b.Cols[0].Ints[i]) + b.Cols[1].F64[i]
			}
		}
		err := s.Err()
		s.Close()
		if err != nil {
			return rows, sum, err
		}
	}
	return rows, sum, nil
}

// TestReadersOverS3 reads Parquet, Arrow IPC file and stream objects with
// the table readers over ranged reads: the same rows and values as from a
// local file; only the column chunks (Parquet) or record batches (Arrow
// file) scanned are fetched; a 403 or a replaced object mid-scan is an
// error that names the URL.
func TestReadersOverS3(t *testing.T) {
	s := storetest.StartS3(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		data  []byte
		units []int   // the units scanned (nil: every one)
		most  float64 // the most bytes fetched, as a fraction of the object
	}{
		{"pq.parquet", parquetBytes(t), nil, 0.75}, // junk (2/5 of the bytes) skipped
		{"one-rg.parquet", parquetBytes(t), []int{2}, 0.3},
		{"f.arrow", arrowBytes(t, false), []int{1}, 0.4}, // one record batch of four
		{"s.arrows", arrowBytes(t, true), nil, 1.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := filepath.Join(dir, tc.name)
			if err := os.WriteFile(local, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			lf, err := reader.Open(local, reader.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			wantRows, wantSum, err := scanSum(lf, tc.units)
			lf.Close()
			if err != nil || wantRows == 0 {
				t.Fatalf("local: %d rows, %v", wantRows, err)
			}
			s.Put(t, tc.name, tc.data)
			open := func(c *store.Client) reader.File {
				o, err := c.Open(context.Background(), s.URL(tc.name))
				if err != nil {
					t.Fatal(err)
				}
				f, err := reader.OpenReaderAt(o.Name(), o, o.Size(), o, reader.DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			c := store.NewClient(store.Options{BlockSize: 32 << 10, CacheBytes: 1 << 20, ReadAhead: 4})
			f := open(c)
			rows, sum, err := scanSum(f, tc.units)
			f.Close()
			if err != nil || rows != wantRows || sum != wantSum {
				t.Fatalf("S3: %d rows, sum %v, %v; local: %d rows, sum %v", rows, sum, err, wantRows, wantSum)
			}
			req, got, _ := c.Snapshot()
			t.Logf("%d bytes in %d requests for a %d-byte object", got, req, len(tc.data))
			if float64(got) > tc.most*float64(len(tc.data)) {
				t.Errorf("fetched %d bytes of %d (more than %.0f%%)", got, len(tc.data), 100*tc.most)
			}

			// Refused after opening.
			c = store.NewClient(store.Options{BlockSize: 32 << 10, CacheBytes: 256 << 10})
			f = open(c)
			s.Faults.Set(storetest.Forbidden, 1)
			_, _, err = scanSum(f, tc.units)
			s.Faults.Set(storetest.None, 0)
			f.Close()
			var se *store.Error
			if !errors.As(err, &se) || se.Kind != store.Permanent {
				t.Errorf("403 mid-scan: %v", err)
			}

			// Replaced after opening, by an object of the same size.
			c = store.NewClient(store.Options{BlockSize: 32 << 10, CacheBytes: 256 << 10})
			f = open(c)
			other := append([]byte(nil), tc.data...)
			other[len(other)/2] ^= 1
			s.Put(t, tc.name, other)
			_, _, err = scanSum(f, tc.units)
			f.Close()
			s.Put(t, tc.name, tc.data)
			if !errors.Is(err, store.ErrChanged) {
				t.Errorf("replaced mid-scan: %v", err)
			}
		})
	}
}
