package reports_test

import (
	"math"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/reports"
)

func TestRegressions(t *testing.T) {
	base := func() *reports.MatrixSelection {
		return &reports.MatrixSelection{
			Cells:        []reports.CellView{cell("a", "kill", "node", true, 2, 0), cell("a", "zone", "zone", true, 3, 0)},
			Requirements: []reports.RequirementRow{{Engine: "a", Decisions: []reports.Decision{{Requirement: "survive", Asked: "zone", Status: reports.Met}}}},
			Costs:        []reports.CostRow{*priced("a", 1000)},
		}
	}
	tests := []struct {
		name   string
		change func(m *reports.MatrixSelection)
		want   []string // kinds, in order
	}{
		{name: "the same runs", change: func(*reports.MatrixSelection) {}},
		{name: "noise within the tolerance", change: func(m *reports.MatrixSelection) {
			m.Cells[0].RTO, m.Cells[0].Throughput, m.Costs[0].Cheapest.P50 = 2.9, 85, 1080
		}},
		{name: "RTO worse beyond 1 s and 25%", change: func(m *reports.MatrixSelection) { m.Cells[0].RTO = 4 },
			want: []string{reports.RegressionRTO}},
		{name: "writes that no longer recover", change: func(m *reports.MatrixSelection) {
			no := false
			m.Cells[1].Recovered, m.Cells[1].RTO, m.Cells[1].Survived = false, math.NaN(), &no
		}, want: []string{reports.RegressionSurvival, reports.RegressionRTO}},
		{name: "a new failure and a new anomaly", change: func(m *reports.MatrixSelection) {
			m.Cells[0].Verdict, m.Cells[0].Anomalies = check.Fail, []string{"linearizable: stale-read"}
		}, want: []string{reports.RegressionFailure, reports.RegressionAnomaly}},
		{name: "throughput down by a third", change: func(m *reports.MatrixSelection) { m.Cells[1].Throughput = 66 },
			want: []string{reports.RegressionThroughput}},
		{name: "a requirement no longer met", change: func(m *reports.MatrixSelection) {
			m.Requirements[0].Decisions[0].Status = reports.NotMet
		}, want: []string{reports.RegressionRequirement}},
		{name: "cost moved either way", change: func(m *reports.MatrixSelection) { m.Costs[0].Cheapest.P50 = 800 },
			want: []string{reports.RegressionCost}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := base()
			tt.change(cur)
			var got []string
			for _, r := range reports.Regressions(base(), cur, reports.DefaultTolerance()) {
				got = append(got, r.Kind)
				if r.Was == "" || r.Now == "" {
					t.Errorf("regression %+v does not say what was and what is", r)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("regressions %v, want %v", got, tt.want)
			}
		})
	}
}
