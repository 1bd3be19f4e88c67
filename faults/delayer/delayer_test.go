package delayer

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/netnstest"
)

// These tests run a real delayer in a network namespace of their own,
// fed by iptables rules on its loopback between 127.0.0.2 and 127.0.0.3.

// tolerance is how far a measured delay may be from the one asked for:
// 5ms or 10%, whichever is larger. Timer slack and the scheduler of a
// busy two-core machine account for a few milliseconds.
func tolerance(want time.Duration) time.Duration { return max(5*time.Millisecond, want/10) }

// start opens a delayer in ns and runs it until the test ends.
func start(t *testing.T, ns *netnstest.NS, cfg Config) *Delayer {
	t.Helper()
	cfg.NetNS = ns.Path
	d, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("delayer: %v", err)
		}
	})
	return d
}

// queueRule queues packets from src to dst in table's INPUT, skipping
// packets that carry mark.
func queueRule(t *testing.T, ns *netnstest.NS, table, src, dst string, queue uint16, mark uint32) {
	t.Helper()
	argv := []string{"iptables", "-w", "5", "-t", table, "-A", "INPUT", "-s", src, "-d", dst}
	if mark != 0 {
		m := fmt.Sprintf("%#x/%#x", mark, mark)
		argv = append(argv, "-m", "mark", "!", "--mark", m)
	}
	argv = append(argv, "-j", "NFQUEUE", "--queue-num", fmt.Sprint(queue), "--queue-bypass")
	ns.MustRun(t, argv...)
}

// connectTimes opens n TCP connections from 127.0.0.2 to a listener on
// 127.0.0.3 inside ns and returns how long each connect took: one round
// trip (SYN, SYN-ACK).
func connectTimes(t *testing.T, ns *netnstest.NS, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	err := ns.Do(func() error {
		ln, err := net.Listen("tcp", "127.0.0.3:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		for range n {
			t0 := time.Now()
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				return err
			}
			out = append(out, time.Since(t0))
			c.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fastest is the shortest round trip: load only ever slows them.
func fastest(ds []time.Duration) time.Duration { return slices.Min(ds) }

func TestDelayRoundTrip(t *testing.T) {
	netnstest.Need(t)
	ns := netnstest.New(t)
	base := fastest(connectTimes(t, ns, 5))
	if base > 5*time.Millisecond {
		t.Fatalf("baseline connect takes %v on a private loopback", base)
	}
	const delay = 50 * time.Millisecond
	d := start(t, ns, Config{Queue: 100, Delay: delay})
	queueRule(t, ns, "filter", "127.0.0.2", "127.0.0.3", d.Queue(), 0)
	queueRule(t, ns, "filter", "127.0.0.3", "127.0.0.2", d.Queue(), 0)
	got := fastest(connectTimes(t, ns, 10)) - base
	if want := 2 * delay; got < want-tolerance(want) || got > want+tolerance(want) {
		t.Errorf("connect round trip grew by %v, want %v ± %v", got, want, tolerance(want))
	}
	st := d.Stats()
	if st.Received < 20 || st.Released > st.Received || st.FailedOpen+st.Saturated+st.NoBuffer > 0 {
		t.Errorf("stats %+v: want ≥ 20 packets received, none failed open", st)
	}
	t.Logf("added round trip %v for 2×%v; stats %+v", got, delay, st)
}

// Two delayers on the same path add up: each releases with NF_REPEAT and
// its own mark bit, so the packet meets the other's rule on the rerun of
// the hook. Both live in the security table, as faultline installs them.
func TestDelaysStack(t *testing.T) {
	netnstest.Need(t)
	ns := netnstest.New(t)
	const a, b = 30 * time.Millisecond, 20 * time.Millisecond
	da := start(t, ns, Config{Queue: 200, Delay: a, Mark: 1 << 24})
	db := start(t, ns, Config{Queue: 200, Delay: b, Mark: 1 << 25})
	if da.Queue() == db.Queue() {
		t.Fatalf("both delayers hold queue %d", da.Queue())
	}
	queueRule(t, ns, "security", "127.0.0.2", "127.0.0.3", da.Queue(), 1<<24)
	queueRule(t, ns, "security", "127.0.0.2", "127.0.0.3", db.Queue(), 1<<25)
	got := fastest(connectTimes(t, ns, 8))
	if want := a + b; got < want-tolerance(want) || got > want+tolerance(want)+2*time.Millisecond {
		t.Errorf("connect took %v, want %v ± %v (one direction delayed by both)", got, want, tolerance(want))
	}
}

// Once its context ends, a delayer lets go of what it holds at once and
// the --queue-bypass rules let traffic pass undelayed.
func TestDelayerReleasesOnExit(t *testing.T) {
	netnstest.Need(t)
	ns := netnstest.New(t)
	d, err := Open(Config{Queue: 300, Delay: 2 * time.Second, NetNS: ns.Path})
	if err != nil {
		t.Fatal(err)
	}
	queueRule(t, ns, "filter", "127.0.0.2", "127.0.0.3", d.Queue(), 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	var wg sync.WaitGroup
	wg.Add(1)
	var took time.Duration
	go func() {
		defer wg.Done()
		took = connectTimes(t, ns, 1)[0]
	}()
	time.Sleep(300 * time.Millisecond) // the SYN is held by now
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if took > time.Second {
		t.Errorf("a connect held when the delayer stopped took %v; it should be released at once", took)
	}
	if after := fastest(connectTimes(t, ns, 3)); after > 5*time.Millisecond {
		t.Errorf("with no delayer listening, connect takes %v; --queue-bypass should let packets through", after)
	}
}

// A delayer agent whose parent dies (faultline, killed with -9) lets go
// of its packets and exits by itself, so none outlives its rules' owner.
func TestAgentExitsWithItsParent(t *testing.T) {
	netnstest.Need(t)
	ns := netnstest.New(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// sh stands in for faultline: the agent's parent.
	sh := exec.Command("sh", "-c", `"$0" --netns "$1" --parent $$ --delay 10ms & echo pid $!; wait`, exe, ns.Path)
	sh.Env = append(os.Environ(), agent.Command(AgentName))
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	var (
		pid   int
		bound bool
	)
	for pid == 0 || !bound {
		line := readLine(t, r)
		fmt.Sscanf(line, "pid %d", &pid)
		bound = bound || strings.HasPrefix(line, "queue ")
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	sh.Process.Kill()
	sh.Wait()
	deadline := time.Now().Add(3 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the delayer %d outlived its parent by 3s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (%q)", err, line)
	}
	return strings.TrimSpace(line)
}
