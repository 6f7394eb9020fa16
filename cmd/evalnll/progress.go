package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	evalnll "github.com/evalnll/evalnll"
)

// progress draws a bar on stderr while eval reads its inputs: files done
// of total, rows, bytes, rate and time left. It is shown only when stderr
// is a terminal and --quiet is not given; otherwise it does nothing.
//
// Workers report through add, which only updates atomic counters; a
// ticker moves the bar, and mpb redraws it on its own schedule.
type progress struct {
	on    bool
	files []fileProgress
	rows  atomic.Int64
	total int64 // bytes of every input; the bar's length
	start time.Time

	p    *mpb.Progress
	bar  *mpb.Bar
	stop chan struct{}
	wg   sync.WaitGroup
}

// fileProgress is one input's share of the work.
type fileProgress struct {
	size  int64 // bytes on disk, 0 when unknown
	rows  int64 // rows, or -1 for a stream
	units int32 // units to read (a stream is one)

	rowsDone  atomic.Int64
	unitsDone atomic.Int32
}

// progressHook starts the bar once Evaluate has opened the inputs.
type progressHook struct {
	e     *env
	quiet bool
	p     *progress
}

func (h *progressHook) Start(in []evalnll.InputInfo)   { h.p = newProgress(h.e, h.quiet, in) }
func (h *progressHook) Add(i, rows int, unitDone bool) { h.p.add(i, rows, unitDone) }

func (h *progressHook) finish() {
	if h.p != nil {
		h.p.finish()
	}
}

// progressTick is how often the counters are copied to the bar.
const progressTick = 100 * time.Millisecond

func newProgress(e *env, quiet bool, files []evalnll.InputInfo) *progress {
	pr := &progress{}
	if quiet || !e.stderrTTY || len(files) == 0 {
		return pr
	}
	pr.on = true
	pr.start = time.Now()
	pr.files = make([]fileProgress, len(files))
	for i, f := range files {
		fp := &pr.files[i]
		if st, err := os.Stat(f.Path); err == nil && st.Mode().IsRegular() {
			fp.size = st.Size()
		}
		fp.rows = f.Rows
		fp.units = int32(f.Units)
		pr.total += fp.size
	}
	if pr.total <= 0 {
		pr.total = 1 // sizes unknown: the bar fills when every file is done
	}
	pr.p = mpb.NewWithContext(e.ctx, mpb.WithOutput(e.stderr), mpb.WithAutoRefresh(), mpb.WithWidth(100))
	pr.bar = pr.p.AddBar(pr.total,
		mpb.PrependDecorators(
			decor.Name("evalnll "),
			decor.Any(func(decor.Statistics) string { return pr.filesText() }, decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(
			// A fixed width keeps the bar from changing length as the
			// figures grow.
			decor.Any(func(s decor.Statistics) string { return pr.statsText(s) }, decor.WC{W: 56, C: decor.DindentRight}),
		),
	)
	pr.stop = make(chan struct{})
	pr.wg.Add(1)
	go pr.tick()
	return pr
}

// add records rows read from file, and a finished unit when unitDone. It
// is safe for concurrent use and cheap: two atomic adds.
func (p *progress) add(file, rows int, unitDone bool) {
	if p == nil || !p.on || file < 0 || file >= len(p.files) {
		return
	}
	f := &p.files[file]
	if rows > 0 {
		f.rowsDone.Add(int64(rows))
		p.rows.Add(int64(rows))
	}
	if unitDone {
		f.unitsDone.Add(1)
	}
}

// finish stops the bar: complete when every unit was read, else left as it
// stands (an error or an interrupt). It returns once the bar is drawn.
func (p *progress) finish() {
	if p == nil || !p.on {
		return
	}
	close(p.stop)
	p.wg.Wait()
	done, all := p.doneBytes()
	p.bar.SetCurrent(done)
	if all {
		p.bar.SetTotal(done, true)
	} else {
		p.bar.Abort(false)
	}
	p.p.Wait()
	p.on = false
}

func (p *progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			done, _ := p.doneBytes()
			if done >= p.total {
				done = p.total - 1 // complete only in finish
			}
			p.bar.SetCurrent(done)
		}
	}
}

// doneBytes estimates the bytes read: whole files once every unit is done,
// else the share of rows read (a stream counts when done).
func (p *progress) doneBytes() (done int64, all bool) {
	all = true
	var files int64
	for i := range p.files {
		f := &p.files[i]
		switch {
		case f.unitsDone.Load() >= f.units:
			done += f.size
			files++
		case f.rows > 0:
			all = false
			r := f.rowsDone.Load()
			if r > f.rows {
				r = f.rows
			}
			done += int64(float64(f.size) * float64(r) / float64(f.rows))
		default:
			all = false
		}
	}
	if p.total == 1 && all { // sizes unknown
		done = 1
	}
	return done, all
}

func (p *progress) filesText() string {
	n := 0
	for i := range p.files {
		if f := &p.files[i]; f.unitsDone.Load() >= f.units {
			n++
		}
	}
	return fmt.Sprintf("%d/%d files", n, len(p.files))
}

// statsText is "rows · read/total · rate · ETA", or the totals once
// complete.
func (p *progress) statsText(s decor.Statistics) string {
	el := time.Since(p.start)
	done := s.Current
	rows := p.rows.Load()
	sizes := p.total > 1
	txt := countText(rows) + " rows"
	if sizes {
		txt += " · " + bytesPair(done, p.total)
	}
	sec := el.Seconds()
	if s.Completed {
		if sec > 0 {
			txt += " · " + countText(int64(float64(rows)/sec)) + " rows/s"
		}
		return txt + " · done in " + durText(el)
	}
	if sec < 0.5 || done <= 0 {
		return txt + " · ETA --"
	}
	if !sizes {
		return txt + " · " + countText(int64(float64(rows)/sec)) + " rows/s"
	}
	rate := float64(done) / sec
	left := time.Duration(float64(p.total-done) / rate * float64(time.Second))
	return txt + " · " + bytesText(int64(rate)) + "/s · ETA " + durText(left)
}

// bytesPair is "read/total UNIT" in the total's unit.
func bytesPair(n, total int64) string {
	t := bytesText(total)
	unit, scale := " B", 1.0
	switch {
	case total >= 1<<30:
		unit, scale = " GiB", 1<<30
	case total >= 1<<20:
		unit, scale = " MiB", 1<<20
	case total >= 1<<10:
		unit, scale = " KiB", 1<<10
	}
	if scale == 1 {
		return strconv.FormatInt(n, 10) + "/" + t
	}
	return strconv.FormatFloat(float64(n)/scale, 'f', 1, 64) + "/" + strings.TrimSuffix(t, unit) + unit
}

// countText is n with k, M or G for thousands, millions and billions.
func countText(n int64) string {
	f := float64(n)
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(f/1e9, 'f', 2, 64) + "G"
	case n >= 1e6:
		return strconv.FormatFloat(f/1e6, 'f', 2, 64) + "M"
	case n >= 1e4:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// bytesText is n in B, KiB, MiB or GiB.
func bytesText(n int64) string {
	f := float64(n)
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(f/(1<<30), 'f', 2, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(f/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(f/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// durText is d rounded for people: 4.2s, 3m07s, 1h02m.
func durText(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		s := int(d.Round(time.Second).Seconds())
		if s < 60 {
			return fmt.Sprintf("%ds", s)
		}
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	m := int(d.Round(time.Minute).Minutes())
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
