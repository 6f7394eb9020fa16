package metrics

import (
	"fmt"
	"math"
	"math/big"
	"sort"

	"github.com/evalnll/evalnll/internal/exact"
)

// Acc accumulates the figures of one set of rows (the whole input or one
// slice). Every sum is exact, so an Acc built from any split of the rows,
// merged in any order, holds the same values; Summary then rounds each
// figure once.
type Acc struct {
	Rows int64
	// W is the total weight; unweighted runs leave it empty and use Rows.
	W exact.Sum
	// Tokens is the weighted token count (token lists only).
	Tokens exact.Sum
	// Bytes and Words are the weighted byte and word counts (language-model
	// columns only).
	Bytes, Words exact.Sum
	// NLL is the weighted sum of row NLLs in nats.
	NLL exact.Sum
	// SqA, SqB and SqC are sum w²x², sum w²x and sum w² for nll_stderr.
	SqA, SqB, SqC exact.Sum

	// Predictions for accuracy, Brier and calibration: one per row, or one
	// per (row, label) pair for multilabel.
	Preds   int64
	PredW   exact.Sum // weighted prediction count (weighted runs)
	Correct exact.Sum // weight of correct predictions (weighted runs)
	// CorrectN counts correct predictions (unweighted runs).
	CorrectN int64
	Brier    exact.Sum
	Bins     []Bin
	// Hist is the confidence histogram (see hist.go), when a figure
	// needs it: quantile bins, discrimination, the sweep and smooth ECE.
	Hist *Hist
	// CD holds the per-class figures (see classdetail.go), nil until a
	// row adds to them.
	CD *classDetail
	// G holds the Gaussian scores (gaussian kind only).
	G *gaussAcc

	Clipped int64
	Skipped [NumReasons]int64
}

// Bin is one calibration bin.
type Bin struct {
	Count int64
	W     exact.Sum // weight (weighted runs)
	Conf  exact.Sum // weighted sum of confidences
	Out   exact.Sum // weighted sum of outcomes (weighted runs)
	// OutN counts outcomes of 1 (unweighted runs).
	OutN int64
}

// Point is one prediction kept for quantile binning.
type Point struct {
	Conf, W float64
	Out     bool
}

func newAcc(cfg *Config) *Acc {
	a := &Acc{}
	if cfg.Kind.HasCalibration() && cfg.Binning == Uniform {
		a.Bins = make([]Bin, cfg.Bins)
	}
	if cfg.Kind == Gaussian {
		a.G = newGaussAcc(cfg)
	}
	if cfg.hist() {
		a.Hist = newHist(cfg.Binning == Quantile, cfg.Weighted)
	}
	return a
}

// Merge adds the rows of o into a. Both must come from the same Config;
// the result does not depend on the order of merges.
func (a *Acc) Merge(o *Acc) {
	a.Rows += o.Rows
	a.W.Merge(&o.W)
	a.Tokens.Merge(&o.Tokens)
	a.Bytes.Merge(&o.Bytes)
	a.Words.Merge(&o.Words)
	a.NLL.Merge(&o.NLL)
	a.SqA.Merge(&o.SqA)
	a.SqB.Merge(&o.SqB)
	a.SqC.Merge(&o.SqC)
	a.Preds += o.Preds
	a.PredW.Merge(&o.PredW)
	a.Correct.Merge(&o.Correct)
	a.CorrectN += o.CorrectN
	a.Brier.Merge(&o.Brier)
	if len(a.Bins) != len(o.Bins) {
		panic(fmt.Sprintf("metrics: merging accumulators with %d and %d bins", len(a.Bins), len(o.Bins)))
	}
	for i := range a.Bins {
		b, ob := &a.Bins[i], &o.Bins[i]
		b.Count += ob.Count
		b.W.Merge(&ob.W)
		b.Conf.Merge(&ob.Conf)
		b.Out.Merge(&ob.Out)
		b.OutN += ob.OutN
	}
	if o.CD != nil {
		a.classDetail().merge(o.CD)
	}
	if o.G != nil {
		if a.G == nil {
			a.G = &gaussAcc{PIT: make([]Bin, len(o.G.PIT))}
		}
		a.G.merge(o.G)
	}
	if o.Hist != nil {
		if a.Hist == nil {
			a.Hist = newHist(o.Hist.edges, o.Hist.weighted)
		}
		a.Hist.merge(o.Hist)
	}
	a.Clipped += o.Clipped
	for i := range a.Skipped {
		a.Skipped[i] += o.Skipped[i]
	}
}

