package local

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// TestTreeSignals runs a shell that forks a child in a session of its own
// (as PostgreSQL's backends are) and checks that Pause, Resume and Kill
// reach the child when the process asks for Tree, and that Stop sends the
// process's StopSignal.
func TestTreeSignals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New(Options{StopGrace: 5 * time.Second}).Create(ctx, threeZones(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*Cluster)
	defer lc.Delete(context.Background())
	node := lc.nodes[0].Name
	// The child is a setsid'd sleep; the shell exits on SIGINT (its stop
	// signal) but ignores SIGTERM.
	err = lc.Run(ctx, node, platform.Process{
		Name: "tree", Path: "/bin/sh",
		Args:       []string{"-c", "trap '' TERM; trap 'exit 0' INT; setsid sleep 300 & wait"},
		Tree:       true,
		StopSignal: syscall.SIGINT,
	})
	if err != nil {
		t.Fatal(err)
	}
	child := sleepChild(ctx, lc.PID(node))
	if child == 0 {
		t.Fatal("the shell's child never appeared")
	}
	if err := lc.Pause(ctx, node); err != nil {
		t.Fatal(err)
	}
	// SIGSTOP is delivered asynchronously.
	if err := waitStopped(ctx, child); err != nil {
		t.Errorf("child not stopped after Pause: %v", err)
	}
	if err := lc.Resume(ctx, node); err != nil {
		t.Fatal(err)
	}
	if st, _ := procState(child); st == 'T' {
		t.Error("child still stopped after Resume")
	}
	if err := lc.Kill(ctx, node); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		if st, err := procState(child); err != nil || st == 'Z' {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Error("child survived Kill")
	}
	if err := lc.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	// Stop signals the shell alone; its new child outlives it, so it is
	// killed here by its pid.
	if c := sleepChild(ctx, lc.PID(node)); c != 0 {
		defer syscall.Kill(c, syscall.SIGKILL)
	}
	start := time.Now()
	if err := lc.Stop(ctx, node); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %s: the stop signal was not SIGINT", d)
	}
}

// sleepChild waits for the sleep that root forked and returns its pid, or
// 0 if ctx ends first.
func sleepChild(ctx context.Context, root int) int {
	for ctx.Err() == nil {
		for _, d := range descendants(root) {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", d))
			if strings.Contains(string(b), "sleep\x00300") {
				if pp, _ := parentOf(d); pp == root {
					return d
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0
}
