package reader

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/rle"
)

// floatBits makes NaNs comparable.
func floatBits(cols []*colData) {
	for _, c := range cols {
		for i, v := range c.f {
			c.f[i] = math.Float64frombits(math.Float64bits(v))
			if v != v {
				c.f[i] = math.Inf(1) // any NaN: the same
			}
		}
	}
}

// rawBatchSizes are the batch sizes compareRawPath reads with: all of them
// in the long run; without it, one row at a time is left to the small
// written files (TestRawPagesWritten).
func rawBatchSizes() []int {
	if longTests() {
		return []int{1, 3, 1000, 65536}
	}
	return []int{3, 65536}
}

// corpusBatchSizes are rawBatchSizes for a file of testdata. Three files
// of tiny pages (overflow_i16_page_cnt, alltypes_tiny_pages*) cost most of
// the time in small batches: big files get one batch size but in the long
// run.
func corpusBatchSizes(path string) []int {
	if st, err := os.Stat(path); err == nil && st.Size() > 256<<10 && !longTests() {
		return []int{65536}
	}
	return rawBatchSizes()
}

// compareRawPath reads every readable column of a Parquet file with the raw
// page reader and with parquet-go alone, in batches of each size, and checks
// that both give the same batches, or both fail. It returns how many chunks
// the raw reader read.
func compareRawPath(t *testing.T, path string, sizes []int) int {
	t.Helper()
	open := func(noRaw bool) *pqFile {
		f, err := Open(path, DefaultOptions())
		if err != nil {
			return nil
		}
		pf := f.(*pqFile)
		pf.noRaw = noRaw
		return pf
	}
	fr, fg := open(false), open(true)
	if fr == nil || fg == nil {
		return 0
	}
	defer fr.Close()
	defer fg.Close()
	used := 0
	for _, name := range supported(fr) {
		c, _ := fr.lookup(name)
		for rg := range fr.units {
			if fr.rawChunkFor(rg, c) != nil {
				used++
			}
		}
		for _, maxRows := range sizes {
			for _, u := range []int{-1, 0} {
				a, _, errA := scanAll(t, fr, u, []string{name}, maxRows)
				b, _, errB := scanAll(t, fg, u, []string{name}, maxRows)
				if (errA == nil) != (errB == nil) {
					t.Errorf("%s: column %q (unit %d, %d rows): raw reader error %v, parquet-go error %v", path, name, u, maxRows, errA, errB)
					continue
				}
				if errA != nil {
					continue
				}
				floatBits(a)
				floatBits(b)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s: column %q (unit %d, %d rows): raw reader and parquet-go disagree", path, name, u, maxRows)
				}
			}
		}
	}
	return used
}

