package kind

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/faultline-dev/faultline/platform"
)

// worker returns a worker node; the control plane is refused, since
// faults never target it and losing it loses the API.
func (c *Cluster) worker(node string) (platform.Node, error) {
	n, ok := platform.Find(c.nodes, node)
	if !ok {
		return platform.Node{}, fmt.Errorf("kind: cluster %s has no node %q", c.name, node)
	}
	if n.Role == platform.RoleControlPlane {
		return platform.Node{}, fmt.Errorf("kind: %s is the control plane, which faults never act on", node)
	}
	return n, nil
}

func (c *Cluster) act(ctx context.Context, node string, do func(context.Context, string) error) error {
	n, err := c.worker(node)
	if err != nil {
		return err
	}
	if err := do(ctx, n.Name); err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	return nil
}

// Kill implements platform.NodeController: docker kill.
func (c *Cluster) Kill(ctx context.Context, node string) error {
	return c.act(ctx, node, c.docker.kill)
}

// Stop implements platform.NodeController: docker stop.
func (c *Cluster) Stop(ctx context.Context, node string) error {
	return c.act(ctx, node, c.docker.stop)
}

// Start implements platform.NodeController: docker start, or docker
// unpause for a frozen node. The node keeps its address.
//
// A node that was not running comes back with a new network namespace;
// Start then runs the restart hooks (platform.RestartHooks), which
// install the standing shaping again, before it returns.
func (c *Cluster) Start(ctx context.Context, node string) error {
	n, err := c.worker(node)
	if err != nil {
		return err
	}
	restarted := false
	err = c.act(ctx, node, func(ctx context.Context, name string) error {
		st, err := c.docker.inspect(ctx, name)
		if err != nil {
			return err
		}
		if st.running {
			if st.paused {
				return c.docker.resume(ctx, name)
			}
			return nil
		}
		restarted = true
		return c.docker.start(ctx, name, n.Addr)
	})
	if err != nil || !restarted {
		return err
	}
	return c.runRestartHooks(ctx, node)
}

// AddRestartHook implements platform.RestartHooks.
func (c *Cluster) AddRestartHook(f func(ctx context.Context, node string) error) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hooks == nil {
		c.hooks = map[int]func(context.Context, string) error{}
	}
	id := c.nextHook
	c.nextHook++
	c.hooks[id] = f
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.hooks, id)
	}
}

// runRestartHooks runs every restart hook for node, in the order they
// were added.
func (c *Cluster) runRestartHooks(ctx context.Context, node string) error {
	c.mu.Lock()
	ids := make([]int, 0, len(c.hooks))
	for id := range c.hooks {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	hooks := make([]func(context.Context, string) error, 0, len(ids))
	for _, id := range ids {
		hooks = append(hooks, c.hooks[id])
	}
	c.mu.Unlock()
	var errs []error
	for _, h := range hooks {
		if err := h(ctx, node); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restore %s after its restart: %w", node, err)
	}
	return nil
}

// Pause implements platform.NodeController: docker pause (the cgroup
// freezer).
func (c *Cluster) Pause(ctx context.Context, node string) error {
	return c.act(ctx, node, c.docker.pause)
}

// Resume implements platform.NodeController: docker unpause.
func (c *Cluster) Resume(ctx context.Context, node string) error {
	return c.act(ctx, node, c.docker.resume)
}

// NodeMechanism implements faults.NodeMechanisms.
func (c *Cluster) NodeMechanism(action string) string {
	switch action {
	case "kill":
		return "docker kill"
	case "stop":
		return "docker stop"
	case "pause":
		return "docker pause"
	case "restart":
		return "docker stop+start"
	}
	return action
}

// NetExec implements platform.NetworkController: argv runs in the node
// container (docker exec), whose network namespace is the node's.
func (c *Cluster) NetExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	if _, ok := platform.Find(c.nodes, node); !ok {
		return nil, fmt.Errorf("kind: cluster %s has no node %q", c.name, node)
	}
	return c.docker.exec(ctx, node, argv...)
}

// NetNamespace implements platform.NetworkController: every node
// container has its own network namespace, named for the node.
func (c *Cluster) NetNamespace(node string) string { return node }

// NetNSPath implements faults.NetNSPather: the network namespace of the
// node container's first process, which the packet delayer enters from
// this host.
func (c *Cluster) NetNSPath(ctx context.Context, node string) (string, error) {
	if _, ok := platform.Find(c.nodes, node); !ok {
		return "", fmt.Errorf("kind: cluster %s has no node %q", c.name, node)
	}
	nc, err := c.docker.inspect(ctx, node)
	if err != nil {
		return "", fmt.Errorf("kind: %w", err)
	}
	if !nc.running || nc.pid == 0 {
		return "", fmt.Errorf("kind: node %s is not running (%s)", node, nc.status)
	}
	return fmt.Sprintf("/proc/%d/ns/net", nc.pid), nil
}
