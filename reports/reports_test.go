package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"html/template"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/workload"
)

// standardRun is a realistic run: a minute of load on three nodes with a
// leader kill and a zone outage, one stale read and three lost writes,
// judged by every checker.
func standardRun(t testing.TB) reports.Run {
	t.Helper()
	c := checktest.Standard()
	c.StaleReads = 1
	h := checktest.Generate(rand.New(rand.NewPCG(1, 2)), c)
	h.Meta.Scenario, h.Meta.Engine, h.Meta.Version = "leader-and-zone", "etcd", "v3.7.3"
	rs := check.Run(context.Background(), h,
		check.Linearizable{Timeout: time.Minute}, check.RPO{}, check.RTO{Max: 5 * time.Second}, check.Stats{},
		check.Budget{MinThroughput: 100, MaxP99: 100 * time.Millisecond})
	return reports.Run{History: h, Results: rs}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	run := standardRun(t)
	rep, err := reports.Write(context.Background(), dir, run)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{reports.ResultFile, reports.HTMLFile, reports.SummaryFile, reports.JUnitFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %d)", name, err, sizeOf(fi))
		}
	}
	for _, r := range run.Results {
		for _, a := range r.Artifacts {
			if got := read(t, filepath.Join(dir, a.Name)); !bytes.Equal(got, a.Data) {
				t.Errorf("artifact %s differs from what the checker produced", a.Name)
			}
		}
	}
	if rep.Verdict != check.Fail || rep.ExitCode != reports.ExitFail {
		t.Errorf("verdict %s exit %d, want fail and 1", rep.Verdict, rep.ExitCode)
	}
	if len(rep.Faults) != 2 {
		t.Fatalf("%d fault rows, want 2", len(rep.Faults))
	}
	for _, name := range []string{"rto_seconds", "longest_write_gap_seconds", "lost_writes", "rpo_window_seconds", "during_ops_per_second"} {
		if _, ok := rep.Faults[0].Metric(name); !ok {
			t.Errorf("fault 0 lacks %s: %v", name, rep.Faults[0].Metrics)
		}
	}
	if v, _ := rep.Faults[0].Metric("lost_writes"); v != 3 {
		t.Errorf("fault 0 lost %v writes, want 3", v)
	}
	if len(rep.Resources) != 3 || len(rep.LeaderChanges) != 3 || rep.Stats["ops"] == 0 {
		t.Errorf("resources %d, leader changes %d, stats %v", len(rep.Resources), len(rep.LeaderChanges), rep.Stats)
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

// result.json reads back into the same Report, and has every documented
// top-level field.
func TestResultRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rep, err := reports.Write(context.Background(), dir, standardRun(t))
	if err != nil {
		t.Fatal(err)
	}
	back, err := reports.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(rep)
	got, _ := json.Marshal(back)
	if !bytes.Equal(want, got) {
		t.Errorf("result.json does not round-trip:\nwrote %s\nread  %s", want, got)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(read(t, filepath.Join(dir, reports.ResultFile)), &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "run", "start", "duration_seconds", "verdict", "exit_code", "exit_meaning",
		"checks", "faults", "stats", "resources", "leader_changes"} {
		if _, ok := top[k]; !ok {
			t.Errorf("result.json lacks %q", k)
		}
	}
	if string(top["verdict"]) != `"fail"` {
		t.Errorf("verdict is %s, want \"fail\"", top["verdict"])
	}
}

func TestReadRefusesOtherFormats(t *testing.T) {
	tests := []struct {
		format string
		ok     bool
	}{
		{reports.Format, true},
		{"faultline.result/v1.3", true},
		{"faultline.result/v2", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "result.json")
			if err := os.WriteFile(path, []byte(`{"format":"`+tt.format+`","verdict":"pass"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := reports.Read(path); (err == nil) != tt.ok {
				t.Errorf("Read: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

var (
	remoteRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import|<script|<link|<iframe|<img`)
	svgBlock  = regexp.MustCompile(`(?s)<svg.*?</svg>`)
)

// report.html stands alone: no scripts, stylesheets, fonts or images
// from elsewhere, and its inline chart is well-formed SVG showing each
// fault window on both panels and each leader change.
func TestHTMLSelfContained(t *testing.T) {
	dir := t.TempDir()
	run := standardRun(t)
	if _, err := reports.Write(context.Background(), dir, run); err != nil {
		t.Fatal(err)
	}
	page := string(read(t, filepath.Join(dir, reports.HTMLFile)))
	if m := remoteRef.FindString(page); m != "" {
		t.Errorf("report.html refers to something outside itself: %q", m)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("report.html mentions a web address")
	}
	svg := svgBlock.FindString(page)
	if svg == "" {
		t.Fatal("report.html has no inline SVG")
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("the chart is not well-formed: %v", err)
			}
			break
		}
	}
	if n := strings.Count(svg, "fill-opacity"); n != 2*len(run.History.Faults) {
		t.Errorf("%d shaded bands, want %d (each fault on both panels)", n, 2*len(run.History.Faults))
	}
	if n := strings.Count(svg, "stroke-dasharray"); n != 2*len(run.History.Events) {
		t.Errorf("%d dashed lines, want %d (each leader change on both panels)", n, 2*len(run.History.Events))
	}
	for _, want := range []string{"#0 kill leader", "#1 zone-outage zone-b", "stale-read", "lost-write",
		`href="linearizability/`, "leader n2", "FAIL"} {
		if !strings.Contains(page, template.HTMLEscapeString(want)) && !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// junit.xml parses, with a testcase per checker and a failure for each
// failing one.
func TestJUnit(t *testing.T) {
	type problem struct {
		Type    string `xml:"type,attr"`
		Message string `xml:"message,attr"`
	}
	type suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Cases    []struct {
				Name    string   `xml:"name,attr"`
				Failure *problem `xml:"failure"`
				Error   *problem `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	run := standardRun(t)
	run.Results = append(run.Results, check.Result{Checker: "slow", Verdict: check.Unknown, Summary: "timed out"})
	run.InfraError = "kind node n3 vanished"
	dir := t.TempDir()
	rep, err := reports.Write(context.Background(), dir, run)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != reports.ExitInfra {
		t.Errorf("exit %d, want %d for an infrastructure failure", rep.ExitCode, reports.ExitInfra)
	}
	var s suites
	if err := xml.Unmarshal(read(t, filepath.Join(dir, reports.JUnitFile)), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Suites) != 1 {
		t.Fatalf("%d suites, want 1", len(s.Suites))
	}
	su := s.Suites[0]
	want := map[string]string{"linearizable": "failure", "rpo": "failure", "rto": "", "stats": "", "budget": "",
		"slow": "error:unknown", "infrastructure": "error:infrastructure"}
	if su.Tests != len(want) || su.Failures != 2 || su.Errors != 2 || len(su.Cases) != len(want) {
		t.Errorf("tests %d failures %d errors %d cases %d, want %d, 2, 2", su.Tests, su.Failures, su.Errors, len(su.Cases), len(want))
	}
	for _, c := range su.Cases {
		got := ""
		switch {
		case c.Failure != nil:
			got = "failure"
		case c.Error != nil:
			got = "error:" + c.Error.Type
		}
		if w, ok := want[c.Name]; !ok || got != w {
			t.Errorf("testcase %s: %q, want %q", c.Name, got, w)
		}
	}
}

func TestSummaryMarkdown(t *testing.T) {
	dir := t.TempDir()
	run := standardRun(t)
	if _, err := reports.Write(context.Background(), dir, run); err != nil {
		t.Fatal(err)
	}
	md := string(read(t, filepath.Join(dir, reports.SummaryFile)))
	if !strings.HasPrefix(md, "## ❌ FAIL — faultline: leader-and-zone\n") {
		t.Errorf("summary.md starts %q", strings.SplitN(md, "\n", 2)[0])
	}
	for _, r := range run.Results {
		if !strings.Contains(md, "| "+r.Checker+" | ") {
			t.Errorf("summary.md has no row for %s", r.Checker)
		}
	}
	for _, f := range run.History.Faults {
		if !strings.Contains(md, "| "+f.Name+" | ") {
			t.Errorf("summary.md has no row for fault %s", f.Name)
		}
	}
	if strings.Contains(md, "](") || strings.Contains(md, "http") {
		t.Errorf("summary.md has a link")
	}
	if n := strings.Count(md, "\n"); n > 60 {
		t.Errorf("summary.md has %d lines; a job summary should be short", n)
	}
}

// Other packages contribute sections without reports importing them.
func TestSections(t *testing.T) {
	dir := t.TempDir()
	run := standardRun(t)
	run.Sections = []reports.Section{{
		Title:    "Cost",
		HTML:     template.HTML(`<p class="cost">$1,234 a month self-hosted</p>`),
		Markdown: "Self-hosted: **$1,234** a month.",
		Data:     map[string]float64{"monthly_usd": 1234},
	}}
	if _, err := reports.Write(context.Background(), dir, run); err != nil {
		t.Fatal(err)
	}
	if page := string(read(t, filepath.Join(dir, reports.HTMLFile))); !strings.Contains(page, `<p class="cost">$1,234 a month self-hosted</p>`) {
		t.Errorf("report.html lacks the contributed section")
	}
	if md := string(read(t, filepath.Join(dir, reports.SummaryFile))); !strings.Contains(md, "### Cost\n\nSelf-hosted: **$1,234** a month.") {
		t.Errorf("summary.md lacks the contributed section:\n%s", md)
	}
	rep, err := reports.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sections) != 1 || rep.Sections[0].Title != "Cost" {
		t.Errorf("result.json sections %+v, want the cost data", rep.Sections)
	}
}

func TestWriteRefusesArtifactsOutsideTheRun(t *testing.T) {
	for _, name := range []string{"../escape.html", "/etc/escape", "", "a/../../escape"} {
		t.Run(name, func(t *testing.T) {
			run := reports.Run{History: &workload.History{}, Results: []check.Result{{Checker: "x",
				Artifacts: []check.Artifact{{Name: name, Data: []byte("x")}}}}}
			if _, err := reports.Write(context.Background(), filepath.Join(t.TempDir(), "run"), run); err == nil {
				t.Errorf("artifact %q was written", name)
			}
		})
	}
}

// An empty run (the infrastructure failed before any load) still gets
// every report.
func TestWriteEmptyRun(t *testing.T) {
	dir := t.TempDir()
	rep, err := reports.Write(context.Background(), dir, reports.Run{InfraError: "kind cluster did not start"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != check.Unknown || rep.ExitCode != reports.ExitInfra {
		t.Errorf("verdict %s exit %d, want unknown and 3", rep.Verdict, rep.ExitCode)
	}
	if _, err := reports.Read(dir); err != nil {
		t.Error(err)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		v     check.Verdict
		infra string
		want  int
	}{
		{check.Pass, "", 0}, {check.Fail, "", 1}, {check.Unknown, "", 1}, {check.Pass, "boom", 3}, {check.Fail, "boom", 3},
	}
	for _, tt := range tests {
		if got, why := reports.ExitCode(tt.v, tt.infra); got != tt.want || why == "" {
			t.Errorf("ExitCode(%s, %q) = %d %q, want %d", tt.v, tt.infra, got, why, tt.want)
		}
	}
}
