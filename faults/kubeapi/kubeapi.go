// Package kubeapi injects faults through the Kubernetes API alone, on any
// cluster where faultline may delete pods and update nodes: pod-delete,
// node-cordon and node-drain need nothing installed.
package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// DefaultDrainTimeout bounds a drain's evictions, retried while a
// PodDisruptionBudget refuses them.
const DefaultDrainTimeout = 2 * time.Minute

// Annotations on the nodes faultline cordons: the run's labels, so that
// heal uncordons the nodes of runs that are gone and nothing else.
const (
	AnnotationRun  = faults.LabelRun
	AnnotationHost = faults.LabelHost
	AnnotationPID  = faults.LabelPID
)

// Injector is the faults.Injector of the Kubernetes API. Its zero value
// connects through the cluster's kubeconfig (platform.Kubernetes).
type Injector struct {
	// Connect returns a clientset for a cluster; nil is kube.Client.
	Connect func(c platform.Cluster) (kubernetes.Interface, error)
	// DrainTimeout overrides DefaultDrainTimeout.
	DrainTimeout time.Duration
	// retryEvery is how often refused evictions are retried; 0 is 2s.
	retryEvery time.Duration
}

var _ faults.Injector = (*Injector)(nil)

// Name implements faults.Injector.
func (*Injector) Name() string { return faults.ViaKubernetes }

var kinds = faults.Methods{
	{Kind: faults.KindPodDelete, How: "delete the engine's pods on the target nodes (grace-period)"},
	{Kind: faults.KindNodeCordon, How: "mark the nodes unschedulable; uncordon on heal"},
	{Kind: faults.KindNodeDrain, How: "cordon, then evict every pod but DaemonSets' (PodDisruptionBudgets honoured; force deletes); uncordon on heal"},
}

// Kinds implements faults.Injector.
func (*Injector) Kinds() []string { return kinds.Kinds() }

// How says what the API calls of a fault kind are, or "".
func How(kind string) string { return kinds.How(kind) }

// CanInject implements faults.Injector.
func (in *Injector) CanInject(p platform.Platform, kind string) error {
	if How(kind) == "" {
		return fmt.Errorf("the Kubernetes API does not carry %s", kind)
	}
	if !platform.CapabilitiesOf(p).Kubernetes {
		return &faults.NotOnPlatform{Reason: fmt.Sprintf("%s needs Kubernetes, and platform %s runs none", kind, p.Name())}
	}
	return nil
}

// Fault implements faults.Injector.
func (in *Injector) Fault(spec faults.Spec) (faults.Fault, error) {
	if How(spec.Kind) == "" {
		return nil, fmt.Errorf("faults[%d].kind: the Kubernetes API does not carry %s", spec.ID, spec.Kind)
	}
	return &fault{in: in, spec: spec}, nil
}

func (in *Injector) connect(c platform.Cluster) (kubernetes.Interface, error) {
	if in.Connect != nil {
		return in.Connect(c)
	}
	k, ok := c.(platform.Kubernetes)
	if !ok {
		return nil, fmt.Errorf("kubernetes: cluster %s runs no Kubernetes", c.Name())
	}
	return kube.Client(k)
}

type fault struct {
	in   *Injector
	spec faults.Spec
}

var (
	_ faults.Fault     = (*fault)(nil)
	_ faults.Mechanism = (*fault)(nil)
	_ faults.Preparer  = (*fault)(nil)
)

// Name implements faults.Fault.
func (f *fault) Name() string { return f.spec.Kind }

// Mechanism implements faults.Mechanism.
func (f *fault) Mechanism() string { return "kubernetes api " + f.spec.Kind }

// Prepare implements faults.Preparer: faults must be permitted, and a
// pod-delete needs the engine's pods.
func (f *fault) Prepare(ctx context.Context, c platform.Cluster, t faults.Target) error {
	if fp, ok := c.(platform.FaultPermission); ok {
		if err := fp.PermitFaults(); err != nil {
			return err
		}
	}
	if f.spec.Kind == faults.KindPodDelete && (t.Pods == nil || t.Pods.Namespace == "") {
		return errors.New("kubernetes: pod-delete needs the engine to say which pods are its own (engines.PodOwner)")
	}
	_, err := f.in.connect(c)
	return err
}

