package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/faultline-dev/faultline/platform"
)

// plainCluster is a cluster with nothing but a name.
type plainCluster struct{ name string }

func (c plainCluster) Name() string                                   { return c.name }
func (c plainCluster) Nodes(context.Context) ([]platform.Node, error) { return nil, nil }
func (c plainCluster) Delete(context.Context) error                   { return nil }

// chainNamer names its chains itself.
type chainNamer struct{ plainCluster }

func (chainNamer) ChainName(purpose string) string { return "FL-12345678-" + purpose }

// recordingNodes is a NodeController that records calls and fails on the
// nodes it is told to: for the logic of node faults around a controller
// (the real one is tested against the local platform).
type recordingNodes struct {
	plainCluster
	failOn map[string]bool

	mu    sync.Mutex
	calls []string
}

func (r *recordingNodes) act(op, node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, op+" "+node)
	if r.failOn[op+" "+node] {
		return errors.New("refused")
	}
	return nil
}

func (r *recordingNodes) Kill(_ context.Context, n string) error   { return r.act("kill", n) }
func (r *recordingNodes) Stop(_ context.Context, n string) error   { return r.act("stop", n) }
func (r *recordingNodes) Start(_ context.Context, n string) error  { return r.act("start", n) }
func (r *recordingNodes) Pause(_ context.Context, n string) error  { return r.act("pause", n) }
func (r *recordingNodes) Resume(_ context.Context, n string) error { return r.act("resume", n) }
func (r *recordingNodes) NodeMechanism(action string) string       { return fmt.Sprintf("docker %s", action) }
