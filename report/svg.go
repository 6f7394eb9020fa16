package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/evalnll/evalnll/internal/metrics"
)

// The reliability diagram: per non-empty calibration bin, the bin's mean
// confidence (x) against its mean outcome (y), with the y = x diagonal and,
// below, a strip of the bins' weights. With slices, the overall diagram
// comes first, then one small diagram per slice (at most maxDiagramSlices,
// in the markdown's order: highest NLL first).

// maxDiagramSlices is the most slices drawn as small multiples.
const maxDiagramSlices = 8

// ErrNoCalibration is returned when a reliability diagram is asked of a
// kind without calibration (logprob, gaussian).
var ErrNoCalibration = errors.New("no calibration bins to draw")

// pngDPI is the resolution of the PNG diagram.
const pngDPI = 144

var (
	colLine     = color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff}
	colSmooth   = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}
	colBar      = color.RGBA{R: 0x9e, G: 0xc3, B: 0xe6, A: 0xff}
	colBarEdge  = color.RGBA{R: 0x5b, G: 0x8f, B: 0xc2, A: 0xff}
	colDiagonal = color.Gray{Y: 0x80}
	colGrid     = color.Gray{Y: 0xe4}
	colNote     = color.Gray{Y: 0x55}
)

// sansFont is Liberation Sans, bundled with gonum/plot: the diagram never
// depends on the fonts of the machine drawing it.
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

func sans(size vg.Length) font.Font { return font.From(sansFont, size) }

func sansBold(size vg.Length) font.Font {
	f := font.From(sansFont, size)
	f.Weight = xfont.WeightBold
	return f
}

// diagramCell is one reliability diagram of the figure.
type diagramCell struct {
	title string
	bins  []metrics.BinFigures
	// curve is the smooth reliability curve (overall, with --auroc).
	curve []metrics.CurvePoint
}

// diagramLayout is what the figure shows and its size.
type diagramLayout struct {
	title  string // figure title above the cells; "" with one cell
	cells  []diagramCell
	note   string // below the cells; ""
	cols   int
	w, h   vg.Length
	header vg.Length
	footer vg.Length
}

func (m *Model) diagramLayout() (*diagramLayout, error) {
	if !m.Kind.HasCalibration() {
		return nil, fmt.Errorf("%w: a reliability diagram needs confidences, and %s predictions have none", ErrNoCalibration, m.Kind)
	}
	l := &diagramLayout{}
	n := len(m.Overall.Calibration)
	binning := fmt.Sprintf("%d %s %s", n, m.Binning, plural(n, "bin", "bins"))
	shown, hidden := m.shownSlices()
	if len(shown) == 0 {
		l.cells = []diagramCell{{title: "Reliability diagram: ECE " + optFmt(m.Overall.ECE), bins: m.Overall.Calibration, curve: m.Overall.Detail.Curve}}
		l.cols = 1
		l.w, l.h = 5*vg.Inch, 5.6*vg.Inch
		l.footer = 0.3 * vg.Inch
		l.note = binning + "; the bars are each bin's " + m.weightWord()
		if hidden > 0 {
			l.note += fmt.Sprintf("; %d %s fewer than %d rows not drawn", hidden, plural(hidden, "slice with", "slices with"), m.MinSliceSize)
		}
		return l, nil
	}
	l.title = fmt.Sprintf("Reliability diagrams by %s (%s)", strings.Join(m.Mapping.By, ", "), binning)
	l.cells = append(l.cells, diagramCell{title: fmt.Sprintf("all rows\nn=%d · ECE %s", m.Overall.Rows, optFmt(m.Overall.ECE)), bins: m.Overall.Calibration, curve: m.Overall.Detail.Curve})
	k := len(shown)
	if k > maxDiagramSlices {
		k = maxDiagramSlices
	}
	for _, s := range shown[:k] {
		l.cells = append(l.cells, diagramCell{title: fmt.Sprintf("%s\nn=%d · ECE %s", m.sliceName(s.By), s.Rows, optFmt(s.ECE)), bins: s.Calibration})
	}
	var notes []string
	if len(shown) > k {
		notes = append(notes, fmt.Sprintf("showing %d of %d slices, highest NLL first", k, len(shown)))
	}
	if hidden > 0 {
		notes = append(notes, fmt.Sprintf("%d %s fewer than %d rows not drawn", hidden, plural(hidden, "slice with", "slices with"), m.MinSliceSize))
	}
	notes = append(notes, "n is the slice's rows; the bars are each bin's "+m.weightWord())
	l.note = strings.Join(notes, "; ")
	l.cols = 3
	if len(l.cells) <= 4 {
		l.cols = 2
	}
	rows := (len(l.cells) + l.cols - 1) / l.cols
	l.header = 0.45 * vg.Inch
	l.footer = 0.3 * vg.Inch
	l.w = vg.Length(l.cols) * 3.4 * vg.Inch
	l.h = l.header + vg.Length(rows)*3.9*vg.Inch + l.footer
	return l, nil
}

