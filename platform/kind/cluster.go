package kind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// apiServerPort is the port the API server listens on inside the
// control-plane container.
const apiServerPort = "6443"

// Cluster is a kind cluster. It implements platform.Cluster and the
// capabilities platform.Kubernetes, platform.Owned,
// platform.NodeController (through the Docker API),
// platform.NetworkController (docker exec in the node container),
// platform.FaultSupport and platform.LogExporter, and
// faults.NetNSPather, faults.NodeMechanisms and the pod networks the
// shaper matches pod traffic by.
type Cluster struct {
	name   string
	opts   Options
	prov   *kindcluster.Provider
	st     state
	docker *docker
	kube   kubernetes.Interface
	nodes  []platform.Node
	// lock keeps other faultline processes off the cluster; created says
	// this process created it (and so Delete deletes it).
	lock    *os.File
	created bool
	// removeLatency removes the standing latency between regions.
	removeLatency func(context.Context) error

	mu      sync.Mutex
	deleted bool
	// hooks run after a node is started again (platform.RestartHooks).
	hooks    map[int]func(context.Context, string) error
	nextHook int
}

var (
	_ platform.Cluster           = (*Cluster)(nil)
	_ platform.Kubernetes        = (*Cluster)(nil)
	_ platform.Owned             = (*Cluster)(nil)
	_ platform.NodeController    = (*Cluster)(nil)
	_ platform.NetworkController = (*Cluster)(nil)
	_ platform.FaultSupport      = (*Cluster)(nil)
	_ platform.RestartHooks      = (*Cluster)(nil)
	_ platform.LogExporter       = (*Cluster)(nil)
	_ platform.NodePortHost      = (*Cluster)(nil)
)

// open connects to the running kind cluster name: it writes a kubeconfig
// that reaches the API server at the control-plane container's address,
// waits until every node is Ready, and reads the nodes' zones.
func open(ctx context.Context, opts Options, prov *kindcluster.Provider, st state, name string) (c *Cluster, err error) {
	d, err := newDocker(opts.DockerHost)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if err := writeKubeconfig(prov, st, name); err != nil {
		return nil, err
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: st.kubeconfig(name)},
		&clientcmd.ConfigOverrides{CurrentContext: contextName(name)},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc.Timeout = 15 * time.Second
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	c = &Cluster{name: name, opts: opts, prov: prov, st: st, docker: d, kube: kube}
	wctx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	if c.nodes, err = waitNodes(wctx, kube); err != nil {
		return nil, err
	}
	return c, nil
}

func contextName(cluster string) string { return "kind-" + cluster }

// writeKubeconfig writes the cluster's kubeconfig into the state
// directory with the API server at the control-plane container's address
// and port 6443, which this host reaches whether or not the Docker daemon
// publishes ports on its loopback (a daemon in its own network namespace
// does not), and which kubeadm puts in the server certificate.
func writeKubeconfig(prov *kindcluster.Provider, st state, name string) error {
	raw, err := prov.KubeConfig(name, false)
	if err != nil {
		return fmt.Errorf("kubeconfig of %s: %w", name, err)
	}
	nodes, err := prov.ListNodes(name)
	if err != nil {
		return fmt.Errorf("nodes of %s: %w", name, err)
	}
	var cpIP string
	for _, n := range nodes {
		if role, _ := n.Role(); role == platform.RoleControlPlane {
			if cpIP, _, err = n.IP(); err != nil {
				return fmt.Errorf("address of %s: %w", n.String(), err)
			}
		}
	}
	if cpIP == "" {
		return fmt.Errorf("cluster %s has no control-plane node", name)
	}
	cfg, err := clientcmd.Load([]byte(raw))
	if err != nil {
		return fmt.Errorf("kubeconfig of %s: %w", name, err)
	}
	for _, cl := range cfg.Clusters {
		cl.Server = "https://" + net.JoinHostPort(cpIP, apiServerPort)
	}
	if err := os.MkdirAll(st.clusterDir(name), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, st.kubeconfig(name))
}

