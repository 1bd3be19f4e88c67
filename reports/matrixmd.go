package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// SelectionJSONFile is the name of the selection report's JSON form.
const SelectionJSONFile = "selection.json"

// markdown renders a matrix's selection report in Markdown, short enough
// for a CI job summary: recommendation, requirements, survival,
// expectations missed, cost and the cells without evidence.
func (ms *MatrixSelection) markdown() []byte {
	var b bytes.Buffer
	m := ms.Matrix
	ran, notRun, na, intr := ms.Counts()
	fmt.Fprintf(&b, "## faultline engine selection: %s\n\n", mdEscape(m.Name))
	fmt.Fprintf(&b, "%d cells ran, %d not run, %d not applicable, %d interrupted; wall time %s. Requirements: %s.\n\n",
		ran, notRun, na, intr, seconds(m.WallSeconds), mdEscape(askedText(m.Requirements)))
	if ms.Baseline != "" {
		fmt.Fprintf(&b, "### Against the baseline (%s)\n\n", mdEscape(ms.Baseline))
		if len(ms.Regressions) == 0 {
			b.WriteString("No regression: no new failure or anomaly, no RTO, throughput or cost beyond the tolerance.\n\n")
		}
		for _, r := range ms.Regressions {
			fmt.Fprintf(&b, "- **%s** %s: %s → %s\n", r.Kind, mdEscape(orDash(r.Cell+r.engineIfNoCell())), mdEscape(r.Was), mdEscape(r.Now))
		}
		if len(ms.Regressions) > 0 {
			b.WriteString("\n")
		}
	}
	b.WriteString("### Recommendation\n\n")
	if ms.Best != nil {
		fmt.Fprintf(&b, "**Cheapest configuration meeting every requirement:** %s as %s on %s, %s a month (P10 %s, P90 %s).\n\n",
			mdEscape(ms.Best.Engine), mdEscape(ms.Best.Priced.Title), ms.Best.Priced.Cloud, money(ms.Best.Priced.P50), money(ms.Best.Priced.P10), money(ms.Best.Priced.P90))
	} else {
		b.WriteString("**No engine meets every requirement** on this matrix's evidence.\n\n")
	}
	for _, r := range ms.Ranking {
		fmt.Fprintf(&b, "%d. %s\n", r.Rank, mdEscape(r.Sentence))
	}
	if len(ms.Requirements) > 0 && len(ms.Requirements[0].Decisions) > 0 {
		b.WriteString("\n### Requirements\n\n| engine |")
		for _, d := range ms.Requirements[0].Decisions {
			fmt.Fprintf(&b, " %s %s |", d.Requirement, mdEscape(d.Asked))
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(ms.Requirements[0].Decisions)) + "\n")
		for _, r := range ms.Requirements {
			fmt.Fprintf(&b, "| %s |", mdEscape(r.Engine))
			for _, d := range r.Decisions {
				fmt.Fprintf(&b, " %s %s: %s |", statusMark(d.Status), d.Status, mdEscape(d.Why))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n### Survival (engine × fault)\n\n| engine |")
	for _, f := range m.Faults {
		fmt.Fprintf(&b, " %s |", mdEscape(f.Title))
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(m.Faults)) + "\n")
	for i, row := range ms.HeatMap() {
		fmt.Fprintf(&b, "| %s |", mdEscape(m.Engines[i].ID))
		for _, c := range row {
			fmt.Fprintf(&b, " %s |", mdEscape(heatText(c)))
		}
		b.WriteString("\n")
	}
	var missed []ExpectedRow
	for _, e := range ms.Expected {
		if e.Missed != "" {
			missed = append(missed, e)
		}
	}
	fmt.Fprintf(&b, "\n### Expected versus measured\n\n%d cells set beside their engine's documentation; %d miss it.\n\n", len(ms.Expected), len(missed))
	for _, e := range missed {
		fmt.Fprintf(&b, "- %s: %s (documented: %s; %s)\n", mdEscape(e.Cell), mdEscape(e.Missed), mdEscape(e.Expectation.Text), mdEscape(e.Expectation.Source))
	}
	b.WriteString("\n### Cost (USD a month, P50 [P10–P90])\n\n| engine | self-hosted | cheapest managed | per 1k ops/s (self-hosted) |\n|---|---|---|---|\n")
	for _, c := range ms.Costs {
		self, managed, perK := none, none, none
		if s := cheapestOf(c.SelfHosted); s != nil {
			self = fmt.Sprintf("%s [%s–%s] %s", money(s.P50), money(s.P10), money(s.P90), s.Cloud)
			perK = money(s.PerKOps)
		}
		if len(c.Managed) > 0 {
			mg := c.Managed[0]
			managed = fmt.Sprintf("%s %s [%s–%s] %s", mg.Title, money(mg.P50), money(mg.P10), money(mg.P90), mg.Cloud)
		}
		if c.Why != "" {
			self = "not priced: " + shorten(c.Why, 120)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(c.Engine), mdEscape(self), mdEscape(managed), perK)
	}
	if notRun+intr > 0 {
		b.WriteString("\n### Cells without evidence (never counted as passes)\n\n")
		for _, c := range ms.Cells {
			if c.Report == nil && c.Status != "not-applicable" {
				fmt.Fprintf(&b, "- %s: %s: %s\n", mdEscape(c.ID), c.Status, mdEscape(shorten(c.Reason, 200)))
			}
		}
	}
	b.WriteString("\n")
	return b.Bytes()
}

func statusMark(s string) string {
	switch s {
	case Met:
		return "✅"
	case NotMet:
		return "❌"
	}
	return "❔"
}

// heatText says a heat-map box in words.
func heatText(c HeatCell) string {
	switch c.State {
	case heatNotRun:
		return "not run"
	case heatNA:
		return "n/a"
	case heatBaseline:
		return fmt.Sprintf("baseline %.0f ops/s", c.Throughput)
	}
	s := "no recovery"
	if c.Recovered {
		s = fmt.Sprintf("RTO %.1f s", c.RTO)
	}
	if c.Survived != nil {
		if *c.Survived {
			s = "✅ " + s
		} else {
			s = "❌ " + s
		}
	}
	if c.Lost > 0 {
		s += fmt.Sprintf(", %.0f lost", c.Lost)
	}
	return s
}

// JSON renders a matrix's selection report as JSON (figures not measured
// are null).
func (ms *MatrixSelection) JSON() ([]byte, error) {
	type cell struct {
		MatrixCell
		Scope      string   `json:"scope,omitempty"`
		Class      string   `json:"class,omitempty"`
		Verdict    string   `json:"verdict,omitempty"`
		Survived   *bool    `json:"survived,omitempty"`
		Recovered  bool     `json:"recovered"`
		RTO        *float64 `json:"rto_seconds"`
		WriteGap   *float64 `json:"longest_write_gap_seconds"`
		Lost       *float64 `json:"lost_writes"`
		Window     *float64 `json:"rpo_window_seconds"`
		Drop       *float64 `json:"throughput_drop"`
		Throughput *float64 `json:"ops_per_second"`
		Anomalies  []string `json:"anomalies,omitempty"`
		Isolation  string   `json:"isolation,omitempty"`
		Link       string   `json:"link"`
	}
	type ranked struct {
		Ranked
		Monthly *float64 `json:"monthly"`
	}
	out := struct {
		Format       string           `json:"format"`
		Matrix       Matrix           `json:"matrix"`
		RTOMaxSec    float64          `json:"rto_max_seconds,omitempty"`
		Best         *Config          `json:"best,omitempty"`
		Ranking      []ranked         `json:"ranking"`
		Requirements []RequirementRow `json:"requirements"`
		Cells        []cell           `json:"cells"`
		Expected     []ExpectedRow    `json:"expected"`
		Costs        []CostRow        `json:"costs"`
		Baseline     string           `json:"baseline,omitempty"`
		Regressions  []Regression     `json:"regressions,omitempty"`
	}{Baseline: ms.Baseline, Regressions: ms.Regressions, Format: "faultline.selection/v1", Matrix: ms.Matrix, RTOMaxSec: ms.Matrix.Requirements.RTOMax.Seconds(), Best: ms.Best,
		Requirements: ms.Requirements, Expected: ms.Expected, Costs: ms.Costs}
	for _, r := range ms.Ranking {
		out.Ranking = append(out.Ranking, ranked{Ranked: r, Monthly: finite(r.Monthly)})
	}
	for _, c := range ms.Cells {
		lost := finite(c.Lost)
		if c.Lost < 0 {
			lost = nil
		}
		cv := cell{MatrixCell: c.MatrixCell, Scope: c.Scope, Class: c.Class, Survived: c.Survived, Recovered: c.Recovered,
			RTO: finite(c.RTO), WriteGap: finite(c.WriteGap), Lost: lost, Window: finite(c.Window), Drop: finite(c.Drop),
			Throughput: finite(c.Throughput), Anomalies: c.Anomalies, Isolation: c.Isolation, Link: c.Link()}
		if c.Report != nil {
			cv.Verdict = c.Verdict.String()
		}
		out.Cells = append(out.Cells, cv)
	}
	return json.MarshalIndent(out, "", "  ")
}

// finite returns a pointer to v, or nil when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
