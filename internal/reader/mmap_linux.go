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

// madvPopulateRead is MADV_POPULATE_READ (Linux 5.14).
const madvPopulateRead = 22

// populate maps the pages of b, a part of the mapping m, in one system
// call, and reports whether it did: it is much cheaper than faulting them
// in one by one (under virtualisation a fault costs tens of microseconds).
// It fails on an older kernel, and where the file no longer backs the
// mapping (truncated): the caller then touches the pages itself.
func populate(m []byte, b []byte) bool {
	if len(b) == 0 || len(m) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p+uintptr(len(b)) > base+uintptr(len(m)) {
		return false
	}
	ps := uintptr(os.Getpagesize())
	lo := (p - base) &^ (ps - 1)
	hi := p - base + uintptr(len(b))
	return syscall.Madvise(m[lo:hi], madvPopulateRead) == nil
}
