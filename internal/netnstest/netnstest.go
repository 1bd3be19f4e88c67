// Package netnstest gives tests network namespaces of their own (named
// fl-shape-…), so that what they install (iptables rules, qdiscs, queues)
// touches nothing else on the machine.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
)

// NS is a network namespace made for a test, with its loopback up.
type NS struct {
	Name string
	// Path is its bind mount, which setns(2) and nsenter --net= take.
	Path string
}

// Need skips the test unless it runs as root with the ip and iptables
// commands.
func Need(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "it makes network namespaces and installs iptables rules and qdiscs in them")
	}
	for _, cmd := range []string{"ip", "iptables", "tc"} {
		if _, err := exec.LookPath(cmd); err != nil {
			testenv.Missing(t, cmd, "needs %s, which is not installed", cmd)
		}
	}
}

// New makes a namespace that is deleted when the test ends.
func New(t testing.TB) *NS {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	ns := &NS{Name: "fl-shape-" + hex.EncodeToString(b)}
	ns.Path = "/run/netns/" + ns.Name
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.Name).Run() })
	ns.MustRun(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Run runs argv in the namespace.
func (ns *NS) Run(ctx context.Context, argv ...string) ([]byte, error) {
	full := append([]string{"nsenter", "--net=" + ns.Path, "--"}, argv...)
	out, err := exec.CommandContext(ctx, full[0], full[1:]...).CombinedOutput()
	if err != nil {
		return out, &platform.CommandError{Argv: argv, Output: out, Err: err}
	}
	return out, nil
}

// MustRun runs argv in the namespace and fails the test if it fails.
func (ns *NS) MustRun(t testing.TB, argv ...string) []byte {
	t.Helper()
	out, err := ns.Run(context.Background(), argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Do runs fn on an OS thread inside the namespace: sockets fn opens stay
// in it.
func (ns *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer self.Close()
	target, err := os.Open(ns.Path)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", ns.Path, err)
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is in the wrong namespace: keep it locked so that
		// it dies with this goroutine instead of serving others.
		runtime.LockOSThread()
		return errors.Join(ferr, fmt.Errorf("setns back: %w", err))
	}
	return ferr
}

// LAN makes n namespaces joined by a bridge in a hub namespace, like the
// node containers of a kind cluster on their Docker network: namespace i
// gets address 10.231.0.(i+1)/24 on its interface eth0.
func LAN(t testing.TB, n int) ([]*NS, []string) {
	t.Helper()
	hub := New(t)
	hub.MustRun(t, "ip", "link", "add", "br0", "type", "bridge")
	hub.MustRun(t, "ip", "link", "set", "br0", "up")
	var (
		nss   []*NS
		addrs []string
	)
	for i := range n {
		ns := New(t)
		port := fmt.Sprintf("p%d", i)
		out, err := exec.Command("ip", "link", "add", "eth0", "netns", ns.Name, "type", "veth", "peer", "name", port, "netns", hub.Name).CombinedOutput()
		if err != nil {
			t.Fatalf("ip link add veth: %v: %s", err, out)
		}
		hub.MustRun(t, "ip", "link", "set", port, "master", "br0", "up")
		addr := fmt.Sprintf("10.231.0.%d", i+1)
		ns.MustRun(t, "ip", "addr", "add", addr+"/24", "dev", "eth0")
		ns.MustRun(t, "ip", "link", "set", "eth0", "up")
		nss = append(nss, ns)
		addrs = append(addrs, addr)
	}
	return nss, addrs
}