func (m *Model) weightWord() string {
	if m.weighted() {
		return "weight"
	}
	return "count"
}

// sliceName lists a slice's key values, "value, value" (the figure's
// title names the columns).
func (m *Model) sliceName(vs []metrics.Value) string {
	var parts []string
	for _, v := range vs {
		s := v.String()
		if v.Kind == metrics.VString {
			s = strconv.Quote(v.S)
			if isPlain(v.S) {
				s = v.S
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// isPlain reports whether a string value reads unambiguously unquoted.
func isPlain(s string) bool {
	if s == "" || s == "null" || s == "true" || s == "false" {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r == '"' || r == ',' || r == '=' || r > 0x7e && r < 0xa0 {
			return false
		}
	}
	return true
}

// axisText names the axes for the kind.
func (m *Model) axisText() (x, y string) {
	switch m.Kind {
	case metrics.Multiclass:
		return "confidence (top-class probability)", "accuracy"
	case metrics.Multilabel:
		return "predicted probability (per label)", "observed frequency"
	}
	return "predicted P(y=1)", "observed frequency of y=1"
}

// drawDiagram draws the figure on c.
func (m *Model) drawDiagram(c draw.Canvas, l *diagramLayout) {
	c.FillPolygon(color.White, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
	handler := plot.DefaultTextHandler
	if l.title != "" {
		sty := draw.TextStyle{Color: color.Black, Font: sansBold(13), Handler: handler, XAlign: draw.XCenter, YAlign: draw.YCenter}
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - l.header/2}, l.title)
	}
	if l.note != "" {
		sty := draw.TextStyle{Color: colNote, Font: sans(9), Handler: handler, XAlign: draw.XCenter, YAlign: draw.YCenter}
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Min.Y + l.footer/2}, l.note)
	}
	body := draw.Crop(c, 0, 0, l.footer, -l.header)
	rows := (len(l.cells) + l.cols - 1) / l.cols
	tiles := draw.Tiles{Rows: rows, Cols: l.cols, PadX: 0.15 * vg.Inch, PadY: 0.15 * vg.Inch, PadTop: 0.05 * vg.Inch, PadBottom: 0.05 * vg.Inch, PadLeft: 0.1 * vg.Inch, PadRight: 0.15 * vg.Inch}
	small := len(l.cells) > 1
	for i, cell := range l.cells {
		m.drawCell(tiles.At(body, i%l.cols, i/l.cols), cell, small, i == 0 && !small)
	}
}

// drawCell draws one reliability diagram with its weight strip below,
// their data areas aligned.
func (m *Model) drawCell(c draw.Canvas, cell diagramCell, small, legend bool) {
	fs := vg.Length(1)
	if small {
		fs = 0.85
	}
	xl, yl := m.axisText()

	rel := plot.New()
	rel.Title.TextStyle.Font = sansBold(12 * fs)
	rel.Title.Text = fitText(rel.Title.TextStyle, cell.title, c.Max.X-c.Min.X)
	setAxis(&rel.X, "", fs)
	setAxis(&rel.Y, yl, fs)
	rel.X.Min, rel.X.Max, rel.Y.Min, rel.Y.Max = 0, 1, 0, 1
	// The x ticks are labelled on the weight strip below.
	rel.X.Tick.Marker = unitTicks(false)
	rel.Y.Tick.Marker = unitTicks(true)
	// Horizontal grid lines from the y ticks; vertical ones drawn as lines,
	// since the x ticks carry no labels here.
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color, grid.Horizontal.Width = colGrid, 0.5
	rel.Add(grid)
	for i := 1; i < 5; i++ {
		x := float64(i) / 5
		v, _ := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: 1}})
		v.Color, v.Width = colGrid, 0.5
		rel.Add(v)
	}
	diag, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	diag.Color = colDiagonal
	diag.Width = 1
	diag.Dashes = []vg.Length{4, 3}
	rel.Add(diag)
	var pts plotter.XYs
	var wts []float64
	maxW := 0.0
	for _, b := range cell.bins {
		if b.Confidence != nil && b.Outcome != nil {
			pts = append(pts, plotter.XY{X: *b.Confidence, Y: *b.Outcome})
			wts = append(wts, b.Weight)
			maxW = max(maxW, b.Weight)
		}
	}
	var smooth *plotter.Line
	if len(cell.curve) > 0 {
		var cp plotter.XYs
		for _, q := range cell.curve {
			if !math.IsNaN(q.Outcome) {
				cp = append(cp, plotter.XY{X: q.T, Y: q.Outcome})
			}
		}
		if len(cp) > 1 {
			smooth, _ = plotter.NewLine(cp)
			smooth.Color, smooth.Width = colSmooth, 2
			rel.Add(smooth)
		}
	}
	var line *plotter.Line
	var dots *plotter.Scatter
	if len(pts) > 0 {
		line, dots, _ = plotter.NewLinePoints(pts)
		line.Color = colLine
		line.Width = 1.5
		dots.Color = colLine
		dots.Shape = draw.CircleGlyph{}
		dots.Radius = 2.6 * fs
		if maxW > 0 {
			// A point's area grows with its bin's weight.
			dots.GlyphStyleFunc = func(i int) draw.GlyphStyle {
				r := 1.2 + 3.4*math.Sqrt(wts[i]/maxW)
				return draw.GlyphStyle{Color: colLine, Shape: draw.CircleGlyph{}, Radius: vg.Length(r) * fs}
			}
		}
		rel.Add(line, dots)
	}
	rel.X.Min, rel.X.Max, rel.Y.Min, rel.Y.Max = 0, 1, 0, 1
	if legend {
		rel.Legend.Top, rel.Legend.Left = true, true
		rel.Legend.XOffs, rel.Legend.YOffs = 6, -4
		rel.Legend.TextStyle.Font = sans(9)
		rel.Legend.ThumbnailWidth = 24
		rel.Legend.Padding = 3
		rel.Legend.Add("perfect calibration", diag)
		if line != nil {
			rel.Legend.Add("bins (mean confidence, outcome; size: weight)", line, dots)
		}
		if smooth != nil {
			rel.Legend.Add("smooth curve (smECE kernel)", smooth)
		}
	}

	hist := plot.New()
	setAxis(&hist.X, xl, fs)
	setAxis(&hist.Y, m.weightWord(), fs)
	var hb []plotter.HistogramBin
	const minWidth = 0.006
	for _, b := range cell.bins {
		if b.Weight <= 0 || math.IsNaN(b.Lo) || math.IsNaN(b.Hi) {
			continue
		}
		lo, hi := b.Lo, b.Hi
		if hi-lo < minWidth { // quantile bins of one confidence
			mid := (lo + hi) / 2
			lo, hi = mid-minWidth/2, mid+minWidth/2
		}
		hb = append(hb, plotter.HistogramBin{Min: lo, Max: hi, Weight: b.Weight})
	}
	if len(hb) > 0 {
		h := &plotter.Histogram{Bins: hb, FillColor: colBar, LineStyle: draw.LineStyle{Color: colBarEdge, Width: 0.5}}
		hist.Add(h)
	}
	if len(cell.curve) > 1 && len(cell.bins) > 0 {
		// The density of the confidences over the bins, scaled to a bin
		// of width 1/N: total weight × density / N.
		var tw float64
		for _, b := range cell.bins {
			tw += b.Weight
		}
		var dp plotter.XYs
		for _, q := range cell.curve {
			dp = append(dp, plotter.XY{X: q.T, Y: tw * q.Density / float64(len(cell.bins))})
		}
		if dl, err := plotter.NewLine(dp); err == nil {
			dl.Color, dl.Width = colSmooth, 1.2
			hist.Add(dl)
		}
	}
	hist.X.Min, hist.X.Max, hist.Y.Min = 0, 1, 0
	hist.X.Tick.Marker = unitTicks(true)
	if hist.Y.Max <= 0 {
		hist.Y.Max = 1
	}
	hist.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var out []plot.Tick
		for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
			if t.Label != "" {
				t.Label = compactNum(t.Value)
			}
			out = append(out, t)
		}
		return out
	})

	// The weight strip takes the bottom quarter; both plots get the same
	// left and right margins so their x axes line up.
	split := c.Min.Y + (c.Max.Y-c.Min.Y)*0.27
	top := draw.Crop(c, 0, 0, split-c.Min.Y, 0)
	bot := draw.Crop(c, 0, 0, 0, split-c.Max.Y)
	dt, db := rel.DataCanvas(top), hist.DataCanvas(bot)
	left := max(dt.Min.X, db.Min.X)
	right := min(dt.Max.X, db.Max.X)
	top = draw.Crop(top, left-dt.Min.X, right-dt.Max.X, 0, 0)
	bot = draw.Crop(bot, left-db.Min.X, right-db.Max.X, 0, 0)
	rel.Draw(top)
	hist.Draw(bot)
}

