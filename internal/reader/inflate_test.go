package reader

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Decompression bombs (see inflate.go): files of a few KB whose compressed
// page or buffer decompresses, or claims to decompress, to hundreds of MB.
// Each must fail with an error naming the limit and --max-batch-bytes,
// having allocated little.

// zstdZeros compresses n zero bytes, streaming.
func zstdZeros(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		if _, err := w.Write(zero[:min(left, int64(len(zero)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombParquet writes a Parquet file of rows required doubles in one ZSTD
// page holding data, whose header claims claimed bytes uncompressed.
func bombParquet(t testing.TB, path string, rows int64, data []byte, claimed int32) {
	marshal := func(v any) []byte {
		b, err := thrift.Marshal(new(thrift.CompactProtocol), v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hdr := marshal(&format.PageHeader{
		Type:                 format.DataPage,
		UncompressedPageSize: claimed,
		CompressedPageSize:   int32(len(data)),
		DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues: int32(rows), Encoding: format.Plain,
			DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
		}),
	})
	chunk := int64(len(hdr) + len(data))
	meta := marshal(&format.FileMetaData{
		Version: 1,
		Schema: thrift.Slice[format.SchemaElement]{
			{Name: "schema", NumChildren: thrift.New(int32(1))},
			{Name: "x", Type: thrift.New(format.Double), RepetitionType: thrift.New(format.Required)},
		},
		NumRows: rows,
		RowGroups: thrift.Slice[format.RowGroup]{{
			Columns: thrift.Slice[format.ColumnChunk]{{
				FileOffset: 4,
				MetaData: format.ColumnMetaData{
					Type: format.Double, Encoding: thrift.Slice[format.Encoding]{format.Plain},
					PathInSchema: thrift.Slice[string]{"x"}, Codec: format.Zstd,
					NumValues: rows, TotalUncompressedSize: int64(len(hdr)) + int64(claimed),
					TotalCompressedSize: chunk, DataPageOffset: 4,
				},
			}},
			TotalByteSize: int64(claimed), NumRows: rows,
		}},
	})
	var f bytes.Buffer
	f.WriteString("PAR1")
	f.Write(hdr)
	f.Write(data)
	f.Write(meta)
	binary.Write(&f, binary.LittleEndian, uint32(len(meta)))
	f.WriteString("PAR1")
	if err := os.WriteFile(path, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAll opens and scans every unit of the file at path, returning the
// first error and the bytes allocated meanwhile.
func readAll(path string, opt Options) (rows int64, err error, alloc uint64) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	defer func() {
		runtime.ReadMemStats(&m1)
		alloc = m1.TotalAlloc - m0.TotalAlloc
	}()
	f, err := Open(path, opt)
	if err != nil {
		return 0, err, 0
	}
	defer f.Close()
	units := []int{-1} // a stream
	for _, u := range f.Units() {
		units = append(units[:min(len(units), u.Index)], u.Index)
	}
	for _, u := range units {
		s := f.Scan(u, []string{"x"}, 1<<16)
		for s.Next() {
			rows += int64(s.Batch().Rows)
		}
		err = s.Err()
		s.Close()
		if err != nil {
			return rows, err, 0
		}
	}
	return rows, nil, 0
}

// wantBombError checks that reading path fails, naming the limit, with
// at most maxAlloc bytes allocated.
func wantBombError(t *testing.T, path string, opt Options, maxAlloc uint64, want string) {
	t.Helper()
	_, err, alloc := readAll(path, opt)
	switch {
	case err == nil:
		t.Fatalf("%s: read without error", path)
	case !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q does not contain %q", path, err, want)
	case !strings.HasPrefix(err.Error(), path+": "):
		t.Errorf("error %q does not start with the file name", err)
	}
	if alloc > maxAlloc {
		t.Errorf("%s: allocated %d MiB before failing (limit %d MiB): %v", path, alloc>>20, maxAlloc>>20, err)
	}
	t.Logf("%v (allocated %d KiB)", err, alloc>>10)
}

func TestParquetInflateBomb(t *testing.T) {
	dir := t.TempDir()
	const big = 256 << 20
	bomb := zstdZeros(t, big)
	small := zstdZeros(t, 8000)

	// Honest: 256 MiB of zeros in a few KB, and the header says so.
	honest := filepath.Join(dir, "honest.parquet")
	bombParquet(t, honest, big/8, bomb, big)
	// Lying: claims 1 GiB, holds 8000 bytes.
	lying := filepath.Join(dir, "lying.parquet")
	bombParquet(t, lying, 1000, small, 1<<30)
	for _, p := range []string{honest, lying} {
		wantBombError(t, p, DefaultOptions(), 16<<20, "--max-batch-bytes")
	}

	// Lying the other way: claims 8000 bytes, decompresses to 256 MiB.
	under := filepath.Join(dir, "under.parquet")
	bombParquet(t, under, 1000, bomb, 8000)
	wantBombError(t, under, DefaultOptions(), 16<<20, "more than the 8000 bytes the page claims")

	// Within the allowance (24 MiB whatever the ratio), and the same file
	// once --max-batch-bytes is lowered.
	ok := filepath.Join(dir, "ok.parquet")
	bombParquet(t, ok, 3<<20, zstdZeros(t, 24<<20), 24<<20)
	if rows, err, _ := readAll(ok, DefaultOptions()); err != nil || rows != 3<<20 {
		t.Errorf("24 MiB of zeros in ZSTD: %d rows, %v", rows, err)
	}
	wantBombError(t, ok, Options{MaxBatchBytes: 512 << 20}, 16<<20, "--max-batch-bytes")
}

// arrowZeros writes an Arrow IPC file or stream with one ZSTD-compressed
// record batch of rows strings of size NUL bytes in column x: the lengths
// the batch claims are small, its string data large.
func arrowZeros(t testing.TB, path string, rows, size int, stream bool) {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	s := string(make([]byte, size))
	for range rows {
		b.Append(s)
	}
	arr := b.NewArray()
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{arr}, int64(rows))
	defer rec.Release()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(out, ipc.WithSchema(schema), ipc.WithZstd())
	} else if w, err = ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithZstd()); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// patchClaim rewrites the uncompressed size before the first ZSTD frame of
// the file at path.
func patchClaim(t testing.TB, path string, claim int64) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte{0x28, 0xb5, 0x2f, 0xfd})
	if i < 8 {
		t.Fatalf("%s: no ZSTD frame", path)
	}
	binary.LittleEndian.PutUint64(data[i-8:], uint64(claim))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestArrowInflateBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB record batches")
	}
	dir := t.TempDir()
	const rows = 64 // of 1 MiB: 64 MiB of zeros, a few KB compressed
	for _, stream := range []bool{false, true} {
		name := "bomb.arrow"
		if stream {
			name = "bomb.arrows"
		}
		honest := filepath.Join(dir, name)
		arrowZeros(t, honest, rows, 1<<20, stream)
		if st, _ := os.Stat(honest); st.Size() > 1<<20 {
			t.Fatalf("%s: %d bytes, not a bomb", honest, st.Size())
		}
		wantBombError(t, honest, DefaultOptions(), 16<<20, "--max-batch-bytes")
		// A larger --max-batch-bytes lets it through.
		if n, err, _ := readAll(honest, Options{MaxBatchBytes: 4 << 30}); err != nil || n != rows {
			t.Errorf("%s with a 4 GiB limit: %d rows, %v", honest, n, err)
		}

		lying := filepath.Join(dir, "lying-"+name)
		arrowZeros(t, lying, 4, 10, stream)
		patchClaim(t, lying, 1<<30)
		wantBombError(t, lying, DefaultOptions(), 16<<20, "--max-batch-bytes")
	}
}
