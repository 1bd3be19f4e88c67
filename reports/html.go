package reports

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"image/color"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

//go:embed templates
var templates embed.FS

// maxOpsShown bounds the operations listed under each anomaly.
const maxOpsShown = 25

// htmlView is what report.html's template sees.
type htmlView struct {
	R         *Report
	Title     string
	Verdict   string
	CSS       template.CSS
	Chart     template.HTML
	Colors    struct{ Throughput, Errors, P50, P99, Leader string }
	Anomalies []anomalyView
	Artifacts []artifactView
	Sections  []Section
}

type anomalyView struct {
	Checker, Kind, Key, Explanation string
	Ops                             []string
	More                            int
}

type artifactView struct {
	Checker, Name, Description string
}

// HTML renders report.html: one self-contained page (styles inline, the
// timeline as inline SVG, no scripts, fonts or images from elsewhere)
// with the verdict, the timeline, the checks, the per-fault RTO and RPO,
// the anomalies with their operations, links to the checkers' artifacts
// (saved next to the page), load, leader changes, resources, and the
// contributed sections.
func HTML(ctx context.Context, rep *Report, run Run) ([]byte, error) {
	h := run.History
	if h == nil {
		h = &workload.History{}
	}
	css, err := templates.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	v := htmlView{R: rep, Title: title(rep), Verdict: rep.Verdict.String(), CSS: template.CSS(css)}
	if rep.InfraError != "" {
		v.Verdict = "infrastructure failure"
	}
	v.Colors.Throughput, v.Colors.Errors = hex(colorThroughput), hex(colorErrors)
	v.Colors.P50, v.Colors.P99, v.Colors.Leader = hex(colorP50), hex(colorP99), hex(colorLeader)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	svg, err := timelineSVG(Timeline(h), rep.Faults, rep.LeaderChanges)
	if err != nil {
		return nil, err
	}
	v.Chart = template.HTML(svg) // produced by gonum/plot from numbers and names it escapes
	v.Anomalies = anomalyViews(rep, h)
	for _, c := range rep.Checks {
		for _, a := range c.Artifacts {
			v.Artifacts = append(v.Artifacts, artifactView{Checker: c.Checker, Name: a.Name, Description: a.Description})
		}
	}
	for _, s := range run.Sections {
		if s.HTML != "" {
			v.Sections = append(v.Sections, s)
		}
	}
	t, err := template.New("report.html.tmpl").Funcs(templateFuncs()).ParseFS(templates, "templates/report.html.tmpl")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// anomalyViews lists every anomaly with its operations as the history
// records them.
func anomalyViews(rep *Report, h *workload.History) []anomalyView {
	byIndex := make(map[int64]workload.Op, len(h.Ops))
	for _, o := range h.Ops {
		byIndex[o.Index] = o
	}
	var out []anomalyView
	for _, c := range rep.Checks {
		for _, a := range c.Anomalies {
			av := anomalyView{Checker: c.Checker, Kind: a.Kind, Key: a.Key, Explanation: a.Explanation}
			for i, idx := range a.Ops {
				if i == maxOpsShown {
					av.More = len(a.Ops) - i
					break
				}
				if o, ok := byIndex[idx]; ok {
					av.Ops = append(av.Ops, o.String())
				} else {
					av.Ops = append(av.Ops, fmt.Sprintf("#%d (not in the history)", idx))
				}
			}
			out = append(out, av)
		}
	}
	return out
}

// templateFuncs are the helpers report.html's template calls.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"upper":   strings.ToUpper,
		"engine":  engine,
		"seconds": seconds,
		"rto":     rtoCell,
		"metric":  metricSeconds,
		"count":   count,
		"rate":    rate,
		"target":  target,
		"bytes":   bytesIEC,
		"anchor":  anchor,
		"stat": func(m map[string]float64, name, unit string) string {
			f := map[string]func(float64) string{"seconds": seconds, "count": integer, "rate": perSecond}[unit]
			if f == nil {
				return "?" + unit
			}
			return stat(m, name, f)
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return none
			}
			return t.UTC().Format("2006-01-02 15:04:05 MST")
		},
		"nodes": func(ns []workload.NodeInfo) string {
			if len(ns) == 0 {
				return none
			}
			zones := map[string]bool{}
			for _, n := range ns {
				zones[n.Zone] = true
			}
			return fmt.Sprintf("%d in %d zones", len(ns), len(zones))
		},
	}
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// anchor is the fragment a section's title is linked by: lower case,
// dashes for everything but letters and digits ("Cost" is #cost).
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
