//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines/vitess"
	fltestenv "github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
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

// runParsed runs a parsed scenario through the real runner on the
// suite's cluster and returns its outcome.
func runParsed(ctx SpecContext, s *scenarios.Scenario) *scenarios.Outcome {
	GinkgoHelper()
	envr := scenarios.DefaultEnv(scenarios.EnvOptions{Vitess: vitess.Options{Log: GinkgoWriter}})
	envr.Platforms = []platform.Platform{sharedPlatform{provider.Cluster()}}
	Expect(s.Validate(envr)).To(Succeed())
	start := time.Now()
	out, err := scenarios.Run(ctx, s, envr, scenarios.Options{
		Dir:      filepath.Join(outDir, s.Name),
		Progress: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("run", fmt.Sprintf("%s: %s in %s, report %s", s.Name, out.Verdict, time.Since(start).Round(time.Second), out.Report))
	return out
}

// expectPassEvery asserts a Pass, zero lost acknowledged writes and a
// recovery measured for each of the run's n faults, and records the
// figures.
func expectPassEvery(out *scenarios.Outcome, name string, n int) {
	GinkgoHelper()
	var lines []string
	for _, r := range out.Results {
		lines = append(lines, fmt.Sprintf("%s: %s: %s", r.Checker, r.Verdict, r.Summary))
	}
	Expect(out.Infra).NotTo(HaveOccurred(), strings.Join(lines, "\n"))
	Expect(out.Verdict).To(Equal(check.Pass), strings.Join(lines, "\n"))
	rpo := result(out, "rpo")
	Expect(rpo).NotTo(BeNil(), "no rpo result")
	Expect(rpo.Metrics["lost"]).To(BeZero(), "lost acknowledged writes")
	rto := result(out, "rto")
	Expect(rto).NotTo(BeNil(), "no rto result")
	Expect(rto.Faults).To(HaveLen(n))
	var rtos []string
	for _, f := range rto.Faults {
		Expect(f.Metrics["recovered"]).To(Equal(1.0), "%s: writes never recovered: %v", f.Name, f.Notes)
		rtos = append(rtos, fmt.Sprintf("%s %.2fs", f.Name, f.Metrics["rto_seconds"]))
	}
	figures := fmt.Sprintf("%s: rto %s, lost writes %v of %v acknowledged", name, strings.Join(rtos, ", "), rpo.Metrics["lost"], rpo.Metrics["acknowledged"])
	AddReportEntry("figures", figures)
	fmt.Fprintln(GinkgoWriter, figures)
}
