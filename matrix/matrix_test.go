package matrix_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/matrix"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/scenarios"
)

// missingEngine is an engine whose program is not installed: validation
// says so, as postgres and mariadb do when their packages are absent.
type missingEngine struct{}

func (missingEngine) Name() string     { return "missingdb" }
func (missingEngine) Protocol() string { return engines.ProtocolPostgres }
func (missingEngine) Deploy(context.Context, platform.Cluster, engines.Spec) error {
	return errors.New("not installed")
}
func (missingEngine) WaitReady(context.Context, platform.Cluster) error { return nil }
func (missingEngine) Endpoints(context.Context, platform.Cluster) ([]engines.Endpoint, error) {
	return nil, nil
}
func (missingEngine) Leader(context.Context, platform.Cluster) (engines.Leadership, error) {
	return engines.Leadership{}, errors.New("not installed")
}
func (missingEngine) Validate(engines.Spec, engines.Target) []error {
	return []error{errors.Join(errors.New("engine.version: missingdb: "), &engines.NotInstalledError{Program: "missingdbd", Install: "install missingdb-server"})}
}

// testEnv is the real environment with an engine that is never installed.
func testEnv() scenarios.Env {
	env := scenarios.DefaultEnv(scenarios.EnvOptions{})
	env.Engines = append(env.Engines, missingEngine{})
	return env
}

func load(t *testing.T, name string) *matrix.File {
	t.Helper()
	f, err := matrix.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestValidateExpandsEveryCell(t *testing.T) {
	f := load(t, "valid.yaml")
	plan, err := f.Validate(testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(plan.Cells), 3*2*2; got != want {
		t.Fatalf("%d cells, want %d (3 engines × 2 faults × 2 workloads)", got, want)
	}
	byID := map[string]matrix.Cell{}
	for _, c := range plan.Cells {
		if _, dup := byID[c.ID]; dup {
			t.Errorf("cell %s twice", c.ID)
		}
		byID[c.ID] = c
	}
	tests := []struct {
		id            string
		runs          bool
		notRun, notAp string
	}{
		{id: "etcd/baseline/register", runs: true},
		{id: "etcd/leader-kill/register", runs: true},
		{id: "etcd-serial/leader-kill/register", runs: true},
		{id: "etcd/leader-kill/append", notAp: "etcd clients (etcd protocol) do not run the append workload"},
		{id: "missingdb/leader-kill/register", notRun: "missingdbd is not installed; install missingdb-server"},
		{id: "missingdb/baseline/append", notRun: "missingdbd is not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			c, ok := byID[tt.id]
			if !ok {
				t.Fatalf("no cell %s", tt.id)
			}
			if c.Runs() != tt.runs || !strings.Contains(c.NotRun, tt.notRun) || !strings.Contains(c.NotApplicable, tt.notAp) {
				t.Errorf("cell %+v; want runs=%v, not run %q, not applicable %q", c, tt.runs, tt.notRun, tt.notAp)
			}
			if c.Runs() != (c.Scenario != nil) {
				t.Errorf("cell runs=%v but scenario %v", c.Runs(), c.Scenario)
			}
		})
	}
	kill := byID["etcd/leader-kill/register"].Scenario
	if len(kill.Faults) != 1 || kill.Faults[0].Kind != "kill" || kill.Workload.Duration.Seconds() != 20 || kill.Cost.Survive != "none" {
		t.Errorf("leader-kill cell's scenario %+v", kill)
	}
	if base := byID["etcd/baseline/register"].Scenario; len(base.Faults) != 0 {
		t.Errorf("baseline cell has faults %+v", base.Faults)
	}
	if s := byID["etcd-serial/leader-kill/register"].Scenario; s.Engine.Replicas != 3 || s.Cost.Target != "qps=2000,data=4GiB" {
		t.Errorf("etcd-serial cell's engine %+v, cost %+v", s.Engine, s.Cost)
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	f := load(t, "invalid.yaml")
	_, err := f.Validate(testEnv())
	var errs matrix.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v, want matrix.Errors", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"problem(s) in the matrix",
		`line 1: name: "Bad Name"`,
		"line 10: engines[0].options.colour: unknown option",
		`line 11: engines[1].id: "etcd" is used by another engine entry`,
		"line 15: workloads[0].rate: must not be negative",
		"line 19: faults[0].at: 30s is not before the load ends at 20s",
		"line 21: faults[0].target",
		`line 23: cost.cloud: "mars" is not one of aws, gcp, azure`,
		`line 25: requirements.survive: "galaxy" is not one of node, zone, region`,
		`line 26: requirements.isolation: unknown isolation level "sorta"`,
		"line 27: requirements.rpo: -2 is negative",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "workloads[0].rate"); n != 1 {
		t.Errorf("the rate problem is reported %d times, want once for all its cells:\n%s", n, msg)
	}
}

func TestParseIsStrict(t *testing.T) {
	_, err := matrix.Load(filepath.Join("testdata", "unknown.yaml"))
	if err == nil {
		t.Fatal("no error for unknown fields")
	}
	for _, want := range []string{"line 4: engines[0].colour: unknown field", `line 9: requirement: unknown field (did you mean "requirements"?)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestIsMatrix(t *testing.T) {
	for name, want := range map[string]bool{"valid.yaml": true, "unknown.yaml": true} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if matrix.IsMatrix(data) != want {
			t.Errorf("IsMatrix(%s) = %v", name, !want)
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "scenarios", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if matrix.IsMatrix(data) {
		t.Error("the quickstart scenario is taken for a matrix")
	}
}

func TestErrorEchoesLongValuesShortly(t *testing.T) {
	long := strings.Repeat("x", 5000)
	_, err := matrix.Parse([]byte("name: " + long + "\nengines: [{name: etcd}]\nworkloads: [{kind: register}]\nfaults: [{kind: none}]\ntopology: {regions: [{name: r, zones: [{name: a}]}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := matrix.Parse([]byte("name: " + long + "\nengines: [{name: etcd}]\nworkloads: [{kind: register}]\nfaults: [{kind: none}]\ntopology: {regions: [{name: r, zones: [{name: a}]}]}\n"))
	_, err = f.Validate(testEnv())
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), "(5000 bytes)") {
		t.Errorf("error %v: want a short excerpt of the name", err)
	}
}

// The example in examples/ stays valid: 7 engines × 3 faults × 2
// workloads, etcd's append cells not applicable.
func TestExampleValidates(t *testing.T) {
	f, err := matrix.Load(filepath.Join("..", "examples", "selection.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := f.Validate(scenarios.DefaultEnv(scenarios.EnvOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	na := 0
	for _, c := range plan.Cells {
		if c.NotApplicable != "" {
			na++
		}
	}
	if len(plan.Cells) != 42 || na != 6 {
		t.Errorf("%d cells, %d not applicable; want 42 and 6", len(plan.Cells), na)
	}
}
