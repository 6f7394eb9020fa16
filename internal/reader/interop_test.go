package reader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const interopDir = "../../testdata/interop"

// interopResult is what the child process reports about one file.
type interopResult struct {
	OpenErr  string
	Fields   int
	Rows     int64
	ScanErrs []string
	ReadErrs int // errors of scans of readable columns only
	Scanned  int // scans that ended without error
	Panicked bool
	Path     string
	Millis   int64
	MaxRSS   int64 // of the process, after reading the file
}

// readInterop opens a file and scans every unit of every column.
func readInterop(path string) (res interopResult) {
	defer func() {
		if r := recover(); r != nil {
			res.Panicked = true
		}
	}()
	check := func(err error) string {
		msg := err.Error()
		if !strings.HasPrefix(msg, path+": ") || strings.ContainsAny(msg, "\r\n") {
			return "BAD MESSAGE: " + msg
		}
		return msg
	}
	f, err := Open(path, DefaultOptions())
	if err != nil {
		res.OpenErr = check(err)
		if !errors.Is(err, ErrFormat) && !strings.Contains(err.Error(), "BAD") {
			res.OpenErr = "NOT ErrFormat: " + res.OpenErr
		}
		return res
	}
	defer f.Close()
	res.Fields, res.Rows = len(f.Fields()), f.Rows()
	names := supported(f)
	scan := func(u int, cols []string) {
		s := f.Scan(u, cols, 1000)
		for s.Next() {
			_ = s.Batch()
		}
		if err := s.Err(); err != nil {
			res.ScanErrs = append(res.ScanErrs, check(err))
			readable := true
			for _, c := range cols {
				readable = readable && contains(names, c)
			}
			if readable {
				res.ReadErrs++
			}
		} else {
			res.Scanned++
		}
		s.Close()
	}
	if f.Format() == FormatArrowStream {
		for _, fl := range f.Fields() {
			if !contains(names, fl.Name) {
				scan(-1, []string{fl.Name})
			}
		}
		scan(-1, names)
		return res
	}
	for _, fl := range f.Fields() {
		for _, u := range f.Units() {
			scan(u.Index, []string{fl.Name})
		}
	}
	scan(-1, names)
	return res
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestInteropChild is run by TestInteropCorpus in a child process for a few
// files, so that memory use can be measured and a crash seen.
func TestInteropChild(t *testing.T) {
	list := os.Getenv("EVALNLL_INTEROP_FILES")
	if list == "" {
		t.Skip("run by TestInteropCorpus")
	}
	for _, path := range strings.Split(list, "\n") {
		fmt.Printf("\nSTART %s\n", path)
		start := time.Now()
		res := readInterop(path)
		res.Path, res.Millis = path, time.Since(start).Milliseconds()
		res.MaxRSS = peakRSS()
		b, _ := json.Marshal(res)
		fmt.Printf("\nRESULT %s\n", b)
	}
}

// peakRSS is this process's peak resident memory: VmHWM of
// /proc/self/status, which counts only this process's own memory since its
// exec. (The rusage of a child is no good here: Linux starts a child's
// maxrss at its parent's peak, and this test's parent, the test binary
// running every test of the package, can be large.) Elsewhere, rusage.
func peakRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
					return kb << 10
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss * 1024
	}
	return 0
}

func interopFiles(t *testing.T) (valid, bad []string) {
	glob := func(pattern string) []string {
		m, err := filepath.Glob(filepath.Join(interopDir, pattern))
		if err != nil || len(m) == 0 {
			t.Fatalf("no files match %s", pattern)
		}
		return m
	}
	valid = append(glob("parquet-testing/data/*.parquet"), glob("arrow-testing/data/arrow-ipc-stream/integration/*/*")...)
	bad = append(glob("parquet-testing/bad_data/*.parquet"), glob("arrow-testing/data/arrow-ipc-file/*")...)
	bad = append(bad, glob("arrow-testing/data/arrow-ipc-stream/clusterfuzz-*")...)
	return valid, bad
}

