// Package kube talks to the Kubernetes API of a cluster that has one
// (platform.Kubernetes): clients, idempotent apply of the typed objects
// engines generate, and waits.
package kube

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/faultline-dev/faultline/platform"
)

// Client returns a client for the cluster's API server, from its
// kubeconfig and context; an empty kubeconfig path is the default
// loading rules ($KUBECONFIG, ~/.kube/config).
func Client(k platform.Kubernetes) (kubernetes.Interface, error) {
	// An empty path is the default loading rules ($KUBECONFIG,
	// ~/.kube/config).
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.Kubeconfig()
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		rules,
		&clientcmd.ConfigOverrides{CurrentContext: k.Context()},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s (context %q): %w", k.Kubeconfig(), k.Context(), err)
	}
	rc.Timeout = 15 * time.Second
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}

// RecreateNamespace deletes namespace name if it exists, waits until it
// is gone (with everything in it), and creates it again with labels, so
// that a deployment starts from nothing on a reused cluster.
func RecreateNamespace(ctx context.Context, cs kubernetes.Interface, name string, labels map[string]string) error {
	nss := cs.CoreV1().Namespaces()
	err := nss.Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	for err == nil {
		if _, err = nss.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s is still being deleted: %w", name, ctx.Err())
		case <-time.After(time.Second):
		}
		err = nil
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := nss.Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// ApplyService creates svc, or updates the one of that name to it.
func ApplyService(ctx context.Context, cs kubernetes.Interface, svc *corev1.Service) error {
	api := cs.CoreV1().Services(svc.Namespace)
	_, err := api.Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := api.Get(ctx, svc.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("service %s/%s: %w", svc.Namespace, svc.Name, gerr)
		}
		upd := svc.DeepCopy()
		upd.ResourceVersion = cur.ResourceVersion
		if upd.Spec.ClusterIP == "" {
			upd.Spec.ClusterIP = cur.Spec.ClusterIP
		}
		_, err = api.Update(ctx, upd, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// ApplyStatefulSet creates sts, or updates the one of that name to it.
func ApplyStatefulSet(ctx context.Context, cs kubernetes.Interface, sts *appsv1.StatefulSet) error {
	api := cs.AppsV1().StatefulSets(sts.Namespace)
	_, err := api.Create(ctx, sts, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := api.Get(ctx, sts.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("statefulset %s/%s: %w", sts.Namespace, sts.Name, gerr)
		}
		upd := sts.DeepCopy()
		upd.ResourceVersion = cur.ResourceVersion
		_, err = api.Update(ctx, upd, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("statefulset %s/%s: %w", sts.Namespace, sts.Name, err)
	}
	return nil
}

// WaitRollout waits until every replica of a StatefulSet is ready, and
// says, when ctx ends first, what its pods were waiting for.
func WaitRollout(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	for {
		sts, err := cs.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil && sts.Spec.Replicas != nil && sts.Status.ReadyReplicas == *sts.Spec.Replicas {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("statefulset %s/%s not ready: %w (%s)", namespace, name, ctx.Err(), PodProblems(context.WithoutCancel(ctx), cs, namespace))
		case <-time.After(time.Second):
		}
	}
}

// PodProblems describes the pods of namespace that are not ready: their
// phase and what their containers wait for, for error messages.
func PodProblems(ctx context.Context, cs kubernetes.Interface, namespace string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "pods: " + err.Error()
	}
	out := ""
	for _, p := range pods.Items {
		s := fmt.Sprintf("%s on %q: %s", p.Name, p.Spec.NodeName, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue && c.Message != "" {
				s += " (" + c.Message + ")"
			}
		}
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				s += fmt.Sprintf(" %s waiting: %s %s", c.Name, w.Reason, w.Message)
			}
			if t := c.LastTerminationState.Terminated; t != nil {
				s += fmt.Sprintf(" %s last exited %d: %s", c.Name, t.ExitCode, t.Reason)
			}
		}
		if out != "" {
			out += "; "
		}
		out += s
	}
	if out == "" {
		return "no pods"
	}
	return out
}

// Node labels faultline reads.
const (
	LabelZone         = "topology.kubernetes.io/zone"
	LabelRegion       = "topology.kubernetes.io/region"
	LabelControlPlane = "node-role.kubernetes.io/control-plane"
)

// Node converts an API node: its name, zone and region labels, role
// (control plane when kubeadm's label says so) and internal address.
func Node(n corev1.Node) platform.Node {
	pn := platform.Node{
		Name:   n.Name,
		Zone:   n.Labels[LabelZone],
		Region: n.Labels[LabelRegion],
		Role:   platform.RoleWorker,
	}
	if _, ok := n.Labels[LabelControlPlane]; ok {
		pn.Role = platform.RoleControlPlane
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && pn.Addr == "" {
			pn.Addr = a.Address
		}
	}
	return pn
}
