package evalnll

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/evalnll/evalnll/internal/column"
	"github.com/evalnll/evalnll/internal/mapping"
	"github.com/evalnll/evalnll/internal/metrics"
	"github.com/evalnll/evalnll/internal/reader"
	"github.com/evalnll/evalnll/report"
)

// An Accumulator evaluates the Arrow record batches a program gives it and
// keeps exact sums: accumulators of the same Spec and schema merge, in any
// order and grouping, into the state one accumulator fed every row would
// hold. An Accumulator is not safe for concurrent use: give each goroutine
// its own and Merge them.
//
// After an error from Add the Accumulator keeps that error: Add, Merge and
// Report return it again.
type Accumulator struct {
	// Name names the rows in errors ("NAME:ROW") and the input in the
	// report; "records" unless set before the first Add.
	Name string

	spec     Spec
	cfg      *metrics.Config // interned: equal settings, one pointer
	schema   *arrow.Schema
	mp       *mapping.Mapping
	recs     *reader.Records
	bind     func(*column.Batch) metrics.Cols
	columnOf func(metrics.Role) string
	// ev evaluates the rows added since st was last brought up to date;
	// nil until the next Add.
	ev      *metrics.Evaluator
	st      *metrics.State
	classes int // class count adopted (lists of unknown length), or 0
	rows    int64
	err     error
}

// NewAccumulator checks spec, resolves its columns and kind against schema
// (the columns found by convention, KindAuto decided from their shapes) and
// derives everything the schema tells (weights, slices, ids, token lists,
// the class count of fixed-size lists). The error is a *SpecError or a
// *SchemaError.
func NewAccumulator(spec Spec, schema *arrow.Schema) (*Accumulator, error) {
	cfg, err := spec.config()
	if err != nil {
		return nil, err
	}
	if schema == nil {
		return nil, &SchemaError{Err: fmt.Errorf("no schema")}
	}
	mp, err := mapping.Resolve(spec.request(), specNames, [][]reader.Field{reader.ArrowFields(schema)}, []string{"records"}, cfg)
	if err != nil {
		return nil, &SchemaError{Err: err}
	}
	if err := checkGates(cfg, spec, specNames); err != nil {
		return nil, err
	}
	job := mp.Job(nil, nil, cfg)
	recs, err := reader.NewRecords(schema, job.Columns)
	if err != nil {
		return nil, &SchemaError{Err: err}
	}
	cfg = intern(cfg)
	return &Accumulator{Name: "records", spec: spec, cfg: cfg, schema: schema, mp: mp, recs: recs,
		bind: job.Bind, columnOf: job.ColumnOf, classes: cfg.Classes}, nil
}

// addChunk is the most rows converted at a time.
const addChunk = 1 << 16

// Add evaluates the rows of rec, a record batch of the accumulator's
// schema; rows are numbered from 1 across every Add. An invalid row is a
// *RowError (unless Spec.SkipInvalid), a record of another schema a
// *SchemaError. rec is only read during the call.
func (a *Accumulator) Add(rec arrow.RecordBatch) error {
	if a.err != nil {
		return a.err
	}
	if rec == nil {
		return nil
	}
	if !rec.Schema().Equal(a.schema) {
		return &SchemaError{Err: fmt.Errorf("%s: record batch schema %s differs from the accumulator's %s", a.Name, rec.Schema(), a.schema)}
	}
	if a.ev == nil {
		a.ev = metrics.NewEvaluator(a.cfg, a.classes)
		// Without an ID column, bootstrap buckets key rows by position:
		// the accumulator's Name and the row's number in it, as the
		// command keys a file's rows by its path and row.
		a.ev.BeginUnitAt(0, metrics.Position{File: metrics.FileKey(a.Name)}) // rows: base in Add
	}
	n := rec.NumRows()
	for lo := int64(0); lo < n; lo += addChunk {
		hi := min(n, lo+addChunk)
		b, err := a.recs.Batch(rec, lo, hi)
		if err != nil {
			a.err = fmt.Errorf("%s:%d: %w", a.Name, a.rows+lo+1, err)
			return a.err
		}
		c := a.bind(b)
		if !a.ev.Add(&c, a.rows+lo) {
			a.err = a.failure()
			return a.err
		}
	}
	a.rows += n
	return nil
}

// failure is the error of a stopped evaluator.
func (a *Accumulator) failure() error {
	st := a.ev.State()
	a.ev = nil
	if len(st.Errs) == 0 {
		return fmt.Errorf("%s: more than %d distinct By combinations", a.Name, a.cfg.MaxSlices)
	}
	re := st.Errs[0]
	col := a.columnOf(re.Role)
	return newRowError(a.Name, re.Row+1, col, re.Message(col))
}

// settle brings st up to date with the rows of ev.
func (a *Accumulator) settle() error {
	if a.ev == nil {
		return nil
	}
	k := a.ev.Classes()
	s := a.ev.State()
	a.ev = nil
	if a.classes == 0 {
		a.classes = k
	}
	if a.st == nil {
		a.st = s
		return nil
	}
	return mergeStates(a.st, s)
}

