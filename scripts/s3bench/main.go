// Command s3bench times evalnll reading Parquet files from disk and from a
// loopback S3 server (storetest.DirS3: the files on disk served with
// ranged GETs), unthrottled and through a link of -latency per request and
// -bw bytes/s, and prints a markdown table: bytes the run must read (the
// footers and the column chunks of the columns evaluated), bytes and GETs
// served, wall, CPU (user+sys) and peak RSS of the evalnll process, the
// server's CPU, and the wall over the target 1.3 × bytes/bw + one round
// trip per footer.
//
//	go build -o evalnll ./cmd/evalnll
//	go run ./scripts/s3bench -evalnll ./evalnll -data /tmp/bench/data
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parquet-go/parquet-go"

	"github.com/evalnll/evalnll/store/storetest"
)

type benchCase struct {
	name  string
	input string // relative to -data: a file, or a folder ending in /
	cols  []string
	args  []string
}

var cases = []benchCase{
	{"binary.parquet", "binary.parquet", []string{"label", "p"}, []string{"--label", "label", "--prob", "p"}},
	{"binary_shards (16)", "binary_shards/", []string{"label", "p"}, []string{"--label", "label", "--prob", "p"}},
	{"multiclass_logits.parquet", "multiclass_logits.parquet", []string{"label", "logits"}, []string{"--label", "label", "--logit", "logits"}},
}

type result struct {
	wall, cpu, server time.Duration
	rss               int64 // KiB
	gets, bytes       int64
	report            []byte
}

func main() {
	bin := flag.String("evalnll", "./evalnll", "the evalnll binary")
	data := flag.String("data", "/tmp/bench/data", "the folder of the peer benchmark's files")
	latency := flag.Duration("latency", 20*time.Millisecond, "added to every request of the throttled link")
	bw := flag.Float64("bw", 200e6, "bytes/s of the throttled link")
	reps := flag.Int("reps", 1, "runs of each case (the table shows the median wall)")
	only := flag.String("only", "", "run the cases whose name contains this")
	modes := flag.String("modes", "local,s3,s3-throttled", "which of local, s3, s3-throttled")
	verbose := flag.Bool("v", false, "print evalnll's standard error")
	server := flag.String("server", "dir", "dir: the files served from disk (storetest.DirS3); gofakes3: loaded into gofakes3's in-memory backend")
	extra := flag.String("args", "", "more eval flags, space-separated (e.g. --workers 2)")
	flag.Parse()

	dir := &storetest.DirS3{Dir: *data, Bucket: "bench"}
	var h http.Handler = dir
	if *server == "gofakes3" {
		// The same counts, taken around the fake.
		var ins []string
		for _, c := range cases {
			if *only == "" || strings.Contains(c.name, *only) {
				ins = append(ins, c.input)
			}
		}
		h = fakeS3(*data, ins, dir)
	}
	faults := storetest.NewFaults(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	srv := &http.Server{Handler: faults}
	go srv.Serve(ln)
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String()
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	tmp, err := os.MkdirTemp("", "s3bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)

	fmt.Printf("| case | where | must read | footers | served | GETs | wall | CPU | peak RSS | server CPU | target | wall ÷ target |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cases {
		if *only != "" && !strings.Contains(c.name, *only) {
			continue
		}
		must, footers, err := mustRead(filepath.Join(*data, c.input), c.cols)
		if err != nil {
			fail(err)
		}
		target := time.Duration(1.3*float64(must)/(*bw)*float64(time.Second)) + time.Duration(footers)**latency
		var local []byte
		for _, mode := range strings.Split(*modes, ",") {
			in := filepath.Join(*data, c.input)
			if mode != "local" {
				in = "s3://bench/" + c.input + "?endpoint=" + endpoint + "&use_path_style=true&region=us-east-1"
			}
			if mode == "s3-throttled" {
				faults.Throttle = &storetest.Throttle{Latency: *latency, BytesPerSec: *bw}
			} else {
				faults.Throttle = nil
			}
			var rs []result
			for range *reps {
				out := filepath.Join(tmp, "r.json")
				args := append([]string{"eval", "--quiet", "--bootstrap", "0", "--json", out}, c.args...)
				if *extra != "" {
					args = append(args, strings.Fields(*extra)...)
				}
				args = append(args, in)
				g0, b0 := dir.Gets.Load(), dir.Bytes.Load()
				s0 := selfCPU()
				// GNU time's %M: a process forked by this one would
				// start from this one's peak RSS.
				rssFile := filepath.Join(tmp, "rss")
				cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, *bin}, args...)...)
				cmd.Env = env
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				start := time.Now()
				err := cmd.Run()
				wall := time.Since(start)
				if err != nil {
					fail(fmt.Errorf("%s %s: %v: %s", c.name, mode, err, stderr.String()))
				}
				if *verbose {
					os.Stderr.Write(stderr.Bytes())
				}
				var rss int64
				if b, err := os.ReadFile(rssFile); err == nil {
					fmt.Sscan(strings.TrimSpace(string(b)), &rss)
				}
				rep, _ := os.ReadFile(out)
				rs = append(rs, result{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), server: selfCPU() - s0,
					rss: rss, gets: dir.Gets.Load() - g0, bytes: dir.Bytes.Load() - b0, report: pathsOut(rep)})
			}
			slices.SortFunc(rs, func(a, b result) int { return int(a.wall - b.wall) })
			r := rs[len(rs)/2]
			if mode == "local" {
				local = r.report
			} else if local != nil && !bytes.Equal(local, r.report) {
				fail(fmt.Errorf("%s: the report from %s differs from the local one", c.name, mode))
			}
			served, gets, server, ratio := "", "", "", ""
			if mode != "local" {
				served = fmt.Sprintf("%.1f MB", float64(r.bytes)/1e6)
				gets = fmt.Sprint(r.gets)
				server = fmt.Sprintf("%.2f s", r.server.Seconds())
			}
			if mode == "s3-throttled" {
				ratio = fmt.Sprintf("%.2f", r.wall.Seconds()/target.Seconds())
			}
			fmt.Printf("| %s | %s | %.1f MB | %d | %s | %s | %.2f s | %.2f s | %d MiB | %s | %.2f s | %s |\n",
				c.name, mode, float64(must)/1e6, footers, served, gets, r.wall.Seconds(), r.cpu.Seconds(), r.rss/1024, server, target.Seconds(), ratio)
		}
	}
}

