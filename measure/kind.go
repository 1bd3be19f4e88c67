package measure

import (
	"context"
	"errors"
	"fmt"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// KindSampler samples a cluster of node containers that runs Kubernetes
// (kind): per node, the container's cgroup counters from the Docker API
// (CPU, working set, block I/O); per pod, the kubelet's summary statistics
// read through the API server's node proxy (CPU, working set, persistent
// volume usage); and bytes between nodes by zone class from accounting
// rules in each node's network namespace, counting traffic to the node's
// address and to its pod CIDR.
//
// A node's DataBytes is the persistent-volume usage of the sampled pods on
// it. Pod samples carry no disk or network figures (the summary API has
// none per zone class), and say so in Unmeasured.
type KindSampler struct {
	docker     *Docker
	kube       *Kube
	nodes      []kindNode
	acct       *Accounting
	notes      []string
	namespaces map[string]bool
}

type kindNode struct {
	platform.Node
	container string
	kubeName  string
}

// KindOption configures a KindSampler.
type KindOption func(*kindConfig)

type kindConfig struct {
	namespaces []string
	container  func(platform.Node, KubeNode) string
	docker     *Docker
	noNet      bool
}

// WithPodNamespaces samples only pods in these namespaces. By default
// every pod is sampled except those of kube-system and
// local-path-storage, which are the cluster's, not the engine's.
func WithPodNamespaces(ns ...string) KindOption {
	return func(c *kindConfig) { c.namespaces = ns }
}

// WithContainerName names the Docker container of a node. By default it
// is the Kubernetes node name, as kind names them.
func WithContainerName(f func(platform.Node, KubeNode) string) KindOption {
	return func(c *kindConfig) { c.container = f }
}

// WithDockerClient uses d instead of a client for DOCKER_HOST.
func WithDockerClient(d *Docker) KindOption { return func(c *kindConfig) { c.docker = d } }

// WithoutKindNetAccounting installs no accounting rules.
func WithoutKindNetAccounting() KindOption { return func(c *kindConfig) { c.noNet = true } }

// NewKindSampler prepares to sample c, which must implement
// platform.Kubernetes, and installs byte accounting in each node when c
// implements platform.NetworkController; Close removes it.
func NewKindSampler(ctx context.Context, c platform.Cluster, opts ...KindOption) (*KindSampler, error) {
	k8s, ok := c.(platform.Kubernetes)
	if !ok {
		return nil, fmt.Errorf("kind sampler: cluster %s does not run Kubernetes", c.Name())
	}
	cfg := kindConfig{container: func(_ platform.Node, k KubeNode) string { return k.Name }}
	for _, o := range opts {
		o(&cfg)
	}
	kube, err := NewKube(k8s.Kubeconfig(), k8s.Context())
	if err != nil {
		return nil, fmt.Errorf("kind sampler: %w", err)
	}
	d := cfg.docker
	if d == nil {
		if d, err = NewDocker(); err != nil {
			return nil, fmt.Errorf("kind sampler: %w", err)
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("kind sampler: list nodes: %w", err)
	}
	kns, err := kube.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("kind sampler: %w", err)
	}
	s := &KindSampler{docker: d, kube: kube}
	if len(cfg.namespaces) > 0 {
		s.namespaces = map[string]bool{}
		for _, n := range cfg.namespaces {
			s.namespaces[n] = true
		}
	}
	extra := map[string][]string{}
	for _, n := range platform.Workers(nodes) {
		kn, ok := matchKubeNode(n, kns)
		if !ok {
			return nil, fmt.Errorf("kind sampler: node %s (%s) is not among the API server's nodes", n.Name, n.Addr)
		}
		s.nodes = append(s.nodes, kindNode{Node: n, container: cfg.container(n, kn), kubeName: kn.Name})
		extra[n.Name] = kn.PodCIDRs
	}
	nc, ok := c.(platform.NetworkController)
	switch {
	case cfg.noNet:
		s.notes = append(s.notes, "network bytes not measured: accounting turned off")
	case !ok:
		s.notes = append(s.notes, "network bytes not measured: the platform cannot run commands in node namespaces")
	default:
		var ws []platform.Node
		for _, n := range s.nodes {
			ws = append(ws, n.Node)
		}
		a := NewAccounting(AccountingConfig{Name: c.Name(), Nodes: ws, Exec: nc.NetExec, Namespace: nc.NetNamespace, Extra: extra})
		if err := a.Install(ctx); err != nil {
			_ = a.Remove(ctx)
			s.notes = append(s.notes, fmt.Sprintf("network bytes not measured: %v", err))
		} else {
			s.acct = a
		}
	}
	return s, nil
}

// matchKubeNode finds the Kubernetes node of a platform node: by address,
// which both sides know, else by name.
func matchKubeNode(n platform.Node, kns []KubeNode) (KubeNode, bool) {
	for _, k := range kns {
		if n.Addr != "" && k.InternalIP == n.Addr {
			return k, true
		}
	}
	for _, k := range kns {
		if k.Name == n.Name {
			return k, true
		}
	}
	return KubeNode{}, false
}

// Notes says what the sampler cannot measure, and why.
func (s *KindSampler) Notes() []string { return append([]string(nil), s.notes...) }

// Close removes the accounting rules.
func (s *KindSampler) Close(ctx context.Context) error {
	if s.acct == nil {
		return nil
	}
	return s.acct.Remove(ctx)
}

// Sample reads every node container and every sampled pod now. A node
// whose container is stopped yields a node sample with Up false; its
// kubelet, being in it, has no summary to give.
func (s *KindSampler) Sample(ctx context.Context) ([]workload.Sample, error) {
	var errs []error
	var net map[string]NetClass
	if s.acct != nil {
		t, err := s.acct.Read(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		var ns []platform.Node
		for _, n := range s.nodes {
			ns = append(ns, n.Node)
		}
		net = Classify(ns, t)
	}
	var out []workload.Sample
	for _, n := range s.nodes {
		ns := workload.Sample{Node: n.Name, Zone: n.Zone, Region: n.Region}
		cs, err := s.docker.Stats(ctx, n.container)
		if err != nil {
			errs = append(errs, fmt.Errorf("kind sampler: node %s: %w", n.Name, err))
		}
		nodeSample(&ns, cs)
		if s.acct == nil {
			ns.Unmeasured = append(ns.Unmeasured, CounterNet)
		} else {
			c := net[n.Name]
			ns.NetSameZoneBytes, ns.NetCrossZoneBytes, ns.NetCrossRegionBytes = c.SameZone, c.CrossZone, c.CrossRegion
		}
		if cs.Running {
			sum, err := s.kube.Summary(ctx, n.kubeName)
			if err != nil {
				errs = append(errs, fmt.Errorf("kind sampler: node %s: %w", n.Name, err))
				ns.Unmeasured = append(ns.Unmeasured, CounterData)
			} else {
				pods := PodSamples(n.Node, sum, s.namespaces)
				for _, p := range pods {
					ns.DataBytes += p.DataBytes
				}
				out = append(out, pods...)
			}
		}
		out = append(out, ns)
	}
	return out, errors.Join(errs...)
}

// nodeSample fills a node's sample from its container's statistics.
func nodeSample(s *workload.Sample, cs ContainerStats) {
	s.Up = cs.Running
	if !cs.Running {
		return
	}
	s.CPUSeconds = cs.CPUSeconds
	s.MemoryBytes = cs.WorkingSetBytes
	s.DiskReadBytes, s.DiskWriteBytes = cs.ReadBytes, cs.WriteBytes
	s.DiskReadOps, s.DiskWriteOps = cs.ReadOps, cs.WriteOps
	if !cs.DiskMeasured {
		s.Unmeasured = append(s.Unmeasured, CounterDisk)
	}
}

// isSystemNamespace says whether ns holds the cluster's own pods rather
// than the engine's.
func isSystemNamespace(ns string) bool {
	return ns == "kube-system" || ns == "local-path-storage"
}

// PodSamples turns a kubelet summary into one sample per pod of the
// given namespaces (nil: every namespace but the cluster's own), named
// "namespace/name", on node n.
func PodSamples(n platform.Node, sum Summary, namespaces map[string]bool) []workload.Sample {
	var out []workload.Sample
	for _, p := range sum.Pods {
		ns := p.PodRef.Namespace
		if namespaces != nil && !namespaces[ns] || namespaces == nil && isSystemNamespace(ns) {
			continue
		}
		out = append(out, workload.Sample{
			Node:        n.Name,
			Pod:         ns + "/" + p.PodRef.Name,
			Zone:        n.Zone,
			Region:      n.Region,
			Up:          true,
			CPUSeconds:  float64(p.CPU.UsageCoreNanoSeconds) / 1e9,
			MemoryBytes: int64(p.Memory.WorkingSetBytes),
			DataBytes:   p.PersistentBytes(),
			Unmeasured:  []string{CounterDisk, CounterNet},
		})
	}
	return out
}
