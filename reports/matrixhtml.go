package reports

import (
	"fmt"
	"html/template"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// matrixFuncs are the template functions of a matrix's selection report;
// links are made relative to outDir, where the page is written.
func matrixFuncs(outDir string, ms *MatrixSelection) template.FuncMap {
	rel := func(link string) string {
		if ms == nil {
			return link
		}
		path, frag, _ := strings.Cut(link, "#")
		r, err := filepath.Rel(outDir, filepath.Join(ms.Matrix.Dir, filepath.FromSlash(path)))
		if err != nil {
			r = filepath.Join(ms.Matrix.Dir, path)
		}
		if frag != "" {
			return filepath.ToSlash(r) + "#" + frag
		}
		return filepath.ToSlash(r)
	}
	return template.FuncMap{
		"rel":   rel,
		"money": money,
		"counts": func(m *MatrixSelection) string {
			a, b, c, d := m.Counts()
			return fmt.Sprintf("%d / %d / %d / %d", a, b, c, d)
		},
		"asked":       askedText,
		"statusClass": statusClass,
		"rankClass":   func(r Ranked) string { return []string{"pass", "unknown", "fail"}[group(r)] },
		"rankWord":    func(r Ranked) string { return fmt.Sprintf("#%d", r.Rank) },
		"engineTitle": func(m *MatrixSelection, id string) string { return m.Matrix.Engine(id).Title() },
		"cellLink": func(m *MatrixSelection, id string) string {
			for _, c := range m.Cells {
				if c.ID == id {
					return rel(c.Link())
				}
			}
			return ""
		},
		"margin": func() float64 { return SurvivalMargin },
		"deref": func(v any) any {
			rv := reflect.ValueOf(v)
			if rv.Kind() == reflect.Pointer && !rv.IsNil() {
				return rv.Elem().Interface()
			}
			return v
		},
		"pct":       func(v float64) float64 { return 100 * v },
		"short":     shorten,
		"isNum":     func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) },
		"first3":    func(ps []Priced) []Priced { return ps[:min(3, len(ps))] },
		"heatScale": func(m *MatrixSelection) float64 { return m.heatScale() },
		"notRun": func(m *MatrixSelection) bool {
			for _, c := range m.Cells {
				if c.Report == nil {
					return true
				}
			}
			return false
		},
		"priceView": func(m *MatrixSelection, c CostRow, p Priced) pricedView {
			best := m.Best != nil && m.Best.Engine == c.Engine && m.Best.Priced.ID == p.ID && m.Best.Priced.Cloud == p.Cloud
			return pricedView{Engine: m.Matrix.Engine(c.Engine).Title(), P: p, Best: best, Cell: c.Cell, Link: c.Link}
		},
	}
}

type pricedView struct {
	Engine     string
	P          Priced
	Best       bool
	Cell, Link string
}

func statusClass(s string) string {
	switch s {
	case Met:
		return "pass"
	case NotMet:
		return "fail"
	}
	return "unknown"
}

// askedText says the requirements in words.
func askedText(r Requirements) string {
	var parts []string
	if r.Survive != "" {
		parts = append(parts, "survive the loss of a "+r.Survive)
	}
	if r.RPO != nil {
		parts = append(parts, fmt.Sprintf("lose at most %d acknowledged writes", *r.RPO))
	}
	if r.RTOMax > 0 {
		parts = append(parts, "recover within "+r.RTOMax.Round(time.Millisecond).String())
	}
	if r.Isolation != "" {
		parts = append(parts, "hold "+r.Isolation)
	}
	if r.Budget > 0 {
		parts = append(parts, "cost at most "+money(r.Budget)+" a month")
	}
	if len(r.Clouds) > 0 {
		parts = append(parts, "run on "+strings.Join(r.Clouds, " or "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