// mustRead is what a reader of cols must fetch: each file's footer (and
// its 8-byte tail) and the column chunks of cols; and the file count.
func mustRead(p string, cols []string) (int64, int, error) {
	var files []string
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		m, _ := filepath.Glob(filepath.Join(p, "*.parquet"))
		files = m
	} else {
		files = []string{p}
	}
	var total int64
	for _, fp := range files {
		f, err := os.Open(fp)
		if err != nil {
			return 0, 0, err
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			f.Close()
			return 0, 0, err
		}
		var tail [8]byte
		f.ReadAt(tail[:], st.Size()-8)
		total += 8 + int64(uint32(tail[0])|uint32(tail[1])<<8|uint32(tail[2])<<16|uint32(tail[3])<<24)
		for _, rg := range pf.Metadata().RowGroups {
			for _, c := range rg.Columns {
				if slices.Contains(cols, c.MetaData.PathInSchema[0]) {
					total += c.MetaData.TotalCompressedSize
				}
			}
		}
		f.Close()
	}
	return total, len(files), nil
}

// fakeS3 loads the .parquet files of the inputs (paths under data) into
// gofakes3 (s3mem) as bucket "bench", and serves it counting GETs and
// bytes in counts.
func fakeS3(data string, inputs []string, counts *storetest.DirS3) http.Handler {
	be := s3mem.New()
	if err := be.CreateBucket("bench"); err != nil {
		fail(err)
	}
	filepath.WalkDir(data, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		rel, _ := filepath.Rel(data, p)
		if !slices.ContainsFunc(inputs, func(in string) bool { return strings.HasPrefix(filepath.ToSlash(rel), in) }) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			fail(err)
		}
		if _, err := be.PutObject("bench", filepath.ToSlash(rel), map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			fail(err)
		}
		return nil
	})
	fake := gofakes3.New(be, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
			counts.Gets.Add(1)
			w = storetest.CountBytes(w, &counts.Bytes)
		}
		fake.ServeHTTP(w, r)
	})
}

var pathField = regexp.MustCompile(`"path": *"[^"]*"`)

// pathsOut drops the inputs' paths from a report.
func pathsOut(rep []byte) []byte { return pathField.ReplaceAll(rep, []byte(`"path":""`)) }

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "s3bench:", err)
	os.Exit(1)
}
