package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/internal/files"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/iptables"
)

// uidBase is the first uid of node processes. A node's uid encodes its
// address (base + X<<16 | Y<<8 | K), so uids of concurrent clusters never
// collide and the nat rules of one cluster never match another's traffic.
const uidBase = 0x40000000

// Cluster is a local cluster: processes on loopback addresses. It
// implements platform.Cluster, platform.ProcessHost,
// platform.NodeController and platform.NetworkController.
type Cluster struct {
	id      string
	name    string
	dir     string
	opts    Options
	isolate bool
	exe     string // what agent processes run
	nodes   []platform.Node
	block   block
	lock    *lock
	spawner *spawner
	// removeLatency removes the standing latency between regions.
	removeLatency func(context.Context) error

	mu      sync.Mutex
	procs   map[string][]*proc // by node, in start order
	ports   map[[2]string]int
	deleted bool
	// control is the control-plane node's index in nodes, or -1 until
	// an engine asks for it.
	control int
	// portRand picks ports (PortFor), under mu.
	portRand *rand.Rand
}

var (
	_ platform.Cluster           = (*Cluster)(nil)
	_ platform.ProcessHost       = (*Cluster)(nil)
	_ platform.NodeController    = (*Cluster)(nil)
	_ platform.NetworkController = (*Cluster)(nil)
	_ platform.FaultSupport      = (*Cluster)(nil)
	_ platform.LogExporter       = (*Cluster)(nil)
	_ platform.ProcessController = (*Cluster)(nil)
	_ platform.ControlPlaneHost  = (*Cluster)(nil)
	_ platform.FileSharer        = (*Cluster)(nil)
)

func newCluster(ctx context.Context, opts Options, layout []platform.Node, isolate bool) (c *Cluster, err error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	b, err := reserveBlock(len(layout))
	if err != nil {
		return nil, err
	}
	c = &Cluster{
		id:      id,
		name:    "local-" + id,
		opts:    opts,
		isolate: isolate,
		block:   b,
		procs:   map[string][]*proc{},
		control: -1,
		// Clusters must not pick the same ports: seeded from the id.
		portRand: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), idSeed(id))),
		ports:    map[[2]string]int{},
		spawner:  newSpawner(),
	}
	// A failed return sets c to nil before deferred calls run: delete
	// through a copy.
	cl := c
	defer func() {
		if err != nil {
			cl.Delete(context.WithoutCancel(ctx))
		}
	}()
	for i, n := range layout {
		n.Addr = b.addr(i + 1)
		c.nodes = append(c.nodes, n)
	}
	if c.dir, err = os.MkdirTemp(opts.WorkDir, "faultline-local-"+id+"-"); err != nil {
		return nil, err
	}
	if c.lock, err = register(record{ID: id, Name: c.name, PID: os.Getpid(), Dir: c.dir, Retain: opts.Retain, Block: b.String()}); err != nil {
		return nil, err
	}
	if err := c.makeDirs(); err != nil {
		return nil, err
	}
	if c.exe, err = c.placeExecutable(); err != nil {
		return nil, err
	}
	if isolate {
		if err := c.installSNAT(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// makeDirs creates each node's directory and its data directory, owned by
// the node's uid when nodes are isolated.
func (c *Cluster) makeDirs() error {
	if c.isolate {
		// Node processes must reach their directories and executable.
		if err := os.Chmod(c.dir, 0o755); err != nil {
			return err
		}
		if err := searchable(c.dir); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.makeNodeDir(n.Name); err != nil {
			return err
		}
	}
	return nil
}

// makeNodeDir creates node's directory and its data directory: nodes/ and
// nodes/NAME/ are searchable, nodes/NAME/data is the node's alone.
func (c *Cluster) makeNodeDir(node string) error {
	if err := os.MkdirAll(filepath.Dir(c.DataDir(node)), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(c.DataDir(node), 0o700); err != nil {
		return err
	}
	if c.isolate {
		uid := c.uid(node)
		if err := os.Chown(c.DataDir(node), uid, uid); err != nil {
			return err
		}
	}
	return nil
}

// searchable checks that other users can reach dir: node processes run as
// their own uids.
func searchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("node processes run as their own uids and cannot reach %s: %s is mode %s (choose a work directory under %s)", dir, d, fi.Mode().Perm(), os.TempDir())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// placeExecutable returns the binary agent processes run. Isolated nodes
// cannot read a binary under /root (mode 0700), so it is linked or copied
// into the cluster directory.
func (c *Cluster) placeExecutable() (string, error) {
	src := c.opts.Executable
	if src == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this executable: %w", err)
		}
		src = exe
	}
	if !c.isolate {
		return src, nil
	}
	bin := filepath.Join(c.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(bin, filepath.Base(src))
	if fi, err := os.Stat(src); err == nil && fi.Mode().Perm()&0o005 == 0o005 && os.Link(src, dst) == nil {
		return dst, nil
	}
	if err := files.CopyNew(src, dst, 0o755); err != nil {
		return "", fmt.Errorf("copy the executable for node processes: %w", err)
	}
	return dst, nil
}

// Share implements platform.FileSharer: when nodes run as their own
// uids, the file is hard-linked (or, across file systems, copied) into
// the cluster's bin/shared/HASH/ directory, HASH naming the directory it
// came from, so that programs of the same name from two places do not
// collide.
func (c *Cluster) Share(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("local: share %s: %w", path, err)
	}
	if !c.isolate {
		return abs, nil
	}
	sum := sha256.Sum256([]byte(filepath.Dir(abs)))
	dir := filepath.Join(c.dir, "bin", "shared", hex.EncodeToString(sum[:4]))
	dst := filepath.Join(dir, filepath.Base(abs))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("local: share %s: %w", path, err)
	}
	if err := os.Chmod(filepath.Join(c.dir, "bin"), 0o755); err != nil {
		return "", fmt.Errorf("local: share %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("local: share %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o004 != 0 && os.Link(abs, dst) == nil {
		return dst, nil
	}
	if err := files.CopyNew(abs, dst, 0o755); err != nil {
		return "", fmt.Errorf("local: share %s: %w", path, err)
	}
	return dst, nil
}

// idSeed turns a cluster id (hex) into a seed.
func idSeed(id string) uint64 {
	n, _ := strconv.ParseUint(id, 16, 64)
	return n
}

// Name implements platform.Cluster.
func (c *Cluster) Name() string { return c.name }

// ID is the cluster's 8 hex digits, which name its iptables chains.
func (c *Cluster) ID() string { return c.id }

// Dir is the cluster's directory: nodes/NAME/{data,NAME.log}, bin/.
func (c *Cluster) Dir() string { return c.dir }

// Nodes implements platform.Cluster: the workers in layout order, then
// the control-plane node once an engine has asked for it.
func (c *Cluster) Nodes(ctx context.Context) ([]platform.Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]platform.Node(nil), c.nodes...), nil
}

