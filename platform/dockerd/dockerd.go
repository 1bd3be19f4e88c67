// Package dockerd finds a Docker daemon that can run kind nodes: the
// user's own when it can start privileged containers, otherwise a private
// daemon faultline starts, whose runtime drops the capabilities this
// machine cannot grant.
package dockerd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/faultline-dev/faultline/platform"
)

// Defaults of Options.
const (
	DefaultDataRoot = "/var/lib/faultline/dockerd"
	DefaultRunDir   = "/run/faultline/dockerd"
	DefaultNetNS    = "faultline-dockerd"
	// DefaultSubnet holds the private daemon's bridges (docker0 and every
	// network created on it, kind's among them) and the /30 link between
	// the host and the daemon's network namespace (its last addresses).
	DefaultSubnet = "10.250.0.0/16"
)

// Options say which daemon Ensure may use and how to start a private one.
// The zero value is ready to use.
type Options struct {
	// Private forces faultline's own daemon even when the user's could
	// run privileged containers (tests of this package use it).
	Private bool
	// DataRoot is the private daemon's --data-root. Default DefaultDataRoot.
	DataRoot string
	// RunDir holds the socket, pid file, exec root, runtime shim and log.
	// Default DefaultRunDir.
	RunDir string
	// NetNS is the name of the private daemon's network namespace
	// (/run/netns/NAME). Default DefaultNetNS.
	NetNS string
	// Subnet is an IPv4 /16 for the private daemon's networks, routed from
	// the host. Default DefaultSubnet.
	Subnet string
	// Dockerd and Runc are the binaries the private daemon runs. Default:
	// found in PATH (and /usr/sbin).
	Dockerd, Runc string
	// Self is the faultline binary that serves as the runtime shim (it is
	// copied under RunDir, so a `go run` binary may vanish). Default: the
	// running executable.
	Self string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.DataRoot == "" {
		o.DataRoot = DefaultDataRoot
	}
	if o.RunDir == "" {
		o.RunDir = DefaultRunDir
	}
	if o.NetNS == "" {
		o.NetNS = DefaultNetNS
	}
	if o.Subnet == "" {
		o.Subnet = DefaultSubnet
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	ip, n, err := net.ParseCIDR(o.Subnet)
	if err != nil || ip.To4() == nil {
		return o, fmt.Errorf("dockerd options: subnet %q: want an IPv4 /16", o.Subnet)
	}
	if ones, _ := n.Mask.Size(); ones != 16 {
		return o, fmt.Errorf("dockerd options: subnet %q: want an IPv4 /16", o.Subnet)
	}
	if strings.ContainsAny(o.NetNS, "/ ") || o.NetNS == "" {
		return o, fmt.Errorf("dockerd options: netns %q: want a plain name", o.NetNS)
	}
	return o, nil
}

// Daemon is a Docker daemon that can start kind nodes.
type Daemon struct {
	host    string
	private bool
	plan    plan // the private daemon's layout; zero for the user's
}

// Host is the DOCKER_HOST value that reaches the daemon.
func (d *Daemon) Host() string { return d.host }

// Env is the process environment (os.Environ with DOCKER_HOST set) for
// docker and kind commands that should use the daemon.
func (d *Daemon) Env() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DOCKER_HOST=") {
			env = append(env, e)
		}
	}
	return append(env, "DOCKER_HOST="+d.host)
}

// Private reports whether the daemon is faultline's own.
func (d *Daemon) Private() bool { return d.private }

// NetNSPath is the bind mount of the private daemon's network namespace
// (for nsenter --net=), or "" for the user's daemon.
func (d *Daemon) NetNSPath() string {
	if !d.private {
		return ""
	}
	return d.plan.netnsPath()
}

// Docker runs the docker CLI against the daemon and returns its standard
// output; the error carries standard error.
func (d *Daemon) Docker(ctx context.Context, args ...string) ([]byte, error) {
	return d.DockerIO(ctx, nil, args...)
}

