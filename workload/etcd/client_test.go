package etcd

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd/etcdtest"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/workload"
)

func TestMain(m *testing.M) {
	agent.Main(etcdtest.Agents())
	os.Exit(m.Run())
}

func open(t *testing.T, opts Options, worker int) *Client {
	t.Helper()
	o, err := NewOpener(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.Open(context.Background(), worker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Client)
}

func invoke(c *Client, timeout time.Duration, op workload.Op) workload.Op {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Invoke(ctx, op)
}

func TestClient(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a three-member etcd cluster")
	}
	ec := etcdtest.Start(t, etcdtest.Zones(1, 1, 1), engines.Spec{Options: etcdtest.FastElections()})
	prefix := "/test-" + t.Name() + "/"
	c := open(t, Options{Endpoints: ec.Endpoints, Prefix: prefix}, 0)
	nodes := map[string]bool{}
	for _, ep := range ec.Endpoints {
		nodes[ep.Node] = true
	}

	steps := []struct {
		name     string
		op       workload.Op
		want     workload.Type
		wantVal  *int64
		wantErr  string
		wantKeys []string
	}{
		{name: "read of an absent register", op: workload.Op{F: workload.FRead, Key: "k0"}, want: workload.OK},
		{name: "cas on an absent register", op: workload.Op{F: workload.FCAS, Key: "k0", Prev: workload.Int(0), Value: workload.Int(1)}, want: workload.Fail, wantErr: workload.ErrPrecondition},
		{name: "write", op: workload.Op{F: workload.FWrite, Key: "k0", Value: workload.Int(5)}, want: workload.OK},
		{name: "read what was written", op: workload.Op{F: workload.FRead, Key: "k0"}, want: workload.OK, wantVal: workload.Int(5)},
		{name: "cas with the right prev", op: workload.Op{F: workload.FCAS, Key: "k0", Prev: workload.Int(5), Value: workload.Int(6)}, want: workload.OK},
		{name: "cas with a wrong prev", op: workload.Op{F: workload.FCAS, Key: "k0", Prev: workload.Int(5), Value: workload.Int(7)}, want: workload.Fail, wantErr: workload.ErrPrecondition},
		{name: "the failed cas changed nothing", op: workload.Op{F: workload.FRead, Key: "k0"}, want: workload.OK, wantVal: workload.Int(6)},
		{name: "ledger add", op: workload.Op{F: workload.FLedgerAdd, Key: workload.LedgerKey(1)}, want: workload.OK},
		{name: "ledger add", op: workload.Op{F: workload.FLedgerAdd, Key: workload.LedgerKey(2)}, want: workload.OK},
		{name: "ledger read", op: workload.Op{F: workload.FLedgerRead}, want: workload.OK, wantKeys: []string{"l000000001", "l000000002"}},
		{name: "unknown function", op: workload.Op{F: "teleport"}, want: workload.Fail, wantErr: "unsupported"},
	}
	for _, s := range steps {
		got := invoke(c, 5*time.Second, s.op)
		if got.Type != s.want || !strings.Contains(got.Error, s.wantErr) {
			t.Fatalf("%s: %s", s.name, got)
		}
		if s.want == workload.OK && !nodes[got.Node] {
			t.Errorf("%s: Node = %q, want one of the members' nodes", s.name, got.Node)
		}
		if s.op.F == workload.FRead && (got.Value == nil) != (s.wantVal == nil) || got.Value != nil && s.wantVal != nil && *got.Value != *s.wantVal {
			t.Errorf("%s: read %s", s.name, got)
		}
		if s.wantKeys != nil && strings.Join(got.Keys, ",") != strings.Join(s.wantKeys, ",") {
			t.Errorf("%s: keys %v, want %v", s.name, got.Keys, s.wantKeys)
		}
	}

	t.Run("keys live under the prefix", func(t *testing.T) {
		other := open(t, Options{Endpoints: ec.Endpoints, Prefix: "/elsewhere"}, 0)
		got := invoke(other, 5*time.Second, workload.Op{F: workload.FRead, Key: "k0"})
		if got.Type != workload.OK || got.Value != nil {
			t.Errorf("another prefix sees %s", got)
		}
	})

	t.Run("pinned workers talk to one member each", func(t *testing.T) {
		for w := 0; w < 4; w++ {
			pc := open(t, Options{Endpoints: ec.Endpoints, Prefix: prefix, Pinned: true, Serializable: true}, w)
			got := invoke(pc, 5*time.Second, workload.Op{F: workload.FRead, Key: "k0"})
			want := ec.Endpoints[w%len(ec.Endpoints)].Node
			if got.Type != workload.OK || got.Node != want {
				t.Errorf("worker %d: %s served by %q, want %s", w, got, got.Node, want)
			}
		}
	})
}

