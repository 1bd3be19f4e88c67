package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/faultline-dev/faultline/cost"
)

// HeatCell is one engine × fault of the heat map: the worst of the
// engine's cells under the fault, over the workloads.
type HeatCell struct {
	Engine, Fault string
	// State is measured, baseline (no fault), not-run or not-applicable.
	State     string
	Survived  *bool
	Recovered bool
	RTO       float64
	Lost      float64
	// Throughput is a baseline's ok operations per second.
	Throughput float64
	Reason     string
	Cell, Link string
}

// Heat states.
const (
	heatMeasured = "measured"
	heatBaseline = "baseline"
	heatNotRun   = "not-run"
	heatNA       = "not-applicable"
)

// HeatMap is the engine × fault grid, one row per engine entry in matrix
// order and one column per fault.
func (ms *MatrixSelection) HeatMap() [][]HeatCell {
	var rows [][]HeatCell
	for _, e := range ms.Matrix.Engines {
		var row []HeatCell
		for _, f := range ms.Matrix.Faults {
			row = append(row, ms.heatCell(e.ID, f))
		}
		rows = append(rows, row)
	}
	return rows
}

func (ms *MatrixSelection) heatCell(engine string, f MatrixFault) HeatCell {
	h := HeatCell{Engine: engine, Fault: f.ID, State: heatNA, RTO: math.NaN(), Lost: -1, Throughput: math.NaN()}
	worse := func(c CellView) bool { // c is worse than what h holds
		switch {
		case h.State != heatMeasured:
			return true
		case c.Lost > h.Lost:
			return true
		case c.Survived != nil && !*c.Survived && (h.Survived == nil || *h.Survived):
			return true
		}
		return orInf(c.RTO) > orInf(h.RTO)
	}
	for _, c := range ms.Cells {
		if c.Engine != engine || c.Fault != f.ID {
			continue
		}
		switch {
		case c.Report == nil && c.Status == "not-applicable":
			if h.State == heatNA && h.Reason == "" {
				h.Reason = c.Reason
			}
		case c.Report == nil:
			if h.State == heatNA {
				h.State, h.Reason, h.Cell = heatNotRun, c.Reason, c.ID
			}
		case f.Kind == BaselineKind:
			if h.State != heatBaseline || nanLess(h.Throughput, c.Throughput) {
				h = HeatCell{Engine: engine, Fault: f.ID, State: heatBaseline, RTO: math.NaN(), Lost: c.Lost, Throughput: c.Throughput, Cell: c.ID, Link: c.Link()}
			}
		case worse(c):
			h = HeatCell{Engine: engine, Fault: f.ID, State: heatMeasured, Survived: c.Survived, Recovered: c.Recovered, RTO: c.RTO, Lost: c.Lost,
				Throughput: c.Throughput, Cell: c.ID, Link: c.Link()}
		}
	}
	return h
}

// heatScale is the RTO the heat map colours red: the RTO requirement, or
// 30 s.
func (ms *MatrixSelection) heatScale() float64 {
	if ms.Matrix.Requirements.RTOMax > 0 {
		return ms.Matrix.Requirements.RTOMax.Seconds()
	}
	return 30
}

// rtoColor maps an RTO onto green (0) through amber to red (at scale and
// beyond); writes that never came back are dark red.
func rtoColor(rto float64, recovered bool, scale float64) string {
	if !recovered || math.IsNaN(rto) {
		return "#7f1d1d"
	}
	t := math.Max(0, math.Min(rto/scale, 1))
	lerp := func(a, b [3]float64, t float64) string {
		return fmt.Sprintf("#%02x%02x%02x", int(a[0]+(b[0]-a[0])*t), int(a[1]+(b[1]-a[1])*t), int(a[2]+(b[2]-a[2])*t))
	}
	green, amber, red := [3]float64{0x22, 0xc5, 0x5e}, [3]float64{0xf5, 0x9e, 0x0b}, [3]float64{0xdc, 0x26, 0x26}
	if t < 0.5 {
		return lerp(green, amber, t*2)
	}
	return lerp(amber, red, (t-0.5)*2)
}

