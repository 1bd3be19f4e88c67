// Package cockroachdb deploys CockroachDB through the CockroachDB
// operator and database Helm charts, as its maintainers now recommend: the
// charts of the Go module github.com/cockroachdb/helm-charts (read in
// place from the module cache, or fetched from where the user points),
// one operator and CrdbCluster per region, localities from the nodes'
// region and zone labels, insecure for tests or TLS through the chart's
// self-signer, and survival goals on the workload's database. Its leaders
// are the leaseholders of the database's ranges (SHOW RANGES … WITH
// DETAILS).
//
// CockroachDB since 24.3 needs a licence key; an unlicensed cluster runs
// under a 7-day grace period, enough for the ephemeral clusters of a
// trial.
package cockroachdb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cockroachdb/helm-charts/pkg/upstream/cockroach-operator/api/v1beta1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Name is the engine's name in scenarios.
const Name = "cockroachdb"

// operatorTimeout bounds each operator's rollout.
const operatorTimeout = 4 * time.Minute

// CrdbClusterGVK is the kind the database chart renders.
var CrdbClusterGVK = schema.GroupVersionKind{Group: "crdb.cockroachlabs.com", Version: "v1beta1", Kind: v1beta1.CrdbClusterKind}

// Engine deploys CockroachDB; it remembers, by cluster name, what it
// deployed.
type Engine struct {
	mu          sync.Mutex
	deployments map[string]*deployment
}

type deployment struct {
	cl      platform.Cluster
	kc      *kube.Clients
	cfg     config
	regions []region
	reach   []kube.Reach
}

var (
	_ engines.Engine           = (*Engine)(nil)
	_ engines.Leader           = (*Engine)(nil)
	_ engines.Leaders          = (*Engine)(nil)
	_ engines.Validator        = (*Engine)(nil)
	_ engines.Defaults         = (*Engine)(nil)
	_ engines.PlatformNeeds    = (*Engine)(nil)
	_ engines.Manifester       = (*Engine)(nil)
	_ engines.IsolationClaimer = (*Engine)(nil)
	_ engines.Teardown         = (*Engine)(nil)
)

// New returns the CockroachDB engine.
func New() *Engine { return &Engine{deployments: map[string]*deployment{}} }

// Name implements engines.Engine.
func (e *Engine) Name() string { return Name }

// Protocol implements engines.Engine: PostgreSQL's wire protocol.
func (e *Engine) Protocol() string { return engines.ProtocolPostgres }

// DefaultVersion implements engines.Defaults.
func (e *Engine) DefaultVersion() string { return DefaultVersion }

// Options implements engines.Defaults.
func (e *Engine) Options() map[string]string {
	return options().Docs()
}

// CanRunOn implements engines.PlatformNeeds.
func (e *Engine) CanRunOn(caps platform.Capabilities) error {
	if !caps.Kubernetes {
		return errors.New("engine cockroachdb runs through its Kubernetes operator: use platform kind or existing")
	}
	return nil
}

// ClaimedIsolation implements engines.IsolationClaimer: CockroachDB runs
// serializable transactions, and upgrades REPEATABLE READ to
// SERIALIZABLE unless a cluster setting faultline leaves off enables
// snapshot isolation; READ COMMITTED is its own level.
func (e *Engine) ClaimedIsolation(spec engines.Spec, isolation string) string {
	switch isolation {
	case "serializable", "repeatable-read":
		return "serializable"
	case "read-committed":
		return "read-committed"
	}
	return ""
}

