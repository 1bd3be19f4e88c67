package local

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/iptables"
)

// TestMain lets the test binary serve as the node executable: the agents
// below run when a cluster re-executes it.
func TestMain(m *testing.M) {
	agent.Main(map[string]agent.Func{
		ProbeAgentName: ProbeAgent,
		"counter":      counterAgent,
		"crash-owner":  crashOwnerAgent,
	})
	os.Exit(m.Run())
}

// counterAgent counts its starts in a file in its data directory (its
// working directory's data/), then serves as a probe.
func counterAgent(ctx context.Context, args []string) error {
	path := filepath.Join("data", "starts")
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := os.WriteFile(path, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
		return err
	}
	return ProbeAgent(ctx, args)
}

// crashOwnerAgent creates a two-node cluster of probes, prints its id, and
// waits to be killed: a harness that crashes.
func crashOwnerAgent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("crash-owner", flag.ContinueOnError)
	retain := fs.Bool("retain", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := New(Options{Retain: *retain}).Create(ctx, threeZones(1, 1, 0))
	if err != nil {
		return err
	}
	lc := c.(*Cluster)
	if err := runProbes(ctx, lc, ProbeAgentName); err != nil {
		return err
	}
	fmt.Println(lc.ID())
	<-ctx.Done()
	return nil
}

func threeZones(a, b, c int) platform.Topology {
	return platform.Topology{Regions: []platform.Region{{Name: "r1", Zones: []platform.Zone{
		{Name: "a", Nodes: a}, {Name: "b", Nodes: b}, {Name: "c", Nodes: c},
	}}}}
}

