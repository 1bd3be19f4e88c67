package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
)

// proc supervises one process of a node: it starts it, reaps it when it
// exits, and records both in its log file.
type proc struct {
	node string
	spec platform.Process
	// build makes the command for a fresh start of spec, and spawn
	// starts it.
	build func() (*exec.Cmd, error)
	spawn func(*exec.Cmd) error
	log   string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has exited and been reaped
	state  string        // how it last exited
	paused bool
	starts int
}

// running reports whether the process is running (it may be paused); the
// caller holds p.mu.
func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// start starts the process if it is not running, and returns the channel
// closed when that process exits.
func (p *proc) start() (chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running() {
		return p.exited, nil
	}
	cmd, err := p.build()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(p.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	p.starts++
	fmt.Fprintf(logf, "--- faultline: start %d of %s on %s at %s: %s\n", p.starts, p.spec.Name, p.node, time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := p.spawn(cmd); err != nil {
		fmt.Fprintf(logf, "--- faultline: start failed: %v\n", err)
		logf.Close()
		return nil, fmt.Errorf("start %s on %s: %w", p.spec.Name, p.node, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.paused = cmd, exited, false
	go func() {
		err := cmd.Wait()
		state := "exited"
		if err != nil {
			state = err.Error()
		}
		fmt.Fprintf(logf, "--- faultline: %s on %s %s at %s\n", p.spec.Name, p.node, state, time.Now().Format(time.RFC3339Nano))
		logf.Close()
		p.mu.Lock()
		p.state, p.paused = state, false
		p.mu.Unlock()
		close(exited)
	}()
	return exited, nil
}

// waitReady polls the spec's Ready until it succeeds, the process exits,
// or ctx is done.
func (p *proc) waitReady(ctx context.Context, exited chan struct{}) error {
	if p.spec.Ready == nil {
		return nil
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = p.spec.Ready(rctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-exited:
			p.mu.Lock()
			state := p.state
			p.mu.Unlock()
			return fmt.Errorf("%s on %s %s before it was ready; last lines of %s:\n%s", p.spec.Name, p.node, state, p.log, tail(p.log, 15))
		case <-ctx.Done():
			return fmt.Errorf("%s on %s not ready: %w (last check: %v)", p.spec.Name, p.node, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// signal sends sig to the running process; it reports false if none runs.
func (p *proc) signal(sig syscall.Signal) (chan struct{}, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return nil, false, nil
	}
	var err error
	if p.spec.Tree && (sig == syscall.SIGKILL || sig == syscall.SIGSTOP || sig == syscall.SIGCONT) {
		err = signalTree(p.cmd.Process.Pid, sig)
	} else {
		err = p.cmd.Process.Signal(sig)
	}
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, true, fmt.Errorf("signal %s on %s: %w", p.spec.Name, p.node, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		p.paused = true
	case syscall.SIGCONT:
		p.paused = false
	}
	return p.exited, true, nil
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill(ctx context.Context) error {
	exited, ok, err := p.signal(syscall.SIGKILL)
	if !ok || err != nil {
		return err
	}
	return waitExit(ctx, exited, p)
}

// stop sends the process's stop signal (SIGTERM unless its spec names
// another) and SIGCONT, so that a paused process can act on it, waits up
// to grace, then kills.
func (p *proc) stop(ctx context.Context, grace time.Duration) error {
	sig := syscall.SIGTERM
	if p.spec.StopSignal != 0 {
		sig = p.spec.StopSignal
	}
	exited, ok, err := p.signal(sig)
	if !ok || err != nil {
		return err
	}
	p.signal(syscall.SIGCONT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	return p.kill(context.WithoutCancel(ctx))
}

func waitExit(ctx context.Context, exited chan struct{}, p *proc) error {
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s on %s did not exit: %w", p.spec.Name, p.node, ctx.Err())
	}
}

// pid is the running process's id, or 0.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Run implements platform.ProcessHost: it starts p on node and waits until
// p.Ready succeeds. A node runs several processes, each under a name of
// its own; they start, as a node, in the order Run started them. The
// process lives until the cluster is deleted; it is not tied to ctx.
func (c *Cluster) Run(ctx context.Context, node string, p platform.Process) error {
	if _, i := c.lookup(node); i < 0 {
		return fmt.Errorf("local: run %s: no node %q", p.Name, node)
	}
	if p.Agent == "" && p.Path == "" {
		return fmt.Errorf("local: run %s on %s: the process has neither an agent nor a path", p.Name, node)
	}
	c.mu.Lock()
	if c.deleted {
		c.mu.Unlock()
		return fmt.Errorf("local: run %s on %s: the cluster is deleted", p.Name, node)
	}
	for _, old := range c.procs[node] {
		if old.spec.Name == p.Name {
			c.mu.Unlock()
			return fmt.Errorf("local: run %s on %s: the node already runs a process of that name", p.Name, node)
		}
	}
	log := c.LogPath(node)
	if len(c.procs[node]) > 0 {
		log = c.processLogPath(node, p.Name)
	}
	pr := &proc{node: node, spec: p, log: log}
	pr.build = func() (*exec.Cmd, error) { return c.command(node, p) }
	pr.spawn = c.spawner.start
	c.procs[node] = append(c.procs[node], pr)
	c.mu.Unlock()

	exited, err := pr.start()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := pr.waitReady(ctx, exited); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return nil
}

// command builds the exec.Cmd for p on node: the agent binary or p.Path,
// in the node's directory, as the node's uid when isolated, killed if
// faultline dies.
func (c *Cluster) command(node string, p platform.Process) (*exec.Cmd, error) {
	path := p.Path
	env := append(os.Environ(), c.env(node)...)
	if p.Agent != "" {
		path = c.exe
		env = append(env, agent.Command(p.Agent))
	}
	cmd := exec.Command(path, p.Args...)
	cmd.Env = append(env, p.Env...)
	cmd.Dir = filepath.Dir(c.DataDir(node))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A crashed harness leaves no process behind.
		Pdeathsig: syscall.SIGKILL,
		// The terminal's Ctrl-C reaches the harness, which heals and
		// stops nodes in order, not the nodes directly.
		Setpgid: true,
	}
	if c.isolate {
		uid := uint32(c.uid(node))
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}
	}
	return cmd, nil
}

// PID implements platform.ProcessHost: the pid of the node's first
// process.
func (c *Cluster) PID(node string) int {
	ps := c.nodeProcs(node)
	if len(ps) == 0 {
		return 0
	}
	return ps[0].pid()
}

// nodeProcs returns node's processes in start order.
func (c *Cluster) nodeProcs(node string) []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*proc(nil), c.procs[node]...)
}

// mustProcs returns node's processes, or an error naming what is missing.
func (c *Cluster) mustProcs(op, node string) ([]*proc, error) {
	if _, i := c.lookup(node); i < 0 {
		return nil, fmt.Errorf("local: %s: no node %q", op, node)
	}
	ps := c.nodeProcs(node)
	if len(ps) == 0 {
		return nil, fmt.Errorf("local: %s %s: the node runs no process", op, node)
	}
	return ps, nil
}

// mustProcess returns node's process called name.
func (c *Cluster) mustProcess(op, node, name string) (*proc, error) {
	ps, err := c.mustProcs(op, node)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range ps {
		if p.spec.Name == name {
			return p, nil
		}
		names = append(names, p.spec.Name)
	}
	return nil, fmt.Errorf("local: %s %s on %s: no such process (the node runs %s)", op, name, node, strings.Join(names, ", "))
}

// reversed returns ps last first: a node stops in the reverse of the
// order it started in.
func reversed(ps []*proc) []*proc {
	out := make([]*proc, len(ps))
	for i, p := range ps {
		out[len(ps)-1-i] = p
	}
	return out
}

// Kill implements platform.NodeController: SIGKILL to every process of
// the node, then wait for their exits.
func (c *Cluster) Kill(ctx context.Context, node string) error {
	ps, err := c.mustProcs("kill", node)
	if err != nil {
		return err
	}
	for _, p := range reversed(ps) {
		if err := p.kill(ctx); err != nil {
			return fmt.Errorf("local: kill: %w", err)
		}
	}
	return nil
}

// Stop implements platform.NodeController: SIGTERM, then SIGKILL after
// the grace period, to each process of the node, last started first.
func (c *Cluster) Stop(ctx context.Context, node string) error {
	ps, err := c.mustProcs("stop", node)
	if err != nil {
		return err
	}
	for _, p := range reversed(ps) {
		if err := p.stop(ctx, c.opts.StopGrace); err != nil {
			return fmt.Errorf("local: stop: %w", err)
		}
	}
	return nil
}

// Start implements platform.NodeController: it starts the node's
// processes that are not running again, in the order they first started,
// with the same spec and data directory, each waiting until it is ready.
// Processes that run are left alone.
func (c *Cluster) Start(ctx context.Context, node string) error {
	ps, err := c.mustProcs("start", node)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := c.startProc(ctx, node, p); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) startProc(ctx context.Context, node string, p *proc) error {
	c.mu.Lock()
	deleted := c.deleted
	c.mu.Unlock()
	if deleted {
		return fmt.Errorf("local: start %s: the cluster is deleted", node)
	}
	exited, err := p.start()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := p.waitReady(ctx, exited); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return nil
}

// Pause implements platform.NodeController: SIGSTOP to every process of
// the node, then wait until the kernel reports each stopped.
func (c *Cluster) Pause(ctx context.Context, node string) error {
	ps, err := c.mustProcs("pause", node)
	if err != nil {
		return err
	}
	paused := 0
	for _, p := range reversed(ps) {
		_, ok, err := p.signal(syscall.SIGSTOP)
		if err != nil {
			return fmt.Errorf("local: pause: %w", err)
		}
		if !ok {
			continue
		}
		paused++
		if err := waitStopped(ctx, p.pid()); err != nil {
			return err
		}
	}
	if paused == 0 {
		return fmt.Errorf("local: pause %s: no process of the node is running", node)
	}
	return nil
}

// Resume implements platform.NodeController: SIGCONT to every process of
// the node, first started first. A process that is not running is left
// alone.
func (c *Cluster) Resume(ctx context.Context, node string) error {
	ps, err := c.mustProcs("resume", node)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, _, err := p.signal(syscall.SIGCONT); err != nil {
			return fmt.Errorf("local: resume: %w", err)
		}
	}
	return nil
}

// Processes implements platform.ProcessController.
func (c *Cluster) Processes(node string) []string {
	var out []string
	for _, p := range c.nodeProcs(node) {
		out = append(out, p.spec.Name)
	}
	return out
}

// ProcessPID implements platform.ProcessController.
func (c *Cluster) ProcessPID(node, name string) int {
	for _, p := range c.nodeProcs(node) {
		if p.spec.Name == name {
			return p.pid()
		}
	}
	return 0
}

// KillProcess implements platform.ProcessController.
func (c *Cluster) KillProcess(ctx context.Context, node, name string) error {
	p, err := c.mustProcess("kill", node, name)
	if err != nil {
		return err
	}
	if err := p.kill(ctx); err != nil {
		return fmt.Errorf("local: kill: %w", err)
	}
	return nil
}

// StartProcess implements platform.ProcessController.
func (c *Cluster) StartProcess(ctx context.Context, node, name string) error {
	p, err := c.mustProcess("start", node, name)
	if err != nil {
		return err
	}
	return c.startProc(ctx, node, p)
}

// waitStopped waits until /proc says pid is stopped (state T), because
// SIGSTOP is delivered asynchronously.
func waitStopped(ctx context.Context, pid int) error {
	for {
		st, err := procState(pid)
		if err != nil || st == 'T' || st == 't' || st == 'Z' || st == 'X' {
			return nil // gone or stopped
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("local: pause: process %d still in state %c: %w", pid, st, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// procState reads the state letter of /proc/PID/stat.
func procState(pid int) (byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may contain anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return b[i+2], nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// signalTree sends sig to pid and every process descended from it. The
// root is stopped first, so that it cannot fork a child the walk misses
// (SIGKILL and SIGSTOP), or continued last, so that its children are
// running again before it acts (SIGCONT).
func signalTree(pid int, sig syscall.Signal) error {
	if sig != syscall.SIGCONT {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return err
		}
	}
	for _, d := range descendants(pid) {
		if err := syscall.Kill(d, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return syscall.Kill(pid, sig)
}

// descendants lists the processes descended from pid, from /proc.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil || p <= 0 {
			continue
		}
		if pp, err := parentOf(p); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf reads the parent pid from /proc/PID/stat.
func parentOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	var state string
	var ppid int
	if _, err := fmt.Sscan(string(b[i+1:]), &state, &ppid); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return ppid, nil
}
