package metrics

import (
	"math"
	"math/big"
	"unicode"
	"unicode/utf8"

	"github.com/evalnll/evalnll/internal/column"
)

// Language-model figures. Per-token perplexity depends on the tokenizer;
// NLL per byte and per word do not, so models with different tokenizers
// compare on them (as lm-evaluation-harness reports them):
//
//	bits_per_byte   = Σ w·NLL (nats) / (Σ w·bytes · ln 2)
//	byte_perplexity = 2^bits_per_byte
//	word_perplexity = exp(Σ w·NLL (nats) / Σ w·words)
//
// bits_per_byte is in bits by definition, whatever Config.Units; the two
// perplexities have no unit. A row's byte count comes from Cols.Bytes, or
// else is the length in bytes of its Cols.Text string (its UTF-8 length
// for valid UTF-8; the stored bytes otherwise); its word count from
// Cols.Words, or else the number of words of Cols.Text: maximal runs of
// characters that are not Unicode White_Space (unicode.IsSpace), as
// strings.Fields splits. A null, negative or non-finite count, or a null
// text, makes the row invalid (null, negative_count, nan, inf).

// lmTerms fills t.bytes and t.words for the batch and marks the rows whose
// counts are invalid (after any reason the row already has).
func (e *Evaluator) lmTerms(c *Cols, t *terms) {
	n := t.n
	t.bytes = grow(t.bytes, n)
	t.words = grow(t.words, n)
	reason := t.reason[:n]
	// The common case, an integer byte count without nulls and no other
	// column, in one loop.
	if b := c.Bytes; b != nil && !e.cfg.LMWords && b.Type == column.Int && b.Valid == nil {
		bytes, ints := t.bytes[:n], b.Ints[:n]
		for i, v := range ints {
			bytes[i] = float64(v)
			if v < 0 && reason[i] == ReasonNone {
				reason[i] = ReasonNegativeCount
			}
		}
		return
	}
	for i := range reason {
		if reason[i] != ReasonNone {
			continue
		}
		b, w, re, ok := e.lmRow(c, i)
		if !ok {
			reason[i] = re.Reason
			continue
		}
		t.bytes[i], t.words[i] = b, w
	}
}

// lmRow reads row i's byte and word counts (0 for those not configured),
// or says why it cannot.
func (e *Evaluator) lmRow(c *Cols, i int) (bytes, words float64, re RowError, ok bool) {
	var text string
	haveText := false
	if c.Text != nil && (c.Bytes == nil && e.cfg.LMBytes || c.Words == nil && e.cfg.LMWords) {
		if c.Text.IsNull(i) {
			return 0, 0, RowError{Role: RoleText, Reason: ReasonNull, Elem: -1}, false
		}
		text, haveText = c.Text.Str(i), true
	}
	if e.cfg.LMBytes {
		if c.Bytes != nil {
			if bytes, re, ok = count(c.Bytes, i, RoleBytes); !ok {
				return 0, 0, re, false
			}
		} else if haveText {
			bytes = float64(len(text))
		}
	}
	if e.cfg.LMWords {
		if c.Words != nil {
			if words, re, ok = count(c.Words, i, RoleWords); !ok {
				return 0, 0, re, false
			}
		} else if haveText {
			words = float64(WordCount(text))
		}
	}
	return bytes, words, RowError{}, true
}

// count reads a byte or word count: a number that is not null, negative
// or non-finite.
func count(c *column.Column, i int, role Role) (float64, RowError, bool) {
	v, r := scalar(c, i)
	if r == ReasonNone && v < 0 {
		r = ReasonNegativeCount
	}
	if r != ReasonNone {
		return 0, RowError{Role: role, Reason: r, Value: v, HasValue: r != ReasonNull, Elem: -1}, false
	}
	return v, RowError{}, true
}

// WordCount is the number of words of s: maximal runs of characters that
// are not white space (unicode.IsSpace; an invalid UTF-8 byte is not
// space), the count of strings.Fields(s), without allocating.
func WordCount(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); {
		c := s[i]
		var space bool
		if c < utf8.RuneSelf {
			space = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

// asciiSpace marks the ASCII characters unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// lmSummary sets the language-model figures of f from a's sums; nll is
// the exact weighted NLL sum in nats.
func (a *Acc) lmSummary(cfg *Config, nll *big.Float, f *Figures) {
	if cfg.LMBytes {
		by := bigOf(&a.Bytes)
		b := f64(by)
		var den *big.Float
		if by != nil {
			// Σ w·bytes · ln 2 (ln 2 as the nearest float64), exactly:
			// bits per byte is then rounded once.
			den = new(big.Float).SetPrec(2*prec).Mul(by, new(big.Float).SetPrec(prec).SetFloat64(math.Ln2))
		}
		bpb := quo(nll, den)
		bp := math.Exp2(bpb)
		f.Bytes, f.BitsPerByte, f.BytePerplexity = &b, &bpb, &bp
	}
	if cfg.LMWords {
		wo := bigOf(&a.Words)
		w := f64(wo)
		wp := math.Exp(quo(nll, wo))
		f.Words, f.WordPerplexity = &w, &wp
	}
}

// maskedTokensKernel is tokensKernel for token lists with a mask: a row's
// NLL is minus the exact sum of its masked-in elements, rounded once, and
// its token count theirs, as maskedRow computes them. Rows with a null, a
// null element, a length mismatch, a mask value other than 0 and 1, or a
// masked-in term outside the integer sums' range go to maskedRow.
func maskedTokensKernel[T Float](e *Evaluator, c *Cols, vals []T, t *terms) {
	p, m := c.Pred, c.Mask
	x, tok, class, reason := t.x[:t.n], t.tok[:t.n], t.class[:t.n], t.reason[:t.n]
	fast := p.ElemValid == nil && m.ElemValid == nil && (m.Type == column.Int || m.Type == column.Uint64 || m.Type == column.Bool)
	for i := range x {
		class[i] = 0
		lo, hi := p.Offsets[i], p.Offsets[i+1]
		mlo, mhi := m.Offsets[i], m.Offsets[i+1]
		ok := fast && !p.IsNull(i) && !m.IsNull(i) && mhi-mlo == hi-lo
		var a tokAcc
		n := 0
		if ok {
			vs := vals[lo:hi]
			if m.Type == column.Bool {
				for j, in := range m.Bools[mlo:mhi] {
					if !in {
						continue
					}
					v := float64(vs[j])
					if !(v <= 0 && tokInRange(v)) {
						ok = false
						break
					}
					a.addTerm(v)
					n++
				}
			} else {
				for j, mv := range m.Ints[mlo:mhi] {
					if mv == 0 {
						continue
					}
					v := float64(vs[j])
					if mv != 1 || !(v <= 0 && tokInRange(v)) {
						ok = false
						break
					}
					a.addTerm(v)
					n++
				}
			}
		}
		if !ok {
			re, valid := e.logprobRow(c, i)
			if !valid {
				reason[i] = re.Reason
				continue
			}
			x[i], tok[i] = e.curX, e.curTok
			continue
		}
		s := a.float()
		if s == 0 {
			s = math.Copysign(0, -1) // as maskedRow: minus a sum of +0
		}
		x[i], tok[i] = s, float64(n)
	}
}
