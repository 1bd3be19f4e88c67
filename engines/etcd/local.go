package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

// Ports a member listens on when the cluster cannot hand out ports.
const (
	defaultClientPort = 2379
	defaultPeerPort   = 2380
)

// portAllocator is implemented by clusters that hand out stable ports per
// node (the local platform), so that members on one host do not collide
// with each other or with anything else.
type portAllocator interface {
	PortFor(node, name string) (int, error)
}

// member is one etcd member on a node.
type member struct {
	node   platform.Node
	client string // host:port
	peer   string // host:port
}

func (m member) clientURL() string { return "http://" + m.client }
func (m member) peerURL() string   { return "http://" + m.peer }

// localDeployment is etcd as one process per node of a ProcessHost.
type localDeployment struct {
	members []member

	mu    sync.Mutex
	names map[uint64]string // member id → node, learnt from statuses
}

// deployLocal starts one member on each chosen node.
func deployLocal(ctx context.Context, c platform.Cluster, host platform.ProcessHost, spec engines.Spec, cfg config) (*localDeployment, error) {
	chosen, err := memberNodes(ctx, c, spec.Replicas)
	if err != nil {
		return nil, err
	}
	d := &localDeployment{names: map[uint64]string{}}
	for _, node := range chosen {
		m, err := place(c, node)
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, m)
	}
	initial := make([]string, len(d.members))
	for i, m := range d.members {
		initial[i] = m.node.Name + "=" + m.peerURL()
	}
	token := "faultline-" + c.Name()
	for _, m := range d.members {
		args := append([]string{
			"--name=" + m.node.Name,
			"--data-dir=" + host.DataDir(m.node.Name),
			"--listen-client-urls=" + m.clientURL(),
			"--advertise-client-urls=" + m.clientURL(),
			"--listen-peer-urls=" + m.peerURL(),
			"--initial-advertise-peer-urls=" + m.peerURL(),
			"--initial-cluster=" + strings.Join(initial, ","),
			"--initial-cluster-token=" + token,
		}, cfg.args()...)
		err := host.Run(ctx, m.node.Name, platform.Process{
			Name:  "etcd",
			Agent: AgentName,
			Args:  args,
			Ready: listening(m.client),
		})
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m.node.Name, err)
		}
	}
	return d, nil
}

// place gives a member its addresses on node.
func place(c platform.Cluster, node platform.Node) (member, error) {
	client, peer := defaultClientPort, defaultPeerPort
	if pa, ok := c.(portAllocator); ok {
		var err error
		if client, err = pa.PortFor(node.Name, "etcd-client"); err != nil {
			return member{}, err
		}
		if peer, err = pa.PortFor(node.Name, "etcd-peer"); err != nil {
			return member{}, err
		}
	}
	return member{
		node:   node,
		client: net.JoinHostPort(node.Addr, strconv.Itoa(client)),
		peer:   net.JoinHostPort(node.Addr, strconv.Itoa(peer)),
	}, nil
}

// memberNodes picks the nodes of the members: replicas of the cluster's
// worker nodes (every one when replicas is 0), spread over the zones.
func memberNodes(ctx context.Context, c platform.Cluster, replicas int) ([]platform.Node, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	workers := platform.Workers(nodes)
	n := replicas
	if n == 0 {
		n = len(workers)
	}
	if n > len(workers) {
		return nil, fmt.Errorf("%d members but cluster %s has %d worker nodes", n, c.Name(), len(workers))
	}
	return spreadOverZones(workers, n), nil
}

// spreadOverZones picks n nodes taking one from each zone in turn, so that
// members are spread as evenly as the topology allows, and returns them in
// their original order.
func spreadOverZones(nodes []platform.Node, n int) []platform.Node {
	if n >= len(nodes) {
		return append([]platform.Node(nil), nodes...)
	}
	var zones []string
	byZone := map[string][]int{}
	for i, nd := range nodes {
		key := nd.Region + "/" + nd.Zone
		if _, ok := byZone[key]; !ok {
			zones = append(zones, key)
		}
		byZone[key] = append(byZone[key], i)
	}
	var picked []int
	for round := 0; len(picked) < n; round++ {
		for _, z := range zones {
			if round < len(byZone[z]) && len(picked) < n {
				picked = append(picked, byZone[z][round])
			}
		}
	}
	sort.Ints(picked)
	out := make([]platform.Node, len(picked))
	for i, p := range picked {
		out[i] = nodes[p]
	}
	return out
}

// listening is a member's readiness as a process: its client port accepts
// connections. Whether the cluster serves is WaitReady's question; a
// restarted member must count as started even while quorum is lost.
func listening(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

func (d *localDeployment) endpoints(ctx context.Context) ([]engines.Endpoint, error) {
	out := make([]engines.Endpoint, len(d.members))
	for i, m := range d.members {
		out[i] = engines.Endpoint{Node: m.node.Name, Zone: m.node.Zone, Region: m.node.Region, Addr: m.client}
	}
	return out, nil
}

func (d *localDeployment) waitReady(ctx context.Context) error {
	eps, _ := d.endpoints(ctx)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		err := health(ctx, eps)
		if err == nil {
			d.learn(statusAll(ctx, eps))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd: not ready: %w (last check: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (d *localDeployment) leader(ctx context.Context) (engines.Leadership, error) {
	eps, _ := d.endpoints(ctx)
	statuses := statusAll(ctx, eps)
	d.learn(statuses)
	d.mu.Lock()
	names := make(map[uint64]string, len(d.names))
	for id, n := range d.names {
		names[id] = n
	}
	d.mu.Unlock()
	l, err := leaderOf(statuses, names)
	if err != nil && !errors.Is(err, ErrNoLeader) && ctx.Err() != nil {
		return l, fmt.Errorf("etcd: leader: %w", ctx.Err())
	}
	return l, err
}

// learn remembers which member id each answering node has, so that a
// leader that stops answering can still be named.
func (d *localDeployment) learn(statuses []memberStatus) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range statuses {
		if s.err == nil {
			d.names[s.id] = s.ep.Node
		}
	}
}