// Validate implements engines.Validator.
func (e *Engine) Validate(spec engines.Spec, t engines.Target) []error {
	cfg, errs := parseOptions(spec.Options)
	switch {
	case spec.Replicas < 0:
		errs = append(errs, fmt.Errorf("engine.replicas: %d must not be negative (0 is one node per worker)", spec.Replicas))
	case spec.Replicas > t.Workers:
		errs = append(errs, fmt.Errorf("engine.replicas: %d nodes but the topology has %d workers", spec.Replicas, t.Workers))
	case spec.Replicas > 0 && len(t.Topology.Regions) > 1:
		errs = append(errs, fmt.Errorf("engine.replicas: a multi-region deployment runs one node per worker of each region; leave replicas unset"))
	}
	if cfg.Survival == SurviveRegion && len(t.Topology.Regions) < 3 {
		errs = append(errs, fmt.Errorf("engine.options.survival: region survival needs at least 3 regions, the topology has %d", len(t.Topology.Regions)))
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

// Deploy implements engines.Engine: region by region, it installs the
// operator chart, waits for the operator to roll out (failing at once on
// an image that cannot be pulled), and installs the database chart.
func (e *Engine) Deploy(ctx context.Context, c platform.Cluster, spec engines.Spec) error {
	k, ok := c.(platform.Kubernetes)
	if !ok {
		return fmt.Errorf("cockroachdb: deploy: cluster %s runs no Kubernetes", c.Name())
	}
	cfg, errs := parseOptions(spec.Options)
	if len(errs) > 0 {
		return fmt.Errorf("cockroachdb: deploy: %w", errs[0])
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("cockroachdb: deploy: %w", err)
	}
	topo := platform.TopologyOf(nodes)
	p, err := plan(spec, topo, c, cfg)
	if err != nil {
		return fmt.Errorf("cockroachdb: deploy: %w", err)
	}
	for _, s := range p {
		if s.Chart != nil {
			if err := checkChart(s.Chart.Source); err != nil {
				return fmt.Errorf("cockroachdb: deploy: %w", err)
			}
		}
	}
	kc, err := kube.Connect(k)
	if err != nil {
		return fmt.Errorf("cockroachdb: deploy: %w", err)
	}
	for i, s := range p {
		if err := p[i:i+1].Install(ctx, kc, spec.Artifacts); err != nil {
			return fmt.Errorf("cockroachdb: deploy: %w", err)
		}
		if s.Chart != nil && s.Chart.Release == "crdb-operator" {
			wctx, cancel := context.WithTimeout(ctx, operatorTimeout)
			err := kube.Waiter{C: kc, Namespaces: []string{s.Chart.Namespace}}.WaitDeployment(wctx, s.Chart.Namespace, OperatorDeployment)
			cancel()
			if err != nil {
				return fmt.Errorf("cockroachdb: deploy operator: %w", err)
			}
		}
	}
	e.mu.Lock()
	e.deployments[c.Name()] = &deployment{cl: c, kc: kc, cfg: cfg, regions: regions(spec, topo)}
	e.mu.Unlock()
	return nil
}

func (e *Engine) deployment(c platform.Cluster) (*deployment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deployments[c.Name()]
	if !ok {
		return nil, fmt.Errorf("cockroachdb: not deployed on cluster %s", c.Name())
	}
	return d, nil
}

// WaitReady implements engines.Engine: every region's CrdbCluster counts
// all its nodes ready, a client runs SQL through each region's public
// Service, and the survival goal, if any, is set.
func (e *Engine) WaitReady(ctx context.Context, c platform.Cluster) error {
	d, err := e.deployment(c)
	if err != nil {
		return err
	}
	for _, r := range d.regions {
		w := kube.Waiter{C: d.kc, Namespaces: []string{r.Namespace}}
		err := kube.WaitFor(ctx, w, CrdbClusterGVK, r.Namespace, Fullname, func(cc *v1beta1.CrdbCluster) (bool, string) {
			return int(cc.Status.ReadyNodes) == r.Nodes, fmt.Sprintf("%d of %d nodes ready", cc.Status.ReadyNodes, r.Nodes)
		})
		if err != nil {
			return fmt.Errorf("cockroachdb: %w", err)
		}
	}
	for {
		err := d.prepare(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cockroachdb: SQL not served: %w (last: %v)", ctx.Err(), err)
		case <-time.After(2 * time.Second):
		}
	}
}

// Endpoints implements engines.Engine: each region's public Service
// reached from the harness, as root on defaultdb (with the client
// certificate in TLS mode).
func (e *Engine) Endpoints(ctx context.Context, c platform.Cluster) ([]engines.Endpoint, error) {
	d, err := e.deployment(c)
	if err != nil {
		return nil, err
	}
	return d.endpoints(ctx)
}

func (d *deployment) endpoints(ctx context.Context) ([]engines.Endpoint, error) {
	if d.reach == nil {
		for _, r := range d.regions {
			re, err := kube.ReachService(ctx, d.cl, d.kc, r.Namespace, Fullname+"-public", SQLPort)
			if err != nil {
				return nil, fmt.Errorf("cockroachdb: %w", err)
			}
			d.reach = append(d.reach, re)
		}
	}
	out := make([]engines.Endpoint, 0, len(d.regions))
	for i, r := range d.regions {
		ep := engines.Endpoint{Node: r.Namespace, Region: r.Name, Addr: d.reach[i].Addr, Database: "defaultdb", User: "root"}
		if d.cfg.TLS {
			sec, err := d.kc.Typed.CoreV1().Secrets(r.Namespace).Get(ctx, Fullname+"-client-secret", metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("cockroachdb: client certificate: %w", err)
			}
			ep.TLS = &engines.TLS{CA: sec.Data["ca.crt"], Cert: sec.Data["tls.crt"], Key: sec.Data["tls.key"], ServerName: Fullname + "-public"}
		}
		out = append(out, ep)
	}
	return out, nil
}

// Teardown implements engines.Teardown: it closes port-forwards and
// deletes the namespaces (the releases, the operators and the data).
func (e *Engine) Teardown(ctx context.Context, c platform.Cluster) error {
	e.mu.Lock()
	d, ok := e.deployments[c.Name()]
	delete(e.deployments, c.Name())
	e.mu.Unlock()
	if !ok {
		return nil
	}
	var errs []error
	for _, r := range d.reach {
		r.Close()
	}
	for _, r := range d.regions {
		err := d.kc.Typed.CoreV1().Namespaces().Delete(ctx, r.Namespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Pods implements engines.PodOwner: the database pods of every region's
// CrdbCluster, in Namespace (the operators run in their own).
func (e *Engine) Pods(c platform.Cluster) (engines.PodSet, error) {
	if _, err := e.deployment(c); err != nil {
		return engines.PodSet{}, err
	}
	return engines.PodSet{Namespace: Namespace, Labels: map[string]string{"app.kubernetes.io/component": "cockroachdb"}, Containers: []string{"cockroachdb"}}, nil
}
