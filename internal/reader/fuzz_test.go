package reader

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/format"

	"github.com/evalnll/evalnll/internal/column"
)

// Fuzzing the readers: any bytes, opened and scanned in full, never panic,
// never hang, and a successful scan yields consistent batches. Seeds are the
// golden inputs and the interop corpus (valid files and files that crashed
// other readers).

func addSeeds(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", pat))
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

// How the targets below are run by the engine.
//
// The engine minimises every input that adds coverage before it reports it
// or fuzzes on: by default for up to 60 s (-fuzzminimizetime), during which
// its worker runs nothing else and the exec count stands still. The
// minimiser tries removing every byte and then every byte range, about n²/2
// runs for n bytes, and the seeds here are 0.3-70 KB: every minimisation
// took the full 60 s, so a 60 s run did the seeds and then minimised one
// input (GODEBUG=fuzzdebug=1 shows "queueing input for minimization" right
// after the seed phase and "input minimized" only at the end). With a cap of
// 250 ms instead, every early mutation of a seed still adds coverage and
// costs the full cap: 6000 execs and 100 new inputs in 54 s, against 135000
// execs and 440 new inputs with no minimisation at all. So minimisation is
// off unless -fuzzminimizetime is given; a crasher is kept as found (it still
// reproduces), and can be minimised by rerunning with -fuzzminimizetime.
//
// Each run also wrote its input to a new temporary directory on disk (about
// 0.5 ms a run on ext4, more than the scan); the input file is now written
// to one file per process, on tmpfs when there is one (2500 execs/s against
// 370).
const fuzzMinimizeTime = "0"

// fuzzSetup caps minimisation (see above) and returns the path that the
// target's inputs are written to, one per fuzz target and process.
func fuzzSetup(f *testing.F, name string) string {
	explicit := false
	flag.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "test.fuzzminimizetime" })
	if !explicit {
		if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
			f.Fatal(err)
		}
	}
	// On tmpfs, a file of this process's own, removed after each run: a
	// worker that the engine stops runs no cleanup.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return filepath.Join("/dev/shm", fmt.Sprintf("evalnll-fuzz-%d-%s", os.Getpid(), name))
	}
	return filepath.Join(f.TempDir(), name)
}

// fuzzFileMu serialises the use of an input file (the engine calls a target
// from one goroutine, but the seed phase of go test may run subtests).
var fuzzFileMu sync.Mutex

func fuzzOpenScan(t *testing.T, data []byte, path string) {
	// A scan that takes seconds on a small input is a hang: crash so that
	// the fuzzer keeps the input.
	watchdog := time.AfterFunc(10*time.Second, func() { panic("reader: open and scan of a fuzz input took over 10 s") })
	defer watchdog.Stop()
	fuzzFileMu.Lock()
	defer fuzzFileMu.Unlock()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
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
	// Units cut into parts: a unit that reads whole reads in parts, with
	// the same values. (Only where reading is deterministic: parquet-go's
	// LZ4_RAW decoding of a corrupt block can yield bytes left in a pooled
	// buffer, which differ from one read to the next.)
	if _, ok := f.(Splitter); ok && len(cols) > 0 {
		for _, u := range units {
			if u < 0 {
				continue
			}
			whole, _, werr := scanAll(t, f, u, cols, 100)
			got, parts, perr := readParts(t, f, u, cols, 3, 100)
			if werr != nil || len(parts) < 2 {
				continue
			}
			if perr != nil {
				t.Fatalf("unit %d reads whole, not in parts: %v", u, perr)
			}
			if pf, ok := f.(*pqFile); ok && !plainCodecs(pf, u, cols) {
				continue
			}
			floatBits(whole)
			floatBits(got)
			if !reflect.DeepEqual(whole, got) {
				t.Fatalf("unit %d reads otherwise in parts", u)
			}
		}
	}
	f.Metadata()
}

// plainCodecs reports whether the columns cols of row group rg are
// uncompressed or snappy-compressed.
func plainCodecs(f *pqFile, rg int, cols []string) bool {
	md := f.pf.Metadata().RowGroups[rg].Columns
	for _, name := range cols {
		c, err := f.lookup(name)
		if err != nil || c.leaf < 0 || c.leaf >= len(md) {
			return false
		}
		if codec := md[c.leaf].MetaData.Codec; codec != format.Uncompressed && codec != format.Snappy {
			return false
		}
	}
	return true
}

func FuzzParquet(f *testing.F) {
	addSeeds(f, "golden/*/*.parquet", "interop/parquet-testing/bad_data/*.parquet", "interop/parquet-testing/data/nulls.snappy.parquet", "interop/parquet-testing/data/list_columns.parquet")
	for _, b := range splitSeeds(f) {
		f.Add(b)
	}
	path := fuzzSetup(f, "f.parquet")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpenScan(t, data, path) })
}

func FuzzArrowIPC(f *testing.F) {
	addSeeds(f, "golden/*/*.arrow", "golden/*/*.arrows", "interop/arrow-testing/data/arrow-ipc-file/*", "interop/arrow-testing/data/arrow-ipc-stream/clusterfuzz-*")
	path := fuzzSetup(f, "f.arrow")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpenScan(t, data, path) })
}