// unitTicks marks [0, 1] every 0.2, with minor ticks between.
func unitTicks(labels bool) plot.Ticker {
	var ts plot.ConstantTicks
	for i := 0; i <= 10; i++ {
		t := plot.Tick{Value: float64(i) / 10}
		if i%2 == 0 && labels {
			t.Label = strconv.FormatFloat(t.Value, 'g', -1, 64)
		}
		ts = append(ts, t)
	}
	return ts
}

// fitText shortens each line of s with "…" to fit width w in style sty.
func fitText(sty draw.TextStyle, s string, w vg.Length) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		r := []rune(l)
		for len(r) > 1 && sty.Width(string(r)) > w {
			r = append(r[:len(r)-2], '…')
		}
		lines[i] = string(r)
	}
	return strings.Join(lines, "\n")
}

func setAxis(a *plot.Axis, label string, fs vg.Length) {
	a.Label.Text = label
	a.Label.TextStyle.Font = sans(10 * fs)
	a.Tick.Label.Font = sans(9 * fs)
	a.Padding = 2
}

// compactNum labels a tick of the weight axis: 1500 is 1.5k.
func compactNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// SVG draws the reliability diagram as an SVG document. The same model
// always gives the same bytes: the fonts are gonum's bundled Liberation
// Sans (named with metric-compatible fallbacks), and nothing depends on the
// clock.
func (m *Model) SVG() ([]byte, error) {
	l, err := m.diagramLayout()
	if err != nil {
		return nil, err
	}
	c := vgsvg.New(l.w, l.h)
	m.drawDiagram(draw.New(c), l)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	// Viewers without Liberation Sans fall back to a font of the same
	// metrics rather than to a serif default.
	out := bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"), []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	return out, nil
}

// PNG draws the reliability diagram as a PNG image at 144 dpi.
func (m *Model) PNG() ([]byte, error) {
	l, err := m.diagramLayout()
	if err != nil {
		return nil, err
	}
	c := vgimg.NewWith(vgimg.UseWH(l.w, l.h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	m.drawDiagram(draw.New(c), l)
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
