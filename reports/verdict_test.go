package reports_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/reports"
)

// cell builds a cell with evidence: its fault's scope, whether it
// survived, its RTO (NaN: writes never recovered) and lost writes (-1: not
// counted).
func cell(engine, fault, scope string, survived bool, rto, lost float64) reports.CellView {
	c := reports.CellView{
		MatrixCell: reports.MatrixCell{ID: engine + "/" + fault + "/register", Engine: engine, Fault: fault, Status: "ran", Dir: "cells/" + engine + "--" + fault},
		Report:     &reports.Report{}, Scope: scope, RTO: rto, Recovered: !math.IsNaN(rto), Lost: lost,
		WriteGap: rto, Window: math.NaN(), Drop: math.NaN(), Throughput: 100, Anchor: "fault-0",
	}
	if scope != "" {
		c.Survived = &survived
	}
	return c
}

func appendCell(engine string, complete bool, kinds ...string) reports.CellView {
	c := cell(engine, "pause", "node", true, 1, -1)
	c.ID = engine + "/pause/append"
	c.AppendComplete, c.AppendKinds, c.Isolation = &complete, kinds, "serializable"
	return c
}

func registerCell(engine string, v check.Verdict) reports.CellView {
	c := cell(engine, "none", "", false, math.NaN(), 0)
	c.Linearizable = &v
	return c
}

func priced(engine string, p50 float64) *reports.CostRow {
	return &reports.CostRow{Engine: engine, Cell: engine + "/none/register", Link: "cells/" + engine + "--none/report.html#cost", Cheapest: &reports.Priced{ID: "self-hosted", Title: "self-hosted", Kind: "self-hosted", Cloud: "aws", P10: p50 * 0.9, P50: p50, P90: p50 * 1.1}}
}

func intp(v int) *int { return &v }