// DockerIO is Docker with stdin as the command's standard input.
func (d *Daemon) DockerIO(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = d.Env()
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &platform.CommandError{Argv: append([]string{"docker"}, args...), Output: stderr.Bytes(), Err: err}
	}
	return stdout.Bytes(), nil
}

// Ensure returns a daemon that can run privileged containers: faultline's
// private daemon when it is already running; else the user's (DOCKER_HOST
// or the default socket) when it can start privileged containers; else the
// private daemon, started now. It is idempotent and safe to call from
// several processes at once.
func Ensure(ctx context.Context, opts Options) (*Daemon, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if !o.Private {
		// Once faultline's daemon runs, stay on it: kind clusters made
		// earlier live there, and the probe below need not run again.
		p := newPlan(o)
		if p.alivePID() > 0 {
			if d := (&Daemon{host: p.host(), private: true, plan: p}); d.ping(ctx) == nil {
				return ensurePrivate(ctx, o)
			}
		}
		user := &Daemon{host: userHost()}
		ok, why, err := CanRunPrivileged(ctx, user)
		if err != nil {
			return nil, err
		}
		if ok {
			return user, nil
		}
		fmt.Fprintf(o.Log, "dockerd: the Docker daemon at %s cannot run kind nodes (%s); using faultline's own\n", user.host, why)
	}
	return ensurePrivate(ctx, o)
}

// Running returns the daemon Ensure would pick, for looking at it only
// (images, say), without starting one or changing the host: faultline's
// private daemon when it runs, else the user's when it answers. It
// returns nil and no error when neither does.
func Running(ctx context.Context, opts Options) (*Daemon, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := newPlan(o)
	if p.alivePID() > 0 {
		if d := (&Daemon{host: p.host(), private: true, plan: p}); d.ping(ctx) == nil {
			return d, nil
		}
	}
	if o.Private {
		return nil, nil
	}
	if d := (&Daemon{host: userHost()}); d.ping(ctx) == nil {
		return d, nil
	}
	return nil, nil
}

// userHost is the daemon the docker CLI would use.
func userHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// CanRunPrivileged reports whether d can start a privileged container
// (every capability): first from this process's capability bounding set,
// which containers inherit on these machines; when that lacks
// capabilities, by starting one. why says what failed.
func CanRunPrivileged(ctx context.Context, d *Daemon) (ok bool, why string, err error) {
	bnd, err := BoundingSet()
	if err != nil {
		return false, "", err
	}
	last, err := lastCap()
	if err != nil {
		return false, "", err
	}
	missing := bnd.Missing(last)
	if len(missing) == 0 {
		return true, "", nil
	}
	if _, err := d.Docker(ctx, "version", "--format", "{{.Server.Version}}"); err != nil {
		return false, "", fmt.Errorf("docker daemon at %s: %w", d.host, err)
	}
	if err := probePrivileged(ctx, d); err != nil {
		return false, fmt.Sprintf("the capability bounding set lacks %s: %v", strings.Join(missing, ", "), err), nil
	}
	return true, "", nil
}

// probeImage is an empty image used only to see whether runc accepts a
// privileged container; the command it names does not exist, and the
// error tells which step failed.
const probeImage = "faultline/privileged-probe:empty"

// probePrivileged starts a privileged container from an empty image. runc
// applies capabilities before it looks for the command, so "no such file"
// means the capabilities were granted.
func probePrivileged(ctx context.Context, d *Daemon) error {
	if _, err := d.Docker(ctx, "image", "inspect", probeImage); err != nil {
		var tar bytes.Buffer
		tar.Write(make([]byte, 1024)) // an empty tar archive: two zero blocks
		if _, err := d.DockerIO(ctx, &tar, "import", "-", probeImage); err != nil {
			return err
		}
	}
	_, err := d.Docker(ctx, "run", "--rm", "--privileged", "--network=none", probeImage, "/faultline-probe")
	var ce *platform.CommandError
	if errors.As(err, &ce) && (bytes.Contains(ce.Output, []byte("no such file")) || bytes.Contains(ce.Output, []byte("not found"))) {
		return nil
	}
	if err == nil {
		return nil
	}
	return err
}
