//go:build e2e

package kind

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/faultline-dev/faultline/platform"
)

// TestNotReadyE2E measures how long the control plane takes to see a
// frozen node NotReady, with the shortened node-monitor grace period
// the generated configuration sets (the default is 40–50 s), and how
// long the node takes to be Ready again once thawed.
func TestNotReadyE2E(t *testing.T) {
	host, image := e2eDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := New(Options{DockerHost: host, NodeImage: image, Name: "fl-kind-nr", StateDir: t.TempDir()})
	cl, err := p.Create(ctx, platform.Topology{Regions: []platform.Region{zones("r", "a")}})
	if err != nil {
		t.Fatal(err)
	}
	c := cl.(*Cluster)
	defer c.Delete(context.Background())
	nodes, _ := c.Nodes(ctx)
	w := platform.Workers(nodes)[0].Name
	ready := func() bool {
		n, err := c.kube.CoreV1().Nodes().Get(ctx, w, metav1.GetOptions{})
		return err == nil && nodeReady(*n)
	}
	waitFor := func(want bool) time.Duration {
		start := time.Now()
		for ready() != want {
			if time.Since(start) > 3*time.Minute {
				t.Fatalf("%s still Ready=%v after 3m", w, !want)
			}
			time.Sleep(250 * time.Millisecond)
		}
		return time.Since(start)
	}
	if err := c.Pause(ctx, w); err != nil {
		t.Fatal(err)
	}
	notReady := waitFor(false)
	if err := c.Resume(ctx, w); err != nil {
		t.Fatal(err)
	}
	back := waitFor(true)
	t.Logf("pause: NotReady after %s; unpause: Ready after %s", notReady.Round(100*time.Millisecond), back.Round(100*time.Millisecond))
	if notReady > 30*time.Second {
		t.Errorf("NotReady after %s; the grace period is %s", notReady, NodeMonitorGracePeriod)
	}
}
