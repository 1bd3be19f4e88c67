//go:build e2e

package kind

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
)

func TestMain(m *testing.M) {
	// The packet delayer that region latency starts is this binary.
	agent.Main(map[string]agent.Func{delayer.AgentName: delayer.Agent})
	os.Exit(m.Run())
}

// TestRegionLatencyE2E boots two regions of one node each with 20ms
// one-way latency between them and measures the round trip between the
// nodes, before and after Delete removes the latency from a retained
// cluster.
func TestRegionLatencyE2E(t *testing.T) {
	image := os.Getenv("FAULTLINE_NODE_IMAGE")
	if image == "" {
		t.Skip("FAULTLINE_NODE_IMAGE is not set (a kind node image this daemon has)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st := t.TempDir()
	p := New(Options{
		DockerHost: os.Getenv("FAULTLINE_DOCKER_HOST"), NodeImage: image, Name: "fl-kind-rl", StateDir: st,
		RegionLatency: faults.RegionLatency,
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
	rtt := func() time.Duration {
		out, err := c.NetExec(ctx, w[0].Name, "ping", "-c", "5", "-i", "0.2", w[1].Addr)
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
		m := regexp.MustCompile(`= ([0-9.]+)/([0-9.]+)/`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("ping said: %s", out)
		}
		ms, _ := strconv.ParseFloat(string(m[2]), 64)
		return time.Duration(ms * float64(time.Millisecond))
	}
	with := rtt()
	t.Logf("round trip between regions: %s (want ≥ 40ms: 20ms each way)", with)
	if with < 38*time.Millisecond {
		t.Errorf("round trip %s with 20ms one-way latency between regions", with)
	}
	if err := c.removeLatency(ctx); err != nil {
		t.Fatal(err)
	}
	without := rtt()
	t.Logf("round trip after removal: %s", without)
	if without > 15*time.Millisecond {
		t.Errorf("round trip %s after the latency was removed", without)
	}
}
