//go:build e2e

package e2e

import (
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
		s, err := scenarios.Resolve("vitess-failover")
		Expect(err).NotTo(HaveOccurred())
		s.Platform = "kind"
		s.Engine.Options = maps.Clone(s.Engine.Options)
		s.Engine.Options["deploy"] = vitess.DeployStatefulSet
		out := runParsed(ctx, s)
		expectPassEvery(out, s.Name, len(s.Faults))
	}, NodeTimeout(15*time.Minute))

	// The built-in vitess-partition: the primary's zone is cut off from
	// the other zones and from the control-plane node (the topology
	// server, vtctld, VTOrc, the vtgates, and the API server); VTOrc must
	// promote a replica in another zone within 30 s, and the cut-off
	// primary can acknowledge nothing.
	It("replaces a primary whose zone is cut off from the rest with no lost write", Label("fault:partition"), func(ctx SpecContext) {
		s, err := scenarios.Resolve("vitess-partition")
		Expect(err).NotTo(HaveOccurred())
		s.Platform = "kind"
		s.Engine.Options = maps.Clone(s.Engine.Options)
		s.Engine.Options["deploy"] = vitess.DeployStatefulSet
		out := runParsed(ctx, s)
		expectPassEvery(out, s.Name, len(s.Faults))
	}, NodeTimeout(15*time.Minute))
})
