// Package kind is the platform of Kubernetes-in-Docker clusters: kind
// node containers labelled with zones and regions, created through kind's
// library (no kind binary), whose nodes faultline kills, stops and freezes
// through the Docker Engine API and whose network namespaces it shapes
// with iptables, tc and its own packet delayer.
//
// kind's library drives the docker command-line client with this
// process's environment, so a process talks to one Docker daemon: when
// Options.DockerHost is set, New sets DOCKER_HOST to it, and Create sets
// KIND_EXPERIMENTAL_DOCKER_NETWORK to Options.Network.
package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/faultline-dev/faultline/platform"
)

// Name is the platform's name in scenarios.
const Name = "kind"

// DefaultClusterName names clusters when Options.Name is empty.
const DefaultClusterName = "faultline"

// Defaults of the node network (Options.Network, Options.NetworkSubnet).
const (
	// DefaultNetwork prefixes the Docker network each cluster gets for
	// its nodes (faultline-kind-NAME), and is the shared network of
	// clusters created before networks were per cluster.
	DefaultNetwork = "faultline-kind"
	// DefaultNetworkPool holds the subnets of the clusters' networks: each
	// gets the first /24 of it that no network of the daemon overlaps.
	// It lies in 10.250.0.0/16, which platform/dockerd routes from the
	// host to its daemon's containers, away from what that daemon uses by
	// itself (10.250.0.0/17 for networks, 10.250.128.0/24 for its default
	// bridge, the last addresses of 10.250.255.0/24 for its link to the
	// host, whose /24 is left out).
	DefaultNetworkPool = "10.250.192.0/18"
	// DefaultNetworkSubnet is the subnet of a shared Options.Network
	// faultline creates when Options.NetworkSubnet is empty.
	DefaultNetworkSubnet = "10.250.240.0/24"
)

// Options configure the kind platform.
type Options struct {
	// DockerHost is the Docker daemon that runs the node containers
	// ("unix:///run/faultline/docker.sock"); empty is DOCKER_HOST, else
	// the default socket. The daemon must be able to run privileged
	// containers (platform/dockerd provides one that can on hosts that
	// cannot).
	DockerHost string
	// NodeImage is the kind node image; empty is kind's default for its
	// version (which needs a registry).
	NodeImage string
	// Name names the cluster (and prefixes its node containers); empty is
	// DefaultClusterName.
	Name string
	// Reuse uses a cluster of that name if one exists instead of failing,
	// and Delete then leaves it running for the next run.
	Reuse bool
	// Retain keeps the cluster after Delete, and its node containers
	// after a failed create, for inspection.
	Retain bool
	// RegionLatency installs the topology's standing latency between
	// regions (Topology.RegionLatency) when a cluster is created, and
	// returns what removes it, which Delete runs: faults.RegionLatency.
	// Without it, a topology with region latency is refused.
	RegionLatency func(ctx context.Context, c platform.Cluster, latency time.Duration) (remove func(context.Context) error, err error)
	// KubeletPatches are kubeadm configuration patches every node gets
	// after faultline's own (see Config), as kind's
	// kubeadmConfigPatches take them.
	KubeletPatches []string
	// StateDir is where faultline remembers the clusters it created (the
	// mark Heal and Owned go by) and keeps their kubeconfigs; empty is
	// $XDG_STATE_HOME/faultline/kind or ~/.local/state/faultline/kind.
	StateDir string
	// ReadyTimeout bounds the wait for every node to be Ready after
	// create; zero is 5 minutes.
	ReadyTimeout time.Duration
	// LoadImages are images of the Docker daemon copied into every node
	// once the cluster is up (on a reused cluster too), for engines'
	// pods to run without a registry: the etcd image, say.
	LoadImages []string
	// Images maps official image references to local images that stand
	// in for them (built by `faultline images build`). The local images
	// are loaded into every node like LoadImages, and the cluster's
	// MapImage hands them to engines in place of the official ones.
	Images map[string]string
	// LazyImages are stand-ins like Images that MapImage hands out too,
	// but that are loaded into the nodes only when whoever deploys them
	// asks (LoadImages, platform.ImageLoader): big images few runs need,
	// such as Chaos Mesh's, do not slow down every cluster's creation.
	LazyImages map[string]string
	// Network is a Docker network the nodes share with other clusters,
	// created with NetworkSubnet (default DefaultNetworkSubnet) unless it
	// exists. Empty, the default, gives each cluster a network of its own
	// (DefaultNetwork-NAME, labelled with the cluster's name, removed
	// with the cluster), so that no other cluster's node can take the
	// address of a node that is down: a node started again is
	// re-attached with its old address, which Docker releases while the
	// node is stopped, and a node whose address changed is a different
	// node to etcd's peers and to the cluster's Node list. The subnet
	// must be configured (not from the daemon's pools) for a node to keep
	// its address; kind's own "kind" network's is not. kind's library
	// takes the network from KIND_EXPERIMENTAL_DOCKER_NETWORK, which
	// Create sets.
	Network string
	// NetworkSubnet is the IPv4 subnet of the network faultline creates:
	// for a network of the cluster's own, empty is the first free /24 of
	// DefaultNetworkPool. The harness must reach it (it talks to the API
	// server and the engines at node addresses).
	NetworkSubnet string
	// Log receives kind's progress lines; nil discards them.
	Log io.Writer
}

