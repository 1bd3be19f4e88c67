// Package kube talks to the Kubernetes API of a cluster that has one
// (platform.Kubernetes), for the engines deployed on it: server-side apply
// of any objects (custom resources and their definitions included), Helm
// charts through the Helm SDK and operators' release manifests, waits that
// fail fast when an image cannot be pulled, and ways to reach a Service
// from outside the cluster.
package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/faultline-dev/faultline/platform"
)

// Client returns a client for the cluster's API server, from its
// kubeconfig and context; an empty kubeconfig path is the default
// loading rules ($KUBECONFIG, ~/.kube/config).
func Client(k platform.Kubernetes) (kubernetes.Interface, error) {
	rc, err := RESTConfig(k)
	if err != nil {
		return nil, err
	}
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
