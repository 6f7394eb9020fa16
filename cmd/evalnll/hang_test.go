package main

// Hangs and leftovers (issue 18): every blocked read ends on SIGINT or
// SIGTERM with exit 130; standard input is streamed, or spooled within a
// limit and removed on every exit path. Signals are sent on readiness:
// the process is seen blocked (its wchan in /proc), or has consumed data
// that the test wrote, never after a sleep.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// streamWriter writes an Arrow IPC stream of binary (y int64, p float64)
// rows, or multiclass (y int64, probs list<float64>) rows, batch by batch.
type streamWriter struct {
	w      *ipc.Writer
	schema *arrow.Schema
	multi  bool
	badRow int // 1-based row whose label is 7 (an invalid class), 0: none
}

func newStreamWriter(t *testing.T, out io.Writer, multi bool) *streamWriter {
	t.Helper()
	fields := []arrow.Field{{Name: "y", Type: arrow.PrimitiveTypes.Int64}, {Name: "p", Type: arrow.PrimitiveTypes.Float64}}
	if multi {
		fields[1] = arrow.Field{Name: "probs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}
	}
	s := arrow.NewSchema(fields, nil)
	return &streamWriter{w: ipc.NewWriter(out, ipc.WithSchema(s)), schema: s, multi: multi}
}

// batch writes n rows; it returns false when the reader went away.
func (s *streamWriter) batch(n int) bool {
	b := array.NewRecordBuilder(memory.DefaultAllocator, s.schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		y := int64(i % 2)
		if i+1 == s.badRow {
			y = 7
		}
		b.Field(0).(*array.Int64Builder).Append(y)
		if s.multi {
			lb := b.Field(1).(*array.ListBuilder)
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.Float64Builder)
			vb.Append(0.25)
			vb.Append(0.75)
		} else {
			b.Field(1).(*array.Float64Builder).Append(float64(i%97+1) / 100)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return s.w.Write(rec) == nil
}

// waitBlocked waits until a thread of process pid sleeps in a kernel
// function whose name contains one of want (its wchan), such as
// "wait_for_partner" (opening a FIFO with no writer) or "pipe_read".
func waitBlocked(t *testing.T, pid int, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a failsafe, not a measure
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/wchan")
		for _, task := range tasks {
			w, _ := os.ReadFile(task)
			for _, s := range want {
				if strings.Contains(string(w), s) {
					return
				}
			}
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			t.Fatalf("process %d exited before blocking", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d never blocked in %v", pid, want)
}

// waitExit waits for cmd, killing it after a generous failsafe, and returns
// its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("the process did not end (killed)")
		return -1
	}
}

func startBin(t *testing.T, stdin io.Reader, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), env...)
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &se
}