// Figures are the rounded results of an Acc, in nats unless Units says
// otherwise. Optional figures are nil when they do not apply.
type Figures struct {
	Rows        int64
	Weight      float64
	Tokens      *float64
	NLL         float64
	NLLSum      float64
	NLLStderr   *float64
	NLLPerToken *float64
	Perplexity  float64
	Accuracy    *float64
	Brier       *float64
	ECE, MCE    *float64
	Clipped     *int64
	Skipped     map[string]int64
	Calibration []BinFigures
	// Detail holds the calibration figures beyond ECE and MCE (overall
	// only; see detail.go).
	Detail CalDetail
	// AUROC and AUPRC (average precision) with --auroc; AUROCTies bounds
	// how far ties at cell resolution can move the AUROC. AUROCSE is the
	// AUROC's standard error by DeLong's method (binary, unweighted; see
	// delongSE).
	AUROC, AUPRC, AUROCTies, AUROCSE *float64
	// TopK is the top-k accuracy (--topk, multiclass) for k = TopKN.
	TopK  *float64
	TopKN int
	// Gauss holds the Gaussian scores (gaussian kind); Calibration is then
	// the PIT histogram.
	Gauss *GaussFigures

	// Language-model figures (see lm.go): the weighted byte count,
	// bits per byte (in bits whatever Units) and byte perplexity with
	// --bytes or --text; the weighted word count and word perplexity with
	// --words or --text.
	Bytes, BitsPerByte, BytePerplexity *float64
	Words, WordPerplexity              *float64
}

// BinFigures describes one calibration bin; Confidence and Outcome are nil
// for an empty bin.
type BinFigures struct {
	Lo, Hi              float64
	Count               int64
	Weight              float64
	Confidence, Outcome *float64
}

const prec = exact.Prec

func bigOf(s *exact.Sum) *big.Float {
	if b := s.Big(); b != nil {
		return b
	}
	return nil
}

func bigInt(n int64) *big.Float { return new(big.Float).SetPrec(prec).SetInt64(n) }

// quo returns x/y rounded once to float64, with IEEE rules for zero, Inf and
// NaN (nil stands for NaN).
func quo(x, y *big.Float) float64 {
	if x == nil || y == nil {
		return math.NaN()
	}
	if y.Sign() == 0 {
		if x.Sign() == 0 || x.IsInf() {
			return math.NaN()
		}
		return math.Inf(x.Sign())
	}
	if x.IsInf() && y.IsInf() {
		return math.NaN()
	}
	if x.IsInf() {
		return math.Inf(x.Sign() * y.Sign())
	}
	if y.IsInf() {
		return 0
	}
	// Division at a precision far above 53 bits, then one rounding to
	// float64: the double rounding cannot move the result by more than an
	// ulp only in ties, which 2200-bit quotients do not produce in practice.
	q := new(big.Float).SetPrec(prec).Quo(x, y)
	v, _ := q.Float64()
	return v
}

func f64(b *big.Float) float64 {
	if b == nil {
		return math.NaN()
	}
	v, _ := b.Float64()
	return v
}

// Summary rounds the accumulated figures. scale divides every NLL figure
// (1 for nats, ln 2 for bits, ln 10 for hartleys).
func (a *Acc) Summary(cfg *Config) Figures { return a.summary(cfg, false) }

