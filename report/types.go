package report

import "github.com/evalnll/evalnll/internal/metrics"

// The types of a Model's figures, named here so that a program reading a
// report names them from this package (they are metrics' own: one type per
// concept; Model.Overall is a metrics.Figures). Every NLL figure among them
// is in the Model's Units.
type (
	// SliceFigures are the figures of the rows of one By combination.
	SliceFigures = metrics.SliceFigures
	// BinFigures is one calibration bin.
	BinFigures = metrics.BinFigures
	// ClassFigures are the figures of the rows of one true class.
	ClassFigures = metrics.ClassFigures
	// Value is a By or ID value read from a table.
	Value = metrics.Value
	// BootstrapResult holds the bootstrap intervals and replicates.
	BootstrapResult = metrics.BootstrapResult
	// BootstrapConfig is how the replicates were drawn.
	BootstrapConfig = metrics.BootstrapConfig
	// Kind is the kind of prediction evaluated.
	Kind = metrics.Kind
	// Units is the unit of NLL figures.
	Units = metrics.Units
	// Binning is how calibration bins are cut.
	Binning = metrics.Binning
)
