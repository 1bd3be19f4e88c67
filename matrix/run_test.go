package matrix_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/matrix"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
)

// fakeCells stands in for scenarios.Run in tests of the matrix's own
// logic (order, resume, interruption, classification): it writes what a
// run writes (scenario.yaml, result.json from a simulated history) and
// records which cells it ran.
type fakeCells struct {
	ran []string
	// deployFails makes runs of these scenarios fail before their load.
	deployFails string
	// cancelAt cancels the context when this scenario starts, and the run
	// reports itself interrupted.
	cancelAt string
	cancel   context.CancelFunc
}

func (f *fakeCells) run(ctx context.Context, s *scenarios.Scenario, env scenarios.Env, o scenarios.Options) (*scenarios.Outcome, error) {
	f.ran = append(f.ran, s.Name)
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	b, err := s.Marshal()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "scenario.yaml"), b, 0o644); err != nil {
		return nil, err
	}
	out := &scenarios.Outcome{Dir: o.Dir}
	run := reports.Run{}
	switch {
	case f.cancelAt != "" && strings.Contains(s.Name, f.cancelAt):
		f.cancel()
		out.Interrupted, out.Infra = true, errors.New("run interrupted")
		run.InfraError = "run interrupted"
	case f.deployFails != "" && strings.Contains(s.Name, f.deployFails):
		out.Infra = errors.New("deploy cockroachdb: image docker.io/cockroachdb/cockroach:v26.2.1 could not be pulled")
		run.InfraError = out.Infra.Error()
	default:
		c := checktest.Standard()
		c.Duration, c.Faults = 20*time.Second, nil
		run.History = checktest.Generate(rand.New(rand.NewPCG(1, 2)), c)
		run.Results = check.Run(ctx, run.History, check.RPO{}, check.Stats{})
		out.Verdict = check.Overall(run.Results)
	}
	_, err = reports.Write(context.WithoutCancel(ctx), o.Dir, run)
	return out, err
}

// fakeClusters records what the matrix asks of kept clusters.
type fakeClusters struct{ drops []string }

func (c *fakeClusters) Keep(platform string) bool { return platform == "local" }
func (c *fakeClusters) Drop(_ context.Context, platform string) error {
	c.drops = append(c.drops, platform)
	return nil
}

func plan(t *testing.T) *matrix.Plan {
	t.Helper()
	p, err := load(t, "valid.yaml").Validate(testEnv())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func source(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func statuses(out *matrix.Outcome) map[string]string {
	m := map[string]string{}
	for _, c := range out.Cells {
		m[c.ID] = c.Status
	}
	return m
}

func TestRunRecordsEveryCell(t *testing.T) {
	dir := t.TempDir()
	fake := &fakeCells{deployFails: "etcd-serial-baseline"}
	clusters := &fakeClusters{}
	var progress bytes.Buffer
	out, err := matrix.Run(context.Background(), plan(t), testEnv(), matrix.Options{
		Dir: dir, RunCell: fake.run, Progress: &progress, Clusters: clusters, Source: source(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.ran) != 4 {
		t.Errorf("ran %v, want the 4 runnable cells (2 etcd entries × 2 faults × register)", fake.ran)
	}
	st := statuses(out)
	for id, want := range map[string]string{
		"etcd/baseline/register":           matrix.StatusRan,
		"etcd/leader-kill/register":        matrix.StatusRan,
		"etcd-serial/baseline/register":    matrix.StatusNotRun,
		"etcd/baseline/append":             matrix.StatusNotApplicable,
		"missingdb/leader-kill/register":   matrix.StatusNotRun,
		"etcd-serial/leader-kill/register": matrix.StatusRan,
	} {
		if st[id] != want {
			t.Errorf("cell %s: %s, want %s", id, st[id], want)
		}
	}
	for _, c := range out.Cells {
		if c.ID == "etcd-serial/baseline/register" && !strings.Contains(c.Reason, "could not be pulled") {
			t.Errorf("a cell whose deploy failed says %q, want the deploy's failure", c.Reason)
		}
	}
	if len(out.Cells) != 12 {
		t.Errorf("%d cells recorded, want all 12", len(out.Cells))
	}
	for _, want := range []string{"[1/4] etcd/baseline/register on local · elapsed 0s · ETA after the first cell", "[2/4] etcd/leader-kill/register on local", "ETA "} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	// A leader kill may damage the kept cluster (twice), and so may a
	// failed deploy; nothing is left to drop at the end.
	if got := strings.Join(clusters.drops, ","); got != "local,local,local" {
		t.Errorf("drops %s", got)
	}
	st2, err := matrix.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.Cells) != 12 || st2.File.Cost.QPS != 2000 {
		t.Errorf("matrix.json holds %d cells and cost %+v", len(st2.Cells), st2.File.Cost)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, matrix.SourceFile)); !bytes.Equal(b, source(t)) {
		t.Errorf("matrix.yaml holds %q", b)
	}
}

func TestResumeSkipsFinishedCells(t *testing.T) {
	dir := t.TempDir()
	first := &fakeCells{}
	if _, err := matrix.Run(context.Background(), plan(t), testEnv(), matrix.Options{Dir: dir, RunCell: first.run}); err != nil {
		t.Fatal(err)
	}
	// One cell's result was cut short; another's scenario changed since.
	short := filepath.Join(dir, matrix.CellsDir, "etcd--baseline--register")
	if _, err := reports.Write(context.Background(), short, reports.Run{InfraError: "run interrupted"}); err != nil {
		t.Fatal(err)
	}
	p := plan(t)
	for i := range p.Cells {
		if p.Cells[i].ID == "etcd-serial/leader-kill/register" {
			p.Cells[i].Scenario.Workload.Rate = 50
		}
	}
	second := &fakeCells{}
	out, err := matrix.Run(context.Background(), p, testEnv(), matrix.Options{Dir: dir, RunCell: second.run, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(second.ran, ","); got != "small-etcd-baseline-register,small-etcd-serial-leader-kill-register" {
		t.Errorf("resumed run ran %s, want the interrupted cell and the changed one", got)
	}
	st := statuses(out)
	if st["etcd/leader-kill/register"] != matrix.StatusResumed || st["etcd/baseline/register"] != matrix.StatusRan {
		t.Errorf("statuses %v", st)
	}
	if out.Verdict != check.Pass {
		t.Errorf("verdict %s, want pass from the four cells with evidence", out.Verdict)
	}
}

func TestInterruptKeepsFinishedCells(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeCells{cancelAt: "etcd-leader-kill", cancel: cancel}
	out, err := matrix.Run(ctx, plan(t), testEnv(), matrix.Options{Dir: dir, RunCell: fake.run, Source: source(t)})
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(out)
	if st["etcd/baseline/register"] != matrix.StatusRan || st["etcd/leader-kill/register"] != matrix.StatusInterrupted ||
		st["etcd-serial/baseline/register"] != matrix.StatusInterrupted || st["missingdb/baseline/register"] != matrix.StatusNotRun {
		t.Errorf("statuses %v", st)
	}
	if !out.Interrupted || out.Infra == "" {
		t.Errorf("outcome interrupted=%v infra=%q", out.Interrupted, out.Infra)
	}
	if len(fake.ran) != 2 {
		t.Errorf("ran %v after the interruption", fake.ran)
	}
	saved, err := matrix.ReadState(dir)
	if err != nil || !saved.Interrupted {
		t.Errorf("matrix.json after an interruption: %+v, %v", saved, err)
	}
}