// summary is Summary; overall adds the calibration detail.
func (a *Acc) summary(cfg *Config, overall bool) Figures {
	f := Figures{Rows: a.Rows, Skipped: map[string]int64{}}
	for r, n := range a.Skipped {
		if n > 0 {
			f.Skipped[Reason(r).String()] = n
		}
	}
	var w *big.Float
	if cfg.Weighted {
		w = bigOf(&a.W)
	} else {
		w = bigInt(a.Rows)
	}
	f.Weight = f64(w)
	nll := bigOf(&a.NLL)
	scale := cfg.Units.Scale()
	meanNats := quo(nll, w)
	f.NLL = meanNats / scale
	f.NLLSum = f64(nll) / scale
	if cfg.Units != Nats {
		// One rounding from the exact figures: divide by the exact-as-double
		// ln(base) in big arithmetic.
		lb := new(big.Float).SetPrec(prec).SetFloat64(scale)
		f.NLL = quo(new(big.Float).SetPrec(prec).Quo(nll, w), lb)
		if nll != nil {
			f.NLLSum = quo(nll, lb)
		}
	}
	f.Perplexity = math.Exp(meanNats)
	if cfg.Tokens {
		tok := bigOf(&a.Tokens)
		t := f64(tok)
		f.Tokens = &t
		perTok := quo(nll, tok)
		f.Perplexity = math.Exp(perTok)
		pt := perTok / scale
		if cfg.Units != Nats && nll != nil && tok != nil && tok.Sign() != 0 {
			pt = quo(new(big.Float).SetPrec(prec).Quo(nll, tok), new(big.Float).SetPrec(prec).SetFloat64(scale))
		}
		f.NLLPerToken = &pt
	}
	a.lmSummary(cfg, nll, &f)
	if a.Rows >= 2 {
		se := stderr(a, cfg, w, nll) / scale
		f.NLLStderr = &se
	}
	if cfg.Kind.HasCalibration() {
		var pw *big.Float
		if cfg.Weighted {
			pw = bigOf(&a.PredW)
		} else {
			pw = bigInt(a.Preds)
		}
		correct := bigOf(&a.Correct)
		if !cfg.Weighted {
			correct = bigInt(a.CorrectN)
		}
		acc := quo(correct, pw)
		br := quo(bigOf(&a.Brier), pw)
		f.Accuracy, f.Brier = &acc, &br
		bins := a.Bins
		var cells []cellSums
		var cellBin []int
		if a.Hist != nil {
			cells = a.Hist.cells(cfg.Weighted)
		}
		if cfg.Binning == Quantile {
			cellBin = quantileFromCells(cells, cfg.Bins)
			bins = binsFromCells(cells, cellBin, cfg.Bins)
		}
		ece, mce, cal := calibration(bins, cfg, pw)
		f.ECE, f.MCE, f.Calibration = &ece, &mce, cal
		if cfg.Binning == Quantile {
			setQuantileEdges(cal, cells, cellBin)
		}
		if cfg.TopK > 0 && cfg.Kind == Multiclass {
			var hits *big.Float
			if cfg.Weighted {
				if a.CD != nil {
					hits = bigOf(&a.CD.TopW)
				} else {
					hits = newBigF()
				}
			} else if a.CD != nil {
				hits = bigInt(a.CD.TopN)
			} else {
				hits = bigInt(0)
			}
			f.TopK, f.TopKN = fp(quo(hits, pw)), cfg.TopK
		}
		if cfg.Discrim && cfg.Kind != Binary {
			roc, pr := math.NaN(), math.NaN()
			if a.CD != nil {
				roc, pr = a.CD.macro(cfg.Weighted)
			}
			f.AUROC, f.AUPRC = &roc, &pr
		}
		if overall && cfg.Classwise && cfg.Kind == Multiclass && a.CD != nil {
			f.Detail.ClasswiseECE = fp(a.CD.classwise(cfg.Bins))
		}
		if overall {
			binDetail(&f.Detail, statsOf(bins, cfg.Weighted))
		}
		if cfg.Discrim && len(cells) > 0 {
			if overall {
				e, n := sweep(cells)
				f.Detail.ECESweep, f.Detail.ECESweepBins = &e, &n
				sm, sg := smECE(cells, cfg.Weighted)
				f.Detail.SmECE, f.Detail.SmECESigma = &sm, &sg
				f.Detail.Curve = smoothCurve(cells, cfg.Weighted, sg, 100)
			}
			if cfg.Kind == Binary {
				roc, pr, tie := discrimination(cells)
				f.AUROC, f.AUPRC = &roc, &pr
				if a.Hist.Over {
					f.AUROCTies = fp(tie)
				}
				if !cfg.Weighted {
					f.AUROCSE = fp(delongSE(cells))
				}
			}
		}
	}
	if a.G != nil {
		g, pit := a.G.summary(a, cfg, w)
		f.Gauss, f.Calibration = &g, pit
	}
	if cfg.Pred == PredProb {
		c := a.Clipped
		f.Clipped = &c
	}
	return f
}

