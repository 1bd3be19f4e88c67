package dockerd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/internal/files"
	"github.com/faultline-dev/faultline/platform"
)

// plan is where the private daemon's pieces live and which addresses it
// uses, all derived from Options.
type plan struct {
	o Options
	// base is the first two octets of the /16.
	base [2]byte
}

func newPlan(o Options) plan {
	ip, _, _ := net.ParseCIDR(o.Subnet) // validated by withDefaults
	v4 := ip.To4()
	return plan{o: o, base: [2]byte{v4[0], v4[1]}}
}

func (p plan) addr(c, d int) string { return fmt.Sprintf("%d.%d.%d.%d", p.base[0], p.base[1], c, d) }

// hostLink and nsLink name the two ends of the link between the host and
// the daemon's namespace: fl-dockerd0/1 for the default namespace, else
// named by a hash of the namespace's name (interface names are short).
func (p plan) hostLink() string { return p.linkPrefix() + "0" }
func (p plan) nsLink() string   { return p.linkPrefix() + "1" }

func (p plan) linkPrefix() string {
	if p.o.NetNS == DefaultNetNS {
		return "fl-dockerd"
	}
	sum := sha256.Sum256([]byte(p.o.NetNS))
	return "fl-d" + hex.EncodeToString(sum[:4])
}

func (p plan) socket() string    { return filepath.Join(p.o.RunDir, "docker.sock") }
func (p plan) host() string      { return "unix://" + p.socket() }
func (p plan) pidFile() string   { return filepath.Join(p.o.RunDir, "docker.pid") }
func (p plan) logFile() string   { return filepath.Join(p.o.RunDir, "dockerd.log") }
func (p plan) binDir() string    { return filepath.Join(p.o.RunDir, "bin") }
func (p plan) netnsPath() string { return "/run/netns/" + p.o.NetNS }

// hostIP and nsIP are the two ends of the /30 at the top of the subnet.
func (p plan) hostIP() string { return p.addr(255, 253) }
func (p plan) nsIP() string   { return p.addr(255, 254) }

// pool is where docker allocates networks (kind's among them); bip is
// docker0, outside the pool.
func (p plan) pool() string { return p.addr(0, 0) + "/17" }
func (p plan) bip() string  { return p.addr(128, 1) + "/24" }

// dockerdArgs is the private daemon's command line (after nsenter).
func (p plan) dockerdArgs(dockerd string) []string {
	return []string{
		dockerd,
		// A configuration of its own: the system's /etc/docker/daemon.json
		// may set data-root and friends, which flags may not repeat.
		"--config-file", filepath.Join(p.o.RunDir, "daemon.json"),
		"--data-root", p.o.DataRoot,
		"--exec-root", filepath.Join(p.o.RunDir, "exec"),
		"--pidfile", p.pidFile(),
		"--host", p.host(),
		"--containerd-namespace", "faultline",
		"--containerd-plugins-namespace", "faultline-plugins",
		"--add-runtime", "faultline-runc=" + filepath.Join(p.binDir(), "runc"),
		"--default-runtime", "faultline-runc",
		"--cgroup-parent", "/faultline-dockerd",
		"--bip", p.bip(),
		"--default-address-pool", "base=" + p.pool() + ",size=24",
	}
}

// shimScript is the runtime the private daemon runs: faultline as the
// shim agent, told where the real runc is.
func (p plan) shimScript(runc string) string {
	return fmt.Sprintf("#!/bin/sh\nexport FAULTLINE_AGENT=%s %s=%s\nexec %s \"$@\"\n",
		ShimAgentName, realRuncEnv, runc, filepath.Join(p.binDir(), "faultline"))
}

func ensurePrivate(ctx context.Context, o Options) (*Daemon, error) {
	p := newPlan(o)
	d := &Daemon{host: p.host(), private: true, plan: p}
	if pid := p.alivePID(); pid > 0 && d.ping(ctx) == nil {
		if err := p.ensureNetwork(ctx); err != nil {
			return nil, err
		}
		if err := p.openForward(ctx); err != nil {
			return nil, err
		}
		return d, nil
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("dockerd: starting faultline's Docker daemon needs root")
	}
	// One starter at a time: a second process waits, then finds the
	// daemon running.
	unlock, err := p.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if pid := p.alivePID(); pid > 0 && d.ping(ctx) == nil {
		if err := p.ensureNetwork(ctx); err != nil {
			return nil, err
		}
		return d, p.openForward(ctx)
	}
	dockerd, err := findBinary(o.Dockerd, "dockerd")
	if err != nil {
		return nil, err
	}
	runc, err := findBinary(o.Runc, "runc")
	if err != nil {
		return nil, err
	}
	for _, c := range []string{"nsenter", "ip", "iptables"} {
		if _, err := findBinary("", c); err != nil {
			return nil, err
		}
	}
	self := o.Self
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("dockerd: find own executable: %w", err)
		}
	}
	if err := p.installShim(self, runc); err != nil {
		return nil, err
	}
	if err := p.ensureNetwork(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "dockerd: starting faultline's Docker daemon (%s, network namespace %s, subnet %s)\n", p.host(), o.NetNS, o.Subnet)
	exited, err := p.start(dockerd)
	if err != nil {
		return nil, err
	}
	if err := d.waitReady(ctx, exited, 90*time.Second); err != nil {
		return nil, err
	}
	if err := p.openForward(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// lock serialises starting and stopping the daemon between processes.
func (p plan) lock() (unlock func(), err error) {
	if err := os.MkdirAll(p.o.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(p.o.RunDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("dockerd: lock %s: %w", p.o.RunDir, err)
	}
	return func() { f.Close() }, nil
}

func findBinary(given, name string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("dockerd: %s binary: %w", name, err)
		}
		return given, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
			return filepath.Join(dir, name), nil
		}
	}
	return "", fmt.Errorf("dockerd: %s not found (install docker.io, which brings dockerd and runc)", name)
}

