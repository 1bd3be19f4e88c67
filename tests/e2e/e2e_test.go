//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
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
	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/kind/e2ekind"
	"github.com/faultline-dev/faultline/scenarios"
)

// clusterName names the suite's kind cluster: FAULTLINE_E2E_CLUSTER,
// default faultline-e2e (several suites on one machine need their own).
var clusterName = "faultline-e2e"

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
	// The packet delayer that latency faults start is this binary, and
	// so is the runtime shim of faultline's Docker daemon if the suite
	// starts it.
	agents := map[string]agent.Func{delayer.AgentName: delayer.Agent}
	maps.Copy(agents, dockerd.Agents())
	agent.Main(agents)
	if n := os.Getenv("FAULTLINE_E2E_CLUSTER"); n != "" {
		clusterName = n
	}
	opts := kind.Options{
		DockerHost: os.Getenv("FAULTLINE_DOCKER_HOST"),
		NodeImage:  os.Getenv("FAULTLINE_NODE_IMAGE"),
		Name:       clusterName,
		Log:        os.Stderr,
	}
	etcdImage = os.Getenv("FAULTLINE_ETCD_IMAGE")
	if opts.DockerHost == "" {
		// As `faultline run` does: a daemon that can run kind nodes, the
		// local builds of `make images`, else the official images.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		prepared, err := scenarios.PrepareKind(ctx, opts)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			os.Exit(3)
		}
		opts = prepared
		if etcdImage == "" {
			etcdImage = opts.Images[images.Official(images.Etcd)]
		}
	}
	fmt.Printf("e2e: DOCKER_HOST=%s node image %s etcd image %q\n", opts.DockerHost, opts.NodeImage, etcdImage)
	if outDir = os.Getenv("FAULTLINE_E2E_OUT"); outDir == "" {
		var err error
		if outDir, err = os.MkdirTemp("", "faultline-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	provider = e2ekind.New(opts, platform.Topology{})
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