// Merge adds the rows of other into a; other must not be used afterwards.
// Accumulators of different settings (kind, units, bins, columns...) or
// class counts do not merge: the error is a *MismatchError naming the
// first setting that differs.
func (a *Accumulator) Merge(other *Accumulator) error {
	if a.err != nil {
		return a.err
	}
	if other.err != nil {
		return other.err
	}
	if a == other {
		return fmt.Errorf("evalnll: an accumulator merged into itself")
	}
	if err := a.settle(); err != nil {
		return err
	}
	if err := other.settle(); err != nil {
		return err
	}
	if err := a.compatible(other); err != nil {
		return err
	}
	if other.st != nil {
		if a.st == nil {
			a.st = metrics.NewEvaluator(a.cfg, a.classes).State()
		}
		if err := mergeStates(a.st, other.st); err != nil {
			return err
		}
	}
	if a.classes == 0 {
		a.classes = other.classes
	}
	a.rows += other.rows
	other.st, other.err = nil, fmt.Errorf("evalnll: Add, Merge or Report of an accumulator merged into another")
	return nil
}

// Report summarises the rows added so far (the accumulator may be fed
// more afterwards) and judges the Spec's gates. A report over no valid row,
// or rows of total weight 0, is an error wrapping ErrNoRows.
func (a *Accumulator) Report() (*report.Model, error) {
	if a.err != nil {
		return nil, a.err
	}
	if err := a.settle(); err != nil {
		return nil, err
	}
	if a.rows == 0 || a.st == nil {
		return nil, &noRowsError{fmt.Sprintf("%s: no input rows", a.Name)}
	}
	ins := []report.Input{{Path: a.Name, Rows: a.rows, Format: "arrow-records"}}
	name := a.Name
	m, err := newModel(a.cfg, a.mp.Report(), a.st.Summary(), ins, name, func(_ int, row int64) string {
		return name + ":" + strconv.FormatInt(row+1, 10)
	})
	if err != nil {
		return nil, err
	}
	if err := judge(m, a.spec, specNames); err != nil {
		return nil, err
	}
	return m, nil
}

// compatible reports the first setting in which a and other differ: the
// metrics configuration (compared by metrics.Config.Diff, the one table
// of what makes two states unmergeable, shared with evalnll merge), then
// the columns, which the configuration does not hold.
func (a *Accumulator) compatible(other *Accumulator) error {
	if d := a.cfg.Diff(other.cfg); d != nil {
		return mismatch(*d)
	}
	diff := func(field string, p, q any) error {
		return &MismatchError{Field: field, This: fmt.Sprint(p), Other: fmt.Sprint(q)}
	}
	if x, y := a.spec.Weight, other.spec.Weight; x != y {
		return diff("Weight", x, y)
	}
	if x, y := a.spec.ID, other.spec.ID; x != y {
		return diff("ID", x, y)
	}
	if p, q := a.mp.Report().Pairs(), other.mp.Report().Pairs(); fmt.Sprint(p) != fmt.Sprint(q) {
		return diff("columns", p, q)
	}
	if fmt.Sprint(a.mp.Report().By) != fmt.Sprint(other.mp.Report().By) {
		return diff("By", a.mp.Report().By, other.mp.Report().By)
	}
	if a.classes != 0 && other.classes != 0 && a.classes != other.classes {
		return diff("classes", a.classes, other.classes)
	}
	return nil
}

// specFields names, for a setting of metrics.ConfigDiff (named as the
// command line names it), the Spec field a library user set.
var specFields = map[string]string{
	"--kind": "Kind", "prediction column type": "prediction form", "--eps": "Eps", "--base": "Units",
	"--bins": "Bins", "--binning": "Binning", "--weight": "Weight", "--on-invalid": "SkipInvalid",
	"class count": "classes", "--by columns": "By", "--max-slices": "MaxSlices", "--worst": "Worst",
	"--id": "ID", "--bootstrap": "Bootstrap", "bootstrap buckets": "Bootstrap",
	"--bootstrap-seed": "BootstrapSeed", "--auroc": "AUROC", "--topk": "TopK", "--classwise": "Classwise",
	"labels": "Positive/Classes", "--bytes": "Bytes", "--words/--text": "Words/Text", "--mask": "Mask",
}

// mismatch is the *MismatchError of a configuration difference.
func mismatch(d metrics.ConfigDiff) *MismatchError {
	f, ok := specFields[d.Field]
	if !ok {
		f = d.Field
	}
	return &MismatchError{Field: f, This: d.A, Other: d.B}
}

// mergeStates adds o into s, after compatible found them alike; an error
// of metrics' State.Merge (a difference compatible did not see) is
// returned as a *MismatchError, and s is then not to be used.
func mergeStates(s, o *metrics.State) error {
	err := s.Merge(o)
	var ce *metrics.ConfigError
	var cc *metrics.ClassCountError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return mismatch(ce.ConfigDiff)
	case errors.As(err, &cc):
		return &MismatchError{Field: "classes", This: strconv.Itoa(cc.A.N), Other: strconv.Itoa(cc.B.N)}
	}
	return err
}

// configs holds one pointer per distinct configuration (see mergeStates).
var configs struct {
	sync.Mutex
	m map[metrics.Config]*metrics.Config
}

func intern(c *metrics.Config) *metrics.Config {
	configs.Lock()
	defer configs.Unlock()
	if p, ok := configs.m[*c]; ok {
		return p
	}
	if configs.m == nil {
		configs.m = map[metrics.Config]*metrics.Config{}
	}
	configs.m[*c] = c
	return c
}
