package evalbeam

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, int, func([]byte), error](&evalShareFn{})
	register.Emitter1[[]byte]()
	register.Function2x2[[]byte, []byte, []byte, error](MergeStates)
	register.DoFn1x1[[]byte, error](&writeStateFn{})
}

// Faults, in tests, makes the evaluation of a share fail: before share i
// is evaluated, a positive Faults[i] is decremented and the element fails.
// It lives in the process, so it reaches the DoFns of an in-process runner
// (Prism with loopback workers) only.
var Faults = struct {
	sync.Mutex
	M map[int]int
}{M: map[int]int{}}

// DuplicateStates, in tests, makes Build send every share's state to the
// combine twice, as a runner that committed an element twice would.
var DuplicateStates bool

// rowTag marks an evaluation error's one-line message in the error that
// the runner returns for a failed job, which wraps it in its own text.
const rowTag = "evalnll-error:"

// tagged carries an evaluation error through the runner: its message,
// quoted, after rowTag, and whether it is a usage error.
func tagged(err error) error {
	_, usage := err.(*UsageError)
	return fmt.Errorf("%s%t:%s", rowTag, usage, strconv.Quote(err.Error()))
}

var tagRE = regexp.MustCompile(regexp.QuoteMeta(rowTag) + `(true|false):("(?:[^"\\]|\\.)*")`)

// JobError finds, in the error of a failed job, the evaluation error a
// DoFn failed with: its one-line message, and whether it is a usage
// error. ok is false when the job failed otherwise.
func JobError(err error) (msg string, usage, ok bool) {
	m := tagRE.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false, false
	}
	s, e := strconv.Unquote(m[2])
	if e != nil {
		return "", false, false
	}
	return s, m[1] == "true", true
}

type evalShareFn struct {
	Args Args
}

func (f *evalShareFn) ProcessElement(ctx context.Context, share int, emit func([]byte)) error {
	Faults.Lock()
	n := Faults.M[share]
	if n > 0 {
		Faults.M[share] = n - 1
	}
	Faults.Unlock()
	if n > 0 {
		return fmt.Errorf("injected fault in share %d (%d left)", share, n-1)
	}
	b, err := EvalShare(ctx, &f.Args, share)
	if err != nil {
		return tagged(err)
	}
	emit(b)
	return nil
}

type writeStateFn struct {
	Path string
}

// ProcessElement writes the merged state through a temporary file renamed
// into place, after checking that it covers every share.
func (f *writeStateFn) ProcessElement(b []byte) error {
	if err := CheckComplete(b); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".evalnll-beam-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Build adds the evaluation to the pipeline's root scope: the merged
// state of a.Shares shares is written to statePath. a.Paths, a.Keys and
// a.Shares must be set (see Plan).
func Build(s beam.Scope, a Args, statePath string) {
	s = s.Scope("evalnll")
	shares := make([]int, a.Shares)
	for i := range shares {
		shares[i] = i
	}
	idx := beam.CreateList(s, shares)
	// Break fusion with the creation so that the runner spreads the
	// shares over its workers.
	idx = beam.Reshuffle(s, idx)
	states := beam.ParDo(s, &evalShareFn{Args: a}, idx)
	if DuplicateStates {
		states = beam.Flatten(s, states, states)
	}
	merged := beam.Combine(s, MergeStates, states)
	beam.ParDo0(s, &writeStateFn{Path: statePath}, merged)
}
