//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines/vitess"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/scenarios"
)

// scenarioYAML is an etcd scenario on the suite's three zones with one
// fault, 10 s into 50 s of load.
const scenarioYAML = `
name: e2e-etcd-%s
seed: 1
platform: kind
topology:
  regions:
    - name: region-1
      zones: [{name: a, nodes: 1}, {name: b, nodes: 1}, {name: c, nodes: 1}]
engine:
  name: etcd
  image: %q
workload:
  kind: register
  concurrency: 4
  rate: 100
  keys: 8
  duration: 50s
  timeout: 2s
faults:
  - name: %s
%s
checks:
  linearizable:
    timeout: 60s
  rpo:
    max-lost-writes: 0
  rto:
    max: 45s
`

var _ = Describe("etcd on kind", Label("engine:etcd", "platform:kind"), Ordered, func() {
	entries := []struct {
		fault, spec string
	}{
		{"kill", "    kind: kill\n    at: 10s\n    duration: 15s\n    target: leader"},
		{"zone-outage", "    kind: zone-outage\n    at: 10s\n    duration: 15s\n    target: leader-zone"},
		{"partition", "    kind: partition\n    at: 10s\n    duration: 15s\n    target: zone:a"},
		{"latency", "    kind: latency\n    at: 10s\n    duration: 15s\n    target: zone:a\n    delay: 50ms\n    jitter: 5ms"},
	}
	for _, e := range entries {
		It("survives "+e.fault+" with no lost write and a measured RTO", Label("fault:"+e.fault), func(ctx SpecContext) {
			out := runScenario(ctx, fmt.Sprintf(scenarioYAML, e.fault, etcdImage, e.fault, e.spec))
			expectPass(out, e.fault)
		}, NodeTimeout(10*time.Minute))
	}
})

// runScenario parses a scenario and runs it on the suite's cluster
// (runParsed).
func runScenario(ctx context.Context, text string) *scenarios.Outcome {
	GinkgoHelper()
	s, err := scenarios.Parse([]byte(text))
	Expect(err).NotTo(HaveOccurred())
	return runParsed(ctx, s)
}

// runParsed runs a scenario through the real runner on the suite's
// cluster and returns its outcome. Engines log to the spec's output.
func runParsed(ctx context.Context, s *scenarios.Scenario) *scenarios.Outcome {
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

// expectPass asserts a Pass, zero lost acknowledged writes, and a
// measured RTO for the run's one fault, and records the figures.
func expectPass(out *scenarios.Outcome, name string) { GinkgoHelper(); expectPassEvery(out, name, 1) }

// expectPassEvery asserts a Pass, zero lost acknowledged writes and a
// recovery measured for each of the run's n faults, and records the
// figures in the report and in figures.txt.
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
		Expect(f.Metrics).To(HaveKey("rto_seconds"), "%s: no RTO measured", f.Name)
		rtos = append(rtos, fmt.Sprintf("%s: rto %.2fs, longest write gap %.2fs", f.Name, f.Metrics["rto_seconds"], f.Metrics["longest_write_gap_seconds"]))
	}
	figures := fmt.Sprintf("%s: %s; lost writes %v, acknowledged %v", name, strings.Join(rtos, "; "), rpo.Metrics["lost"], rpo.Metrics["acknowledged"])
	AddReportEntry("figures", figures)
	fmt.Fprintln(GinkgoWriter, figures)
	appendFigures(figures)
}

func result(out *scenarios.Outcome, checker string) *check.Result {
	for i := range out.Results {
		if out.Results[i].Checker == checker {
			return &out.Results[i]
		}
	}
	return nil
}

// sharedPlatform hands the suite's cluster to every scenario, so that the
// runner's Delete leaves it for the next one; the suite deletes it at the
// end.
type sharedPlatform struct{ c *kind.Cluster }

func (p sharedPlatform) Name() string                { return kind.Name }
func (p sharedPlatform) CanInject(kind string) error { return p.c.CanInject(kind) }

// Capabilities implements platform.Describer: the kind platform's.
func (p sharedPlatform) Capabilities() platform.Capabilities {
	return (&kind.Platform{}).Capabilities()
}

func (p sharedPlatform) Create(ctx context.Context, t platform.Topology) (platform.Cluster, error) {
	nodes, err := p.c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(platform.Workers(nodes)); n != t.Size() {
		return nil, fmt.Errorf("the suite's cluster has %d workers; the scenario wants %d", n, t.Size())
	}
	return sharedCluster{p.c}, nil
}

// sharedCluster is the suite's cluster with every capability, whose
// Delete does nothing.
type sharedCluster struct{ *kind.Cluster }

func (sharedCluster) Delete(context.Context) error { return nil }