// Inject implements faults.Fault.
func (f *fault) Inject(ctx context.Context, c platform.Cluster, t faults.Target) (faults.Heal, error) {
	if fp, ok := c.(platform.FaultPermission); ok {
		if err := fp.PermitFaults(); err != nil {
			return nil, err
		}
	}
	cs, err := f.in.connect(c)
	if err != nil {
		return nil, err
	}
	nodes := make([]string, 0, len(t.Nodes))
	for _, n := range t.Nodes {
		if n.Role == platform.RoleControlPlane {
			return nil, fmt.Errorf("kubernetes: node %s is a control plane; faults never target it", n.Name)
		}
		nodes = append(nodes, n.Name)
	}
	if len(nodes) == 0 {
		return nil, errors.New("kubernetes: no target nodes")
	}
	switch f.spec.Kind {
	case faults.KindPodDelete:
		return f.deletePods(ctx, cs, nodes, t)
	case faults.KindNodeCordon:
		return cordonAll(ctx, cs, nodes, t)
	case faults.KindNodeDrain:
		heal, err := cordonAll(ctx, cs, nodes, t)
		if err != nil {
			return nil, err
		}
		if err := f.drain(ctx, cs, nodes, t.Log); err != nil {
			if herr := heal(context.WithoutCancel(ctx)); herr != nil {
				err = errors.Join(err, fmt.Errorf("undo: %w", herr))
			}
			return nil, err
		}
		return heal, nil
	}
	return nil, fmt.Errorf("kubernetes: %s is not an API fault", f.spec.Kind)
}

// deletePods deletes the engine's pods on nodes. Their controllers make
// new ones; there is nothing to heal.
func (f *fault) deletePods(ctx context.Context, cs kubernetes.Interface, nodes []string, t faults.Target) (faults.Heal, error) {
	if t.Pods == nil || t.Pods.Namespace == "" {
		return nil, errors.New("kubernetes: pod-delete needs the engine's pods (engines.PodOwner)")
	}
	list, err := cs.CoreV1().Pods(t.Pods.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(t.Pods.Labels).String()})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: list the engine's pods: %w", err)
	}
	grace := int64(f.spec.GracePeriod / time.Second)
	var deleted []string
	var errs []error
	for _, p := range list.Items {
		if !slices.Contains(nodes, p.Spec.NodeName) || p.DeletionTimestamp != nil {
			continue
		}
		err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err))
			continue
		}
		deleted = append(deleted, p.Name+" on "+p.Spec.NodeName)
	}
	t.Log.Printf("kubernetes: deleted pods (grace period %ds): %s", grace, strings.Join(deleted, ", "))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	if len(deleted) == 0 {
		return nil, fmt.Errorf("kubernetes: no pod of the engine (namespace %s, labels %v) on %s", t.Pods.Namespace, t.Pods.Labels, strings.Join(nodes, ", "))
	}
	return func(context.Context) error { return nil }, nil
}

