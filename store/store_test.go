package store_test

import (
	"bytes"
	"context"
	"errors"
	"gocloud.dev/blob"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evalnll/evalnll/store"
	"github.com/evalnll/evalnll/store/storetest"
)

func testClient() *store.Client {
	return store.NewClient(store.Options{RetryTime: 20 * time.Second, ReadTimeout: 500 * time.Millisecond, BlockSize: 64 << 10, CacheBytes: 1 << 20, ReadAhead: 2})
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readPattern reads data through ra the way the table readers do: a
// footer, then sequential runs of small reads in two interleaved columns,
// then large reads, from several goroutines; it checks every byte.
func readPattern(t *testing.T, ra io.ReaderAt, data []byte) {
	t.Helper()
	size := int64(len(data))
	check := func(off int64, n int) error {
		p := make([]byte, n)
		k, err := ra.ReadAt(p, off)
		want := data[off:min(size, off+int64(n))]
		if off+int64(n) > size {
			if err != io.EOF {
				return errors.New("no EOF at the end")
			}
		} else if err != nil {
			return err
		}
		if !bytes.Equal(p[:k], want) {
			return errors.New("bytes differ")
		}
		return nil
	}
	if err := check(size-8, 8); err != nil {
		t.Fatalf("footer: %v", err)
	}
	if err := check(size-100, 200); err != nil {
		t.Fatalf("past the end: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := int64(w)*size/8, size/2+int64(w)*size/8
			for i := 0; i < 40; i++ {
				n := 5000 + i*37
				if a+int64(n) > size {
					a = 0
				}
				if b+int64(n) > size {
					b = size / 3
				}
				if err := check(a, n); err != nil {
					errs <- err
					return
				}
				if err := check(b, n/2); err != nil {
					errs <- err
					return
				}
				a += int64(n)
				b += int64(n / 2)
			}
			if err := check(int64(w)*1000, 200<<10); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestS3ReadAt(t *testing.T) {
	s := storetest.StartS3(t)
	data := randomBytes(1<<20+123, 1)
	s.Put(t, "dir/obj.bin", data)
	c := testClient()
	defer c.Close()
	o, err := c.Open(context.Background(), s.URL("dir/obj.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != int64(len(data)) {
		t.Fatalf("size %d", o.Size())
	}
	readPattern(t, o, data)
	req, got, _ := c.Snapshot()
	// Block-sized fetches: far fewer requests than reads, and not much
	// more than the bytes asked for.
	if req > 120 || got > 3*int64(len(data)) {
		t.Errorf("%d requests, %d bytes for a %d-byte object", req, got, len(data))
	}
	if strings.Contains(o.Name(), "secret") || !strings.HasPrefix(o.Name(), "s3://bucket/dir/obj.bin?endpoint=") {
		t.Errorf("name %q", o.Name())
	}
}

func TestS3ExpandPutReadAll(t *testing.T) {
	s := storetest.StartS3(t)
	for _, k := range []string{"p/a.parquet", "p/sub/b.arrow", "p/c.txt", "p/.hidden/d.parquet", "p/.e.parquet", "p/x/part-1.parquet", "p/y/part-2.parquet", "p/y/other.parquet", "q.parquet"} {
		s.Put(t, k, []byte("x"))
	}
	c := testClient()
	defer c.Close()
	ctx := context.Background()
	exts := map[string]bool{".parquet": true, ".arrow": true}
	strip := func(us []string) []string {
		var out []string
		for _, u := range us {
			out = append(out, strings.TrimPrefix(strings.Split(u, "?")[0], "s3://bucket/"))
		}
		return out
	}
	for _, tc := range []struct {
		key  string
		want []string
	}{
		{"p/", []string{"p/a.parquet", "p/sub/b.arrow", "p/x/part-1.parquet", "p/y/other.parquet", "p/y/part-2.parquet"}},
		{"p", []string{"p/a.parquet", "p/sub/b.arrow", "p/x/part-1.parquet", "p/y/other.parquet", "p/y/part-2.parquet"}},
		{"q.parquet", []string{"q.parquet"}},
		{"p/c.txt", []string{"p/c.txt"}}, // an object named is read whatever its name
		{"p/*/part-*.parquet", []string{"p/x/part-1.parquet", "p/y/part-2.parquet"}},
	} {
		got, err := c.Expand(ctx, s.URL(tc.key), exts)
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if !slices.Equal(strip(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.key, strip(got), tc.want)
		}
	}
	// A store listing in another order: the same lists.
	s.Faults.ReverseLists = true
	for _, key := range []string{"p/", "p/*/part-*.parquet"} {
		got, err := c.Expand(ctx, s.URL(key), exts)
		if err != nil || !slices.IsSorted(got) || len(got) < 2 {
			t.Errorf("%s, listed in reverse: %v %v", key, strip(got), err)
		}
	}
	b, err := blob.OpenBucket(ctx, "s3://bucket?"+s.Query())
	if err != nil {
		t.Fatal(err)
	}
	first, err := b.List(&blob.ListOptions{Prefix: "p/"}).Next(ctx)
	b.Close()
	if err != nil || first.Key != "p/y/part-2.parquet" {
		t.Errorf("ReverseLists: first key listed %v (%v)", first, err)
	}
	s.Faults.ReverseLists = false
	for _, key := range []string{"nothing/", "p/*/none-*.parquet"} {
		if _, err := c.Expand(ctx, s.URL(key), exts); err == nil || !strings.Contains(err.Error(), "s3://bucket/") {
			t.Errorf("%s: err %v", key, err)
		}
	}
	if err := c.Put(ctx, s.URL("out/r.json"), []byte(`{"a":1}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadAll(ctx, s.URL("out/r.json"), 100)
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("ReadAll %q %v", got, err)
	}
	if _, err := c.ReadAll(ctx, s.URL("out/r.json"), 3); err == nil {
		t.Error("size limit not enforced")
	}
	if err := c.Delete(ctx, s.URL("out/r.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, s.URL("out/r.json")); kind(err) != store.Permanent {
		t.Errorf("deleted object: %v", err)
	}
}

func kind(err error) store.Kind {
	var se *store.Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return 255
}

// TestS3Faults injects each failure into the object reads of a loopback
// S3 server and checks the outcome: transient ones are retried and the
// bytes read are right; permanent ones fail at once naming the URL; an
// object replaced mid-read is ErrChanged.
func TestS3Faults(t *testing.T) {
	data := randomBytes(600<<10, 2)
	for _, tc := range []struct {
		name  string
		mode  storetest.Mode
		every int
	}{
		{"503 every 3rd", storetest.Status503, 3},
		{"503 every 2nd", storetest.Status503, 2},
		{"reset every 3rd", storetest.Reset, 3},
		{"truncated body every 2nd", storetest.Truncate, 2},
		{"stalled body every 4th", storetest.Stall, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := storetest.StartS3(t)
			s.Put(t, "obj", data)
			c := testClient()
			defer c.Close()
			o, err := c.Open(context.Background(), s.URL("obj"))
			if err != nil {
				t.Fatal(err)
			}
			s.Faults.Set(tc.mode, tc.every)
			readPattern(t, o, data)
			if s.Faults.Injected() == 0 {
				t.Error("the fault was not injected")
			}
			// net/http itself retries a GET whose reused connection is
			// reset before any response byte (Transport's
			// shouldRetryRequest), so a reset need not reach the client's
			// own retries; every other fault must.
			if _, _, retries := c.Snapshot(); retries == 0 && tc.mode != storetest.Reset {
				t.Error("no retry: the fault was not injected")
			}
		})
	}
	t.Run("503 always: gives up after RetryTime", func(t *testing.T) {
		s := storetest.StartS3(t)
		s.Put(t, "obj", data)
		c := store.NewClient(store.Options{RetryTime: 300 * time.Millisecond, BlockSize: 64 << 10})
		o, err := c.Open(context.Background(), s.URL("obj"))
		if err != nil {
			t.Fatal(err)
		}
		s.Faults.Set(storetest.Status503, 1)
		_, err = o.ReadAt(make([]byte, 10), 0)
		if kind(err) != store.Transient || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "gave up after") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("403", func(t *testing.T) {
		s := storetest.StartS3(t)
		s.Put(t, "obj", data)
		c := testClient()
		o, err := c.Open(context.Background(), s.URL("obj"))
		if err != nil {
			t.Fatal(err)
		}
		s.Faults.Set(storetest.Forbidden, 1)
		n0 := s.Faults.Requests()
		_, err = o.ReadAt(make([]byte, 10), 0)
		if kind(err) != store.Permanent || !strings.Contains(err.Error(), "HTTP 403") {
			t.Fatalf("err %v", err)
		}
		if n := s.Faults.Requests() - n0; n != 1 {
			t.Errorf("%d requests for a 403, want 1 (no retry)", n)
		}
		if strings.Count(err.Error(), "\n") > 0 || !strings.HasPrefix(err.Error(), "s3://bucket/obj?endpoint=") {
			t.Errorf("message %q", err)
		}
		s.Faults.Set(storetest.ForbiddenAll, 1)
		if _, err := c.Open(context.Background(), s.URL("obj")); kind(err) != store.Permanent {
			t.Errorf("open under 403: %v", err)
		}
	})
	t.Run("404 and no bucket", func(t *testing.T) {
		s := storetest.StartS3(t)
		c := testClient()
		for _, u := range []string{s.URL("missing"), strings.Replace(s.URL("k"), "s3://bucket/", "s3://nobucket/", 1)} {
			n0 := s.Faults.Requests()
			_, err := c.Open(context.Background(), u)
			if kind(err) != store.Permanent || !strings.Contains(err.Error(), "404") {
				t.Errorf("%s: %v", u, err)
			}
			if n := s.Faults.Requests() - n0; n != 1 {
				t.Errorf("%d requests for a 404, want 1", n)
			}
		}
	})
	t.Run("replaced mid-run", func(t *testing.T) {
		s := storetest.StartS3(t)
		s.Put(t, "obj", data)
		c := testClient()
		o, err := c.Open(context.Background(), s.URL("obj"))
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 1000)
		if _, err := o.ReadAt(p, 0); err != nil {
			t.Fatal(err)
		}
		other := randomBytes(len(data), 3) // same size: only the ETag tells
		s.Put(t, "obj", other)
		_, err = o.ReadAt(p, 300<<10)
		if !errors.Is(err, store.ErrChanged) || kind(err) != store.Changed {
			t.Fatalf("err %v", err)
		}
	})
}

func TestGCS(t *testing.T) {
	g := storetest.StartGCS(t)
	data := randomBytes(700<<10, 4)
	g.Put("d/obj.parquet", data)
	g.Put("d/e/x.arrow", []byte("x"))
	g.Put("d/y.txt", []byte("x"))
	c := testClient()
	defer c.Close()
	ctx := context.Background()
	got, err := c.Expand(ctx, "gs://bucket/d/", map[string]bool{".parquet": true, ".arrow": true})
	if err != nil || !slices.Equal(got, []string{"gs://bucket/d/e/x.arrow", "gs://bucket/d/obj.parquet"}) {
		t.Fatalf("Expand %v %v", got, err)
	}
	o, err := c.Open(ctx, "gs://bucket/d/obj.parquet")
	if err != nil {
		t.Fatal(err)
	}
	g.Faults.Set(storetest.Status503, 3)
	readPattern(t, o, data)
	if _, _, r := c.Snapshot(); r == 0 {
		t.Error("no retry")
	}
	g.Faults.Set(storetest.None, 0)
	o, err = c.Open(ctx, "gs://bucket/d/obj.parquet") // nothing of it cached
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatal(err)
	}
	g.Put("d/obj.parquet", randomBytes(len(data), 5))
	// A block-sized read goes to the server (smaller ones may be served
	// from blocks of the version opened, cached before the change).
	if _, err := o.ReadAt(make([]byte, 100<<10), 500<<10); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("replaced object: %v", err)
	}
	if err := c.Put(ctx, "gs://bucket/out/r.md", []byte("# r\n"), "text/markdown"); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadAll(ctx, "gs://bucket/out/r.md", 100); err != nil || string(b) != "# r\n" {
		t.Fatalf("ReadAll %q %v", b, err)
	}
	if _, err := c.Open(ctx, "gs://bucket/missing"); kind(err) != store.Permanent {
		t.Errorf("missing: %v", err)
	}
}

func TestFileURL(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(300<<10, 6)
	if err := os.WriteFile(filepath.Join(dir, "a.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := testClient()
	defer c.Close()
	ctx := context.Background()
	u := "file://" + filepath.ToSlash(dir) + "/"
	got, err := c.Expand(ctx, u, map[string]bool{".parquet": true})
	if err != nil || len(got) != 1 || got[0] != u+"a.parquet" {
		t.Fatalf("Expand %v %v", got, err)
	}
	o, err := c.Open(ctx, got[0])
	if err != nil {
		t.Fatal(err)
	}
	readPattern(t, o, data)
	if err := c.Put(ctx, u+"out.json", []byte("{}"), "application/json"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("files after Put: %v (no .attrs sidecar expected)", ents)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"s3://b/k.parquet?endpoint=http://u:p@127.0.0.1:9000&use_path_style=true&kmskeyid=SECRET&region=eu-west-1": "s3://b/k.parquet?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1&use_path_style=true",
		"gs://b/k?access_id=SECRET&private_key_path=/SECRET":                                                       "gs://b/k",
		"azblob://c/k?sig=SECRET&se=2020&storage_account=acct&protocol=http":                                       "azblob://c/k?protocol=http&storage_account=acct",
		"preds/local.parquet": "preds/local.parquet",
	} {
		if got := store.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if store.IsURL(in) {
			l, err := store.Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if l.String() != want {
				t.Errorf("Loc.String = %q, want %q", l.String(), want)
			}
		}
	}
	if _, err := store.Parse("s3://user:SECRET@b/k"); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("credentials in URL: %v", err)
	}
}
