package pipeline

// End-to-end benchmarks of Run (reader + evaluator + merge) beside a loop
// that only decodes the same columns with the same worker pool: the target
// is evaluation within 1.5x of decoding, and 2 workers >= 1.8x one.
//
// By default they run on the small files of testdata/samples (a CI smoke:
// go test ./pipeline -run '^$' -bench . -benchtime=1x). With
// EVALNLL_BENCH_DATA=DIR they run on the peer benchmark's files in DIR
// (../shared/bench, `node gen.mjs --out DIR`), one iteration being one pass
// over a file:
//
//	EVALNLL_BENCH_DATA=/tmp/bench/data go test ./pipeline -run '^$' \
//	    -bench . -benchtime 1x -count 3 -timeout 60m

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
)

type benchTask struct {
	name string
	file string // relative to the data directory
	cols []string
	by   bool
	cfg  func() metrics.Config
}

// cliConfig is the configuration evalnll eval runs with by default: the
// figures of the report and 1000 bootstrap replicates.
func cliConfig() metrics.Config {
	c := metrics.DefaultConfig()
	c.Bootstrap = metrics.DefaultBootstrap()
	return c
}

func binaryCfg() metrics.Config { return cliConfig() }

func bySliceCfg() metrics.Config {
	c := cliConfig()
	c.ByCols = 1
	return c
}

func multiCfg(pred metrics.Pred) func() metrics.Config {
	return func() metrics.Config {
		c := cliConfig()
		c.Kind, c.Pred = metrics.Multiclass, pred
		return c
	}
}

func tokensCfg() metrics.Config {
	c := cliConfig()
	c.Kind, c.Pred, c.Tokens = metrics.Logprob, metrics.PredLogprob, true
	return c
}

// benchTasks are the peer benchmark's evalnll cases, or the samples.
func benchTasks() (dir string, tasks []benchTask) {
	if d := os.Getenv("EVALNLL_BENCH_DATA"); d != "" {
		lp := []string{"label", "p"}
		return d, []benchTask{
			{"binary", "binary.parquet", lp, false, binaryCfg},
			{"binary_by_slice", "binary.parquet", []string{"label", "p", "slice"}, true, bySliceCfg},
			{"binary_f32", "binary_f32.parquet", lp, false, binaryCfg},
			{"binary_arrow", "binary.arrow", lp, false, binaryCfg},
			{"binary_arrow_by_slice", "binary.arrow", []string{"label", "p", "slice"}, true, bySliceCfg},
			{"logits", "multiclass_logits.parquet", []string{"label", "logits"}, false, multiCfg(metrics.PredLogit)},
			{"logits_arrow", "multiclass_logits.arrow", []string{"label", "logits"}, false, multiCfg(metrics.PredLogit)},
			{"probs", "multiclass_probs.parquet", []string{"label", "probs"}, false, multiCfg(metrics.PredProb)},
			{"probs_arrow", "multiclass_probs.arrow", []string{"label", "probs"}, false, multiCfg(metrics.PredProb)},
			{"tokens", "tokens.parquet", []string{"token_logprobs"}, false, tokensCfg},
			{"tokens_arrow", "tokens.arrow", []string{"token_logprobs"}, false, tokensCfg},
		}
	}
	return filepath.Join("..", "..", "testdata", "samples"), []benchTask{
		{"sample_binary", "breast_cancer_lr.parquet", []string{"y", "p"}, false, binaryCfg},
		{"sample_probs", "digits_lr.parquet", []string{"y", "probs"}, false, multiCfg(metrics.PredProb)},
	}
}

func openBench(b *testing.B, path string) (reader.File, int64) {
	b.Helper()
	st, err := os.Stat(path)
	if err != nil {
		b.Skipf("no %s: %v", path, err)
	}
	f, err := reader.Open(path, reader.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	return f, st.Size()
}

// batchRows is what the CLI uses: 4096 rows for list columns, else the
// default.
func batchRows(t benchTask) int {
	if c := t.cfg(); c.Kind == metrics.Multiclass || c.Kind == metrics.Multilabel || c.Tokens {
		return 1024 // as evalnll eval reads list predictions
	}
	return DefaultOptions().BatchRows
}

func benchJob(f reader.File, path string, t benchTask, workers int) *Job {
	cfg := t.cfg()
	j := &Job{
		Files: []reader.File{f}, Names: []string{path}, Columns: t.cols, Config: &cfg,
		Bind: func(b *column.Batch) metrics.Cols {
			c := metrics.Cols{Rows: b.Rows}
			if len(t.cols) == 1 {
				c.Pred = b.Cols[0]
				return c
			}
			c.Label, c.Pred = b.Cols[0], b.Cols[1]
			if t.by {
				c.By = []*column.Column{b.Cols[2]}
			}
			return c
		},
		ColumnOf: func(metrics.Role) string { return "?" },
		Options:  Options{Workers: workers, BatchRows: batchRows(t)},
	}
	if cfg.Kind == metrics.Multiclass {
		j.PredColumn = t.cols[1]
	}
	return j
}

var sinkDecode float64

// decodeOnly reads every unit of f on a pool of workers, as Run does (the
// same units, cut into the same parts), and touches every value: the floor
// an evaluation is measured against.
func decodeOnly(f reader.File, cols []string, workers, batch int) (rows int64, err error) {
	plan := newPlanner([]reader.File{f}, cols, workers, Shard{})
	ch := make(chan unit)
	go func() {
		n := 0
		for _, w := range plan.units {
			for _, u := range plan.split(w, n) {
				n++
				ch <- u
			}
		}
		close(ch)
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var total float64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s float64
			var n int64
			var e error
			for u := range ch {
				sc := u.scan(f, cols, batch)
				for sc.Next() {
					bt := sc.Batch()
					n += int64(bt.Rows)
					for _, c := range bt.Cols {
						for _, v := range c.F64 {
							s += v
						}
						for _, v := range c.F32 {
							s += float64(v)
						}
						for _, v := range c.Ints {
							s += float64(v)
						}
						for _, v := range c.Codes {
							s += float64(v)
						}
					}
				}
				if err := sc.Err(); err != nil && e == nil {
					e = err
				}
				sc.Close()
			}
			mu.Lock()
			total += s
			rows += n
			if err == nil {
				err = e
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	sinkDecode = total
	return rows, err
}

func BenchmarkPipeline(b *testing.B) {
	dir, tasks := benchTasks()
	workers := []int{1, runtime.GOMAXPROCS(0)}
	if workers[1] == 1 {
		workers = workers[:1]
	}
	for _, t := range tasks {
		path := filepath.Join(dir, t.file)
		for _, mode := range []string{"decode", "eval"} {
			for _, w := range workers {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", t.name, mode, w), func(b *testing.B) {
					f, size := openBench(b, path)
					defer f.Close()
					b.SetBytes(size)
					b.ReportAllocs()
					var rows int64
					for i := 0; i < b.N; i++ {
						if mode == "decode" {
							n, err := decodeOnly(f, t.cols, w, batchRows(t))
							if err != nil {
								b.Fatal(err)
							}
							rows = n
							continue
						}
						res, err := Run(context.Background(), benchJob(f, path, t, w))
						if err != nil {
							b.Fatal(err)
						}
						rows = res.FileRows[0]
					}
					b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}