// TestSignalFIFONoWriter: an input or a baseline that is a FIFO no one
// writes to blocks its open; SIGINT and SIGTERM still end the run with 130.
func TestSignalFIFONoWriter(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "f.arrows")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	in := smallInput(t, dir)
	for _, c := range []struct {
		args []string
		sig  syscall.Signal
	}{
		{[]string{"inspect", fifo}, syscall.SIGINT},
		{[]string{"eval", "--label", "y", "--prob", "p", fifo}, syscall.SIGTERM},
		{[]string{"eval", "--label", "y", "--prob", "p", "--baseline", fifo, "--max-increase", "nll=1", in}, syscall.SIGINT},
		{[]string{"compare", fifo, fifo}, syscall.SIGTERM},
	} {
		cmd, se := startBin(t, nil, nil, c.args...)
		waitBlocked(t, cmd.Process.Pid, "wait_for_partner", "fifo")
		cmd.Process.Signal(c.sig)
		if code := waitExit(t, cmd); code != 130 {
			t.Errorf("%v: exit %d, want 130 (stderr %q)", c.args, code, se)
		}
		if se.String() != "evalnll: interrupted\n" {
			t.Errorf("%v: stderr %q", c.args, se)
		}
	}
	// An output that is a FIFO no one reads blocks the commit: an
	// interrupt ends it, and the outputs committed before are rolled
	// back.
	out := filepath.Join(dir, "r.json")
	os.WriteFile(out, []byte("previous\n"), 0o644)
	cmd, se := startBin(t, nil, nil, "eval", "--label", "y", "--prob", "p", "--json", out, "--md", fifo, in)
	waitBlocked(t, cmd.Process.Pid, "wait_for_partner", "fifo")
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 130 {
		t.Errorf("FIFO output: exit %d, want 130 (stderr %q)", code, se)
	}
	if got, _ := os.ReadFile(out); string(got) != "previous\n" {
		t.Errorf("FIFO output: r.json is %q, want it rolled back", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".r.json.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestSignalStdinNeverCloses: standard input that stays open, mid-stream
// or before its first byte, ends on a signal with 130 without waiting for
// it to close; an existing report is left as it was.
func TestSignalStdinNeverCloses(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	for _, c := range []struct {
		name  string
		write bool // stream 4 MiB of batches first
		sig   syscall.Signal
	}{{"mid-stream", true, syscall.SIGINT}, {"no byte yet", false, syscall.SIGTERM}} {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(out, []byte("previous\n"), 0o644)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd, se := startBin(t, pr, nil, "eval", "--label", "y", "--prob", "p", "--json", out, "-")
			pr.Close()
			if c.write {
				// Once 4 MiB went into the pipe, the process is
				// reading it (it buffers at most about 1.2 MiB).
				sw := newStreamWriter(t, pw, false)
				for i := 0; i < 32; i++ {
					if !sw.batch(8192) {
						t.Fatalf("the process stopped reading: %s", se)
					}
				}
				waitBlocked(t, cmd.Process.Pid, "pipe_read", "pipe_wait")
			} else {
				waitBlocked(t, cmd.Process.Pid, "pipe_read", "pipe_wait")
			}
			cmd.Process.Signal(c.sig)
			// The run ends without waiting for standard input to close.
			code := waitExit(t, cmd)
			pw.Close()
			if code != 130 {
				t.Fatalf("exit %d, want 130 (stderr %q)", code, se)
			}
			if got, _ := os.ReadFile(out); string(got) != "previous\n" {
				t.Errorf("report changed: %q", got)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".r.json.tmp-*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestStdinStreamedAndSpooled: a binary stream on standard input is read
// as it comes (no spool file); a multiclass list stream, which may be read
// twice, is spooled, within --max-stdin-bytes, and the spool is removed
// after the run, on an error, and on an interrupt. Spools of processes
// that are gone are removed by the next run.
func TestStdinStreamedAndSpooled(t *testing.T) {
	tmp := t.TempDir()
	env := []string{"TMPDIR=" + tmp}
	spools := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "evalnll-stdin-*"))
		return m
	}
	// A spool left by a killed process, and one of a live process.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(tmp, "evalnll-stdin-"+strconv.Itoa(dead.Process.Pid)+"-1.arrows")
	live := filepath.Join(tmp, "evalnll-stdin-"+strconv.Itoa(os.Getpid())+"-1.arrows")
	os.WriteFile(stale, []byte("x"), 0o600)
	os.WriteFile(live, []byte("x"), 0o600)

	var stream, multi bytes.Buffer
	sw := newStreamWriter(t, &stream, false)
	sw.batch(1000)
	sw.w.Close()
	mw := newStreamWriter(t, &multi, true)
	mw.batch(1000)
	mw.w.Close()

	// Streamed: no spool is made (a spool would show in TMPDIR while it
	// runs; the stale one stays since cleaning happens when spooling).
	cmd, se := startBin(t, bytes.NewReader(stream.Bytes()), env, "eval", "--label", "y", "--prob", "p", "--json", "-", "-")
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("binary stream: exit %d: %s", code, se)
	}
	if got := spools(); len(got) != 2 {
		t.Fatalf("spools after a streamed run: %v", got)
	}
	// Spooled: the stale spool goes, the live one stays, ours is removed.
	cmd, se = startBin(t, bytes.NewReader(multi.Bytes()), env, "eval", "--label", "y", "--prob", "probs", "--json", "-", "-")
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("multiclass stream: exit %d: %s", code, se)
	}
	if got := spools(); len(got) != 1 || got[0] != live {
		t.Fatalf("spools after a spooled run: %v, want only %s", got, live)
	}
	// Over the limit: exit 2, one line naming "-", no spool left.
	cmd, se = startBin(t, bytes.NewReader(multi.Bytes()), env, "eval", "--label", "y", "--prob", "probs", "--max-stdin-bytes", "1000", "-")
	if code := waitExit(t, cmd); code != 2 {
		t.Fatalf("over the limit: exit %d: %s", code, se)
	}
	oneLineErr(t, se.String(), "evalnll: -: ", "--max-stdin-bytes")
	if got := spools(); len(got) != 1 {
		t.Fatalf("spools after an error: %v", got)
	}
	// Interrupted while spooling: the spool is removed.
	pr, pw, _ := os.Pipe()
	cmd, se = startBin(t, pr, env, "eval", "--label", "y", "--prob", "probs", "-")
	pr.Close()
	pw.Write(multi.Bytes()[:len(multi.Bytes())-8]) // all but the end-of-stream marker
	for len(spools()) < 2 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(cmd.Process.Pid)); err != nil {
			t.Fatalf("exited before spooling: %s", se)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitBlocked(t, cmd.Process.Pid, "pipe_read", "pipe_wait")
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 130 {
		t.Fatalf("interrupted spool: exit %d: %s", code, se)
	}
	pw.Close()
	if got := spools(); len(got) != 1 {
		t.Fatalf("spools after an interrupt: %v", got)
	}
	// /dev/zero on standard input ends at once.
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Skip(err)
	}
	defer zero.Close()
	cmd, se = startBin(t, zero, env, "eval", "--label", "y", "--prob", "probs", "-")
	if code := waitExit(t, cmd); code != 2 {
		t.Fatalf("/dev/zero: exit %d: %s", code, se)
	}
	oneLineErr(t, se.String(), "evalnll: -: ")
}

