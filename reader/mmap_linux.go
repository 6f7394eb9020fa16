package reader

import (
	"os"
	"syscall"
	"unsafe"
)

// mapFile maps a regular file read-only, or returns nil (the caller then
// reads it).
func mapFile(osf *os.File, size int64) []byte {
	if size <= 0 || int64(int(size)) != size {
		return nil
	}
	b, err := syscall.Mmap(int(osf.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

func unmapFile(b []byte) {
	if b != nil {
		_ = syscall.Munmap(b)
	}
}

// dropPages tells the kernel that the whole pages of b in the mapping m are
// not needed for now: they leave the process's resident set (they stay in
// the page cache, and reading them again faults them back in).
func dropPages(m []byte, b []byte) {
	if len(b) == 0 || len(m) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p+uintptr(len(b)) > base+uintptr(len(m)) {
		return
	}
	ps := uintptr(os.Getpagesize())
	lo := (p - base + ps - 1) &^ (ps - 1)
	hi := (p - base + uintptr(len(b))) &^ (ps - 1)
	if hi > lo {
		_ = syscall.Madvise(m[lo:hi], syscall.MADV_DONTNEED)
	}
}