// lookup finds a node and its index.
func (c *Cluster) lookup(node string) (platform.Node, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.nodes {
		if n.Name == node {
			return n, i
		}
	}
	return platform.Node{}, -1
}

// ControlPlaneName is the name of the local platform's control-plane node.
const ControlPlaneName = "cp"

// ControlPlane implements platform.ControlPlaneHost: the node after the
// last worker in the cluster's address block, named cp, with its own uid,
// directory and source-address rewriting, and no zone or region.
func (c *Cluster) ControlPlane(ctx context.Context) (platform.Node, error) {
	c.mu.Lock()
	if c.deleted {
		c.mu.Unlock()
		return platform.Node{}, fmt.Errorf("local: control plane: the cluster %s is deleted", c.name)
	}
	if c.control >= 0 {
		n := c.nodes[c.control]
		c.mu.Unlock()
		return n, nil
	}
	k := len(c.nodes) + 1
	if k > maxNodes {
		c.mu.Unlock()
		return platform.Node{}, fmt.Errorf("local: control plane: no address left in %s", c.block)
	}
	n := platform.Node{Name: ControlPlaneName, Role: platform.RoleControlPlane, Addr: c.block.addr(k)}
	c.nodes = append(c.nodes, n)
	c.control = len(c.nodes) - 1
	c.mu.Unlock()
	if err := c.makeNodeDir(n.Name); err != nil {
		return platform.Node{}, fmt.Errorf("local: control plane: %w", err)
	}
	if c.isolate {
		if _, err := runIptables(ctx, c.snatRule("-A", n)...); err != nil {
			return platform.Node{}, fmt.Errorf("local: control plane: source-address rewriting: %w", err)
		}
	}
	return n, nil
}

// DataDir implements platform.ProcessHost.
func (c *Cluster) DataDir(node string) string {
	return filepath.Join(c.dir, "nodes", node, "data")
}

// LogPath is the file that collects the stdout and stderr of node's
// (first) process, across restarts.
func (c *Cluster) LogPath(node string) string {
	return filepath.Join(c.dir, "nodes", node, node+".log")
}

// processLogPath is the log file of node's process name when it is not
// the node's first: NODE.NAME.log.
func (c *Cluster) processLogPath(node, name string) string {
	return filepath.Join(c.dir, "nodes", node, node+"."+name+".log")
}

// Logs maps each node that has run a process to its log file, for the
// runner to copy into the run directory; a node's further processes
// appear as NODE.NAME.
func (c *Cluster) Logs() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for node, ps := range c.procs {
		for i, p := range ps {
			if i == 0 {
				out[node] = p.log
			} else {
				out[node+"."+p.spec.Name] = p.log
			}
		}
	}
	return out
}

