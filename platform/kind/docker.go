package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

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

// Labels faultline puts on the networks it creates.
const (
	labelNetwork        = "dev.faultline.network"
	labelNetworkCluster = "dev.faultline.cluster"
)

// nodeNetwork is the Docker network of a cluster's nodes.
type nodeNetwork struct {
	// Name is the network's name.
	Name string
	// Subnets are the subnets to create it with, in order of preference:
	// the first that no network of the daemon overlaps is taken.
	Subnets []netip.Prefix
	// Cluster is set for a cluster's own network: its name, which the
	// network is labelled with, and which removeNetwork checks.
	Cluster string
	// Err is why no subnet could be named (a bad Options.NetworkSubnet).
	Err error
}

// network is the network of cluster name's nodes (see Options.Network).
func (o Options) network(cluster string) nodeNetwork {
	if o.Network != "" {
		return nodeNetwork{Name: o.Network, Subnets: subnets(o.NetworkSubnet, DefaultNetworkSubnet)}
	}
	n := nodeNetwork{Name: DefaultNetwork + "-" + cluster, Cluster: cluster}
	if o.NetworkSubnet != "" {
		n.Subnets = subnets(o.NetworkSubnet, "")
	} else {
		n.Subnets = subnets("", DefaultNetworkPool)
	}
	if len(n.Subnets) == 0 {
		n.Err = fmt.Errorf("network subnet %q is not an IPv4 prefix", o.NetworkSubnet)
	}
	return n
}

// subnets is the one subnet set, or else the /24s of pool but its last.
func subnets(set, pool string) []netip.Prefix {
	if set != "" {
		pfx, err := netip.ParsePrefix(set)
		if err != nil || !pfx.Addr().Is4() {
			return nil
		}
		return []netip.Prefix{pfx.Masked()}
	}
	pfx, err := netip.ParsePrefix(pool)
	if err != nil || !pfx.Addr().Is4() || pfx.Bits() > 24 {
		return nil
	}
	if pfx.Bits() == 24 {
		return []netip.Prefix{pfx.Masked()}
	}
	base := pfx.Masked().Addr().As4()
	n := 1 << (24 - pfx.Bits())
	out := make([]netip.Prefix, 0, n-1)
	for i := 0; i < n-1; i++ {
		a := base
		a[2] += byte(i)
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(a), 24))
	}
	return out
}

// ensureNetwork creates the bridge network n unless it exists, with the
// first of its subnets that no network of the daemon overlaps (another
// process may take one between the look and the create: the next is
// tried then). Its IPv4 subnet is configured rather than taken from the
// daemon's pools, which is what lets a restarted node keep its address
// (pinAddr).
func (d *docker) ensureNetwork(ctx context.Context, n nodeNetwork) error {
	if n.Err != nil {
		return n.Err
	}
	if _, err := d.cli.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{}); err == nil {
		return nil
	}
	used, err := d.subnetsInUse(ctx)
	if err != nil {
		return err
	}
	labels := map[string]string{labelNetwork: "kind"}
	if n.Cluster != "" {
		labels[labelNetworkCluster] = n.Cluster
	}
	var last error
	for _, pfx := range n.Subnets {
		if overlaps(pfx, used) {
			continue
		}
		_, err := d.cli.NetworkCreate(ctx, n.Name, client.NetworkCreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: pfx, Gateway: pfx.Addr().Next()}}},
			Options: map[string]string{
				"com.docker.network.bridge.enable_ip_masquerade": "true",
				"com.docker.network.driver.mtu":                  "1500",
			},
			Labels: labels,
		})
		if err == nil {
			return nil
		}
		last = fmt.Errorf("docker network create %s --subnet %s: %w", n.Name, pfx, err)
		if !strings.Contains(err.Error(), "overlaps") {
			return last
		}
	}
	if last == nil {
		last = fmt.Errorf("docker network create %s: every subnet of %s is in use by another network", n.Name, describeSubnets(n.Subnets))
	}
	return last
}

// subnetsInUse lists the IPv4 subnets of the daemon's networks.
func (d *docker) subnetsInUse(ctx context.Context) ([]netip.Prefix, error) {
	res, err := d.cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker network ls: %w", err)
	}
	var out []netip.Prefix
	for _, nw := range res.Items {
		for _, c := range nw.IPAM.Config {
			if c.Subnet.IsValid() {
				out = append(out, c.Subnet)
			}
		}
	}
	return out, nil
}

func overlaps(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Overlaps(p) {
			return true
		}
	}
	return false
}

func describeSubnets(ps []netip.Prefix) string {
	if len(ps) == 1 {
		return ps[0].String()
	}
	return fmt.Sprintf("%s to %s", ps[0], ps[len(ps)-1])
}

// removeNetwork removes a cluster's own network n once its nodes are
// gone; a shared network, or one that is not there or not labelled as
// the cluster's, is left alone.
func (d *docker) removeNetwork(ctx context.Context, n nodeNetwork) error {
	if n.Cluster == "" {
		return nil
	}
	res, err := d.cli.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("docker network inspect %s: %w", n.Name, err)
	}
	if res.Network.Labels[labelNetworkCluster] != n.Cluster {
		return nil
	}
	if _, err := d.cli.NetworkRemove(ctx, n.Name, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker network rm %s: %w", n.Name, err)
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
