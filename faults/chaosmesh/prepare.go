package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

// Labels of Chaos Mesh's own workloads, as its Helm chart sets them.
const (
	labelName      = "app.kubernetes.io/name"
	labelComponent = "app.kubernetes.io/component"
	labelVersion   = "app.kubernetes.io/version"
	chartName      = "chaos-mesh"
	componentCtl   = "controller-manager"
	componentDmn   = "chaos-daemon"
)

// InstallHint says how to install Chaos Mesh on a cluster faultline did
// not create.
const InstallHint = "install Chaos Mesh (helm install chaos-mesh chaos-mesh/chaos-mesh -n chaos-mesh --create-namespace, see chaos-mesh.org/docs), or run on a kind cluster faultline creates, where it installs Chaos Mesh itself"

// Prepare implements faults.Preparer. Before the load it checks that
// faults are permitted on c, that the engine names its pods, that Chaos
// Mesh's CRDs are there (installing Chaos Mesh on clusters faultline
// created, when the injector can), that its controller runs and its
// daemon runs on every node that holds an engine pod (for the actions
// that need it) and has the programs the experiment runs
// (AnnotationDaemonLacks), that the API server admits the experiments (a
// server-side dry run through Chaos Mesh's webhooks), and, for traffic
// shaping, that the nodes' kernel has sch_netem where faultline can probe
// it.
func (f *fault) Prepare(ctx context.Context, c platform.Cluster, t faults.Target) error {
	if fp, ok := c.(platform.FaultPermission); ok {
		if err := fp.PermitFaults(); err != nil {
			return err
		}
	}
	if t.Pods == nil {
		return errors.New("chaos-mesh: the engine does not say which pods are its own (engines.PodOwner)")
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("chaos-mesh: list nodes: %w", err)
	}
	workers := platform.Workers(nodes)
	probe := t
	probe.Nodes, probe.Peers = workers, workers
	objs, err := Build(f.spec, probe)
	if err != nil {
		return fmt.Errorf("chaos-mesh: %w", err)
	}
	cl, err := f.in.connect(c)
	if err != nil {
		return err
	}
	if err := f.ensureInstalled(faults.ContextWithLog(ctx, t.Log), c, cl, objs); err != nil {
		return err
	}
	if _, err := Controller(ctx, cl); err != nil {
		return err
	}
	if needsPodNetwork(f.spec.Kind) {
		if err := hostNetworkAllowed(ctx, cl, t.Pods); err != nil {
			return err
		}
	}
	if needsDaemon(f.spec.Kind) {
		if err := CheckDaemon(ctx, cl, f.spec); err != nil {
			return err
		}
		if err := daemonCovers(ctx, cl, t.Pods); err != nil {
			return err
		}
	}
	for _, o := range objs {
		dry := o.DeepCopyObject().(client.Object)
		if err := cl.Create(ctx, dry, client.DryRunAll); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("chaos-mesh: the API server refuses %s: %w", describe(o), err)
		}
	}
	if needsNetem(f.spec) {
		if nc, ok := c.(platform.NetworkController); ok && len(workers) > 0 {
			if !faults.HasNetem(ctx, nc, workers[0].Name, t.Log) {
				return netemRefusal(f.spec)
			}
		}
	}
	return nil
}

// ensureInstalled checks that the CRDs of objs' kinds are served, and
// installs Chaos Mesh on a cluster faultline created when they are not
// and the injector can.
func (f *fault) ensureInstalled(ctx context.Context, c platform.Cluster, cl client.Client, objs []client.Object) error {
	missing, err := missingKinds(ctx, cl, objs)
	if err != nil || len(missing) == 0 {
		return err
	}
	owned := false
	if o, ok := c.(platform.Owned); ok {
		owned = o.Owned()
	}
	if !owned || f.in.Install == nil {
		return fmt.Errorf("chaos-mesh: Chaos Mesh is not installed on cluster %s (no CRD for %s): %s", c.Name(), strings.Join(missing, ", "), InstallHint)
	}
	if err := f.in.Install(ctx, c); err != nil {
		return fmt.Errorf("chaos-mesh: install on cluster %s: %w", c.Name(), err)
	}
	if missing, err = missingKinds(ctx, cl, objs); err == nil && len(missing) > 0 {
		err = fmt.Errorf("chaos-mesh: installed, yet cluster %s serves no %s", c.Name(), strings.Join(missing, ", "))
	}
	return err
}

