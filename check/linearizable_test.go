package check_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/workload"
)

func TestLinearizableTestdata(t *testing.T) {
	tests := []struct {
		file    string
		verdict check.Verdict
		kind    string
		ops     []int64 // operations the anomaly must name
		words   []string
	}{
		{file: "concurrent-ok.jsonl", verdict: check.Pass},
		{file: "stale-read.jsonl", verdict: check.Fail, kind: "stale-read", ops: []int64{0, 1, 3},
			words: []string{"read #3 of k3 returned 17", "overwritten by write #1 of 21", "completed at 11.900s, before the read began"}},
		{file: "read-inversion.jsonl", verdict: check.Fail, kind: "read-inversion", ops: []int64{2, 3},
			words: []string{"read #3 of k1 returned 1", "read #2 of k1 returned 2", "went back in time"}},
		{file: "lost-update.jsonl", verdict: check.Fail, kind: "nonlinearizable",
			words: []string{"no order of the 4 operations on k1", "holding"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := run(check.Linearizable{Timeout: time.Minute}, readTestdata(t, tt.file))
			if r.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, tt.verdict, r.Summary)
			}
			if tt.verdict == check.Pass {
				if len(r.Anomalies) > 0 || len(r.Artifacts) > 0 {
					t.Errorf("a passing history has anomalies %v or artifacts", r.Anomalies)
				}
				return
			}
			if len(r.Anomalies) != 1 {
				t.Fatalf("%d anomalies, want 1 (one per illegal key): %+v", len(r.Anomalies), r.Anomalies)
			}
			a := r.Anomalies[0]
			if a.Kind != tt.kind {
				t.Errorf("kind %q, want %q: %s", a.Kind, tt.kind, a.Explanation)
			}
			for _, op := range tt.ops {
				if !slices.Contains(a.Ops, op) {
					t.Errorf("anomaly ops %v lack #%d", a.Ops, op)
				}
			}
			for _, w := range tt.words {
				if !strings.Contains(a.Explanation, w) {
					t.Errorf("explanation lacks %q:\n%s", w, a.Explanation)
				}
			}
			if len(r.Artifacts) != 1 || r.Artifacts[0].Name != "linearizability/"+a.Key+".html" {
				t.Fatalf("artifacts %+v, want linearizability/%s.html", r.Artifacts, a.Key)
			}
			if !bytes.Contains(r.Artifacts[0].Data, []byte("<html")) {
				t.Errorf("artifact is not an HTML page")
			}
		})
	}
}

