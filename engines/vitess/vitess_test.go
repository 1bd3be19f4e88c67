package vitess_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/engines/vitess"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform/local"
	"github.com/faultline-dev/faultline/scenarios"
)

// TestMain lets the test binary serve the local platform's agents: the
// topology server is an etcd agent.
func TestMain(m *testing.M) {
	agent.Main(map[string]agent.Func{etcd.AgentName: etcd.Agent, local.ProbeAgentName: local.ProbeAgent})
	os.Exit(m.Run())
}

// need ends the test (a skip, or a failure under FAULTLINE_REQUIRE) unless
// this machine can run Vitess on MariaDB: the programs built (make
// vitess), Debian's MariaDB, and root (mysqlctl refuses to run as root,
// so every node must run as its own uid).
func need(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a Vitess cluster; skipped under -short")
	}
	testenv.NeedRoot(t, "the tablets run as a uid per node: mysqlctl refuses to run as root")
	e := vitess.New(vitess.Options{})
	if _, err := e.Programs(dist.MariaDB); err != nil {
		testenv.Missing(t, "vitess", "the Vitess programs (make vitess): %v", err)
	}
	if _, err := e.Server(dist.MariaDB); err != nil {
		if _, ok := errors.AsType[*engines.NotInstalledError](err); ok {
			testenv.Missing(t, "mariadb", "%v", err)
		}
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// run validates and runs a built-in scenario on the default Env.
func run(t *testing.T, name string, timeout time.Duration) *scenarios.Outcome {
	t.Helper()
	s, err := scenarios.Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	env := scenarios.DefaultEnv(scenarios.EnvOptions{Vitess: vitess.Options{Log: testWriter{t}}})
	if err := s.Validate(env); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := scenarios.Run(ctx, s, env, scenarios.Options{Dir: t.TempDir(), Progress: testWriter{t}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.Infra != nil {
		t.Fatalf("infrastructure failed: %v", out.Infra)
	}
	return out
}

func result(t *testing.T, out *scenarios.Outcome, name string) check.Result {
	t.Helper()
	for _, r := range out.Results {
		if r.Checker == name {
			return r
		}
	}
	t.Fatalf("no %s result among %v", name, out.Results)
	return check.Result{}
}

// perFault formats a checker's per-fault metric.
func perFault(r check.Result, metric string) string {
	var parts []string
	for _, f := range r.Faults {
		if v, ok := f.Metrics[metric]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", f.Name, v))
		} else {
			parts = append(parts, f.Name+" none ("+strings.Join(f.Notes, "; ")+")")
		}
	}
	return strings.Join(parts, ", ")
}

// TestFailover runs the built-in vitess-failover: the primary's node is
// killed twice under load, VTOrc must promote a replica within 30 s each
// time, and semi-sync must lose no acknowledged write. Without the
// relay-log compatibility change (dist.MariaDBChanges) the second
// failover hangs for over a minute and the RTO check fails.
func TestFailover(t *testing.T) {
	need(t)
	out := run(t, "vitess-failover", 8*time.Minute)
	rto, rpo := result(t, out, "rto"), result(t, out, "rpo")
	t.Logf("RTO per fault (s): %s", perFault(rto, "rto_seconds"))
	t.Logf("lost writes per fault: %s; %s", perFault(rpo, "lost_writes"), rpo.Summary)
	for _, r := range out.Results {
		if r.Verdict != check.Pass {
			t.Errorf("%s: %s: %s", r.Checker, r.Verdict, r.Summary)
		}
	}
	if len(rto.Faults) != 2 {
		t.Errorf("RTO measured for %d faults, want 2", len(rto.Faults))
	}
}

// TestPartition runs the built-in vitess-partition: the primary's cell is
// cut off from the other cells and from the control-plane node (the
// topology server, vtctld, VTOrc, the vtgates) while the primary stays
// alive; VTOrc must promote a replica in another cell within 30 s, and
// semi-sync must lose no acknowledged write, the cut-off primary being
// unable to commit anything a replica has not acknowledged.
func TestPartition(t *testing.T) {
	need(t)
	out := run(t, "vitess-partition", 8*time.Minute)
	rto, rpo := result(t, out, "rto"), result(t, out, "rpo")
	t.Logf("RTO per fault (s): %s", perFault(rto, "rto_seconds"))
	t.Logf("lost writes per fault: %s; %s", perFault(rpo, "lost_writes"), rpo.Summary)
	for _, r := range out.Results {
		if r.Verdict != check.Pass {
			t.Errorf("%s: %s: %s", r.Checker, r.Verdict, r.Summary)
		}
	}
	if len(rto.Faults) != 1 {
		t.Errorf("RTO measured for %d faults, want 1", len(rto.Faults))
	}
}
