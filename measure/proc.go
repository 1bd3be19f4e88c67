package measure

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/procfs"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// userHZ is the unit of the CPU times in /proc/PID/stat. Linux fixes it
// at 100 on every architecture it exports to user space
// (sysconf(_SC_CLK_TCK)); procfs assumes the same.
const userHZ = 100

// ProcSampler samples the engine processes of a cluster that runs them
// on this machine (platform.ProcessHost: the local platform), from /proc.
// Each node's figures cover its process and all its descendants (a
// PostgreSQL postmaster and its backends):
//
//   - CPU: utime+stime+cutime+cstime of every process in the tree, so that
//     children which exit and are reaped by a parent in the tree are not
//     lost.
//   - Memory: the proportional set size (Pss from smaps_rollup), which
//     splits shared pages such as PostgreSQL's shared buffers among the
//     processes that map them, so that the tree's sum is not inflated; VmRSS
//     when smaps_rollup cannot be read.
//   - Disk: read_bytes and write_bytes from /proc/PID/io, bytes that went to
//     or came from the block layer; the operation counts are syscr and syscw,
//     read and write system calls, a proxy for IOPS (they also count socket
//     reads and writes and page-cache hits, so they overstate IOPS).
//   - Data: the apparent size of the node's data directory.
//   - Network: bytes each node's processes sent to each other node's, from
//     the kernel's per-socket TCP counters (see SocketTraffic). Address-based
//     iptables accounting (WithIptablesAccounting) cannot tell senders apart
//     on one loopback interface, where every connection a process opens
//     without binding its source address comes from 127.0.0.1; it is there
//     for engines that do bind, and needs root.
//
// Counters of one process only grow: a process tree's sum can fall when a
// child exits without being reaped inside the tree, so for an unchanged
// root PID the sampler never reports less than before. A new PID is a
// restart, and counters start again from the new process's.
type ProcSampler struct {
	host      platform.ProcessHost
	nodes     []platform.Node
	fs        procfs.FS
	acct      *Accounting
	socks     *SocketTraffic
	notes     []string
	dataEvery time.Duration
	now       func() time.Time

	mu   sync.Mutex
	last map[string]procTotals
	data map[string]dataReading
}

type procTotals struct {
	pid                                  int
	cpu                                  float64
	readBytes, writeBytes, reads, writes int64
}

type dataReading struct {
	at    time.Time
	bytes int64
}

// ProcOption configures a ProcSampler.
type ProcOption func(*procConfig)

type procConfig struct {
	root      string
	exec      Exec
	namespace func(string) string
	noNet     bool
	iptables  bool
	dataEvery time.Duration
}

// WithProcRoot reads another proc file system than /proc.
func WithProcRoot(root string) ProcOption { return func(c *procConfig) { c.root = root } }

// WithoutNetAccounting leaves network bytes unmeasured and installs no
// iptables rules.
func WithoutNetAccounting() ProcOption { return func(c *procConfig) { c.noNet = true } }

// WithIptablesAccounting counts network bytes with iptables rules
// matching node addresses (see Accounting) instead of per-socket counters.
// It needs root, and the engine's processes must send from their node's
// address.
func WithIptablesAccounting() ProcOption { return func(c *procConfig) { c.iptables = true } }

// WithNetExec runs the iptables accounting's commands with x, in the
// namespaces ns names. By default the cluster's own NetExec is used when
// it implements platform.NetworkController, and the host's otherwise.
func WithNetExec(x Exec, ns func(node string) string) ProcOption {
	return func(c *procConfig) { c.exec, c.namespace = x, ns }
}

// WithDataInterval walks each data directory at most once per d (10 s by
// default; a data directory can hold many files) and repeats the last size
// in between.
func WithDataInterval(d time.Duration) ProcOption { return func(c *procConfig) { c.dataEvery = d } }

