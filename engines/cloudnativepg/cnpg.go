// Package cloudnativepg deploys PostgreSQL through the CloudNativePG
// operator, as its maintainers do: the operator from its release manifest
// (or Helm chart), then a Cluster whose instances are spread one per zone,
// with quorum-based synchronous replication, the failover knobs, and
// Guaranteed QoS. Clients reach the primary through the -rw Service with
// the credentials of the -app Secret; the primary is the Cluster's
// status.currentPrimary and its term the timeline.
package cloudnativepg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Name is the engine's name in scenarios.
const Name = "cloudnativepg"

// operatorTimeout bounds the operator's rollout.
const operatorTimeout = 4 * time.Minute

// Engine deploys CloudNativePG clusters. It remembers, by cluster name,
// what it deployed, so that one Engine serves concurrent runs.
type Engine struct {
	mu          sync.Mutex
	deployments map[string]*deployment
}

// deployment is a Cluster on one Kubernetes cluster.
type deployment struct {
	cl        platform.Cluster
	kc        *kube.Clients
	instances int
	reach     *kube.Reach
}

var (
	_ engines.Engine        = (*Engine)(nil)
	_ engines.Leader        = (*Engine)(nil)
	_ engines.Validator     = (*Engine)(nil)
	_ engines.Defaults      = (*Engine)(nil)
	_ engines.PlatformNeeds = (*Engine)(nil)
	_ engines.Manifester    = (*Engine)(nil)
	_ engines.Teardown      = (*Engine)(nil)
)

// New returns the CloudNativePG engine.
func New() *Engine { return &Engine{deployments: map[string]*deployment{}} }

// Name implements engines.Engine.
func (e *Engine) Name() string { return Name }

// Protocol implements engines.Engine.
func (e *Engine) Protocol() string { return engines.ProtocolPostgres }

// DefaultVersion implements engines.Defaults: the tag of the PostgreSQL
// image the operator deploys by default.
func (e *Engine) DefaultVersion() string { return DefaultVersion }

// Options implements engines.Defaults.
func (e *Engine) Options() map[string]string {
	return options().Docs()
}

// CanRunOn implements engines.PlatformNeeds: an operator needs
// Kubernetes.
func (e *Engine) CanRunOn(caps platform.Capabilities) error {
	if !caps.Kubernetes {
		return errors.New("engine cloudnativepg runs through its Kubernetes operator: use platform kind or existing")
	}
	return nil
}

