package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/evalnll/evalnll/store"
	"github.com/evalnll/evalnll/store/storetest"
	"github.com/parquet-go/parquet-go"
)

// BenchmarkS3Throttled evaluates a binary predictions file (y int32, p
// double, junk double that is not read; EVALNLL_BENCH_ROWS rows, 2M by
// default, 256k per row group, snappy) from disk and from the loopback S3
// server behind a link of 20 ms per request and 200 MB/s, with 1 and 16
// shard objects, and reports the bytes fetched, the requests and the ratio
// of the wall time to (bytes fetched / 200 MB/s).
func BenchmarkS3Throttled(b *testing.B) {
	rows := 2 << 20
	if v, err := strconv.Atoi(os.Getenv("EVALNLL_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	type row struct {
		Y    int32   `parquet:"y"`
		P    float64 `parquet:"p"`
		Junk float64 `parquet:"junk"`
	}
	write := func(n int, seed uint64) []byte {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[row](&buf, parquet.MaxRowsPerRowGroup(256<<10), parquet.Compression(&parquet.Snappy))
		rng := rand.New(rand.NewPCG(seed, 1))
		batch := make([]row, 4096)
		for k := 0; k < n; k += len(batch) {
			m := min(len(batch), n-k)
			for i := range batch[:m] {
				p := rng.Float64()
				batch[i] = row{P: p, Junk: rng.Float64()}
				if rng.Float64() < p {
					batch[i].Y = 1
				}
			}
			if _, err := w.Write(batch[:m]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	s := storetest.StartS3(b)
	dir := b.TempDir()
	const bw = 200e6
	for _, shards := range []int{1, 16} {
		var local []string
		for i := range shards {
			data := write(rows/shards, uint64(i))
			key := "s" + strconv.Itoa(shards) + "/part-" + strconv.Itoa(i) + ".parquet"
			s.Put(b, key, data)
			p := filepath.Join(dir, filepath.FromSlash(key))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				b.Fatal(err)
			}
			local = append(local, p)
		}
		args := []string{"eval", "--quiet", "--label", "y", "--prob", "p", "--bootstrap", "0", "--json", filepath.Join(dir, "r.json")}
		b.Run("local/shards="+strconv.Itoa(shards), func(b *testing.B) {
			for b.Loop() {
				if code, _, stderr := runArgs(append(args, local...)...); code != 0 {
					b.Fatal(stderr)
				}
			}
		})
		b.Run("s3-20ms-200MBps/shards="+strconv.Itoa(shards), func(b *testing.B) {
			s.Faults.Throttle = &storetest.Throttle{Latency: 20 * time.Millisecond, BytesPerSec: bw}
			defer func() { s.Faults.Throttle = nil }()
			var req, got int64
			start := time.Now()
			for b.Loop() {
				store.Default = store.NewClient(store.DefaultOptions())
				if code, _, stderr := runArgs(append(args, s.URL("s"+strconv.Itoa(shards)+"/"))...); code != 0 {
					b.Fatal(stderr)
				}
				r, g, _ := store.Default.Snapshot()
				req += r
				got += g
			}
			wall := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric(float64(got)/float64(b.N), "bytes/op")
			b.ReportMetric(float64(req)/float64(b.N), "GETs/op")
			b.ReportMetric(wall/(float64(got)/float64(b.N)/bw), "x-transfer-time")
		})
	}
	_ = context.Background
}
