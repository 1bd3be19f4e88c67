package kind

import (
	"context"
	"testing"
	"time"
)

// TestDeleteRemovesLatencyWithoutDeadlock: removing the region latency
// removes its restart hook, which takes the cluster's mutex; Delete must
// not hold it then (a run over three regions hung in teardown).
func TestDeleteRemovesLatencyWithoutDeadlock(t *testing.T) {
	d, err := newDocker("unix:///nonexistent.sock")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{name: "t", docker: d}
	remove := c.AddRestartHook(func(context.Context, string) error { return nil })
	removed := false
	c.removeLatency = func(context.Context) error { remove(); removed = true; return nil }
	done := make(chan error, 1)
	go func() { done <- c.Delete(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Delete did not return: it deadlocked removing the region latency's restart hook")
	}
	if !removed || len(c.hooks) != 0 {
		t.Errorf("latency removed %v, hooks left %d", removed, len(c.hooks))
	}
	if err := c.Delete(context.Background()); err != nil {
		t.Errorf("a second Delete: %v", err)
	}
}