// runProbes runs the named agent (a probe) on every node.
func runProbes(ctx context.Context, c *Cluster, agentName string) error {
	nodes, _ := c.Nodes(ctx)
	for _, n := range nodes {
		addr, err := probeAddr(c, n)
		if err != nil {
			return err
		}
		err = c.Run(ctx, n.Name, platform.Process{
			Name:  agentName,
			Agent: agentName,
			Args:  []string{"--listen", addr},
			Ready: func(ctx context.Context) error { return Ping(ctx, addr) },
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func probeAddr(c *Cluster, n platform.Node) (string, error) {
	port, err := c.PortFor(n.Name, "probe")
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(n.Addr, strconv.Itoa(port)), nil
}

func newTestCluster(t *testing.T, opts Options, topo platform.Topology) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New(opts).Create(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*Cluster)
	t.Cleanup(func() {
		if err := lc.Delete(context.Background()); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	return lc
}

func TestCreateLaysOutNodes(t *testing.T) {
	c := newTestCluster(t, Options{}, threeZones(2, 1, 1))
	nodes, err := c.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, zone string }{{"n1", "a"}, {"n2", "a"}, {"n3", "b"}, {"n4", "c"}}
	if len(nodes) != len(want) {
		t.Fatalf("got %d nodes, want %d", len(nodes), len(want))
	}
	prefix := ""
	for i, n := range nodes {
		if n.Name != want[i].name || n.Zone != want[i].zone || n.Region != "r1" || n.Role != platform.RoleWorker {
			t.Errorf("node %d = %+v, want %s in zone %s of r1", i, n, want[i].name, want[i].zone)
		}
		ip := net.ParseIP(n.Addr).To4()
		if ip == nil || ip[0] != 127 || int(ip[3]) != i+1 {
			t.Errorf("node %s address %q, want 127.X.Y.%d", n.Name, n.Addr, i+1)
		}
		p := n.Addr[:strings.LastIndexByte(n.Addr, '.')]
		if prefix == "" {
			prefix = p
		} else if p != prefix {
			t.Errorf("node %s address %s outside the cluster's block %s.0/24", n.Name, n.Addr, prefix)
		}
		if fi, err := os.Stat(c.DataDir(n.Name)); err != nil || !fi.IsDir() {
			t.Errorf("data dir of %s: %v", n.Name, err)
		}
	}
	p1, _ := c.PortFor("n1", "client")
	p2, _ := c.PortFor("n1", "client")
	p3, _ := c.PortFor("n1", "peer")
	if p1 == 0 || p1 != p2 || p1 == p3 {
		t.Errorf("PortFor: client %d then %d, peer %d; want one stable client port and another for peer", p1, p2, p3)
	}
	if _, err := c.PortFor("n9", "client"); err == nil {
		t.Error("PortFor an unknown node: no error")
	}
}

// Concurrent clusters (parallel test packages, parallel runs) must get
// distinct address blocks.
func TestConcurrentClustersDoNotCollide(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		c := newTestCluster(t, Options{NoIsolation: true}, threeZones(1, 0, 0))
		block := c.block.String()
		if seen[block] {
			t.Fatalf("block %s handed out twice", block)
		}
		seen[block] = true
	}
}

// nodeEnv is a running cluster of counter agents and their addresses.
type nodeEnv struct {
	ctx   context.Context
	c     *Cluster
	nodes []platform.Node
	addr  map[string]string
}

func TestNodeControl(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newTestCluster(t, Options{StopGrace: 3 * time.Second}, threeZones(1, 1, 1))
	if err := runProbes(ctx, c, "counter"); err != nil {
		t.Fatal(err)
	}
	e := nodeEnv{ctx: ctx, c: c, addr: map[string]string{}}
	e.nodes, _ = c.Nodes(ctx)
	for _, n := range e.nodes {
		e.addr[n.Name], _ = probeAddr(c, n)
		if c.PID(n.Name) == 0 {
			t.Fatalf("%s: no pid after Run", n.Name)
		}
	}
	if c.isolate {
		t.Run("each node runs as its own uid", e.ownUIDs)
		t.Run("traffic between nodes carries node addresses", e.sourceAddresses)
	}
	t.Run("kill then start again with the same data dir", e.killAndStart)
	t.Run("stop ends the process gracefully", e.stop)
	t.Run("pause freezes, resume thaws", e.pauseAndResume)
	t.Run("errors name the node", e.badNames)
	logs := c.Logs()
	if len(logs) != 3 || logs["n1"] != c.LogPath("n1") {
		t.Errorf("Logs() = %v", logs)
	}
	out := t.TempDir()
	if err := c.ExportLogs(ctx, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "n1.log"))
	if err != nil || !bytes.Contains(b, []byte("start 2 of counter on n1")) {
		t.Errorf("exported n1.log lacks the restart: %v\n%s", err, b)
	}
}

func (e nodeEnv) ownUIDs(t *testing.T) {
	for _, n := range e.nodes {
		if got, want := procUID(t, e.c.PID(n.Name)), e.c.uid(n.Name); got != want {
			t.Errorf("%s runs as uid %d, want %d", n.Name, got, want)
		}
	}
}

func (e nodeEnv) sourceAddresses(t *testing.T) {
	seen, err := Probe(e.ctx, e.addr["n1"], e.addr["n2"])
	if err != nil {
		t.Fatal(err)
	}
	if seen != e.nodes[0].Addr {
		t.Errorf("n2 saw n1's connection come from %s, want %s", seen, e.nodes[0].Addr)
	}
}

func (e nodeEnv) killAndStart(t *testing.T) {
	ctx, c := e.ctx, e.c
	pid := c.PID("n1")
	for i := 0; i < 2; i++ { // idempotent
		if err := c.Kill(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if c.PID("n1") != 0 || syscall.Kill(pid, 0) == nil {
		t.Fatalf("process %d still alive after Kill", pid)
	}
	if Ping(ctx, e.addr["n1"]) == nil {
		t.Fatal("n1 answers after Kill")
	}
	for i := 0; i < 2; i++ { // the second finds it running and leaves it
		if err := c.Start(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := Ping(ctx, e.addr["n1"]); err != nil {
		t.Fatalf("n1 after Start: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(c.DataDir("n1"), "starts"))
	if err != nil || strings.TrimSpace(string(b)) != "2" {
		t.Errorf("starts file in n1's data dir = %q, %v; want 2 (the restart reused the data dir)", b, err)
	}
}

func (e nodeEnv) stop(t *testing.T) {
	ctx, c := e.ctx, e.c
	start := time.Now()
	if err := c.Stop(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if c.PID("n2") != 0 {
		t.Fatal("n2 still running after Stop")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Stop took %s: the agent ignored SIGTERM", time.Since(start))
	}
	log, _ := os.ReadFile(c.LogPath("n2"))
	if !bytes.Contains(log, []byte("counter on n2 exited")) {
		t.Errorf("n2's log does not record a clean exit:\n%s", log)
	}
	if err := c.Stop(ctx, "n2"); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := c.Start(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
}

func (e nodeEnv) pauseAndResume(t *testing.T) {
	ctx, c := e.ctx, e.c
	for i := 0; i < 2; i++ {
		if err := c.Pause(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := procState(c.PID("n3")); st != 'T' {
		t.Errorf("n3 in state %c after Pause, want T", st)
	}
	pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := Ping(pctx, e.addr["n3"])
	pcancel()
	if err == nil {
		t.Error("a paused n3 answered")
	}
	for i := 0; i < 2; i++ {
		if err := c.Resume(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
	}
	if err := Ping(ctx, e.addr["n3"]); err != nil {
		t.Errorf("n3 after Resume: %v", err)
	}
}

func (e nodeEnv) badNames(t *testing.T) {
	if err := e.c.Kill(e.ctx, "n7"); err == nil || !strings.Contains(err.Error(), `"n7"`) {
		t.Errorf("Kill(n7) = %v, want an error naming n7", err)
	}
	if err := e.c.Run(e.ctx, "n1", platform.Process{Name: "counter", Agent: "counter"}); err == nil {
		t.Error("a second Run of counter on n1 succeeded")
	}
}

func TestRunReportsEarlyExit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newTestCluster(t, Options{}, threeZones(1, 0, 0))
	err := c.Run(ctx, "n1", platform.Process{
		Name:  "probe",
		Agent: ProbeAgentName, // without --listen it exits at once
		Ready: func(context.Context) error { return errors.New("not yet") },
	})
	if err == nil || !strings.Contains(err.Error(), "--listen is required") {
		t.Fatalf("Run = %v, want the agent's own complaint from its log", err)
	}
}

func TestDeleteLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New(Options{}).Create(ctx, threeZones(1, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*Cluster)
	if err := runProbes(ctx, lc, ProbeAgentName); err != nil {
		lc.Delete(ctx)
		t.Fatal(err)
	}
	if err := lc.Pause(ctx, "n2"); err != nil { // a paused node must go too
		t.Fatal(err)
	}
	var pids []int
	for _, n := range []string{"n1", "n2", "n3"} {
		pids = append(pids, lc.PID(n))
	}
	if err := lc.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lc.Delete(ctx); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d survived Delete", pid)
		}
	}
	if _, err := os.Stat(lc.Dir()); !os.IsNotExist(err) {
		t.Errorf("cluster dir %s survived Delete: %v", lc.Dir(), err)
	}
	if chains := ownChains(t, lc.ID()); len(chains) > 0 {
		t.Errorf("chains survived Delete: %v", chains)
	}
	if _, ok := readRecord(lc.ID()); ok {
		t.Error("registry record survived Delete")
	}
}

func TestCanInject(t *testing.T) {
	root := os.Geteuid() == 0
	tests := []struct {
		kind    string
		opts    Options
		wantErr string // "" is no error
	}{
		{kind: "kill"},
		{kind: "zone-outage"},
		{kind: "pause"},
		{kind: "teleport", wantErr: `unknown to platform local`},
		{kind: "partition", opts: Options{NoIsolation: true}, wantErr: map[bool]string{true: "NoIsolation", false: "needs root"}[root]},
		{kind: "partition", wantErr: map[bool]string{true: "", false: "needs root (CAP_NET_ADMIN)"}[root]},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			err := New(tt.opts).CanInject(tt.kind)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CanInject(%s) = %v", tt.kind, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CanInject(%s) = %v, want an error containing %q", tt.kind, err, tt.wantErr)
			}
		})
	}
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// ownChains lists the iptables chains of cluster id in every table.
func ownChains(t *testing.T, id string) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	var out []string
	for _, table := range iptables.Tables {
		chains, _, err := chainsIn(context.Background(), table)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chains {
			if strings.HasPrefix(ch, iptables.Prefix+id) {
				out = append(out, table+"/"+ch)
			}
		}
	}
	return out
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A caller that starts a node from a goroutine locked to its OS thread
// (as network namespace code does) must not take the node down with it
// when the goroutine ends and the runtime ends the thread.
func TestProcessOutlivesLockedCaller(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newTestCluster(t, Options{}, threeZones(1, 0, 0))
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		done <- runProbes(ctx, c, ProbeAgentName)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	nodes, _ := c.Nodes(ctx)
	addr, _ := probeAddr(c, nodes[0])
	if err := Ping(ctx, addr); err != nil {
		t.Fatalf("the node died with its caller's thread: %v", err)
	}
}

func TestRegionLatencyHook(t *testing.T) {
	ctx := context.Background()
	topo := threeZones(1, 1, 0)
	topo.RegionLatency = 30 * time.Millisecond
	if _, err := New(Options{}).Create(ctx, topo); err == nil || !strings.Contains(err.Error(), "30ms between regions") {
		t.Fatalf("Create without a shaper = %v, want a refusal naming the latency", err)
	}
	var installed time.Duration
	removed := false
	opts := Options{RegionLatency: func(ctx context.Context, c platform.Cluster, d time.Duration) (func(context.Context) error, error) {
		if _, ok := c.(platform.NetworkController); !ok {
			t.Error("the shaper got a cluster it cannot run commands in")
		}
		installed = d
		return func(context.Context) error { removed = true; return nil }, nil
	}}
	c := newTestCluster(t, opts, topo)
	if installed != 30*time.Millisecond {
		t.Errorf("shaper called with %s", installed)
	}
	if err := c.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if !removed {
		t.Error("Delete did not remove the region latency")
	}
}

// A cluster that fails half-way through Create is cleaned up and reported,
// not a panic: as root, a private work directory is refused because node
// uids cannot reach it.
func TestCreateFailsCleanly(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "the work directory check applies to per-node uids, which need root")
	}
	p := New(Options{WorkDir: t.TempDir()}) // mode 0700 parent
	_, err := p.Create(context.Background(), threeZones(1, 1, 1))
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("Create in a private directory: %v, want an error saying the nodes cannot reach it", err)
	}
}
