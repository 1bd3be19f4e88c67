//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/faults/chaosmesh"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/faultline-dev/faultline/platform/kube"
	"github.com/faultline-dev/faultline/scenarios"
)

// existingYAML is the etcd scenario on platform existing: the suite's
// kind cluster, reached only through its kubeconfig, with a pod-delete of
// the leader through the Kubernetes API and a Chaos Mesh partition of a
// zone.
const existingYAML = `
name: e2e-existing-%s
seed: 1
platform: existing
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
  duration: 70s
  timeout: 2s
faults:
  - name: pod-delete-leader
    kind: pod-delete
    at: 10s
    target: leader
    via: kubernetes
  - name: partition-zone-a
    kind: partition
    at: 35s
    duration: 15s
    target: zone:a
    via: chaos-mesh
checks:
  linearizable:
    timeout: 60s
  rpo:
    max-lost-writes: 0
  rto:
    max: 45s
`

// The existing-platform specs treat the suite's kind cluster, which
// faultline created, as one it did not: Chaos Mesh is installed on it
// beforehand (as a cluster's owner would), and the runs reach it only
// through its kubeconfig and context, with faults allowed by naming the
// context (--allow-destructive) or refused without.
var _ = Describe("etcd on an existing cluster", Label("engine:etcd", "platform:existing"), Ordered, func() {
	var kubeconfig, kubeContext, bin string

	BeforeAll(func(ctx SpecContext) {
		c := provider.Cluster()
		kubeconfig, kubeContext = c.Kubeconfig(), c.Context()
		start := time.Now()
		Expect(chaosmesh.Installer{}.Install(ctx, sharedCluster{c})).To(Succeed())
		line := fmt.Sprintf("existing: Chaos Mesh installed on the kind cluster beforehand in %s", time.Since(start).Round(100*time.Millisecond))
		fmt.Fprintln(GinkgoWriter, line)
		appendFigures(line)
		bin = filepath.Join(GinkgoT().TempDir(), "faultline")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/faultline")
		build.Dir = filepath.Join("..", "..")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
	}, NodeTimeout(15*time.Minute))

	// faultline runs the CLI against the suite's cluster as platform
	// existing.
	faultline := func(ctx context.Context, args ...string) (string, int) {
		GinkgoHelper()
		cmd := exec.CommandContext(ctx, bin, args...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		return string(out), code
	}

	It("says per fault kind what the cluster can take (doctor --platform existing)", Label("fault:existing-doctor"), func(ctx SpecContext) {
		out, code := faultline(ctx, "doctor", "--platform", "existing", "--kubeconfig", kubeconfig, "--context", kubeContext)
		Expect(code).To(BeZero(), out)
		fmt.Fprintln(GinkgoWriter, out)
		area := `cluster ` + regexp.QuoteMeta(kubeContext)
		for _, want := range []string{
			area + `\s+faults allowed\s+no\s+faults are destructive`,
			area + `\s+chaos-mesh\s+ok\s+installed, controller available`,
			area + `\s+pod-delete\s+ok\s+can inject, by kubernetes api`,
			area + `\s+partition\s+ok\s+can inject, by chaos-mesh`,
			// faultline's own daemon image lacks toda.
			area + `\s+disk-latency\s+no\s+chaos-mesh: disk-latency needs toda`,
			area + `\s+stress\s+ok\s+can inject, by chaos-mesh`,
			`platform existing\s+pod-delete\s+ok`,
		} {
			Expect(out).To(MatchRegexp(want))
		}
		Expect(out).NotTo(MatchRegexp(`platform (local|kind)\s`), "--platform existing reports on the other platforms")
		out, code = faultline(ctx, "doctor", "--platform", "existing", "--kubeconfig", kubeconfig, "--context", kubeContext, "--allow-destructive", kubeContext)
		Expect(code).To(BeZero(), out)
		Expect(out).To(MatchRegexp(area + `\s+faults allowed\s+ok`))
	}, NodeTimeout(5*time.Minute))

	It("refuses destructive faults before anything starts without --allow-destructive", Label("fault:existing-refused"), func(ctx SpecContext) {
		// What etcd's namespace holds before (an earlier spec's members,
		// or nothing), to compare after.
		cs, err := kube.Client(provider.Cluster())
		Expect(err).NotTo(HaveOccurred())
		deployed := func() string {
			GinkgoHelper()
			list, err := cs.AppsV1().StatefulSets(etcd.KubeNamespace).List(ctx, metav1.ListOptions{})
			Expect(err).NotTo(HaveOccurred())
			var rv []string
			for _, s := range list.Items {
				rv = append(rv, s.Name+"@"+s.ResourceVersion)
			}
			return strings.Join(rv, ",")
		}
		before := deployed()
		file := filepath.Join(GinkgoT().TempDir(), "existing.yaml")
		Expect(os.WriteFile(file, []byte(fmt.Sprintf(existingYAML, "refused", etcdImage)), 0o644)).To(Succeed())
		start := time.Now()
		out, code := faultline(ctx, "run", file, "--kubeconfig", kubeconfig, "--context", kubeContext, "--out", filepath.Join(outDir, "e2e-existing-refused"))
		line := fmt.Sprintf("existing: without --allow-destructive, refused in %s with exit %d", time.Since(start).Round(100*time.Millisecond), code)
		fmt.Fprintln(GinkgoWriter, line+"\n"+out)
		appendFigures(line)
		Expect(code).To(Equal(2), "exit 2 is bad input, nothing started:\n%s", out)
		Expect(out).To(ContainSubstring(fmt.Sprintf(`faults are destructive and faultline did not create this cluster: allow them by naming the context (%q)`, kubeContext)))
		Expect(out).To(ContainSubstring("faults[0]"))
		Expect(out).To(ContainSubstring("faults[1]"))
		// Nothing was deployed.
		Expect(deployed()).To(Equal(before), "etcd's StatefulSets changed in a refused run")
		// Allowing another context allows nothing here.
		out, code = faultline(ctx, "run", file, "--kubeconfig", kubeconfig, "--context", kubeContext, "--allow-destructive", "kind-other")
		Expect(code).To(Equal(2), out)
	}, NodeTimeout(5*time.Minute))

	It("survives a pod-delete of the leader and a Chaos Mesh partition of a zone with no lost write", Label("fault:existing-etcd"), func(ctx SpecContext) {
		s, err := scenarios.Parse([]byte(fmt.Sprintf(existingYAML, "etcd", etcdImage)))
		Expect(err).NotTo(HaveOccurred())
		envr := scenarios.DefaultEnv(scenarios.EnvOptions{Existing: existing.Options{Kubeconfig: kubeconfig, Context: kubeContext, AllowDestructive: kubeContext}})
		Expect(s.Validate(envr)).To(Succeed())
		start := time.Now()
		out, err := scenarios.Run(ctx, s, envr, scenarios.Options{Dir: filepath.Join(outDir, s.Name), Progress: GinkgoWriter})
		Expect(err).NotTo(HaveOccurred())
		var lines []string
		for _, r := range out.Results {
			lines = append(lines, fmt.Sprintf("%s: %s: %s", r.Checker, r.Verdict, r.Summary))
		}
		Expect(out.Infra).NotTo(HaveOccurred(), strings.Join(lines, "\n"))
		Expect(out.Verdict).To(Equal(check.Pass), strings.Join(lines, "\n"))
		rpo := result(out, "rpo")
		Expect(rpo).NotTo(BeNil())
		Expect(rpo.Metrics["lost"]).To(BeZero(), "lost acknowledged writes")
		rto := result(out, "rto")
		Expect(rto).NotTo(BeNil())
		Expect(rto.Faults).To(HaveLen(2))
		figures := fmt.Sprintf("existing (kind cluster through its kubeconfig) in %s: lost writes %v of %v acknowledged",
			time.Since(start).Round(time.Second), rpo.Metrics["lost"], rpo.Metrics["acknowledged"])
		for _, f := range rto.Faults {
			Expect(f.Metrics["recovered"]).To(Equal(1.0), "fault %s never recovered: %v", f.Name, f.Notes)
			Expect(f.Metrics).To(HaveKey("rto_seconds"))
			figures += fmt.Sprintf("; %s: rto %.2fs, longest write gap %.2fs", f.Name, f.Metrics["rto_seconds"], f.Metrics["longest_write_gap_seconds"])
		}
		figures += "; " + chaosTimings(out.Dir)
		AddReportEntry("figures", figures)
		fmt.Fprintln(GinkgoWriter, figures)
		appendFigures(figures)
		Expect(chaosObjects(ctx)).To(BeEmpty(), "experiments left behind after the run")
	}, NodeTimeout(15*time.Minute))
})