// Platform creates kind clusters.
type Platform struct {
	opts Options
}

var (
	_ platform.Platform     = (*Platform)(nil)
	_ platform.FaultSupport = (*Platform)(nil)
)

// New returns the kind platform. It sets DOCKER_HOST when
// opts.DockerHost is set (see the package documentation).
func New(opts Options) *Platform {
	if opts.Name == "" {
		opts.Name = DefaultClusterName
	}
	if opts.StateDir == "" {
		opts.StateDir = defaultStateDir()
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 5 * time.Minute
	}
	if opts.DockerHost != "" && os.Getenv("DOCKER_HOST") != opts.DockerHost {
		os.Setenv("DOCKER_HOST", opts.DockerHost)
	}
	return &Platform{opts: opts}
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return Name }

// Capabilities implements platform.Describer: Kubernetes on node
// containers faultline can stop and whose network namespaces it enters.
func (p *Platform) Capabilities() platform.Capabilities { return capabilities }

// FaultMechanism implements platform.MechanismNamer: faults act on the
// node containers through Docker.
func (p *Platform) FaultMechanism() string { return "docker" }

var capabilities = platform.Capabilities{Kubernetes: true, NodeControl: true, Network: true}

// CanInject implements platform.FaultSupport: node containers can be
// killed, stopped and frozen, and each node has its own network namespace
// in which iptables, tc and the packet delayer work, so every kind of
// fault can be injected.
func (p *Platform) CanInject(kind string) error { return canInject(kind) }

func canInject(kind string) error {
	switch kind {
	case "kill", "stop", "pause", "restart", "zone-outage", "region-outage",
		"partition", "latency", "loss", "bandwidth":
		return nil
	}
	return fmt.Errorf("fault kind %q is unknown to platform kind", kind)
}

func (p *Platform) provider() *kindcluster.Provider {
	var logger kindlog.Logger = kindlog.NoopLogger{}
	if p.opts.Log != nil {
		logger = writerLogger{p.opts.Log}
	}
	return kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(logger))
}