// Validate implements engines.Validator.
func (e *Engine) Validate(spec engines.Spec, t engines.Target) []error {
	cfg, errs := parseOptions(spec.Options)
	zones := len(t.Topology.Zones())
	switch {
	case spec.Replicas < 0:
		errs = append(errs, fmt.Errorf("engine.replicas: %d must not be negative (0 is one instance per zone)", spec.Replicas))
	case spec.Replicas > t.Workers:
		errs = append(errs, fmt.Errorf("engine.replicas: %d instances but the topology has %d worker nodes", spec.Replicas, t.Workers))
	case cfg.AntiAffinity == "required" && spec.Replicas > zones:
		errs = append(errs, fmt.Errorf("engine.replicas: %d instances with required anti-affinity over %d zones: at most one per zone (or set options.anti-affinity: preferred)", spec.Replicas, zones))
	}
	n := instances(spec, t.Topology)
	if len(errs) == 0 && cfg.Synchronous != "off" && cfg.SyncNumber >= n {
		errs = append(errs, fmt.Errorf("engine.options.sync-number: %d synchronous standbys need at least %d instances, the cluster has %d (or set synchronous: off)", cfg.SyncNumber, cfg.SyncNumber+1, n))
	}
	if len(errs) == 0 {
		if _, err := plan(spec, t.Topology, nil, cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Manifests implements engines.Manifester.
func (e *Engine) Manifests(spec engines.Spec, t engines.Target) (kube.Plan, error) {
	cfg, errs := parseOptions(spec.Options)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return plan(spec, t.Topology, nil, cfg)
}

// Deploy implements engines.Engine: it installs the operator, waits for
// it to roll out (failing at once when its image cannot be pulled), and
// applies the Cluster. WaitReady waits for the Cluster.
func (e *Engine) Deploy(ctx context.Context, c platform.Cluster, spec engines.Spec) error {
	k, ok := c.(platform.Kubernetes)
	if !ok {
		return fmt.Errorf("cloudnativepg: deploy: cluster %s runs no Kubernetes", c.Name())
	}
	cfg, errs := parseOptions(spec.Options)
	if len(errs) > 0 {
		return fmt.Errorf("cloudnativepg: deploy: %w", errs[0])
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("cloudnativepg: deploy: %w", err)
	}
	topo := platform.TopologyOf(nodes)
	p, err := plan(spec, topo, c, cfg)
	if err != nil {
		return fmt.Errorf("cloudnativepg: deploy: %w", err)
	}
	kc, err := kube.Connect(k)
	if err != nil {
		return fmt.Errorf("cloudnativepg: deploy: %w", err)
	}
	if err := p[:1].Install(ctx, kc, spec.Artifacts); err != nil {
		return fmt.Errorf("cloudnativepg: deploy operator: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, operatorTimeout)
	defer cancel()
	w := kube.Waiter{C: kc, Namespaces: []string{OperatorNamespace}}
	if err := w.WaitDeployment(wctx, OperatorNamespace, OperatorDeployment); err != nil {
		return fmt.Errorf("cloudnativepg: deploy operator: %w", err)
	}
	if err := p[1:].Install(ctx, kc, spec.Artifacts); err != nil {
		return fmt.Errorf("cloudnativepg: deploy: %w", err)
	}
	e.mu.Lock()
	e.deployments[c.Name()] = &deployment{cl: c, kc: kc, instances: instances(spec, topo)}
	e.mu.Unlock()
	return nil
}

func (e *Engine) deployment(c platform.Cluster) (*deployment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deployments[c.Name()]
	if !ok {
		return nil, fmt.Errorf("cloudnativepg: not deployed on cluster %s", c.Name())
	}
	return d, nil
}

// cluster reads the Cluster.
func (d *deployment) cluster(ctx context.Context) (*Cluster, error) {
	ri, _, err := kube.Resource(d.kc, ClusterGVK, Namespace)
	if err != nil {
		return nil, err
	}
	u, err := ri.Get(ctx, ClusterName, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var cl Cluster
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cl); err != nil {
		return nil, fmt.Errorf("cloudnativepg: decode Cluster: %w", err)
	}
	return &cl, nil
}

// WaitReady implements engines.Engine: the Cluster is in its healthy
// phase with every instance ready and one primary both the operator and
// the instances agree on, and the primary takes a write through the -rw
// Service. A pod that cannot pull its image fails it at once.
func (e *Engine) WaitReady(ctx context.Context, c platform.Cluster) error {
	d, err := e.deployment(c)
	if err != nil {
		return err
	}
	w := kube.Waiter{C: d.kc, Namespaces: []string{Namespace, OperatorNamespace}}
	err = kube.WaitFor(ctx, w, ClusterGVK, Namespace, ClusterName, func(cl *Cluster) (bool, string) {
		s := cl.Status
		switch {
		case s == nil:
			return false, "no status yet"
		case s.Phase != PhaseHealthy:
			return false, fmt.Sprintf("phase %q %s", s.Phase, s.PhaseReason)
		case s.ReadyInstances != d.instances:
			return false, fmt.Sprintf("%d of %d instances ready", s.ReadyInstances, d.instances)
		case s.CurrentPrimary == "" || s.CurrentPrimary != s.TargetPrimary:
			return false, fmt.Sprintf("primary %q, target %q", s.CurrentPrimary, s.TargetPrimary)
		}
		return true, ""
	})
	if err != nil {
		return fmt.Errorf("cloudnativepg: %w", err)
	}
	for {
		err := d.probeWrite(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cloudnativepg: the primary takes no write through %s-rw: %w (last: %v)", ClusterName, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

// probeWrite checks that a client reaches a primary that takes writes.
func (d *deployment) probeWrite(ctx context.Context) error {
	eps, err := d.endpoints(ctx)
	if err != nil {
		return err
	}
	ep := eps[0]
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return err
	}
	host, port, err := splitHostPort(ep.Addr)
	if err != nil {
		return err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = host, port, ep.User, ep.Password, ep.Database
	cfg.TLSConfig = nil
	conn, err := pgx.ConnectConfig(pctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var recovery bool
	if err := conn.QueryRow(pctx, "SELECT pg_is_in_recovery()").Scan(&recovery); err != nil {
		return err
	}
	if recovery {
		return errors.New("the -rw Service leads to a standby")
	}
	return nil
}

// Endpoints implements engines.Endpoints: one endpoint, the -rw Service
// reached from the harness, with the application user's credentials from
// the -app Secret, on the node of the current primary.
func (e *Engine) Endpoints(ctx context.Context, c platform.Cluster) ([]engines.Endpoint, error) {
	d, err := e.deployment(c)
	if err != nil {
		return nil, err
	}
	return d.endpoints(ctx)
}

func (d *deployment) endpoints(ctx context.Context) ([]engines.Endpoint, error) {
	if d.reach == nil {
		r, err := kube.ReachService(ctx, d.cl, d.kc, Namespace, ClusterName+"-rw", Port)
		if err != nil {
			return nil, fmt.Errorf("cloudnativepg: %w", err)
		}
		d.reach = &r
	}
	sec, err := d.kc.Typed.CoreV1().Secrets(Namespace).Get(ctx, ClusterName+"-app", metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("cloudnativepg: credentials: %w", err)
	}
	ep := engines.Endpoint{
		Addr:     d.reach.Addr,
		Database: string(sec.Data["dbname"]),
		User:     string(sec.Data["username"]),
		Password: string(sec.Data["password"]),
	}
	if ld, err := d.leader(ctx); err == nil {
		ep.Node = ld.Node
		if nodes, err := d.cl.Nodes(ctx); err == nil {
			if n, ok := platform.Find(nodes, ld.Node); ok {
				ep.Zone, ep.Region = n.Zone, n.Region
			}
		}
	}
	return []engines.Endpoint{ep}, nil
}

// Leader implements engines.Leader: the node of the Cluster's current
// primary, with the timeline as its term. While a failover is under way
// (the target primary is not the current one) there is none.
func (e *Engine) Leader(ctx context.Context, c platform.Cluster) (engines.Leadership, error) {
	d, err := e.deployment(c)
	if err != nil {
		return engines.Leadership{}, err
	}
	return d.leader(ctx)
}

func (d *deployment) leader(ctx context.Context) (engines.Leadership, error) {
	cl, err := d.cluster(ctx)
	if err != nil {
		return engines.Leadership{}, fmt.Errorf("cloudnativepg: %w", err)
	}
	s := cl.Status
	if s == nil || s.CurrentPrimary == "" {
		return engines.Leadership{}, errors.New("cloudnativepg: no primary yet")
	}
	if s.TargetPrimary != s.CurrentPrimary {
		return engines.Leadership{}, fmt.Errorf("cloudnativepg: failing over from %s to %s", s.CurrentPrimary, s.TargetPrimary)
	}
	pod, err := d.kc.Typed.CoreV1().Pods(Namespace).Get(ctx, s.CurrentPrimary, metav1.GetOptions{})
	if err != nil {
		return engines.Leadership{}, fmt.Errorf("cloudnativepg: primary pod: %w", err)
	}
	return engines.Leadership{Node: pod.Spec.NodeName, Term: uint64(s.TimelineID)}, nil
}

// Teardown implements engines.Teardown: it closes the port-forward, if
// any, and deletes the database's namespace; the operator stays (other
// clusters may use it).
func (e *Engine) Teardown(ctx context.Context, c platform.Cluster) error {
	e.mu.Lock()
	d, ok := e.deployments[c.Name()]
	delete(e.deployments, c.Name())
	e.mu.Unlock()
	if !ok {
		return nil
	}
	if d.reach != nil {
		d.reach.Close()
	}
	err := d.kc.Typed.CoreV1().Namespaces().Delete(ctx, Namespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("cloudnativepg: teardown: %w", err)
	}
	return nil
}

func splitHostPort(addr string) (string, uint16, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, uint16(n), nil
}

// Pods implements engines.PodOwner: the Cluster's instance pods (not its
// jobs), in Namespace.
func (e *Engine) Pods(c platform.Cluster) (engines.PodSet, error) {
	if _, err := e.deployment(c); err != nil {
		return engines.PodSet{}, err
	}
	return engines.PodSet{Namespace: Namespace, Labels: map[string]string{"cnpg.io/podRole": "instance"}, Containers: []string{"postgres"}}, nil
}
