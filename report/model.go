// Package report turns an evaluation's figures into the documents people and
// machines read: the JSON report (schema evalnll.report/v1), a text summary
// and, from the same Model, the other renderers.
//
// The evalnll package builds a Model (Evaluate, Accumulator.Report) with
// its gates judged (package gate, which reads the figures through
// Model.Lookup); callers then call one renderer per format (JSON, Text,
// Markdown, Render) and write the bytes where they like. Renderers only
// format: every figure is computed before, in the Model's units. Baselines
// and comparisons read a report back as a Doc (ParseDoc, ReadBaseline,
// Compare).
package report

import (
	"fmt"
	"strconv"

	"github.com/evalnll/evalnll/internal/metrics"
)

// Schema is the JSON report's schema name.
const Schema = "evalnll.report/v1"

// EdgeRule states which side of a uniform bin is closed.
const EdgeRule = "[lo, hi), the last bin closed at 1"

// Input is one input file.
type Input struct {
	Path   string
	Rows   int64
	Format string
}

// Mapping names the column of each role.
type Mapping struct {
	Label, Prob, Logit, Logprob, Mean, Std, Var, Weight, ID string
	By                                                      []string
	// Positive is the string label of the positive class (--positive);
	// Classes names the prediction list's positions (--classes).
	Positive string
	Classes  []string
	// Pair: the prediction is a list [P(y=0), P(y=1)] read as binary from
	// its element 1.
	Pair bool
	// Language-model columns (--bytes, --words, --text, --mask).
	Bytes, Words, Text, Mask string
	// Warnings are the mapping's caveats (a --logprob list beside a label
	// column): reported as the report's warnings, not in "mapping", and
	// kept in partial states so that a merge reports them too.
	Warnings []string
}

// Gate is one evaluated gate.
type Gate struct {
	Expr   string
	Value  float64
	Failed bool
	// Base is the baseline's figure, for baseline gates.
	Base *float64
	// Paired is set when the baseline's bootstrap replicates paired with
	// this run's: the gate then judged the 95% interval of the change,
	// [DeltaLo, DeltaHi], in the limit's terms (absolute or relative).
	Paired           bool
	DeltaLo, DeltaHi float64
	Message          string // how much it failed by, for people
}

// WorstRow is one entry of the worst list, named.
type WorstRow struct {
	ID  metrics.Value
	NLL float64 // in the report's units
	// Token lists: the row's token count and NLL per token (report's
	// units; nil for an empty list).
	Tokens      *float64
	NLLPerToken *float64
	// What the row held: the label (null when none, or a list); the
	// prediction (binary: the probability or logit as given; multiclass:
	// the probability of the top class PredClass; gaussian: the mean, with
	// Scale the std or variance as given). nil where it does not apply.
	Label     metrics.Value
	Pred      *float64
	PredClass *int
	Scale     *float64
}

// Model is everything a renderer needs.
type Model struct {
	Kind    metrics.Kind
	Units   metrics.Units
	Eps     float64
	Clips   bool // probabilities are clipped: eps applies
	Binning metrics.Binning
	Inputs  []Input
	Mapping Mapping
	Overall metrics.Figures
	Slices  []metrics.SliceFigures
	Worst   []WorstRow
	// WorstPerToken is the worst list of a token-list run ranked by NLL
	// per token (nil otherwise); Worst is ranked by NLL per sequence.
	WorstPerToken []WorstRow
	Gates         []Gate
	// Warnings are caveats about the run, deduplicated, in first-seen order.
	// Names read from files appear in them as read: pass a warning through
	// Escape before it reaches a terminal.
	Warnings []string
	// PerClass holds per-true-class figures of a multiclass run (nil
	// otherwise).
	PerClass []ClassFigures
	// MinSliceSize hides slices of fewer rows in the markdown and text
	// reports (the JSON keeps every slice).
	MinSliceSize int64
	// ImageLink is the reliability diagram written beside the markdown
	// report, or "".
	ImageLink string
	// Bootstrap holds the intervals of the overall figures (nil when off),
	// in the report's units like every figure of the model.
	Bootstrap *metrics.BootstrapResult
}