// installShim copies the faultline binary beside the wrapper script that
// the daemon registers as its runtime.
func (p plan) installShim(self, runc string) error {
	if err := os.MkdirAll(p.binDir(), 0o755); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	dst := filepath.Join(p.binDir(), "faultline")
	if err := files.Copy(self, dst+".new", 0o755); err != nil {
		return fmt.Errorf("dockerd: install runtime shim: %w", err)
	}
	if err := os.Rename(dst+".new", dst); err != nil {
		return fmt.Errorf("dockerd: install runtime shim: %w", err)
	}
	script := filepath.Join(p.binDir(), "runc")
	if err := os.WriteFile(script, []byte(p.shimScript(runc)), 0o755); err != nil {
		return fmt.Errorf("dockerd: install runtime shim: %w", err)
	}
	return nil
}

// run runs a command and keeps its output in the error.
func run(ctx context.Context, argv ...string) error {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return &platform.CommandError{Argv: argv, Output: out, Err: err}
	}
	return nil
}

func (p plan) inNS(argv ...string) []string {
	return append([]string{"nsenter", "--net=" + p.netnsPath(), "--"}, argv...)
}

// ensureNetwork makes the namespace, the link to it and the host's route
// to the daemon's subnet, keeping whatever already exists.
func (p plan) ensureNetwork(ctx context.Context) error {
	if _, err := os.Stat(p.netnsPath()); err != nil {
		if err := run(ctx, "ip", "netns", "add", p.o.NetNS); err != nil {
			return fmt.Errorf("dockerd: network namespace: %w", err)
		}
	}
	steps := [][]string{p.inNS("ip", "link", "set", "lo", "up")}
	if _, err := net.InterfaceByName(p.hostLink()); err != nil {
		steps = append(steps,
			[]string{"ip", "link", "add", p.hostLink(), "type", "veth", "peer", "name", p.nsLink(), "netns", p.o.NetNS},
			[]string{"ip", "addr", "add", p.hostIP() + "/30", "dev", p.hostLink()},
			p.inNS("ip", "addr", "add", p.nsIP()+"/30", "dev", p.nsLink()),
		)
	}
	steps = append(steps,
		[]string{"ip", "link", "set", p.hostLink(), "up"},
		p.inNS("ip", "link", "set", p.nsLink(), "up"),
		[]string{"ip", "route", "replace", p.o.Subnet, "via", p.nsIP(), "dev", p.hostLink()},
	)
	for _, s := range steps {
		if err := run(ctx, s...); err != nil {
			return fmt.Errorf("dockerd: link to the daemon's namespace: %w", err)
		}
	}
	return nil
}

// openForward lets the host open connections to containers: docker's
// FORWARD rules only admit published ports, so accept what comes in over
// the link, in DOCKER-USER (which docker keeps first).
func (p plan) openForward(ctx context.Context) error {
	rule := []string{"DOCKER-USER", "-i", p.nsLink(), "-j", "ACCEPT", "-m", "comment", "--comment", "faultline: host to containers"}
	if run(ctx, p.inNS(append([]string{"iptables", "-w", "-C"}, rule...)...)...) == nil {
		return nil
	}
	if err := run(ctx, p.inNS(append([]string{"iptables", "-w", "-I"}, rule...)...)...); err != nil {
		return fmt.Errorf("dockerd: admit host connections: %w", err)
	}
	return nil
}

