// Package metrics computes evalnll's figures: per-row negative
// log-likelihood of every prediction kind, in log space, and accuracy,
// Brier score and calibration where they apply.
//
// Callers build a Config, make one Evaluator per worker with NewEvaluator,
// feed it batches with Add, then Merge the evaluators' States (in any order:
// every sum is exact) and call State.Summary once. Rows that are invalid
// stop the evaluation or are counted by Reason, as Config.Skip says.
package metrics

import (
	"fmt"
	"math"
)

// Kind is the kind of prediction evaluated.
type Kind uint8

const (
	KindAuto Kind = iota
	Binary
	Multiclass
	Multilabel
	Logprob
	Gaussian
)

var kindNames = [...]string{"auto", "binary", "multiclass", "multilabel", "logprob", "gaussian"}

func (k Kind) String() string { return kindNames[k] }

// ParseKind parses a --kind value.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown kind %q (want auto, binary, multiclass, multilabel, logprob or gaussian)", s)
}

// HasCalibration reports whether accuracy, Brier and calibration apply.
func (k Kind) HasCalibration() bool { return k == Binary || k == Multiclass || k == Multilabel }

// Pred is the form of the prediction column.
type Pred uint8

const (
	PredProb    Pred = iota // probabilities
	PredLogit               // logits
	PredLogprob             // log-probability of the observed outcome
	PredStd                 // gaussian mean with standard deviation
	PredVar                 // gaussian mean with variance
)

// Units is the unit of NLL figures.
type Units uint8

const (
	Nats Units = iota
	Bits
	Hartleys
)

func (u Units) String() string { return [...]string{"nats", "bits", "hartleys"}[u] }

// Scale is ln(base): NLL in these units is NLL in nats divided by it.
func (u Units) Scale() float64 {
	switch u {
	case Bits:
		return math.Ln2
	case Hartleys:
		return math.Ln10
	}
	return 1
}

// Binning is how calibration bins are cut.
type Binning uint8

const (
	Uniform  Binning = iota // equal width
	Quantile                // equal weight
)

func (b Binning) String() string { return [...]string{"uniform", "quantile"}[b] }

// Config says what to evaluate and how.
type Config struct {
	Kind Kind
	Pred Pred
	// Tokens is set when a logprob column holds a list per row (a sequence).
	Tokens   bool
	Eps      float64
	Units    Units
	Bins     int
	Binning  Binning
	Weighted bool
	// Skip leaves invalid rows out and counts them; otherwise the first
	// invalid row stops the evaluation.
	Skip bool
	// Classes is the class (or label) count when the schema fixes it
	// (fixed-size lists); 0 adopts the length of the first non-null list.
	Classes int
	// ByCols is the number of --by columns.
	ByCols int
	// MaxSlices bounds the number of distinct --by combinations.
	MaxSlices int
	// Worst keeps the N rows of highest NLL.
	Worst int
	HasID bool
	// Discrim adds the discrimination figures (AUROC, AUPRC) and the
	// figures of the confidence histogram (ece_sweep, smece).
	Discrim bool
	// TopK adds top-k accuracy (multiclass), 0 for none.
	TopK int
	// Classwise adds each class's one-vs-rest ECE and their mean
	// (multiclass).
	Classwise bool
	// Bootstrap configures the confidence intervals of the overall figures.
	Bootstrap BootstrapConfig
	// Labels maps a string label column to label values (nil: labels are
	// numbers or bools).
	Labels *Labels
	// Pair: a binary run whose prediction is a list of two probabilities
	// per row, [P(y=0), P(y=1)], evaluated on the second.
	Pair bool

	// Language-model figures (kind logprob only; see lm.go): LMBytes when
	// each row has a byte count (Cols.Bytes, or the length of Cols.Text),
	// LMWords when it has a word count (Cols.Words, or the words of
	// Cols.Text). Mask (token lists only) counts only the tokens whose
	// Cols.Mask element is 1.
	LMBytes, LMWords, Mask bool
}

// hist reports whether accumulators keep the confidence histogram.
func (c *Config) hist() bool {
	return c.Kind.HasCalibration() && (c.Binning == Quantile || c.Discrim)
}

// DefaultConfig is the SPEC's defaults for a binary evaluation.
func DefaultConfig() Config {
	return Config{Kind: Binary, Eps: 1e-15, Bins: 15, MaxSlices: 100000}
}

// Reason is why a row is invalid.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonNull
	ReasonNaN
	ReasonInf
	ReasonOutOfRange
	ReasonBadLabel
	ReasonSum
	ReasonLength
	ReasonNegativeWeight
	ReasonBadScale
	ReasonNegativeCount // a negative byte or word count
	NumReasons
)

var reasonNames = [...]string{"", "null", "nan", "inf", "out_of_range", "bad_label", "sum", "length", "negative_weight", "bad_scale", "negative_count"}

// String is the reason's key in the report's "skipped" object.
func (r Reason) String() string { return reasonNames[r] }
