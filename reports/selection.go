package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/check"
)

// The names of the files WriteSelection writes.
const (
	SelectionHTMLFile     = "selection.html"
	SelectionMarkdownFile = "selection.md"
)

// Selection compares runs for choosing an engine: a row per engine and
// version with its worst figures over its runs, and a row per run.
type Selection struct {
	Engines []EngineRow
	Runs    []RunRow
	// Matrix is the selection report of a matrix run: requirements,
	// survival, expectations, cost and the recommendation. Nil for a
	// comparison of runs.
	Matrix *MatrixSelection
}

// RunRow is one run's headline figures.
type RunRow struct {
	Dir    string
	Report *Report
	// WorstRTOSeconds is the largest RTO among the faults that recovered
	// (NaN if none did); Unrecovered counts the faults that did not.
	WorstRTOSeconds float64
	Unrecovered     int
	// LostWrites is the rpo checker's count of lost acknowledged writes
	// (NaN if it did not run).
	LostWrites float64
	// Throughput is ok operations per second over the load; P99Seconds the
	// p99 latency of ok operations.
	Throughput, P99Seconds float64
}

// EngineRow sums up the runs of one engine and version.
type EngineRow struct {
	Engine, Version string
	Scenarios       []string
	// Verdict is the worst of the runs' verdicts.
	Verdict                  check.Verdict
	Runs, Passed, Failed     int
	Undecided                int
	WorstRTOSeconds          float64
	Unrecovered              int
	LostWrites               float64
	MinThroughput, MaxP99Sec float64
}

// Compare reads the result.json of each run directory and compares them.
// It reports every directory it could not read.
func Compare(dirs []string) (*Selection, error) {
	var s Selection
	var errs []error
	for _, d := range dirs {
		rep, err := Read(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Runs = append(s.Runs, runRow(d, rep))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("compare runs: %w", err)
	}
	s.Engines = engineRows(s.Runs)
	return &s, nil
}

func runRow(dir string, rep *Report) RunRow {
	r := RunRow{Dir: dir, Report: rep, WorstRTOSeconds: math.NaN(), LostWrites: math.NaN(),
		Throughput: statOr(rep.Stats, "ops_per_second"), P99Seconds: statOr(rep.Stats, "p99_seconds")}
	for _, f := range rep.Faults {
		if v, ok := f.Metric("rto_seconds"); ok && (math.IsNaN(r.WorstRTOSeconds) || v > r.WorstRTOSeconds) {
			r.WorstRTOSeconds = v
		}
		if v, ok := f.Metric("recovered"); ok && v == 0 {
			r.Unrecovered++
		}
	}
	for _, c := range rep.Checks {
		if c.Checker == (check.RPO{}).Name() {
			if v, ok := c.Metrics["lost"]; ok {
				r.LostWrites = v
			}
		}
	}
	return r
}

func statOr(m map[string]float64, name string) float64 {
	if v, ok := m[name]; ok {
		return v
	}
	return math.NaN()
}

func engineRows(runs []RunRow) []EngineRow {
	byKey := map[string]*EngineRow{}
	var order []string
	for _, r := range runs {
		k := r.Report.Run.Engine + "\x00" + r.Report.Run.Version
		e, ok := byKey[k]
		if !ok {
			e = &EngineRow{Engine: r.Report.Run.Engine, Version: r.Report.Run.Version, WorstRTOSeconds: math.NaN(),
				LostWrites: math.NaN(), MinThroughput: math.NaN(), MaxP99Sec: math.NaN()}
			byKey[k] = e
			order = append(order, k)
		}
		e.Runs++
		e.Verdict = check.Merge(e.Verdict, r.Report.Verdict)
		switch r.Report.Verdict {
		case check.Pass:
			e.Passed++
		case check.Fail:
			e.Failed++
		default:
			e.Undecided++
		}
		if sc := r.Report.Run.Scenario; sc != "" && !contains(e.Scenarios, sc) {
			e.Scenarios = append(e.Scenarios, sc)
		}
		e.WorstRTOSeconds = nanMax(e.WorstRTOSeconds, r.WorstRTOSeconds)
		e.Unrecovered += r.Unrecovered
		if !math.IsNaN(r.LostWrites) {
			e.LostWrites = nanSum(e.LostWrites, r.LostWrites)
		}
		e.MinThroughput = nanMin(e.MinThroughput, r.Throughput)
		e.MaxP99Sec = nanMax(e.MaxP99Sec, r.P99Seconds)
	}
	out := make([]EngineRow, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	// Best first: by verdict, then fewest unrecovered faults, then the
	// smallest worst RTO.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Verdict != b.Verdict {
			return a.Verdict < b.Verdict
		}
		if a.Unrecovered != b.Unrecovered {
			return a.Unrecovered < b.Unrecovered
		}
		return orInf(a.WorstRTOSeconds) < orInf(b.WorstRTOSeconds)
	})
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func nanMax(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return math.Max(a, b)
}

