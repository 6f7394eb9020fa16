package evalbeam

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/evalnll/evalnll/cmdline"
	"github.com/evalnll/evalnll/store"
)

func init() {
	register.DoFn4x2[context.Context, *sdf.LockRTracker, int, func([]byte), sdf.ProcessContinuation, error](&evalShareFn{})
	register.Emitter1[[]byte]()
	register.Function2x2[[]byte, []byte, []byte, error](MergeStates)
	register.DoFn2x1[context.Context, []byte, error](&writeStateFn{})
}

// Faults, in tests, makes the evaluation of a share fail: before share i
// is evaluated, a positive Faults.M[i] is decremented and the attempt
// fails with a transient object store error (one that is retried).
// Faults.Attempts counts the attempts at each share. It lives in the
// process, so it reaches the DoFns of an in-process runner (Prism with
// loopback workers) only.
var Faults = struct {
	sync.Mutex
	M        map[int]int
	Attempts map[int]int
}{M: map[int]int{}, Attempts: map[int]int{}}

// RetryDelay is how long a share whose evaluation failed transiently is
// left before its next attempt, times the attempts made.
var RetryDelay = time.Second

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

// evalShareFn evaluates a share into its encoded partial state. It is a
// splittable DoFn whose restriction is the attempts [0, Attempts) at the
// share: an attempt that fails with a transient error (an object store
// error that outlived the store's own retries) hands the share back to the
// runner (a self-checkpoint: the residual is the attempts left), and the
// runner evaluates it again in a later bundle. Nothing is emitted by a
// failed attempt, and the tracker takes no split but that checkpoint, so a
// share is evaluated into one state whatever the runner does. Any other
// error (an invalid row, a bad mapping), or the last attempt's, fails the
// element: the runner's own retry policy decides then.
type evalShareFn struct {
	// Args are eval's flags as the launcher was given them; Plan the
	// inputs and the share count; Attempts the most attempts at a share.
	Args     []string
	Plan     cmdline.Plan
	Attempts int

	ev *cmdline.Eval
}

func (f *evalShareFn) Setup() error {
	var err error
	f.ev, err = Eval(f.Args)
	return err
}

func (f *evalShareFn) CreateInitialRestriction(share int) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: int64(max(f.Attempts, 1))}
}

func (f *evalShareFn) SplitRestriction(share int, r offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{r}
}

func (f *evalShareFn) RestrictionSize(share int, r offsetrange.Restriction) float64 {
	return 1
}

func (f *evalShareFn) CreateTracker(r offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(&attemptTracker{Tracker: offsetrange.NewTracker(r)})
}

func (f *evalShareFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, share int, emit func([]byte)) (sdf.ProcessContinuation, error) {
	r := rt.GetRestriction().(offsetrange.Restriction)
	attempt := r.Start
	if !rt.TryClaim(attempt) {
		return sdf.StopProcessing(), nil
	}
	b, err := f.eval(ctx, share)
	if err != nil {
		if attempt+1 < r.End && transient(err) {
			rt.Rt.(*attemptTracker).checkpoint.Store(true)
			return sdf.ResumeProcessingIn(time.Duration(attempt+1) * RetryDelay), nil
		}
		return sdf.StopProcessing(), tagged(err)
	}
	emit(b)
	rt.TryClaim(r.End) // done: no attempt left to make
	return sdf.StopProcessing(), nil
}

// eval is one attempt at a share.
func (f *evalShareFn) eval(ctx context.Context, share int) ([]byte, error) {
	Faults.Lock()
	Faults.Attempts[share]++
	n := Faults.M[share]
	if n > 0 {
		Faults.M[share] = n - 1
	}
	Faults.Unlock()
	if n > 0 {
		return nil, &store.Error{URL: fmt.Sprintf("share %d", share), Op: "read", Err: fmt.Errorf("injected fault (%d left)", n-1), Kind: store.Transient}
	}
	return f.ev.EvalShare(ctx, &f.Plan, share)
}

// transient reports whether an attempt failed for a reason that may pass:
// an object store error that its own retries did not overcome.
func transient(err error) bool {
	var se *store.Error
	return errors.As(err, &se) && se.Kind == store.Transient
}

// attemptTracker is the tracker of a share's attempts: it takes no split
// but the self-checkpoint of a failed attempt, so the runner never runs a
// share's attempts side by side.
type attemptTracker struct {
	*offsetrange.Tracker
	checkpoint atomic.Bool
}

func (t *attemptTracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if fraction != 0 || !t.checkpoint.Swap(false) {
		return t.GetRestriction(), nil, nil
	}
	return t.Tracker.TrySplit(0)
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
// object store URL). args are eval's flags, as Eval parses them; attempts
// is the most attempts at a share that fails transiently.
func Build(s beam.Scope, args []string, plan cmdline.Plan, attempts int, statePath string) {
	s = s.Scope("evalnll")
	shares := make([]int, plan.Shares)
	for i := range shares {
		shares[i] = i
	}
	idx := beam.CreateList(s, shares)
	// Break fusion with the creation so that the runner spreads the
	// shares over its workers.
	idx = beam.Reshuffle(s, idx)
	states := beam.ParDo(s, &evalShareFn{Args: args, Plan: plan, Attempts: attempts}, idx)
	if DuplicateStates {
		states = beam.Flatten(s, states, states)
	}
	merged := beam.Combine(s, MergeStates, states)
	beam.ParDo0(s, &writeStateFn{Path: statePath}, merged)
}
