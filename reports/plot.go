package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The timeline's colours; report.html's legend uses the same.
var (
	colorThroughput = color.RGBA{R: 0x25, G: 0x63, B: 0xeb, A: 0xff}
	colorErrors     = color.RGBA{R: 0xdc, G: 0x26, B: 0x26, A: 0xff}
	colorP50        = color.RGBA{R: 0x05, G: 0x96, B: 0x69, A: 0xff}
	colorP99        = color.RGBA{R: 0xd9, G: 0x77, B: 0x06, A: 0xff}
	colorFault      = color.NRGBA{R: 0xef, G: 0x44, B: 0x44, A: 0x2e}
	colorFaultText  = color.RGBA{R: 0x99, G: 0x1b, B: 0x1b, A: 0xff}
	colorLeader     = color.RGBA{R: 0x7c, G: 0x3a, B: 0xed, A: 0xff}
)

// minBucketSeconds leaves out of the plot a last bucket too short for
// its rate to mean anything.
const minBucketSeconds = 0.25

// timelineSVG draws the run's timeline as an SVG for inlining in HTML:
// throughput and errors per second above, p50 and p99 latency below (log
// scale), each fault window shaded and named, and leader changes marked.
// It returns "" when there is nothing to draw.
func timelineSVG(buckets []Bucket, faults []FaultRow, leaders []LeaderChange) (string, error) {
	if len(buckets) == 0 {
		return "", nil
	}
	end := buckets[len(buckets)-1].Start + buckets[len(buckets)-1].Seconds
	for _, f := range faults {
		end = max(end, f.StartSeconds)
	}
	marks := overlay{faults: faults, leaders: leaders}

	top := plot.New()
	top.Y.Label.Text = "ok ops/s"
	top.Y.Min = 0
	addSeries(top, buckets, colorThroughput, 1.6, func(b Bucket) float64 { return float64(b.OK) / b.Seconds })
	addSeries(top, buckets, colorErrors, 1, func(b Bucket) float64 { return float64(b.Errors) / b.Seconds })
	top.Add(plotter.NewGrid())
	top.Add(marks.withLabels())

	bottom := plot.New()
	bottom.Y.Label.Text = "latency (ms)"
	bottom.X.Label.Text = "seconds since the run started"
	bottom.Y.Scale = plot.LogScale{}
	bottom.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	addSeries(bottom, buckets, colorP99, 1.4, func(b Bucket) float64 { return b.P99 * 1e3 })
	addSeries(bottom, buckets, colorP50, 1.4, func(b Bucket) float64 { return b.P50 * 1e3 })
	lo, hi := latencyRange(buckets)
	bottom.Y.Min, bottom.Y.Max = lo, hi
	bottom.Add(plotter.NewGrid())
	bottom.Add(marks)

	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = 0, end
		p.X.Tick.Marker = timeTicks{}
		// Sans, as the page's CSS draws the text, so that gonum measures
		// the labels it places with the font they are shown in.
		for _, f := range []*font.Font{&p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font, &p.X.Tick.Label.Font, &p.Y.Tick.Label.Font} {
			*f = sans(vg.Points(10))
		}
	}
	if top.Y.Max <= 0 {
		top.Y.Max = 1
	}
	top.Y.Max *= 1.12 // room for the fault labels

	const width, height = 980, 460
	c := vgsvg.New(vg.Points(width), vg.Points(height))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Points(4), PadY: vg.Points(10), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(12)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("timeline: %w", err)
	}
	return inlineSVG(buf.String()), nil
}

