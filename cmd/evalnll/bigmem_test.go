package main

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// TestLargeInputFlatMemory is opt-in (EVALNLL_BIG_GB=N): it writes about N
// GB of binary predictions in Parquet and evaluates them under
// GOMEMLIMIT=300MiB, asserting the peak RSS stays under 500 MiB, so memory
// does not grow with the input.
func TestLargeInputFlatMemory(t *testing.T) {
	gb, _ := strconv.ParseFloat(os.Getenv("EVALNLL_BIG_GB"), 64)
	if gb <= 0 {
		t.Skip("set EVALNLL_BIG_GB=N to run (writes N GB to a temp dir)")
	}
	bin := binary(t)
	dir := t.TempDir()
	type row struct {
		ID int64   `parquet:"id"`
		Y  int64   `parquet:"y"`
		P  float64 `parquet:"p"`
		Z  float64 `parquet:"z"` // a second float column: more bytes, not read
	}
	// 32 bytes a row before compression; random doubles do not compress.
	rows := int64(gb * (1 << 30) / 32)
	const perFile = 8 << 20
	r := rand.New(rand.NewPCG(3, 3))
	buf := make([]row, 1<<16)
	start := time.Now()
	for f := 0; int64(f)*perFile < rows; f++ {
		fh, err := os.Create(filepath.Join(dir, "part-"+strconv.Itoa(f)+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[row](fh, parquet.MaxRowsPerRowGroup(1<<20))
		for n := int64(0); n < perFile && int64(f)*perFile+n < rows; n += int64(len(buf)) {
			for i := range buf {
				p := r.Float64()
				y := int64(0)
				if r.Float64() < p {
					y = 1
				}
				buf[i] = row{int64(f)*perFile + n + int64(i), y, p, r.Float64()}
			}
			if _, err := w.Write(buf); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fh.Close()
	}
	t.Logf("wrote %d rows in %v", rows, time.Since(start))
	// The default run, and quantile bins with the histogram figures: both
	// with state that does not grow with the rows.
	for _, extra := range [][]string{nil, {"--binning", "quantile"}, {"--binning", "quantile", "--auroc"}, nil} {
		args := append([]string{"eval", "--quiet", "--label", "y", "--prob", "p", "--json", filepath.Join(dir, "r.json")}, extra...)
		cmd := exec.Command(bin, append(args, dir)...)
		cmd.Env = append(os.Environ(), "GOMEMLIMIT=300MiB")
		start = time.Now()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("eval %v failed: %s", extra, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		t.Logf("%v: evaluated %d rows in %v, peak RSS %d MiB", extra, rows, time.Since(start), ru.Maxrss>>10)
		if ru.Maxrss<<10 > 500<<20 {
			t.Errorf("%v: peak RSS %d MiB over 500 MiB", extra, ru.Maxrss>>10)
		}
	}
}
