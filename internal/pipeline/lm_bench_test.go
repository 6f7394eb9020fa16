package pipeline

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/parquet-go/parquet-go"
)

// lmBenchRow is a document of the tokens task (float32 log-probabilities,
// 256..768 per row, as the peer benchmark's tokens.parquet) with its byte
// count.
type lmBenchRow struct {
	LP    []float32 `parquet:"token_logprobs,list"`
	Bytes int64     `parquet:"n_bytes"`
}

// writeLMBench writes n documents to path, in row groups of 1024.
func writeLMBench(b *testing.B, path string, n int) {
	b.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	rows := make([]lmBenchRow, n)
	for i := range rows {
		m := 256 + r.IntN(513)
		d := r.NormFloat64() * 0.5
		lp := make([]float32, m)
		for j := range lp {
			lp[j] = float32(-min(25, math.Exp(d+r.NormFloat64()-1)))
		}
		rows[i] = lmBenchRow{LP: lp, Bytes: int64(4*m + r.IntN(64))}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := parquet.NewGenericWriter[lmBenchRow](f, parquet.MaxRowsPerRowGroup(1024))
	if _, err := w.Write(rows); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTokensBytes evaluates the same token-list file as evalnll eval
// does (1000 bootstrap replicates, one worker), without and with its
// byte-count column (--bytes: the column decoded and summed, bits_per_byte
// and its interval), alternately in each iteration, so that both see the
// same machine load: it reports the process CPU time per row of each and
// their ratio (the A/B of the language-model figures, decoding included).
// EVALNLL_LM_ROWS sets the document count (default 8192).
func BenchmarkTokensBytes(b *testing.B) {
	n := 8192
	if s := os.Getenv("EVALNLL_LM_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(b.TempDir(), "tokens_bytes.parquet")
	writeLMBench(b, path, n)
	f, err := reader.Open(path, reader.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	run := func(withBytes bool) *Result {
		cfg := tokensCfg()
		cols := []string{"token_logprobs"}
		if withBytes {
			cfg.LMBytes = true
			cols = append(cols, "n_bytes")
		}
		j := &Job{
			Files: []reader.File{f}, Names: []string{path}, Columns: cols, Config: &cfg,
			Bind: func(bt *column.Batch) metrics.Cols {
				c := metrics.Cols{Rows: bt.Rows, Pred: bt.Cols[0]}
				if withBytes {
					c.Bytes = bt.Cols[1]
				}
				return c
			},
			ColumnOf: func(metrics.Role) string { return "?" },
			Options:  Options{Workers: 1, BatchRows: 1024},
		}
		res, err := Run(context.Background(), j)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	var cpu [2]time.Duration
	var last *Result
	for i := 0; i < b.N; i++ {
		for _, withBytes := range []bool{i%2 == 1, i%2 == 0} { // alternate which goes first
			t0 := processCPU()
			last = run(withBytes)
			cpu[b2i(withBytes)] += processCPU() - t0
		}
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / float64(n) }
	b.ReportMetric(per(cpu[0]), "plain-cpu-ns/row")
	b.ReportMetric(per(cpu[1]), "bytes-cpu-ns/row")
	b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "bytes/plain")
	if f := last.State.Summary().Overall; f.Rows != int64(n) {
		b.Fatalf("rows %d", f.Rows)
	}
	if f := run(true).State.Summary().Overall; f.BitsPerByte == nil {
		b.Fatal("no bits_per_byte")
	}
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// processCPU is the CPU time of the process (user + system), 0 where
// getrusage is missing.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