// start launches dockerd in the namespace, in a session of its own so it
// outlives this process.
func (p plan) start(dockerd string) (exited <-chan struct{}, err error) {
	if err := os.MkdirAll(p.o.DataRoot, 0o711); err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	_ = os.Remove(p.socket())
	if err := os.WriteFile(filepath.Join(p.o.RunDir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	// dockerd bind-mounts its data root onto itself and undoes it when it
	// stops; remember how many mounts were there before, for a heal after
	// a crash.
	n := strconv.Itoa(mountCount(p.o.DataRoot))
	if err := os.WriteFile(p.mountsFile(), []byte(n), 0o644); err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	logf, err := os.OpenFile(p.logFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dockerd: %w", err)
	}
	defer logf.Close()
	// nsenter --net= keeps the host's mount namespace; `ip netns exec`
	// would remount /sys and hide the cgroup hierarchy from dockerd.
	argv := p.inNS(p.dockerdArgs(dockerd)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dockerd: start: %w", err)
	}
	done := make(chan struct{})
	go func() { // reap it if it dies while we still run
		cmd.Wait()
		close(done)
	}()
	return done, nil
}

func (d *Daemon) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := d.Docker(ctx, "version", "--format", "{{.Server.Version}}")
	return err
}

func (d *Daemon) waitReady(ctx context.Context, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := d.ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd: not ready after %s (log %s: %s): %w", limit, d.plan.logFile(), tail(d.plan.logFile(), 800), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("dockerd: exited at start (log %s: %s)", d.plan.logFile(), tail(d.plan.logFile(), 800))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// alivePID is the private daemon's pid when its pid file names a live
// dockerd, else 0.
func (p plan) alivePID() int { return livePID(p.pidFile(), "dockerd") }

// containerdPID is the pid of the containerd the private daemon started,
// when it is alive, else 0.
func (p plan) containerdPID() int {
	return livePID(filepath.Join(p.o.RunDir, "exec", "containerd", "containerd.pid"), "containerd")
}

// livePID reads a pid file and returns the pid when it names a live
// process called comm, else 0.
func livePID(file, comm string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(c)) != comm {
		return 0
	}
	return pid
}

// stopPID sends SIGTERM, then SIGKILL after grace, until alive reports 0.
func stopPID(ctx context.Context, pid int, alive func() int, grace time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for alive() == pid {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// Stop stops a private daemon and removes its namespace, link and route;
// its data root (the images) stays. For the user's daemon it does nothing.
// Containers of the private daemon stop with it.
func (d *Daemon) Stop(ctx context.Context) error {
	if !d.private {
		return nil
	}
	return d.plan.stop(ctx)
}

func (p plan) stop(ctx context.Context) error {
	unlock, err := p.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if pid := p.alivePID(); pid > 0 {
		if err := stopPID(ctx, pid, p.alivePID, 60*time.Second); err != nil {
			return err
		}
	}
	// dockerd stops the containerd it started; one left by a daemon that
	// was killed is stopped here.
	if pid := p.containerdPID(); pid > 0 {
		if err := stopPID(ctx, pid, p.containerdPID, 30*time.Second); err != nil {
			return err
		}
	}
	p.unmountDataRoot()
	return p.removeNetwork(ctx)
}

func (p plan) mountsFile() string { return filepath.Join(p.o.RunDir, "data-root-mounts") }

// unmountDataRoot removes the bind mounts of the data root that a killed
// dockerd left, down to the count recorded when it started.
func (p plan) unmountDataRoot() {
	b, err := os.ReadFile(p.mountsFile())
	if err != nil {
		return
	}
	before, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return
	}
	for n := mountCount(p.o.DataRoot); n > before; n-- {
		if syscall.Unmount(p.o.DataRoot, syscall.MNT_DETACH) != nil {
			return
		}
	}
}

// mountCount is how many mounts sit on path.
func mountCount(path string) int {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return 0
	}
	abs, _ := filepath.Abs(path)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == abs {
			n++
		}
	}
	return n
}

func (p plan) removeNetwork(ctx context.Context) error {
	var errs []error
	if _, err := net.InterfaceByName(p.hostLink()); err == nil {
		_ = run(ctx, "ip", "route", "del", p.o.Subnet, "via", p.nsIP())
		if err := run(ctx, "ip", "link", "del", p.hostLink()); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(p.netnsPath()); err == nil {
		if err := run(ctx, "ip", "netns", "del", p.o.NetNS); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []string{p.socket(), p.pidFile()} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dockerd: remove network: %w", err)
	}
	return nil
}

// Heal removes what a private daemon that died left behind (namespace,
// link, route, socket). A running daemon is left alone: kind clusters of a
// live run may be on it; Stop ends it. Safe to run twice.
func Heal(ctx context.Context, w io.Writer) error {
	return heal(ctx, Options{}, w)
}

func heal(ctx context.Context, opts Options, w io.Writer) error {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	p := newPlan(o)
	if p.alivePID() > 0 {
		fmt.Fprintf(w, "dockerd: faultline's Docker daemon is running (%s); left alone\n", p.host())
		return nil
	}
	_, nsErr := os.Stat(p.netnsPath())
	_, linkErr := net.InterfaceByName(p.hostLink())
	if nsErr != nil && linkErr != nil && p.containerdPID() == 0 {
		return nil
	}
	fmt.Fprintf(w, "dockerd: removing what a dead faultline Docker daemon left (its containerd, namespace, link)\n")
	return p.stop(ctx)
}
