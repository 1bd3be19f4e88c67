package chaosmesh

import (
	"fmt"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Scheme returns a scheme with Kubernetes' built-in kinds and Chaos
// Mesh's v1alpha1 kinds.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Connect returns a controller-runtime client for a Kubernetes cluster
// (platform.Kubernetes), from its kubeconfig and context.
func Connect(c platform.Cluster) (client.Client, error) {
	k, ok := c.(platform.Kubernetes)
	if !ok {
		return nil, fmt.Errorf("chaos-mesh: cluster %s runs no Kubernetes", c.Name())
	}
	rc, err := kube.RESTConfig(k)
	if err != nil {
		return nil, fmt.Errorf("chaos-mesh: %w", err)
	}
	s, err := Scheme()
	if err != nil {
		return nil, fmt.Errorf("chaos-mesh: scheme: %w", err)
	}
	cl, err := client.New(rc, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("chaos-mesh: client for %s: %w", c.Name(), err)
	}
	return cl, nil
}