// addSeries adds one line per run of consecutive buckets that have a
// value, so that gaps (no ok operations) show as gaps.
func addSeries(p *plot.Plot, buckets []Bucket, clr color.Color, width float64, value func(Bucket) float64) {
	var run plotter.XYs
	flush := func() {
		if len(run) == 0 {
			return
		}
		l, err := plotter.NewLine(run)
		if err == nil {
			l.LineStyle.Color = clr
			l.LineStyle.Width = vg.Points(width)
			p.Add(l)
		}
		run = nil
	}
	for _, b := range buckets {
		v := math.NaN()
		if b.Seconds >= minBucketSeconds {
			v = value(b)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || (p.Y.Scale != nil && isLog(p) && v <= 0) {
			flush()
			continue
		}
		// Plot each bucket at its middle.
		run = append(run, plotter.XY{X: b.Start + b.Seconds/2, Y: v})
	}
	flush()
}

func isLog(p *plot.Plot) bool {
	_, ok := p.Y.Scale.(plot.LogScale)
	return ok
}

// latencyRange is the y range of the latency plot, in ms: whole decades
// around the values, so that the log ticks have labels.
func latencyRange(buckets []Bucket) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, b := range buckets {
		for _, v := range []float64{b.P50, b.P99} {
			if v > 0 {
				lo, hi = min(lo, v*1e3), max(hi, v*1e3)
			}
		}
	}
	if math.IsInf(lo, 0) {
		return 0.1, 10
	}
	return math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
}

// sans is the Liberation Sans face (metric-compatible with Arial and
// Helvetica) at the given size.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// timeTicks marks the time axis every 1, 2, 5, 10, 15, 30 or 60 seconds
// (or a multiple of a minute), whichever gives about ten labels, with
// unlabelled ticks in between.
type timeTicks struct{}

// Ticks implements plot.Ticker.
func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	steps := []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (hi-lo)/s <= 12 {
			step = s
			break
		}
	}
	minor := step / 5
	if step == 15 || step == 30 {
		minor = step / 3
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / minor); i*minor <= hi; i++ {
		v := i * minor
		t := plot.Tick{Value: v}
		if math.Mod(v, step) == 0 {
			t.Label = fmt.Sprintf("%g", v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// overlay shades fault windows and marks leader changes on a plot.
type overlay struct {
	faults  []FaultRow
	leaders []LeaderChange
	labels  bool
}

func (o overlay) withLabels() overlay { o.labels = true; return o }

// Plot implements plot.Plotter.
func (o overlay) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	label := draw.TextStyle{Color: colorFaultText, Font: sans(vg.Points(9)),
		Handler: plot.DefaultTextHandler, YAlign: draw.YTop}
	for i, f := range o.faults {
		if f.Error != "" {
			continue
		}
		end := f.EndSeconds
		if f.Open || end < f.StartSeconds {
			end = p.X.Max
		}
		x0, x1 := trX(f.StartSeconds), trX(end)
		if x1-x0 < vg.Points(1.5) {
			x1 = x0 + vg.Points(1.5) // an instant fault still shows
		}
		c.FillPolygon(colorFault, c.ClipPolygonXY([]vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}}))
		if o.labels {
			y := c.Max.Y - vg.Points(3) - vg.Points(11*float64(i%2))
			c.FillText(label, vg.Point{X: x0 + vg.Points(3), Y: y}, fmt.Sprintf("#%d %s", f.ID, f.Name))
		}
	}
	line := draw.LineStyle{Color: colorLeader, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	leaderText := label
	leaderText.Color = colorLeader
	leaderText.YAlign = draw.YBottom
	for _, l := range o.leaders {
		x := trX(l.TimeSeconds)
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		c.StrokeLine2(line, x, c.Min.Y, x, c.Max.Y)
		if !o.labels {
			what := "leader " + l.Node
			if l.Kind != "leader" || l.Node == "" {
				what = "no leader"
			}
			c.FillText(leaderText, vg.Point{X: x + vg.Points(3), Y: c.Min.Y + vg.Points(3)}, what)
		}
	}
}

var (
	svgProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	svgNS     = regexp.MustCompile(`\s+xmlns(:xlink)?="[^"]*"`)
	svgSize   = regexp.MustCompile(`<svg width="[^"]*" height="[^"]*"`)
)

// inlineSVG prepares an SVG document for inlining in HTML5: no XML
// prolog, no namespace declarations (the HTML parser supplies them), and
// a size that follows its container.
func inlineSVG(s string) string {
	s = svgProlog.ReplaceAllString(s, "")
	s = svgNS.ReplaceAllString(s, "")
	return svgSize.ReplaceAllString(s, `<svg class="chart" role="img" aria-label="throughput and latency over time" preserveAspectRatio="xMidYMid meet"`)
}
