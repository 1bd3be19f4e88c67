// Package local is the embedded platform: every node is a loopback address
// (127.X.Y.K) on this machine running engine processes, so a multi-zone
// cluster needs nothing but the faultline binary.
//
// As root, each node's process runs as its own uid, and a nat chain that
// faultline owns rewrites the source address of that uid's loopback
// traffic to the node's address. Packets between nodes then carry node
// addresses, which is what lets iptables rules in INPUT cut exactly the
// links a partition names while the harness (127.0.0.1) still reaches every
// node. Without root, nodes run as the current user and partitions are
// unavailable.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// Name is the platform's name in scenarios.
const Name = "local"

// Options configure the local platform. The zero value is ready to use.
type Options struct {
	// WorkDir is where each cluster gets its own directory (data, logs,
	// the node executable); empty is the system's temporary directory.
	// As root, every directory above it must be searchable by other
	// users, because node processes run as their own uids.
	WorkDir string
	// Retain keeps a cluster's directory after Delete, for inspection.
	Retain bool
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL;
	// zero is 10s.
	StopGrace time.Duration
	// Executable is the binary that agent processes run; empty is this
	// program (os.Executable), which must call agent.Main first thing.
	Executable string
	// NoIsolation runs nodes as the current user even as root: no uid per
	// node, no source-address rewriting, and so no partitions.
	NoIsolation bool
	// RegionLatency installs the topology's standing latency between
	// regions (Topology.RegionLatency) when a cluster is created, and
	// returns what removes it, which Delete runs. The shaping package
	// provides it; without it, a topology with region latency is refused.
	RegionLatency func(ctx context.Context, c platform.Cluster, latency time.Duration) (remove func(context.Context) error, err error)
}

// Platform creates local clusters.
type Platform struct {
	opts Options

	once   sync.Once
	iptErr error // why iptables cannot be used, found once
}

// New returns the local platform.
func New(opts Options) *Platform {
	if opts.StopGrace <= 0 {
		opts.StopGrace = 10 * time.Second
	}
	return &Platform{opts: opts}
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return Name }

// Capabilities implements platform.Describer: engine processes on
// loopback addresses, signalled and cut off by faultline.
func (p *Platform) Capabilities() platform.Capabilities {
	return platform.Capabilities{Processes: true, NodeControl: true, Network: true}
}

// CanInject implements platform.FaultSupport. Node faults are signals and
// always work; network faults need root, iptables, and the per-node uids
// that give each node's traffic its own source address.
//
// The kinds are package faults' names; they are spelled out here because
// faults depends on platforms, not the other way round.
func (p *Platform) CanInject(kind string) error {
	return canInject(kind, p.opts.NoIsolation, p.iptables)
}

// FaultMechanism implements platform.MechanismNamer: faults signal the
// nodes' processes and install iptables and tc rules on the host.
func (p *Platform) FaultMechanism() string { return "process" }

// iptables reports, once, why iptables cannot be used, if it cannot.
func (p *Platform) iptables() error {
	p.once.Do(func() { p.iptErr = probeIptables() })
	return p.iptErr
}

func canInject(kind string, noIsolation bool, iptables func() error) error {
	switch kind {
	case "kill", "stop", "pause", "restart", "zone-outage", "region-outage":
		return nil
	case "partition", "latency", "loss", "bandwidth":
	default:
		return fmt.Errorf("fault kind %q is unknown to platform local", kind)
	}
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("%s on platform local needs root (CAP_NET_ADMIN) to install iptables rules and to run each node as its own uid; running as uid %d", kind, uid)
	}
	if noIsolation {
		return fmt.Errorf("%s on platform local needs each node to run as its own uid so that its traffic carries its own address; the platform was configured with NoIsolation", kind)
	}
	if err := iptables(); err != nil {
		return fmt.Errorf("%s on platform local: %w", kind, err)
	}
	return nil
}

// probeIptables checks that iptables exists and can read the nat table,
// which the source-address rewriting needs.
func probeIptables() error {
	path, err := exec.LookPath("iptables")
	if err != nil {
		return errors.New("iptables is not installed (apt-get install iptables)")
	}
	argv := []string{path, "-w", "5", "-t", "nat", "-S", "POSTROUTING"}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables cannot read the nat table: %w", &platform.CommandError{Argv: argv, Output: out, Err: err})
	}
	return nil
}

// isolate reports whether clusters run each node as its own uid.
func (p *Platform) isolate() bool {
	return os.Geteuid() == 0 && !p.opts.NoIsolation
}

// Create implements platform.Platform: it reserves an address block,
// makes the cluster directory and, as root, installs the nat chain that
// gives each node's traffic its own source address. Processes start later,
// when an engine calls Run.
func (p *Platform) Create(ctx context.Context, t platform.Topology) (platform.Cluster, error) {
	layout := t.Layout()
	if len(layout) == 0 {
		return nil, errors.New("local: create: the topology has no nodes")
	}
	if len(layout) > maxNodes {
		return nil, fmt.Errorf("local: create: %d nodes; the local platform gives each node an address in one /24 and takes at most %d", len(layout), maxNodes)
	}
	if t.RegionLatency > 0 && p.opts.RegionLatency == nil {
		return nil, fmt.Errorf("local: create: the topology asks for %s between regions, and this build cannot shape traffic (no RegionLatency in local.Options)", t.RegionLatency)
	}
	c, err := newCluster(ctx, p.opts, layout, p.isolate())
	if err != nil {
		return nil, fmt.Errorf("local: create: %w", err)
	}
	if t.RegionLatency > 0 {
		remove, err := p.opts.RegionLatency(ctx, c, t.RegionLatency)
		if err != nil {
			c.Delete(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("local: create: region latency: %w", err)
		}
		c.removeLatency = remove
	}
	return c, nil
}
