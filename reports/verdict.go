package reports

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/elle"
)

// Statuses of a requirement for an engine.
const (
	Met         = "met"
	NotMet      = "not met"
	NotMeasured = "not measured"
)

// Requirement names, as the report's columns show them.
const (
	ReqSurvive   = "survive"
	ReqRPO       = "rpo"
	ReqRTO       = "rto-max"
	ReqIsolation = "isolation"
	ReqBudget    = "budget"
)

// Decision is one requirement decided for one engine, with the evidence:
// the cell that decides it (whose report section it links to) and why in
// words.
type Decision struct {
	Requirement string `json:"requirement"`
	// Asked is the requirement's value in words ("zone", "0 lost writes").
	Asked  string `json:"asked"`
	Status string `json:"status"`
	// Why says what decided it; Cell the deciding cell (empty when no
	// cell does, as for a cost or a requirement nothing measured), Link
	// its report section relative to the matrix directory.
	Why  string `json:"why"`
	Cell string `json:"cell,omitempty"`
	Link string `json:"link,omitempty"`
}

// RequirementRow is every requirement decided for one engine entry.
type RequirementRow struct {
	Engine    string     `json:"engine"`
	Decisions []Decision `json:"decisions"`
	// Ran counts the engine's cells with evidence; WhyNot says why the
	// first of its other cells (not applicable ones aside) has none.
	Ran    int    `json:"ran"`
	WhyNot string `json:"why_not,omitempty"`
}

// Count returns how many of the row's decisions have a status.
func (r RequirementRow) Count(status string) int {
	n := 0
	for _, d := range r.Decisions {
		if d.Status == status {
			n++
		}
	}
	return n
}

// Evaluate decides each requirement asked for one engine entry from its
// cells (with their figures) and its cost row (nil if it could not be
// priced). Requirements not asked are left out. The rules:
//
//   - survive S: every fault cell within S (a node's loss is within zone
//     survival) must have survived, writes resuming while the fault was
//     in force; met only if a cell of scope S itself ran.
//   - rpo N: no cell may have lost more than N acknowledged writes; met
//     only if some cell could count them.
//   - rto-max D: every fault cell within the survival scope (every fault
//     cell, when no survival is asked) must have recovered within D.
//   - isolation L: no cell may show an anomaly L forbids (list-append's
//     kinds; linearizable: the register check's verdict); met only if a
//     cell checked it to the end.
//   - budget B: the cheapest way to run the engine (self-hosted or a
//     managed offering standing in for it), P50 a month, at most B.
func Evaluate(req Requirements, engine string, cells []CellView, c *CostRow) RequirementRow {
	row := RequirementRow{Engine: engine}
	var ran []CellView
	for _, cv := range cells {
		switch {
		case cv.Report != nil:
			ran = append(ran, cv)
		case row.WhyNot == "" && cv.Status != "not-applicable":
			row.WhyNot = cv.Status + ": " + cv.Reason
		}
	}
	row.Ran = len(ran)
	if len(ran) == 0 {
		// Nothing to decide from: say so once, rather than what each
		// rule found missing.
		for _, d := range evaluate(req, nil, c) {
			if d.Status != NotMeasured || d.Requirement == ReqBudget {
				row.Decisions = append(row.Decisions, d)
				continue
			}
			d.Why, d.Cell, d.Link = "no cell of it ran", "", ""
			row.Decisions = append(row.Decisions, d)
		}
		return row
	}
	row.Decisions = evaluate(req, ran, c)
	return row
}

// evaluate decides each requirement asked from the cells with evidence.
func evaluate(req Requirements, ran []CellView, c *CostRow) []Decision {
	var out []Decision
	if req.Survive != "" {
		out = append(out, decideSurvive(req.Survive, ran))
	}
	if req.RPO != nil {
		out = append(out, decideRPO(*req.RPO, ran))
	}
	if req.RTOMax > 0 {
		out = append(out, decideRTO(req.RTOMax, req.Survive, ran))
	}
	if req.Isolation != "" {
		out = append(out, decideIsolation(req.Isolation, ran))
	}
	if req.Budget > 0 {
		out = append(out, decideBudget(req.Budget, c))
	}
	return out
}

func decided(req, asked, status, why string, c *CellView) Decision {
	d := Decision{Requirement: req, Asked: asked, Status: status, Why: why}
	if c != nil {
		d.Cell, d.Link = c.ID, c.Link()
	}
	return d
}

func decideSurvive(scope string, cells []CellView) Decision {
	asked := scope
	var worst, atScope *CellView
	for i := range cells {
		c := &cells[i]
		if c.Survived == nil || !scopeWithin(c.Scope, scope) {
			continue
		}
		if !*c.Survived && (worst == nil || orInf(c.RTO) > orInf(worst.RTO)) {
			worst = c
		}
		if c.Scope == scope && (atScope == nil || orInf(c.RTO) > orInf(atScope.RTO)) {
			atScope = c
		}
	}
	switch {
	case worst != nil:
		return decided(ReqSurvive, asked, NotMet, fmt.Sprintf("writes stopped until %s was healed (%s)", worst.Fault, rtoWords(*worst)), worst)
	case atScope != nil:
		return decided(ReqSurvive, asked, Met, fmt.Sprintf("kept writing through %s (%s)", atScope.Fault, rtoWords(*atScope)), atScope)
	}
	return decided(ReqSurvive, asked, NotMeasured, fmt.Sprintf("no %s-scope fault ran", scope), nil)
}