func TestEvaluate(t *testing.T) {
	nodeOK := cell("e", "leader-kill", reports.ScopeNode, true, 2, 0)
	zoneDown := cell("e", "zone-a", reports.ScopeZone, false, 31, 0)
	zoneOK := cell("e", "zone-a", reports.ScopeZone, true, 4, 0)
	regionLost := cell("e", "region-1", reports.ScopeRegion, false, math.NaN(), 12)
	baseline := cell("e", "none", "", false, math.NaN(), 0)
	tests := []struct {
		name  string
		req   reports.Requirements
		cells []reports.CellView
		cost  *reports.CostRow
		// want is the status of each decision, in the order Evaluate
		// returns them; cell the deciding cell of the first.
		want []string
		cell string
		why  string
	}{
		{name: "no requirement asks nothing", cells: []reports.CellView{nodeOK}},
		{name: "survive zone, a zone outage stopped writes", req: reports.Requirements{Survive: "zone"},
			cells: []reports.CellView{nodeOK, zoneDown}, want: []string{reports.NotMet}, cell: "e/zone-a/register", why: "writes stopped until zone-a was healed (RTO 31.0 s)"},
		{name: "survive zone, only node faults ran", req: reports.Requirements{Survive: "zone"},
			cells: []reports.CellView{nodeOK, baseline}, want: []string{reports.NotMeasured}, why: "no zone-scope fault ran"},
		{name: "survive zone, node and zone survived", req: reports.Requirements{Survive: "zone"},
			cells: []reports.CellView{nodeOK, zoneOK, regionLost}, want: []string{reports.Met}, cell: "e/zone-a/register"},
		{name: "survive node ignores the zone outage", req: reports.Requirements{Survive: "node"},
			cells: []reports.CellView{nodeOK, zoneDown}, want: []string{reports.Met}, cell: "e/leader-kill/register"},
		{name: "rpo 0 and a region outage lost writes", req: reports.Requirements{RPO: intp(0)},
			cells: []reports.CellView{nodeOK, regionLost}, want: []string{reports.NotMet}, cell: "e/region-1/register", why: "12 acknowledged writes lost"},
		{name: "rpo 20 tolerates 12", req: reports.Requirements{RPO: intp(20)},
			cells: []reports.CellView{nodeOK, regionLost}, want: []string{reports.Met}},
		{name: "rpo when no cell counts lost writes", req: reports.Requirements{RPO: intp(0)},
			cells: []reports.CellView{appendCell("e", true)}, want: []string{reports.NotMeasured}},
		{name: "rto within the survival scope only", req: reports.Requirements{Survive: "node", RTOMax: 5 * time.Second},
			cells: []reports.CellView{nodeOK, zoneDown}, want: []string{reports.Met, reports.Met}},
		{name: "rto of every fault when no survival is asked", req: reports.Requirements{RTOMax: 30 * time.Second},
			cells: []reports.CellView{nodeOK, zoneDown}, want: []string{reports.NotMet}, cell: "e/zone-a/register", why: "RTO 31.0 s under zone-a"},
		{name: "writes that never recovered fail any rto", req: reports.Requirements{Survive: "region", RTOMax: time.Hour},
			cells: []reports.CellView{nodeOK, regionLost}, want: []string{reports.NotMet, reports.NotMet}},
		{name: "serializable broken by G2-item", req: reports.Requirements{Isolation: "serializable"},
			cells: []reports.CellView{appendCell("e", true), appendCell("e", true, "G2-item")}, want: []string{reports.NotMet}, why: "G2-item"},
		{name: "snapshot isolation allows G2-item", req: reports.Requirements{Isolation: "snapshot-isolation"},
			cells: []reports.CellView{appendCell("e", true, "G2-item")}, want: []string{reports.Met}},
		{name: "an unfinished search measures nothing", req: reports.Requirements{Isolation: "serializable"},
			cells: []reports.CellView{appendCell("e", false)}, want: []string{reports.NotMeasured}},
		{name: "linearizable from the register check", req: reports.Requirements{Isolation: "linearizable"},
			cells: []reports.CellView{registerCell("e", check.Pass), registerCell("e", check.Fail)}, want: []string{reports.NotMet}},
		{name: "linearizable met", req: reports.Requirements{Isolation: "linearizable"},
			cells: []reports.CellView{registerCell("e", check.Pass), registerCell("e", check.Unknown)}, want: []string{reports.Met}},
		{name: "budget exceeded", req: reports.Requirements{Budget: 2000}, cost: priced("e", 3000), want: []string{reports.NotMet}, why: "$3,000 a month"},
		{name: "budget met", req: reports.Requirements{Budget: 5000}, cost: priced("e", 3000), want: []string{reports.Met}},
		{name: "budget not priced", req: reports.Requirements{Budget: 5000}, want: []string{reports.NotMeasured}},
		{name: "cells that did not run are no evidence", req: reports.Requirements{Survive: "node"},
			cells: []reports.CellView{{MatrixCell: reports.MatrixCell{ID: "e/kill/register", Engine: "e", Status: "not-run"}, Scope: "node"}}, want: []string{reports.NotMeasured}, why: "no cell of it ran"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := reports.Evaluate(tt.req, "e", tt.cells, tt.cost)
			var got []string
			for _, d := range row.Decisions {
				got = append(got, d.Status)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("statuses %v, want %v (%+v)", got, tt.want, row.Decisions)
			}
			if len(got) == 0 {
				return
			}
			d := row.Decisions[0]
			if tt.cell != "" && d.Cell != tt.cell {
				t.Errorf("decided by %q, want %q", d.Cell, tt.cell)
			}
			if d.Cell != "" && !strings.HasPrefix(d.Link, "cells/") {
				t.Errorf("link %q does not point at the cell's report", d.Link)
			}
			if !strings.Contains(d.Why, tt.why) {
				t.Errorf("why %q, want it to say %q", d.Why, tt.why)
			}
		})
	}
}

// Two engines: a survives a zone but costs more; b survives a node only
// and is cheaper.
func twoEngines() (map[string][]reports.CellView, []reports.CostRow) {
	cells := map[string][]reports.CellView{
		"a": {cell("a", "leader-kill", "node", true, 2, 0), cell("a", "zone-a", "zone", true, 3, 0)},
		"b": {cell("b", "leader-kill", "node", true, 6, 0), cell("b", "zone-a", "zone", false, 40, 0)},
	}
	return cells, []reports.CostRow{*priced("a", 4000), *priced("b", 1500)}
}

func rank(req reports.Requirements) []reports.Ranked {
	cells, costs := twoEngines()
	var rows []reports.RequirementRow
	for _, e := range []string{"a", "b"} {
		var c *reports.CostRow
		for i := range costs {
			if costs[i].Engine == e {
				c = &costs[i]
			}
		}
		rows = append(rows, reports.Evaluate(req, e, cells[e], c))
	}
	return reports.Rank(rows, costs)
}

