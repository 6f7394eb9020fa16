package reader

// Hive-style partitioned folders (root/country=BR/year=2024/part-0.parquet,
// as DuckDB's PARTITION_BY, Polars and Spark write them): each KEY=VALUE
// folder of a file's path is a column of that file, constant over its rows,
// usable like any other (--by, slice gates).
//
// A key's type is int64 when every value of it across the inputs is a
// base-10 integer, else string (DuckDB's and Polars' inference also makes
// dates and floats; evalnll keeps those as strings). A VALUE is
// URL-unescaped (%2F is /); an empty value and __HIVE_DEFAULT_PARTITION__
// are null, as is the key for a file whose path lacks it. A column of the
// file itself with the key's name wins over the folder.

import (
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/evalnll/evalnll/internal/column"
)

// hiveNull is the folder value Hive and Spark write for a null key.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// hivePairs lists the KEY=VALUE folders of a path, outermost first; a key
// repeated keeps its innermost value.
func hivePairs(path string) [][2]string {
	dir := filepath.Dir(filepath.Clean(path))
	var out [][2]string
	for seg := range strings.SplitSeq(filepath.ToSlash(dir), "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" || strings.HasPrefix(k, ".") {
			continue
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		if i := slices.IndexFunc(out, func(p [2]string) bool { return p[0] == k }); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// HivePartitions wraps the files whose paths have KEY=VALUE folders so that
// every key is a column of every file (null where a path lacks it). Files
// is returned as is when no path has one. The CLI passes each file's path
// below the input it was found under, so that folders above it do not count.
func HivePartitions(files []File, paths []string) []File {
	type key struct {
		name string
		ints bool
	}
	var keys []key
	pairs := make([][][2]string, len(files))
	for i := range files {
		if paths[i] == "-" {
			continue
		}
		pairs[i] = hivePairs(paths[i])
		for _, p := range pairs[i] {
			k := slices.IndexFunc(keys, func(x key) bool { return x.name == p[0] })
			if k < 0 {
				keys = append(keys, key{name: p[0], ints: true})
				k = len(keys) - 1
			}
			if p[1] != "" && p[1] != hiveNull {
				if _, err := strconv.ParseInt(p[1], 10, 64); err != nil {
					keys[k].ints = false
				}
			}
		}
	}
	if len(keys) == 0 {
		return files
	}
	out := make([]File, len(files))
	for i, f := range files {
		pf := &partFile{File: f}
		own := map[string]bool{}
		for _, fl := range f.Fields() {
			own[fl.Name] = true
		}
		pf.fields = slices.Clone(f.Fields())
		for _, k := range keys {
			if own[k.name] {
				continue
			}
			pc := partCol{name: k.name}
			if k.ints {
				pc.typ = column.Int
			} else {
				pc.typ = column.String
			}
			for _, p := range pairs[i] {
				if p[0] == k.name && p[1] != "" && p[1] != hiveNull {
					pc.valid = true
					pc.str = p[1]
					if k.ints {
						pc.int, _ = strconv.ParseInt(p[1], 10, 64)
					}
				}
			}
			desc := "int64 (hive partition)"
			if !k.ints {
				desc = "string (hive partition)"
			}
			pf.fields = append(pf.fields, Field{Name: k.name, Type: pc.typ, Nullable: true, Desc: desc})
			pf.parts = append(pf.parts, pc)
		}
		if len(pf.parts) == 0 {
			out[i] = f
			continue
		}
		if sp, ok := f.(Splitter); ok {
			out[i] = &partSplitFile{partFile: pf, sp: sp}
		} else {
			out[i] = pf
		}
	}
	return out
}

// partCol is a partition key's value for one file.
type partCol struct {
	name  string
	typ   column.Type
	valid bool
	int   int64
	str   string
}

// partFile is a file with the constant columns of its partition folders.
type partFile struct {
	File
	fields []Field
	parts  []partCol
}

func (f *partFile) Fields() []Field { return f.fields }

func (f *partFile) Prefetches() bool {
	pf, ok := f.File.(Prefetcher)
	return ok && pf.Prefetches()
}

// Prefetch passes the file's own columns on (Prefetcher).
func (f *partFile) Prefetch(u int, cols []string) {
	if pf, ok := f.File.(Prefetcher); ok {
		inner, _ := f.split(cols)
		pf.Prefetch(u, inner)
	}
}

func (f *partFile) Metadata() [][2]string {
	var kv []string
	for _, p := range f.parts {
		v := "null"
		if p.valid {
			v = strconv.Quote(p.str)
		}
		kv = append(kv, p.name+"="+v)
	}
	return append(slices.Clone(f.File.Metadata()), [2]string{"hive partition", strings.Join(kv, ", ")})
}

// split separates the file's own columns from the partition columns.
func (f *partFile) split(cols []string) (inner []string, where []int) {
	where = make([]int, len(cols)) // >= 0: index in inner; < 0: -1-part
	for i, c := range cols {
		if k := slices.IndexFunc(f.parts, func(p partCol) bool { return p.name == c }); k >= 0 {
			where[i] = -1 - k
			continue
		}
		where[i] = len(inner)
		inner = append(inner, c)
	}
	return inner, where
}

func (f *partFile) Scan(u int, cols []string, maxRows int) Scanner {
	inner, where := f.split(cols)
	return f.wrap(f.File.Scan(u, inner, maxRows), where)
}

func (f *partFile) wrap(s Scanner, where []int) Scanner {
	ps := &partScanner{Scanner: s, f: f, where: where}
	ps.batch.Cols = make([]*column.Column, len(where))
	ps.consts = make([]column.Column, len(f.parts))
	return ps
}

// partSplitFile is a partFile over a file that can cut its units.
type partSplitFile struct {
	*partFile
	sp Splitter
}

func (f *partSplitFile) UnitBytes(u int, cols []string) int64 {
	inner, _ := f.split(cols)
	return f.sp.UnitBytes(u, inner)
}

func (f *partSplitFile) Split(u int, cols []string, n int) ([]Part, error) {
	inner, _ := f.split(cols)
	return f.sp.Split(u, inner, n)
}

func (f *partSplitFile) ScanPart(p Part, cols []string, maxRows int) Scanner {
	inner, where := f.split(cols)
	return f.wrap(f.sp.ScanPart(p, inner, maxRows), where)
}

// partScanner adds the partition columns to the batches of a scanner.
type partScanner struct {
	Scanner
	f      *partFile
	where  []int
	batch  column.Batch
	consts []column.Column
	// Made once for the largest batch: each int key's values, zero codes
	// for the one-entry dictionary of each string key, all-false validity.
	ints  [][]int64
	codes []int32
	valid []bool
	dicts [][]string
}

func (s *partScanner) Batch() *column.Batch { return &s.batch }

func (s *partScanner) Next() bool {
	if !s.Scanner.Next() {
		return false
	}
	b := s.Scanner.Batch()
	n := b.Rows
	if len(s.codes) < n {
		s.codes = make([]int32, n)
		s.valid = make([]bool, n)
		s.ints = make([][]int64, len(s.f.parts))
		s.dicts = make([][]string, len(s.f.parts))
		for k, p := range s.f.parts {
			s.dicts[k] = []string{p.str}
			if p.typ == column.Int {
				s.ints[k] = make([]int64, n)
				for i := range s.ints[k] {
					s.ints[k][i] = p.int
				}
			}
		}
	}
	s.batch.Rows = n
	for i, w := range s.where {
		if w >= 0 {
			s.batch.Cols[i] = b.Cols[w]
			continue
		}
		k := -1 - w
		p := s.f.parts[k]
		c := &s.consts[k]
		*c = column.Column{Type: p.typ, Len: n}
		if !p.valid {
			c.Valid = s.valid[:n]
		}
		if p.typ == column.Int {
			c.Ints = s.ints[k][:n]
		} else {
			c.Dict, c.Codes = s.dicts[k], s.codes[:n]
		}
		s.batch.Cols[i] = c
	}
	return true
}
