package measure

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// shellHost runs one shell script per node as a real process on this
// machine: enough of the local platform for the sampler, which only needs
// each node's PID and data directory.
type shellHost struct {
	dir   string
	nodes []platform.Node
	mu    sync.Mutex
	cmds  map[string]*exec.Cmd
}

func newShellHost(t *testing.T, nodes ...platform.Node) *shellHost {
	h := &shellHost{dir: t.TempDir(), nodes: nodes, cmds: map[string]*exec.Cmd{}}
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.cmds {
			c.Process.Kill()
			c.Wait()
		}
	})
	return h
}

func (h *shellHost) Name() string                                   { return "measure-test" }
func (h *shellHost) Nodes(context.Context) ([]platform.Node, error) { return h.nodes, nil }
func (h *shellHost) Delete(context.Context) error                   { return nil }
func (h *shellHost) DataDir(node string) string                     { return filepath.Join(h.dir, node) }

func (h *shellHost) Run(ctx context.Context, node string, p platform.Process) error {
	if err := os.MkdirAll(h.DataDir(node), 0o755); err != nil {
		return err
	}
	c := exec.Command(p.Path, p.Args...)
	c.Dir = h.DataDir(node)
	c.Env = append(os.Environ(), p.Env...)
	if err := c.Start(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.cmds[node]; old != nil {
		old.Process.Kill()
		old.Wait()
	}
	h.cmds[node] = c
	return nil
}

func (h *shellHost) PID(node string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.cmds[node]; c != nil && c.ProcessState == nil {
		return c.Process.Pid
	}
	return 0
}

func (h *shellHost) sh(t *testing.T, node, script string) {
	t.Helper()
	if err := h.Run(context.Background(), node, platform.Process{Path: "/bin/sh", Args: []string{"-c", script}}); err != nil {
		t.Fatal(err)
	}
}

func sampleOf(t *testing.T, ss []workload.Sample, node string) workload.Sample {
	t.Helper()
	for _, s := range ss {
		if s.Node == node {
			return s
		}
	}
	t.Fatalf("no sample for %s in %v", node, ss)
	return workload.Sample{}
}

func TestProcSamplerReadsARealProcessTree(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		testenv.Missing(t, "proc-io", "no /proc/PID/io here: %v", err)
	}
	nodes := []platform.Node{{Name: "n1", Zone: "a", Region: "r"}, {Name: "n2", Zone: "b", Region: "r"}}
	h := newShellHost(t, nodes...)
	// The root shell spins for a while, then a child dd writes 4 MiB
	// with fsync, so that it reaches the disk, and exits; the shell reaps
	// it, which moves its CPU time and I/O into the shell's own counters.
	h.sh(t, "n1", `i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done
dd if=/dev/zero of=data.bin bs=64k count=64 conv=fsync 2>/dev/null
touch done; exec sleep 60`)
	ctx := context.Background()
	p, err := NewProcSampler(ctx, h, WithoutNetAccounting(), WithDataInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(h.DataDir("n1"), "done")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node's script did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ss, err := p.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n1 := sampleOf(t, ss, "n1")
	t.Logf("n1: %+v", n1)
	if !n1.Up || n1.Zone != "a" || n1.Region != "r" {
		t.Errorf("n1 = %+v, want up in r/a", n1)
	}
	if n1.CPUSeconds <= 0 {
		t.Errorf("n1 used %v CPU seconds", n1.CPUSeconds)
	}
	if n1.DiskWriteBytes < 4<<20 {
		t.Errorf("n1 wrote %d bytes to disk, want at least 4 MiB (dd's, reaped)", n1.DiskWriteBytes)
	}
	if n1.DiskWriteOps < 64 {
		t.Errorf("n1 made %d write calls, want at least dd's 64", n1.DiskWriteOps)
	}
	if n1.DataBytes != 4<<20 {
		t.Errorf("n1's data is %d bytes, want 4 MiB", n1.DataBytes)
	}
	if n1.MemoryBytes <= 0 {
		t.Errorf("n1's memory is %d bytes", n1.MemoryBytes)
	}
	if !contains(n1.Unmeasured, CounterNet) {
		t.Errorf("n1's network was not marked unmeasured: %v", n1.Unmeasured)
	}
	if n2 := sampleOf(t, ss, "n2"); n2.Up {
		t.Errorf("n2 runs nothing but was sampled up: %+v", n2)
	}
}

func TestProcSamplerNeverFallsForTheSameRoot(t *testing.T) {
	h := newShellHost(t, platform.Node{Name: "n1"})
	// A grandchild spins; its parent exits, so it is re-parented out of
	// the tree and its CPU time leaves the tree's sum.
	h.sh(t, "n1", `sh -c 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done & sleep 0.5'; exec sleep 60`)
	ctx := context.Background()
	p, err := NewProcSampler(ctx, h, WithoutNetAccounting())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	first, err := p.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	second, err := p.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b := sampleOf(t, first, "n1").CPUSeconds, sampleOf(t, second, "n1").CPUSeconds
	t.Logf("cpu %v then %v", a, b)
	if a <= 0 {
		t.Skip("the grandchild had no CPU time yet; nothing to check")
	}
	if b < a {
		t.Errorf("cpu fell from %v to %v for the same root process", a, b)
	}
}

func TestProcSamplerSeesARestart(t *testing.T) {
	h := newShellHost(t, platform.Node{Name: "n1"})
	spin := `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 60`
	h.sh(t, "n1", spin)
	ctx := context.Background()
	p, err := NewProcSampler(ctx, h, WithoutNetAccounting())
	if err != nil {
		t.Fatal(err)
	}
	var hist workload.History
	sample := func(at time.Duration) {
		ss, err := p.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			s.Time = at
			hist.Samples = append(hist.Samples, s)
		}
	}
	time.Sleep(300 * time.Millisecond)
	sample(1 * time.Second)
	// Killed and started again as a new process that has done nothing
	// yet: its counters start from zero.
	h.sh(t, "n1", "exec sleep 60")
	sample(2 * time.Second)
	if hist.Samples[0].CPUSeconds == 0 {
		t.Skip("the first process had no CPU time yet; nothing to check")
	}
	n := FromHistory(&hist).Nodes[0]
	if n.Restarts != 1 || n.Totals.CPUSeconds != hist.Samples[1].CPUSeconds {
		t.Errorf("restarts = %d, cpu = %v; want 1 and the new process's %v (samples %+v)",
			n.Restarts, n.Totals.CPUSeconds, hist.Samples[1].CPUSeconds, hist.Samples)
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"a": 10, "sub/b": 100, "sub/deeper/c": 1000} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := DirSize(dir)
	if err != nil || got != 1110 {
		t.Errorf("DirSize = %d, %v; want 1110 (symlinks not followed)", got, err)
	}
	if got, err := DirSize(filepath.Join(dir, "missing")); err != nil || got != 0 {
		t.Errorf("DirSize of a missing directory = %d, %v; want 0, nil", got, err)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func ExampleProcSampler_Notes() {
	h := &shellHost{nodes: []platform.Node{{Name: "n1"}}, cmds: map[string]*exec.Cmd{}}
	p, err := NewProcSampler(context.Background(), h, WithoutNetAccounting())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Notes())
	// Output: [network bytes not measured: accounting turned off]
}
