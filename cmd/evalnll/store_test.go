package main

// Object storage inputs and outputs end to end, against an in-process S3
// server on loopback (package store/storetest).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evalnll/evalnll/store/storetest"
)

// s3Name matches how messages show an s3:// URL of the test server: the key,
// then the shown query parameters (percent-encoded: no colon or space).
var s3Name = regexp.MustCompile(`s3://bucket/([^?\s:"]*)(\?[^\s:"]*)?`)

// pathsFree is a report with the inputs' paths left out (their formats and
// row counts kept).
func pathsFree(t *testing.T, rep []byte) string {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(rep, &doc); err != nil {
		t.Fatal(err)
	}
	var ins []map[string]json.RawMessage
	if err := json.Unmarshal(doc["inputs"], &ins); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		delete(in, "path")
	}
	doc["inputs"], _ = json.Marshal(ins)
	b, _ := json.Marshal(doc)
	return string(b)
}

// TestGoldenS3 runs every golden case that reads files with its inputs
// (and baseline) read from S3 instead, and wants the same exit status, the
// same report but for the inputs' paths, and the same message with the
// URLs in place of the paths.
func TestGoldenS3(t *testing.T) {
	s := storetest.StartS3(t)
	root := filepath.Join("..", "..", "testdata", "golden")
	n := 0
	for _, dir := range goldenDirs(t) {
		name := filepath.Base(dir)
		c := loadCase(t, dir)
		if c.Stdin != "" || len(c.Inputs) == 0 || containsDash(c.Inputs) {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			// Upload what the case reads, under the key CASE/PATH.
			upload := func(rel string) {
				p := filepath.Join(dir, rel)
				filepath.WalkDir(p, func(f string, d os.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					r, _ := filepath.Rel(root, f)
					s.Put(t, filepath.ToSlash(r), data)
					return nil
				})
			}
			sc := *c
			sc.Inputs = nil
			for _, in := range c.Inputs {
				upload(in)
				u := name + "/" + filepath.ToSlash(in)
				if st, err := os.Stat(filepath.Join(dir, in)); err == nil && st.IsDir() {
					u += "/"
				}
				sc.Inputs = append(sc.Inputs, s.URL(u))
			}
			sc.Args = append([]string(nil), c.Args...)
			for i := 0; i < len(sc.Args)-1; i++ {
				if sc.Args[i] == "--baseline" {
					upload(sc.Args[i+1])
					sc.Args[i+1] = s.URL(name + "/" + sc.Args[i+1])
				}
			}
			code, stderr, rep := runCase(t, dir, c, nil, false)
			scode, sstderr, srep := runCaseURLs(t, dir, &sc)
			if scode != code {
				t.Fatalf("exit %d from S3, %d from disk; stderr %q", scode, code, sstderr)
			}
			norm := s3Name.ReplaceAllStringFunc(sstderr, func(m string) string {
				key := s3Name.FindStringSubmatch(m)[1]
				return filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(key, "/")))
			})
			if norm != stderr {
				t.Errorf("stderr from S3 %q\n(as paths %q)\nfrom disk %q", sstderr, norm, stderr)
			}
			if (rep == nil) != (srep == nil) {
				t.Fatalf("report from disk: %v, from S3: %v", rep != nil, srep != nil)
			}
			if rep != nil && pathsFree(t, rep) != pathsFree(t, srep) {
				t.Errorf("reports differ:\nS3   %s\ndisk %s", pathsFree(t, srep), pathsFree(t, rep))
			}
		})
	}
	if n < 50 {
		t.Fatalf("only %d golden cases read files", n)
	}
}

func containsDash(s []string) bool {
	for _, x := range s {
		if x == "-" {
			return true
		}
	}
	return false
}

// runCaseURLs is runCase for inputs and a baseline that are URLs.
func runCaseURLs(t *testing.T, dir string, c *goldenCase) (int, string, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	args := append([]string{"eval"}, c.Args...)
	args = append(args, "--json", out)
	args = append(args, c.Inputs...)
	stdin, _ := os.Open(os.DevNull)
	defer stdin.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), stdin, &stdout, &stderr, args)
	rep, err := os.ReadFile(out)
	if err != nil {
		rep = nil
	}
	return code, stderr.String(), rep
}

