package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// Kinds Apply orders first.
var (
	gkNamespace = schema.GroupKind{Kind: "Namespace"}
	gkCRD       = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
)

// webhookWait bounds how long Apply retries an object an admission
// webhook refused because the webhook is not serving yet (an operator
// that has just rolled out).
const webhookWait = 90 * time.Second

// ToUnstructured converts objects for Apply. Typed objects of the API
// groups client-go knows may leave their TypeMeta empty; other typed
// objects (an engine's custom resources) must set apiVersion and kind.
func ToUnstructured(objs ...runtime.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
			continue
		}
		gvk := o.GetObjectKind().GroupVersionKind()
		if gvk.Empty() {
			kinds, _, err := clientgoscheme.Scheme.ObjectKinds(o)
			if err != nil || len(kinds) == 0 {
				return nil, fmt.Errorf("kube: %T has no apiVersion and kind: %w", o, err)
			}
			gvk = kinds[0]
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("kube: convert %T: %w", o, err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		// Typed objects carry an empty creationTimestamp and status,
		// which are no fields of an apply configuration.
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		if spec, ok := u.Object["spec"].(map[string]any); ok && len(spec) == 0 {
			delete(u.Object, "spec")
		}
		out = append(out, u)
	}
	return out, nil
}

// ApplyOptions change how Apply applies.
type ApplyOptions struct {
	// DryRun asks the API server to validate and admit every object
	// without persisting it (server-side dry run). Every object is tried
	// and every refusal returned.
	DryRun bool
}

// Apply server-side applies objs with field manager FieldManager,
// forcing conflicts (faultline owns what it applies). Namespaces go first
// and custom resource definitions next; Apply waits until the
// definitions are established before it applies the rest, so that one
// call can install an operator's CRDs and resources of their kinds.
// Objects an admission webhook refuses because it is not serving yet are
// retried for a while. Applying the same objects again changes nothing.
func Apply(ctx context.Context, c *Clients, objs []*unstructured.Unstructured, opts ApplyOptions) error {
	var groups [3][]*unstructured.Unstructured
	for _, o := range objs {
		r := applyRank(o)
		groups[r] = append(groups[r], o)
	}
	var errs []error
	for rank, group := range groups {
		for _, o := range group {
			err := applyOne(ctx, c, o, opts)
			if err != nil && !opts.DryRun {
				return err
			}
			errs = append(errs, err)
		}
		if rank == 1 && len(group) > 0 && !opts.DryRun {
			names := make([]string, len(group))
			for i, o := range group {
				names[i] = o.GetName()
			}
			if err := WaitCRDsEstablished(ctx, c, names...); err != nil {
				return err
			}
			c.Mapper.Reset()
		}
	}
	return errors.Join(errs...)
}

func applyRank(o *unstructured.Unstructured) int {
	switch o.GroupVersionKind().GroupKind() {
	case gkNamespace:
		return 0
	case gkCRD:
		return 1
	}
	return 2
}

// Resource returns the dynamic client of o's kind (in o's namespace when
// the kind is namespaced).
func Resource(c *Clients, gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A kind installed since the mapper last looked.
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kind %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(namespace), m, nil
	}
	return c.Dynamic.Resource(m.Resource), m, nil
}

func applyOne(ctx context.Context, c *Clients, o *unstructured.Unstructured, opts ApplyOptions) error {
	name := Describe(o)
	ri, _, err := Resource(c, o.GroupVersionKind(), o.GetNamespace())
	if err != nil {
		return fmt.Errorf("apply %s: %w", name, err)
	}
	ao := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if opts.DryRun {
		ao.DryRun = []string{metav1.DryRunAll}
	}
	deadline := time.Now().Add(webhookWait)
	for {
		_, err = ri.Apply(ctx, o.GetName(), o, ao)
		if err == nil || !webhookNotReady(err) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("apply %s: %w (last: %v)", name, ctx.Err(), err)
		case <-time.After(2 * time.Second):
		}
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", name, err)
	}
	return nil
}

// webhookNotReady reports whether err is an admission webhook that could
// not be called (its service has no endpoints yet, or refuses).
func webhookNotReady(err error) bool {
	if !apierrors.IsInternalError(err) && !apierrors.IsServiceUnavailable(err) && !apierrors.IsTimeout(err) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "failed calling webhook") || strings.Contains(s, "no endpoints available")
}

// Describe names an object for messages: Kind namespace/name.
func Describe(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}
