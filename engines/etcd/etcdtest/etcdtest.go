// Package etcdtest boots real etcd clusters on the local platform for the
// tests of packages that talk to etcd.
//
// A test binary that uses it must run the etcd agent when a cluster
// re-executes it:
//
//	func TestMain(m *testing.M) {
//		agent.Main(etcdtest.Agents())
//		os.Exit(m.Run())
//	}
package etcdtest

import (
	"context"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/local"
)

// Agents are the agents a test binary using this package must register.
func Agents() map[string]agent.Func {
	return map[string]agent.Func{
		etcd.AgentName:       etcd.Agent,
		local.ProbeAgentName: local.ProbeAgent,
	}
}

// FastElections are engine options that make failover quick, so that
// tests of it stay short.
func FastElections() map[string]string {
	return map[string]string{"heartbeat-interval": "50ms", "election-timeout": "500ms"}
}

// Zones lays out one region r1 with zones a, b, c… holding the given
// numbers of nodes.
func Zones(nodes ...int) platform.Topology {
	r := platform.Region{Name: "r1"}
	for i, n := range nodes {
		r.Zones = append(r.Zones, platform.Zone{Name: string(rune('a' + i)), Nodes: n})
	}
	return platform.Topology{Regions: []platform.Region{r}}
}

// Cluster is a running etcd cluster on the local platform.
type Cluster struct {
	*local.Cluster
	Engine    *etcd.Engine
	Endpoints []engines.Endpoint
}

// Start boots etcd on a new local cluster with the given topology and
// waits until it is ready; the cluster is deleted when the test ends.
func Start(t testing.TB, topo platform.Topology, spec engines.Spec) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := local.New(local.Options{StopGrace: 5 * time.Second}).Create(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*local.Cluster)
	t.Cleanup(func() {
		if err := lc.Delete(context.Background()); err != nil {
			t.Errorf("delete the etcd cluster: %v", err)
		}
	})
	e := etcd.New()
	if err := e.Deploy(ctx, lc, spec); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitReady(ctx, lc); err != nil {
		t.Fatal(err)
	}
	eps, err := e.Endpoints(ctx, lc)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{Cluster: lc, Engine: e, Endpoints: eps}
}

// Leader names the current leader, waiting up to ten seconds for one.
func (c *Cluster) Leader(t testing.TB) engines.Leadership {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := c.Engine.Leader(context.Background(), c.Cluster)
		if err == nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
