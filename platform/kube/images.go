package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pullFailures are the waiting reasons of a container whose image the
// kubelet cannot get; each fails a deployment at once.
var pullFailures = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}

// ImagePullError says that a pod cannot get its image, and how to supply
// it.
type ImagePullError struct {
	// Image is the image reference the pod asks for.
	Image string
	// Pod is namespace/name of the pod; Reason and Message the kubelet's.
	Pod, Reason, Message string
}

// Error implements error.
func (e *ImagePullError) Error() string {
	return fmt.Sprintf("image %s cannot be pulled (pod %s: %s: %s); supply it: set engine.image or "+
		"engine.images (or run with --image-override %s=LOCAL-REF) to an image the nodes hold or can pull, "+
		"or copy it into the nodes with `faultline images load IMAGE`",
		e.Image, e.Pod, e.Reason, Truncate(e.Message, 160), e.Image)
}

// ImagePullProblem returns an *ImagePullError for the first pod of the
// namespaces with a container (or init container) that cannot get its
// image, or nil.
func ImagePullProblem(ctx context.Context, c *Clients, namespaces ...string) error {
	for _, ns := range namespaces {
		pods, err := c.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, p := range pods.Items {
			if err := podPullProblem(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func podPullProblem(p corev1.Pod) *ImagePullError {
	statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for _, s := range statuses {
		w := s.State.Waiting
		if w == nil || !slices.Contains(pullFailures, w.Reason) {
			continue
		}
		img := s.Image
		for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
			if c.Name == s.Name {
				img = c.Image
			}
		}
		return &ImagePullError{Image: img, Pod: p.Namespace + "/" + p.Name, Reason: w.Reason, Message: w.Message}
	}
	return nil
}

// Images lists the images of the pod templates among objs (Deployments,
// StatefulSets, DaemonSets, Jobs, Pods), sorted and without duplicates.
// Images an operator adds to the pods it creates are not among them.
func Images(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		var spec []string
		switch o.GetKind() {
		case "Pod":
			spec = []string{"spec"}
		case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
			spec = []string{"spec", "template", "spec"}
		case "CronJob":
			spec = []string{"spec", "jobTemplate", "spec", "template", "spec"}
		default:
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, append(slices.Clone(spec), field)...)
			for _, c := range cs {
				if m, ok := c.(map[string]any); ok {
					if img, ok := m["image"].(string); ok && img != "" && !slices.Contains(out, img) {
						out = append(out, img)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// MissingImages returns the images that some worker node does not hold,
// by the names the kubelet reports (node status), which the nodes will
// have to pull. An image named without a registry matches its docker.io
// name.
func MissingImages(ctx context.Context, c *Clients, images []string) ([]string, error) {
	nodes, err := c.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var missing []string
	for _, img := range images {
		want := NormalizeImage(img)
		for _, n := range nodes.Items {
			if _, cp := n.Labels[LabelControlPlane]; cp {
				continue
			}
			if !nodeHas(n, want) {
				missing = append(missing, img)
				break
			}
		}
	}
	return missing, nil
}

func nodeHas(n corev1.Node, want string) bool {
	for _, ci := range n.Status.Images {
		for _, name := range ci.Names {
			if NormalizeImage(name) == want {
				return true
			}
		}
	}
	return false
}

// NormalizeImage spells an image reference as containerd stores it:
// docker.io/library/etcd:latest for etcd.
func NormalizeImage(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	first, _, hasSlash := strings.Cut(name, "/")
	switch {
	case !hasSlash:
		name = "docker.io/library/" + name
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		name = "docker.io/" + name
	}
	if i := strings.LastIndex(name, "/"); !strings.Contains(name[i:], ":") && !hasDigest {
		name += ":latest"
	}
	if hasDigest {
		return name + "@" + digest
	}
	return name
}
