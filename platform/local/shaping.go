package local

import "context"

// NetNSPath implements faults.NetNSPather: every node shares the network
// namespace faultline runs in, so the packet delayer runs there too.
func (c *Cluster) NetNSPath(ctx context.Context, node string) (string, error) { return "", nil }

// ProcessEnv implements faults.ProcessMarker: helper processes that
// faults start for the cluster (packet delayers) carry the cluster's mark,
// so that Heal stops them with the cluster's own processes after a crash.
func (c *Cluster) ProcessEnv() []string { return []string{envCluster + "=" + c.id} }