func TestLinearizableCases(t *testing.T) {
	tests := []struct {
		name    string
		b       *builder
		verdict check.Verdict
		kind    string
	}{
		{"no register ops", new(builder).ledger(0, workload.OK, "l1", 0, 10), check.Unknown, ""},
		{"sequential", new(builder).write(0, workload.OK, "k", 1, 0, 10).read(1, workload.OK, "k", workload.Int(1), 20, 30), check.Pass, ""},
		{"read of initial absent", new(builder).read(1, workload.OK, "k", nil, 0, 10).write(0, workload.OK, "k", 1, 20, 30), check.Pass, ""},
		{"absent after a write completed", new(builder).write(0, workload.OK, "k", 1, 0, 10).read(1, workload.OK, "k", nil, 20, 30), check.Fail, "stale-read"},
		{"concurrent read sees new value", new(builder).write(0, workload.OK, "k", 1, 0, 50).read(1, workload.OK, "k", workload.Int(1), 10, 20), check.Pass, ""},
		{"value never written", new(builder).write(0, workload.OK, "k", 1, 0, 10).read(1, workload.OK, "k", workload.Int(9), 20, 30), check.Fail, "never-written"},
		{"failed write read back", new(builder).write(0, workload.Fail, "k", 1, 0, 10).read(1, workload.OK, "k", workload.Int(1), 20, 30), check.Fail, "never-written"},
		{"read from the future", new(builder).read(1, workload.OK, "k", workload.Int(1), 0, 10).write(0, workload.Info, "k", 1, 20, 30), check.Fail, "future-read"},
		{"info write lands late", new(builder).write(0, workload.Info, "k", 1, 0, 10).read(1, workload.OK, "k", nil, 20, 30).read(1, workload.OK, "k", workload.Int(1), 5000, 5010), check.Pass, ""},
		{"info write never lands", new(builder).write(0, workload.Info, "k", 1, 0, 10).read(1, workload.OK, "k", nil, 5000, 5010), check.Pass, ""},
		{"info cas applied", new(builder).write(0, workload.OK, "k", 1, 0, 10).cas(1, workload.Info, "k", 1, 2, 20, 30).read(2, workload.OK, "k", workload.Int(2), 40, 50), check.Pass, ""},
		{"info cas not applied", new(builder).write(0, workload.OK, "k", 1, 0, 10).cas(1, workload.Info, "k", 1, 2, 20, 30).read(2, workload.OK, "k", workload.Int(1), 40, 50), check.Pass, ""},
		{"ok cas on a wrong value", new(builder).write(0, workload.OK, "k", 1, 0, 10).cas(1, workload.OK, "k", 5, 2, 20, 30), check.Fail, "never-written"},
		{"info and failed reads are dropped", new(builder).write(0, workload.OK, "k", 1, 0, 10).read(1, workload.Info, "k", workload.Int(7), 20, 30).read(1, workload.Fail, "k", workload.Int(8), 40, 50), check.Pass, ""},
		{"one bad key of two", new(builder).write(0, workload.OK, "a", 1, 0, 10).read(1, workload.OK, "a", workload.Int(1), 20, 30).
			write(0, workload.OK, "b", 2, 0, 10).write(0, workload.OK, "b", 3, 20, 30).read(1, workload.OK, "b", workload.Int(2), 40, 50), check.Fail, "stale-read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(check.Linearizable{}, tt.b.history())
			if r.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: %s %+v", r.Verdict, tt.verdict, r.Summary, r.Anomalies)
			}
			if tt.kind == "" {
				return
			}
			if len(r.Anomalies) != 1 || r.Anomalies[0].Kind != tt.kind {
				t.Fatalf("anomalies %+v, want one %s", r.Anomalies, tt.kind)
			}
			if r.Metrics["keys_illegal"] != 1 {
				t.Errorf("keys_illegal %v, want 1", r.Metrics["keys_illegal"])
			}
		})
	}
}

func TestLinearizableGenerated(t *testing.T) {
	tests := []struct {
		name  string
		stale int
		want  check.Verdict
	}{
		{"linearizable", 0, check.Pass},
		{"stale reads", 2, check.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := checktest.Standard()
			c.StaleReads = tt.stale
			h := checktest.Generate(rand.New(rand.NewPCG(7, 7)), c)
			r := run(check.Linearizable{Timeout: time.Minute}, h)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, tt.want, r.Summary)
			}
			if r.Metrics["ops_checked"] < 5000 {
				t.Errorf("only %v ops checked", r.Metrics["ops_checked"])
			}
			for _, a := range r.Anomalies {
				if a.Kind != "stale-read" {
					t.Errorf("anomaly %s, want stale-read: %s", a.Kind, a.Explanation)
				}
			}
		})
	}
}

// A check that runs out of time or is cancelled says Unknown, never Pass.
func TestLinearizableOutOfTime(t *testing.T) {
	h := checktest.Generate(rand.New(rand.NewPCG(1, 1)), checktest.Standard())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		c    check.Linearizable
		want string
	}{
		{"timeout", context.Background(), check.Linearizable{Timeout: time.Nanosecond}, "timeout of 1ns ran out"},
		{"cancelled", cancelled, check.Linearizable{}, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.Check(tt.ctx, h)
			if r.Verdict != check.Unknown {
				t.Fatalf("verdict %s, want unknown: %s", r.Verdict, r.Summary)
			}
			if !strings.Contains(r.Summary, tt.want) {
				t.Errorf("summary %q lacks %q", r.Summary, tt.want)
			}
		})
	}
}
