package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// pollInterval is how often waits look again.
const pollInterval = time.Second

var gvkCRD = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// Waiter waits for objects of one deployment, and fails at once when a
// pod in one of Namespaces cannot get its image (ImagePullError) instead
// of waiting out its timeout.
type Waiter struct {
	C *Clients
	// Namespaces are watched for pods that cannot pull their images.
	Namespaces []string
}

// poll calls done every pollInterval until it reports true or fails,
// checking the namespaces' pods for images that cannot be pulled; when
// ctx ends it returns an error with what describe says.
func (w Waiter) poll(ctx context.Context, what string, done func(context.Context) (bool, error), describe func(context.Context) string) error {
	for {
		ok, err := done(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := ImagePullProblem(ctx, w.C, w.Namespaces...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			detail := ""
			if describe != nil {
				detail = describe(context.WithoutCancel(ctx))
			}
			return fmt.Errorf("%s: %w%s", what, ctx.Err(), detail)
		case <-time.After(pollInterval):
		}
	}
}

// WaitCRDsEstablished waits until each named custom resource definition
// is Established.
func WaitCRDsEstablished(ctx context.Context, c *Clients, names ...string) error {
	ri, _, err := Resource(c, gvkCRD, "")
	if err != nil {
		return err
	}
	pending := slices.Clone(names)
	return Waiter{C: c}.poll(ctx, "crds not established", func(ctx context.Context) (bool, error) {
		var left []string
		for _, n := range pending {
			u, err := ri.Get(ctx, n, metav1.GetOptions{})
			if err != nil || !conditionTrue(u, "Established") {
				left = append(left, n)
			}
		}
		pending = left
		return len(pending) == 0, nil
	}, func(context.Context) string { return " (" + strings.Join(pending, ", ") + ")" })
}

// conditionTrue reports whether o's status has condition typ True.
func conditionTrue(o *unstructured.Unstructured, typ string) bool {
	for _, c := range Conditions(o) {
		if c.Type == typ {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// Conditions returns the status conditions of o.
func Conditions(o *unstructured.Unstructured) []metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	var out []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		var c metav1.Condition
		c.Type, _ = m["type"].(string)
		s, _ := m["status"].(string)
		c.Status = metav1.ConditionStatus(s)
		c.Reason, _ = m["reason"].(string)
		c.Message, _ = m["message"].(string)
		out = append(out, c)
	}
	return out
}

// WaitDeployment waits until Deployment namespace/name has rolled out:
// its controller has seen the latest spec and every replica is updated
// and available.
func (w Waiter) WaitDeployment(ctx context.Context, namespace, name string) error {
	api := w.C.Typed.AppsV1().Deployments(namespace)
	return w.poll(ctx, fmt.Sprintf("deployment %s/%s not rolled out", namespace, name), func(ctx context.Context) (bool, error) {
		d, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return deploymentRolledOut(d), nil
	}, func(ctx context.Context) string {
		return " (" + PodProblems(ctx, w.C.Typed, namespace) + "; events: " + Events(ctx, w.C, namespace, "") + ")"
	})
}

func deploymentRolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want
}

// WaitStatefulSet waits until every replica of StatefulSet namespace/name
// is ready.
func (w Waiter) WaitStatefulSet(ctx context.Context, namespace, name string) error {
	api := w.C.Typed.AppsV1().StatefulSets(namespace)
	return w.poll(ctx, fmt.Sprintf("statefulset %s/%s not ready", namespace, name), func(ctx context.Context) (bool, error) {
		sts, err := api.Get(ctx, name, metav1.GetOptions{})
		return err == nil && sts.Spec.Replicas != nil && sts.Status.ReadyReplicas == *sts.Spec.Replicas, nil
	}, func(ctx context.Context) string {
		return " (" + PodProblems(ctx, w.C.Typed, namespace) + ")"
	})
}

// WaitFor waits until the custom resource of kind gvk at namespace/name
// satisfies ready, which is given the resource decoded into T and says
// whether it is ready and, if not, why. When ctx ends first the error
// holds the last why, the resource's conditions, its events and the
// namespace's pods that are not ready.
func WaitFor[T any](ctx context.Context, w Waiter, gvk schema.GroupVersionKind, namespace, name string, ready func(*T) (bool, string)) error {
	why := "not found"
	var last *unstructured.Unstructured
	return w.poll(ctx, fmt.Sprintf("%s %s/%s not ready", gvk.Kind, namespace, name), func(ctx context.Context) (bool, error) {
		ri, _, err := Resource(w.C, gvk, namespace)
		if err != nil {
			why = err.Error()
			return false, nil
		}
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			why = err.Error()
			return false, nil
		}
		last = u
		var t T
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &t); err != nil {
			return false, fmt.Errorf("%s %s/%s: decode: %w", gvk.Kind, namespace, name, err)
		}
		ok, w := ready(&t)
		why = w
		return ok, nil
	}, func(ctx context.Context) string {
		var conds []string
		if last != nil {
			for _, c := range Conditions(last) {
				conds = append(conds, fmt.Sprintf("%s=%s %s %s", c.Type, c.Status, c.Reason, Truncate(c.Message, 120)))
			}
		}
		return fmt.Sprintf(" (%s; conditions: [%s]; events: %s; pods: %s)", why, strings.Join(conds, "; "),
			Events(ctx, w.C, namespace, name), PodProblems(ctx, w.C.Typed, namespace))
	})
}

// Events lists the most recent events of namespace (of the object named
// name, when name is set), oldest first, for error messages.
func Events(ctx context.Context, c *Clients, namespace, name string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	opts := metav1.ListOptions{}
	if name != "" {
		opts.FieldSelector = "involvedObject.name=" + name
	}
	list, err := c.Typed.CoreV1().Events(namespace).List(ctx, opts)
	if err != nil {
		return "events: " + err.Error()
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
	if len(items) > 8 {
		items = items[len(items)-8:]
	}
	var out []string
	for _, e := range items {
		out = append(out, fmt.Sprintf("%s %s/%s: %s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, Truncate(e.Message, 160)))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

// Truncate shortens s to at most n bytes, saying how long it was.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:n], len(s))
}

// fromUnstructured decodes an object's map into a typed value.
func fromUnstructured(m map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
}