// TestRawPagesCorpus: the raw page reader reads the Parquet files of
// testdata as parquet-go does.
func TestRawPagesCorpus(t *testing.T) {
	var files []string
	filepath.Walk(filepath.Join("..", "..", "testdata"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no Parquet files under testdata")
	}
	used := 0
	for _, p := range files {
		used += compareRawPath(t, p, corpusBatchSizes(p))
	}
	if used == 0 {
		t.Error("the raw page reader read no column chunk of testdata")
	}
	t.Logf("%d files, %d column chunks read by the raw page reader", len(files), used)
}

// TestRawPagesWritten: v1 pages with nulls, null and empty lists, null
// elements, several pages per chunk, uncompressed and snappy.
func TestRawPagesWritten(t *testing.T) {
	for _, path := range writeRawTestFiles(t) {
		if used := compareRawPath(t, path, []int{1, 3, 1000, 65536}); used == 0 {
			t.Errorf("%s: the raw page reader read no column chunk", path)
		}
	}
}

// TestRawPagesStreamed: the same files, and testdata's, read with every
// page streamed through a small value window, and with a history so short
// that back-references miss it and pages are read whole after all.
func TestRawPagesStreamed(t *testing.T) {
	files := writeRawTestFiles(t)
	written := len(files)
	filepath.Walk(filepath.Join("..", "..", "testdata"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	defer func(w, m, h int) { rawWindow, rawStreamMin, streamHist = w, m, h }(rawWindow, rawStreamMin, streamHist)
	for _, hist := range []int{64 << 10, 1 << 10} {
		rawWindow, rawStreamMin, streamHist = 300, 0, hist
		s0, f0 := rawStats.streamed.Load(), rawStats.fallbacks.Load()
		for i, path := range files {
			// Streaming is about pages, not batches: one batch size for
			// testdata's files but in the long run.
			sizes := rawBatchSizes()
			if i >= written && !longTests() {
				sizes = []int{65536}
			}
			compareRawPath(t, path, sizes)
		}
		s, f := rawStats.streamed.Load()-s0, rawStats.fallbacks.Load()-f0
		t.Logf("history %d: %d pages streamed, %d read whole after a back-reference missed", hist, s, f)
		if s == 0 {
			t.Errorf("history %d: no page was streamed", hist)
		}
		if hist < 64<<10 && f == 0 {
			t.Errorf("history %d: no page fell back to being read whole", hist)
		}
	}
}

// writeRawTestFiles writes the files of TestRawPagesWritten.
func writeRawTestFiles(t *testing.T) []string {
	t.Helper()
	type row struct {
		ID  int64      `parquet:"id"`
		I32 int32      `parquet:"i32"`
		U32 uint32     `parquet:"u32"`
		P   *float64   `parquet:"p,optional"`
		F   *float32   `parquet:"f,optional"`
		L   []float32  `parquet:"l,list"`
		LO  []*float64 `parquet:"lo,list,optional"`
		// Values from small pools: snappy refers back kilobytes.
		K  int32     `parquet:"k"`
		LK []float32 `parquet:"lk,list"`
	}
	pool := make([]float32, 2000)
	for i := range pool {
		pool[i] = float32(i) * 1.25
	}
	rng := rand.New(rand.NewPCG(7, 7))
	// 20000 rows in row groups of 7000 in the long run; 2000 in groups of
	// 700 otherwise (still several pages per chunk at 1 KiB and 64 KiB).
	n, group := 20000, 7000
	if !longTests() {
		n, group = 2000, 700
	}
	rows := make([]row, n)
	for i := range rows {
		r := &rows[i]
		r.ID, r.I32, r.U32 = rng.Int64(), rng.Int32()-1<<30, rng.Uint32()
		if rng.IntN(5) > 0 {
			v := rng.Float64()
			r.P = &v
			f := float32(v)
			r.F = &f
		}
		n := rng.IntN(40)
		if rng.IntN(10) == 0 {
			n = 0
		}
		for range n {
			r.L = append(r.L, float32(rng.NormFloat64()))
		}
		r.K = rng.Int32N(3000)
		for range rng.IntN(20) {
			r.LK = append(r.LK, pool[rng.IntN(len(pool))])
		}
		if rng.IntN(8) > 0 {
			r.LO = make([]*float64, rng.IntN(30))
			for j := range r.LO {
				if rng.IntN(6) > 0 {
					v := rng.NormFloat64()
					r.LO[j] = &v
				}
			}
		}
	}
	dir := t.TempDir()
	var paths []string
	for _, codec := range []string{"none", "snappy"} {
		for _, page := range []int{1 << 10, 64 << 10, 8 << 20} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%d.parquet", codec, page))
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			opts := []parquet.WriterOption{parquet.DataPageVersion(1), parquet.PageBufferSize(page), parquet.MaxRowsPerRowGroup(int64(group))}
			if codec == "snappy" {
				opts = append(opts, parquet.Compression(&parquet.Snappy))
			} else {
				opts = append(opts, parquet.Compression(&parquet.Uncompressed))
			}
			w := parquet.NewGenericWriter[row](out, opts...)
			if _, err := w.Write(rows); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			out.Close()
			paths = append(paths, path)
		}
	}
	return paths
}

// TestSnappyStream decodes snappy blocks of all kinds as klauspost does,
// and fails cleanly on corrupt ones.
func TestSnappyStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	// Blocks of up to 2 MiB in the long run; up to 256 KiB otherwise
	// (under -race the big ones cost most of the package's time).
	maxShift := 21
	if !longTests() {
		maxShift = 18
	}
	for it := range 300 {
		n := rng.IntN(1 << min(8+it%14, maxShift))
		src := make([]byte, n)
		switch it % 4 {
		case 0:
			for i := range src {
				src[i] = byte(rng.IntN(256))
			}
		case 1:
			for i := range src {
				src[i] = byte(rng.IntN(3))
			}
		case 2:
			for i := range src {
				if i > 8 && rng.IntN(4) > 0 {
					src[i] = src[i-1-rng.IntN(8)]
				} else {
					src[i] = byte(rng.IntN(256))
				}
			}
		case 3:
			for i := range src {
				src[i] = byte(i / 1000)
			}
		}
		enc := snappy.Encode(nil, src)
		for _, win := range []int{0, 7} {
			s := pageStream{r: bytes.NewReader(enc), end: int64(len(enc)), dst: make([]byte, n), total: n}
			if win > 0 {
				s.in = make([]byte, 64)
			}
			err := s.startSnappy()
			if err == nil {
				err = s.until(rng.IntN(n + 1))
			}
			if err == nil {
				err = s.until(n)
			}
			if err == nil {
				err = s.done()
			}
			if err != nil || !bytes.Equal(s.dst, src) {
				t.Fatalf("case %d (%d bytes): err %v, equal %v", it, n, err, bytes.Equal(s.dst, src))
			}
		}
		// Corrupt: flip bytes; it must not panic, and an error or the
		// output of klauspost.
		for range 5 {
			bad := bytes.Clone(enc)
			if len(bad) == 0 {
				break
			}
			bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
			want, werr := snappy.Decode(nil, bad)
			s := pageStream{r: bytes.NewReader(bad), end: int64(len(bad)), dst: make([]byte, n), total: n}
			err := s.startSnappy()
			if err == nil {
				err = s.until(n)
			}
			if err == nil {
				err = s.done()
			}
			if err == nil && (werr != nil || !bytes.Equal(want, s.dst)) {
				t.Fatalf("case %d: corrupt block decoded to other bytes than klauspost's (its error: %v)", it, werr)
			}
		}
	}
}

// TestRLELevels decodes levels written by parquet-go, by windows, and
// counts them without expanding runs.
func TestRLELevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for it := range 200 {
		max := byte(1 + it%4)
		n := rng.IntN(5000)
		lv := make([]byte, n)
		for i := 0; i < n; {
			k := min(n-i, 1+rng.IntN(40))
			v := byte(rng.IntN(int(max) + 1))
			for j := range k {
				if it%3 == 0 {
					v = byte(rng.IntN(int(max) + 1))
				}
				lv[i+j] = v
			}
			i += k
		}
		width := uint(0)
		for 1<<width <= int(max) {
			width++
		}
		enc, err := (&rle.Encoding{BitWidth: int(width)}).EncodeLevels(nil, lv)
		if err != nil {
			t.Fatal(err)
		}
		d := rleLevels{b: enc, width: width}
		c := d
		cnt, err := c.scan(n, max)
		want := bytes.Count(lv, []byte{max})
		if err != nil || cnt != want {
			t.Fatalf("case %d: scan %d, %v; want %d", it, cnt, err, want)
		}
		// In pieces that start and end inside bit-packed groups.
		c = d
		sum := 0
		for left := n; left > 0; {
			k := min(left, 1+rng.IntN(70))
			m, err := c.scan(k, max)
			if err != nil {
				t.Fatalf("case %d: %v", it, err)
			}
			sum += m
			left -= k
		}
		if sum != want {
			t.Fatalf("case %d: scan in pieces %d; want %d", it, sum, want)
		}
		got := make([]byte, 0, n)
		for len(got) < n {
			k := min(n-len(got), 1+rng.IntN(300))
			w := make([]byte, k)
			if err := d.read(w); err != nil {
				t.Fatalf("case %d: %v", it, err)
			}
			got = append(got, w...)
		}
		if !bytes.Equal(got, lv) {
			t.Fatalf("case %d: levels differ", it)
		}
		if max > 1 {
			c := rleLevels{b: enc, width: width}
			if _, err := c.scan(n, max-1); bytes.Contains(lv, []byte{max}) != (err == errLevelAbove) {
				t.Fatalf("case %d: level above the maximum: %v", it, err)
			}
		}
		// Cut short: an error, not a panic.
		if len(enc) > 1 {
			c := rleLevels{b: enc[:rng.IntN(len(enc))], width: width}
			c.scan(n, max)
			c = rleLevels{b: enc[:rng.IntN(len(enc))], width: width}
			c.read(make([]byte, n))
		}
	}
}

