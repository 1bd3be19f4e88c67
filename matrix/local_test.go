package matrix_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/matrix"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
)

// localRun is the small real matrix of testdata/local.yaml, run once per
// test binary and shared by the tests that read its report.
var localRun struct {
	once sync.Once
	dir  string
	out  *matrix.Outcome
	page string
	skip string // why it could not run here
	dep  string // the dependency missing
	err  error
	ran  []string
}

// runLocalMatrix runs testdata/local.yaml for real (etcd and PostgreSQL
// on the local platform) and writes its report, once.
func runLocalMatrix(t *testing.T) (dir string, out *matrix.Outcome, page string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real engines for about a minute")
	}
	localRun.once.Do(func() {
		src, err := os.ReadFile(filepath.Join("testdata", "local.yaml"))
		if err != nil {
			localRun.err = err
			return
		}
		f, err := matrix.Parse(src)
		if err != nil {
			localRun.err = err
			return
		}
		env := scenarios.DefaultEnv(scenarios.EnvOptions{})
		plan, err := f.Validate(env)
		if err != nil {
			localRun.err = err
			return
		}
		for _, c := range plan.Cells {
			if c.NotRun != "" {
				localRun.dep, localRun.skip = c.Engine, c.NotRun
				return
			}
		}
		localRun.dir, err = os.MkdirTemp("", "faultline-matrix-e2e-")
		if err != nil {
			localRun.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		count := func(ctx context.Context, s *scenarios.Scenario, env scenarios.Env, o scenarios.Options) (*scenarios.Outcome, error) {
			localRun.ran = append(localRun.ran, s.Name)
			return scenarios.Run(ctx, s, env, o)
		}
		localRun.out, localRun.err = matrix.Run(ctx, plan, env, matrix.Options{Dir: localRun.dir, Source: src, RunCell: count, Progress: os.Stderr})
		if localRun.err != nil {
			return
		}
		localRun.page, _, localRun.err = matrix.WriteReport(ctx, localRun.dir, localRun.dir, &localRun.out.State, matrix.ReportOptions{})
	})
	if localRun.skip != "" {
		testenv.Missing(t, localRun.dep, "%s", localRun.skip)
	}
	if localRun.err != nil {
		t.Fatal(localRun.err)
	}
	t.Logf("matrix directory %s (kept when %s is set)", localRun.dir, keepEnv)
	return localRun.dir, localRun.out, localRun.page
}

// selectionJSON is what the test reads of selection.json.
type selectionJSON struct {
	Best *struct {
		Engine string `json:"engine"`
	} `json:"best"`
	Ranking []struct {
		Rank     int      `json:"rank"`
		Engine   string   `json:"engine"`
		NotMet   int      `json:"not_met"`
		Sentence string   `json:"sentence"`
		Cells    []string `json:"cells"`
		Monthly  *float64 `json:"monthly"`
	} `json:"ranking"`
	Requirements []reports.RequirementRow `json:"requirements"`
	Cells        []struct {
		ID         string   `json:"id"`
		Status     string   `json:"status"`
		Survived   *bool    `json:"survived"`
		RTO        *float64 `json:"rto_seconds"`
		Lost       *float64 `json:"lost_writes"`
		Link       string   `json:"link"`
		Throughput *float64 `json:"ops_per_second"`
	} `json:"cells"`
	Expected []reports.ExpectedRow `json:"expected"`
	Costs    []reports.CostRow     `json:"costs"`
}

