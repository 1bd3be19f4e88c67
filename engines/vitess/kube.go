package vitess

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// operatorOnly are the options only the operator path reads.
var operatorOnly = []string{"operator-source", "init-db", "control-on-control-plane", "storage"}

// localOnly are the options only the local path reads.
var localOnly = []string{"clients"}

// allOptions are the local path's options and the operator path's.
func allOptions() localdb.Options {
	out := maps.Clone(options)
	op := operatorOptions()
	for _, name := range operatorOnly {
		o := op[name]
		out[name] = localdb.Option{Doc: o.doc + " (kind and existing only)", Default: o.def, Check: func(v string) error {
			c := defaultOpConfig()
			return o.set(&c, v)
		}}
	}
	return out
}

// operatorConfig is the operator path's configuration: its own options,
// and the keyspace, vtgate and VTOrc settings shared with the local path
// (as the components' flags).
func operatorConfig(set map[string]string) (opConfig, []error) {
	base, errs := parseConfig(set)
	if len(errs) > 0 {
		return opConfig{}, errs
	}
	cfg, errs := parseOperatorOptions(set)
	if len(errs) > 0 {
		return opConfig{}, errs
	}
	if f, ok := set["flavor"]; ok && dist.Flavor(f) != dist.MySQL {
		return opConfig{}, []error{fmt.Errorf("engine.options.flavor: on Kubernetes the tablets run vitess/lite's MySQL 8.0 (flavor mysql), not %q", f)}
	}
	cfg.GatewayFlags = map[string]string{
		"transaction-mode": base.TransactionMode,
		"enable-buffer":    fmt.Sprint(base.Buffer),
	}
	cfg.VTOrcFlags = map[string]string{}
	for _, a := range base.VTOrc.args() {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		cfg.VTOrcFlags[k] = v
	}
	return cfg, nil
}

// validateKube checks a scenario for the operator path: the options, a
// tablet of every shard in each zone (engine.replicas stays 0), the
// version the operator's images carry, and the plan itself.
func validateKube(spec engines.Spec, t engines.Target) []error {
	var errs []error
	for _, name := range localOnly {
		if _, ok := spec.Options[name]; ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: applies to the local platform; on Kubernetes clients use the cluster's vtgate Service", name))
		}
	}
	cfg, cerrs := operatorConfig(spec.Options)
	errs = append(errs, cerrs...)
	if spec.Replicas != 0 {
		errs = append(errs, fmt.Errorf("engine.replicas: %d, but vitess-operator runs one tablet of each shard in every zone's cell (leave it 0)", spec.Replicas))
	}
	if v := strings.TrimPrefix(spec.Version, "v"); v != "" && v != strings.TrimPrefix(OperatorVitessRelease, "v") {
		errs = append(errs, fmt.Errorf("engine.version: the operator path runs Vitess %s (vitess/lite); for another release set engine.image, not %q", OperatorVitessRelease, spec.Version))
	}
	if len(errs) > 0 {
		return errs
	}
	if _, err := operatorPlan(spec, t.Topology, nil, cfg); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Manifests implements engines.Manifester: what the way of deploying the
// scenario's run takes applies (under deploy: auto, the StatefulSet path
// where spec.Images or the platform's stand-ins, t.StandIns, map
// faultline's image, as kubePath decides on the cluster).
func (e *Engine) Manifests(spec engines.Spec, t engines.Target) (kube.Plan, error) {
	base, errs := parseConfig(spec.Options)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if manifestsPath(spec, t, base) == DeployStatefulSet {
		if errs := validateStatefulSet(spec, t); len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return statefulSetPlan(spec, t, base)
	}
	cfg, errs := operatorConfig(spec.Options)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return operatorPlan(spec, t.Topology, nil, cfg)
}

// manifestsPath is kubePath before the cluster exists: the option, or
// under auto the StatefulSet path where spec.Images or t.StandIns map
// faultline's image.
func manifestsPath(spec engines.Spec, t engines.Target, cfg config) string {
	if cfg.Deploy != DeployAuto {
		return cfg.Deploy
	}
	if spec.MapImage(nil, KubeImage) != KubeImage || t.StandIns[KubeImage] != "" {
		return DeployStatefulSet
	}
	return DeployOperator
}

// operator returns the operator deployment on c, if there is one.
func (e *Engine) operator(c platform.Cluster) (*opDeployment, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.operators[c.Name()]
	return d, ok
}

// deployKube deploys through vitess-operator.
func (e *Engine) deployKube(ctx context.Context, c platform.Cluster, spec engines.Spec) error {
	if _, ok := e.operator(c); ok {
		return nil
	}
	cfg, errs := operatorConfig(spec.Options)
	if len(errs) > 0 {
		return fmt.Errorf("vitess: deploy: %w", errors.Join(errs...))
	}
	d, err := deployOperator(ctx, c, spec, cfg)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.operators[c.Name()] = d
	e.mu.Unlock()
	return nil
}

// Teardown implements engines.Teardown: on Kubernetes it deletes the
// StatefulSet path's namespace, or closes the way to vtgate and deletes
// the VitessCluster's namespace; the local path's processes end with
// their cluster.
func (e *Engine) Teardown(ctx context.Context, c platform.Cluster) error {
	e.mu.Lock()
	d, ok := e.operators[c.Name()]
	delete(e.operators, c.Name())
	dep := e.deployments[c.Name()]
	if dep != nil && dep.kube != nil {
		// The next Deploy on a cluster of the same name starts anew.
		delete(e.deployments, c.Name())
	}
	e.mu.Unlock()
	if dep != nil && dep.kube != nil {
		return dep.kube.teardown(ctx)
	}
	if !ok {
		return nil
	}
	return d.teardown(ctx)
}

// Pods implements engines.PodOwner on Kubernetes: the tablets' pods
// (vttablet and mysqld), not the operator, vtgates, vtctld, VTOrc or the
// topology server.
func (e *Engine) Pods(c platform.Cluster) (engines.PodSet, error) {
	if dep, err := e.deployment(c); err == nil && dep.kube != nil {
		return engines.PodSet{
			Namespace:  StatefulSetNamespace,
			Labels:     map[string]string{labelName: "vitess", labelComponent: ProcTablet},
			Containers: []string{ProcTablet, ProcMySQL},
		}, nil
	}
	if _, ok := e.operator(c); !ok {
		return engines.PodSet{}, fmt.Errorf("vitess: not deployed through vitess-operator on cluster %s", c.Name())
	}
	return engines.PodSet{
		Namespace:  OperatorClusterNamespace,
		Labels:     map[string]string{opComponent: "vttablet", "planetscale.com/cluster": OperatorClusterName},
		Containers: []string{"vttablet", "mysqld"},
	}, nil
}
