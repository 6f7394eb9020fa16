package storetest

import (
	"encoding/xml"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// DirS3 serves the files under a directory as the objects of one S3
// bucket, read-only: HEAD, ranged GETs (http.ServeContent: Range and
// If-Match honoured) and ListObjectsV2. It exists so that benchmarks
// measure the client, not an in-memory fake: gofakes3 holds every object
// in memory and spends CPU per request. The ETag is the file's size and
// modification time.
type DirS3 struct {
	Dir, Bucket string

	Gets, Heads, Lists atomic.Int64
	Bytes              atomic.Int64 // object bytes sent by GETs
}

// NewFaults wraps h in a Faults (no fault set: Throttle only).
func NewFaults(h http.Handler) *Faults { return &Faults{h: h} }

// CountBytes returns w counting the bytes written through it in n.
func CountBytes(w http.ResponseWriter, n *atomic.Int64) http.ResponseWriter {
	return countingWriter{w, n}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func etagOf(st os.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano())
}

func (d *DirS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(p, "/")
	if bucket != d.Bucket {
		s3Error(w, http.StatusNotFound, "NoSuchBucket")
		return
	}
	if key == "" {
		if r.Method != http.MethodGet {
			s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
			return
		}
		d.Lists.Add(1)
		d.list(w, r.URL.Query().Get("prefix"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s3Error(w, http.StatusForbidden, "AccessDenied")
		return
	}
	fp := filepath.Join(d.Dir, filepath.FromSlash(path.Clean("/"+key)))
	f, err := os.Open(fp)
	if err != nil {
		s3Error(w, http.StatusNotFound, "NoSuchKey")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		s3Error(w, http.StatusNotFound, "NoSuchKey")
		return
	}
	w.Header().Set("ETag", etagOf(st))
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.Method == http.MethodHead {
		d.Heads.Add(1)
	} else {
		d.Gets.Add(1)
		w = countingWriter{w, &d.Bytes}
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

type listEntry struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
}

type listResult struct {
	XMLName     xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name        string
	Prefix      string
	KeyCount    int
	MaxKeys     int
	IsTruncated bool
	Contents    []listEntry
}

// list answers ListObjectsV2 with every file under prefix, in one page.
func (d *DirS3) list(w http.ResponseWriter, prefix string) {
	res := listResult{Name: d.Bucket, Prefix: prefix, MaxKeys: 1 << 30}
	filepath.WalkDir(d.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(d.Dir, p)
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		st, err := e.Info()
		if err != nil {
			return nil
		}
		res.Contents = append(res.Contents, listEntry{Key: key, LastModified: st.ModTime().UTC().Format(time.RFC3339), ETag: etagOf(st), Size: st.Size(), StorageClass: "STANDARD"})
		return nil
	})
	sort.Slice(res.Contents, func(i, j int) bool { return res.Contents[i].Key < res.Contents[j].Key })
	res.KeyCount = len(res.Contents)
	w.Header().Set("Content-Type", "application/xml")
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(res)
}
