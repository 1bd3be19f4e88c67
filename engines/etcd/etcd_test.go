package etcd

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/local"
)

func TestMain(m *testing.M) {
	agent.Main(map[string]agent.Func{AgentName: Agent})
	os.Exit(m.Run())
}

func threeZones(perZone int) platform.Topology {
	return platform.Topology{Regions: []platform.Region{{Name: "r1", Zones: []platform.Zone{
		{Name: "a", Nodes: perZone}, {Name: "b", Nodes: perZone}, {Name: "c", Nodes: perZone},
	}}}}
}

// TestCluster boots a real three-member cluster on the local platform and
// puts it through a leader kill and a member restart.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a three-member etcd cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := local.New(local.Options{}).Create(ctx, threeZones(1))
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*local.Cluster)
	defer lc.Delete(context.Background())

	e := New()
	if err := e.Deploy(ctx, c, engines.Spec{Options: map[string]string{"heartbeat-interval": "50ms", "election-timeout": "500ms"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitReady(ctx, c); err != nil {
		t.Fatal(err)
	}
	eps, err := e.Endpoints(ctx, c)
	if err != nil || len(eps) != 3 {
		t.Fatalf("Endpoints = %v, %v; want 3", eps, err)
	}
	nodes, _ := c.Nodes(ctx)
	for i, ep := range eps {
		if ep.Node != nodes[i].Name || ep.Zone != nodes[i].Zone || !strings.HasPrefix(ep.Addr, nodes[i].Addr+":") {
			t.Errorf("endpoint %d = %+v, want one on %+v", i, ep, nodes[i])
		}
	}
	first, err := e.Leader(ctx, c)
	if err != nil || first.Node == "" || first.Term == 0 {
		t.Fatalf("Leader = %+v, %v", first, err)
	}
	t.Logf("leader %s in term %d", first.Node, first.Term)

	if err := lc.Kill(ctx, first.Node); err != nil {
		t.Fatal(err)
	}
	var second engines.Leadership
	eventually(t, ctx, "a new leader", func() error {
		l, err := e.Leader(ctx, c)
		if err != nil {
			return err
		}
		if l.Node == first.Node || l.Term <= first.Term {
			return errors.New("still " + l.Node)
		}
		second = l
		return nil
	})
	t.Logf("after the kill: leader %s in term %d", second.Node, second.Term)

	// A write the killed member missed; it must catch up after restart.
	cli := client(t, eps)
	if _, err := cli.Put(ctx, "while-down", "1"); err != nil {
		t.Fatal(err)
	}
	idBefore := memberID(t, ctx, eps, first.Node)
	if err := lc.Start(ctx, first.Node); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitReady(ctx, c); err != nil {
		t.Fatal(err)
	}
	if id := memberID(t, ctx, eps, first.Node); id != idBefore {
		t.Errorf("restarted %s has member id %x, want %x: it did not rejoin from its data dir", first.Node, id, idBefore)
	}
	one := client(t, []engines.Endpoint{endpointOf(eps, first.Node)})
	eventually(t, ctx, "the restarted member to catch up", func() error {
		r, err := one.Get(ctx, "while-down", clientv3.WithSerializable())
		if err != nil {
			return err
		}
		if len(r.Kvs) != 1 {
			return errors.New("missing")
		}
		return nil
	})
	log, _ := os.ReadFile(lc.LogPath(first.Node))
	if !strings.Contains(string(log), "start 2 of etcd") {
		t.Errorf("%s's log does not show the restart", first.Node)
	}
}

func client(t *testing.T, eps []engines.Endpoint) *clientv3.Client {
	t.Helper()
	var addrs []string
	for _, ep := range eps {
		addrs = append(addrs, ep.Addr)
	}
	c, err := newClient(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func endpointOf(eps []engines.Endpoint, node string) engines.Endpoint {
	for _, ep := range eps {
		if ep.Node == node {
			return ep
		}
	}
	return engines.Endpoint{}
}

// memberID is the id the cluster knows node's member by.
func memberID(t *testing.T, ctx context.Context, eps []engines.Endpoint, node string) uint64 {
	t.Helper()
	r, err := client(t, eps).MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Members {
		if m.Name == node {
			return m.ID
		}
	}
	t.Fatalf("no member named %s in %v", node, r.Members)
	return 0
}

func eventually(t *testing.T, ctx context.Context, what string, f func() error) {
	t.Helper()
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last: %v)", what, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
