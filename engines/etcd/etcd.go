// Package etcd deploys etcd clusters: on a platform that runs processes
// (local), one member per node, each an embedded etcd server of the
// version faultline is built with; on Kubernetes, see kube.go.
package etcd

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/version"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Name is the engine's name in scenarios.
const Name = "etcd"

// Engine deploys etcd. It remembers what it deployed on each cluster, by
// cluster name, so that one Engine serves concurrent runs.
type Engine struct {
	mu          sync.Mutex
	deployments map[string]deployment
}

// deployment is etcd deployed on one cluster: processes on a ProcessHost
// (local.go) or pods on Kubernetes (kube.go).
type deployment interface {
	waitReady(ctx context.Context) error
	endpoints(ctx context.Context) ([]engines.Endpoint, error)
	leader(ctx context.Context) (engines.Leadership, error)
}

var (
	_ engines.Engine     = (*Engine)(nil)
	_ engines.Leader     = (*Engine)(nil)
	_ engines.Validator  = (*Engine)(nil)
	_ engines.Defaults   = (*Engine)(nil)
	_ engines.Manifester = (*Engine)(nil)
)

// New returns the etcd engine.
func New() *Engine {
	return &Engine{deployments: map[string]deployment{}}
}

// Name implements engines.Engine.
func (e *Engine) Name() string { return Name }

// Protocol implements engines.Engine.
func (e *Engine) Protocol() string { return engines.ProtocolEtcd }

// DefaultVersion implements engines.Defaults: the etcd release whose
// server module faultline is built with, which the local platform runs.
func (e *Engine) DefaultVersion() string { return "v" + version.Version }

// Options implements engines.Defaults: each option's documentation and
// default.
func (e *Engine) Options() map[string]string {
	return options.Docs()
}

// Validate implements engines.Validator.
func (e *Engine) Validate(spec engines.Spec, t engines.Target) []error {
	workers := t.Workers
	_, errs := parseOptions(spec.Options)
	switch {
	case spec.Replicas < 0:
		errs = append(errs, fmt.Errorf("engine.replicas: %d must not be negative (0 is one member per worker node)", spec.Replicas))
	case spec.Replicas > workers:
		errs = append(errs, fmt.Errorf("engine.replicas: %d members but the topology has %d worker nodes (etcd runs one member per node)", spec.Replicas, workers))
	}
	if cfg, _ := parseOptions(spec.Options); cfg.Deploy == DeployOperator && !t.Capabilities.Kubernetes {
		errs = append(errs, fmt.Errorf("engine.options.deploy: operator needs a Kubernetes platform (kind, existing); platform %s runs etcd as processes", t.Platform))
	}
	if t.Capabilities.Processes {
		if spec.Version != "" && strings.TrimPrefix(spec.Version, "v") != version.Version {
			errs = append(errs, fmt.Errorf("engine.version: platform %s runs the etcd built into faultline (%s), not %q", t.Platform, e.DefaultVersion(), spec.Version))
		}
		if spec.Image != "" {
			errs = append(errs, fmt.Errorf("engine.image: platform %s runs etcd as a process; an image applies to Kubernetes platforms (kind, existing)", t.Platform))
		}
	}
	return errs
}

// Deploy implements engines.Engine: it starts the members and returns
// once each is running, without waiting for a leader (see WaitReady).
func (e *Engine) Deploy(ctx context.Context, c platform.Cluster, spec engines.Spec) error {
	cfg, errs := parseOptions(spec.Options)
	if len(errs) > 0 {
		return fmt.Errorf("etcd: deploy: %w", errs[0])
	}
	var (
		d   deployment
		err error
	)
	switch cl := c.(type) {
	case platform.ProcessHost:
		d, err = deployLocal(ctx, c, cl, spec, cfg)
	case platform.Kubernetes:
		if cfg.Deploy == DeployOperator {
			d, err = deployOperator(ctx, c, cl, spec, cfg)
		} else {
			d, err = deployKube(ctx, c, cl, spec, cfg)
		}
	default:
		return fmt.Errorf("etcd: deploy: cluster %s runs neither processes nor Kubernetes", c.Name())
	}
	if err != nil {
		return fmt.Errorf("etcd: deploy: %w", err)
	}
	e.mu.Lock()
	e.deployments[c.Name()] = d
	e.mu.Unlock()
	return nil
}

func (e *Engine) deployment(c platform.Cluster) (deployment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deployments[c.Name()]
	if !ok {
		return nil, fmt.Errorf("etcd: not deployed on cluster %s", c.Name())
	}
	return d, nil
}

// WaitReady implements engines.Engine: it returns once every member
// answers, they agree on a leader, and a linearizable read succeeds, or
// ctx is done.
func (e *Engine) WaitReady(ctx context.Context, c platform.Cluster) error {
	d, err := e.deployment(c)
	if err != nil {
		return err
	}
	return d.waitReady(ctx)
}

// Endpoints implements engines.Engine: one per member, in node order.
func (e *Engine) Endpoints(ctx context.Context, c platform.Cluster) ([]engines.Endpoint, error) {
	d, err := e.deployment(c)
	if err != nil {
		return nil, err
	}
	return d.endpoints(ctx)
}

// Leader implements engines.Leader: it asks every member at once (each
// for at most a second) and names the leader claimed in the highest raft
// term. When the members that answer have no leader it returns the term
// and ErrNoLeader.
func (e *Engine) Leader(ctx context.Context, c platform.Cluster) (engines.Leadership, error) {
	d, err := e.deployment(c)
	if err != nil {
		return engines.Leadership{}, err
	}
	return d.leader(ctx)
}

// Manifests implements engines.Manifester. The StatefulSet's initial
// cluster names node addresses, which exist only once the cluster does:
// they are printed as NODE.address.
func (e *Engine) Manifests(spec engines.Spec, t engines.Target) (kube.Plan, error) {
	cfg, errs := parseOptions(spec.Options)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	nodes := t.Topology.Layout()
	if spec.Replicas > 0 && spec.Replicas < len(nodes) {
		nodes = nodes[:spec.Replicas]
	}
	if cfg.Deploy == DeployOperator {
		return operatorPlan(spec, nil, len(nodes), cfg)
	}
	for i := range nodes {
		nodes[i].Addr = nodes[i].Name + ".address"
	}
	m := kubeManifests(nodes, spec.MapImage(nil, kubeImage(spec, e.DefaultVersion())), "faultline-CLUSTER", cfg)
	objs, err := kube.ToUnstructured(m.Service, m.StatefulSet)
	if err != nil {
		return nil, err
	}
	return kube.Plan{{Name: "etcd", Objects: objs, Images: kube.Images(objs)}}, nil
}
