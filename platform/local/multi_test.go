package local

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// probeOn runs a probe process called name on node and returns its
// address.
func probeOn(ctx context.Context, t *testing.T, c *Cluster, node platform.Node, name string) string {
	t.Helper()
	port, err := c.PortFor(node.Name, "probe-"+name)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(node.Addr, strconv.Itoa(port))
	err = c.Run(ctx, node.Name, platform.Process{
		Name: name, Agent: ProbeAgentName, Args: []string{"--listen", addr},
		Ready: func(ctx context.Context) error { return Ping(ctx, addr) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestSeveralProcessesPerNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newTestCluster(t, Options{StopGrace: 3 * time.Second}, threeZones(1, 1, 0))
	nodes, _ := c.Nodes(ctx)
	n1 := nodes[0]
	a := probeOn(ctx, t, c, n1, "a")
	b := probeOn(ctx, t, c, n1, "b")
	if err := c.Run(ctx, n1.Name, platform.Process{Name: "b", Agent: ProbeAgentName}); err == nil || !strings.Contains(err.Error(), "already runs a process of that name") {
		t.Errorf("a second process named b: %v", err)
	}
	if got := c.Processes(n1.Name); strings.Join(got, ",") != "a,b" {
		t.Errorf("Processes = %v, want a,b", got)
	}
	if c.PID(n1.Name) != c.ProcessPID(n1.Name, "a") || c.ProcessPID(n1.Name, "b") == 0 {
		t.Errorf("PID %d, a %d, b %d", c.PID(n1.Name), c.ProcessPID(n1.Name, "a"), c.ProcessPID(n1.Name, "b"))
	}
	if c.isolate && procUID(t, c.ProcessPID(n1.Name, "b")) != c.uid(n1.Name) {
		t.Error("the node's second process does not run as the node's uid")
	}

	// One process alone.
	if err := c.KillProcess(ctx, n1.Name, "b"); err != nil {
		t.Fatal(err)
	}
	if Ping(ctx, b) == nil || Ping(ctx, a) != nil {
		t.Error("KillProcess b: want b down and a up")
	}
	if err := c.StartProcess(ctx, n1.Name, "b"); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, b); err != nil {
		t.Errorf("StartProcess b: %v", err)
	}
	if err := c.KillProcess(ctx, n1.Name, "c"); err == nil || !strings.Contains(err.Error(), "the node runs a, b") {
		t.Errorf("KillProcess of an unknown name: %v", err)
	}

	// The node as a whole.
	if err := c.Kill(ctx, n1.Name); err != nil {
		t.Fatal(err)
	}
	if Ping(ctx, a) == nil || Ping(ctx, b) == nil || c.ProcessPID(n1.Name, "a") != 0 {
		t.Error("Kill left a process of the node running")
	}
	if err := c.Start(ctx, n1.Name); err != nil {
		t.Fatal(err)
	}
	if Ping(ctx, a) != nil || Ping(ctx, b) != nil {
		t.Error("Start did not bring both processes back")
	}
	if err := c.Pause(ctx, n1.Name); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if Ping(pctx, b) == nil {
		t.Error("Pause left b answering")
	}
	pcancel()
	if err := c.Resume(ctx, n1.Name); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, b); err != nil {
		t.Errorf("after Resume: %v", err)
	}
	logs := c.Logs()
	if logs[n1.Name] != c.LogPath(n1.Name) || logs[n1.Name+".b"] != c.processLogPath(n1.Name, "b") {
		t.Errorf("Logs() = %v", logs)
	}
}

func TestControlPlaneNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newTestCluster(t, Options{}, threeZones(1, 1, 0))
	cp, err := c.ControlPlane(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.ControlPlane(ctx)
	if err != nil || again != cp {
		t.Fatalf("a second call: %+v, %v; want %+v", again, err, cp)
	}
	nodes, _ := c.Nodes(ctx)
	if len(nodes) != 3 || nodes[2] != cp {
		t.Fatalf("Nodes = %+v; want the workers, then %+v", nodes, cp)
	}
	if cp.Role != platform.RoleControlPlane || cp.Zone != "" || cp.Addr != c.block.addr(3) {
		t.Errorf("control plane %+v", cp)
	}
	if w := platform.Workers(nodes); len(w) != 2 {
		t.Errorf("Workers = %+v", w)
	}
	addr := probeOn(ctx, t, c, cp, "topo")
	n1 := probeOn(ctx, t, c, nodes[0], "probe")
	if c.isolate {
		if got := procUID(t, c.PID(cp.Name)); got != c.uid(cp.Name) || got == c.uid(nodes[1].Name) {
			t.Errorf("the control plane runs as uid %d, want %d of its own", got, c.uid(cp.Name))
		}
		seen, err := Probe(ctx, addr, n1)
		if err != nil {
			t.Fatal(err)
		}
		if seen != cp.Addr {
			t.Errorf("n1 saw the control plane's connection come from %s, want %s", seen, cp.Addr)
		}
	}
}

func TestShare(t *testing.T) {
	c := newTestCluster(t, Options{}, threeZones(1, 0, 0))
	src := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := c.Share(src)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Share(src)
	if err != nil || again != got {
		t.Errorf("sharing twice: %s, %v; want %s", again, err, got)
	}
	if !c.isolate {
		if got != src {
			t.Errorf("without isolation: %s, want the file itself", got)
		}
		return
	}
	if !strings.HasPrefix(got, c.Dir()+string(filepath.Separator)) {
		t.Errorf("shared at %s, outside the cluster's directory %s", got, c.Dir())
	}
	if b, err := os.ReadFile(got); err != nil || string(b) != "#!/bin/sh\n" {
		t.Errorf("shared copy: %q, %v", b, err)
	}
	if err := searchable(filepath.Dir(got)); err != nil {
		t.Error(err)
	}
}
