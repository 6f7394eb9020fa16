// Package evalbeam runs evalnll's evaluation as an Apache Beam pipeline:
//
//	share indices 0..N-1 -> Reshuffle -> ParDo(evaluate share i of N into an
//	encoded partial state) -> CombineGlobally(merge states) -> write the
//	merged state
//
// A share is what `evalnll eval --shard i/N` evaluates: with N the count
// of the inputs' units (row groups, record batches, streams, read from
// the footers), a share holds about one unit, and a large unit is cut
// between shares. The states are those of `eval --shard i/N --state`
// (package cmdline of the main module evaluates them, with eval's flags),
// so the merged state is reported by cmdline.Eval.Report exactly as
// `evalnll merge` reports it, i.e. as eval reports the inputs.
//
// Every state names the share it covers; merging two states of one share
// is an error (partial.OverlapError), so an element evaluated twice can
// never be counted twice. The combine only sees the outputs of committed
// bundles, so a retried bundle contributes once.
package evalbeam

import (
	"fmt"
	"strings"

	"github.com/evalnll/evalnll/partial"
)

// MergeStates merges two encoded partial states (in any order: the result
// does not depend on it). States that cover a share in common are refused
// (partial.OverlapError): a share is never counted twice.
func MergeStates(a, b []byte) ([]byte, error) {
	if len(a) == 0 {
		return b, nil
	}
	if len(b) == 0 {
		return a, nil
	}
	sa, err := partial.Decode(a)
	if err != nil {
		return nil, err
	}
	sb, err := partial.Decode(b)
	if err != nil {
		return nil, err
	}
	if err := sa.Merge(sb); err != nil {
		return nil, err
	}
	return sa.Encode()
}

// CheckComplete decodes a merged state and checks it covers every share.
func CheckComplete(b []byte) error {
	s, err := partial.Decode(b)
	if err != nil {
		return err
	}
	if miss, more := s.Missing(10); len(miss) > 0 {
		var parts []string
		for _, m := range miss {
			parts = append(parts, fmt.Sprint(m))
		}
		if more {
			parts = append(parts, "...")
		}
		return fmt.Errorf("the merged state misses shares %s of %d", strings.Join(parts, ", "), s.Shards)
	}
	return nil
}
