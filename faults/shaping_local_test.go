package faults_test

import (
	"bytes"
	"context"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/local"
)

// These tests shape traffic between the nodes of the local platform, on
// the host's loopback: node processes (probe agents) run as their own
// uids and reach each other with their own addresses by SNAT, which the
// rules must see through.

// probeTimes asks the probe agent of from, n times, to connect to the
// probe agent of to and ask it who it is: two round trips between them,
// so a one-way delay d on both directions adds 4d.
func probeTimes(t *testing.T, p *probes, from, to string, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for range n {
		t0 := time.Now()
		if _, err := local.Probe(context.Background(), p.addr[from], p.addr[to]); err != nil {
			t.Fatalf("probe %s → %s: %v", from, to, err)
		}
		out = append(out, time.Since(t0))
	}
	return out
}

// startProbesIn is startProbes for a topology, on a platform with options.
func startProbesIn(t *testing.T, opts local.Options, topo platform.Topology) *probes {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := local.New(opts).Create(ctx, topo)
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

func injectLocal(t *testing.T, c platform.Cluster, spec faults.Spec, tg faults.Target) (faults.Heal, faults.Fault, *bytes.Buffer) {
	t.Helper()
	spec.Target = mustSel(t, "node:"+tg.Nodes[0].Name)
	spec.Duration = time.Minute
	f, err := faults.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	tg.Log = faults.NewLog(&log, nil)
	h, err := f.Inject(context.Background(), c, tg)
	if err != nil {
		t.Fatalf("inject: %v\nlog:\n%s", err, log.String())
	}
	t.Cleanup(func() { h(context.Background()) })
	return h, f, &log
}

func TestLatencyOnLocal(t *testing.T) {
	needRoot(t)
	p := startProbes(t, 3)
	n := p.nodes
	base := fastest(probeTimes(t, p, "n1", "n2", 5))
	const delay = 30 * time.Millisecond
	h, f, log := injectLocal(t, p.Cluster, faults.Spec{ID: 11, Kind: faults.KindLatency, Delay: delay},
		faults.Target{Nodes: n[:1], Peers: n[1:2]})
	wantMechanism(t, mechanism(f))

	for _, pair := range [][2]string{{"n1", "n2"}, {"n2", "n1"}} {
		if got := fastest(probeTimes(t, p, pair[0], pair[1], 5)) - base; !within(got, 4*delay) {
			t.Errorf("probe %s → %s grew by %v, want %v ± %v (two round trips)", pair[0], pair[1], got, 4*delay, tolerance(4*delay))
		}
	}
	if got := fastest(probeTimes(t, p, "n1", "n3", 5)); got > base+5*time.Millisecond {
		t.Errorf("n1 → n3 is not shaped, yet a probe takes %v (baseline %v)", got, base)
	}
	// The delayer carries the cluster's mark, for local.Heal.
	pids := ownDelayers()
	if len(pids) != 1 {
		t.Fatalf("%d delayers run, want 1", len(pids))
	}
	env, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pids[0]), "environ"))
	if !bytes.Contains(env, []byte("FAULTLINE_CLUSTER="+p.ID()+"\x00")) {
		t.Error("the delayer lacks the cluster's FAULTLINE_CLUSTER mark")
	}

	heal(t, h)
	if got := fastest(probeTimes(t, p, "n1", "n2", 5)); got > base+5*time.Millisecond {
		t.Errorf("after heal a probe takes %v (baseline %v)", got, base)
	}
	if left := leftovers(context.Background(), p.Cluster, "n1", "FL-"+p.ID()); left != "" {
		t.Errorf("after heal the host still has:\n%s", left)
	}
	if pids := ownDelayers(); len(pids) > 0 {
		t.Errorf("after heal, delayers %v still run", pids)
	}
	if !strings.Contains(log.String(), "NFQUEUE") && mechanism(f) == faults.MechDelayer {
		t.Errorf("the log lacks the rules:\n%s", log.String())
	}
}

