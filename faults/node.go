package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/faultline-dev/faultline/platform"
)

// NodeMechanisms is implemented by clusters that carry node actions out
// by other means than the process signals they are named after (docker
// kill, the cgroup freezer), so that fault windows record what happened.
// Actions are "kill", "stop", "pause" and "restart".
type NodeMechanisms interface {
	NodeMechanism(action string) string
}

// nodeAction is what a node fault does to each target node, and how it
// undoes it, as NodeController method expressions.
type nodeAction struct {
	name string // kill, stop, pause, restart
	// mechanism is the default description, for clusters that act by
	// signalling processes.
	mechanism string
	do, undo  func(nc platform.NodeController, ctx context.Context, node string) error
}

// actionFor returns the node action of a node fault kind.
func actionFor(kind string) nodeAction {
	switch kind {
	case KindStop:
		return nodeAction{name: "stop", mechanism: "SIGTERM", do: platform.NodeController.Stop, undo: platform.NodeController.Start}
	case KindPause:
		return nodeAction{name: "pause", mechanism: "SIGSTOP", do: platform.NodeController.Pause, undo: platform.NodeController.Resume}
	case KindRestart:
		// The heal starts the node again in case the start failed; on a
		// running node that does nothing.
		return nodeAction{name: "restart", mechanism: "SIGTERM+start", do: restart, undo: platform.NodeController.Start}
	default: // kill, zone-outage, region-outage
		return nodeAction{name: "kill", mechanism: "SIGKILL", do: platform.NodeController.Kill, undo: platform.NodeController.Start}
	}
}

func restart(nc platform.NodeController, ctx context.Context, node string) error {
	if err := nc.Stop(ctx, node); err != nil {
		return err
	}
	return nc.Start(ctx, node)
}

// nodeFault applies one action to every target node at once: kill, stop,
// pause, restart, and the zone and region outages (kills of every node in
// the zone or region).
type nodeFault struct {
	kind   string
	action nodeAction

	mu        sync.Mutex
	mechanism string
}

// Name implements Fault.
func (f *nodeFault) Name() string { return f.kind }

// Mechanism implements Mechanism.
func (f *nodeFault) Mechanism() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mechanism == "" {
		return f.action.mechanism
	}
	return f.mechanism
}

// Inject implements Fault. The nodes are acted on concurrently, so that a
// zone outage takes the zone down at one instant. If some fail, the others
// are undone and the error names every node that failed.
func (f *nodeFault) Inject(ctx context.Context, c platform.Cluster, t Target) (Heal, error) {
	nc, ok := c.(platform.NodeController)
	if !ok {
		return nil, fmt.Errorf("%s: cluster %s cannot stop and start its nodes (platform.NodeController)", f.kind, c.Name())
	}
	if len(t.Nodes) == 0 {
		return nil, fmt.Errorf("%s: no target nodes", f.kind)
	}
	if m, ok := c.(NodeMechanisms); ok {
		f.mu.Lock()
		f.mechanism = m.NodeMechanism(f.action.name)
		f.mu.Unlock()
	}
	names := make([]string, len(t.Nodes))
	for i, n := range t.Nodes {
		names[i] = n.Name
	}
	t.Log.Printf("%s: %s %v", f.kind, f.action.name, names)
	done, err := forEach(ctx, names, func(ctx context.Context, n string) error { return f.action.do(nc, ctx, n) })
	undo := func(ctx context.Context, nodes []string) error {
		_, err := forEach(ctx, nodes, func(ctx context.Context, n string) error { return f.action.undo(nc, ctx, n) })
		return err
	}
	if err != nil {
		if uerr := undo(context.WithoutCancel(ctx), done); uerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", uerr))
		}
		return nil, fmt.Errorf("%s: %w", f.kind, err)
	}
	return func(ctx context.Context) error {
		t.Log.Printf("%s: undo on %v", f.kind, names)
		if err := undo(ctx, names); err != nil {
			return fmt.Errorf("%s: heal: %w", f.kind, err)
		}
		return nil
	}, nil
}

// forEach runs act on every node at once and returns the nodes it
// succeeded on, and the failures.
func forEach(ctx context.Context, nodes []string, act func(context.Context, string) error) ([]string, error) {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = act(ctx, n)
		}()
	}
	wg.Wait()
	var ok []string
	for i, err := range errs {
		if err == nil {
			ok = append(ok, nodes[i])
		}
	}
	return ok, errors.Join(errs...)
}
