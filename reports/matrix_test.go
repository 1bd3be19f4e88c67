package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/workload"
)

// simulatedCell writes a cell's run directory (history.jsonl and the
// reports) from a simulated history: one fault with the given outage out
// of 8 s and lost writes, or none.
func simulatedCell(t *testing.T, root, dir, engine string, fault *checktest.Fault) {
	t.Helper()
	c := checktest.Standard()
	c.Duration, c.Faults = 30*time.Second, nil
	if fault != nil {
		c.Faults = []checktest.Fault{*fault}
	}
	h := checktest.Generate(rand.New(rand.NewPCG(uint64(len(dir)), 3)), c)
	h.Meta.Engine, h.Meta.Run = engine, filepath.Base(dir)
	rs := check.Run(context.Background(), h, check.Linearizable{Timeout: 10 * time.Second}, check.RPO{}, check.RTO{}, check.Stats{})
	full := filepath.Join(root, dir)
	if _, err := reports.Write(context.Background(), full, reports.Run{History: h, Results: rs}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := workload.Write(&b, h); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "history.jsonl"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A matrix of simulated runs: engine a rides out a leader kill, engine b
// stops until it is healed and loses writes, engine c never ran.
func simulatedMatrix(t *testing.T) reports.Matrix {
	root := t.TempDir()
	kill := func(outage time.Duration, lose int) *checktest.Fault {
		return &checktest.Fault{Name: "leader kill", Kind: "kill", Target: "leader", Start: 10 * time.Second, Duration: 8 * time.Second,
			Outage: outage, Lose: lose, Down: []string{"n1"}, Leader: "n2"}
	}
	simulatedCell(t, root, "cells/a--baseline--register", "etcd", nil)
	simulatedCell(t, root, "cells/a--leader-kill--register", "etcd", kill(2*time.Second, 0))
	simulatedCell(t, root, "cells/b--baseline--register", "postgres", nil)
	simulatedCell(t, root, "cells/b--leader-kill--register", "postgres", kill(8*time.Second, 2))
	rpo := 0
	m := reports.Matrix{
		Name: "sim", Dir: root, Seed: 1,
		Engines: []reports.MatrixEngine{{ID: "a", Name: "etcd", Platform: "local"}, {ID: "b", Name: "postgres", Platform: "local"},
			{ID: "c", Name: "cockroachdb", Platform: "kind"}},
		Faults:       []reports.MatrixFault{{ID: "baseline", Title: "baseline", Kind: "none"}, {ID: "leader-kill", Title: "leader kill", Kind: "kill", Target: "leader", DurationSeconds: 8}},
		Workloads:    []string{"register"},
		Requirements: reports.Requirements{Survive: "node", RPO: &rpo, RTOMax: 5 * time.Second},
		Cost:         reports.CostTarget{Target: cost.Target{QPS: 2000, DataBytes: 2 << 30, ReadFraction: -1, RowBytes: 1024}, Cloud: "aws", Region: "us-east-1", Commitment: "none"},
	}
	for _, e := range []string{"a", "b", "c"} {
		for _, f := range []string{"baseline", "leader-kill"} {
			c := reports.MatrixCell{ID: e + "/" + f + "/register", Engine: e, Fault: f, Workload: "register", Dir: "cells/" + e + "--" + f + "--register", Status: "ran"}
			if e == "c" {
				c.Status, c.Reason = "not-run", "deploy cockroachdb: image docker.io/cockroachdb/cockroach:v26.2.1 could not be pulled"
			}
			m.Cells = append(m.Cells, c)
		}
	}
	return m
}

func TestSelectMatrix(t *testing.T) {
	m := simulatedMatrix(t)
	cat, err := cost.Load()
	if err != nil {
		t.Fatal(err)
	}
	sel, err := reports.Select(context.Background(), m, cat)
	if err != nil {
		t.Fatal(err)
	}
	ms := sel.Matrix
	var order []string
	for _, r := range ms.Ranking {
		order = append(order, r.Engine)
	}
	if strings.Join(order, ",") != "a,c,b" {
		t.Errorf("ranking %v, want a (meets all), c (nothing measured), b (fails)", order)
	}
	if ms.Best == nil || ms.Best.Engine != "a" {
		t.Errorf("best %+v, want engine a", ms.Best)
	}
	b := ms.Ranking[2]
	for _, want := range []string{"survive node: writes stopped until leader-kill was healed", "rpo ≤ 0 lost writes: 2 acknowledged writes lost under leader-kill", "[b/leader-kill/register]"} {
		if !strings.Contains(b.Sentence, want) {
			t.Errorf("b's sentence %q lacks %q", b.Sentence, want)
		}
	}
	if !strings.Contains(ms.Ranking[1].Sentence, "has no evidence") {
		t.Errorf("c's sentence %q", ms.Ranking[1].Sentence)
	}
	for _, c := range ms.Costs {
		if c.Engine != "c" && (c.Cheapest == nil || c.Cell != c.Engine+"/baseline/register") {
			t.Errorf("%s priced %+v, want from its baseline cell", c.Engine, c)
		}
	}
	grid := ms.HeatMap()
	if len(grid) != 3 || grid[0][1].Survived == nil || !*grid[0][1].Survived || grid[1][1].Lost != 2 || grid[2][0].State != "not-run" {
		t.Errorf("heat map %+v", grid)
	}

	out := t.TempDir()
	if err := reports.WriteSelection(context.Background(), out, sel); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, reports.SelectionHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if m := remoteRef.FindString(string(page)); m != "" {
		t.Errorf("selection.html refers to something outside itself: %q", m)
	}
	rel, _ := filepath.Rel(out, filepath.Join(m.Dir, "cells/b--leader-kill--register/report.html"))
	for _, want := range []string{`href="` + filepath.ToSlash(rel) + `#fault-0"`, `<svg class="heatmap"`, `<svg class="costbars"`, `data-engine="c"`, "cheapest meeting every requirement"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("selection.html lacks %s", want)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, reports.SelectionMarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| b | ❌ not met: writes stopped until leader-kill was healed", "- c/baseline/register: not-run: deploy cockroachdb"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("selection.md lacks %q:\n%s", want, md)
		}
	}
	js, err := os.ReadFile(filepath.Join(out, reports.SelectionJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Format string `json:"format"`
		Cells  []struct {
			ID  string   `json:"id"`
			RTO *float64 `json:"rto_seconds"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(js, &doc); err != nil || doc.Format != "faultline.selection/v1" || len(doc.Cells) != 6 {
		t.Fatalf("selection.json: %v, %+v", err, doc)
	}
	if doc.Cells[0].RTO != nil || doc.Cells[1].RTO == nil {
		t.Errorf("RTO of a baseline %v and of a fault %v: want null and a number", doc.Cells[0].RTO, doc.Cells[1].RTO)
	}
}
