//go:build e2e

package kind

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

// TestRegionLatencyE2E boots three regions of one node each with 20ms
// one-way latency between them, measures the round trip between nodes,
// kills a node and starts it again (it comes back in a new network
// namespace) and measures again: the standing latency must be back
// before Start returns. Then Delete must succeed, although the restarted
// node's original rules are gone, and a retained cluster's latency is
// removed.
func TestRegionLatencyE2E(t *testing.T) {
	host, image := e2eDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st := t.TempDir()
	// The latency logs to the log of Create's context, as a run's does:
	// the re-installation after the restart must reach it.
	var logged bytes.Buffer
	p := New(Options{
		DockerHost: host, NodeImage: image, Name: "fl-kind-rl", StateDir: st,
		RegionLatency: faults.RegionLatency,
	})
	topo := platform.Topology{
		Regions:       []platform.Region{zones("east", "e-a"), zones("west", "w-a"), zones("south", "s-a")},
		RegionLatency: 20 * time.Millisecond,
	}
	cl, err := p.Create(faults.ContextWithLog(ctx, faults.NewLog(io.MultiWriter(&logged, testWriter{t}), nil)), topo)
	if err != nil {
		t.Fatal(err)
	}
	c := cl.(*Cluster)
	deleted := false
	defer func() {
		if !deleted {
			c.Delete(context.Background())
		}
	}()
	nodes, _ := c.Nodes(ctx)
	w := platform.Workers(nodes)
	// A TCP connect to the other node's kubelet takes one round trip.
	// (ping would under-report: it takes the reply's time from the
	// kernel's receive timestamp, before the delayer holds it.)
	rtt := func(from, to platform.Node) time.Duration {
		best := time.Hour
		for range 3 {
			out, err := c.NetExec(ctx, from.Name, "curl", "-sk", "-o", "/dev/null", "-w", "%{time_connect}", "https://"+to.Addr+":10250/healthz")
			if err != nil && !regexp.MustCompile(`^[0-9.]+$`).Match(out) {
				t.Fatalf("curl: %v", err)
			}
			s, _ := strconv.ParseFloat(string(out), 64)
			best = min(best, time.Duration(s*float64(time.Second)))
		}
		return best
	}
	dump := func() {
		for _, n := range w {
			out, err := c.NetExec(ctx, n.Name, "iptables", "-t", "security", "-L", "-v", "-n")
			t.Logf("%s security table: %v\n%s", n.Name, err, out)
		}
	}
	for _, to := range w[1:] {
		with := rtt(w[0], to)
		t.Logf("TCP connect %s → %s: %s (want ≥ 40ms: 20ms each way)", w[0].Region, to.Region, with)
		if with < 38*time.Millisecond {
			t.Errorf("round trip %s with 20ms one-way latency between regions", with)
			dump()
		}
	}

	// The killed node comes back in a new network namespace: Start
	// installs the region latency again before it returns.
	if err := c.Kill(ctx, w[0].Name); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Start(ctx, w[0].Name); err != nil {
		t.Fatalf("Start after kill: %v", err)
	}
	t.Logf("node %s started again, its latency restored, in %s", w[0].Name, time.Since(start).Round(time.Millisecond))
	if want := "installed again on " + w[0].Name; !strings.Contains(logged.String(), want) {
		t.Errorf("the log of Create's context does not say %q:\n%s", want, logged.String())
	}
	for _, to := range w[1:] {
		again := rtt(w[0], to)
		t.Logf("after the restart, TCP connect %s → %s: %s", w[0].Region, to.Region, again)
		if again < 38*time.Millisecond {
			t.Errorf("round trip %s after %s restarted: the region latency was not installed again", again, w[0].Name)
			dump()
		}
	}

	if err := c.removeLatency(ctx); err != nil {
		t.Fatalf("remove the region latency after a node restart: %v", err)
	}
	without := rtt(w[0], w[1])
	t.Logf("TCP connect after removal: %s", without)
	if without > 15*time.Millisecond {
		t.Errorf("round trip %s after the latency was removed", without)
	}
	deleted = true
	if err := c.Delete(context.Background()); err != nil {
		t.Errorf("Delete after a node restart: %v", err)
	}
}