// waitNodes waits until the API server lists every node Ready, and
// returns them: the control plane first, then the workers in kind's
// order, which is the configuration's.
func waitNodes(ctx context.Context, kube kubernetes.Interface) ([]platform.Node, error) {
	var last error
	for {
		list, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			var notReady []string
			for _, n := range list.Items {
				if !nodeReady(n) {
					notReady = append(notReady, n.Name)
				}
			}
			if len(notReady) == 0 && len(list.Items) > 0 {
				return toNodes(list.Items), nil
			}
			err = fmt.Errorf("not Ready: %s", strings.Join(notReady, ", "))
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for nodes: %w (last: %v)", ctx.Err(), last)
		case <-time.After(time.Second):
		}
	}
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// toNodes converts API nodes, ordered as waitNodes documents.
func toNodes(items []corev1.Node) []platform.Node {
	out := make([]platform.Node, 0, len(items))
	for _, n := range items {
		out = append(out, kube.Node(n))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Role == platform.RoleControlPlane) != (b.Role == platform.RoleControlPlane) {
			return a.Role == platform.RoleControlPlane
		}
		return nodeIndex(a.Name) < nodeIndex(b.Name) || (nodeIndex(a.Name) == nodeIndex(b.Name) && a.Name < b.Name)
	})
	return out
}

// nodeIndex is the number kind puts at the end of a node's name
// (NAME-worker is 1, NAME-worker2 is 2), so that worker10 sorts after
// worker9.
func nodeIndex(name string) int {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) {
		return 1
	}
	n, _ := strconv.Atoi(name[i:])
	return n
}

// Name implements platform.Cluster.
func (c *Cluster) Name() string { return c.name }

// Nodes implements platform.Cluster: the control plane and the workers
// with their zones, regions and addresses, as read when the cluster was
// opened (a killed node keeps its place and its address).
func (c *Cluster) Nodes(ctx context.Context) ([]platform.Node, error) {
	return append([]platform.Node(nil), c.nodes...), nil
}

// Kubeconfig implements platform.Kubernetes.
func (c *Cluster) Kubeconfig() string { return c.st.kubeconfig(c.name) }

// Context implements platform.Kubernetes.
func (c *Cluster) Context() string { return contextName(c.name) }

// NodePortAddr implements platform.NodePortHost: the control-plane
// node's address, which the harness reaches and faults never target.
func (c *Cluster) NodePortAddr(ctx context.Context) (string, error) {
	for _, n := range c.nodes {
		if n.Role == platform.RoleControlPlane && n.Addr != "" {
			return n.Addr, nil
		}
	}
	return "", fmt.Errorf("kind: cluster %s has no control-plane node with an address", c.name)
}

// Owned implements platform.Owned: whether faultline created the cluster.
func (c *Cluster) Owned() bool {
	_, ok := c.st.read(c.name)
	return ok
}

// CanInject implements platform.FaultSupport.
func (c *Cluster) CanInject(kind string) error { return canInject(kind) }

// Delete implements platform.Cluster: it removes the region latency and
// deletes the cluster, unless it was reused or is to be retained, in
// which case it is left running. It releases the cluster for other
// faultline processes either way, and is safe to call twice.
func (c *Cluster) Delete(ctx context.Context) error {
	// The mutex guards only the flag: removing the region latency
	// removes its restart hook, which takes the mutex itself.
	c.mu.Lock()
	deleted := c.deleted
	c.deleted = true
	c.mu.Unlock()
	if deleted {
		return nil
	}
	var errs []error
	if c.removeLatency != nil {
		if err := c.removeLatency(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove region latency: %w", err))
		}
	}
	if c.created && !c.opts.Retain && !c.opts.Reuse {
		if err := c.prov.Delete(c.name, c.st.kubeconfig(c.name)); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, c.docker.removeNetwork(ctx, c.opts.network(c.name)), c.st.remove(c.name))
		}
	}
	if c.lock != nil {
		c.lock.Close()
	}
	errs = append(errs, c.docker.close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kind: delete %s: %w", c.name, err)
	}
	return nil
}

// ExportLogs implements platform.LogExporter with kind's log export:
// each node's journal, containerd and kubelet logs, and the pods' logs.
func (c *Cluster) ExportLogs(ctx context.Context, dir string) error {
	if err := c.prov.CollectLogs(c.name, dir); err != nil {
		return fmt.Errorf("kind: export logs: %w", err)
	}
	return nil
}

// PodNetworks returns each node's pod CIDRs (node.spec.podCIDRs): pods
// talk to each other from their own addresses, without NAT, so faults
// between nodes must match those addresses too.
func (c *Cluster) PodNetworks(ctx context.Context) (map[string][]string, error) {
	list, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kind: pod networks: %w", err)
	}
	out := map[string][]string{}
	for _, n := range list.Items {
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		if len(cidrs) > 0 {
			out[n.Name] = append([]string(nil), cidrs...)
		}
	}
	return out, nil
}