// TestReportSizeLimit: a baseline or compared report larger than
// --max-report-bytes is refused after reading at most that much.
func TestReportSizeLimit(t *testing.T) {
	dir := t.TempDir()
	in := smallInput(t, dir)
	for _, args := range [][]string{
		{"eval", "--label", "y", "--prob", "p", "--baseline", "/dev/zero", "--max-increase", "nll=1", "--max-report-bytes", "100000", in},
		{"compare", "--max-report-bytes", "100000", "/dev/zero", "/dev/zero"},
	} {
		code, so, se := runIn(t, args...)
		if code != 2 || so != "" {
			t.Fatalf("%v: exit %d, stdout %q", args, code, so)
		}
		oneLineErr(t, se, "/dev/zero", "larger than 100000 bytes")
	}
}

// TestInterruptReturnsAtOnce: whatever a command is doing when the
// context ends (here: blocked for good after registering a cleanup, as a
// long summary or a blocked read would be), run returns 130 at once and
// runs the cleanups; a command that began committing its outputs is
// waited for.
func TestInterruptReturnsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cleaned := make(chan bool, 1)
	ready := make(chan bool)
	testCommands["block"] = func(e *env, _ []string) (int, error) {
		e.atInterrupt(func() { cleaned <- true })
		close(ready)
		select {} // never returns
	}
	defer delete(testCommands, "block")
	var se bytes.Buffer
	go func() { <-ready; cancel() }()
	if code := run(ctx, strings.NewReader(""), io.Discard, &se, []string{"block"}); code != 130 {
		t.Fatalf("exit %d, want 130", code)
	}
	if se.String() != "evalnll: interrupted\n" {
		t.Errorf("stderr %q", se.String())
	}
	select {
	case <-cleaned:
	default:
		t.Error("the cleanup did not run")
	}

	ctx, cancel = context.WithCancel(context.Background())
	release := make(chan bool)
	testCommands["commit"] = func(e *env, _ []string) (int, error) {
		if !e.beginCommit() {
			return 0, errors.New("could not commit")
		}
		cancel()
		<-release
		return 7, nil
	}
	defer delete(testCommands, "commit")
	go func() { <-ctx.Done(); close(release) }()
	if code := run(ctx, strings.NewReader(""), io.Discard, io.Discard, []string{"commit"}); code != 7 {
		t.Fatalf("a committing command was not waited for: exit %d", code)
	}
}

// TestManyFilesFewDescriptors: inputs are opened as they are read, so a
// folder of more files than the descriptor limit allows is evaluated.
func TestManyFilesFewDescriptors(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	one := filepath.Join(dir, "one.parquet")
	bigInput(t, one, 10)
	data, _ := os.ReadFile(one)
	os.Remove(one)
	const n = 300
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "part-"+strconv.Itoa(1000+i)+".parquet"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", `ulimit -n 64 && exec "$0" "$@"`, binary(t),
		"eval", "--label", "y", "--prob", "p", "--json", "-", "--workers", "2", dir)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, se.String())
	}
	if !strings.Contains(so.String(), `"rows": 3000`) {
		t.Errorf("report does not count 3000 rows: %.300s", so.String())
	}
}

