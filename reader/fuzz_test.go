package reader

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evalnll/evalnll/column"
)

// Fuzzing the readers: any bytes, opened and scanned in full, never panic,
// never hang, and a successful scan yields consistent batches. Seeds are the
// golden inputs and the interop corpus (valid files and files that crashed
// other readers).

func addSeeds(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		paths, _ := filepath.Glob(filepath.Join("..", "testdata", pat))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err == nil && len(data) < 1<<20 {
				f.Add(data)
			}
		}
	}
}

// checkBatch asserts the invariants every consumer relies on.
func checkBatch(t *testing.T, b *column.Batch, ncols int) {
	if len(b.Cols) != ncols {
		t.Fatalf("batch has %d columns, want %d", len(b.Cols), ncols)
	}
	for k, c := range b.Cols {
		if c.Len != b.Rows {
			t.Fatalf("column %d has %d rows, batch %d", k, c.Len, b.Rows)
		}
		if c.Valid != nil && len(c.Valid) < c.Len {
			t.Fatalf("column %d: %d validity flags for %d rows", k, len(c.Valid), c.Len)
		}
		n := c.Len
		if c.List {
			if len(c.Offsets) != c.Len+1 {
				t.Fatalf("column %d: %d offsets for %d rows", k, len(c.Offsets), c.Len)
			}
			for i := 0; i < c.Len; i++ {
				if c.Offsets[i] > c.Offsets[i+1] || c.Offsets[i] < 0 {
					t.Fatalf("column %d: offsets not increasing at %d", k, i)
				}
			}
			n = int(c.Offsets[c.Len])
			if c.ElemValid != nil && len(c.ElemValid) < n {
				t.Fatalf("column %d: %d element flags for %d elements", k, len(c.ElemValid), n)
			}
		}
		var have int
		switch c.Type {
		case column.Bool:
			have = len(c.Bools)
		case column.Int, column.Uint64:
			have = len(c.Ints)
		case column.Float32:
			have = len(c.F32)
		case column.Float64:
			have = len(c.F64)
		case column.String:
			if c.Strs != nil {
				have = len(c.Strs)
			} else {
				have = len(c.Codes)
				for _, code := range c.Codes[:min(len(c.Codes), n)] {
					if code < 0 || int(code) >= len(c.Dict) {
						// A null row may hold any code.
						continue
					}
				}
			}
		default:
			t.Fatalf("column %d: unexpected type %v", k, c.Type)
		}
		if have < n {
			t.Fatalf("column %d: %d values for %d entries", k, have, n)
		}
	}
}

func fuzzOpenScan(t *testing.T, data []byte, name string) {
	// A scan that takes seconds on a small input is a hang: crash so that
	// the fuzzer keeps the input.
	watchdog := time.AfterFunc(10*time.Second, func() { panic("reader: open and scan of a fuzz input took over 10 s") })
	defer watchdog.Stop()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, Options{MaxBatchBytes: 4 << 20})
	if err != nil {
		return
	}
	defer f.Close()
	var cols []string
	for _, fl := range f.Fields() {
		if fl.Type != column.Unsupported {
			cols = append(cols, fl.Name)
		}
	}
	units := []int{-1}
	if us := f.Units(); us != nil {
		units = units[:0]
		for _, u := range us {
			units = append(units, u.Index)
		}
	}
	for _, u := range units {
		s := f.Scan(u, cols, 100)
		for s.Next() {
			checkBatch(t, s.Batch(), len(cols))
		}
		s.Err()
		s.Close()
	}
	f.Metadata()
}

func FuzzParquet(f *testing.F) {
	addSeeds(f, "golden/*/*.parquet", "interop/parquet-testing/bad_data/*.parquet", "interop/parquet-testing/data/nulls.snappy.parquet", "interop/parquet-testing/data/list_columns.parquet")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpenScan(t, data, "f.parquet") })
}

func FuzzArrowIPC(f *testing.F) {
	addSeeds(f, "golden/*/*.arrow", "golden/*/*.arrows", "interop/arrow-testing/data/arrow-ipc-file/*", "interop/arrow-testing/data/arrow-ipc-stream/clusterfuzz-*")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpenScan(t, data, "f.arrow") })
}