// NewProcSampler prepares to sample c's nodes and installs network
// accounting if it can; Close removes it. c must implement
// platform.ProcessHost.
func NewProcSampler(ctx context.Context, c platform.Cluster, opts ...ProcOption) (*ProcSampler, error) {
	host, ok := c.(platform.ProcessHost)
	if !ok {
		return nil, fmt.Errorf("proc sampler: cluster %s does not run processes on this machine", c.Name())
	}
	cfg := procConfig{root: procfs.DefaultMountPoint, dataEvery: 10 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	pfs, err := procfs.NewFS(cfg.root)
	if err != nil {
		return nil, fmt.Errorf("proc sampler: %w", err)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("proc sampler: list nodes: %w", err)
	}
	p := &ProcSampler{
		host: host, nodes: platform.Workers(nodes), fs: pfs, dataEvery: cfg.dataEvery, now: time.Now,
		last: map[string]procTotals{}, data: map[string]dataReading{},
	}
	switch {
	case cfg.noNet:
		p.notes = append(p.notes, "network bytes not measured: accounting turned off")
	case !cfg.iptables:
		p.socks = NewSocketTraffic()
	case os.Geteuid() != 0:
		p.notes = append(p.notes, "network bytes not measured: iptables accounting needs root")
	default:
		x, ns := cfg.exec, cfg.namespace
		if x == nil {
			x, ns = HostExec, func(string) string { return "host" }
			if nc, ok := c.(platform.NetworkController); ok {
				x, ns = nc.NetExec, nc.NetNamespace
			}
		}
		a := NewAccounting(AccountingConfig{Name: c.Name(), Nodes: p.nodes, Exec: x, Namespace: ns})
		if err := a.Install(ctx); err != nil {
			_ = a.Remove(ctx)
			p.notes = append(p.notes, fmt.Sprintf("network bytes not measured: %v", err))
		} else {
			p.acct = a
		}
	}
	return p, nil
}

// Notes says what the sampler cannot measure, and why.
func (p *ProcSampler) Notes() []string { return append([]string(nil), p.notes...) }

// Close removes the network accounting rules.
func (p *ProcSampler) Close(ctx context.Context) error {
	if p.acct == nil {
		return nil
	}
	return p.acct.Remove(ctx)
}

// Sample reads every node's counters now. A node whose process is not
// running yields a sample with Up false (its network counters are still
// read: the rules outlive the process). Errors reading one node do not
// stop the others; they are joined in the error.
func (p *ProcSampler) Sample(ctx context.Context) ([]workload.Sample, error) {
	children, err := p.children()
	if err != nil {
		return nil, fmt.Errorf("proc sampler: %w", err)
	}
	var errs []error
	out := make([]workload.Sample, 0, len(p.nodes))
	owners := map[int]string{}
	for _, n := range p.nodes {
		s := workload.Sample{Node: n.Name, Zone: n.Zone, Region: n.Region}
		var tree []int
		for _, pid := range p.pids(n.Name) {
			tree = append(tree, descendants(pid, children)...)
		}
		if len(tree) > 0 {
			for _, id := range tree {
				owners[id] = n.Name
			}
			p.readTree(&s, tree)
		}
		if s.Up {
			size, err := p.dataSize(n.Name)
			if err != nil {
				s.Unmeasured = append(s.Unmeasured, CounterData)
				errs = append(errs, fmt.Errorf("proc sampler: node %s: %w", n.Name, err))
			}
			s.DataBytes = size
		}
		out = append(out, s)
	}
	net, err := p.network(ctx, owners)
	if err != nil {
		errs = append(errs, err)
	}
	for i := range out {
		if net == nil {
			out[i].Unmeasured = append(out[i].Unmeasured, CounterNet)
			continue
		}
		c := net[out[i].Node]
		out[i].NetSameZoneBytes, out[i].NetCrossZoneBytes, out[i].NetCrossRegionBytes = c.SameZone, c.CrossZone, c.CrossRegion
	}
	return out, errors.Join(errs...)
}

// pids lists the running processes of node: every one of them on hosts
// whose nodes run several (platform.ProcessController).
func (p *ProcSampler) pids(node string) []int {
	pc, ok := p.host.(platform.ProcessController)
	if !ok {
		if pid := p.host.PID(node); pid > 0 {
			return []int{pid}
		}
		return nil
	}
	var out []int
	for _, name := range pc.Processes(node) {
		if pid := pc.ProcessPID(node, name); pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// network reads the bytes between nodes by zone class, or nil when they
// are not measured.
func (p *ProcSampler) network(ctx context.Context, owners map[int]string) (map[string]NetClass, error) {
	var t Traffic
	var err error
	switch {
	case p.socks != nil:
		t, err = p.socks.Read(owners)
	case p.acct != nil:
		t, err = p.acct.Read(ctx)
	default:
		return nil, nil
	}
	if t == nil {
		return nil, err
	}
	return Classify(p.nodes, t), err
}

// descendants lists pid and every process below it.
func descendants(pid int, children map[int][]int) []int {
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// children maps each process to its children, from every /proc/PID/stat.
func (p *ProcSampler) children() (map[int][]int, error) {
	procs, err := p.fs.AllProcs()
	if err != nil {
		return nil, err
	}
	m := map[int][]int{}
	for _, pr := range procs {
		st, err := pr.Stat()
		if err != nil {
			continue // exited while we looked
		}
		m[st.PPID] = append(m[st.PPID], pr.PID)
	}
	return m, nil
}

// readTree sums the counters of a process tree (root first) into s. A
// root that has exited leaves s down.
func (p *ProcSampler) readTree(s *workload.Sample, tree []int) {
	t := procTotals{pid: tree[0]}
	var mem int64
	ioOK, memOK := true, true
	for i, id := range tree {
		pr, err := p.fs.Proc(id)
		if err != nil {
			if i == 0 {
				return // the root has gone: the node is down
			}
			continue
		}
		st, err := pr.Stat()
		if err != nil {
			if i == 0 {
				return
			}
			continue
		}
		t.cpu += float64(int(st.UTime)+int(st.STime)+st.CUTime+st.CSTime) / userHZ
		if r, err := pr.ProcSMapsRollup(); err == nil {
			mem += int64(r.Pss)
		} else if ps, err := pr.NewStatus(); err == nil {
			mem += int64(ps.VmRSS)
		} else {
			memOK = false
		}
		if io, err := pr.IO(); err == nil {
			t.readBytes += int64(io.ReadBytes)
			t.writeBytes += int64(io.WriteBytes)
			t.reads += int64(io.SyscR)
			t.writes += int64(io.SyscW)
		} else {
			ioOK = false
		}
	}
	s.Up = true
	t = p.monotonic(s.Node, t)
	s.CPUSeconds = t.cpu
	s.MemoryBytes = mem
	s.DiskReadBytes, s.DiskWriteBytes, s.DiskReadOps, s.DiskWriteOps = t.readBytes, t.writeBytes, t.reads, t.writes
	if !memOK {
		s.Unmeasured = append(s.Unmeasured, CounterMemory)
	}
	if !ioOK {
		// /proc/PID/io needs ptrace access to the process.
		s.Unmeasured = append(s.Unmeasured, CounterDisk)
	}
}

// monotonic keeps a tree's counters from falling while its root process
// stays the same, and remembers them.
func (p *ProcSampler) monotonic(node string, t procTotals) procTotals {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.last[node]; ok && prev.pid == t.pid {
		t.cpu = max(t.cpu, prev.cpu)
		t.readBytes = max(t.readBytes, prev.readBytes)
		t.writeBytes = max(t.writeBytes, prev.writeBytes)
		t.reads = max(t.reads, prev.reads)
		t.writes = max(t.writes, prev.writes)
	}
	p.last[node] = t
	return t
}

// dataSize is the apparent size of node's data directory, walked at most
// once per dataEvery.
func (p *ProcSampler) dataSize(node string) (int64, error) {
	p.mu.Lock()
	r, ok := p.data[node]
	p.mu.Unlock()
	now := p.now()
	if ok && now.Sub(r.at) < p.dataEvery {
		return r.bytes, nil
	}
	size, err := DirSize(p.host.DataDir(node))
	if err != nil {
		return size, err
	}
	p.mu.Lock()
	p.data[node] = dataReading{at: now, bytes: size}
	p.mu.Unlock()
	return size, nil
}

// DirSize is the sum of the apparent sizes of the regular files under dir.
// Files that vanish during the walk (a compaction, a WAL segment recycled)
// are skipped.
func DirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("data size of %s: %w", dir, err)
	}
	return total, nil
}
