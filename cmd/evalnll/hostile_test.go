package main

// Tests of issue 18: outputs never over inputs, outputs all or nothing,
// no hangs, no leftovers, names escaped.

import (
	"bytes"
	"context"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// runIn runs the CLI in-process with empty standard input.
func runIn(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var so, se bytes.Buffer
	code = run(context.Background(), strings.NewReader(""), &so, &se, args)
	return code, so.String(), se.String()
}

// smallInput writes a valid 200-row Parquet input and returns its path.
func smallInput(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "in.parquet")
	bigInput(t, p, 200)
	return p
}

// oneLineErr checks that stderr is one line naming want.
func oneLineErr(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "evalnll: ") {
		t.Errorf("stderr is not one evalnll line: %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not say %q", stderr, w)
		}
	}
}

func TestOutputNeverOverInput(t *testing.T) {
	dir := t.TempDir()
	in := smallInput(t, dir)
	orig, _ := os.ReadFile(in)
	if err := os.Symlink(in, filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(in, filepath.Join(dir, "hard.md")); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base.json")
	if c, _, se := runIn(t, "eval", "--label", "y", "--prob", "p", "--json", base, in); c != 0 {
		t.Fatalf("baseline: exit %d: %s", c, se)
	}
	baseData, _ := os.ReadFile(base)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	ev := []string{"eval", "--label", "y", "--prob", "p"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"json over input", append(ev, "--json", in, in), "--json"},
		{"cpuprofile over input", append(ev, "--cpuprofile", in, in), "--cpuprofile"},
		{"memprofile over input", append(ev, "--memprofile", in, in), "--memprofile"},
		{"state over input", append(ev, "--state", in, in), "--state"},
		{"file URL over input", append(ev, "--json", "file://"+filepath.Join(sub, "..", "in.parquet"), in), "the input"},
		{"file URL input", append(ev, "--md", in, "file://"+in), "the input"},
		{"sharded state over input", append(ev, "--shard", "0/2", "--state", filepath.Join(dir, "hard.md"), in), "--state"},
		{"state and json one file", append(ev, "--state", filepath.Join(dir, "r.json"), "--json", filepath.Join(dir, "r.json"), in), "same file"},
		{"symlink to input", append(ev, "--json", filepath.Join(dir, "link.json"), in), "the input"},
		{"hard link to input", append(ev, "--md", filepath.Join(dir, "hard.md"), in), "the input"},
		{"relative spelling", append(ev, "--json", filepath.Join(sub, "..", "in.parquet"), dir), "the input"},
		{"over the baseline", append(ev, "--baseline", base, "--max-increase", "nll=1", "--json", base, in), "--baseline"},
		{"two outputs one file", append(ev, "--json", filepath.Join(dir, "r.json"), "-o", filepath.Join(sub, "..", "r.json"), in), "same file"},
		{"two outputs on stdout", append(ev, "--json", "-", "--md", "-", in), "standard output"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, se := runIn(t, c.args...)
			if c.want == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, se)
				}
				return
			}
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, se)
			}
			oneLineErr(t, se, c.want)
			if got, _ := os.ReadFile(in); !bytes.Equal(got, orig) {
				t.Fatal("the input was changed")
			}
			if got, _ := os.ReadFile(base); !bytes.Equal(got, baseData) {
				t.Fatal("the baseline was changed")
			}
			if _, err := os.Stat(filepath.Join(dir, "r.json")); err == nil {
				t.Fatal("an output was written")
			}
		})
	}
	// merge: no output over a state it reads or over its baseline.
	st := filepath.Join(dir, "s.evst")
	if c, _, se := runIn(t, append(ev, "--shard", "0/1", "--state", st, in)...); c != 0 {
		t.Fatalf("eval --state: exit %d: %s", c, se)
	}
	stData, _ := os.ReadFile(st)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"merge", "--state", st, st}, "never replaces"},
		{[]string{"merge", "--json", filepath.Join(sub, "..", "s.evst"), st}, "never replaces"},
		{[]string{"merge", "--md", base, "--baseline", base, "--max-increase", "nll=1", st}, "never replaces"},
		{[]string{"merge", "--state", filepath.Join(dir, "r.json"), "-o", filepath.Join(dir, "r.json"), st}, "same file"},
	} {
		args := c.args
		code, so, se := runIn(t, args...)
		if code != 2 || so != "" {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, so, se)
		}
		oneLineErr(t, se, c.want)
		if got, _ := os.ReadFile(st); !bytes.Equal(got, stData) {
			t.Fatalf("%v changed the state", args)
		}
		if got, _ := os.ReadFile(base); !bytes.Equal(got, baseData) {
			t.Fatalf("%v changed the baseline", args)
		}
	}
	// compare --md over one of its reports.
	for _, md := range []string{base, filepath.Join(sub, "..", "base.json")} {
		code, so, se := runIn(t, "compare", "--md", md, base, base)
		if code != 2 || so != "" {
			t.Fatalf("compare --md BASE: exit %d, stdout %q", code, so)
		}
		oneLineErr(t, se, "--md")
		if got, _ := os.ReadFile(base); !bytes.Equal(got, baseData) {
			t.Fatal("compare changed the base report")
		}
	}
}