func readSelection(t *testing.T, dir string) selectionJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, reports.SelectionJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var s selectionJSON
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A real matrix: etcd survives its leader's kill and PostgreSQL, one
// instance, does not; the report says so from the runs, links each
// decision to the run that made it, and prices both.
func TestLocalMatrixReport(t *testing.T) {
	dir, out, page := runLocalMatrix(t)
	if out.Verdict.String() == "" || len(out.Cells) != 4 {
		t.Fatalf("outcome %+v", out)
	}
	for _, c := range out.Cells {
		if c.Status != matrix.StatusRan {
			t.Errorf("cell %s: %s %s", c.ID, c.Status, c.Reason)
		}
	}
	s := readSelection(t, dir)
	cells := map[string]int{}
	for i, c := range s.Cells {
		cells[c.ID] = i
	}
	etcdKill, pgKill := s.Cells[cells["etcd/leader-kill/register"]], s.Cells[cells["postgres/leader-kill/register"]]
	if etcdKill.Survived == nil || !*etcdKill.Survived || etcdKill.RTO == nil || *etcdKill.RTO > 5 || etcdKill.Lost == nil || *etcdKill.Lost != 0 {
		t.Errorf("etcd's leader kill: %+v, want survived, RTO under 5 s, nothing lost", etcdKill)
	}
	if pgKill.Survived == nil || *pgKill.Survived || pgKill.Lost == nil || *pgKill.Lost != 0 {
		t.Errorf("postgres' leader kill: %+v, want not survived (one instance), nothing lost", pgKill)
	}
	if len(s.Ranking) != 2 || s.Ranking[0].Engine != "etcd" || s.Ranking[0].NotMet != 0 || s.Ranking[1].NotMet == 0 {
		t.Fatalf("ranking %+v, want etcd first meeting everything, postgres failing", s.Ranking)
	}
	if s.Best == nil || s.Best.Engine != "etcd" {
		t.Errorf("best configuration %+v, want etcd's", s.Best)
	}
	pg := s.Ranking[1]
	if !strings.Contains(pg.Sentence, "survive node: writes stopped until leader-kill was healed") || !strings.Contains(pg.Sentence, "[postgres/leader-kill/register]") {
		t.Errorf("postgres' sentence does not rest on its leader-kill cell: %q", pg.Sentence)
	}
	for _, row := range s.Requirements {
		for _, d := range row.Decisions {
			if d.Status == reports.NotMeasured {
				t.Errorf("%s: %s not measured: %s", row.Engine, d.Requirement, d.Why)
			}
			if d.Link == "" {
				continue
			}
			path, frag, _ := strings.Cut(d.Link, "#")
			html, err := os.ReadFile(filepath.Join(dir, path))
			if err != nil {
				t.Errorf("%s %s links %s: %v", row.Engine, d.Requirement, d.Link, err)
				continue
			}
			if !strings.Contains(string(html), `id="`+frag+`"`) {
				t.Errorf("%s %s links #%s, which %s lacks", row.Engine, d.Requirement, frag, path)
			}
		}
	}
	if len(s.Expected) < 2 {
		t.Errorf("expected-versus-measured rows %+v, want one per leader kill", s.Expected)
	}
	for _, e := range s.Expected {
		if e.Expectation.Source == "" {
			t.Errorf("expectation without a source: %+v", e)
		}
	}
	for _, c := range s.Costs {
		if c.Cheapest == nil || len(c.SelfHosted) == 0 || c.SelfHosted[0].P10 > c.SelfHosted[0].P50 || c.SelfHosted[0].P50 > c.SelfHosted[0].P90 {
			t.Errorf("%s not priced from its measured use: %+v", c.Engine, c)
		}
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="requirements"`, `class="heatmap"`, `class="costbars"`, `href="cells/postgres--leader-kill--register/report.html#fault-0"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("selection.html lacks %s", want)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.SelectionMarkdownFile))
	if err != nil || !strings.Contains(string(md), "| postgres | ❌ not met: writes stopped until leader-kill was healed") {
		t.Errorf("selection.md lacks postgres' failed survival (%v):\n%s", err, md)
	}
}

// Other requirements, same runs: with none asked, engines rank by cost
// alone; resuming runs nothing again.
func TestLocalMatrixRedecidesAndResumes(t *testing.T) {
	dir, out, _ := runLocalMatrix(t)
	st, err := matrix.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := matrix.Parse([]byte("name: cost-only\nengines: [{name: etcd}]\nworkloads: [{kind: register}]\nfaults: [{kind: none}]\ncost: {qps: 2000, data: 2GiB}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Reprice(f); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, _, err := matrix.WriteReport(context.Background(), dir, other, st, matrix.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	s := readSelection(t, other)
	if len(s.Ranking) != 2 || s.Ranking[0].Monthly == nil || s.Ranking[1].Monthly == nil || *s.Ranking[0].Monthly > *s.Ranking[1].Monthly {
		t.Errorf("with no requirement the ranking %+v is not by cost", s.Ranking)
	}
	if len(s.Requirements[0].Decisions) != 0 {
		t.Errorf("decisions %+v with no requirement asked", s.Requirements)
	}

	// Compared with itself, a matrix has no regression.
	st0, err := matrix.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, regs, err := matrix.WriteReport(context.Background(), dir, t.TempDir(), st0, matrix.ReportOptions{Baseline: dir}); err != nil || len(regs) != 0 {
		t.Errorf("the matrix against itself: %v, regressions %+v", err, regs)
	}

	// Resuming with other requirements (a cost survival level of their
	// own) runs nothing again either: they change only the pricing.
	before := len(localRun.ran)
	plan, err := st.File.Validate(scenarios.DefaultEnv(scenarios.EnvOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	again, err := matrix.Run(context.Background(), plan, scenarios.DefaultEnv(scenarios.EnvOptions{}), matrix.Options{
		Dir: dir, Resume: true, RunCell: func(ctx context.Context, s *scenarios.Scenario, env scenarios.Env, o scenarios.Options) (*scenarios.Outcome, error) {
			localRun.ran = append(localRun.ran, s.Name)
			return scenarios.Run(ctx, s, env, o)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(localRun.ran) - before; n != 0 {
		t.Errorf("resuming a finished matrix ran %d cells again", n)
	}
	for _, c := range again.Cells {
		if c.Status != matrix.StatusResumed {
			t.Errorf("cell %s: %s after resuming, want resumed", c.ID, c.Status)
		}
	}
	if again.Verdict != out.Verdict {
		t.Errorf("resumed verdict %s, first %s", again.Verdict, out.Verdict)
	}
}
