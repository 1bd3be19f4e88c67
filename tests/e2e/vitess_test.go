//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/faultline-dev/faultline/engines/vitess"
	fltestenv "github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/scenarios"
)

var _ = Describe("vitess on kind without the operator", Label("engine:vitess", "platform:kind"), Ordered, func() {
	BeforeAll(func() {
		if ref := provider.Cluster().MapImage(vitess.KubeImage); ref == vitess.KubeImage {
			msg := "faultline's Vitess image is not built (faultline images build vitess, which make e2e runs through make images)"
			if fltestenv.Required("images") {
				Fail(msg)
			}
			Skip(msg)
		}
	})

	// The built-in vitess-failover on the suite's three zones: the
	// primary's node container is killed twice, VTOrc must promote a
	// replica within 30 s each time and semi-sync must lose nothing.
	It("fails over from two primary node kills with no lost write", Label("fault:kill"), func(ctx SpecContext) {
		runBuiltinOnKind(ctx, "vitess-failover")
	}, NodeTimeout(15*time.Minute))

	// The built-in vitess-partition: the primary's zone is cut off from
	// the other zones and from the control-plane node (the topology
	// server, vtctld, VTOrc, the vtgates, and the API server); VTOrc must
	// promote a replica in another zone within 30 s, and the cut-off
	// primary can acknowledge nothing.
	It("replaces a primary whose zone is cut off from the rest with no lost write", Label("fault:partition"), func(ctx SpecContext) {
		runBuiltinOnKind(ctx, "vitess-partition")
	}, NodeTimeout(15*time.Minute))

	// The built-in vitess-zone-outage: every node of the primary's zone
	// is killed (docker kill) for 30 s; with cross_cell durability VTOrc
	// must promote a tablet in another zone within 30 s, and nothing
	// acknowledged may be lost.
	It("replaces a primary whose zone goes down with no lost write", Label("fault:zone-outage"), func(ctx SpecContext) {
		runBuiltinOnKind(ctx, "vitess-zone-outage")
	}, NodeTimeout(15*time.Minute))

	// The primary's tablet pod (its mysqld and vttablet) is deleted with
	// no grace period through the Kubernetes API; its StatefulSet makes
	// it again on the same node, on the same volume.
	It("replaces a primary whose tablet pod is deleted through the Kubernetes API with no lost write", Label("fault:pod-delete", "injector:kubernetes"), func(ctx SpecContext) {
		out := runScenario(ctx, fmt.Sprintf(vitessScenarioYAML, "pod-delete",
			"    kind: pod-delete\n    at: 15s\n    target: leader\n    grace-period: 0s\n    via: kubernetes"))
		expectPass(out, "vitess kubernetes pod-delete")
	}, NodeTimeout(15*time.Minute))

	// The same through Chaos Mesh (PodChaos pod-kill), installed as the
	// Chaos Mesh specs of chaosmesh_test.go install it.
	It("replaces a primary whose tablet pod Chaos Mesh kills with no lost write", Label("fault:chaos-mesh-pod-kill", "injector:chaos-mesh"), func(ctx SpecContext) {
		out := runScenario(ctx, fmt.Sprintf(vitessScenarioYAML, "cm-pod-kill",
			"    kind: kill\n    at: 15s\n    duration: 15s\n    target: leader\n    via: chaos-mesh"))
		expectPass(out, "vitess chaos-mesh pod-kill")
		Expect(chaosObjects(ctx)).To(BeEmpty(), "experiments left behind after the run")
	}, NodeTimeout(15*time.Minute))
})

// runBuiltinOnKind runs the built-in scenario name on the suite's kind
// cluster through the StatefulSet path and requires every check and
// every fault to pass.
func runBuiltinOnKind(ctx SpecContext, name string) {
	s, err := scenarios.Resolve(name)
	Expect(err).NotTo(HaveOccurred())
	s.Platform = "kind"
	s.Engine.Options = maps.Clone(s.Engine.Options)
	s.Engine.Options["deploy"] = vitess.DeployStatefulSet
	out := runParsed(ctx, s)
	expectPassEvery(out, s.Name, len(s.Faults))
}

// vitessScenarioYAML is vitess-failover's deployment and load on the
// suite's three zones, without the operator, with one fault (its name,
// then its lines) 15 s into 60 s of load.
const vitessScenarioYAML = `
name: e2e-vitess-%s
seed: 1
platform: kind
topology:
  regions:
    - name: region-1
      zones: [{name: a, nodes: 1}, {name: b, nodes: 1}, {name: c, nodes: 1}]
engine:
  name: vitess
  options:
    deploy: statefulset
    durability: semi_sync
    vtorc_instance_poll_time: 1s
workload:
  kind: register
  concurrency: 4
  rate: 40
  keys: 8
  duration: 60s
  timeout: 3s
faults:
  - name: primary's tablet pod
%s
checks:
  linearizable:
    timeout: 60s
  rpo:
    max-lost-writes: 0
  rto:
    max: 30s
`