// Bad files that hold readable data: ARROW-GH-43605 has a dictionary of one
// value with indices of bit width 0, which is valid (it crashed Arrow C++).
var readableBadFiles = map[string]bool{"ARROW-GH-43605.parquet": true}

// Valid files whose columns cannot all be read: parquet-go v0.32.0 does not
// decode the deprecated LZ4 codec, nor a compressed v2 page with no value
// bytes; and three files are corrupt on purpose.
var undecodableValidFiles = map[string]bool{
	"hadoop_lz4_compressed.parquet":                  true,
	"hadoop_lz4_compressed_larger.parquet":           true,
	"non_hadoop_lz4_compressed.parquet":              true,
	"datapage_v2_empty_datapage.snappy.parquet":      true,
	"datapage_v1-corrupt-checksum.parquet":           true,
	"rle-dict-uncompressed-corrupt-checksum.parquet": true,
	"nation.dict-malformed.parquet":                  true,
}

// TestInteropCorpus reads the files of other writers (valid ones must open
// and report their schema; their supported columns must read) and the files
// that crashed other readers (each must end in an error: never a panic, a
// hang, or more than 300 MiB of memory). Files are read in child processes,
// a few per process, whose peak memory is measured.
func TestInteropCorpus(t *testing.T) {
	valid, bad := interopFiles(t)
	isValid := map[string]bool{}
	for _, p := range valid {
		isValid[p] = true
	}
	all := append(append([]string{}, valid...), bad...)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const perChild = 16
	for b := 0; b < len(all); b += perChild {
		batch := all[b:min(b+perChild, len(all))]
		t.Run(fmt.Sprintf("batch%d", b/perChild), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, "-test.run=^TestInteropChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "EVALNLL_INTEROP_FILES="+strings.Join(batch, "\n"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				last := ""
				if i := strings.LastIndex(string(out), "\nSTART "); i >= 0 {
					last = strings.SplitN(string(out[i+7:]), "\n", 2)[0]
				}
				t.Fatalf("child process failed on %s: %v\n%s", last, err, out)
			}
			results := map[string]interopResult{}
			for _, line := range strings.Split(string(out), "\n") {
				if js, ok := strings.CutPrefix(line, "RESULT "); ok {
					var res interopResult
					if err := json.Unmarshal([]byte(js), &res); err != nil {
						t.Fatalf("%v: %s", err, js)
					}
					results[res.Path] = res
				}
			}
			for _, p := range batch {
				res, ok := results[p]
				if !ok {
					t.Errorf("%s: no result", p)
					continue
				}
				checkInterop(t, p, res, isValid[p])
			}
		})
	}
}

func checkInterop(t *testing.T, p string, res interopResult, valid bool) {
	t.Helper()
	name := filepath.Base(p)
	if res.Panicked {
		t.Errorf("%s: a panic escaped the reader", name)
	}
	// The peak is of the child process so far: the first file to pass
	// 300 MiB is the one named.
	if res.MaxRSS > 300<<20 {
		t.Errorf("%s: peak RSS %d MiB after reading it", name, res.MaxRSS>>20)
	}
	for _, e := range append(res.ScanErrs, res.OpenErr) {
		if strings.HasPrefix(e, "BAD MESSAGE") || strings.HasPrefix(e, "NOT ErrFormat") {
			t.Errorf("%s: %s", name, e)
		}
	}
	if valid {
		if res.OpenErr != "" {
			t.Errorf("%s: open: %s", name, res.OpenErr)
			return
		}
		if res.Fields == 0 {
			t.Errorf("%s: no fields", name)
		}
		// Scan errors are only those of unsupported columns, unless the
		// file is known to be undecodable.
		for _, e := range res.ScanErrs {
			if !strings.Contains(e, "which evalnll cannot read") && !undecodableValidFiles[name] {
				t.Errorf("%s: scan: %s", name, e)
			}
		}
		return
	}
	// The error must come from opening the file or reading its readable
	// columns, as in evalnll inspect, not only from unsupported columns.
	if res.OpenErr == "" && res.ReadErrs == 0 && !readableBadFiles[name] {
		t.Errorf("%s: no error: %+v", name, res)
	}
}
