package store

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// schemes are the URL schemes evalnll reads and writes through gocloud.dev.
var schemes = []string{"s3", "gs", "azblob", "file"}

// IsURL reports whether s names an object store location: it starts with
// s3://, gs://, azblob:// or file://.
func IsURL(s string) bool {
	for _, sc := range schemes {
		if len(s) > len(sc)+3 && strings.EqualFold(s[:len(sc)], sc) && s[len(sc):len(sc)+3] == "://" {
			return true
		}
	}
	return false
}

// shownParams are the bucket query parameters that may appear in reports
// and messages: they select an endpoint or a protocol and hold no secret.
// Every other parameter (access_id, private_key_path, kmskeyid, role, a
// SAS token, any unknown one) is left out.
var shownParams = map[string]bool{
	"endpoint": true, "region": true, "use_path_style": true, "s3ForcePathStyle": true,
	"disable_https": true, "dualstack": true, "fips": true, "hostname_immutable": true,
	"anonymous": true, "awssdk": true, "profile": true,
	"domain": true, "protocol": true, "localemu": true, "cdn": true, "storage_account": true,
	"grpc": true, "universe_domain": true,
}

// Loc is a parsed object store URL: a bucket (with its gocloud query
// parameters) and a key, a key prefix or a key glob.
type Loc struct {
	Scheme string
	Bucket string // the host; "/" for file://
	Key    string // without a leading "/"
	Query  url.Values
}

// Parse parses an object store URL such as
// s3://bucket/prefix/key.parquet?endpoint=http://127.0.0.1:9000&use_path_style=true.
func Parse(s string) (Loc, error) {
	if !IsURL(s) {
		return Loc{}, fmt.Errorf("%s: not an s3://, gs://, azblob:// or file:// URL", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL, secrets included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Loc{}, fmt.Errorf("%s: bad URL: %v", redactRaw(s), err)
	}
	l := Loc{Scheme: strings.ToLower(u.Scheme), Bucket: u.Host, Key: strings.TrimPrefix(u.Path, "/"), Query: u.Query()}
	if u.Fragment != "" {
		l.Key += "#" + u.Fragment
	}
	if l.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return Loc{}, fmt.Errorf("%s: a file:// URL names a local path (file:///dir/key)", l)
		}
		l.Bucket = "/"
		return l, nil
	}
	if l.Bucket == "" {
		return Loc{}, fmt.Errorf("%s: no bucket in the URL", l)
	}
	if u.User != nil {
		return Loc{}, fmt.Errorf("%s: credentials in the URL are not accepted; use the environment", l)
	}
	return l, nil
}

// WithKey returns l naming another key of the same bucket.
func (l Loc) WithKey(key string) Loc {
	l.Key = key
	return l
}

// bucketURL is the URL gocloud opens the bucket with: every parameter
// included.
func (l Loc) bucketURL() string {
	q := l.Query
	if l.Scheme == "file" && q.Get("metadata") == "" {
		// No .attrs sidecar files beside the outputs written.
		q = cloneValues(q)
		q.Set("metadata", "skip")
	}
	u := url.URL{Scheme: l.Scheme, Host: l.Bucket, RawQuery: q.Encode()}
	if l.Scheme == "file" {
		u.Host = ""
		u.Path = "/"
	}
	return u.String()
}

// bucketKey identifies the bucket for the cache of open buckets.
func (l Loc) bucketKey() string { return l.bucketURL() }

// String is the URL as reports and messages show it: the query keeps only
// the parameters in shownParams (an endpoint without its user information).
func (l Loc) String() string {
	var b strings.Builder
	b.WriteString(l.Scheme)
	b.WriteString("://")
	if l.Scheme != "file" {
		b.WriteString(l.Bucket)
	}
	b.WriteString("/")
	b.WriteString(l.Key)
	q := shown(l.Query)
	if len(q) > 0 {
		b.WriteString("?")
		b.WriteString(q.Encode())
	}
	return b.String()
}

func shown(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		if !shownParams[k] {
			continue
		}
		for _, v := range vs {
			if k == "endpoint" {
				if u, err := url.Parse(v); err == nil && u.User != nil {
					u.User = nil
					v = u.String()
				}
			}
			out.Add(k, v)
		}
	}
	return out
}

// Redact returns s as messages show it when s is an object store URL (see
// Loc.String), else s unchanged.
func Redact(s string) string {
	if !IsURL(s) {
		return s
	}
	return redactRaw(s)
}

// redactRaw drops every query parameter but the shown ones, without
// needing s to parse.
func redactRaw(s string) string {
	base, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return base
	}
	q = shown(q)
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// hasMeta reports whether a key holds glob metacharacters.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// sortedUnique sorts and de-duplicates.
func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
