package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// RegionLatency installs a standing one-way latency between every two
// worker nodes of c in different regions (Topology.RegionLatency), so
// that multi-region engines on one machine see the distance they would
// see between real regions: a round trip between regions takes twice
// latency longer. It returns what removes it, which tolerates rules that
// are already gone (a restarted kind node comes back without them), and
// is safe to call more than once.
//
// It has the signature of local.Options.RegionLatency and
// kind.Options.RegionLatency. Its chains are named for the purpose "rl"
// and its delayers carry the cluster's process mark, so the platforms'
// heals find them after a crash. Latency faults between the same nodes
// add to it. Commands go to the log of ctx (ContextWithLog), if any, and
// so do the re-installations on restarted nodes; LoggedRegionLatency
// names a log instead. Errors carry no prefix: the platforms that call it
// add theirs.
func RegionLatency(ctx context.Context, c platform.Cluster, latency time.Duration) (remove func(context.Context) error, err error) {
	return LoggedRegionLatency(nil)(ctx, c, latency)
}

// LoggedRegionLatency returns RegionLatency writing the commands it runs,
// and what the delayers report, to log; a nil log means the log of ctx.
func LoggedRegionLatency(log *Log) func(ctx context.Context, c platform.Cluster, latency time.Duration) (func(context.Context) error, error) {
	return func(ctx context.Context, c platform.Cluster, latency time.Duration) (func(context.Context) error, error) {
		log := log
		if log == nil {
			log = LogFromContext(ctx)
		}
		if latency <= 0 || latency > MaxDelay {
			return nil, fmt.Errorf("%s must be in (0, %s]", latency, MaxDelay)
		}
		nc, ok := c.(platform.NetworkController)
		if !ok {
			return nil, fmt.Errorf("cluster %s cannot run commands in its nodes' network namespaces (platform.NetworkController)", c.Name())
		}
		if fs, ok := c.(platform.FaultSupport); ok {
			// On the local platform without a uid per node, node packets
			// all come from 127.0.0.1 and no rule could tell regions apart.
			if err := fs.CanInject(KindLatency); err != nil {
				return nil, err
			}
		}
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return nil, err
		}
		links := RegionLinks(platform.Workers(nodes))
		if len(links) == 0 {
			return func(context.Context) error { return nil }, nil
		}
		s := &shaper{c: c, nc: nc, prober: &netemProber{}, log: log, seed: 0x5eed}
		heal, mech, err := s.standing(ctx, "rl", "region latency", links, Shape{Delay: latency})
		if err != nil {
			return nil, err
		}
		log.Printf("region latency %s one-way between %d links, by %s", latency, len(links), mech)
		return heal, nil
	}
}

// RegionLinks lists both directions between every two nodes in different
// regions; nodes without a region are left out.
func RegionLinks(nodes []platform.Node) []Link {
	var links []Link
	for _, a := range nodes {
		for _, b := range nodes {
			if a.Region != "" && b.Region != "" && a.Region != b.Region {
				links = append(links, Link{Src: a, Dst: b})
			}
		}
	}
	return links
}