// ExportLogs implements platform.LogExporter: it copies each process's
// log file (its output across restarts) into dir as NODE.log, or
// NODE.NAME.log for a node's further processes.
func (c *Cluster) ExportLogs(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local: export logs: %w", err)
	}
	var errs []error
	for node, path := range c.Logs() {
		if ctx.Err() != nil {
			return fmt.Errorf("local: export logs: %w", ctx.Err())
		}
		if err := copyLog(path, filepath.Join(dir, node+".log")); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local: export logs: %w", err)
	}
	return nil
}

func copyLog(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// PortFor returns a TCP port for the named purpose ("client", "peer") on
// node's address, the same one every time it is asked, so that a restarted
// process listens where its peers expect it.
func (c *Cluster) PortFor(node, name string) (int, error) {
	n, i := c.lookup(node)
	if i < 0 {
		return 0, fmt.Errorf("local: no node %q", node)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := [2]string{node, name}
	if p, ok := c.ports[key]; ok {
		return p, nil
	}
	port, err := freePort(n.Addr, c.portRand)
	if err != nil {
		return 0, fmt.Errorf("local: port for %s on %s: %w", name, node, err)
	}
	c.ports[key] = port
	return port, nil
}

// Ports are chosen below the kernel's ephemeral range: a port from that
// range can be taken, between PortFor and the server's bind, as the
// source port of an outgoing connection from the same address (a node's
// processes share it), and a dial to it can then even connect to itself.
const (
	minPort          = 10000
	defaultEphemeral = 32768
)

// freePort returns a port on addr below the ephemeral range that nothing
// listens on, or one the kernel picks when that range is too narrow.
func freePort(addr string, r *rand.Rand) (int, error) {
	hi := ephemeralLow() - 1
	for try := 0; hi-minPort > 1000 && try < 100; try++ {
		p := minPort + r.IntN(hi-minPort+1)
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, itoa(p)))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeral
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= 0 {
		return defaultEphemeral
	}
	return lo
}

// ChainName names an iptables chain that belongs to this cluster, for
// faults that install rules (purpose such as "p3" for the partition of
// schedule entry 3). Heal finds such chains after a crash by the prefix.
func (c *Cluster) ChainName(purpose string) string {
	name := iptables.Prefix + c.id + "-" + purpose
	if len(name) > iptables.MaxChain {
		name = name[:iptables.MaxChain]
	}
	return name
}

// uid is the uid node's processes run as when nodes are isolated.
func (c *Cluster) uid(node string) int {
	if _, i := c.lookup(node); i >= 0 {
		return uidBase + int(c.block.x)<<16 + int(c.block.y)<<8 + i + 1
	}
	return -1
}

// NetExec implements platform.NetworkController: every node of the local
// platform shares the host's network namespace, so argv runs on the host.
func (c *Cluster) NetExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("local: net exec: empty command")
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, &platform.CommandError{Node: node, Argv: argv, Output: out, Err: err}
	}
	return out, nil
}

// CanInject implements platform.FaultSupport for the cluster itself, so
// that a fault handed this cluster directly can refuse what it cannot do
// (a partition without per-node uids would install rules that cut
// nothing).
func (c *Cluster) CanInject(kind string) error {
	return canInject(kind, !c.isolate, probeIptables)
}

// NetNamespace implements platform.NetworkController.
func (c *Cluster) NetNamespace(node string) string { return "host" }

// Delete implements platform.Cluster: it stops every process, removes the
// cluster's iptables chains and, unless retained, its directory. It is
// safe to call more than once.
func (c *Cluster) Delete(ctx context.Context) error {
	c.mu.Lock()
	if c.deleted {
		c.mu.Unlock()
		return nil
	}
	c.deleted = true
	var procs []*proc
	for _, ps := range c.procs {
		procs = append(procs, ps...)
	}
	c.mu.Unlock()

	var errs []error
	if c.removeLatency != nil {
		if err := c.removeLatency(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove region latency: %w", err))
		}
	}
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.stop(ctx, min(c.opts.StopGrace, 2*time.Second)); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	if c.isolate {
		if err := removeChains(ctx, io.Discard, iptables.Prefix+c.id); err != nil {
			errs = append(errs, err)
		}
	}
	if c.dir != "" && !c.opts.Retain {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, err)
		}
	}
	c.spawner.stop()
	unregister(c.id, c.lock)
	c.block.lock.release()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local: delete %s: %w", c.name, err)
	}
	return nil
}

// env is the environment entries that mark a process as this cluster's,
// for Heal to find after a crash.
func (c *Cluster) env(node string) []string {
	return []string{envCluster + "=" + c.id, envNode + "=" + node, "HOME=" + filepath.Dir(c.DataDir(node))}
}

// envCluster marks every node process with its cluster's id.
const envCluster = "FAULTLINE_CLUSTER"

// envNode names the node a process serves.
const envNode = "FAULTLINE_NODE"

func itoa(i int) string { return strconv.Itoa(i) }