func nanMin(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return math.Min(a, b)
}

func nanSum(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a + b
}

func orInf(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

// rtoText says an engine's or run's worst RTO, with the faults that never
// recovered.
func rtoText(worst float64, unrecovered int) string {
	s := seconds(worst)
	if unrecovered > 0 {
		s += fmt.Sprintf(" (%d not recovered)", unrecovered)
	}
	return s
}

func numText(v float64, format string) string {
	if math.IsNaN(v) {
		return none
	}
	return fmt.Sprintf(format, v)
}

// Markdown renders the comparison as Markdown.
func (s *Selection) Markdown() []byte {
	var b bytes.Buffer
	if s.Matrix != nil {
		b.Write(s.Matrix.markdown())
		b.WriteString("### Engines\n\n")
	} else {
		b.WriteString("## faultline engine selection\n\n")
	}
	b.WriteString("| engine | verdict | runs (pass/fail/unknown) | worst RTO | lost writes | min throughput | max p99 | scenarios |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, e := range s.Engines {
		fmt.Fprintf(&b, "| %s | %s | %d (%d/%d/%d) | %s | %s | %s | %s | %s |\n",
			mdEscape(engine(RunInfo{Engine: e.Engine, Version: e.Version})), verdictMark(e.Verdict), e.Runs, e.Passed, e.Failed, e.Undecided,
			rtoText(e.WorstRTOSeconds, e.Unrecovered), numText(e.LostWrites, "%.0f"), numText(e.MinThroughput, "%.1f ops/s"),
			seconds(e.MaxP99Sec), mdEscape(strings.Join(e.Scenarios, ", ")))
	}
	b.WriteString("\n### Runs\n\n| run | engine | scenario | verdict | worst RTO | lost writes | throughput | p99 |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range s.Runs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			mdEscape(filepath.Base(r.Dir)), mdEscape(engine(r.Report.Run)), mdEscape(orDash(r.Report.Run.Scenario)), verdictMark(r.Report.Verdict),
			rtoText(r.WorstRTOSeconds, r.Unrecovered), numText(r.LostWrites, "%.0f"), numText(r.Throughput, "%.1f ops/s"), seconds(r.P99Seconds))
	}
	return b.Bytes()
}

// HTML renders the comparison as one self-contained page whose run names
// link to each run's report.html, relative to outDir.
func (s *Selection) HTML(outDir string) ([]byte, error) {
	css, err := templates.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	funcs := templateFuncs()
	funcs["rtoText"] = rtoText
	funcs["num"] = numText
	funcs["base"] = filepath.Base
	funcs["link"] = func(dir string) string {
		rel, err := filepath.Rel(outDir, filepath.Join(dir, HTMLFile))
		if err != nil {
			return filepath.Join(dir, HTMLFile)
		}
		return filepath.ToSlash(rel)
	}
	funcs["engineOf"] = func(e EngineRow) string { return engine(RunInfo{Engine: e.Engine, Version: e.Version}) }
	for k, f := range matrixFuncs(outDir, s.Matrix) {
		funcs[k] = f
	}
	t, err := template.New("selection.html.tmpl").Funcs(funcs).ParseFS(templates, "templates/selection.html.tmpl")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct {
		S   *Selection
		CSS template.CSS
	}{s, template.CSS(css)}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteSelection writes selection.html and selection.md into dir, and
// for a matrix selection.json.
func WriteSelection(ctx context.Context, dir string, s *Selection) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	page, err := s.HTML(dir)
	if err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	if err := writeFile(filepath.Join(dir, SelectionHTMLFile), page); err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	if err := writeFile(filepath.Join(dir, SelectionMarkdownFile), s.Markdown()); err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	if s.Matrix != nil {
		js, err := s.Matrix.JSON()
		if err != nil {
			return fmt.Errorf("write selection: %w", err)
		}
		if err := writeFile(filepath.Join(dir, SelectionJSONFile), append(js, '\n')); err != nil {
			return fmt.Errorf("write selection: %w", err)
		}
	}
	return nil
}
