//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/chaosmesh"
	"github.com/faultline-dev/faultline/platform"
)

// The Chaos Mesh specs run the etcd scenario of etcd_test.go with each
// fault carried out by a Chaos Mesh experiment (via: chaos-mesh). Whichever
// runs first installs Chaos Mesh from its module's chart with the images
// `faultline images build chaos-mesh` made, loaded into the nodes then;
// the specs are independent of each other (not Ordered), so that one
// failure does not hide the others' figures.
var _ = Describe("etcd on kind through Chaos Mesh", Label("engine:etcd", "platform:kind", "injector:chaos-mesh"), func() {
	entries := []struct {
		name, spec string
		// observe, if set, watches the nodes while the scenario runs
		// and says what it saw of the fault acting.
		observe func(ctx context.Context) observation
	}{
		{"pod-kill", "    kind: kill\n    at: 10s\n    duration: 15s\n    target: leader\n    via: chaos-mesh", nil},
		{"partition", "    kind: partition\n    at: 10s\n    duration: 15s\n    target: zone:a\n    via: chaos-mesh", nil},
		{"clock-skew", "    kind: clock-skew\n    at: 10s\n    duration: 15s\n    target: leader\n    offset: -2h\n    via: chaos-mesh", nil},
		{"stress", "    kind: stress\n    at: 10s\n    duration: 15s\n    target: leader\n    cpu-workers: 1\n    cpu-load: 100\n    via: chaos-mesh", nil},
		{"pod-failure", "    kind: pod-failure\n    at: 10s\n    duration: 15s\n    target: leader\n    via: chaos-mesh", nil},
		{"container-kill", "    kind: container-kill\n    at: 10s\n    target: leader\n    via: chaos-mesh", nil},
		// Peers rest: everything the leader sends, a lone tbf, which
		// runs without sch_netem (a cap towards chosen peers is refused
		// on such kernels, below).
		{"bandwidth", "    kind: bandwidth\n    at: 10s\n    duration: 15s\n    target: leader\n    peers: rest\n    rate: 1mbit\n    via: chaos-mesh", observeTBF},
		{"memory-stress", "    kind: stress\n    at: 10s\n    duration: 15s\n    target: leader\n    memory: 256Mi\n    via: chaos-mesh", observeMemStress(256 << 20)},
	}
	for _, e := range entries {
		It("survives "+e.name+" with no lost write and a measured RTO", Label("fault:chaos-mesh-"+e.name), func(ctx SpecContext) {
			seen := make(chan observation, 1)
			octx, stop := context.WithCancel(ctx)
			defer stop()
			if e.observe != nil {
				go func() {
					defer GinkgoRecover()
					seen <- e.observe(octx)
				}()
			}
			out := runScenario(ctx, fmt.Sprintf(scenarioYAML, "cm-"+e.name, etcdImage, e.name, e.spec))
			stop()
			expectPass(out, "chaos-mesh "+e.name)
			figures := "chaos-mesh " + e.name + ": " + chaosTimings(out.Dir)
			var o observation
			if e.observe != nil {
				o = <-seen
				figures += "; " + o.what
			}
			AddReportEntry("chaos-mesh", figures)
			fmt.Fprintln(GinkgoWriter, figures)
			appendFigures(figures)
			if e.observe != nil {
				Expect(o.acted).To(BeTrue(), "the fault was not seen acting: %s", o.what)
			}
			Expect(chaosObjects(ctx)).To(BeEmpty(), "experiments left behind after the run")
		}, NodeTimeout(15*time.Minute))
	}

	It("refuses up front what the daemon image lacks and filtered bandwidth without sch_netem", Label("fault:chaos-mesh-refusals"), func(ctx SpecContext) {
		c := provider.Cluster()
		nodes, err := c.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		refusals := []struct{ spec, want string }{
			// faultline's own daemon image has no toda.
			{"    kind: disk-latency\n    at: 10s\n    duration: 15s\n    target: leader\n    path: /var/lib/etcd\n    delay: 10ms\n    via: chaos-mesh", "needs toda"},
			{"    kind: disk-error\n    at: 10s\n    duration: 15s\n    target: leader\n    path: /var/lib/etcd\n    via: chaos-mesh", "needs toda"},
		}
		if !faults.HasNetem(ctx, c, platform.Workers(nodes)[0].Name, nil) {
			refusals = append(refusals, struct{ spec, want string }{
				"    kind: bandwidth\n    at: 10s\n    duration: 15s\n    target: leader\n    peers: zone:b\n    rate: 1mbit\n    via: chaos-mesh", "set peers: rest"})
		}
		for _, r := range refusals {
			start := time.Now()
			out := runScenario(ctx, fmt.Sprintf(scenarioYAML, "cm-refused", etcdImage, "refused", r.spec))
			Expect(out.Infra).To(HaveOccurred())
			Expect(out.Infra.Error()).To(ContainSubstring(r.want))
			// The runner's prepare step, before the load, says this.
			Expect(out.Infra.Error()).To(HavePrefix("faults cannot be injected"))
			line := fmt.Sprintf("chaos-mesh refused in %s: %v", time.Since(start).Round(time.Second), out.Infra)
			fmt.Fprintln(GinkgoWriter, line)
			appendFigures(line)
			Expect(chaosObjects(ctx)).To(BeEmpty(), "a refused fault left an experiment")
		}
	}, NodeTimeout(15*time.Minute))

	It("leaves no experiment behind when the run is interrupted during the fault", Label("fault:chaos-mesh-interrupted"), func(ctx SpecContext) {
		yaml := fmt.Sprintf(scenarioYAML, "cm-interrupted", etcdImage, "partition",
			"    kind: partition\n    at: 5s\n    duration: 40s\n    target: zone:b\n    via: chaos-mesh")
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		injected := make(chan time.Duration, 1)
		go func() {
			defer GinkgoRecover()
			start := time.Now()
			for rctx.Err() == nil {
				if objs, err := chaosObjects(rctx); err == nil && len(objs) > 0 {
					// Give the experiment a moment to inject, then pull
					// the plug as Ctrl-C would.
					time.Sleep(2 * time.Second)
					injected <- time.Since(start)
					cancel()
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
		}()
		out := runScenario(rctx, yaml)
		Expect(out.Interrupted).To(BeTrue(), "the run was not interrupted (no experiment seen?)")
		select {
		case d := <-injected:
			fmt.Fprintf(GinkgoWriter, "interrupted %s after the run started, with the experiment in place\n", d.Round(time.Millisecond))
		default:
			Fail("the run ended before an experiment appeared")
		}
		left, err := chaosObjects(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(BeEmpty(), "the interrupted run left experiments behind")
		appendFigures("chaos-mesh interrupted: no experiment left; " + chaosTimings(out.Dir))
	}, NodeTimeout(15*time.Minute))

	It("refuses traffic shaping up front where the nodes' kernel has no sch_netem", Label("fault:chaos-mesh-netem"), func(ctx SpecContext) {
		c := provider.Cluster()
		nodes, err := c.Nodes(ctx)
		Expect(err).NotTo(HaveOccurred())
		if faults.HasNetem(ctx, c, platform.Workers(nodes)[0].Name, nil) {
			Skip("this kernel has sch_netem: Chaos Mesh can shape traffic here, nothing to refuse")
		}
		for _, spec := range []string{
			"    kind: latency\n    at: 10s\n    duration: 15s\n    target: zone:a\n    delay: 50ms\n    via: chaos-mesh",
			"    kind: loss\n    at: 10s\n    duration: 15s\n    target: zone:a\n    loss: 0.1\n    via: chaos-mesh",
		} {
			start := time.Now()
			out := runScenario(ctx, fmt.Sprintf(scenarioYAML, "cm-netem", etcdImage, "netem", spec))
			Expect(out.Infra).To(HaveOccurred())
			Expect(out.Infra.Error()).To(ContainSubstring("sch_netem"))
			fmt.Fprintf(GinkgoWriter, "refused in %s: %v\n", time.Since(start).Round(time.Second), out.Infra)
			Expect(chaosObjects(ctx)).To(BeEmpty(), "a refused fault left an experiment")
		}
	}, NodeTimeout(10*time.Minute))
})

// chaosObjects lists the Chaos Mesh experiments faultline made that are
// on the suite's cluster (none when Chaos Mesh is not installed).
func chaosObjects(ctx context.Context) ([]string, error) {
	cl, err := chaosmesh.Connect(provider.Cluster())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range chaosmesh.Lists() {
		err := cl.List(ctx, l, client.MatchingLabels{faults.LabelManagedBy: faults.ManagedBy})
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			o := it.(client.Object)
			out = append(out, fmt.Sprintf("%T %s/%s", o, o.GetNamespace(), o.GetName()))
		}
	}
	return out, nil
}

// chaosLine matches the injector's timings in a run's faults.log.
var chaosLine = regexp.MustCompile(`chaos-mesh: (.*) (injected|recovered) ([0-9.]+)s after (create|delete)|chaos-mesh: loaded .* in ([0-9.]+)s`)

// chaosTimings reads from a run's faults.log how long each experiment
// took to inject (create to AllInjected) and to recover (delete to gone),
// and how long loading the images took if this run installed Chaos Mesh.
func chaosTimings(dir string) string {
	f, err := os.Open(filepath.Join(dir, "faults.log"))
	if err != nil {
		return "no faults.log: " + err.Error()
	}
	defer f.Close()
	var parts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := chaosLine.FindStringSubmatch(sc.Text())
		switch {
		case m == nil:
		case m[5] != "":
			parts = append(parts, "images loaded in "+m[5]+"s")
		case m[2] == "injected":
			parts = append(parts, "inject "+m[3]+"s")
		default:
			parts = append(parts, "recover "+m[3]+"s")
		}
	}
	if len(parts) == 0 {
		return "no chaos-mesh timings in faults.log"
	}
	return strings.Join(parts, ", ")
}

func appendFigures(line string) {
	f, err := os.OpenFile(filepath.Join(outDir, "figures.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintln(f, line)
		f.Close()
	}
}

// observation is what an observer saw of a fault acting on the nodes.
type observation struct {
	acted bool
	what  string
}

// observeTBF watches the workers' eth0 (the etcd members' network, which
// is the nodes') until ctx ends, for the tbf an unfiltered Chaos Mesh
// bandwidth cap puts there.
func observeTBF(ctx context.Context) observation {
	c := provider.Cluster()
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return observation{what: err.Error()}
	}
	var start, seen time.Time
	var qdisc, node string
	for start = time.Now(); ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
		for _, n := range platform.Workers(nodes) {
			out, err := c.NetExec(ctx, n.Name, "tc", "qdisc", "show", "dev", "eth0")
			if err == nil && strings.Contains(string(out), "tbf") {
				if seen.IsZero() {
					seen, node = time.Now(), n.Name
					qdisc = strings.TrimSpace(string(out))
				}
			}
		}
	}
	if seen.IsZero() {
		return observation{what: "no tbf seen on any worker's eth0"}
	}
	return observation{acted: true, what: fmt.Sprintf("tbf on %s's eth0 %.1fs after the run began: %s", node, seen.Sub(start).Seconds(), qdisc)}
}