// stderr is sqrt(n/(n-1) * sum w²(x-m)²) / sum w with m = NLL/W, from the
// exact sums sum w²x² - 2m sum w²x + m² sum w².
func stderr(a *Acc, cfg *Config, w, nll *big.Float) float64 {
	if w == nil || nll == nil || nll.IsInf() || w.Sign() == 0 {
		return math.NaN()
	}
	// Unweighted, sum w²x is the NLL sum and sum w² the row count.
	A, B, C := bigOf(&a.SqA), nll, bigInt(a.Rows)
	if cfg.Weighted {
		B, C = bigOf(&a.SqB), bigOf(&a.SqC)
	}
	if A == nil || B == nil || C == nil || A.IsInf() || B.IsInf() {
		return math.NaN()
	}
	const p = 4 * prec
	m := new(big.Float).SetPrec(p).Quo(nll, w)
	s := new(big.Float).SetPrec(p).Mul(m, B)
	s.Mul(s, big.NewFloat(2))
	s.Sub(A, s)
	m2 := new(big.Float).SetPrec(p).Mul(m, m)
	m2.Mul(m2, C)
	s.Add(s, m2)
	if s.Sign() <= 0 {
		return 0
	}
	n := float64(a.Rows)
	s.Mul(s, new(big.Float).SetPrec(p).SetFloat64(n))
	s.Quo(s, new(big.Float).SetPrec(p).SetFloat64(n-1))
	s.Sqrt(s)
	return quo(s, w)
}

// calibration turns bins into ECE, MCE and per-bin figures.
func calibration(bins []Bin, cfg *Config, total *big.Float) (ece, mce float64, out []BinFigures) {
	out = make([]BinFigures, len(bins))
	sum := new(big.Float).SetPrec(prec)
	mce = 0
	nonEmpty := false
	for i := range bins {
		b := &bins[i]
		var bw *big.Float
		if cfg.Weighted {
			bw = bigOf(&b.W)
		} else {
			bw = bigInt(b.Count)
		}
		n := len(bins)
		out[i] = BinFigures{Lo: float64(i) / float64(n), Hi: float64(i+1) / float64(n), Count: b.Count, Weight: f64(bw)}
		if b.Count == 0 || bw == nil || bw.Sign() == 0 {
			continue
		}
		nonEmpty = true
		conf, outc := bigOf(&b.Conf), bigOf(&b.Out)
		if !cfg.Weighted {
			outc = bigInt(b.OutN)
		}
		c, o := quo(conf, bw), quo(outc, bw)
		out[i].Confidence, out[i].Outcome = &c, &o
		if conf == nil || outc == nil {
			sum = nil
			continue
		}
		gap := new(big.Float).SetPrec(prec).Sub(outc, conf)
		gap.Abs(gap)
		if sum != nil {
			sum.Add(sum, gap)
		}
		if g := quo(gap, bw); g > mce || math.IsNaN(g) {
			mce = g
		}
	}
	if !nonEmpty {
		return math.NaN(), math.NaN(), out
	}
	return quo(sum, total), mce, out
}

// setQuantileEdges replaces the uniform edges with each bin's smallest and
// largest confidence (NaN for an empty bin).
func setQuantileEdges(cal []BinFigures, cells []cellSums, cellBin []int) {
	for b := range cal {
		cal[b].Lo, cal[b].Hi = math.NaN(), math.NaN()
	}
	for i := range cells {
		b := cellBin[i]
		if math.IsNaN(cal[b].Lo) {
			cal[b].Lo = cells[i].lo
		}
		cal[b].Hi = cells[i].hi
	}
}

func pw(p Point, weighted bool) float64 {
	if weighted {
		return p.W
	}
	return 1
}

func sortPoints(pts []Point) {
	sort.Slice(pts, func(i, j int) bool {
		a, b := pts[i], pts[j]
		if a.Conf != b.Conf {
			return a.Conf < b.Conf
		}
		if a.Out != b.Out {
			return !a.Out
		}
		return a.W < b.W
	})
}
