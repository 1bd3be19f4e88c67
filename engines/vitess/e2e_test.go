//go:build e2e

package vitess_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines/vitess"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/scenarios"
)

// TestFailoverNeedsRelayLogChange builds the programs without the
// relay-log change (about 9 minutes the first time) and runs
// vitess-failover on them: the second emergency reparent waits on a
// binlog file position MariaDB cannot parse (MASTER_GTID_WAIT, error
// 1941), no replica is promoted until the killed primary comes back, and
// the RTO check must fail. It shows that the change is needed, and that
// the scenario can fail.
func TestFailoverNeedsRelayLogChange(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	d, err := dist.Build(ctx, dist.Options{Without: []string{"relay-log-position-from-gtid-io-pos"}}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenarios.Resolve("vitess-failover")
	if err != nil {
		t.Fatal(err)
	}
	env := scenarios.DefaultEnv(scenarios.EnvOptions{Vitess: vitess.Options{Bin: d.Dir, Log: testWriter{t}}})
	if err := s.Validate(env); err != nil {
		t.Fatal(err)
	}
	out, err := scenarios.Run(ctx, s, env, scenarios.Options{Dir: t.TempDir(), Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Infra != nil {
		t.Fatalf("infrastructure failed: %v", out.Infra)
	}
	rto := result(t, out, "rto")
	t.Logf("without the relay-log change: RTO per fault (s): %s; %s", perFault(rto, "rto_seconds"), rto.Summary)
	if rto.Verdict != check.Fail {
		t.Errorf("rto: %s (%s), want fail: the second failover should hang without the relay-log change", rto.Verdict, rto.Summary)
	}
}

// TestBankAcrossShards runs vitess-bank-sharded (transfers between
// accounts on 2 shards under MULTI, both primaries killed) and reports
// what the bank check finds. Vitess does not isolate or atomically commit
// across shards under MULTI, so a failed bank check is a finding, not a
// failure of this test; the test requires a verdict and the figures.
func TestBankAcrossShards(t *testing.T) {
	need(t)
	out := run(t, "vitess-bank-sharded", 10*time.Minute)
	bank := result(t, out, "bank")
	t.Logf("bank across 2 shards under MULTI: %s: %s (metrics %v)", bank.Verdict, bank.Summary, bank.Metrics)
	if bank.Verdict == check.Unknown {
		t.Errorf("the bank check reached no verdict: %s", bank.Summary)
	}
	if bank.Metrics["reads_checked"] == 0 {
		t.Error("no balance read was checked")
	}
}