// cordonAll cordons nodes that are schedulable, marking them with the
// run's labels; the Heal uncordons those and only those.
func cordonAll(ctx context.Context, cs kubernetes.Interface, nodes []string, t faults.Target) (faults.Heal, error) {
	var cordoned []string
	heal := func(ctx context.Context) error {
		var errs []error
		for _, n := range cordoned {
			if err := uncordon(ctx, cs, n); err != nil {
				errs = append(errs, err)
				continue
			}
			t.Log.Printf("kubernetes: uncordoned node %s", n)
		}
		return errors.Join(errs...)
	}
	for _, n := range nodes {
		node, err := cs.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("kubernetes: node %s: %w", n, err), heal(context.WithoutCancel(ctx)))
		}
		if node.Spec.Unschedulable {
			t.Log.Printf("kubernetes: node %s is already cordoned (not by this fault): left as it is", n)
			continue
		}
		ann := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q,%q:%q,%q:%q}},"spec":{"unschedulable":true}}`,
			AnnotationRun, t.Labels[faults.LabelRun], AnnotationHost, t.Labels[faults.LabelHost], AnnotationPID, t.Labels[faults.LabelPID])
		if _, err := cs.CoreV1().Nodes().Patch(ctx, n, types.MergePatchType, []byte(ann), metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil {
			return nil, errors.Join(fmt.Errorf("kubernetes: cordon %s: %w", n, err), heal(context.WithoutCancel(ctx)))
		}
		cordoned = append(cordoned, n)
		t.Log.Printf("kubernetes: cordoned node %s", n)
	}
	return heal, nil
}

// uncordon makes node schedulable again and removes faultline's marks.
func uncordon(ctx context.Context, cs kubernetes.Interface, node string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null,%q:null,%q:null}},"spec":{"unschedulable":null}}`, AnnotationRun, AnnotationHost, AnnotationPID)
	_, err := cs.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: kube.FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes: uncordon %s: %w", node, err)
	}
	return nil
}

// drain evicts (or, with Force, deletes) every pod on nodes except
// DaemonSets' and static pods, retrying evictions a PodDisruptionBudget
// refuses until the drain timeout.
func (f *fault) drain(ctx context.Context, cs kubernetes.Interface, nodes []string, log *faults.Log) error {
	timeout := f.in.DrainTimeout
	if timeout <= 0 {
		timeout = DefaultDrainTimeout
	}
	every := f.in.retryEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, n := range nodes {
		pods, err := cs.CoreV1().Pods("").List(dctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n})
		if err != nil {
			return fmt.Errorf("kubernetes: drain %s: list pods: %w", n, err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != n || skipDrain(p) {
				continue
			}
			for {
				err := f.evict(dctx, cs, p)
				if err == nil || apierrors.IsNotFound(err) {
					log.Printf("kubernetes: drain %s: %s pod %s/%s", n, map[bool]string{true: "deleted", false: "evicted"}[f.spec.Force], p.Namespace, p.Name)
					break
				}
				if !apierrors.IsTooManyRequests(err) {
					return fmt.Errorf("kubernetes: drain %s: evict %s/%s: %w", n, p.Namespace, p.Name, err)
				}
				select {
				case <-dctx.Done():
					return fmt.Errorf("kubernetes: drain %s: a PodDisruptionBudget kept refusing the eviction of %s/%s for %s (%v); set force: true to delete instead", n, p.Namespace, p.Name, timeout, err)
				case <-time.After(every):
				}
			}
		}
	}
	return nil
}

func (f *fault) evict(ctx context.Context, cs kubernetes.Interface, p corev1.Pod) error {
	if f.spec.Force {
		return cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	}
	return cs.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
}

// skipDrain reports whether a drain leaves p alone: DaemonSets' pods (the
// DaemonSet would put them back) and static pods (the kubelet owns
// them), and pods already terminating or done.
func skipDrain(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true
	}
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

// Heal uncordons every node a faultline run cordoned whose process is no
// longer running (faults.Alive), writing what it did to w. It is safe to
// run twice.
func Heal(ctx context.Context, cs kubernetes.Interface, w io.Writer) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("kubernetes: list nodes: %w", err)
	}
	var errs []error
	for _, n := range nodes.Items {
		run, ok := n.Annotations[AnnotationRun]
		if !ok {
			continue
		}
		if faults.Alive(n.Annotations) {
			fmt.Fprintf(w, "node %s was cordoned by run %s, which is still running: left alone\n", n.Name, run)
			continue
		}
		if err := uncordon(ctx, cs, n.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "uncordoned node %s (cordoned by run %s)\n", n.Name, run)
	}
	return errors.Join(errs...)
}