func TestRankFollowsTheRequirements(t *testing.T) {
	tests := []struct {
		name  string
		req   reports.Requirements
		order string
		first string // in the first engine's sentence
	}{
		{name: "zone survival puts the engine that survives a zone first", req: reports.Requirements{Survive: "zone", RPO: intp(0)},
			order: "a,b", first: "a meets every requirement — survive zone: kept writing through zone-a (RTO 3.0 s) [a/zone-a/register]"},
		{name: "node survival lets the cheaper engine win", req: reports.Requirements{Survive: "node", RPO: intp(0)},
			order: "b,a", first: "b meets every requirement"},
		{name: "a tight RTO fails the cheaper engine", req: reports.Requirements{Survive: "node", RTOMax: 5 * time.Second},
			order: "a,b", first: "a meets every requirement"},
		{name: "a budget fails the dearer engine", req: reports.Requirements{Survive: "node", Budget: 3000},
			order: "b,a", first: "cheapest $1,500 a month"},
		{name: "no requirement ranks by cost", req: reports.Requirements{}, order: "b,a", first: "b no requirement asked"},
		{name: "unmeasured ranks between met and failed", req: reports.Requirements{Survive: "region"},
			order: "a,b", first: "a fails none, but 1 not measured — survive region: no region-scope fault ran"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rank(tt.req)
			var order []string
			for i, x := range r {
				order = append(order, x.Engine)
				if x.Rank != i+1 {
					t.Errorf("rank %d at position %d", x.Rank, i+1)
				}
			}
			if strings.Join(order, ",") != tt.order {
				t.Errorf("order %v, want %s", order, tt.order)
			}
			if !strings.Contains(r[0].Sentence, tt.first) {
				t.Errorf("first sentence %q lacks %q", r[0].Sentence, tt.first)
			}
			for _, x := range r {
				for _, c := range x.Cells {
					if !strings.Contains(x.Sentence, "["+c+"]") {
						t.Errorf("sentence %q does not name its cell %s", x.Sentence, c)
					}
				}
			}
		})
	}
}

func TestFaultScopeAndClass(t *testing.T) {
	tests := []struct{ kind, target, scope, class string }{
		{"kill", "leader", reports.ScopeNode, reports.ClassLeaderLoss},
		{"pause", "follower", reports.ScopeNode, reports.ClassFollowerLoss},
		{"stop", "node:n2", reports.ScopeNode, reports.ClassNodeLoss},
		{"zone-outage", "zone:a", reports.ScopeZone, reports.ClassZoneLoss},
		{"partition", "leader-zone", reports.ScopeZone, reports.ClassZoneLoss},
		{"region-outage", "region:r2", reports.ScopeRegion, reports.ClassRegionLoss},
		{"latency", "zone:a", "", ""},
		{"none", "", "", ""},
	}
	for _, tt := range tests {
		if s, c := reports.FaultScope(tt.kind, tt.target), reports.FaultClass(tt.kind, tt.target); s != tt.scope || c != tt.class {
			t.Errorf("%s %s: scope %q class %q, want %q %q", tt.kind, tt.target, s, c, tt.scope, tt.class)
		}
	}
}

func TestExpectationMisses(t *testing.T) {
	yes, no := true, false
	etcd, ok := reports.Expected("etcd", nil, reports.ClassLeaderLoss)
	if !ok || etcd.Source == "" {
		t.Fatalf("no sourced expectation for etcd's leader loss: %+v", etcd)
	}
	pgAsync, _ := reports.Expected("cloudnativepg", map[string]string{"synchronous": "off"}, reports.ClassLeaderLoss)
	pgSync, _ := reports.Expected("cloudnativepg", map[string]string{}, reports.ClassLeaderLoss)
	tests := []struct {
		name      string
		e         reports.Expectation
		survived  *bool
		rto, lost float64
		recovered bool
		want      string
	}{
		{"as documented", etcd, &yes, 1.5, 0, true, ""},
		{"slower than documented", etcd, &yes, 4.2, 0, true, "RTO 4.2 s, documented at most 3s"},
		{"did not survive", etcd, &no, 9, 0, true, "documented to survive, it did not"},
		{"synchronous replication lost writes", pgSync, &yes, 20, 3, true, "3 acknowledged writes lost, documented none"},
		{"asynchronous replication may lose writes", pgAsync, &yes, 20, 3, true, ""},
	}
	for _, tt := range tests {
		if got := tt.e.Misses(tt.survived, tt.rto, tt.recovered, tt.lost); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRankSaysWhyAnEngineHasNoEvidence(t *testing.T) {
	cells := []reports.CellView{{MatrixCell: reports.MatrixCell{ID: "crdb/kill/register", Engine: "crdb", Status: "not-run",
		Reason: "deploy cockroachdb: image docker.io/cockroachdb/cockroach:v26.2.1 could not be pulled"}, Scope: "node"}}
	row := reports.Evaluate(reports.Requirements{Survive: "node"}, "crdb", cells, nil)
	r := reports.Rank([]reports.RequirementRow{row}, nil)
	if want := "crdb has no evidence: none of its cells ran (not-run: deploy cockroachdb: image docker.io/cockroachdb/cockroach:v26.2.1 could not be pulled); not priced."; r[0].Sentence != want {
		t.Errorf("sentence %q, want %q", r[0].Sentence, want)
	}
}