// memStressRSS sums the resident memory of the node's memStress
// processes, in kB.
const memStressRSS = `t=0; for d in /proc/[0-9]*; do if [ "$(cat $d/comm 2>/dev/null)" = memStress ]; then r=$(awk '/^VmRSS:/ {print $2}' $d/status 2>/dev/null); t=$((t + ${r:-0})); fi; done; echo $t`

// observeMemStress watches the workers until ctx ends for memStress
// processes holding at least 90% of size bytes in all.
func observeMemStress(size int64) func(context.Context) observation {
	return func(ctx context.Context) observation {
		c := provider.Cluster()
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return observation{what: err.Error()}
		}
		var maxKB int64
		var node string
		var start, full time.Time
		for start = time.Now(); ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
			for _, n := range platform.Workers(nodes) {
				out, err := c.NetExec(ctx, n.Name, "sh", "-c", memStressRSS)
				if err != nil {
					continue
				}
				var kb int64
				fmt.Sscan(strings.TrimSpace(string(out)), &kb)
				if kb > maxKB {
					maxKB, node = kb, n.Name
				}
				if full.IsZero() && kb<<10 >= size*9/10 {
					full = time.Now()
				}
			}
		}
		what := fmt.Sprintf("memStress held at most %d MiB (on %s)", maxKB>>10, node)
		if !full.IsZero() {
			what += fmt.Sprintf(", 90%% of %d MiB %.1fs after the run began", size>>20, full.Sub(start).Seconds())
		}
		return observation{acted: !full.IsZero(), what: what}
	}
}