// TestKilledMember checks the outcomes the client reports when the member
// it is pinned to dies, and when a member loses its quorum.
func TestKilledMember(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a three-member etcd cluster")
	}
	ec := etcdtest.Start(t, etcdtest.Zones(1, 1, 1), engines.Spec{Options: etcdtest.FastElections()})
	ctx := context.Background()
	leader := ec.Leader(t)
	var victim, survivor int
	for i, ep := range ec.Endpoints {
		if ep.Node == leader.Node {
			victim = i
		}
	}
	survivor = (victim + 1) % len(ec.Endpoints)
	pinned := open(t, Options{Endpoints: ec.Endpoints, Pinned: true}, victim)
	if got := invoke(pinned, 5*time.Second, workload.Op{F: workload.FWrite, Key: "k1", Value: workload.Int(1)}); got.Type != workload.OK {
		t.Fatalf("before the kill: %s", got)
	}
	if err := ec.Kill(ctx, ec.Endpoints[victim].Node); err != nil {
		t.Fatal(err)
	}

	t.Run("a write to a dead member is info", func(t *testing.T) {
		got := invoke(pinned, time.Second, workload.Op{F: workload.FWrite, Key: "k1", Value: workload.Int(2)})
		if got.Type != workload.Info {
			t.Errorf("%s, want info", got)
		}
	})
	t.Run("a read from a dead member is fail", func(t *testing.T) {
		got := invoke(pinned, time.Second, workload.Op{F: workload.FRead, Key: "k1"})
		if got.Type != workload.Fail {
			t.Errorf("%s, want fail", got)
		}
	})
	t.Run("balanced clients go on through the others", func(t *testing.T) {
		c := open(t, Options{Endpoints: ec.Endpoints}, 0)
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := invoke(c, 2*time.Second, workload.Op{F: workload.FWrite, Key: "k1", Value: workload.Int(3)})
			if got.Type == workload.OK {
				if got.Node == ec.Endpoints[victim].Node {
					t.Errorf("served by the dead member: %s", got)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no write succeeded after the kill: %s", got)
			}
		}
	})
	t.Run("without quorum, require-leader writes fail definitely", func(t *testing.T) {
		third := 3 - victim - survivor
		if err := ec.Kill(ctx, ec.Endpoints[third].Node); err != nil {
			t.Fatal(err)
		}
		c := open(t, Options{Endpoints: ec.Endpoints, Pinned: true, RequireLeader: true}, survivor)
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := invoke(c, 2*time.Second, workload.Op{F: workload.FWrite, Key: "k1", Value: workload.Int(4)})
			if got.Type == workload.Fail && strings.Contains(got.Error, "no leader") {
				break
			}
			if got.Type == workload.OK {
				t.Fatalf("a write without quorum succeeded: %s", got)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the lone member never said it has no leader: %s", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestNewOpenerNeedsEndpoints(t *testing.T) {
	if _, err := NewOpener(Options{}); err == nil {
		t.Fatal("no error without endpoints")
	}
}
