// Package existing is the platform of Kubernetes clusters faultline did
// not create (EKS, GKE, AKS, a colleague's kind): a kubeconfig and a
// context, with zones and regions read from the nodes' labels. faultline
// never deletes such a cluster and refuses destructive faults on it unless
// the user allowed them by naming its context.
package existing

import (
	"context"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Name is the platform's name in scenarios.
const Name = "existing"

// Node labels the platform reads.
const (
	LabelZone   = kube.LabelZone
	LabelRegion = kube.LabelRegion
)

// Options configure the existing platform.
type Options struct {
	// Kubeconfig is the kubeconfig file; empty is the default loading
	// rules ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string
	// Context is the context to use; empty is the kubeconfig's current
	// context.
	Context string
	// AllowDestructive must name Context for faults that harm the
	// cluster (every fault kind) to be allowed on it: a deliberate act
	// per cluster, never a blanket switch.
	AllowDestructive string
}

// Platform connects to an existing cluster.
type Platform struct {
	opts Options
}

var (
	_ platform.Platform        = (*Platform)(nil)
	_ platform.FaultSupport    = (*Platform)(nil)
	_ platform.FaultPermission = (*Platform)(nil)
)

// New returns the existing platform.
func New(opts Options) *Platform { return &Platform{opts: opts} }

// Name implements platform.Platform.
func (p *Platform) Name() string { return Name }

// Capabilities implements platform.Describer: Kubernetes only; the
// machines are out of faultline's reach.
func (p *Platform) Capabilities() platform.Capabilities {
	return platform.Capabilities{Kubernetes: true}
}

// CanInject implements platform.FaultSupport: faultline cannot reach the
// machines or network namespaces of a cluster it did not create, so the
// platform's own mechanisms inject nothing; faults reach it through Chaos
// Mesh and the Kubernetes API (see package faults' injectors).
func (p *Platform) CanInject(kind string) error { return canInject(kind) }

// PermitFaults implements platform.FaultPermission: every fault harms the
// cluster, so each is refused unless Options.AllowDestructive names the
// context.
func (p *Platform) PermitFaults() error {
	return permitFaults(p.opts.Context, p.opts.AllowDestructive)
}

func canInject(kind string) error {
	return fmt.Errorf("%s by the platform's own means needs the nodes' machines or network namespaces, which platform existing cannot reach; use Chaos Mesh (via: chaos-mesh) or the Kubernetes API, or kind", kind)
}

func permitFaults(context, allow string) error {
	if context == "" || allow != context {
		return fmt.Errorf("faults are destructive and faultline did not create this cluster: allow them by naming the context (%q) in AllowDestructive (--allow-destructive)", context)
	}
	return nil
}

// Create implements platform.Platform: it connects to the cluster and
// checks that its node labels hold the topology's zones, each with at
// least the nodes the topology asks for.
func (p *Platform) Create(ctx context.Context, t platform.Topology) (platform.Cluster, error) {
	c := &Cluster{opts: p.opts}
	if c.opts.Context == "" {
		ctxName, err := CurrentContext(p.opts.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("existing: %w", err)
		}
		c.opts.Context = ctxName
	}
	cs, err := kube.Client(c)
	if err != nil {
		return nil, fmt.Errorf("existing: %w", err)
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("existing: list nodes of %s: %w", c.opts.Context, err)
	}
	c.nodes = toNodes(list.Items)
	if err := fits(t, c.nodes); err != nil {
		return nil, fmt.Errorf("existing: cluster %s: %w", c.opts.Context, err)
	}
	return c, nil
}

// fits checks that nodes hold t's zones.
func fits(t platform.Topology, nodes []platform.Node) error {
	have := map[[2]string]int{}
	for _, n := range platform.Workers(nodes) {
		have[[2]string{n.Region, n.Zone}]++
	}
	var errs []error
	for _, r := range t.Regions {
		for _, z := range r.Zones {
			if n := have[[2]string{r.Name, z.Name}]; n < z.Nodes {
				errs = append(errs, fmt.Errorf("zone %s/%s: %d worker nodes labelled %s=%s, %s=%s; the topology asks for %d",
					r.Name, z.Name, n, LabelRegion, r.Name, LabelZone, z.Name, z.Nodes))
			}
		}
	}
	return errors.Join(errs...)
}

// toNodes converts API nodes: control planes first, then by name.
func toNodes(items []corev1.Node) []platform.Node {
	out := make([]platform.Node, 0, len(items))
	for _, n := range items {
		out = append(out, kube.Node(n))
	}
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := out[i].Role == platform.RoleControlPlane, out[j].Role == platform.RoleControlPlane
		if ci != cj {
			return ci
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Cluster is an existing cluster. It implements platform.Cluster,
// platform.Kubernetes, platform.Owned (false) and platform.FaultSupport.
type Cluster struct {
	opts  Options
	nodes []platform.Node
}

var (
	_ platform.Cluster         = (*Cluster)(nil)
	_ platform.Kubernetes      = (*Cluster)(nil)
	_ platform.Owned           = (*Cluster)(nil)
	_ platform.FaultSupport    = (*Cluster)(nil)
	_ platform.FaultPermission = (*Cluster)(nil)
)

// Name implements platform.Cluster: the context's name.
func (c *Cluster) Name() string { return c.opts.Context }

// Nodes implements platform.Cluster.
func (c *Cluster) Nodes(ctx context.Context) ([]platform.Node, error) {
	return append([]platform.Node(nil), c.nodes...), nil
}

// Delete implements platform.Cluster: the cluster is not faultline's to
// delete, so nothing happens.
func (c *Cluster) Delete(ctx context.Context) error { return nil }

// Kubeconfig implements platform.Kubernetes.
func (c *Cluster) Kubeconfig() string { return c.opts.Kubeconfig }

// Context implements platform.Kubernetes.
func (c *Cluster) Context() string { return c.opts.Context }

// Owned implements platform.Owned: faultline did not create the cluster.
func (c *Cluster) Owned() bool { return false }

// CanInject implements platform.FaultSupport.
func (c *Cluster) CanInject(kind string) error { return canInject(kind) }

// PermitFaults implements platform.FaultPermission.
func (c *Cluster) PermitFaults() error {
	return permitFaults(c.opts.Context, c.opts.AllowDestructive)
}
