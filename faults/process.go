package faults

import (
	"context"
	"errors"
	"fmt"

	"github.com/faultline-dev/faultline/platform"
)

// processFault kills (or restarts) one named process of each target node
// and starts it again when healed: for engines that run several processes
// on a node, such as Vitess's mysqld and vttablet, whose failures differ.
type processFault struct {
	kind    string
	process string
}

// Name implements Fault.
func (f *processFault) Name() string { return f.kind }

// Mechanism implements Mechanism.
func (f *processFault) Mechanism() string {
	if f.kind == KindRestart {
		return "SIGKILL+start of " + f.process
	}
	return "SIGKILL of " + f.process
}

// Inject implements Fault: SIGKILL to the process on every target node at
// once (a restart starts it again at once); the heal starts it again.
func (f *processFault) Inject(ctx context.Context, c platform.Cluster, t Target) (Heal, error) {
	pc, ok := c.(platform.ProcessController)
	if !ok {
		return nil, fmt.Errorf("%s of process %s: cluster %s cannot act on one process of a node (platform.ProcessController)", f.kind, f.process, c.Name())
	}
	if len(t.Nodes) == 0 {
		return nil, fmt.Errorf("%s: no target nodes", f.kind)
	}
	names := make([]string, len(t.Nodes))
	for i, n := range t.Nodes {
		names[i] = n.Name
	}
	t.Log.Printf("%s: kill %s on %v", f.kind, f.process, names)
	start := func(ctx context.Context, nodes []string) error {
		_, err := forEach(ctx, nodes, func(ctx context.Context, n string) error { return pc.StartProcess(ctx, n, f.process) })
		return err
	}
	done, err := forEach(ctx, names, func(ctx context.Context, n string) error { return pc.KillProcess(ctx, n, f.process) })
	if err == nil && f.kind == KindRestart {
		err = start(ctx, names)
	}
	if err != nil {
		if uerr := start(context.WithoutCancel(ctx), done); uerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", uerr))
		}
		return nil, fmt.Errorf("%s: %w", f.kind, err)
	}
	return func(ctx context.Context) error {
		t.Log.Printf("%s: start %s again on %v", f.kind, f.process, names)
		if err := start(ctx, names); err != nil {
			return fmt.Errorf("%s: heal: %w", f.kind, err)
		}
		return nil
	}, nil
}
