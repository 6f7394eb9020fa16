package reader

import "os"

// longTests reports whether the long variants of the tests run: full-size
// generated inputs, every batch size, the interop corpus in child
// processes, the big decompression bombs. EVALNLL_LONG=1 turns them on;
// .ci/run sets it. Without it, `go test -race ./...` stays within minutes
// on a 2-core machine and each test still runs a smaller variant where it
// has one (README, Tests).
func longTests() bool { return os.Getenv("EVALNLL_LONG") != "" }