// TestOutputsAllOrNothing: when one output cannot be written, none is: an
// output that fails while staged (its folder is missing) and one that
// fails when committed (/dev/full: no space left) both leave the other
// outputs as they were.
func TestOutputsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	in := smallInput(t, dir)
	a := filepath.Join(dir, "a.json")
	svg := filepath.Join(dir, "a.svg")
	for _, second := range []string{filepath.Join(dir, "missing", "r.md"), "/dev/full"} {
		os.WriteFile(a, []byte("OLD\n"), 0o600)
		os.Remove(svg)
		code, so, se := runIn(t, "eval", "--label", "y", "--prob", "p", "--json", a, "--svg", svg, "--md", second, in)
		if code != 2 {
			t.Fatalf("--md %s: exit %d, want 2 (%s)", second, code, se)
		}
		oneLineErr(t, se, second)
		if so != "" {
			t.Errorf("stdout: %q", so)
		}
		if got, _ := os.ReadFile(a); string(got) != "OLD\n" {
			t.Errorf("--md %s: a.json was replaced", second)
		}
		if st, _ := os.Stat(a); st.Mode().Perm() != 0o600 {
			t.Errorf("a.json mode %v", st.Mode())
		}
		if _, err := os.Stat(svg); err == nil {
			t.Errorf("--md %s: a.svg was written", second)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
	// compare: the text and the markdown go out together.
	base := filepath.Join(dir, "base.json")
	if c, _, se := runIn(t, "eval", "--label", "y", "--prob", "p", "--json", base, in); c != 0 {
		t.Fatal(se)
	}
	code, so, _ := runIn(t, "compare", "--md", filepath.Join(dir, "missing", "s.md"), base, base)
	if code != 2 || so != "" {
		t.Errorf("compare with an unwritable --md: exit %d, stdout %q", code, so)
	}
}

// writeExtraValuePage writes a Parquet file whose string column s has a
// PLAIN page holding one value more than its header says (the first
// value's length set to 0 makes its bytes, which look like a value, a
// second one), with a correct checksum: parquet-go reads it and prints
// "parquet: warning: column 2 byte array page has 42 offsets ..." to
// descriptor 2 with the runtime's println. badRow (from 1; 0 none) gets
// the invalid label 7.
func writeExtraValuePage(t *testing.T, path string, badRow int) {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[slicedRow](&buf, parquet.DataPageVersion(1))
	var rows []slicedRow
	for i := 0; i < 40; i++ {
		y := int64(i % 2)
		if i+1 == badRow {
			y = 7
		}
		rows = append(rows, slicedRow{y, 0.5, "\x03\x00\x00\x00abc"})
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	off := f.Metadata().RowGroups[0].Columns[2].MetaData.DataPageOffset
	var proto thrift.CompactProtocol
	rd := bytes.NewReader(data[off:])
	var h format.PageHeader
	if err := thrift.NewDecoder(proto.NewReader(rd)).Decode(&h); err != nil {
		t.Fatal(err)
	}
	hlen := int64(len(data[off:]) - rd.Len())
	body := data[off+hlen : off+hlen+int64(h.CompressedPageSize)]
	i := bytes.Index(body, []byte("\x07\x00\x00\x00\x03\x00\x00\x00abc"))
	if i < 0 {
		t.Fatal("value not found in the page")
	}
	body[i] = 0
	h.CRC = int32(crc32.ChecksumIEEE(body))
	enc, err := thrift.Marshal(&proto, &h)
	if err != nil || int64(len(enc)) != hlen {
		t.Fatalf("page header re-encoded to %d bytes (was %d): %v", len(enc), hlen, err)
	}
	copy(data[off:], enc)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParquetWarningsSilenced: parquet-go's println warnings do not reach
// stderr: a run that succeeds prints nothing there, one that fails prints
// evalnll's one line.
func TestParquetWarningsSilenced(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.parquet"), filepath.Join(dir, "bad.parquet")
	writeExtraValuePage(t, good, 0)
	writeExtraValuePage(t, bad, 30)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"inspect", good}, 0},
		{[]string{"eval", "--label", "y", "--prob", "p", "--by", "s", good}, 0},
		{[]string{"eval", "--label", "y", "--prob", "p", "--by", "s", "--kind", "binary", bad}, 2},
	} {
		cmd := exec.Command(bin, c.args...)
		var se bytes.Buffer
		cmd.Stderr = &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code {
			t.Fatalf("%v: exit %d, want %d (%s)", c.args, code, c.code, se.String())
		}
		if c.code == 0 && se.Len() != 0 {
			t.Errorf("%v: stderr %q, want nothing", c.args, se.String())
		}
		if c.code == 2 {
			oneLineErr(t, se.String(), bad+":30:")
		}
	}
}