// TestRawPageStreamMemory: a 40 MB page is read through a window of about
// a megabyte, not held whole (as it is with streaming turned off).
func TestRawPageStreamMemory(t *testing.T) {
	type row struct {
		L []float32 `parquet:"l,list"`
	}
	rows := make([]row, 2000)
	for i := range rows {
		rows[i].L = make([]float32, 5000)
		for j := range rows[i].L {
			rows[i].L[j] = float32(i*5000 + j)
		}
	}
	path := filepath.Join(t.TempDir(), "big-page.parquet")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[row](out, parquet.DataPageVersion(1), parquet.PageBufferSize(256<<20), parquet.Compression(&parquet.Uncompressed))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	read := func() (alloc uint64, streamed int64) {
		f, err := Open(path, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s0 := rawStats.streamed.Load()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		s := f.Scan(0, []string{"l"}, 64)
		want := float32(0)
		for s.Next() {
			for _, v := range s.Batch().Cols[0].F32 {
				if v != want {
					t.Fatalf("value %v, want %v", v, want)
				}
				want++
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		runtime.ReadMemStats(&m1)
		if want != 2000*5000 {
			t.Fatalf("read %v values", want)
		}
		return m1.TotalAlloc - m0.TotalAlloc, rawStats.streamed.Load() - s0
	}
	alloc, streamed := read()
	t.Logf("streamed: %d pages, %.1f MB allocated", streamed, float64(alloc)/1e6)
	if streamed == 0 || alloc > 12<<20 {
		t.Errorf("streamed %d pages, allocated %d bytes reading a 40 MB page; want a window of a few MB", streamed, alloc)
	}
	defer func(m int) { rawStreamMin = m }(rawStreamMin)
	rawStreamMin = 1 << 30
	alloc, _ = read()
	t.Logf("whole: %.1f MB allocated", float64(alloc)/1e6)
	if alloc < 40e6 {
		t.Errorf("a page read whole allocated only %d bytes: the test does not see page buffers", alloc)
	}
}
