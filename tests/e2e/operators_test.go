//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/faultline-dev/faultline/engines"
	fltestenv "github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform/kube"
	"github.com/faultline-dev/faultline/scenarios"
)

// upstreamCRDs are the operators' CRDs, from FAULTLINE_SHARED/schemas.
var upstreamCRDs = []string{
	"cloudnativepg-clusters.crd.yaml",
	"cockroachdb-operator-v1beta1-crdbclusters.crd.yaml",
	"cockroachdb-operator-v1beta1-crdbnodes.crd.yaml",
	"etcd-operator-etcdclusters.crd.yaml",
	"vitess-operator-vitessclusters.crd.yaml",
}

// operatorEngines are the built-in scenarios whose objects the API
// server must accept, and the stand-in release manifest (the official
// one cannot be fetched without a network) whose Deployment runs the
// operator's official image, for the fast image failure.
var operatorEngines = []struct {
	engine, scenario string
	// standIn is a release manifest with the operator's namespace and
	// Deployment and its official image; empty when the engine installs
	// charts that render offline.
	standIn string
	// image is the image the failure must name.
	image string
}{
	{engine: "cloudnativepg", scenario: "cnpg-failover", standIn: standInManifest("cnpg-system", "cnpg-controller-manager", "ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0"), image: "ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0"},
	{engine: "cockroachdb", scenario: "cockroachdb-zone-outage", image: "docker.io/cockroachdb/cockroachdb-operator-v2:v1.0.0"},
	{engine: "etcd", scenario: "etcd-operator", standIn: standInManifest("etcd-operator-system", "etcd-operator-controller-manager", "gcr.io/etcd-development/etcd-operator:v0.2.0"), image: "gcr.io/etcd-development/etcd-operator:v0.2.0"},
	{engine: "vitess", scenario: "vitess-operator-failover", standIn: standInManifest("default", "vitess-operator", "planetscale/vitess-operator:v2.17.1"), image: "planetscale/vitess-operator:v2.17.1"},
}

func standInManifest(ns, name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
      containers: [{name: manager, image: %[3]q, imagePullPolicy: Always}]
`, ns, name, image)
}

// sharedSchemas is FAULTLINE_SHARED/schemas (default ../shared from the
// repository root).
func sharedSchemas() string {
	dir := os.Getenv("FAULTLINE_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "shared")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	return filepath.Join(dir, "schemas")
}

var _ = Describe("operator-managed engines on kind", Label("platform:kind", "operators"), Ordered, func() {
	var kc *kube.Clients

	BeforeAll(func(ctx SpecContext) {
		var err error
		kc, err = kube.Connect(provider.Cluster())
		Expect(err).NotTo(HaveOccurred())
		var crds []*unstructured.Unstructured
		for _, f := range upstreamCRDs {
			data, err := os.ReadFile(filepath.Join(sharedSchemas(), f))
			if os.IsNotExist(err) {
				msg := fmt.Sprintf("the upstream CRD schemas are not here (%v): set FAULTLINE_SHARED", err)
				if fltestenv.Required("shared") {
					Fail(msg)
				}
				Skip(msg)
			}
			Expect(err).NotTo(HaveOccurred())
			objs, err := kube.DecodeYAML(data)
			Expect(err).NotTo(HaveOccurred())
			crds = append(crds, objs...)
		}
		By("installing the upstream CRDs")
		Expect(kube.Apply(ctx, kc, crds, kube.ApplyOptions{})).To(Succeed())
	}, NodeTimeout(3*time.Minute))

	for _, e := range operatorEngines {
		It("has every generated object accepted by the API server (server-side dry run)", Label("engine:"+e.engine), func(ctx SpecContext) {
			s, envr := scenario(e.scenario)
			plan, _, err := scenarios.Manifests(ctx, s, envr)
			Expect(err).NotTo(HaveOccurred())
			objs := plan.Objects()
			for _, st := range plan {
				if st.Chart != nil && st.Chart.Source.Dir != "" {
					rendered, err := st.Chart.Render(ctx)
					Expect(err).NotTo(HaveOccurred())
					objs = append(objs, rendered...)
				}
			}
			// Namespaced objects are dry-run into namespaces that exist.
			var namespaces, rest []*unstructured.Unstructured
			for _, o := range objs {
				if o.GetKind() == "Namespace" {
					namespaces = append(namespaces, o)
				} else {
					rest = append(rest, o)
				}
			}
			Expect(kube.Apply(ctx, kc, namespaces, kube.ApplyOptions{})).To(Succeed())
			Expect(kube.Apply(ctx, kc, rest, kube.ApplyOptions{DryRun: true})).To(Succeed())
			AddReportEntry("dry-run", fmt.Sprintf("%s: %d objects accepted", e.scenario, len(objs)))
		}, NodeTimeout(3*time.Minute))

		It("fails its deploy within 60 s naming the image the nodes cannot pull", Label("engine:"+e.engine), func(ctx SpecContext) {
			s, envr := scenario(e.scenario)
			if e.standIn != "" {
				path := filepath.Join(GinkgoT().TempDir(), "release.yaml")
				Expect(os.WriteFile(path, []byte(e.standIn), 0o644)).To(Succeed())
				s.Engine.Options["operator-source"] = path
			}
			Expect(s.Validate(envr)).To(Succeed())
			eng, err := envr.Engines.Lookup(s.Engine.Name)
			Expect(err).NotTo(HaveOccurred())
			dctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			start := time.Now()
			err = deployAndWait(dctx, eng, s)
			took := time.Since(start)
			Expect(err).To(HaveOccurred())
			AddReportEntry("image failure", fmt.Sprintf("%s after %s: %v", e.engine, took.Round(time.Millisecond), err))
			Expect(took).To(BeNumerically("<=", 60*time.Second), "the deploy took %s to fail: %v", took, err)
			Expect(err.Error()).To(ContainSubstring(e.image))
			Expect(err.Error()).To(ContainSubstring("faultline images load"))
			Expect(err.Error()).To(ContainSubstring("--image-override"))
		}, NodeTimeout(3*time.Minute))
	}
})

// scenario loads a built-in scenario for the suite's cluster.
func scenario(name string) (*scenarios.Scenario, scenarios.Env) {
	GinkgoHelper()
	s, err := scenarios.Resolve(name)
	Expect(err).NotTo(HaveOccurred())
	envr := scenarios.DefaultEnv(scenarios.EnvOptions{})
	Expect(s.Validate(envr)).To(Succeed())
	if s.Engine.Options == nil {
		s.Engine.Options = map[string]string{}
	}
	return s, envr
}

// deployAndWait deploys the scenario's engine on the suite's cluster and
// waits for it.
func deployAndWait(ctx context.Context, eng engines.Engine, s *scenarios.Scenario) error {
	c := sharedCluster{provider.Cluster()}
	if err := eng.Deploy(ctx, c, s.EngineSpec()); err != nil {
		return err
	}
	defer func() {
		if td, ok := eng.(engines.Teardown); ok {
			td.Teardown(context.WithoutCancel(ctx), c)
		}
	}()
	err := eng.WaitReady(ctx, c)
	if err == nil {
		return fmt.Errorf("%s became ready, with images the nodes should not hold", eng.Name())
	}
	return err
}