// HeatMapSVG draws the heat map: a row per engine, a column per fault,
// each box coloured by RTO (scaled to the RTO requirement, or 30 s), a
// cross where the engine did not survive, the lost writes marked with a
// heavy outline, and grey boxes for cells that did not run; each box
// links to the cell's report.
func (ms *MatrixSelection) HeatMapSVG() template.HTML {
	grid := ms.HeatMap()
	scale := ms.heatScale()
	const labelW, boxW, boxH, headH, gap = 200, 150, 46, 40, 4
	w := labelW + len(ms.Matrix.Faults)*(boxW+gap)
	h := headH + len(grid)*(boxH+gap)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="engine by fault heat map">`, w, h, w, h)
	b.WriteString(`<style>text{font:12px system-ui,Arial,sans-serif;fill:#1f2937}.big{font-weight:650;font-size:13px}.w{fill:#fff}</style>`)
	for j, f := range ms.Matrix.Faults {
		x := labelW + j*(boxW+gap) + boxW/2
		fmt.Fprintf(&b, `<text x="%d" y="16" text-anchor="middle" class="big">%s</text>`, x, esc(shorten(f.Title, 22)))
		fmt.Fprintf(&b, `<text x="%d" y="32" text-anchor="middle" fill="#6b7280">%s</text>`, x, esc(shorten(strings.TrimSpace(f.Kind+" "+f.Target), 24)))
	}
	for i, row := range grid {
		y := headH + i*(boxH+gap)
		fmt.Fprintf(&b, `<g class="row" data-engine="%s">`, esc(ms.Matrix.Engines[i].ID))
		fmt.Fprintf(&b, `<text x="4" y="%d" class="big">%s</text>`, y+boxH/2+4, esc(shorten(ms.Matrix.Engine(ms.Matrix.Engines[i].ID).Title(), 25)))
		for j, c := range row {
			x := labelW + j*(boxW+gap)
			fill, line1, line2, cls := "#f3f4f6", "n/a", "", ""
			stroke, sw := "#d1d5db", 1
			switch c.State {
			case heatNotRun:
				fill, line1, line2 = "#e5e7eb", "not run", shorten(c.Reason, 24)
			case heatBaseline:
				fill, line1, line2 = "#dbeafe", "baseline", fmt.Sprintf("%.0f ops/s", c.Throughput)
			case heatMeasured:
				fill, cls = rtoColor(c.RTO, c.Recovered, scale), "w"
				line1 = "no recovery"
				if c.Recovered {
					line1 = fmt.Sprintf("RTO %.1f s", c.RTO)
				}
				if c.Survived != nil && !*c.Survived {
					line1 += " ✗"
				}
				if c.Lost > 0 {
					line2, stroke, sw = fmt.Sprintf("⚠ %.0f lost", c.Lost), "#111827", 4
				} else if c.Lost == 0 {
					line2 = "0 lost"
				}
			}
			if c.Link != "" {
				fmt.Fprintf(&b, `<a href="%s">`, esc(c.Link))
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="5" fill="%s" stroke="%s" stroke-width="%d"><title>%s</title></rect>`,
				x, y, boxW, boxH, fill, stroke, sw, esc(c.Engine+" × "+c.Fault+": "+line1+" "+line2+" "+c.Reason))
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="big %s">%s</text>`, x+boxW/2, y+19, cls, esc(line1))
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="%s">%s</text>`, x+boxW/2, y+36, cls, esc(line2))
			if c.Link != "" {
				b.WriteString(`</a>`)
			}
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped names
}

// CostSVG draws a bar per engine entry and way to run it (self-hosted on
// its cheapest cloud, and the cheapest managed offering standing in for
// it): the P50 a month, a whisker from P10 to P90, the budget as a line,
// and the cheapest configuration meeting every requirement starred.
func (ms *MatrixSelection) CostSVG() template.HTML {
	type bar struct {
		label string
		p     Priced
		best  bool
	}
	var bars []bar
	var top float64
	for _, c := range ms.Costs {
		title := ms.Matrix.Engine(c.Engine).Title()
		if len(c.SelfHosted) == 0 && len(c.Managed) == 0 {
			bars = append(bars, bar{label: title + " — not priced"})
			continue
		}
		var pick []Priced
		if s := cheapestOf(c.SelfHosted); s != nil {
			pick = append(pick, *s)
		}
		if len(c.Managed) > 0 {
			pick = append(pick, c.Managed[0])
		}
		for _, p := range pick {
			best := ms.Best != nil && ms.Best.Engine == c.Engine && ms.Best.Priced.ID == p.ID && ms.Best.Priced.Cloud == p.Cloud
			bars = append(bars, bar{label: fmt.Sprintf("%s — %s (%s)", title, p.Title, p.Cloud), p: p, best: best})
			top = math.Max(top, p.P90)
		}
	}
	budget := ms.Matrix.Requirements.Budget
	top = math.Max(top, budget)
	if top <= 0 {
		top = 1
	}
	const labelW, plotW, barH, gap = 420, 420, 18, 10
	w, h := labelW+plotW+90, 30+len(bars)*(barH+gap)+24
	x := func(v float64) float64 { return labelW + v/top*plotW }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg class="costbars" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="monthly cost per engine">`, w, h, w, h)
	b.WriteString(`<style>text{font:12px system-ui,Arial,sans-serif;fill:#1f2937}.b{font-weight:700}</style>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" fill="#6b7280">USD a month at the target workload (P50; whisker P10–P90), %s</text>`, labelW, esc(cost.SurvivalTitle(ms.Matrix.Requirements.CostSurvival())))
	for i, br := range bars {
		y := 28 + i*(barH+gap)
		cls := ""
		if br.best {
			cls = "b"
		}
		label := br.label
		if br.best {
			label = "★ " + label
		}
		fmt.Fprintf(&b, `<text x="4" y="%d" class="%s">%s</text>`, y+13, cls, esc(shorten(label, 64)))
		if br.p.P50 <= 0 {
			continue
		}
		fill := "#2563eb"
		if br.p.Kind != cost.SelfHosted {
			fill = "#9333ea"
		}
		stroke := ""
		if br.best {
			stroke = ` stroke="#111827" stroke-width="2"`
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"%s><title>%s</title></rect>`, labelW, y, x(br.p.P50)-labelW, barH, fill, stroke, esc(money(br.p.P50)))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#111827"/>`, x(br.p.P10), x(br.p.P90), y+barH/2, y+barH/2)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, x(br.p.P90)+6, y+13, esc(money(br.p.P50)))
	}
	if budget > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="22" y2="%d" stroke="#dc2626" stroke-dasharray="4 3"/><text x="%.1f" y="%d" fill="#dc2626">budget %s</text>`,
			x(budget), x(budget), h-20, x(budget)-30, h-6, esc(money(budget)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped names
}

func cheapestOf(ps []Priced) *Priced {
	var best *Priced
	for i := range ps {
		if best == nil || ps[i].P50 < best.P50 {
			best = &ps[i]
		}
	}
	return best
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
