package scenarios

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines/etcd/etcdtest"
	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform/local"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/workload"
)

// The test binary hosts the etcd members of the local clusters it starts.
func TestMain(m *testing.M) {
	agents := etcdtest.Agents()
	agents[delayer.AgentName] = delayer.Agent // region latency and shaping
	agent.Main(agents)
	os.Exit(m.Run())
}

// runScenario validates and runs a scenario on the default Env in a
// temporary run directory.
func runScenario(t *testing.T, s *Scenario) *Outcome {
	t.Helper()
	env := DefaultEnv(EnvOptions{})
	if err := s.Validate(env); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := Run(ctx, s, env, Options{Dir: t.TempDir(), Progress: testWriter{t}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.Infra != nil {
		t.Fatalf("infrastructure failed: %v", out.Infra)
	}
	return out
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}

func result(t *testing.T, out *Outcome, name string) check.Result {
	t.Helper()
	for _, r := range out.Results {
		if r.Checker == name {
			return r
		}
	}
	t.Fatalf("no %s result in %v", name, out.Results)
	return check.Result{}
}

// A short real run: three etcd members on the local platform, a leader
// kill; the run passes with RPO 0 and a measured RTO.
func TestShortLocalRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd cluster for 20s")
	}
	s, err := Parse([]byte(`
name: short
seed: 3
topology:
  regions:
    - name: r1
      zones: [{name: a}, {name: b}, {name: c}]
engine:
  name: etcd
workload:
  concurrency: 6
  rate: 300
  duration: 20s
  timeout: 1s
faults:
  - kind: kill
    at: 6s
    duration: 6s
    target: leader
checks:
  rpo: {max-lost-writes: 0}
  rto: {max: 15s}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := runScenario(t, s)
	if out.Verdict != check.Pass {
		for _, r := range out.Results {
			t.Logf("%s %s: %s", r.Checker, r.Verdict, r.Summary)
		}
		t.Fatalf("verdict %s, want pass", out.Verdict)
	}
	rpo := result(t, out, "rpo")
	if len(rpo.Faults) != 1 || rpo.Faults[0].Metrics["lost_writes"] != 0 || rpo.Metrics["acknowledged"] == 0 {
		t.Errorf("rpo = %+v, want acknowledged writes and none lost", rpo)
	}
	rto := result(t, out, "rto")
	if len(rto.Faults) != 1 {
		t.Fatalf("rto faults = %+v", rto.Faults)
	}
	// A killed leader means an election: etcd's default election timeout
	// is 1s, so recovery takes well over a few milliseconds.
	if got, ok := rto.Faults[0].Metrics["rto_seconds"]; !ok || got < 0.1 || got > 15 {
		t.Errorf("rto_seconds = %v (present %v), want an election's worth", got, ok)
	}

	// The run directory has everything, and the history re-reads.
	for _, f := range []string{"history.jsonl", "scenario.yaml", "faults.log", reports.ResultFile, reports.HTMLFile, "summary.md", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(out.Dir, f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	h, err := workload.ReadFile(filepath.Join(out.Dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Faults) != 1 || h.Faults[0].Mechanism != "SIGKILL" || len(h.Samples) == 0 || len(h.Events) < 2 {
		t.Errorf("history: %d faults %+v, %d samples, %d events", len(h.Faults), h.Faults, len(h.Samples), len(h.Events))
	}
	// Re-checking the saved run offline reaches the same verdicts.
	again := check.Run(context.Background(), h, Checkers(s)...)
	for i, r := range again {
		if r.Verdict != out.Results[i].Verdict {
			t.Errorf("re-check of %s: %s, the run said %s", r.Checker, r.Verdict, out.Results[i].Verdict)
		}
	}
}

// The negative control must fail, and for the right reason: reads served
// by the follower cut off by the partition return values that had been
// overwritten long before.
func TestNegativeControl(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd cluster for 20s")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "the negative control partitions a follower with iptables, which needs root")
	}
	s, err := Resolve("negative-control")
	if err != nil {
		t.Fatal(err)
	}
	out := runScenario(t, s)
	lin := result(t, out, "linearizable")
	if lin.Verdict != check.Fail || len(lin.Anomalies) == 0 || len(lin.Artifacts) == 0 {
		t.Fatalf("linearizable = %s %q with %d anomalies, want a failure with porcupine's view", lin.Verdict, lin.Summary, len(lin.Anomalies))
	}
	h, err := workload.ReadFile(filepath.Join(out.Dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := staleReadsOnIsolated(h, time.Second); n == 0 {
		t.Errorf("no read on the isolated follower returned a value overwritten over a second before: the failure is not the partition's")
	} else {
		t.Logf("%d reads on the isolated follower were over a second stale", n)
	}
}

// staleReadsOnIsolated counts reads served by the partitioned node during
// the partition whose value had been overwritten by a write acknowledged
// more than by before the read began.
func staleReadsOnIsolated(h *workload.History, by time.Duration) int {
	if len(h.Faults) != 1 || len(h.Faults[0].Nodes) != 1 {
		return 0
	}
	f := h.Faults[0]
	isolated := f.Nodes[0]
	// For each key, the acknowledged writes in completion order.
	type write struct {
		value   int64
		return_ time.Duration
	}
	writes := map[string][]write{}
	for _, o := range h.Ops {
		if o.Type == workload.OK && (o.F == workload.FWrite || o.F == workload.FCAS) && o.Value != nil {
			writes[o.Key] = append(writes[o.Key], write{*o.Value, o.Return})
		}
	}
	stale := 0
	for _, o := range h.Ops {
		if o.Type != workload.OK || o.F != workload.FRead || o.Node != isolated || o.Value == nil || o.Call < f.Start || o.Call > f.End {
			continue
		}
		// When was the value read overwritten by a later acknowledged write?
		ws := writes[o.Key]
		for i, w := range ws {
			if w.value == *o.Value && i+1 < len(ws) && ws[i+1].return_+by < o.Call {
				stale++
				break
			}
		}
	}
	return stale
}

// A run cancelled while a partition is in force (Ctrl-C) heals it, stops
// every node, and still writes what it recorded: the history with the
// fault's end, and a report that says the run was interrupted.
func TestInterruptedRunHealsAndKeepsResults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd cluster")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "partitions need root (iptables)")
	}
	s, err := Parse([]byte(`
name: interrupted
topology:
  regions:
    - name: r1
      zones: [{name: a}, {name: b}, {name: c}]
engine:
  name: etcd
workload:
  concurrency: 4
  rate: 200
  duration: 60s
  timeout: 1s
faults:
  - kind: partition
    at: 3s
    duration: 50s
    target: zone:c
`))
	if err != nil {
		t.Fatal(err)
	}
	// Node processes run as their own uids, so the work directory must be
	// searchable by them (t.TempDir's parent is private).
	work, err := os.MkdirTemp("", "faultline-interrupt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	env := DefaultEnv(EnvOptions{Local: local.Options{WorkDir: work}})
	if err := s.Validate(env); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	partitioned := make(chan struct{})
	progress := watchWriter{t: t, want: "faults in force: partition", seen: partitioned}
	go func() {
		select {
		case <-partitioned:
			time.Sleep(2 * time.Second) // the partition is in force
		case <-time.After(time.Minute):
		}
		cancel()
	}()
	out, err := Run(ctx, s, env, Options{Dir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !out.Interrupted {
		t.Errorf("Interrupted = false, want true")
	}
	h, err := workload.ReadFile(filepath.Join(out.Dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Faults) != 1 || h.Faults[0].End == 0 || len(h.Ops) == 0 {
		t.Fatalf("history: %d ops, faults %+v; want the partition with its end", len(h.Ops), h.Faults)
	}
	if d := h.Faults[0].End - h.Faults[0].Start; d >= 50*time.Second {
		t.Errorf("the partition lasted %v: it was not healed on cancellation", d)
	}
	res, err := reports.Read(out.Dir)
	if err != nil {
		t.Fatalf("result.json: %v", err)
	}
	if res.Verdict == check.Pass {
		t.Errorf("an interrupted run's verdict is pass; it must not be")
	}
	// Other test packages add and remove rules of their own meanwhile, so
	// look for this cluster's: every rule it made names a node address.
	if len(h.Meta.Nodes) == 0 {
		t.Fatal("the history names no nodes")
	}
	for _, n := range h.Meta.Nodes {
		if lines := iptablesMentioning(t, n.Addr); len(lines) > 0 {
			t.Errorf("iptables still has rules for node %s (%s) after the run: %q", n.Name, n.Addr, lines)
		}
	}
	if pids := processesUnder(work); len(pids) > 0 {
		t.Errorf("processes still running from the cluster's directory: %v", pids)
	}
}

// watchWriter logs progress and closes seen the first time a line
// contains want.
type watchWriter struct {
	t    *testing.T
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	if strings.Contains(string(b), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

// iptablesMentioning returns the iptables rules of every table that
// mention addr.
func iptablesMentioning(t *testing.T, addr string) []string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var found []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "-A ") && (strings.Contains(l, addr+"/") || strings.Contains(l, addr+" ")) {
			found = append(found, l)
		}
	}
	return found
}

// processesUnder lists the processes whose command line mentions dir.
func processesUnder(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// The standing region latency is installed with the cluster, before the
// run's load: the run's faults.log still records it, because the
// platform's Create gets the log through its context.
func TestRegionLatencyInFaultsLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd cluster over two regions for 8s")
	}
	testenv.NeedRoot(t, "region latency is iptables rules and a delayer, which need root")
	s, err := Parse([]byte(`
name: region-log
seed: 4
topology:
  region-latency: 5ms
  regions:
    - name: r1
      zones: [{name: a}, {name: b}]
    - name: r2
      zones: [{name: c}]
engine:
  name: etcd
workload:
  concurrency: 2
  rate: 50
  duration: 8s
  timeout: 2s
checks:
  rpo: {max-lost-writes: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := runScenario(t, s)
	b, err := os.ReadFile(filepath.Join(out.Dir, "faults.log"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "region latency 5ms one-way between 4 links"; !strings.Contains(string(b), want) {
		t.Errorf("faults.log does not say %q:\n%s", want, b)
	}
}