// Missing lists the experiment kinds faultline creates that the cluster
// does not serve (Chaos Mesh's CRDs are absent); every one when Chaos
// Mesh is not installed.
func Missing(ctx context.Context, cl client.Client) ([]string, error) {
	var objs []client.Object
	for _, l := range Lists() {
		gvk, err := cl.GroupVersionKindFor(l)
		if err != nil {
			return nil, fmt.Errorf("chaos-mesh: %w", err)
		}
		o := &unstructured.Unstructured{}
		o.SetGroupVersionKind(gvk.GroupVersion().WithKind(strings.TrimSuffix(gvk.Kind, "List")))
		objs = append(objs, o)
	}
	return missingKinds(ctx, cl, objs)
}

// missingKinds lists the kinds of objs the cluster does not serve.
func missingKinds(ctx context.Context, cl client.Client, objs []client.Object) ([]string, error) {
	var missing []string
	for _, o := range objs {
		gvk, err := cl.GroupVersionKindFor(o)
		if err != nil {
			return nil, fmt.Errorf("chaos-mesh: %w", err)
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		err = cl.List(ctx, list, client.InNamespace(o.GetNamespace()), client.Limit(1))
		switch {
		case err == nil:
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			if !slices.Contains(missing, gvk.Kind) {
				missing = append(missing, gvk.Kind)
			}
		default:
			return nil, fmt.Errorf("chaos-mesh: list %s: %w", gvk.Kind, err)
		}
	}
	return missing, nil
}

// Controller finds Chaos Mesh's controller manager on the cluster and
// returns its version (the chart's app.kubernetes.io/version label, or
// "" if unlabelled); it fails when no replica is available. A client
// that may not list Deployments in every namespace passes unchecked.
func Controller(ctx context.Context, cl client.Client) (string, error) {
	var list appsv1.DeploymentList
	err := cl.List(ctx, &list, client.MatchingLabels{labelName: chartName, labelComponent: componentCtl})
	if apierrors.IsForbidden(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("chaos-mesh: list its controller: %w", err)
	}
	if len(list.Items) == 0 {
		return "", fmt.Errorf("chaos-mesh: its CRDs are installed but no controller manager runs (no Deployment labelled %s=%s): %s", labelComponent, componentCtl, InstallHint)
	}
	for _, d := range list.Items {
		if d.Status.AvailableReplicas > 0 {
			return d.Labels[labelVersion], nil
		}
	}
	d := list.Items[0]
	return "", fmt.Errorf("chaos-mesh: controller manager %s/%s has no available replica (%d of %d ready)", d.Namespace, d.Name, d.Status.ReadyReplicas, d.Status.Replicas)
}

// allowHostNetworkEnv is the controller manager's setting that lifts its
// refusal of network chaos on hostNetwork pods (the chart's
// controllerManager.allowHostNetworkTesting).
const allowHostNetworkEnv = "ALLOW_HOST_NETWORK_TESTING"

// hostNetworkAllowed checks, for a network experiment, that the engine's
// pods are not in their nodes' network namespace, or that Chaos Mesh's
// controller is set to act on such pods: otherwise it refuses every
// target ("It's dangerous to inject network chaos on a pod with
// hostNetwork") once the load has begun. A client that may not read
// Deployments or pods passes unchecked.
func hostNetworkAllowed(ctx context.Context, cl client.Client, pods *faults.Pods) error {
	var engine corev1.PodList
	err := cl.List(ctx, &engine, client.InNamespace(pods.Namespace), client.MatchingLabels(pods.Labels))
	if apierrors.IsForbidden(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("chaos-mesh: list the engine's pods: %w", err)
	}
	host := ""
	for _, p := range engine.Items {
		if p.Spec.HostNetwork {
			host = p.Namespace + "/" + p.Name
			break
		}
	}
	if host == "" {
		return nil
	}
	var list appsv1.DeploymentList
	err = cl.List(ctx, &list, client.MatchingLabels{labelName: chartName, labelComponent: componentCtl})
	if apierrors.IsForbidden(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("chaos-mesh: list its controller: %w", err)
	}
	for _, d := range list.Items {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == allowHostNetworkEnv && e.Value == "true" {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("chaos-mesh: the engine's pod %s uses hostNetwork, and Chaos Mesh refuses network chaos on such pods unless its controller allows it (helm value controllerManager.allowHostNetworkTesting=true; the rules then go into the node's network namespace); or use via: platform", host)
}

// needsPodNetwork reports whether a kind's experiment acts in the pods'
// network namespaces (NetworkChaos).
func needsPodNetwork(kind string) bool {
	switch kind {
	case faults.KindPartition, faults.KindLatency, faults.KindLoss, faults.KindBandwidth:
		return true
	}
	return false
}

// daemonCovers checks that a Chaos Mesh daemon is ready on every node
// that runs one of the engine's pods.
func daemonCovers(ctx context.Context, cl client.Client, pods *faults.Pods) error {
	var daemons corev1.PodList
	err := cl.List(ctx, &daemons, client.MatchingLabels{labelName: chartName, labelComponent: componentDmn})
	if apierrors.IsForbidden(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("chaos-mesh: list its daemons: %w", err)
	}
	ready := map[string]bool{}
	for _, p := range daemons.Items {
		if podReady(p) {
			ready[p.Spec.NodeName] = true
		}
	}
	var engine corev1.PodList
	if err := cl.List(ctx, &engine, client.InNamespace(pods.Namespace), client.MatchingLabels(pods.Labels)); err != nil {
		return fmt.Errorf("chaos-mesh: list the engine's pods: %w", err)
	}
	var uncovered []string
	for _, p := range engine.Items {
		if n := p.Spec.NodeName; n != "" && !ready[n] && !slices.Contains(uncovered, n) {
			uncovered = append(uncovered, n)
		}
	}
	if len(uncovered) > 0 {
		slices.Sort(uncovered)
		return fmt.Errorf("chaos-mesh: no ready chaos-daemon on node(s) %s, which run the engine's pods (is the daemon's DaemonSet tolerating those nodes, and its image pullable?)", strings.Join(uncovered, ", "))
	}
	return nil
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// needsDaemon reports whether a kind's experiment acts inside pods
// (through chaos-daemon) rather than through the API (pod-kill and
// pod-failure).
func needsDaemon(kind string) bool {
	switch kind {
	case faults.KindKill, faults.KindStop, faults.KindRestart, faults.KindPause,
		faults.KindPodFailure, faults.KindZoneOutage, faults.KindRegionOutage:
		return false
	}
	return true
}

// needsNetem reports whether spec's experiment needs tc netem (or the
// qdiscs that come with it): delay and loss, and bandwidth towards chosen
// peers, which Chaos Mesh filters with prio and sfq (an unfiltered cap is
// a lone tbf).
func needsNetem(spec faults.Spec) bool {
	switch spec.Kind {
	case faults.KindLatency, faults.KindLoss:
		return true
	case faults.KindBandwidth:
		return !Unfiltered(spec)
	}
	return false
}

// netemRefusal says why spec cannot run on a kernel without sch_netem,
// and what can.
func netemRefusal(spec faults.Spec) error {
	if spec.Kind == faults.KindBandwidth {
		return fmt.Errorf("chaos-mesh: bandwidth towards chosen peers is a tbf that Chaos Mesh filters with prio and sfq, which come with tc netem, and this kernel has no sch_netem (Chaos Mesh would retry for ever); set peers: rest to cap everything the target sends (a lone tbf, which this kernel has), or use via: platform, whose htb filters by peer")
	}
	return fmt.Errorf("chaos-mesh: %s needs tc netem in the pods' network namespaces and this kernel has no sch_netem (Chaos Mesh would retry for ever); use via: platform, whose shaping falls back to faultline's packet delayer", spec.Kind)
}
