package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/faultline-dev/faultline/platform"
)

// Labels kind puts on its node containers.
const (
	labelKindCluster = "io.x-k8s.kind.cluster"
	labelKindRole    = "io.x-k8s.kind.role"
)

// stopTimeout is how long docker stop waits after SIGTERM (kind's node
// entrypoint stops systemd on it) before SIGKILL.
const stopTimeout = 30

// docker drives node containers through the Docker Engine API.
type docker struct {
	cli *client.Client
}

// newDocker connects to host ("unix:///path", "tcp://…"), or to
// DOCKER_HOST when host is empty. Nothing is dialled until the first
// request.
func newDocker(host string) (*docker, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &docker{cli: cli}, nil
}

func (d *docker) close() error { return d.cli.Close() }

// nodeContainer is what faultline needs to know of a node container.
type nodeContainer struct {
	name    string
	role    string
	status  container.ContainerState
	running bool
	paused  bool
	pid     int
}

// inspect reads a node container's state.
func (d *docker) inspect(ctx context.Context, name string) (nodeContainer, error) {
	res, err := d.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return nodeContainer{}, fmt.Errorf("inspect %s: %w", name, err)
	}
	c := nodeContainer{name: name}
	if res.Container.Config != nil {
		c.role = res.Container.Config.Labels[labelKindRole]
	}
	if st := res.Container.State; st != nil {
		c.status, c.running, c.paused, c.pid = st.Status, st.Running, st.Paused, st.Pid
	}
	return c, nil
}

// containers lists the node containers of kind cluster name, in any state.
func (d *docker) containers(ctx context.Context, cluster string) ([]string, error) {
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", labelKindCluster+"="+cluster),
	})
	if err != nil {
		return nil, fmt.Errorf("list the containers of cluster %s: %w", cluster, err)
	}
	var out []string
	for _, s := range res.Items {
		if len(s.Names) > 0 {
			out = append(out, trimSlash(s.Names[0]))
		}
	}
	return out, nil
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

// ensureNetwork creates the bridge network name with subnet unless it
// exists. Its IPv4 subnet is configured rather than taken from the
// daemon's pools, which is what lets a restarted node keep its address
// (pinAddr).
func (d *docker) ensureNetwork(ctx context.Context, name, subnet string) error {
	if _, err := d.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{}); err == nil {
		return nil
	}
	pfx, err := netip.ParsePrefix(subnet)
	if err != nil {
		return fmt.Errorf("network subnet %q: %w", subnet, err)
	}
	_, err = d.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: pfx.Masked(), Gateway: pfx.Masked().Addr().Next()}}},
		Options: map[string]string{
			"com.docker.network.bridge.enable_ip_masquerade": "true",
			"com.docker.network.driver.mtu":                  "1500",
		},
		Labels: map[string]string{"dev.faultline.network": "kind"},
	})
	if err != nil {
		return fmt.Errorf("docker network create %s --subnet %s: %w", name, subnet, err)
	}
	return nil
}

// kill sends SIGKILL to a running node; a node that is not running is
// left as it is. A paused node is killed too: the freezer lets SIGKILL
// through.
func (d *docker) kill(ctx context.Context, name string) error {
	c, err := d.inspect(ctx, name)
	if err != nil {
		return err
	}
	if !c.running {
		return nil
	}
	if _, err := d.cli.ContainerKill(ctx, name, client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		return fmt.Errorf("docker kill %s: %w", name, err)
	}
	return nil
}

// stop stops a running node gracefully.
func (d *docker) stop(ctx context.Context, name string) error {
	c, err := d.inspect(ctx, name)
	if err != nil {
		return err
	}
	if !c.running {
		return nil
	}
	if c.paused {
		// A frozen node cannot act on SIGTERM.
		if err := d.resume(ctx, name); err != nil {
			return err
		}
	}
	timeout := stopTimeout
	if _, err := d.cli.ContainerStop(ctx, name, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("docker stop %s: %w", name, err)
	}
	return nil
}

