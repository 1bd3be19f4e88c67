//go:build e2e

package kind

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/moby/moby/client"
)

// TestClusterE2E boots a three-zone cluster on the Docker daemon at
// FAULTLINE_DOCKER_HOST (default DOCKER_HOST) from FAULTLINE_NODE_IMAGE,
// and acts on a worker through every capability.
func TestClusterE2E(t *testing.T) {
	host, image := e2eDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := New(Options{DockerHost: host, NodeImage: image, Name: "fl-kind-e2e", StateDir: t.TempDir(), Log: testWriter{t}})
	topo := platform.Topology{Regions: []platform.Region{zones("region-1", "a", "b", "c")}}
	start := time.Now()
	cl, err := p.Create(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created in %s", time.Since(start).Round(time.Second))
	c := cl.(*Cluster)
	defer func() {
		if err := c.Delete(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	nodes, _ := c.Nodes(ctx)
	t.Logf("nodes: %+v", nodes)
	workers := platform.Workers(nodes)
	if len(workers) != 3 || workers[0].Zone != "a" || workers[2].Zone != "c" || workers[0].Addr == "" {
		t.Fatalf("workers = %+v", workers)
	}
	if !c.Owned() {
		t.Error("Owned() = false for a cluster faultline created")
	}
	w := workers[0].Name
	out, err := c.NetExec(ctx, w, "iptables", "-S", "INPUT")
	if err != nil {
		t.Fatalf("NetExec: %v", err)
	}
	t.Logf("iptables in %s: %s", w, strings.TrimSpace(string(out)))
	if _, err := c.NetExec(ctx, w, "false"); err == nil {
		t.Error("NetExec of false succeeded")
	}
	ns, err := c.NetNSPath(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns); err != nil {
		t.Errorf("NetNSPath %s: %v", ns, err)
	}
	nets, err := c.PodNetworks(ctx)
	if err != nil || len(nets[w]) == 0 {
		t.Errorf("PodNetworks = %v, %v", nets, err)
	}
	// An image of the daemon named by a scenario's override is copied
	// into the nodes; one the daemon lacks is left for the nodes to pull.
	const local = "fl-e2e/load-local:1"
	if _, err := c.docker.cli.ImageTag(ctx, client.ImageTagOptions{Source: "registry.k8s.io/pause:3.10", Target: local}); err != nil {
		t.Fatal(err)
	}
	defer c.docker.cli.ImageRemove(context.Background(), local, client.ImageRemoveOptions{})
	loaded, err := c.LoadLocalImages(ctx, local, "fl-e2e/not-held:1")
	if err != nil || len(loaded) != 1 || loaded[0] != local {
		t.Errorf("LoadLocalImages = %v, %v; want [%s]", loaded, err, local)
	}
	if out, err := c.NetExec(ctx, w, "ctr", "-n", "k8s.io", "images", "ls", "-q"); err != nil || !strings.Contains(string(out), "docker.io/"+local) {
		t.Errorf("node %s images after LoadLocalImages (%v):\n%s", w, err, out)
	}
	for _, step := range []struct {
		name string
		do   func(context.Context, string) error
		want string
	}{
		{"pause", c.Pause, "paused"}, {"resume", c.Resume, "running"},
		{"kill", c.Kill, "exited"}, {"kill again", c.Kill, "exited"}, {"start", c.Start, "running"},
		{"stop", c.Stop, "exited"}, {"start", c.Start, "running"},
	} {
		if err := step.do(ctx, w); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		nc, err := c.docker.inspect(ctx, w)
		if err != nil || string(nc.status) != step.want {
			t.Fatalf("after %s: %s, %v; want %s", step.name, nc.status, err, step.want)
		}
	}
	if err := c.Kill(ctx, nodes[0].Name); err == nil {
		t.Error("Kill of the control plane was accepted")
	}
	// The restarted node comes back Ready at the same address.
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	again, err := waitNodes(wctx, c.kube)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := platform.Find(again, w); n.Addr != workers[0].Addr {
		t.Errorf("%s came back at %s, was %s", w, n.Addr, workers[0].Addr)
	}
	// The same cluster seen through platform existing: zones from the
	// labels, not owned, destructive faults refused.
	ex, err := existing.New(existing.Options{Kubeconfig: c.Kubeconfig(), Context: c.Context()}).Create(ctx, topo)
	if err != nil {
		t.Fatalf("existing: %v", err)
	}
	exNodes, _ := ex.Nodes(ctx)
	if ws := platform.Workers(exNodes); len(ws) != 3 || ws[1].Zone != "b" || ws[1].Addr != workers[1].Addr {
		t.Errorf("existing sees workers %+v", ws)
	}
	if ex.(platform.Owned).Owned() || ex.(platform.FaultSupport).CanInject("kill") == nil {
		t.Error("existing owns the cluster or allows a kill without permission")
	}
	// Heal of a cluster in use leaves it alone; a frozen node of a
	// released cluster is thawed and faultline's chains are removed.
	var buf strings.Builder
	if err := HealState(ctx, p.opts.StateDir, &buf); err != nil || !strings.Contains(buf.String(), "in use") {
		t.Errorf("heal of a cluster in use: %v: %s", err, buf.String())
	}
	for _, argv := range [][]string{
		{"iptables", "-N", "FL-deadbeef-p1"},
		{"iptables", "-A", "FL-deadbeef-p1", "-s", "192.0.2.1", "-j", "DROP"},
		{"iptables", "-I", "INPUT", "-j", "FL-deadbeef-p1"},
	} {
		if _, err := c.NetExec(ctx, workers[1].Name, argv...); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Pause(ctx, w); err != nil {
		t.Fatal(err)
	}
	c.lock.Close()
	buf.Reset()
	if err := HealState(ctx, p.opts.StateDir, &buf); err != nil {
		t.Errorf("heal: %v: %s", err, buf.String())
	}
	t.Logf("heal: %s", buf.String())
	if nc, _ := c.docker.inspect(ctx, w); nc.paused {
		t.Error("heal left the node paused")
	}
	if out, _ := c.NetExec(ctx, workers[1].Name, "iptables", "-S"); strings.Contains(string(out), "FL-") {
		t.Errorf("heal left chains:\n%s", out)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
