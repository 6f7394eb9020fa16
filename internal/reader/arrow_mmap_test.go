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

// TestArrowMappedCorpus: Arrow IPC files read from their memory map give
// what reading them gives, or fail alike.
func TestArrowMappedCorpus(t *testing.T) {
	var files []string
	filepath.Walk(filepath.Join("..", "..", "testdata"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".arrow") || strings.HasSuffix(p, ".feather") || strings.HasSuffix(p, ".arrow_file")) {
			files = append(files, p)
		}
		return nil
	})
	mapped := 0
	for _, p := range files {
		noMap := DefaultOptions()
		noMap.noMmap = true
		fm, errM := Open(p, DefaultOptions())
		fr, errR := Open(p, noMap)
		if (errM == nil) != (errR == nil) {
			t.Errorf("%s: mapped open error %v, read open error %v", p, errM, errR)
		}
		if errM != nil || errR != nil {
			continue
		}
		if af, ok := fm.(*arrowFile); ok && af.data != nil {
			mapped++
		}
		for _, name := range supported(fm) {
			for _, maxRows := range []int{1, 1000} {
				a, _, e1 := scanAll(t, fm, -1, []string{name}, maxRows)
				b, _, e2 := scanAll(t, fr, -1, []string{name}, maxRows)
				if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
					t.Errorf("%s: column %q: mapped error %v, read error %v", p, name, e1, e2)
					continue
				}
				floatBits(a)
				floatBits(b)
				if e1 == nil && !reflect.DeepEqual(a, b) {
					t.Errorf("%s: column %q: mapped and read values differ", p, name)
				}
			}
		}
		fm.Close()
		fr.Close()
	}
	if runtime.GOOS == "linux" && len(files) > 0 && mapped == 0 {
		t.Error("no Arrow IPC file of testdata was mapped")
	}
	t.Logf("%d files, %d mapped", len(files), mapped)
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
	f, err := Open(path, DefaultOptions())
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
