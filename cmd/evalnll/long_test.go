package main

import "os"

// longTests reports whether the long variants of the tests run
// (EVALNLL_LONG=1, which .ci/run sets): see README, Tests.
func longTests() bool { return os.Getenv("EVALNLL_LONG") != "" }
