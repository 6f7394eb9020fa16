package evalnll

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinels that the errors of the package wrap, for errors.Is.
var (
	// ErrSpec is wrapped by a *SpecError.
	ErrSpec = errors.New("invalid spec")
	// ErrSchema is wrapped by a *SchemaError.
	ErrSchema = errors.New("schema does not fit the spec")
	// ErrInvalidRow is wrapped by a *RowError.
	ErrInvalidRow = errors.New("invalid row")
	// ErrMismatch is wrapped by a *MismatchError.
	ErrMismatch = errors.New("accumulators do not match")
	// ErrNoRows is wrapped by the error of a report over no valid rows, or
	// rows of total weight 0.
	ErrNoRows = errors.New("no rows to evaluate")
)

// A SpecError is a setting of a Spec that cannot be evaluated.
type SpecError struct {
	Field  string // the Spec field, e.g. "Eps"
	Reason string
}

func (e *SpecError) Error() string { return fmt.Sprintf("Spec.%s: %s", e.Field, e.Reason) }
func (e *SpecError) Unwrap() error { return ErrSpec }

// A SchemaError is a table whose columns do not fit the Spec: a column
// missing, of an unusable type, of another shape than the kind needs, or no
// column found by convention. Its message names the input at fault and
// lists its columns.
type SchemaError struct {
	Err error
}

func (e *SchemaError) Error() string { return e.Err.Error() }

// Unwrap returns ErrSchema and the underlying error.
func (e *SchemaError) Unwrap() []error { return []error{ErrSchema, e.Err} }

// A RowError is an invalid row: where it is and why. Its message is the one
// line `evalnll eval` prints, "FILE:ROW: column "C": reason".
type RowError struct {
	File   string // the input's name, or the Accumulator's Name
	Row    int64  // from 1, in the input (or in the rows given to Add)
	Column string
	// Reason says what is wrong, e.g. "NaN", "element 3: 1.5 is outside
	// [0, 1]".
	Reason string
	msg    string // the message about the column, as metrics writes it
}

func (e *RowError) Error() string {
	if e.msg == "" { // built by the caller
		return fmt.Sprintf("%s:%d: column %q: %s", e.File, e.Row, e.Column, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Row, e.msg)
}
func (e *RowError) Unwrap() error { return ErrInvalidRow }

// newRowError splits a metrics message `column "C"[ element N]: reason`.
func newRowError(file string, row int64, col, msg string) *RowError {
	reason := msg
	if p := fmt.Sprintf("column %q", col); len(msg) >= len(p) && msg[:len(p)] == p {
		reason = msg[len(p):]
		for len(reason) > 0 && (reason[0] == ' ' || reason[0] == ':') {
			reason = reason[1:]
		}
	}
	return &RowError{File: file, Row: row, Column: col, Reason: reason, msg: msg}
}

// messageColumn is the column a metrics row message names, `column "C"...`.
func messageColumn(msg string) string {
	rest, ok := strings.CutPrefix(msg, "column ")
	if !ok {
		return ""
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return ""
	}
	c, err := strconv.Unquote(q)
	if err != nil {
		return ""
	}
	return c
}

// A MismatchError is a Merge of accumulators whose settings differ: their
// sums cannot be added.
type MismatchError struct {
	Field       string // the setting, e.g. "Bins", "Kind", "classes"
	This, Other string // its values in the receiver and in the argument
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("cannot merge accumulators: %s differs (%s vs %s)", e.Field, e.This, e.Other)
}
func (e *MismatchError) Unwrap() error { return ErrMismatch }
