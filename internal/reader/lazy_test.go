package reader

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/evalnll/evalnll/internal/reader/pqwrite"
	"github.com/parquet-go/parquet-go/format"
)

// openCount is the number of lazy files holding their file open.
func openCount(fs []File) int {
	n := 0
	for _, f := range fs {
		lf := f.(*lazyFile)
		lf.mu.Lock()
		if lf.inner != nil {
			n++
		}
		lf.mu.Unlock()
	}
	return n
}

// TestLazyPool: lazy files keep at most the pool's size open between
// reads, read the same rows when opened again, and a stream can be read
// more than once; a file that changed between two openings is an error.
func TestLazyPool(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 9; i++ {
		var cells [][]pqwrite.Cell
		col := make([]pqwrite.Cell, 10+i)
		for r := range col {
			col[r] = pqwrite.Cell{V: float64(r)}
		}
		cells = append(cells, col)
		f := pqwrite.File{Cols: []pqwrite.Col{{Name: "x", Type: format.Double}}, Groups: [][][]pqwrite.Cell{cells, cells}}
		p := filepath.Join(dir, "f"+strconv.Itoa(i)+".parquet")
		if err := f.Write(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var stream bytes.Buffer
	mem := memory.NewGoAllocator()
	fx := newArrowFixture(t, mem, []int{5, 7})
	writeArrowStream(t, mem, &stream, fx, nil...)
	fx.release()
	sp := filepath.Join(dir, "s.arrows")
	os.WriteFile(sp, stream.Bytes(), 0o644)

	pool := NewPool(3)
	var files []File
	for _, p := range append(paths, sp) {
		f, err := OpenLazy(p, p, DefaultOptions(), pool)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	// 3 idle files, and the stream, which stays open.
	if n := openCount(files); n != 4 {
		t.Errorf("%d files open after opening, want 3 and the stream", n)
	}
	rows := func(f File, u int, col string) int64 {
		s := f.Scan(u, []string{col}, 4)
		defer s.Close()
		var n int64
		for s.Next() {
			n += int64(s.Batch().Rows)
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for pass := 0; pass < 2; pass++ {
		for i, f := range files[:len(paths)] {
			for _, u := range f.Units() {
				if got := rows(f, u.Index, "x"); got != int64(10+i) {
					t.Fatalf("pass %d, file %d, unit %d: %d rows", pass, i, u.Index, got)
				}
			}
		}
		if got := rows(files[len(paths)], -1, "f64"); got != 12 {
			t.Fatalf("pass %d: the stream gave %d rows", pass, got)
		}
		if n := openCount(files); n > 4 {
			t.Errorf("pass %d: %d files open, want at most 3 and the stream", pass, n)
		}
	}
	// A file that changed is refused when opened again.
	other := pqwrite.File{Cols: []pqwrite.Col{{Name: "x", Type: format.Double}}, Groups: [][][]pqwrite.Cell{{{{V: 1}}}}}
	f0 := files[0].(*lazyFile)
	f0.mu.Lock()
	if f0.inner != nil {
		f0.inner.Close()
		f0.inner = nil
	}
	f0.mu.Unlock()
	if err := other.Write(paths[0]); err != nil {
		t.Fatal(err)
	}
	s := files[0].Scan(0, []string{"x"}, 4)
	for s.Next() {
	}
	if err := s.Err(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("changed while it was read")) {
		t.Errorf("a changed file: %v", err)
	}
	s.Close()
}
