package e2ekind

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/e2e-framework/support"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kind"
)

func TestProviderOptions(t *testing.T) {
	p := New(kind.Options{}, platform.Topology{})
	p.WithName("c1").WithVersion("v1.34.4").WithOpts(func(c support.E2EClusterProvider) { c.WithVersion("faultline/kind-node:x") })
	if p.opts.Name != "c1" || p.opts.NodeImage != "faultline/kind-node:x" {
		t.Errorf("options = %+v; a bare Kubernetes version must not become a node image, an image reference must", p.opts)
	}
	if _, err := p.Create(context.Background(), "--retain"); err == nil || !strings.Contains(err.Error(), "--retain") {
		t.Errorf("Create with kind CLI arguments: %v", err)
	}
	if p.GetKubeconfig() != "" || p.GetKubectlContext() != "" || p.KubernetesRestConfig() != nil || p.Destroy(context.Background()) != nil {
		t.Error("a provider without a cluster claims one")
	}
	if err := p.LoadImage(context.Background(), "x"); err == nil {
		t.Error("LoadImage without a cluster succeeded")
	}
}