func rtoWords(c CellView) string {
	if !c.Recovered {
		return "writes never recovered"
	}
	return fmt.Sprintf("RTO %.1f s", c.RTO)
}

func decideRPO(max int, cells []CellView) Decision {
	asked := fmt.Sprintf("≤ %d lost writes", max)
	var worst *CellView
	for i := range cells {
		c := &cells[i]
		if c.Lost < 0 {
			continue
		}
		if worst == nil || c.Lost > worst.Lost || (c.Lost == worst.Lost && c.Scope != "" && worst.Scope == "") {
			worst = c
		}
	}
	switch {
	case worst == nil:
		return decided(ReqRPO, asked, NotMeasured, "no cell's workload counts lost writes (register or ledger)", nil)
	case worst.Lost > float64(max):
		return decided(ReqRPO, asked, NotMet, fmt.Sprintf("%.0f acknowledged writes lost under %s (window %s)", worst.Lost, worst.Fault, seconds(worst.Window)), worst)
	}
	if worst.Lost == 0 {
		return decided(ReqRPO, asked, Met, fmt.Sprintf("no acknowledged write lost in any cell, %s included", worst.Fault), worst)
	}
	return decided(ReqRPO, asked, Met, fmt.Sprintf("at most %.0f acknowledged writes lost in any cell (%s)", worst.Lost, worst.Fault), worst)
}

func decideRTO(max time.Duration, scope string, cells []CellView) Decision {
	asked := "≤ " + max.String()
	var worst *CellView
	for i := range cells {
		c := &cells[i]
		if c.Survived == nil || !scopeWithin(c.Scope, scope) {
			continue
		}
		if worst == nil || (!c.Recovered && worst.Recovered) || (c.Recovered == worst.Recovered && orInf(c.RTO) > orInf(worst.RTO)) {
			worst = c
		}
	}
	switch {
	case worst == nil:
		return decided(ReqRTO, asked, NotMeasured, "no fault cell within the survival scope ran", nil)
	case !worst.Recovered:
		return decided(ReqRTO, asked, NotMet, fmt.Sprintf("writes never recovered from %s", worst.Fault), worst)
	case worst.RTO > max.Seconds():
		return decided(ReqRTO, asked, NotMet, fmt.Sprintf("RTO %.1f s under %s", worst.RTO, worst.Fault), worst)
	}
	return decided(ReqRTO, asked, Met, fmt.Sprintf("worst RTO %.1f s (%s)", worst.RTO, worst.Fault), worst)
}