// TestStdinErrorsNameDash: errors about standard input name "-", never a
// spool file.
func TestStdinErrorsNameDash(t *testing.T) {
	var bad bytes.Buffer
	sw := newStreamWriter(t, &bad, true)
	sw.badRow = 2
	sw.batch(3)
	sw.w.Close()
	// The multiclass list is spooled; a multilabel kind is refused on the
	// stream's schema (an integer label is no list of 0/1). A binary kind
	// would take the 2-element lists as predict_proba pairs.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--label", "y", "--prob", "probs", "--kind", "multilabel", "-"}, "evalnll: -: "},
		{[]string{"eval", "--label", "y", "--prob", "probs", "-"}, `evalnll: -:2: column "y"`},
	} {
		var so, se bytes.Buffer
		code := run(context.Background(), bytes.NewReader(bad.Bytes()), &so, &se, c.args)
		if code != 2 {
			t.Fatalf("%v: exit %d (%s)", c.args, code, se.String())
		}
		oneLineErr(t, se.String(), c.want)
		if strings.Contains(se.String(), "evalnll-stdin") {
			t.Errorf("the spool file is named: %s", se.String())
		}
	}
}

// TestStdinReadTwice: a multiclass stream on standard input whose lists
// change length makes the workers adopt different class counts, and the
// run is made again with the first list's count (pipeline.Run): the spool
// is read a second time, and the report is the one a file gives.
func TestStdinReadTwice(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "y", Type: arrow.PrimitiveTypes.Int64}, {Name: "probs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for i := 0; i < 2048; i++ {
		b.Field(0).(*array.Int64Builder).Append(0)
		lb := b.Field(1).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Float64Builder)
		if i < 512 {
			vb.AppendValues([]float64{0.2, 0.3, 0.5}, nil)
		} else {
			vb.AppendValues([]float64{0.5, 0.5}, nil)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var stream bytes.Buffer
	w := ipc.NewWriter(&stream, ipc.WithSchema(s))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	file := filepath.Join(t.TempDir(), "lists.arrows")
	os.WriteFile(file, stream.Bytes(), 0o644)
	// No bootstrap: its buckets are keyed by the input's name ("-" here).
	args := []string{"eval", "--label", "y", "--prob", "probs", "--on-invalid", "skip", "--workers", "2", "--bootstrap", "0", "--json", "-"}
	var want, got, se bytes.Buffer
	if code := run(context.Background(), strings.NewReader(""), &want, &se, append(args, file)); code != 0 {
		t.Fatalf("file: exit %d: %s", code, se.String())
	}
	if code := run(context.Background(), bytes.NewReader(stream.Bytes()), &got, &se, append(args, "-")); code != 0 {
		t.Fatalf("stdin: exit %d: %s", code, se.String())
	}
	if !strings.Contains(want.String(), `"length": 1536`) {
		t.Fatalf("the file's report does not skip 1536 rows as length: %.400s", want.String())
	}
	norm := func(s string) string { return strings.ReplaceAll(s, file, "-") }
	if norm(want.String()) != got.String() {
		t.Errorf("stdin report differs from the file's:\n%s", firstDiff(norm(want.String()), got.String()))
	}
}

// TestInspectStdinStreams: inspect reads standard input as a stream and
// keeps no copy of it: a stream larger than the spool limit is fine.
func TestInspectStdinStreams(t *testing.T) {
	var stream bytes.Buffer
	sw := newStreamWriter(t, &stream, false)
	for range 40 {
		sw.batch(8192)
	}
	sw.w.Close()
	defer func(n int64) { inspectMaxStdin = n }(inspectMaxStdin)
	inspectMaxStdin = 1 << 20
	var so, se bytes.Buffer
	if code := run(context.Background(), bytes.NewReader(stream.Bytes()), &so, &se, []string{"inspect", "-"}); code != 0 {
		t.Fatalf("inspect - of %d bytes, limit 1 MiB: exit %d: %s", stream.Len(), code, se.String())
	}
	if !strings.Contains(so.String(), "rows    327680") {
		t.Errorf("inspect output: %s", so.String())
	}
}