func TestKeyOfURLs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"s3://b/k/x.parquet", "s3://b/k/x.parquet?endpoint=http://127.0.0.1:9000", true},
		{"s3://b/k/x.parquet", "s3://b/k/./x.parquet", true},
		{"s3://B/k/x.parquet", "s3://b/k/x.parquet", true},
		{"s3://b/k/x.parquet", "gs://b/k/x.parquet", false},
		{"s3://b/k/x.parquet", "s3://c/k/x.parquet", false},
		{"s3://b/k/x.json", "s3://b/k/x.parquet", false},
		{"file:///tmp/x/../y.json", "/tmp/y.json", true},
	} {
		ka, _ := keyOf(c.a)
		kb, _ := keyOf(c.b)
		if (ka == kb) != c.same {
			t.Errorf("keyOf(%q) == keyOf(%q): %v, want %v (%v, %v)", c.a, c.b, ka == kb, c.same, ka, kb)
		}
	}
}

// TestS3NoCredentials: without credentials an s3:// input fails at once
// (not after the retry budget) with one line saying where credentials come
// from, and the AWS SDK's own log lines (its IMDSv1 fallback warning) do
// not reach the terminal.
func TestS3NoCredentials(t *testing.T) {
	bin := binary(t)
	// An instance-metadata endpoint that refuses the token (403, which
	// makes the SDK warn and fall back to IMDSv1) and knows no role.
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
	}))
	defer imds.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "eval", "s3://bkt/preds.parquet?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1")
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds.URL,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"), "AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_WEB_IDENTITY_TOKEN_FILE=",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=")
	var se bytes.Buffer
	cmd.Stderr = &se
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2 (%s)", err, se.String())
	}
	oneLineErr(t, se.String(), "s3://bkt/preds.parquet", "no credentials found", "AWS_ACCESS_KEY_ID")
	if strings.Contains(se.String(), "gave up after") {
		t.Errorf("a missing credential was retried: %s", se.String())
	}
}