// start starts a stopped or killed node, and thaws a paused one, so that
// after start the node runs whatever was done to it. A node started
// again keeps addr, its address before, if addr is set: Docker hands a
// restarted container whatever address is free (the daemons of 2026 do
// not prefer the old one), and a node whose address changed is a
// different node to etcd's peers and to the cluster's Node list.
func (d *docker) start(ctx context.Context, name, addr string) error {
	c, err := d.inspect(ctx, name)
	if err != nil {
		return err
	}
	switch {
	case c.paused:
		return d.resume(ctx, name)
	case c.running:
		return nil
	}
	if addr != "" {
		if err := d.pinAddr(ctx, name, addr); err != nil {
			return err
		}
	}
	if _, err := d.cli.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("docker start %s: %w", name, err)
	}
	return nil
}

// pinAddr reconnects a stopped container to its network with addr as a
// static address, which Docker then keeps across starts. kind's network
// has a configured subnet, which static addresses need.
func (d *docker) pinAddr(ctx context.Context, name, addr string) error {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("address of %s: %w", name, err)
	}
	res, err := d.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	if res.Container.NetworkSettings == nil {
		return nil
	}
	for netName, ep := range res.Container.NetworkSettings.Networks {
		if ep == nil || netName == "bridge" || netName == "host" || netName == "none" {
			continue
		}
		if ep.IPAMConfig != nil && ep.IPAMConfig.IPv4Address == ip {
			return nil
		}
		if _, err := d.cli.NetworkDisconnect(ctx, netName, client.NetworkDisconnectOptions{Container: name, Force: true}); err != nil {
			return fmt.Errorf("keep the address of %s: docker network disconnect %s: %w", name, netName, err)
		}
		settings := &network.EndpointSettings{
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip},
			Aliases:    ep.Aliases,
		}
		if _, err := d.cli.NetworkConnect(ctx, netName, client.NetworkConnectOptions{Container: name, EndpointConfig: settings}); err != nil {
			return fmt.Errorf("keep the address of %s: docker network connect --ip %s %s: %w", name, addr, netName, err)
		}
		return nil
	}
	return nil
}

// pause freezes a running node with the cgroup freezer.
func (d *docker) pause(ctx context.Context, name string) error {
	c, err := d.inspect(ctx, name)
	if err != nil {
		return err
	}
	if !c.running || c.paused {
		return nil
	}
	if _, err := d.cli.ContainerPause(ctx, name, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("docker pause %s: %w", name, err)
	}
	return nil
}

// resume thaws a paused node.
func (d *docker) resume(ctx context.Context, name string) error {
	c, err := d.inspect(ctx, name)
	if err != nil {
		return err
	}
	if !c.paused {
		return nil
	}
	if _, err := d.cli.ContainerUnpause(ctx, name, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("docker unpause %s: %w", name, err)
	}
	return nil
}

// exec runs argv in a node container and returns its combined output; a
// non-zero exit is a *platform.CommandError with the output.
func (d *docker) exec(ctx context.Context, name string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("docker exec: empty command")
	}
	cmdErr := func(out []byte, err error) error {
		return &platform.CommandError{Node: name, Argv: append([]string{"docker", "exec", name}, argv...), Output: out, Err: err}
	}
	cr, err := d.cli.ExecCreate(ctx, name, client.ExecCreateOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, cmdErr(nil, err)
	}
	att, err := d.cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, cmdErr(nil, err)
	}
	defer att.Close()
	var out bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&out, &out, att.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		att.Close()
		<-copied
		return out.Bytes(), cmdErr(out.Bytes(), ctx.Err())
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return out.Bytes(), cmdErr(out.Bytes(), err)
	}
	ins, err := d.cli.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
	if err != nil {
		return out.Bytes(), cmdErr(out.Bytes(), err)
	}
	if ins.ExitCode != 0 {
		return out.Bytes(), cmdErr(out.Bytes(), fmt.Errorf("exit status %d", ins.ExitCode))
	}
	return out.Bytes(), nil
}
