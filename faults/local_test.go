package faults_test

import (
	"bytes"
	"context"
	"maps"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd/etcdtest"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/local"
)

// These tests inject faults for real on the local platform: processes,
// signals, iptables.

func TestMain(m *testing.M) {
	agents := etcdtest.Agents()
	agents[delayer.AgentName] = delayer.Agent
	maps.Copy(agents, dockerd.Agents()) // the runtime shim, for the Docker tests
	agent.Main(agents)
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "partitions on the local platform need root: iptables rules, and a uid per node so that node traffic carries node addresses")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		testenv.Missing(t, "iptables", "partitions need iptables, which is not installed")
	}
}

// probes is a local cluster whose every node runs a probe agent.
type probes struct {
	*local.Cluster
	nodes []platform.Node
	addr  map[string]string // node → probe address
}

func startProbes(t *testing.T, n int) *probes {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zones := make([]int, n)
	for i := range zones {
		zones[i] = 1
	}
	c, err := local.New(local.Options{}).Create(ctx, etcdtest.Zones(zones...))
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*local.Cluster)
	t.Cleanup(func() { lc.Delete(context.Background()) })
	p := &probes{Cluster: lc, addr: map[string]string{}}
	p.nodes, _ = lc.Nodes(ctx)
	for _, node := range p.nodes {
		port, err := lc.PortFor(node.Name, "probe")
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort(node.Addr, strconv.Itoa(port))
		p.addr[node.Name] = addr
		err = lc.Run(ctx, node.Name, platform.Process{
			Name: "probe", Agent: local.ProbeAgentName, Args: []string{"--listen", addr},
			Ready: func(ctx context.Context) error { return local.Ping(ctx, addr) },
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// reach reports which ordered pairs of nodes can open a connection.
func (p *probes) reach(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, a := range p.nodes {
		for _, b := range p.nodes {
			if a.Name == b.Name {
				continue
			}
			_, err := local.Probe(context.Background(), p.addr[a.Name], p.addr[b.Name])
			out[a.Name+">"+b.Name] = err == nil
		}
	}
	return out
}

func cut(r map[string]bool) string {
	var out []string
	for _, k := range []string{"n1>n2", "n1>n3", "n2>n1", "n2>n3", "n3>n1", "n3>n2"} {
		if !r[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, " ")
}

func TestPartitionOnLocal(t *testing.T) {
	needRoot(t)
	p := startProbes(t, 3)
	if got := cut(p.reach(t)); got != "" {
		t.Fatalf("before any fault, cut: %s", got)
	}
	n := p.nodes
	tests := []struct {
		name    string
		spec    faults.Spec
		target  faults.Target
		wantCut string
	}{
		// TCP needs both directions, so a one-way cut from n1 also fails
		// connections n2 and n3 open to n1 (their SYN-ACKs are dropped);
		// the rules themselves are checked below.
		{name: "isolate n1", spec: faults.Spec{ID: 1, Kind: faults.KindPartition},
			target: faults.Target{Nodes: n[:1], Peers: n[1:]}, wantCut: "n1>n2 n1>n3 n2>n1 n3>n1"},
		{name: "n1 from n2 only", spec: faults.Spec{ID: 2, Kind: faults.KindPartition},
			target: faults.Target{Nodes: n[:1], Peers: n[1:2]}, wantCut: "n1>n2 n2>n1"},
		{name: "one-way from n1", spec: faults.Spec{ID: 3, Kind: faults.KindPartition, OneWay: true},
			target: faults.Target{Nodes: n[:1], Peers: n[1:]}, wantCut: "n1>n2 n1>n3 n2>n1 n3>n1"},
		{name: "bridge through n2", spec: faults.Spec{ID: 4, Kind: faults.KindPartition, Bridge: true},
			target: faults.Target{Nodes: n}, wantCut: "n1>n3 n3>n1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tt.spec.Target, _ = faults.ParseSelector("all")
			tt.spec.Duration = time.Second
			f, err := faults.New(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			tt.target.Log = faults.NewLog(&log, nil)
			heal, err := f.Inject(ctx, p.Cluster, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if got := cut(p.reach(t)); got != tt.wantCut {
				t.Errorf("cut %q, want %q", got, tt.wantCut)
			}
			for _, node := range p.nodes {
				if err := local.Ping(ctx, p.addr[node.Name]); err != nil {
					t.Errorf("the harness lost %s: %v", node.Name, err)
				}
			}
			if tt.spec.OneWay {
				rules := chainRules(t, p.ChainName("p3"))
				if len(rules) != 4 || !strings.Contains(rules[0], "-s "+n[0].Addr+"/32 -d "+n[1].Addr+"/32") {
					t.Errorf("one-way rules:\n%s", strings.Join(rules, "\n"))
				}
			}
			if err := heal(ctx); err != nil {
				t.Fatal(err)
			}
			if err := heal(ctx); err != nil {
				t.Fatalf("second heal: %v", err)
			}
			if got := cut(p.reach(t)); got != "" {
				t.Errorf("after heal, cut: %s", got)
			}
			if rules := chainRules(t, p.ChainName("p"+strconv.Itoa(tt.spec.ID))); rules != nil {
				t.Errorf("the chain survived heal: %v", rules)
			}
			if !strings.Contains(log.String(), "-j DROP") || !strings.Contains(log.String(), "-X FL-") {
				t.Errorf("the fault log lacks its commands:\n%s", log.String())
			}
		})
	}
}

// A root cluster whose nodes share the harness's uid cannot be partitioned
// (their packets carry 127.0.0.1); the fault must say so, not install
// rules that cut nothing.
func TestPartitionRefusedWithoutIsolation(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	c, err := local.New(local.Options{NoIsolation: true}).Create(ctx, etcdtest.Zones(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(ctx)
	nodes, _ := c.Nodes(ctx)
	f, err := faults.New(faults.Spec{Kind: faults.KindPartition, Target: mustSel(t, "node:n1"), Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Inject(ctx, c, faults.Target{Nodes: nodes[:1], Peers: nodes[1:]})
	if err == nil || !strings.Contains(err.Error(), "NoIsolation") {
		t.Fatalf("Inject = %v, want a refusal", err)
	}
}

// chainRules lists the rules of a filter chain, or nil if it does not
// exist.
func chainRules(t *testing.T, chain string) []string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "5", "-S", chain).CombinedOutput()
	if err != nil {
		return nil
	}
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// TestEtcdFaults injects node faults and a partition into a real etcd
// cluster and checks that etcd feels them.
func TestEtcdFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a three-member etcd cluster")
	}
	ec := etcdtest.Start(t, etcdtest.Zones(1, 1, 1), engines.Spec{Options: etcdtest.FastElections()})
	ctx := context.Background()
	nodes, _ := ec.Nodes(ctx)

	t.Run("partitioning the leader away elects another", func(t *testing.T) {
		needRoot(t)
		first := ec.Leader(t)
		lead, _ := platform.Find(nodes, first.Node)
		f, err := faults.New(faults.Spec{ID: 7, Kind: faults.KindPartition, Target: mustSel(t, "leader"), Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		heal, err := f.Inject(ctx, ec.Cluster, faults.Target{Nodes: []platform.Node{lead}, Peers: faults.Complement(nodes, []platform.Node{lead})})
		if err != nil {
			t.Fatal(err)
		}
		defer heal(ctx)
		waitLeader(t, ec, func(l engines.Leadership) bool { return l.Node != first.Node && l.Term > first.Term })
		if err := heal(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ec.Engine.WaitReady(ctxT(t, 20*time.Second), ec.Cluster); err != nil {
			t.Fatalf("after heal: %v", err)
		}
	})

	for _, kind := range []string{faults.KindKill, faults.KindStop, faults.KindPause} {
		t.Run(kind+" the leader", func(t *testing.T) {
			first := ec.Leader(t)
			lead, _ := platform.Find(nodes, first.Node)
			f, err := faults.New(faults.Spec{Kind: kind, Target: mustSel(t, "leader"), Duration: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			heal, err := f.Inject(ctx, ec.Cluster, faults.Target{Nodes: []platform.Node{lead}})
			if err != nil {
				t.Fatal(err)
			}
			defer heal(ctx)
			waitLeader(t, ec, func(l engines.Leadership) bool { return l.Node != first.Node && l.Term > first.Term })
			if err := heal(ctx); err != nil {
				t.Fatal(err)
			}
			if err := ec.Engine.WaitReady(ctxT(t, 20*time.Second), ec.Cluster); err != nil {
				t.Fatalf("after heal: %v", err)
			}
		})
	}
}

func mustSel(t *testing.T, s string) faults.Selector {
	t.Helper()
	sel, err := faults.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitLeader(t *testing.T, ec *etcdtest.Cluster, ok func(engines.Leadership) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last engines.Leadership
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = ec.Engine.Leader(context.Background(), ec.Cluster)
		if lastErr == nil && ok(last) {
			t.Logf("leader %s in term %d", last.Node, last.Term)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("leadership never changed as expected: last %+v, %v\n%s", last, lastErr, netState(ec.ID()))
}

// netState shows the iptables chains of cluster id and what jumps to
// them, for failures.
func netState(id string) string {
	var b strings.Builder
	for _, table := range []string{"filter", "nat"} {
		out, _ := exec.Command("iptables", "-w", "5", "-t", table, "-S").CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "FL-"+id) || strings.HasPrefix(l, "-A INPUT") || strings.HasPrefix(l, "-A POSTROUTING") || strings.HasPrefix(l, "-A OUTPUT") {
				b.WriteString(table + ": " + l + "\n")
			}
		}
	}
	return b.String()
}

// TestZoneOutage takes down the leader's zone of a five-member cluster
// over three zones, the quickstart's layout: the other zones keep a
// quorum and elect a leader among themselves; heal brings the zone back.
func TestZoneOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a five-member etcd cluster")
	}
	ec := etcdtest.Start(t, etcdtest.Zones(2, 2, 1), engines.Spec{Options: etcdtest.FastElections()})
	ctx := context.Background()
	nodes, _ := ec.Nodes(ctx)
	spec := faults.Spec{ID: 1, Kind: faults.KindZoneOutage, Target: mustSel(t, "leader-zone"), Duration: time.Second}
	f, err := faults.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	leader := func(ctx context.Context) (string, error) {
		l, err := ec.Engine.Leader(ctx, ec.Cluster)
		return l.Node, err
	}
	target, err := spec.Target.Resolve(ctx, nodes, leader, nil)
	if err != nil {
		t.Fatal(err)
	}
	zone := target[0].Zone
	first := ec.Leader(t)
	heal, err := f.Inject(ctx, ec.Cluster, faults.Target{Nodes: target})
	if err != nil {
		t.Fatal(err)
	}
	defer heal(ctx)
	for _, n := range target {
		if pid := ec.PID(n.Name); pid != 0 {
			t.Errorf("%s in the dead zone still runs (pid %d)", n.Name, pid)
		}
	}
	waitLeader(t, ec, func(l engines.Leadership) bool {
		n, _ := platform.Find(nodes, l.Node)
		return n.Zone != zone && l.Term > first.Term
	})
	if err := heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ec.Engine.WaitReady(ctxT(t, 20*time.Second), ec.Cluster); err != nil {
		t.Fatalf("after the zone came back: %v", err)
	}
	t.Logf("zone %s (%d nodes) went down with leader %s; all five members healthy again", zone, len(target), first.Node)
}
