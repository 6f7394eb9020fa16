package reader

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/evalnll/evalnll/internal/column"
)

// ArrowFields describes the fields of an Arrow schema as the Fields of an
// opened Arrow IPC file describe them.
func ArrowFields(s *arrow.Schema) []Field { return arrowFields(s) }

// Records turns Arrow record batches that a program holds in memory into
// batches of the named columns, as a Scanner of an Arrow IPC file does.
// One Records per goroutine.
type Records struct {
	fields []Field
	colIdx []int
	cols   []*arrowCol
	batch  column.Batch
}

// NewRecords prepares to read the columns cols of records of the given
// schema. A column that is not in the schema, or that evalnll cannot read,
// is an error.
func NewRecords(schema *arrow.Schema, cols []string) (*Records, error) {
	r := &Records{fields: arrowFields(schema)}
	for _, n := range cols {
		idx := -1
		for i, f := range r.fields {
			if f.Name == n {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, unknownColumn(n, r.fields)
		}
		if r.fields[idx].Type == column.Unsupported {
			return nil, unsupportedColumn(r.fields[idx])
		}
		c := &arrowCol{field: r.fields[idx]}
		r.colIdx = append(r.colIdx, idx)
		r.cols = append(r.cols, c)
		r.batch.Cols = append(r.batch.Cols, &c.out)
	}
	return r, nil
}

// Batch converts rows [lo, hi) of rec, a record batch of the schema given
// to NewRecords. The batch points into rec's buffers where the types allow:
// it is valid while rec is and until the next call to Batch. Inconsistent
// arrays are an error, never a panic.
func (r *Records) Batch(rec arrow.RecordBatch, lo, hi int64) (b *column.Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, panicError(p)
		}
	}()
	if lo < 0 || hi < lo || hi > rec.NumRows() {
		return nil, fmt.Errorf("rows [%d, %d) of a record batch of %d rows", lo, hi, rec.NumRows())
	}
	for k, c := range r.cols {
		arr := rec.Column(r.colIdx[k])
		if err := validateArray(arr, 0); err != nil {
			return nil, fmt.Errorf("column %q: %w", c.field.Name, err)
		}
		if err := c.extract(arr, lo, hi); err != nil {
			return nil, fmt.Errorf("column %q: %w", c.field.Name, err)
		}
	}
	r.batch.Rows = int(hi - lo)
	return &r.batch, nil
}
