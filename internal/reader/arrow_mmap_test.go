package reader

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestArrowMappedCorpus: Arrow IPC files read from their memory map, or
// by reading the scanned columns' buffers (the default, selective), give
// what reading them whole gives, or fail alike.
func TestArrowMappedCorpus(t *testing.T) {
	var files []string
	filepath.Walk(filepath.Join("..", "..", "testdata"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".arrow") || strings.HasSuffix(p, ".feather") || strings.HasSuffix(p, ".arrow_file")) {
			files = append(files, p)
		}
		return nil
	})
	mapped, selective := 0, 0
	for _, p := range files {
		noMap, withMap := DefaultOptions(), DefaultOptions()
		noMap.noMmap, withMap.mmap = true, true
		fr, errR := Open(p, noMap)
		for _, mode := range []string{"mapped", "selective"} {
			opt := withMap
			if mode == "selective" {
				opt = DefaultOptions()
			}
			fm, errM := Open(p, opt)
			if (errM == nil) != (errR == nil) {
				t.Errorf("%s: %s open error %v, read open error %v", p, mode, errM, errR)
			}
			if errM != nil || errR != nil {
				continue
			}
			if af, ok := fm.(*arrowFile); ok && af.data != nil {
				mapped++
			}
			if af, ok := fm.(*arrowFile); ok && af.selective {
				selective++
			}
			names := supported(fm)
			for _, name := range append(names, strings.Join(names, "\x00")) {
				cols := strings.Split(name, "\x00")
				for _, maxRows := range []int{1, 1000} {
					a, _, e1 := scanAll(t, fm, -1, cols, maxRows)
					b, _, e2 := scanAll(t, fr, -1, cols, maxRows)
					if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
						t.Errorf("%s: columns %q: %s error %v, read error %v", p, cols, mode, e1, e2)
						continue
					}
					floatBits(a)
					floatBits(b)
					if e1 == nil && !reflect.DeepEqual(a, b) {
						t.Errorf("%s: columns %q: %s and read values differ", p, cols, mode)
					}
				}
			}
			fm.Close()
		}
		if fr != nil {
			fr.Close()
		}
	}
	if runtime.GOOS == "linux" && len(files) > 0 && (mapped == 0 || selective == 0) {
		t.Errorf("of the Arrow IPC files of testdata, %d were mapped, %d read selectively", mapped, selective)
	}
	t.Logf("%d files, %d mapped, %d read selectively", len(files), mapped, selective)
}

// TestArrowMappedTruncated: a file truncated after it was mapped fails
// with an error from Next, not a crash.
func TestArrowMappedTruncated(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("files are mapped on Linux only")
	}
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)}}, nil)
	path := filepath.Join(t.TempDir(), "t.arrow")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		rb := array.NewRecordBuilder(mem, schema)
		lb := rb.Field(0).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for i := range 2000 {
			lb.Append(true)
			for j := range 100 {
				vb.Append(float32(i + j))
			}
		}
		rec := rb.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rb.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	// Read selectively, a truncated file fails with an error too.
	fs, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	opt := DefaultOptions()
	opt.mmap = true
	f, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.(*arrowFile).data == nil {
		t.Fatal("the file was not mapped")
	}
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	s := f.Scan(-1, []string{"x"}, 500)
	defer s.Close()
	for s.Next() {
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Fatalf("truncated mapped file: error %v", err)
	}
	ss := fs.Scan(-1, []string{"x"}, 500)
	defer ss.Close()
	for ss.Next() {
	}
	if err := ss.Err(); err == nil {
		t.Fatal("truncated file read selectively: no error")
	}
}

// TestPopulate: populate maps the pages of a mapped file in one call, and
// fails, rather than faulting, on pages the file no longer backs (the
// caller then touches them and the fault becomes an error).
func TestPopulate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memory mapping is used on Linux only")
	}
	ps := os.Getpagesize()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 4*ps), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := mapFile(f, int64(4*ps))
	if m == nil {
		t.Fatal("mapFile failed")
	}
	defer unmapFile(m)
	if !populate(m, m[ps/2:3*ps+1]) {
		t.Skip("this kernel has no MADV_POPULATE_READ")
	}
	if err := os.Truncate(path, int64(ps)); err != nil {
		t.Fatal(err)
	}
	if populate(m, m[2*ps:3*ps]) {
		t.Error("populate succeeded on pages past the end of the truncated file")
	}
	if !populate(m, m[:ps/2]) {
		t.Error("populate failed on a page the file still backs")
	}
}

// TestArrowSelectiveStale: read selectively, each column of a file of
// several record batches alone gives what reading every column at once
// gives, though the columns not read keep the bytes of earlier record
// batches where their values are (only their bitmaps and offsets are
// zeroed).
func TestArrowSelectiveStale(t *testing.T) {
	pool := []string{"", "web", "mobile", "a much longer value", "x"}
	value := func(i int) (string, bool) { return pool[(i*7+i/3)%len(pool)], i%11 != 4 }
	path := filepath.Join(t.TempDir(), "stale.arrow")
	internFixture(t, path, false, []int{500, 1200, 3, 800, 1}, pool, value)
	f, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if af, ok := f.(*arrowFile); !ok || !af.selective {
		t.Skip("not read selectively here")
	}
	names := supported(f)
	all, _, err := scanAll(t, f, -1, names, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for k, name := range names {
		one, _, err := scanAll(t, f, -1, []string{name}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one[0], all[k]) {
			t.Errorf("column %q read alone differs from it read with the others", name)
		}
	}
}
