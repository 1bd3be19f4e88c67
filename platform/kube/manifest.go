package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxManifest bounds a release manifest's size.
const maxManifest = 32 << 20

// ReleaseManifest is an operator's install manifest as its maintainers
// publish it with each release (the YAML `kubectl apply --server-side -f
// URL` applies), fetched at run time from Source, an https URL or a local
// file, and adjusted by Images before it is applied.
type ReleaseManifest struct {
	// Source is the manifest's URL or a local file.
	Source string `json:"source"`
	// Images maps image references of the manifest to the ones to run
	// instead; every string of the manifest equal to a key is replaced
	// (container images and the environment variables that pass them
	// on, such as an operator's own image for its init containers).
	Images map[string]string `json:"images,omitempty"`
	// PullIfNotPresent turns imagePullPolicy Always into IfNotPresent, so
	// that images preloaded into the nodes are used.
	PullIfNotPresent bool `json:"pullIfNotPresent,omitempty"`
	// NodeSelector and Tolerations, when set, replace those of every
	// Deployment's pods: to keep an operator off the nodes faults take
	// down.
	NodeSelector map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations  []corev1.Toleration `json:"tolerations,omitempty"`
	// Namespace is where namespaced objects that name no namespace go,
	// as `kubectl apply -n NAMESPACE -f` would put them; empty is
	// "default", kubectl's own default. Manifests written for kubectl's
	// default namespace (Vitess's operator guide) need it.
	Namespace string `json:"namespace,omitempty"`
}

// Load fetches or reads the manifest, decodes it and applies Images and
// PullIfNotPresent.
func (m ReleaseManifest) Load(ctx context.Context) ([]*unstructured.Unstructured, error) {
	data, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := DecodeYAML(data)
	if err != nil {
		return nil, fmt.Errorf("release manifest %s: %w", Truncate(m.Source, 60), err)
	}
	ns := m.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	for _, o := range objs {
		if o.GetNamespace() == "" && namespaced(o) {
			o.SetNamespace(ns)
		}
		if o.GetKind() == "Deployment" && (m.NodeSelector != nil || m.Tolerations != nil) {
			if err := place(o, m.NodeSelector, m.Tolerations); err != nil {
				return nil, fmt.Errorf("release manifest: %s: %w", Describe(o), err)
			}
		}
		o.Object = rewrite(o.Object, func(path []string, s string) string {
			if r, ok := m.Images[s]; ok {
				return r
			}
			if m.PullIfNotPresent && s == "Always" && len(path) > 0 && path[len(path)-1] == "imagePullPolicy" {
				return "IfNotPresent"
			}
			return s
		}, nil).(map[string]any)
	}
	return objs, nil
}

func (m ReleaseManifest) read(ctx context.Context) ([]byte, error) {
	src := m.Source
	if !strings.HasPrefix(src, "https://") && !strings.HasPrefix(src, "http://") {
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("release manifest: %w", err)
		}
		return data, nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("release manifest %s: %w", Truncate(src, 60), err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("release manifest: fetch %s: %w (download it and point at the file instead)", Truncate(src, 60), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("release manifest: fetch %s: %s", Truncate(src, 60), resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxManifest))
}

// rewrite returns v with every string passed through f, given its path
// of map keys.
func rewrite(v any, f func(path []string, s string) string, path []string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = rewrite(e, f, append(path, k))
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = rewrite(e, f, path)
		}
		return x
	case string:
		return f(path, x)
	}
	return v
}

// place sets a Deployment's pods' node selector and tolerations.
func place(o *unstructured.Unstructured, sel map[string]string, tol []corev1.Toleration) error {
	if sel != nil {
		m := map[string]any{}
		for k, v := range sel {
			m[k] = v
		}
		if err := unstructured.SetNestedMap(o.Object, m, "spec", "template", "spec", "nodeSelector"); err != nil {
			return err
		}
	}
	if tol != nil {
		list := make([]any, 0, len(tol))
		for _, t := range tol {
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&t)
			if err != nil {
				return err
			}
			list = append(list, u)
		}
		if err := unstructured.SetNestedSlice(o.Object, list, "spec", "template", "spec", "tolerations"); err != nil {
			return err
		}
	}
	return nil
}