func runArgs(args ...string) (int, string, string) {
	stdin, _ := os.Open(os.DevNull)
	defer stdin.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), stdin, &stdout, &stderr, args)
	return code, stdout.String(), stderr.String()
}

// TestS3Outputs writes every output format to S3 and compares the objects
// with the same outputs written to disk; a failed upload leaves no output.
func TestS3Outputs(t *testing.T) {
	s := storetest.StartS3(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "binary_prob_basic", "preds.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	s.Put(t, "in/preds.parquet", data)
	in := s.URL("in/preds.parquet")
	tmp := t.TempDir()
	code, _, stderr := runArgs("eval", "--quiet", "--json", filepath.Join(tmp, "r.json"), "--md", filepath.Join(tmp, "r.md"), "--svg", filepath.Join(tmp, "r.svg"), "-o", filepath.Join(tmp, "r.png"), in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n0 := s.Faults.Requests()
	code, _, stderr = runArgs("eval", "--quiet", "--json", s.URL("out/r.json"), "--md", s.URL("out/r.md"), "--svg", s.URL("out/r.svg"), "-o", s.URL("out/r.png"), "-o", filepath.Join(tmp, "local.json"), in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Logf("%d requests", s.Faults.Requests()-n0)
	for _, f := range []string{"r.json", "r.md", "r.svg", "r.png"} {
		want, _ := os.ReadFile(filepath.Join(tmp, f))
		obj, err := s.Backend.GetObject("bucket", "out/"+f, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var got bytes.Buffer
		got.ReadFrom(obj.Contents)
		obj.Contents.Close()
		if f == "r.json" {
			if pathsFree(t, got.Bytes()) != pathsFree(t, want) {
				t.Errorf("%s differs", f)
			}
			continue
		}
		if f == "r.md" {
			// The diagram link, and the input's name.
			if !strings.Contains(got.String(), "](r.svg)") {
				t.Errorf("r.md does not link r.svg:\n%s", got.String())
			}
			continue
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from the file written", f)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "local.json")); err != nil {
		t.Error("local output beside URL outputs not written")
	}

	// An upload that fails (no such bucket): exit 2, nothing left.
	bad := strings.Replace(s.URL("x/r.json"), "s3://bucket/", "s3://nobucket/", 1)
	local := filepath.Join(tmp, "never.json")
	code, _, stderr = runArgs("eval", "--quiet", "--md", s.URL("x/r.md"), "--json", bad, "-o", local, in)
	if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "s3://nobucket/x/r.json") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(local); err == nil {
		t.Error("local output written after a failed upload")
	}
	if _, err := s.Backend.HeadObject("bucket", "x/r.md"); err == nil {
		t.Error("the upload that succeeded was not removed")
	}
}

// TestS3Errors: a missing object, and reads refused with 403 once the run
// has opened its inputs, exit 2 at once with one line naming the URL
// without secret parameters; no report is written.
func TestS3Errors(t *testing.T) {
	s := storetest.StartS3(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "binary_prob_basic", "preds.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	s.Put(t, "in/preds.parquet", data)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "r.json")
	secret := "&kmskeyid=TOPSECRET"

	code, _, stderr := runArgs("eval", "--quiet", "--json", out, s.URL("in/missing.parquet")+secret)
	if code != 2 || !strings.Contains(stderr, "s3://bucket/in/missing.parquet?endpoint=") || strings.Contains(stderr, "TOPSECRET") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("missing object: exit %d, stderr %q", code, stderr)
	}

	// The object opens (HEAD), then its reads are refused.
	s.Faults.Set(storetest.Forbidden, 1)
	code, _, stderr = runArgs("eval", "--quiet", "--json", out, s.URL("in/preds.parquet")+secret)
	s.Faults.Set(storetest.None, 0)
	if code != 2 || !strings.Contains(stderr, "HTTP 403") || !strings.Contains(stderr, "s3://bucket/in/preds.parquet?endpoint=") || strings.Contains(stderr, "TOPSECRET") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("403: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("report written")
	}

	// --baseline and compare from URLs.
	code, _, stderr = runArgs("eval", "--quiet", "--label", "y", "--prob", "p", "--json", out, s.URL("in/preds.parquet"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep, _ := os.ReadFile(out)
	s.Put(t, "base.json", rep)
	code, _, stderr = runArgs("eval", "--quiet", "--baseline", s.URL("base.json"), "--max-increase", "nll=0", s.URL("in/preds.parquet"))
	if code != 0 {
		t.Fatalf("--baseline URL: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runArgs("compare", s.URL("base.json"), out)
	if code != 0 || !strings.Contains(stdout, "nll") {
		t.Fatalf("compare URL: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runArgs("inspect", s.URL("in/"))
	if code != 0 || !strings.Contains(stdout, "s3://bucket/in/preds.parquet") || !strings.Contains(stdout, "parquet") {
		t.Fatalf("inspect URL: exit %d: %s%s", code, stdout, stderr)
	}
}

// TestS3ShardMerge: eval --shard i/N --state s3://… over inputs in S3 for N
// shards, then merge with a glob of the state URLs, gives the byte-identical
// report of one eval over the same URLs; merge --state to a URL merges
// again; a state's errors name its URL without secret parameters.
func TestS3ShardMerge(t *testing.T) {
	s := storetest.StartS3(t)
	r := rand.New(rand.NewPCG(23, 1))
	k := shardKinds[0]
	dir := writeShardInputs(t, k, r)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		s.Put(t, "in/"+e.Name(), mustRead(t, filepath.Join(dir, e.Name())))
	}
	in := s.URL("in/")
	args := append([]string{"--quiet", "--label", "y", "--id", "id", "--by", "g", "--bootstrap", "50", "--worst", "5"}, k.args...)
	tmp := t.TempDir()
	want := filepath.Join(tmp, "want.json")
	if code, _, stderr := runArgs(append(append([]string{"eval", "--json", want}, args...), in)...); code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	const n = 4
	for i := range n {
		st := s.URL(fmt.Sprintf("states/part-%d.evst", i))
		if code, _, stderr := runArgs(append(append([]string{"eval", "--shard", fmt.Sprintf("%d/%d", i, n), "--state", st}, args...), in)...); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
	}
	got := filepath.Join(tmp, "got.json")
	if code, _, stderr := runArgs("merge", "--json", got, s.URL("states/part-*.evst")); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if !bytes.Equal(mustRead(t, got), mustRead(t, want)) {
		t.Fatalf("merged report differs from eval's:\n%s\n%s", mustRead(t, got), mustRead(t, want))
	}
	// A tree of merges: two halves merged to URLs, then those.
	for h, pat := range []string{"states/part-[01].evst", "states/part-[23].evst"} {
		if code, _, stderr := runArgs("merge", "--state", s.URL(fmt.Sprintf("halves/h%d.evst", h)), s.URL(pat)); code != 0 {
			t.Fatalf("merge half %d: exit %d: %s", h, code, stderr)
		}
	}
	got2 := filepath.Join(tmp, "got2.json")
	if code, _, stderr := runArgs("merge", "--json", got2, s.URL("halves/h0.evst"), s.URL("halves/h1.evst")); code != 0 {
		t.Fatalf("merge of merges: exit %d: %s", code, stderr)
	}
	if !bytes.Equal(mustRead(t, got2), mustRead(t, want)) {
		t.Fatal("merge of merges differs from eval's report")
	}

	// --baseline from a URL, as eval takes it.
	s.Put(t, "base.json", mustRead(t, want))
	if code, _, stderr := runArgs("merge", "--baseline", s.URL("base.json"), "--max-increase", "nll=0", s.URL("states/part-*.evst")); code != 0 {
		t.Fatalf("merge --baseline URL: exit %d: %s", code, stderr)
	}

	secret := "&kmskeyid=TOPSECRET"
	oneLine := func(what string, code int, stderr string, wants ...string) {
		t.Helper()
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "TOPSECRET") {
			t.Fatalf("%s: exit %d, stderr %q", what, code, stderr)
		}
		for _, w := range wants {
			if !strings.Contains(stderr, w) {
				t.Fatalf("%s: stderr %q lacks %q", what, stderr, w)
			}
		}
	}
	// A shard missing, named as on disk.
	code, _, stderr := runArgs("merge", "--json", got, s.URL("states/part-[012].evst")+secret)
	oneLine("shard missing", code, stderr, "missing")
	// The same shard twice: both URLs named.
	code, _, stderr = runArgs("merge", "--json", got, s.URL("states/part-0.evst")+secret, s.URL("halves/h0.evst")+secret, s.URL("halves/h1.evst"))
	oneLine("same shard twice", code, stderr, "s3://bucket/halves/h0.evst?endpoint=", "s3://bucket/states/part-0.evst?endpoint=")
	// Not a state; a missing object; a glob matching nothing; a prefix.
	code, _, stderr = runArgs("merge", "--json", got, s.URL("in/part-0.parquet")+secret)
	oneLine("not a state", code, stderr, "s3://bucket/in/part-0.parquet?endpoint=", "not")
	code, _, stderr = runArgs("merge", "--json", got, s.URL("states/nope.evst")+secret)
	oneLine("missing", code, stderr, "s3://bucket/states/nope.evst?endpoint=", "404")
	code, _, stderr = runArgs("merge", "--json", got, s.URL("states/x-*.evst")+secret)
	oneLine("no match", code, stderr, "s3://bucket/states/x-*.evst", "no object matches")
	code, _, stderr = runArgs("merge", "--json", got, s.URL("states/")+secret)
	oneLine("prefix", code, stderr, "s3://bucket/states/?endpoint=", "prefix")
	// --state over a state the glob matched: refused, nothing written.
	before := mustGet(t, s, "states/part-1.evst")
	code, _, stderr = runArgs("merge", "--state", s.URL("states/part-1.evst")+secret, s.URL("states/part-[01].evst")+secret)
	oneLine("--state over a STATE", code, stderr, "states/part-1.evst")
	if !bytes.Equal(mustGet(t, s, "states/part-1.evst"), before) {
		t.Error("the state was overwritten")
	}
}

func mustGet(t *testing.T, s *storetest.S3, key string) []byte {
	t.Helper()
	obj, err := s.Backend.GetObject(s.Bucket, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Contents.Close()
	var b bytes.Buffer
	b.ReadFrom(obj.Contents)
	return b.Bytes()
}

// TestS3ListOnce: eval lists a prefix once, and its report (its inputs
// array included) does not depend on the order the store lists keys in;
// inspect lists it once too.
func TestS3ListOnce(t *testing.T) {
	s := storetest.StartS3(t)
	r := rand.New(rand.NewPCG(24, 1))
	k := shardKinds[0]
	for _, sub := range []string{"b/", "a/", "c/x/"} {
		dir := writeShardInputs(t, k, r)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			s.Put(t, "in/"+sub+e.Name(), mustRead(t, filepath.Join(dir, e.Name())))
		}
	}
	tmp := t.TempDir()
	var reps [2][]byte
	for i, reverse := range []bool{false, true} {
		s.Faults.ReverseLists = reverse
		out := filepath.Join(tmp, fmt.Sprintf("r%d.json", i))
		n0 := s.Faults.Lists()
		code, _, stderr := runArgs(append(append([]string{"eval", "--quiet", "--label", "y", "--id", "id", "--bootstrap", "20", "--json", out}, k.args...), s.URL("in/"))...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if n := s.Faults.Lists() - n0; n != 1 {
			t.Errorf("reverse=%v: the prefix was listed %d times", reverse, n)
		}
		reps[i] = mustRead(t, out)
	}
	if !bytes.Equal(reps[0], reps[1]) {
		t.Fatalf("the report depends on the listing order:\n%s\n%s", reps[0], reps[1])
	}
	var doc struct{ Inputs []struct{ Path string } }
	if err := json.Unmarshal(reps[0], &doc); err != nil || len(doc.Inputs) < 3 || !strings.Contains(doc.Inputs[0].Path, "s3://bucket/in/a/") {
		t.Fatalf("inputs %+v (%v)", doc.Inputs, err)
	}
	n0 := s.Faults.Lists()
	code, stdout, stderr := runArgs("inspect", s.URL("in/"))
	if code != 0 || s.Faults.Lists()-n0 != 1 || strings.Index(stdout, "in/a/") > strings.Index(stdout, "in/b/") {
		t.Fatalf("inspect: exit %d, %d listings: %s%s", code, s.Faults.Lists()-n0, stdout, stderr)
	}
}
