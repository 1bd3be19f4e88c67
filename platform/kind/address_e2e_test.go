//go:build e2e

package kind

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/faultline-dev/faultline/platform"
)

// TestKilledNodeKeepsItsAddressWhileAnotherClusterIsCreated: a node of
// cluster A is killed, cluster B is created meanwhile, and A's node is
// started again. Docker releases a stopped container's address, so a
// container created in the meantime on the same network may be given it
// (its allocator hands out released addresses once it wraps around), and
// A's node then fails to start with "Address already in use". The test
// does not wait for the allocator's luck: it asks for A's address
// outright on every network of B's nodes, as a container of B's. Each
// cluster's nodes being on a network of their own, that address is not
// B's to take, and A's node comes back with its address.
//
// The clusters are named FAULTLINE_E2E_CLUSTER-a and -b (default
// fl-addr-a and fl-addr-b).
func TestKilledNodeKeepsItsAddressWhileAnotherClusterIsCreated(t *testing.T) {
	host, image := e2eDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	prefix := os.Getenv("FAULTLINE_E2E_CLUSTER")
	if prefix == "" {
		prefix = "fl-addr"
	}
	topo := platform.Topology{Regions: []platform.Region{zones("region-1", "a")}}
	state := t.TempDir()
	create := func(name string) *Cluster {
		t.Helper()
		start := time.Now()
		p := New(Options{DockerHost: host, NodeImage: image, Name: name, StateDir: state, Log: testWriter{t}})
		cl, err := p.Create(ctx, topo)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("created %s in %s", name, time.Since(start).Round(time.Second))
		c := cl.(*Cluster)
		t.Cleanup(func() {
			if err := c.Delete(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return c
	}

	a := create(prefix + "-a")
	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := platform.Workers(nodes)[0]
	addr := netip.MustParseAddr(w.Addr)
	if err := a.Kill(ctx, w.Name); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s (%s)", w.Name, addr)

	b := create(prefix + "-b")
	bNodes, err := b.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := b.docker.cli.ContainerInspect(ctx, platform.Workers(bNodes)[0].Name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for netName := range ins.Container.NetworkSettings.Networks {
		squatter := prefix + "-b-squatter"
		_, err := b.docker.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:             squatter,
			Config:           &container.Config{Image: image, Entrypoint: []string{"sleep", "600"}},
			NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: addr}}}},
		})
		if err == nil {
			t.Cleanup(func() {
				b.docker.cli.ContainerRemove(context.Background(), squatter, client.ContainerRemoveOptions{Force: true})
			})
			_, err = b.docker.cli.ContainerStart(ctx, squatter, client.ContainerStartOptions{})
		}
		if err == nil {
			t.Logf("a container on %s, the network of %s's nodes, was given %s, the address of %s's stopped node", netName, b.name, addr, a.name)
		} else {
			t.Logf("a container on %s cannot have %s: %v", netName, addr, err)
		}
	}

	if err := a.Start(ctx, w.Name); err != nil {
		t.Fatalf("start %s again after %s was created: %v", w.Name, b.name, err)
	}
	after, err := a.docker.cli.ContainerInspect(ctx, w.Name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for netName, ep := range after.Container.NetworkSettings.Networks {
		t.Logf("%s on %s: %s", w.Name, netName, ep.IPAddress)
		kept = kept || ep.IPAddress == addr
	}
	if !kept {
		t.Fatalf("%s did not keep its address %s", w.Name, addr)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	if _, err := waitNodes(wctx, a.kube); err != nil {
		t.Fatalf("%s after its restart: %v", a.name, err)
	}

	// A cluster's own network goes with it.
	own := a.opts.network(a.name)
	if err := a.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if own.Cluster != "" {
		if _, err := b.docker.cli.NetworkInspect(ctx, own.Name, client.NetworkInspectOptions{}); err == nil {
			t.Errorf("network %s is left after %s was deleted", own.Name, a.name)
		}
	}
}
