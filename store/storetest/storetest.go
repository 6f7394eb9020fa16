// Package storetest starts object store servers on loopback for tests: S3
// (gofakes3, in memory) and GCS (fake-gcs-server), each behind a Faults
// handler wrapper that injects failures into object reads.
package storetest

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Mode is a kind of injected failure.
type Mode int

const (
	None         Mode = iota
	Status503         // answer 503 Service Unavailable (S3 SlowDown body)
	Reset             // close the connection with a TCP reset, nothing sent
	Truncate          // send the headers and half the body, then close
	Stall             // send the headers and half the body, then wait until the client gives up
	Forbidden         // answer 403 AccessDenied
	ForbiddenAll      // answer 403 AccessDenied to every request, not only reads
)

// Faults wraps a handler: every Every-th object read (a GET with a Range
// header) fails with Mode; Every 1 fails them all. OnRead, when set, runs
// before each object read with its number (from 1).
type Faults struct {
	mu     sync.Mutex
	mode   Mode
	every  int
	reads  int
	all    int
	OnRead func(n int)
	h      http.Handler
	lists  int
	faults int // requests answered with a fault

	// ReverseLists, when set, answers bucket listings (S3 ListObjects)
	// with their entries in reverse order: a store that does not list in
	// key order.
	ReverseLists bool

	// Throttle, when set, delays every request by its latency and paces
	// response bodies to its rate (shared by all connections): a network
	// for benchmarks.
	Throttle *Throttle
}

// Injected is how many requests were answered with a fault.
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults
}

// Throttle is a latency per request and a bandwidth cap.
type Throttle struct {
	Latency     time.Duration
	BytesPerSec float64

	mu   sync.Mutex
	next time.Time // when the link is free
}

// wait blocks until n more bytes may be sent.
func (th *Throttle) wait(n int) {
	th.mu.Lock()
	now := time.Now()
	if th.next.Before(now) {
		th.next = now
	}
	th.next = th.next.Add(time.Duration(float64(n) / th.BytesPerSec * float64(time.Second)))
	until := th.next
	th.mu.Unlock()
	time.Sleep(time.Until(until))
}

type throttledWriter struct {
	http.ResponseWriter
	th *Throttle
}

func (w throttledWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 64<<10)
		w.th.wait(k)
		m, err := w.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// Set makes every every-th object read from now on fail with m.
func (f *Faults) Set(m Mode, every int) {
	f.mu.Lock()
	f.mode, f.every, f.reads = m, every, 0
	f.mu.Unlock()
}

// Lists is the number of bucket listings served so far.
func (f *Faults) Lists() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// isList reports whether r lists a bucket (S3: a GET of the bucket itself;
// GCS: a GET of its objects collection).
func isList(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	p := strings.Trim(r.URL.Path, "/")
	return p != "" && !strings.Contains(p, "/") || strings.HasSuffix(r.URL.Path, "/o")
}

var contents = regexp.MustCompile(`(?s)<Contents>.*?</Contents>`)

// reverseContents reverses the order of the <Contents> entries of an S3
// listing.
func reverseContents(body []byte) []byte {
	loc := contents.FindAllIndex(body, -1)
	if len(loc) < 2 {
		return body
	}
	var out bytes.Buffer
	out.Write(body[:loc[0][0]])
	for i := len(loc) - 1; i >= 0; i-- {
		out.Write(body[loc[i][0]:loc[i][1]])
	}
	out.Write(body[loc[len(loc)-1][1]:])
	return out.Bytes()
}

// Requests is the number of requests served so far.
func (f *Faults) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.all
}

func isRead(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.Header.Get("Range") != "" || r.URL.Query().Get("alt") == "media" || strings.HasPrefix(r.URL.Path, "/download/"))
}

func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.all++
	mode := None
	n := 0
	if isRead(r) {
		f.reads++
		n = f.reads
		if f.every > 0 && f.reads%f.every == 0 {
			mode = f.mode
		}
	}
	list := isList(r)
	if list {
		f.lists++
	}
	reverse := list && f.ReverseLists
	if f.mode == ForbiddenAll && f.every > 0 {
		mode = Forbidden // every request, reads or not
	}
	if mode != None {
		f.faults++
	}
	onRead := f.OnRead
	f.mu.Unlock()
	if n > 0 && onRead != nil {
		onRead(n)
	}
	switch mode {
	case None:
		if reverse {
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, r)
			body := reverseContents(rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		if th := f.Throttle; th != nil {
			time.Sleep(th.Latency)
			w = throttledWriter{w, th}
		}
		f.h.ServeHTTP(w, r)
	case Status503:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
	case Forbidden:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		if r.Method != http.MethodHead {
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
		}
	case Reset:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	case Truncate, Stall:
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		rc := http.NewResponseController(w)
		rc.Flush()
		if mode == Stall {
			<-r.Context().Done() // the client's stall timeout
			return
		}
		conn, _, err := rc.Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

// S3 is an in-memory S3 server on loopback.
type S3 struct {
	Server  *httptest.Server
	Backend *s3mem.Backend
	Faults  *Faults
	Bucket  string
}

// StartS3 starts an S3 server with bucket "bucket", and sets the AWS
// environment (static credentials, region, no shared config files) for
// the test.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	be := s3mem.New()
	faker := gofakes3.New(be, gofakes3.WithLogger(gofakes3.DiscardLog()))
	f := &Faults{h: faker.Server()}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	if err := be.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_EC2_METADATA_DISABLED": "true",
	} {
		setenv(t, k, v)
	}
	return &S3{Server: srv, Backend: be, Faults: f, Bucket: "bucket"}
}

func setenv(t testing.TB, k, v string) {
	if tt, ok := t.(*testing.T); ok {
		tt.Setenv(k, v)
		return
	}
	old, had := os.LookupEnv(k)
	os.Setenv(k, v)
	t.Cleanup(func() {
		if had {
			os.Setenv(k, old)
		} else {
			os.Unsetenv(k)
		}
	})
}

// Query is the bucket query that reaches the server.
func (s *S3) Query() string {
	return "endpoint=" + url.QueryEscape(s.Server.URL) + "&use_path_style=true&region=us-east-1"
}

// URL is the s3:// URL of key.
func (s *S3) URL(key string) string {
	return "s3://" + s.Bucket + "/" + key + "?" + s.Query()
}

// Put stores an object directly in the backend.
func (s *S3) Put(t testing.TB, key string, data []byte) {
	t.Helper()
	if _, err := s.Backend.PutObject(s.Bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// GCS is fake-gcs-server on loopback.
type GCS struct {
	Server *fakestorage.Server
	HTTP   *httptest.Server
	Faults *Faults
}

// StartGCS starts a GCS server with bucket "bucket" and points
// STORAGE_EMULATOR_HOST (how gcsblob's default opener finds an emulator)
// at it.
func StartGCS(t testing.TB) *GCS {
	t.Helper()
	fs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Scheme: "http", Writer: ioDiscard{},
		// The storage client reads objects through the XML API, at
		// http://HOST/BUCKET/OBJECT: the server must take 127.0.0.1 for
		// its public host to route them.
		PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	fs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "bucket"})
	f := &Faults{h: fs.HTTPHandler()}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Cleanup(fs.Stop)
	setenv(t, "STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return &GCS{Server: fs, HTTP: srv, Faults: f}
}

// Put stores an object directly in the server.
func (g *GCS) Put(key string, data []byte) {
	g.Server.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "bucket", Name: key}, Content: data})
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }
