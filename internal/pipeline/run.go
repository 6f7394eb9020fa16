// Package pipeline runs an evaluation over many input files: it cuts the
// inputs into units (Parquet row groups, Arrow IPC record batches, whole
// Arrow IPC streams), evaluates them on an errgroup worker pool, and merges
// the workers' exact states into one.
//
// Callers Expand the INPUT arguments, Open the files with package reader,
// then Run a Job. The result does not depend on Workers nor on the order in
// which units finish: every sum is exact, and the error reported is the
// first invalid row in input order.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
)

// Job is one evaluation.
type Job struct {
	// Files are the opened inputs, in input order (sorted by path).
	Files []reader.File
	// Names are the file names used in messages and row ids, one per file.
	Names []string
	// Keys are the files' paths relative to the inputs they were found
	// under (see Expand), one per file: without --id, a row's bootstrap
	// bucket comes from its file's key and its row within the file. Nil:
	// Names.
	Keys []string
	// Columns are read from every file, in this order; Bind maps a batch of
	// them onto roles.
	Columns []string
	Bind    func(b *column.Batch) metrics.Cols
	// ColumnOf names the column that plays a role, for messages.
	ColumnOf func(r metrics.Role) string
	Config   *metrics.Config
	// PredColumn is the list column whose first non-null row fixes the class
	// count when Config.Classes is 0 and the kind needs one.
	PredColumn string
	Options    Options
	// Shard selects the share of the rows this run evaluates (the zero
	// value: all of them).
	Shard Shard
	// Progress, if set, is called after each batch with its row count and
	// after each unit with done=true. It must be safe for concurrent use.
	Progress func(file int, rows int, unitDone bool)
}

// Options tune the run; results never depend on them.
type Options struct {
	// Workers is the number of units evaluated at once (default: all
	// cores).
	Workers int
	// BatchRows is the most rows decoded at a time per worker.
	BatchRows int
}

// DefaultOptions uses every core and batches of 64k rows.
func DefaultOptions() Options {
	return Options{Workers: runtime.GOMAXPROCS(0), BatchRows: 1 << 16}
}

// InputError is an error tied to a place in an input: a file, and a row
// (from 1) when known.
type InputError struct {
	File string
	Row  int64 // 0 when the error is not about one row
	Msg  string
	Err  error
}

func (e *InputError) Error() string {
	if e.Row > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Row, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *InputError) Unwrap() error { return e.Err }

// ErrInvalidRow is wrapped by the InputError of an invalid row.
var ErrInvalidRow = errors.New("invalid row")

// Result is a finished run.
type Result struct {
	State *metrics.State
	// FileRows are the rows read from each file.
	FileRows []int64
	// Ranges are the rows of each file the run read, in row order: with a
	// Shard, the share's; else every row.
	Ranges [][]Range
	// Classes is the class count in use (0 when the kind has none).
	Classes int
	names   []string
}

// Range is the rows [Lo, Hi) of a file, counted from 0.
type Range struct{ Lo, Hi int64 }

// RowName is the FILE:ROW name of row (from 0) of input file. The State's
// worst rows are positioned so: WorstRow.Unit is the index of the file in
// Job.Files, and WorstRow.Row the row within the file.
func (r *Result) RowName(file int, row int64) string {
	return fmt.Sprintf("%s:%d", r.names[file], row+1)
}

// unit is what a worker reads at a time: a unit of a file (row group,
// record batch, stream), or a part of one (see planner). Ordinals number
// them in input order.
type unit struct {
	file, index, ordinal int
	first                int64        // the unit's (or part's) first row within its file
	part                 *reader.Part // nil: the whole unit
	// left counts the parts of the unit not yet read (nil for a whole
	// unit): the last one to finish reports the unit done.
	left *atomic.Int32
}

// scan reads u of f.
func (u unit) scan(f reader.File, cols []string, maxRows int) reader.Scanner {
	if u.part != nil {
		return f.(reader.Splitter).ScanPart(*u.part, cols, maxRows)
	}
	return f.Scan(u.index, cols, maxRows)
}

// done reports whether u was the last part of its unit to finish.
func (u unit) done() bool { return u.left == nil || u.left.Add(-1) == 0 }

// wholeUnit is a unit of a file, and the parts the planner will cut it
// into (1: none); or a part of one that a Shard cut (part set).
type wholeUnit struct {
	file, index int
	first       int64 // its first row within the file
	parts       int
	rows        int64 // -1: unknown (a stream)
	part        *reader.Part
}

// Splitting: a unit much larger than a worker's share of the run (a file
// of one large row group, row groups of unequal size) leaves workers idle
// at the tail, since a unit is decoded on one core. Such a unit is cut
// into parts that are decoded independently (reader.Splitter), so that
// every worker's share ends at about the same time. Variables for tests.
var (
	// splitPerWorker: parts are at most 1/splitPerWorker of a worker's
	// share of the bytes of the run.
	splitPerWorker int64 = 4
	// splitMinBytes: no part is smaller than this (its own start-up, and
	// the decoding it repeats at its edges, would cost more than it
	// balances).
	splitMinBytes int64 = 8 << 20
)

// planner lists the units of a run and cuts the large ones into parts.
type planner struct {
	files []reader.File
	cols  []string
	units []wholeUnit
}

// newPlanner lists the units of files, with the parts each is to be cut
// into for workers, from their sizes (metadata only; the cuts are made by
// split, as the units are handed out).
func newPlanner(files []reader.File, cols []string, workers int, shard Shard) *planner {
	p := &planner{files: files, cols: cols}
	var sizes []int64
	var lens []uint64
	for fi, f := range files {
		us := f.Units()
		if us == nil { // a stream: one unit read in order
			p.units = append(p.units, wholeUnit{file: fi, index: -1, parts: 1, rows: -1})
			sizes = append(sizes, 0)
			lens = append(lens, 1)
			continue
		}
		sp, _ := f.(reader.Splitter)
		var first int64
		for _, u := range us {
			var n int64
			if sp != nil {
				n = max(sp.UnitBytes(u.Index, cols), 0)
			}
			p.units = append(p.units, wholeUnit{file: fi, index: u.Index, parts: 1, first: first, rows: u.Rows})
			first += max(u.Rows, 0)
			sizes = append(sizes, n)
			lens = append(lens, uint64(max(n, 1)))
		}
	}
	if !shard.all() {
		p.units = shareUnits(files, cols, p.units, lens, shard)
		sizes = sizes[:0]
		for _, u := range p.units {
			n := int64(0)
			if u.part == nil {
				if sp, ok := files[u.file].(reader.Splitter); ok && u.index >= 0 {
					n = max(sp.UnitBytes(u.index, cols), 0)
				}
			}
			sizes = append(sizes, n)
		}
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	if workers < 2 {
		return p
	}
	target := max(splitMinBytes, total/(int64(workers)*splitPerWorker), 1)
	for i, n := range sizes {
		// A unit of a file in object storage is read whole: its parts
		// would each fetch the page they start in (a Parquet page can be
		// 100 MB), and the network, not decoding, bounds the run.
		if pf, ok := files[p.units[i].file].(reader.Prefetcher); ok && pf.Prefetches() {
			continue
		}
		if n > target {
			p.units[i].parts = int(min((n+target-1)/target, n/max(splitMinBytes, 1), 1<<16))
		}
	}
	return p
}

// planned is the number of units and parts the run will have at most.
func (p *planner) planned() int {
	n := 0
	for _, u := range p.units {
		n += max(u.parts, 1)
	}
	return n
}

// split cuts w into parts, numbered from ordinal, or returns it whole: when
// it is not to be cut, or cannot be cut (a reader that finds the file
// corrupt while cutting it leaves the error to the whole unit's scan, which
// reports it at its place).
func (p *planner) split(w wholeUnit, ordinal int) []unit {
	whole := []unit{{file: w.file, index: w.index, ordinal: ordinal, first: w.first, part: w.part}}
	if w.parts < 2 || w.part != nil {
		return whole
	}
	parts, err := p.files[w.file].(reader.Splitter).Split(w.index, p.cols, w.parts)
	if err != nil || len(parts) < 2 {
		return whole
	}
	cutUnits.Add(1)
	left := new(atomic.Int32)
	left.Store(int32(len(parts)))
	us := make([]unit, len(parts))
	for k := range parts {
		us[k] = unit{file: w.file, index: w.index, ordinal: ordinal + k, first: w.first + parts[k].First, part: &parts[k], left: left}
	}
	return us
}

// failure is an error at a position in input order.
type failure struct {
	unit int
	row  int64 // within the unit
	err  error // a reader error, or nil for an invalid row (see rowErr)
	re   *metrics.RowError
}

func (a failure) before(b failure) bool {
	if a.unit != b.unit {
		return a.unit < b.unit
	}
	return a.row < b.row
}

// Run evaluates every unit of every file.
func Run(ctx context.Context, job *Job) (*Result, error) {
	opt := job.Options
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultOptions().BatchRows
	}
	plan := newPlanner(job.Files, job.Columns, opt.Workers, job.Shard)
	// units lists what was handed out, in input order (written by the
	// goroutine that hands them out, read after the workers are done).
	var units []unit

	// An unknown class count is the length of the first non-null list in
	// input order. Rather than read ahead for it, every evaluator adopts
	// the first list it sees; when afterwards they do not all agree with
	// the first list in input order (list lengths that differ: invalid
	// rows), the run is made again with that count fixed, so the result is
	// always the one a known count would give.
	classes := job.Config.Classes
	lazyClasses := classes == 0 && job.PredColumn != ""

	// firstFail is the ordinal of the earliest unit known to fail; units
	// after it need not run.
	var firstFail atomic.Int64
	firstFail.Store(math.MaxInt64)
	var mu sync.Mutex
	var fails []failure
	fail := func(f failure) {
		mu.Lock()
		fails = append(fails, f)
		mu.Unlock()
		for {
			cur := firstFail.Load()
			if int64(f.unit) >= cur || firstFail.CompareAndSwap(cur, int64(f.unit)) {
				return
			}
		}
	}

	// Files in object storage fetch the units' bytes ahead, in the order
	// the units are handed out.
	// (Parts of a unit, cut for --shard, read only some of its bytes: they
	// go without.)
	for _, w := range plan.units {
		if pf, ok := job.Files[w.file].(reader.Prefetcher); ok && w.part == nil {
			pf.Prefetch(w.index, job.Columns)
		}
	}
	work := make(chan unit)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		for _, w := range plan.units {
			if int64(len(units)) > firstFail.Load() {
				return nil
			}
			for _, u := range plan.split(w, len(units)) {
				if int64(u.ordinal) > firstFail.Load() {
					return nil
				}
				units = append(units, u)
				select {
				case work <- u:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		}
		return nil
	})
	// With fewer units than workers (one large row group that cannot be
	// cut, a few record batches), the workers of a unit share its batches:
	// each batch's rows are cut into parts, one per worker. Partial states
	// merge exactly, so the cut does not show in any figure.
	readers, split := opt.Workers, 1
	if n := plan.planned(); n > 0 && n < opt.Workers {
		readers, split = n, opt.Workers/n
	}
	// At the tail of a run, a worker that finds no unit left to start
	// puts its evaluators in spare, and the units still running borrow
	// them to share their batches in the same way (row groups of unequal
	// size would otherwise leave a core idle).
	spare := make(chan *metrics.Evaluator, readers*split)
	var evs []*metrics.Evaluator
	for range readers {
		ev := make([]*metrics.Evaluator, split)
		for k := range ev {
			ev[k] = metrics.NewEvaluator(job.Config, classes)
		}
		evs = append(evs, ev...)
		g.Go(func() (err error) {
			for u := range work {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				if int64(u.ordinal) > firstFail.Load() {
					continue
				}
				if f, ok := runUnit(gctx, job, ev, spare, u, opt, &firstFail); !ok {
					fail(f)
				}
			}
			for _, e := range ev {
				spare <- e
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	if lazyClasses {
		k, agree := agreedClasses(evs)
		if !agree {
			fixed := *job
			cfg := *job.Config
			cfg.Classes = k
			fixed.Config = &cfg
			// The first run read every unit, so progress already stands
			// at the end: the rerun does not report its units again.
			fixed.Progress = nil
			return Run(ctx, &fixed)
		}
		classes = k
	}
	st := evs[0].State()
	for _, ev := range evs[1:] {
		if err := st.Merge(ev.State()); err != nil {
			return nil, err // evaluators of one job share its Config
		}
	}
	if m := job.Config.MaxSlices; m > 0 && st.NumSlices() > m && len(fails) == 0 {
		// Each evaluator kept to the limit; together they passed it.
		name := job.Names[0]
		if len(job.Names) > 1 {
			name = fmt.Sprintf("%s and %d more", name, len(job.Names)-1)
		}
		return nil, &InputError{File: name, Msg: fmt.Sprintf("more than %d distinct --by combinations", m)}
	}
	if len(fails) > 0 {
		sort.Slice(fails, func(i, j int) bool { return fails[i].before(fails[j]) })
		f := fails[0]
		u := units[f.unit]
		if f.re != nil {
			col := job.ColumnOf(f.re.Role)
			return nil, &InputError{File: job.Names[u.file], Row: u.first + f.row + 1, Msg: f.re.Message(col), Err: ErrInvalidRow}
		}
		return nil, f.err
	}
	res := &Result{State: st, FileRows: make([]int64, len(job.Files)), Ranges: make([][]Range, len(job.Files)), Classes: classes, names: job.Names}
	for _, u := range units {
		n := st.UnitRows[u.ordinal]
		res.FileRows[u.file] += n
		if n == 0 {
			continue
		}
		rs := res.Ranges[u.file]
		if k := len(rs) - 1; k >= 0 && rs[k].Hi == u.first {
			rs[k].Hi += n
		} else {
			res.Ranges[u.file] = append(rs, Range{u.first, u.first + n})
		}
	}
	// Positions that mean the same in every run over these inputs: the
	// file and the row within it.
	st.RelocateWorst(func(un int, row int64) (int, int64) { return units[un].file, units[un].first + row })
	cc := metrics.NoClassCount
	if classes > 0 {
		cc.N = classes
		if f, ok := firstList(evs); ok {
			cc.File, cc.Row = units[f.unit].file, units[f.unit].first+f.row
		}
	}
	st.SetClassCount(cc)
	return res, nil
}

// cutUnits counts the units cut into parts (for tests).
var cutUnits atomic.Int64

// borrowed counts evaluators borrowed from spare (for tests).
var borrowed atomic.Int64

// testHookBatch, when set (by tests), is called before a unit's batch n
// (from 0) looks for spare evaluators, with the unit's index within its
// file and how many evaluators it has: a test makes borrowing certain by
// waiting there for spare to fill, instead of hoping for the timing.
var testHookBatch func(index, n, have int, spare chan *metrics.Evaluator)

// minPartRows is the fewest rows a batch part is cut to.
const minPartRows = 256

// runUnit evaluates one unit with own (one evaluator, or several that
// share each batch), and with any it can borrow from spare, which it gives
// back at the end; on failure it returns where and why.
func runUnit(ctx context.Context, job *Job, own []*metrics.Evaluator, spare chan *metrics.Evaluator, u unit, opt Options, firstFail *atomic.Int64) (f failure, ok bool) {
	name := job.Names[u.file]
	var base int64
	defer func() {
		if p := recover(); p != nil {
			f = panicFailure(name, u, base, p)
			ok = false
		}
	}()
	evs := append([]*metrics.Evaluator(nil), own...)
	defer func() {
		for _, e := range evs[len(own):] {
			spare <- e
		}
	}()
	key := job.Names[u.file]
	if job.Keys != nil {
		key = job.Keys[u.file]
	}
	pos := metrics.Position{File: metrics.FileKey(key), Row: u.first}
	nerr := make([]int, len(evs))
	for k, ev := range evs {
		ev.BeginUnitAt(u.ordinal, pos)
		nerr[k] = len(ev.State().Errs)
	}
	s := u.scan(job.Files[u.file], job.Columns, opt.BatchRows)
	defer s.Close()
	oks := make([]bool, len(evs))
	panics := make([]any, len(evs))
	for nb := 0; s.Next(); nb++ {
		if testHookBatch != nil {
			testHookBatch(u.index, nb, len(evs), spare)
		}
		// Borrow what is spare, up to one evaluator per worker.
	borrow:
		for len(evs) < opt.Workers {
			select {
			case ev := <-spare:
				borrowed.Add(1)
				ev.BeginUnitAt(u.ordinal, pos)
				evs = append(evs, ev)
				nerr = append(nerr, len(ev.State().Errs))
				oks = append(oks, false)
				panics = append(panics, nil)
			default:
				break borrow
			}
		}
		b := s.Batch()
		cols := job.Bind(b)
		parts := min(len(evs), b.Rows/minPartRows)
		if parts <= 1 {
			parts = 1
			oks[0] = evs[0].Add(&cols, base)
		} else {
			var wg sync.WaitGroup
			for k := 1; k < parts; k++ {
				wg.Go(func() {
					defer func() {
						if p := recover(); p != nil {
							panics[k], oks[k] = p, false
						}
					}()
					lo, hi := b.Rows*k/parts, b.Rows*(k+1)/parts
					part := cols.Slice(lo, hi)
					oks[k] = evs[k].Add(&part, base+int64(lo))
				})
			}
			part := cols.Slice(0, b.Rows/parts)
			oks[0] = evs[0].Add(&part, base)
			wg.Wait()
		}
		var first failure
		failed := false
		for k := range parts {
			if oks[k] {
				continue
			}
			var fk failure
			switch errs := evs[k].State().Errs; {
			case panics[k] != nil:
				fk = panicFailure(name, u, base, panics[k])
			case len(errs) > nerr[k]:
				re := errs[len(errs)-1]
				fk = failure{unit: u.ordinal, row: re.Row, re: &re}
			default:
				fk = failure{unit: u.ordinal, row: base, err: &InputError{File: name, Msg: fmt.Sprintf("more than %d distinct --by combinations", job.Config.MaxSlices)}}
			}
			if !failed || fk.before(first) {
				first, failed = fk, true
			}
		}
		if failed {
			return first, false
		}
		base += int64(b.Rows)
		if job.Progress != nil {
			job.Progress(u.file, b.Rows, false)
		}
		if int64(u.ordinal) > firstFail.Load() || ctx.Err() != nil {
			return failure{}, true // abandoned: a result is never made from it
		}
	}
	if err := s.Err(); err != nil {
		return failure{unit: u.ordinal, row: base, err: err}, false
	}
	if u.done() && job.Progress != nil {
		job.Progress(u.file, 0, true)
	}
	return failure{}, true
}

func panicFailure(name string, u unit, row int64, p any) failure {
	return failure{unit: u.ordinal, row: row, err: &InputError{File: name, Msg: fmt.Sprintf("internal error: %v", p), Err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}}
}

// firstList is where the first non-null prediction list in input order
// is (unit ordinal and row), if any evaluator saw one.
func firstList(evs []*metrics.Evaluator) (failure, bool) {
	var first failure
	found := false
	for _, ev := range evs {
		for u, f := range ev.FirstListLens() {
			if p := (failure{unit: u, row: f.Row}); !found || p.before(first) {
				first, found = p, true
			}
		}
	}
	return first, found
}

// agreedClasses returns the length of the first non-null prediction list
// in input order, and whether every evaluator that adopted a class count
// adopted that one.
func agreedClasses(evs []*metrics.Evaluator) (k int, agree bool) {
	first, row := -1, int64(0)
	for _, ev := range evs {
		for u, f := range ev.FirstListLens() {
			if first < 0 || u < first || u == first && f.Row < row {
				first, row, k = u, f.Row, f.Len
			}
		}
	}
	for _, ev := range evs {
		if c := ev.Classes(); c != 0 && c != k {
			return k, false
		}
	}
	return k, true
}
