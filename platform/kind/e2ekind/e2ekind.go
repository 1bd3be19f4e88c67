// Package e2ekind is an e2e-framework cluster provider over faultline's
// kind platform: suites written for sigs.k8s.io/e2e-framework boot the
// same zone-labelled clusters, on the same Docker daemon, that faultline
// runs scenarios on, without a kind binary.
package e2ekind

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kind"
)

// Provider creates one kind cluster through package kind. Create boots
// Topology; CreateWithConfig boots a kind configuration file (such as
// kind-configs/three-zones.yaml).
type Provider struct {
	opts     kind.Options
	topology platform.Topology
	cluster  *kind.Cluster
}

var _ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)

// New returns a provider that creates clusters with opts, of topology t
// when created without a configuration file.
func New(opts kind.Options, t platform.Topology) *Provider {
	return &Provider{opts: opts, topology: t}
}

// Cluster is the cluster the provider created, for faultline's runner and
// faults; nil before Create.
func (p *Provider) Cluster() *kind.Cluster { return p.cluster }

// WithName implements support.E2EClusterProvider.
func (p *Provider) WithName(name string) support.E2EClusterProvider {
	p.opts.Name = name
	return p
}

// WithVersion implements support.E2EClusterProvider: a version is a node
// image reference when it names one ("repo:tag"); Kubernetes versions
// alone mean nothing here, where node images are built locally.
func (p *Provider) WithVersion(version string) support.E2EClusterProvider {
	if strings.Contains(version, ":") {
		p.opts.NodeImage = version
	}
	return p
}

// WithPath implements support.E2EClusterProvider. There is no kind binary
// to find: the path is ignored.
func (p *Provider) WithPath(string) support.E2EClusterProvider { return p }

// WithOpts implements support.E2EClusterProvider.
func (p *Provider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

// SetDefaults implements support.E2EClusterProvider; New set them.
func (p *Provider) SetDefaults() support.E2EClusterProvider { return p }

// Create implements support.E2EClusterProvider: it boots the provider's
// topology and returns the kubeconfig path. Arguments are kind CLI flags,
// which have no meaning here; any is an error.
func (p *Provider) Create(ctx context.Context, args ...string) (string, error) {
	if len(args) > 0 {
		return "", fmt.Errorf("e2ekind: create: kind command-line arguments %q are not supported; set kind.Options", args)
	}
	return p.create(ctx, kind.Config(p.topology, p.opts.KubeletPatches))
}

// CreateWithConfig implements support.E2EClusterProvider.
func (p *Provider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	cfg, err := kind.LoadConfig(configFile)
	if err != nil {
		return "", err
	}
	return p.create(ctx, cfg)
}

func (p *Provider) create(ctx context.Context, cfg *v1alpha4.Cluster) (string, error) {
	c, err := kind.New(p.opts).CreateConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	p.cluster = c
	return c.Kubeconfig(), nil
}

// GetKubeconfig implements support.E2EClusterProvider.
func (p *Provider) GetKubeconfig() string {
	if p.cluster == nil {
		return ""
	}
	return p.cluster.Kubeconfig()
}

// GenerateKubeconfig implements support.E2EClusterProvider: the cluster's
// kubeconfig is written when it is created.
func (p *Provider) GenerateKubeconfig(...string) (string, error) {
	if p.cluster == nil {
		return "", fmt.Errorf("e2ekind: no cluster created")
	}
	return p.cluster.Kubeconfig(), nil
}

// GetKubectlContext implements support.E2EClusterProvider.
func (p *Provider) GetKubectlContext() string {
	if p.cluster == nil {
		return ""
	}
	return p.cluster.Context()
}

// ExportLogs implements support.E2EClusterProvider.
func (p *Provider) ExportLogs(ctx context.Context, dest string) error {
	if p.cluster == nil {
		return fmt.Errorf("e2ekind: no cluster created")
	}
	return p.cluster.ExportLogs(ctx, dest)
}

// Destroy implements support.E2EClusterProvider.
func (p *Provider) Destroy(ctx context.Context) error {
	if p.cluster == nil {
		return nil
	}
	return p.cluster.Delete(ctx)
}

// WaitForControlPlane implements support.E2EClusterProvider. Create
// returns only once every node is Ready, so there is nothing left to
// wait for.
func (p *Provider) WaitForControlPlane(context.Context, klient.Client) error { return nil }

// KubernetesRestConfig implements support.E2EClusterProvider.
func (p *Provider) KubernetesRestConfig() *rest.Config {
	if p.cluster == nil {
		return nil
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: p.cluster.Kubeconfig()},
		&clientcmd.ConfigOverrides{CurrentContext: p.cluster.Context()},
	).ClientConfig()
	if err != nil {
		return nil
	}
	return rc
}

// LoadImage implements support.E2EClusterProviderWithImageLoader: the
// image is copied from the Docker daemon into every node.
func (p *Provider) LoadImage(ctx context.Context, image string, _ ...string) error {
	if p.cluster == nil {
		return fmt.Errorf("e2ekind: no cluster created")
	}
	return p.cluster.LoadImages(ctx, image)
}

// LoadImageArchive implements support.E2EClusterProviderWithImageLoader.
func (p *Provider) LoadImageArchive(context.Context, string, ...string) error {
	return fmt.Errorf("e2ekind: loading image archives is not supported; load the image into the Docker daemon and use LoadImage")
}
