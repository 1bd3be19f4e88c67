package kube

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/faultline-dev/faultline/platform"
)

// FieldManager is the field manager of every server-side apply faultline
// makes, so that its fields are told apart from an operator's.
const FieldManager = "faultline"

// requestTimeout bounds each API request.
const requestTimeout = 15 * time.Second

// Clients are the API clients of one cluster: typed, dynamic (for custom
// resources), and a REST mapper that learns kinds installed after it was
// made (CRDs applied by an engine).
type Clients struct {
	// Config is the REST configuration the clients were made from.
	Config *rest.Config
	// Typed is the typed clientset.
	Typed kubernetes.Interface
	// Dynamic is the dynamic client.
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources; Reset forgets what it cached.
	Mapper meta.ResettableRESTMapper
	// Kubeconfig and Context are where the configuration came from, for
	// the Helm SDK.
	Kubeconfig, Context string
}

// RESTConfig loads the REST configuration of a cluster from its
// kubeconfig and context; an empty kubeconfig path is the default loading
// rules ($KUBECONFIG, ~/.kube/config).
func RESTConfig(k platform.Kubernetes) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.Kubeconfig()
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		rules,
		&clientcmd.ConfigOverrides{CurrentContext: k.Context()},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s (context %q): %w", k.Kubeconfig(), k.Context(), err)
	}
	rc.Timeout = requestTimeout
	return rc, nil
}

// Connect returns the clients of a cluster.
func Connect(k platform.Kubernetes) (*Clients, error) {
	rc, err := RESTConfig(k)
	if err != nil {
		return nil, err
	}
	typed, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery: %w", err)
	}
	return &Clients{
		Config:     rc,
		Typed:      typed,
		Dynamic:    dyn,
		Mapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		Kubeconfig: k.Kubeconfig(),
		Context:    k.Context(),
	}, nil
}