// Render renders the model in a format: json, md, svg or png. path is where
// it will be written (a markdown report links images relative to it).
func (m *Model) Render(format, path string) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	switch format {
	case "json":
		return m.JSON(), nil
	case "md":
		data, err = m.markdownBytes(path)
	case "svg":
		data, err = m.SVG()
	case "png":
		data, err = m.PNG()
	default:
		return nil, fmt.Errorf("%s: unknown report format %q", path, format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// AddWarning records a caveat once.
func (m *Model) AddWarning(w string) {
	for _, x := range m.Warnings {
		if x == w {
			return
		}
	}
	m.Warnings = append(m.Warnings, w)
}

// JSON renders the evalnll.report/v1 document.
func (m *Model) JSON() []byte {
	doc := object{
		{"schema", Schema},
		{"kind", m.Kind.String()},
		{"units", m.Units.String()},
	}
	if m.Clips {
		doc = append(doc, member{"eps", number(m.Eps)})
	}
	ins := make([]any, len(m.Inputs))
	for i, in := range m.Inputs {
		ins[i] = object{{"path", in.Path}, {"rows", in.Rows}, {"format", in.Format}}
	}
	doc = append(doc, member{"inputs", ins})
	doc = append(doc, member{"mapping", m.mappingObj()})
	doc = append(doc, member{"overall", figuresObj(&m.Overall, m.Kind)})
	if m.Kind.HasCalibration() {
		bins := make([]any, len(m.Overall.Calibration))
		for i, b := range m.Overall.Calibration {
			o := object{{"lo", number(b.Lo)}, {"hi", number(b.Hi)}, {"count", b.Count}, {"weight", number(b.Weight)}}
			if b.Confidence != nil {
				o = append(o, member{"confidence", number(*b.Confidence)}, member{"outcome", number(*b.Outcome)})
			}
			bins[i] = o
		}
		cal := object{{"binning", m.Binning.String()}}
		if m.Binning == metrics.Uniform {
			cal = append(cal, member{"edges", EdgeRule})
		} else {
			cal = append(cal, member{"edges", "each bin holds as near total/N weight as ties allow; lo and hi are its smallest and largest confidence"})
		}
		cal = append(cal, calibrationFigures(&m.Overall.Detail)...)
		cal = append(cal, member{"bins", bins})
		doc = append(doc, member{"calibration", cal})
	}
	if m.Overall.Gauss != nil {
		bins := make([]any, len(m.Overall.Calibration))
		for i, b := range m.Overall.Calibration {
			bins[i] = object{{"lo", number(b.Lo)}, {"hi", number(b.Hi)}, {"count", b.Count}, {"weight", number(b.Weight)}}
		}
		doc = append(doc, member{"calibration", object{{"binning", "pit"}, {"edges", EdgeRule}, {"bins", bins}}})
	}
	if m.Bootstrap != nil {
		doc = append(doc, member{"bootstrap", m.bootstrapObj()})
	}
	if len(m.Mapping.By) > 0 {
		sl := make([]any, len(m.Slices))
		for i := range m.Slices {
			s := &m.Slices[i]
			by := object{}
			for j, v := range s.By {
				by = append(by, member{m.Mapping.By[j], valueJSON(v)})
			}
			o := object{{"by", by}}
			o = append(o, figuresObj(&s.Figures, m.Kind)...)
			sl[i] = o
		}
		doc = append(doc, member{"slices", sl})
	}
	worstList := func(rows []WorstRow) []any {
		ws := make([]any, len(rows))
		for i, w := range rows {
			o := object{{"id", valueJSON(w.ID)}, {"nll", number(w.NLL)}}
			if w.Tokens != nil {
				o = append(o, member{"tokens", number(*w.Tokens)})
				if w.NLLPerToken != nil {
					o = append(o, member{"nll_per_token", number(*w.NLLPerToken)})
				}
			}
			ws[i] = o
		}
		return ws
	}
	if m.Worst != nil {
		doc = append(doc, member{"worst", worstList(m.Worst)})
	}
	if m.WorstPerToken != nil {
		doc = append(doc, member{"worst_per_token", worstList(m.WorstPerToken)})
	}
	if m.Gates != nil {
		gs := make([]any, len(m.Gates))
		for i, g := range m.Gates {
			o := object{{"expr", g.Expr}, {"value", number(g.Value)}, {"failed", g.Failed}}
			if g.Base != nil {
				o = append(o, member{"base", number(*g.Base)})
				o = append(o, member{"paired", g.Paired})
				if g.Paired {
					o = append(o, member{"delta_interval", floats{g.DeltaLo, g.DeltaHi}})
				}
			}
			if !g.Failed && g.Message != "" {
				o = append(o, member{"note", g.Message})
			}
			gs[i] = o
		}
		doc = append(doc, member{"gates", gs})
	}
	if len(m.Warnings) > 0 {
		ws := make([]any, len(m.Warnings))
		for i, w := range m.Warnings {
			ws[i] = w
		}
		doc = append(doc, member{"warnings", ws})
	}
	return marshalIndent(doc)
}

// calibrationNames names the scalar figures of the JSON `calibration`
// object, in its order (those a run computed are written): gates name them
// bare ("smece") or as "calibration.smece".
var calibrationNames = []string{"rmsce", "l2ce_debiased", "brier_reliability", "brier_resolution",
	"brier_uncertainty", "ece_sweep", "ece_sweep_bins", "smece", "smece_sigma", "classwise_ece"}

// calibrationFigures is the scalar figures of the calibration object that
// d holds, in calibrationNames' order.
func calibrationFigures(d *metrics.CalDetail) object {
	var cal object
	opt := func(k string, v *float64) {
		if v != nil {
			cal = append(cal, member{k, number(*v)})
		}
	}
	opt("rmsce", d.RMSCE)
	opt("l2ce_debiased", d.L2CEDebiased)
	opt("brier_reliability", d.BrierReliability)
	opt("brier_resolution", d.BrierResolution)
	opt("brier_uncertainty", d.BrierUncertainty)
	opt("ece_sweep", d.ECESweep)
	if d.ECESweepBins != nil {
		cal = append(cal, member{"ece_sweep_bins", *d.ECESweepBins})
	}
	opt("smece", d.SmECE)
	opt("smece_sigma", d.SmECESigma)
	opt("classwise_ece", d.ClasswiseECE)
	return cal
}

func (m *Model) mappingObj() object {
	mp := m.Mapping
	o := object{}
	add := func(k, v string) {
		if v != "" {
			o = append(o, member{k, v})
		}
	}
	add("label", mp.Label)
	add("prob", mp.Prob)
	add("logit", mp.Logit)
	add("logprob", mp.Logprob)
	add("mean", mp.Mean)
	add("std", mp.Std)
	add("var", mp.Var)
	add("weight", mp.Weight)
	add("id", mp.ID)
	add("bytes", mp.Bytes)
	add("words", mp.Words)
	add("text", mp.Text)
	add("mask", mp.Mask)
	if len(mp.By) > 0 {
		by := make([]any, len(mp.By))
		for i, b := range mp.By {
			by[i] = b
		}
		o = append(o, member{"by", by})
	}
	if mp.Pair {
		o = append(o, member{"prob_element", 1})
	}
	add("positive", mp.Positive)
	if len(mp.Classes) > 0 {
		cs := make([]any, len(mp.Classes))
		for i, c := range mp.Classes {
			cs[i] = c
		}
		o = append(o, member{"classes", cs})
	}
	return o
}

// figuresObj lists the figures that apply to the kind, in a fixed order.
func figuresObj(f *metrics.Figures, kind metrics.Kind) object {
	o := object{{"rows", f.Rows}, {"weight", number(f.Weight)}}
	if f.Tokens != nil {
		o = append(o, member{"tokens", number(*f.Tokens)})
	}
	o = append(o, member{"nll", number(f.NLL)}, member{"nll_sum", number(f.NLLSum)})
	if f.NLLPerToken != nil {
		o = append(o, member{"nll_per_token", number(*f.NLLPerToken)})
	}
	if f.NLLStderr != nil {
		o = append(o, member{"nll_stderr", number(*f.NLLStderr)})
	}
	o = append(o, member{"perplexity", number(f.Perplexity)})
	opt := func(k string, v *float64) {
		if v != nil {
			o = append(o, member{k, number(*v)})
		}
	}
	// Language-model figures: bits_per_byte is in bits whatever the
	// report's units; the perplexities have none.
	opt("bytes", f.Bytes)
	opt("bits_per_byte", f.BitsPerByte)
	opt("byte_perplexity", f.BytePerplexity)
	opt("words", f.Words)
	opt("word_perplexity", f.WordPerplexity)
	opt("accuracy", f.Accuracy)
	opt("brier", f.Brier)
	opt("ece", f.ECE)
	opt("mce", f.MCE)
	if f.TopK != nil {
		o = append(o, member{"accuracy_top" + strconv.Itoa(f.TopKN), number(*f.TopK)})
	}
	opt("auroc", f.AUROC)
	opt("auprc", f.AUPRC)
	if g := f.Gauss; g != nil {
		o = append(o, member{"rmse", number(g.RMSE)}, member{"mae", number(g.MAE)}, member{"crps", number(g.CRPS)},
			member{"coverage_50", number(g.Coverage[0])}, member{"coverage_90", number(g.Coverage[1])}, member{"coverage_95", number(g.Coverage[2])})
	}
	if f.Clipped != nil {
		o = append(o, member{"clipped", *f.Clipped})
	}
	sk := object{}
	for _, r := range skippedOrder(f.Skipped) {
		sk = append(sk, member{r, f.Skipped[r]})
	}
	o = append(o, member{"skipped", sk})
	return o
}

// skippedOrder lists reasons in a fixed order.
func skippedOrder(m map[string]int64) []string {
	var out []string
	for r := metrics.Reason(1); r < metrics.NumReasons; r++ {
		if _, ok := m[r.String()]; ok {
			out = append(out, r.String())
		}
	}
	return out
}

func valueJSON(v metrics.Value) any {
	switch v.Kind {
	case metrics.VBool:
		return v.B
	case metrics.VInt:
		return v.I
	case metrics.VUint:
		return v.U
	case metrics.VFloat:
		return number(v.F)
	case metrics.VString:
		return v.S
	}
	return nil
}

// Pairs lists the mapping as "role=column" in a fixed order.
func (mp Mapping) Pairs() []string {
	var out []string
	for _, kv := range [][2]string{{"label", mp.Label}, {"prob", mp.Prob}, {"logit", mp.Logit}, {"logprob", mp.Logprob}, {"mean", mp.Mean}, {"std", mp.Std}, {"var", mp.Var}, {"weight", mp.Weight}, {"id", mp.ID},
		{"bytes", mp.Bytes}, {"words", mp.Words}, {"text", mp.Text}, {"mask", mp.Mask}} {
		if kv[1] != "" {
			out = append(out, kv[0]+"="+kv[1])
		}
	}
	return out
}

// bootstrapObj writes the intervals and what `compare` needs to pair two
// runs: the bucket row counts and every replicate value.
func (m *Model) bootstrapObj() object {
	b := m.Bootstrap
	key := "position"
	if b.ByID {
		key = "id"
	}
	iv := object{}
	reps := object{}
	bias := object{}
	for i, name := range b.Metrics {
		if i < len(b.Bias) && b.Bias[i] != 0 {
			bias = append(bias, member{name, number(b.Bias[i])})
		}
		iv = append(iv, member{name, floats{b.Lo[i], b.Hi[i]}})
		vals := floats{}
		if i < len(b.Replicates) { // a Model built by hand may hold none
			vals = append(vals, b.Replicates[i]...)
		}
		reps = append(reps, member{name, vals})
	}
	o := object{
		{"method", "poisson bootstrap over hash buckets of rows"},
		{"level", number(0.95)},
		{"seed", b.Config.Seed},
		{"buckets", b.Config.Buckets},
		{"replicates", b.Config.Replicates},
		{"key", key},
		{"intervals", iv},
	}
	if len(bias) > 0 {
		// The intervals of these figures are the replicates' percentiles
		// less this bias (bias-corrected percentile intervals).
		o = append(o, member{"bias", bias})
	}
	return append(o, member{"bucket_rows", ints(b.BucketRows)}, member{"replicate_values", reps})
}
