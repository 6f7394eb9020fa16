package pipeline

import (
	"os"
	"path/filepath"
)

// FileID identifies a file by device and inode: two paths name the same
// file when their FileIDs are equal, whatever the spelling (relative or
// absolute, "..", a symlink, a hard link).
type FileID struct{ Dev, Ino uint64 }

// IDOf returns the identity of the file info came from; ok is false where
// the system has none (then paths are compared by name).
func IDOf(info os.FileInfo) (id FileID, ok bool) { return sysID(info) }

// PathKey identifies the file a path names, or would name once created: the
// file's identity when it exists, else the identity of its directory and
// its base name. Two paths with equal keys are the same file.
type PathKey struct {
	ID   FileID
	Name string // "" when the file exists
}

// KeyOf returns the key of path, following symlinks; exists reports whether
// the file exists.
func KeyOf(path string) (k PathKey, exists bool) {
	if st, err := os.Stat(path); err == nil {
		if id, ok := IDOf(st); ok {
			return PathKey{ID: id}, true
		}
		return PathKey{Name: absClean(path)}, true
	}
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err == nil {
		if id, ok := IDOf(st); ok {
			return PathKey{ID: id, Name: base}, false
		}
	}
	return PathKey{Name: absClean(path)}, false
}

func absClean(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}
