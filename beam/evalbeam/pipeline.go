package evalbeam

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/evalnll/evalnll/cmdline"
	"github.com/evalnll/evalnll/store"
)

func init() {
	register.DoFn3x1[context.Context, int, func([]byte), error](&evalShareFn{})
	register.Emitter1[[]byte]()
	register.Function2x2[[]byte, []byte, []byte, error](MergeStates)
	register.DoFn2x1[context.Context, []byte, error](&writeStateFn{})
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
// quoted, after rowTag.
func tagged(err error) error {
	return fmt.Errorf("%s%s", rowTag, strconv.Quote(err.Error()))
}

var tagRE = regexp.MustCompile(regexp.QuoteMeta(rowTag) + `("(?:[^"\\]|\\.)*")`)

// JobError finds, in the error of a failed job, the evaluation error a
// DoFn failed with: its one-line message. ok is false when the job failed
// otherwise.
func JobError(err error) (msg string, ok bool) {
	m := tagRE.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	s, e := strconv.Unquote(m[1])
	if e != nil {
		return "", false
	}
	return s, true
}

// Eval parses eval's flags args (as given to the launcher) for a worker.
func Eval(args []string) (*cmdline.Eval, error) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ev := cmdline.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("eval's flags %q: arguments %q", args, fs.Args())
	}
	return ev, nil
}

// evalShareFn evaluates a share into its encoded partial state.
type evalShareFn struct {
	// Args are eval's flags as the launcher was given them; Plan the
	// inputs and the share count.
	Args []string
	Plan cmdline.Plan

	ev *cmdline.Eval
}

func (f *evalShareFn) Setup() error {
	var err error
	f.ev, err = Eval(f.Args)
	return err
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
	b, err := f.ev.EvalShare(ctx, &f.Plan, share)
	if err != nil {
		return tagged(err)
	}
	emit(b)
	return nil
}

type writeStateFn struct {
	Path string
}

// ProcessElement writes the merged state, after checking that it covers
// every share: to an object store URL with one PUT, or to a file through a
// temporary file renamed into place.
func (f *writeStateFn) ProcessElement(ctx context.Context, b []byte) error {
	if err := CheckComplete(b); err != nil {
		return err
	}
	if store.IsURL(f.Path) {
		return store.Put(ctx, f.Path, b, "application/octet-stream")
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
// state of the plan's shares is written to statePath (a file, or an
// object store URL). args are eval's flags, as Eval parses them.
func Build(s beam.Scope, args []string, plan cmdline.Plan, statePath string) {
	s = s.Scope("evalnll")
	shares := make([]int, plan.Shares)
	for i := range shares {
		shares[i] = i
	}
	idx := beam.CreateList(s, shares)
	// Break fusion with the creation so that the runner spreads the
	// shares over its workers.
	idx = beam.Reshuffle(s, idx)
	states := beam.ParDo(s, &evalShareFn{Args: args, Plan: plan}, idx)
	if DuplicateStates {
		states = beam.Flatten(s, states, states)
	}
	merged := beam.Combine(s, MergeStates, states)
	beam.ParDo0(s, &writeStateFn{Path: statePath}, merged)
}