// Loss and bandwidth between two nodes' addresses on the host's loopback.
// The test binds its sockets to node addresses itself.
func TestLossAndBandwidthOnLocal(t *testing.T) {
	needRoot(t)
	p := startProbes(t, 2)
	n := p.nodes
	a, b := hostPeer(n[0].Addr), hostPeer(n[1].Addr)
	tg := faults.Target{Nodes: n[:1], Peers: n[1:]}

	t.Run("loss", func(t *testing.T) {
		const num, loss = 2000, 0.3
		h, _, _ := injectLocal(t, p.Cluster, faults.Spec{ID: 12, Kind: faults.KindLoss, Loss: loss}, tg)
		lost := float64(num-udpDelivered(t, a, b, num)) / num
		if sigma := math.Sqrt(loss * (1 - loss) / num); math.Abs(lost-loss) > 4*sigma {
			t.Errorf("lost %.3f, want %.2f ± %.3f", lost, loss, 4*sigma)
		}
		heal(t, h)
		if got := udpDelivered(t, a, b, 300); got != 300 {
			t.Errorf("after heal %d of 300 arrived", got)
		}
	})
	t.Run("bandwidth", func(t *testing.T) {
		const rate = 20_000_000
		h, _, _ := injectLocal(t, p.Cluster, faults.Spec{ID: 13, Kind: faults.KindBandwidth, Rate: rate}, tg)
		for _, upload := range []bool{true, false} {
			got := bulkRate(t, a, b, 2*time.Second, upload)
			if got < 0.8*rate || got > 1.15*rate {
				t.Errorf("upload=%v: %.1f Mbit/s through a %d Mbit/s cap", upload, got/1e6, rate/1_000_000)
			}
			t.Logf("upload=%v: %.2f Mbit/s", upload, got/1e6)
		}
		heal(t, h)
		if left := leftovers(context.Background(), p.Cluster, "n1", "FL-"+p.ID()); left != "" {
			t.Errorf("after heal the host still has:\n%s", left)
		}
	})
}

// A standing latency between regions, installed when the cluster is
// created, slows cross-region round trips only; a latency fault on top
// of it adds up; Delete removes it all.
func TestRegionLatencyOnLocal(t *testing.T) {
	needRoot(t)
	const rl = 20 * time.Millisecond
	topo := platform.Topology{
		Regions: []platform.Region{
			{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}, {Name: "b", Nodes: 1}}},
			{Name: "r2", Zones: []platform.Zone{{Name: "c", Nodes: 1}}},
		},
		RegionLatency: rl,
	}
	var log bytes.Buffer
	p := startProbesIn(t, local.Options{RegionLatency: faults.LoggedRegionLatency(faults.NewLog(&log, nil))}, topo)
	same := fastest(probeTimes(t, p, "n1", "n2", 5))
	if same > 10*time.Millisecond {
		t.Errorf("within a region a probe takes %v", same)
	}
	cross := fastest(probeTimes(t, p, "n1", "n3", 5))
	if got := cross - same; !within(got, 4*rl) {
		t.Errorf("across regions a probe takes %v longer, want %v ± %v\n%s", got, 4*rl, tolerance(4*rl), log.String())
	}

	const extra = 20 * time.Millisecond
	h, _, _ := injectLocal(t, p.Cluster, faults.Spec{ID: 14, Kind: faults.KindLatency, Delay: extra},
		faults.Target{Nodes: p.nodes[:1], Peers: p.nodes[2:]})
	if got := fastest(probeTimes(t, p, "n1", "n3", 5)) - same; !within(got, 4*(rl+extra)) {
		t.Errorf("with a latency fault on top, the probe took %v longer, want %v ± %v", got, 4*(rl+extra), tolerance(4*(rl+extra)))
	}
	heal(t, h)
	if got := fastest(probeTimes(t, p, "n1", "n3", 5)) - same; !within(got, 4*rl) {
		t.Errorf("after the fault healed, %v longer, want %v again", got, 4*rl)
	}

	id := p.ID()
	if err := p.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(context.Background(), faults.HostNetwork{}, "host", "FL-"+id); left != "" {
		t.Errorf("after Delete the host still has:\n%s", left)
	}
	if pids := ownDelayers(); len(pids) > 0 {
		t.Errorf("after Delete, delayers %v still run", pids)
	}
}

// Without a uid per node, node packets all carry 127.0.0.1 and no rule
// could tell regions apart: creating such a cluster with region latency
// must fail, not quietly add none.
func TestRegionLatencyRefusedWithoutIsolation(t *testing.T) {
	needRoot(t)
	topo := platform.Topology{
		Regions: []platform.Region{
			{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}}},
			{Name: "r2", Zones: []platform.Zone{{Name: "b", Nodes: 1}}},
		},
		RegionLatency: 10 * time.Millisecond,
	}
	c, err := local.New(local.Options{NoIsolation: true, RegionLatency: faults.RegionLatency}).Create(context.Background(), topo)
	if err == nil {
		c.Delete(context.Background())
		t.Fatal("Create succeeded")
	}
	if !strings.Contains(err.Error(), "own uid") {
		t.Errorf("Create = %v, want it to say why", err)
	}
}
