package reports_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/reports"
)

// writeRun simulates and judges one run of an engine and writes its
// reports under root.
func writeRun(t *testing.T, root, name, engine string, outage time.Duration, lose int) string {
	t.Helper()
	c := checktest.Standard()
	c.Faults = c.Faults[:1]
	c.Faults[0].Outage, c.Faults[0].Lose = outage, lose
	h := checktest.Generate(rand.New(rand.NewPCG(uint64(len(name)), 9)), c)
	h.Meta.Run, h.Meta.Engine, h.Meta.Version, h.Meta.Scenario = name, engine, "1.0", "kill-leader"
	rs := check.Run(context.Background(), h, check.RPO{}, check.RTO{Max: 10 * time.Second}, check.Stats{})
	dir := filepath.Join(root, name)
	if _, err := reports.Write(context.Background(), dir, reports.Run{History: h, Results: rs}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompare(t *testing.T) {
	root := t.TempDir()
	dirs := []string{
		writeRun(t, root, "pg-1", "postgresql", 4*time.Second, 2),
		writeRun(t, root, "etcd-1", "etcd", time.Second, 0),
		writeRun(t, root, "etcd-2", "etcd", 2*time.Second, 0),
	}
	s, err := reports.Compare(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Runs) != 3 || len(s.Engines) != 2 {
		t.Fatalf("%d runs, %d engines; want 3 and 2", len(s.Runs), len(s.Engines))
	}
	etcd, pg := s.Engines[0], s.Engines[1]
	if etcd.Engine != "etcd" || pg.Engine != "postgresql" {
		t.Fatalf("engines in order %s, %s; want etcd (passed) before postgresql (lost writes)", etcd.Engine, pg.Engine)
	}
	if etcd.Runs != 2 || etcd.Passed != 2 || etcd.LostWrites != 0 || etcd.Verdict != check.Pass {
		t.Errorf("etcd row %+v", etcd)
	}
	if etcd.WorstRTOSeconds < 2 || etcd.WorstRTOSeconds > 3.2 {
		t.Errorf("etcd's worst RTO %.3fs, want its worse run's (2s outage)", etcd.WorstRTOSeconds)
	}
	if pg.Failed != 1 || pg.LostWrites != 2 {
		t.Errorf("postgresql row %+v, want one failed run with 2 lost writes", pg)
	}

	out := filepath.Join(root, "selection")
	if err := reports.WriteSelection(context.Background(), out, s); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, reports.SelectionHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `href="../etcd-1/report.html"`) {
		t.Errorf("selection.html does not link each run's report relative to itself")
	}
	if m := remoteRef.FindString(string(page)); m != "" {
		t.Errorf("selection.html refers to something outside itself: %q", m)
	}
	md, err := os.ReadFile(filepath.Join(out, reports.SelectionMarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| etcd 1.0 | ✅ pass | 2 (2/0/0) |") {
		t.Errorf("selection.md lacks etcd's row:\n%s", md)
	}
}

func TestCompareReportsEveryUnreadableRun(t *testing.T) {
	root := t.TempDir()
	_, err := reports.Compare([]string{filepath.Join(root, "missing-a"), filepath.Join(root, "missing-b")})
	if err == nil || !strings.Contains(err.Error(), "missing-a") || !strings.Contains(err.Error(), "missing-b") {
		t.Errorf("error %v, want both directories named", err)
	}
}
