//go:build e2e

package kind

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

// TestRegionLatencyE2E boots two regions of one node each with 20ms
// one-way latency between them and measures the round trip between the
// nodes, before and after Delete removes the latency from a retained
// cluster.
func TestRegionLatencyE2E(t *testing.T) {
	host, image := e2eDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st := t.TempDir()
	p := New(Options{
		DockerHost: host, NodeImage: image, Name: "fl-kind-rl", StateDir: st,
		RegionLatency: faults.LoggedRegionLatency(faults.NewLog(testWriter{t}, func() time.Duration { return 0 })),
	})
	topo := platform.Topology{
		Regions:       []platform.Region{zones("east", "e-a"), zones("west", "w-a")},
		RegionLatency: 20 * time.Millisecond,
	}
	cl, err := p.Create(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	c := cl.(*Cluster)
	defer func() {
		if err := c.Delete(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	nodes, _ := c.Nodes(ctx)
	w := platform.Workers(nodes)
	// A TCP connect to the other node's kubelet takes one round trip.
	// (ping would under-report: it takes the reply's time from the
	// kernel's receive timestamp, before the delayer holds it.)
	rtt := func() time.Duration {
		best := time.Hour
		for range 3 {
			out, err := c.NetExec(ctx, w[0].Name, "curl", "-sk", "-o", "/dev/null", "-w", "%{time_connect}", "https://"+w[1].Addr+":10250/healthz")
			if err != nil && !regexp.MustCompile(`^[0-9.]+$`).Match(out) {
				t.Fatalf("curl: %v", err)
			}
			s, _ := strconv.ParseFloat(string(out), 64)
			best = min(best, time.Duration(s*float64(time.Second)))
		}
		return best
	}
	with := rtt()
	t.Logf("TCP connect between regions: %s (want ≥ 40ms: 20ms each way)", with)
	if with < 38*time.Millisecond {
		t.Errorf("round trip %s with 20ms one-way latency between regions", with)
		for _, n := range w {
			out, err := c.NetExec(ctx, n.Name, "iptables", "-t", "security", "-S", "-v")
			t.Logf("%s security table: %v\n%s", n.Name, err, out)
			out, err = c.NetExec(ctx, n.Name, "iptables", "-t", "security", "-L", "-v", "-n")
			t.Logf("%s counters: %v\n%s", n.Name, err, out)
		}
	}
	if err := c.removeLatency(ctx); err != nil {
		t.Fatal(err)
	}
	without := rtt()
	t.Logf("TCP connect after removal: %s", without)
	if without > 15*time.Millisecond {
		t.Errorf("round trip %s after the latency was removed", without)
	}
}