// Create implements platform.Platform: it creates (or, with Reuse,
// reuses) a cluster with topology t, waits until every node is Ready, and
// installs the topology's region latency.
func (p *Platform) Create(ctx context.Context, t platform.Topology) (platform.Cluster, error) {
	if t.Size() == 0 {
		return nil, errors.New("kind: create: the topology has no nodes")
	}
	if t.RegionLatency > 0 && p.opts.RegionLatency == nil {
		return nil, fmt.Errorf("kind: create: the topology asks for %s between regions, and this build cannot shape traffic (no RegionLatency in kind.Options)", t.RegionLatency)
	}
	c, err := p.CreateConfig(ctx, Config(t, p.opts.KubeletPatches))
	if err != nil {
		return nil, err
	}
	if t.RegionLatency > 0 {
		remove, err := p.opts.RegionLatency(ctx, c, t.RegionLatency)
		if err != nil {
			c.Delete(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("kind: create: region latency: %w", err)
		}
		c.removeLatency = remove
	}
	return c, nil
}

// CreateConfig creates (or, with Reuse, reuses) a cluster from a kind
// configuration (see Config and LoadConfig) and waits until every node is
// Ready. A cluster of the same name that exists is an error unless
// Options.Reuse. The returned cluster holds a lock that keeps other
// faultline processes from using it until Delete or Close.
func (p *Platform) CreateConfig(ctx context.Context, cfg *v1alpha4.Cluster) (*Cluster, error) {
	name := p.opts.Name
	if _, err := TopologyOf(cfg); err != nil {
		return nil, fmt.Errorf("kind: create %s: config %w", name, err)
	}
	st := state{dir: p.opts.StateDir}
	lock, err := st.lock(name)
	if err != nil {
		return nil, fmt.Errorf("kind: create %s: %w", name, err)
	}
	release := func() { lock.Close() }
	prov := p.provider()
	existing, err := prov.List()
	if err != nil {
		release()
		return nil, fmt.Errorf("kind: list clusters: %w", err)
	}
	created := false
	switch {
	case slices.Contains(existing, name) && !p.opts.Reuse:
		release()
		return nil, fmt.Errorf("kind: create: a cluster named %s exists (reuse it, or delete it with `faultline cluster down --name %s`)", name, name)
	case !slices.Contains(existing, name):
		if err := p.createCluster(ctx, prov, st, name, cfg); err != nil {
			release()
			return nil, err
		}
		created = true
	}
	c, err := open(ctx, p.opts, prov, st, name)
	if err != nil {
		if created && !p.opts.Retain {
			prov.Delete(name, st.kubeconfig(name))
			st.remove(name)
		}
		release()
		return nil, fmt.Errorf("kind: create %s: %w", name, err)
	}
	c.lock, c.created = lock, created
	load := slices.Clone(p.opts.LoadImages)
	for _, local := range p.opts.Images {
		if !slices.Contains(load, local) {
			load = append(load, local)
		}
	}
	slices.Sort(load)
	if err := c.LoadImages(ctx, load...); err != nil {
		c.Delete(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}

// createCluster runs kind's create, recording the cluster first so that
// a create that crashes half-way is still known to be faultline's. It
// first makes sure the host's inotify limit lets the nodes start.
func (p *Platform) createCluster(ctx context.Context, prov *kindcluster.Provider, st state, name string, cfg *v1alpha4.Cluster) error {
	if err := ensureInotify(p.opts.Log); err != nil {
		return err
	}
	if err := st.write(record{Name: name, DockerHost: os.Getenv("DOCKER_HOST"), Created: time.Now().UTC(), PID: os.Getpid()}); err != nil {
		return fmt.Errorf("kind: create %s: %w", name, err)
	}
	d, err := newDocker(p.opts.DockerHost)
	if err != nil {
		return err
	}
	nw := p.opts.network(name)
	err = d.ensureNetwork(ctx, nw)
	d.close()
	if err != nil {
		return fmt.Errorf("kind: create %s: %w", name, err)
	}
	os.Setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", nw.Name)
	opts := []kindcluster.CreateOption{
		kindcluster.CreateWithV1Alpha4Config(cfg),
		kindcluster.CreateWithRetain(p.opts.Retain),
		kindcluster.CreateWithWaitForReady(p.opts.ReadyTimeout),
		kindcluster.CreateWithKubeconfigPath(st.kubeconfig(name)),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	}
	if p.opts.NodeImage != "" {
		opts = append(opts, kindcluster.CreateWithNodeImage(p.opts.NodeImage))
	}
	// kind's create takes no context: it runs to its own end (bounded by
	// ReadyTimeout) even when ctx is cancelled.
	if err := prov.Create(name, opts...); err != nil {
		if !p.opts.Retain {
			st.remove(name)
			p.removeNetwork(context.WithoutCancel(ctx), name)
		}
		return fmt.Errorf("kind: create %s: %w", name, err)
	}
	return ctx.Err()
}

// removeNetwork removes the network of cluster name's own, if it has
// one and it exists.
func (p *Platform) removeNetwork(ctx context.Context, name string) error {
	d, err := newDocker(p.opts.DockerHost)
	if err != nil {
		return err
	}
	defer d.close()
	return d.removeNetwork(ctx, p.opts.network(name))
}

// writerLogger is kind's logger writing to w.
type writerLogger struct{ w io.Writer }

func (l writerLogger) Warn(m string)                      { fmt.Fprintln(l.w, m) }
func (l writerLogger) Warnf(f string, a ...interface{})   { fmt.Fprintf(l.w, f+"\n", a...) }
func (l writerLogger) Error(m string)                     { fmt.Fprintln(l.w, m) }
func (l writerLogger) Errorf(f string, a ...interface{})  { fmt.Fprintf(l.w, f+"\n", a...) }
func (l writerLogger) V(kindlog.Level) kindlog.InfoLogger { return l }
func (l writerLogger) Info(m string)                      { fmt.Fprintln(l.w, m) }
func (l writerLogger) Infof(f string, a ...interface{})   { fmt.Fprintf(l.w, f+"\n", a...) }
func (l writerLogger) Enabled() bool                      { return true }

// DeleteCluster deletes the cluster named in Options.Name, which
// faultline must have created and no faultline process may be using, and
// forgets it.
func (p *Platform) DeleteCluster(ctx context.Context) error {
	name := p.opts.Name
	st := state{dir: p.opts.StateDir}
	rec, ok := st.read(name)
	if !ok {
		return fmt.Errorf("kind: delete %s: faultline did not create a cluster of that name (no record in %s)", name, st.clusterDir(name))
	}
	if p.opts.DockerHost == "" && rec.DockerHost != "" {
		// The cluster lives on the daemon that created it (faultline's
		// own, say), whatever DOCKER_HOST says now.
		os.Setenv("DOCKER_HOST", rec.DockerHost)
	}
	lock, err := st.lock(name)
	if err != nil {
		return fmt.Errorf("kind: delete %s: %w", name, err)
	}
	defer lock.Close()
	if err := p.provider().Delete(name, st.kubeconfig(name)); err != nil {
		return fmt.Errorf("kind: delete %s: %w", name, err)
	}
	if err := p.removeNetwork(ctx, name); err != nil {
		return fmt.Errorf("kind: delete %s: %w", name, err)
	}
	if err := st.remove(name); err != nil {
		return fmt.Errorf("kind: delete %s: %w", name, err)
	}
	return ctx.Err()
}