func decideIsolation(level string, cells []CellView) Decision {
	if level == IsolationLinearizable {
		var pass, fail *CellView
		for i := range cells {
			c := &cells[i]
			switch {
			case c.Linearizable == nil:
			case *c.Linearizable == check.Fail && fail == nil:
				fail = c
			case *c.Linearizable == check.Pass && pass == nil:
				pass = c
			}
		}
		switch {
		case fail != nil:
			return decided(ReqIsolation, level, NotMet, fmt.Sprintf("not linearizable under %s", fail.Fault), fail)
		case pass != nil:
			return decided(ReqIsolation, level, Met, "every register linearizable in every register cell", pass)
		}
		return decided(ReqIsolation, level, NotMeasured, "no register cell was checked for linearizability to the end", nil)
	}
	l, err := elle.ParseLevel(level)
	if err != nil {
		return decided(ReqIsolation, level, NotMeasured, err.Error(), nil)
	}
	var held, broke *CellView
	var forbidden []string
	for i := range cells {
		c := &cells[i]
		if c.AppendComplete == nil {
			continue
		}
		var bad []string
		for _, k := range c.AppendKinds {
			if l.Forbids(k) {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 && broke == nil {
			broke, forbidden = c, bad
		}
		if len(bad) == 0 && *c.AppendComplete && held == nil {
			held = c
		}
	}
	switch {
	case broke != nil:
		return decided(ReqIsolation, level, NotMet, fmt.Sprintf("%s under %s, at %s", strings.Join(forbidden, ", "), broke.Fault, orDash(broke.Isolation)), broke)
	case held != nil:
		return decided(ReqIsolation, level, Met, fmt.Sprintf("no anomaly %s forbids in any list-append cell (clients at %s)", level, orDash(held.Isolation)), held)
	}
	return decided(ReqIsolation, level, NotMeasured, "no list-append cell was checked to the end", nil)
}

func decideBudget(budget float64, c *CostRow) Decision {
	asked := fmt.Sprintf("≤ %s a month", money(budget))
	if c == nil || c.Cheapest == nil {
		why := "not priced"
		if c != nil && c.Why != "" {
			why = "not priced: " + c.Why
		}
		return decided(ReqBudget, asked, NotMeasured, why, nil)
	}
	ch := c.Cheapest
	d := Decision{Requirement: ReqBudget, Asked: asked, Cell: c.Cell, Link: c.Link}
	d.Why = fmt.Sprintf("cheapest: %s on %s, %s a month (P50)", ch.Title, ch.Cloud, money(ch.P50))
	d.Status = Met
	if ch.P50 > budget {
		d.Status = NotMet
	}
	return d
}

func money(v float64) string {
	if math.IsNaN(v) {
		return none
	}
	return "$" + commas(math.Round(v))
}

// commas formats a whole number with thousands separators.
func commas(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if v < 0 {
		return "-" + b.String()
	}
	return b.String()
}

// Ranked is one engine entry's place in the recommendation.
type Ranked struct {
	Rank   int    `json:"rank"`
	Engine string `json:"engine"`
	// Met, NotMet and NotMeasured count its requirements by status.
	Met         int `json:"met"`
	NotMet      int `json:"not_met"`
	NotMeasured int `json:"not_measured"`
	// Monthly is its cheapest P50 a month (NaN if not priced).
	Monthly float64 `json:"monthly"`
	// Sentence says why it stands where it does; Cells are the cells the
	// sentence rests on.
	Sentence string   `json:"sentence"`
	Cells    []string `json:"cells,omitempty"`
}

// Rank orders the engine entries: those that meet every requirement
// first, then those with requirements not measured but none failed, then
// by the number of requirements they fail; within each, cheapest first
// (not priced last), then by id. Each gets one sentence built from its
// decisions and cost.
func Rank(rows []RequirementRow, costs []CostRow) []Ranked {
	monthly := map[string]float64{}
	for _, c := range costs {
		if c.Cheapest != nil {
			monthly[c.Engine] = c.Cheapest.P50
		}
	}
	var out []Ranked
	for _, r := range rows {
		m, ok := monthly[r.Engine]
		if !ok {
			m = math.NaN()
		}
		out = append(out, Ranked{Engine: r.Engine, Met: r.Count(Met), NotMet: r.Count(NotMet), NotMeasured: r.Count(NotMeasured), Monthly: m})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ga, gb := group(a), group(b); ga != gb {
			return ga < gb
		}
		if a.NotMet != b.NotMet {
			return a.NotMet < b.NotMet
		}
		if a.NotMeasured != b.NotMeasured {
			return a.NotMeasured < b.NotMeasured
		}
		if ma, mb := orInf(a.Monthly), orInf(b.Monthly); ma != mb {
			return ma < mb
		}
		return a.Engine < b.Engine
	})
	for i := range out {
		out[i].Rank = i + 1
		row := rows[slices.IndexFunc(rows, func(r RequirementRow) bool { return r.Engine == out[i].Engine })]
		out[i].Sentence, out[i].Cells = sentence(out[i], row)
	}
	return out
}

// group: 0 meets everything, 1 fails nothing but some is unmeasured, 2
// fails something.
func group(r Ranked) int {
	switch {
	case r.NotMet > 0:
		return 2
	case r.NotMeasured > 0:
		return 1
	}
	return 0
}

// sentence says, from the decisions alone, why an engine ranks where it
// does, naming the cells it rests on.
func sentence(r Ranked, row RequirementRow) (string, []string) {
	var cells []string
	clause := func(d Decision) string {
		s := d.Requirement + " " + d.Asked + ": " + d.Why
		if d.Cell != "" {
			s += " [" + d.Cell + "]"
			if !slices.Contains(cells, d.Cell) {
				cells = append(cells, d.Cell)
			}
		}
		return s
	}
	var parts []string
	var lead string
	switch group(r) {
	case 0:
		lead = "meets every requirement"
		for _, d := range row.Decisions {
			parts = append(parts, clause(d))
		}
	case 1:
		lead = fmt.Sprintf("fails none, but %d not measured", r.NotMeasured)
		for _, d := range row.Decisions {
			if d.Status == NotMeasured {
				parts = append(parts, clause(d))
			}
		}
	default:
		lead = fmt.Sprintf("does not meet %d requirement%s", r.NotMet, plural(r.NotMet))
		for _, d := range row.Decisions {
			if d.Status == NotMet {
				parts = append(parts, clause(d))
			}
		}
	}
	if len(row.Decisions) == 0 {
		lead = "no requirement asked"
	}
	if row.Ran == 0 {
		lead, parts = "has no evidence: none of its cells ran", nil
		if row.WhyNot != "" {
			lead += " (" + shorten(row.WhyNot, 160) + ")"
		}
	}
	s := r.Engine + " " + lead
	if len(parts) > 0 {
		s += " — " + strings.Join(parts, "; ")
	}
	if !math.IsNaN(r.Monthly) {
		s += fmt.Sprintf("; cheapest %s a month", money(r.Monthly))
	} else {
		s += "; not priced"
	}
	return s + ".", cells
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
