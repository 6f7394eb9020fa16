package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
)

type binRow struct {
	Label int64   `parquet:"label"`
	P     float64 `parquet:"p"`
}

// writeUnequal writes a small row group and then a large one.
func writeUnequal(t *testing.T, path string, rows []binRow, first int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[binRow](f)
	for _, part := range [][]binRow{rows[:first], rows[first:]} {
		if _, err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestSpareEvaluatorsJoin: with a small row group and a large one, the
// worker that finishes the small one lends its evaluator to the large
// one's batches. The figures are those of one worker, and the earliest
// invalid row still wins when a borrowed evaluator's part fails first.
func TestSpareEvaluatorsJoin(t *testing.T) {
	dir := t.TempDir()
	rows := make([]binRow, 40064)
	for i := range rows {
		rows[i] = binRow{int64(i % 3 % 2), 1 / (1 + math.Exp(float64(i%23)/3-4))}
	}
	good := filepath.Join(dir, "good.parquet")
	writeUnequal(t, good, rows, 64)
	run := func(path string, workers int) (string, error) {
		f, err := reader.Open(path, reader.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		task := benchTask{cols: []string{"label", "p"}, cfg: binaryCfg}
		job := benchJob(f, path, task, workers)
		job.Options.BatchRows = 512
		res, err := Run(context.Background(), job)
		if err != nil {
			return "", err
		}
		js, err := json.Marshal(res.State.Summary())
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s %v", js, res.FileRows), nil
	}
	want, err := run(good, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The large row group's second batch waits (a few seconds at most)
	// for the worker of the small one to put its evaluator in spare, so
	// that a busy machine cannot let it finish alone.
	testHookBatch = func(index, n, have int, spare chan *metrics.Evaluator) {
		if index != 1 || n != 1 || have >= cap(spare) {
			return
		}
		for deadline := time.Now().Add(5 * time.Second); len(spare) == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	defer func() { testHookBatch = nil }()
	b0 := borrowed.Load()
	for _, w := range []int{2, 3, 2} {
		got, err := run(good, w)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("--workers %d: figures differ from one worker's:\n%s\n%s", w, want, got)
		}
	}
	if borrowed.Load() == b0 {
		t.Fatal("no evaluator was borrowed: the test does not exercise sharing at the tail")
	}
	// Invalid rows near the end (the borrowed evaluator's part of a batch
	// is the second half) and an earlier one.
	rows[64+512*60+400].P = 2
	rows[64+512*70+300].P = math.NaN()
	bad := filepath.Join(dir, "bad.parquet")
	writeUnequal(t, bad, rows, 64)
	for _, w := range []int{1, 2, 3} {
		_, err := run(bad, w)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Row != 64+512*60+400+1 {
			t.Fatalf("--workers %d: error %v; want row %d", w, err, 64+512*60+400+1)
		}
	}
}
