//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/kind/e2ekind"
)

const clusterName = "faultline-e2e"

var (
	testenv  env.Environment
	provider *e2ekind.Provider
	outDir   string
	// etcdImage is what scenarios deploy; empty is the engine's default.
	etcdImage string
)

// TestMain reads like the runbook: boot the cluster, load the etcd
// image, run the specs, export the logs and delete the cluster.
func TestMain(m *testing.M) {
	// The packet delayer that latency faults start is this binary.
	agent.Main(map[string]agent.Func{delayer.AgentName: delayer.Agent})
	nodeImage := os.Getenv("FAULTLINE_NODE_IMAGE")
	if nodeImage == "" {
		fmt.Println("skipping the e2e suite: FAULTLINE_NODE_IMAGE (a kind node image the Docker daemon has) is not set")
		os.Exit(0)
	}
	host := os.Getenv("FAULTLINE_DOCKER_HOST")
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	etcdImage = os.Getenv("FAULTLINE_ETCD_IMAGE")
	if outDir = os.Getenv("FAULTLINE_E2E_OUT"); outDir == "" {
		var err error
		if outDir, err = os.MkdirTemp("", "faultline-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	provider = e2ekind.New(kind.Options{
		DockerHost: host,
		NodeImage:  nodeImage,
		Name:       clusterName,
		Log:        os.Stderr,
	}, platform.Topology{})
	testenv = env.NewWithConfig(envconf.New())
	testenv.Setup(
		envfuncs.CreateClusterWithConfig(provider, clusterName, filepath.Join("..", "..", "kind-configs", "three-zones.yaml")),
		loadEtcdImage,
	)
	testenv.Finish(exportLogs, envfuncs.DestroyCluster(clusterName))
	os.Exit(testenv.Run(m))
}

func loadEtcdImage(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	if etcdImage == "" {
		return ctx, nil
	}
	start := time.Now()
	if err := provider.LoadImage(ctx, etcdImage); err != nil {
		return ctx, err
	}
	fmt.Printf("loaded %s into the nodes in %s\n", etcdImage, time.Since(start).Round(time.Millisecond))
	return ctx, nil
}

// exportLogs copies the nodes' logs next to the runs. kind's export
// reports what it could not collect (crictl is absent from locally built
// node images); that is printed, and must not keep the cluster from
// being deleted.
func exportLogs(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
	dir := filepath.Join(outDir, "cluster-logs")
	if err := provider.ExportLogs(ctx, dir); err != nil {
		fmt.Fprintf(os.Stderr, "export cluster logs to %s: %v\n", dir, err)
	}
	return ctx, nil
}

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "faultline e2e")
}

var _ = ReportAfterSuite("junit", func(r Report) {
	path := filepath.Join(outDir, "junit.xml")
	Expect(reporters.GenerateJUnitReport(r, path)).To(Succeed())
	fmt.Fprintf(GinkgoWriter, "junit report: %s\n", path)
})
