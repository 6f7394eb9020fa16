package reader

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// limitAlloc is an Arrow allocator that refuses to hold more than limit
// bytes at once. arrow-go allocates what a file claims (a message body, the
// uncompressed size of a compressed buffer) before reading it; a refusal
// panics inside arrow-go, which turns it into an error (and the reader
// recovers any panic that arrow-go does not).
type limitAlloc struct {
	mem   memory.Allocator
	limit int64
	used  atomic.Int64
}

type allocLimitError struct {
	size, used, limit int64
}

func (e *allocLimitError) Error() string {
	return fmt.Sprintf("record batch needs more than the limit of %d bytes (allocating %d with %d in use); see MaxBatchBytes", e.limit, e.size, e.used)
}

func newLimitAlloc(mem memory.Allocator, limit int64) *limitAlloc {
	return &limitAlloc{mem: mem, limit: limit}
}

func (a *limitAlloc) reserve(n int64) {
	used := a.used.Add(n)
	if n > 0 && (used > a.limit || used < 0) {
		a.used.Add(-n)
		panic(&allocLimitError{size: n, used: used - n, limit: a.limit})
	}
}

func (a *limitAlloc) Allocate(size int) []byte {
	if size < 0 {
		panic(fmt.Errorf("negative allocation of %d bytes", size))
	}
	a.reserve(int64(size))
	return a.mem.Allocate(size)
}

func (a *limitAlloc) Reallocate(size int, b []byte) []byte {
	if size < 0 {
		panic(fmt.Errorf("negative allocation of %d bytes", size))
	}
	a.reserve(int64(size - len(b)))
	return a.mem.Reallocate(size, b)
}

func (a *limitAlloc) Free(b []byte) {
	a.used.Add(-int64(len(b)))
	a.mem.Free(b)
}
