package faults_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/netnstest"
	"github.com/faultline-dev/faultline/platform"
)

// lanCluster is a cluster of network namespaces on a bridge, each node in
// a namespace of its own as a kind node is in its container's: the real
// kernel paths of kind (rules per node, the delayer entering a node's
// namespace from the host) without Docker.
type lanCluster struct {
	name  string
	nodes []platform.Node
	ns    map[string]*netnstest.NS
}

func newLAN(t *testing.T, n int) *lanCluster {
	t.Helper()
	netnstest.Need(t)
	nss, addrs := netnstest.LAN(t, n)
	c := &lanCluster{name: "lan-" + nss[0].Name, ns: map[string]*netnstest.NS{}}
	for i, ns := range nss {
		name := fmt.Sprintf("n%d", i+1)
		c.nodes = append(c.nodes, platform.Node{Name: name, Addr: addrs[i], Region: "r", Zone: name, Role: platform.RoleWorker})
		c.ns[name] = ns
	}
	return c
}

func (c *lanCluster) Name() string                                   { return c.name }
func (c *lanCluster) Nodes(context.Context) ([]platform.Node, error) { return c.nodes, nil }
func (c *lanCluster) Delete(context.Context) error                   { return nil }
func (c *lanCluster) NetNamespace(node string) string                { return c.ns[node].Name }

func (c *lanCluster) NetExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	ns, ok := c.ns[node]
	if !ok {
		return nil, fmt.Errorf("no node %q", node)
	}
	return ns.Run(ctx, argv...)
}

func (c *lanCluster) NetNSPath(ctx context.Context, node string) (string, error) {
	return c.ns[node].Path, nil
}

// peer is a node as the measurements see it: an address, and how to run
// code in its network namespace.
type peer struct {
	addr string
	do   func(func() error) error
}

func (c *lanCluster) peer(node string) peer {
	for _, n := range c.nodes {
		if n.Name == node {
			return peer{addr: n.Addr, do: c.ns[node].Do}
		}
	}
	panic("no node " + node)
}

func (c *lanCluster) target(nodes, peers string) faults.Target {
	pick := func(names string) []platform.Node {
		var out []platform.Node
		for _, n := range strings.Split(names, ",") {
			for _, m := range c.nodes {
				if m.Name == n {
					out = append(out, m)
				}
			}
		}
		return out
	}
	return faults.Target{Nodes: pick(nodes), Peers: pick(peers)}
}

// hostPeer is an address of the host's own namespace (the local platform).
func hostPeer(addr string) peer {
	return peer{addr: addr, do: func(f func() error) error { return f() }}
}

// tolerance for a measured added delay: 5ms or 10%, whichever is larger
// (timer slack, a busy two-core machine).
func tolerance(want time.Duration) time.Duration { return max(5*time.Millisecond, want/10) }

// within reports whether a measured delay is what shaping asked for. A
// busy machine (CI beside other builds) only adds to a round trip, so the
// slack above is wider than below: a quarter of want, which still tells
// a delay applied twice from once.
func within(got, want time.Duration) bool {
	return got >= want-tolerance(want) && got <= want+max(tolerance(want), want/4)
}

// fastest is the shortest of several round trips. A loaded machine can
// only make a round trip slower, never faster, so the fastest shows what
// shaping added, and a shortfall or an excess in it is shaping's own.
func fastest(ds []time.Duration) time.Duration { return slices.Min(ds) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// iqr is the interquartile range: the spread of the middle half, which
// one stalled sample on a busy machine does not move.
func iqr(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*3/4] - s[len(s)/4]
}

// connectTimes opens n TCP connections from a to a listener at b and
// returns how long each connect took: one round trip.
func connectTimes(t *testing.T, a, b peer, n int) []time.Duration {
	t.Helper()
	var ln net.Listener
	if err := b.do(func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(b.addr, "0"))
		return err
	}); err != nil {
		t.Fatal(err)
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
	var out []time.Duration
	err := a.do(func() error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(a.addr)}, Timeout: 5 * time.Second}
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

// pingTimes sends n ICMP echo requests from a to b and returns each
// round trip; requests that get no answer within 2s count as lost and
// are left out.
func pingTimes(t *testing.T, a, b peer, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	err := a.do(func() error {
		conn, err := icmp.ListenPacket("ip4:icmp", a.addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		dst := &net.IPAddr{IP: net.ParseIP(b.addr)}
		id := os.Getpid() & 0xffff
		buf := make([]byte, 1500)
		for seq := range n {
			msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("faultline")}}
			wb, _ := msg.Marshal(nil)
			t0 := time.Now()
			if _, err := conn.WriteTo(wb, dst); err != nil {
				return err
			}
			conn.SetReadDeadline(t0.Add(2 * time.Second))
			for {
				k, from, err := conn.ReadFrom(buf)
				if err != nil {
					break // lost
				}
				rm, err := icmp.ParseMessage(1, buf[:k])
				if err != nil || rm.Type != ipv4.ICMPTypeEchoReply || from.String() != b.addr {
					continue
				}
				if e, ok := rm.Body.(*icmp.Echo); ok && e.Seq == seq {
					out = append(out, time.Since(t0))
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// udpDelivered sends n datagrams from a to b, paced, and returns how many
// arrived.
func udpDelivered(t *testing.T, a, b peer, n int) int {
	t.Helper()
	var rc *net.UDPConn
	if err := b.do(func() (err error) {
		rc, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(b.addr)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// A receiver starved by a loaded machine must not drop datagrams
	// itself: room for all of them.
	if raw, err := rc.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16<<20)
		})
	}
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			rc.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := rc.Read(buf); err != nil {
				return
			}
			got++
		}
	}()
	err := a.do(func() error {
		sc, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(a.addr)}, rc.LocalAddr().(*net.UDPAddr))
		if err != nil {
			return err
		}
		defer sc.Close()
		for i := range n {
			sc.Write([]byte(strconv.Itoa(i)))
			if i%20 == 19 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	return got
}

// bulkRate moves data over TCP for d and returns the rate the receiver
// saw after the first quarter (slow start, the class's initial burst), in
// bits per second. With upload the connecting side a sends; otherwise a
// connects and b sends, which shapes the replies of a connection.
func bulkRate(t *testing.T, a, b peer, d time.Duration, upload bool) float64 {
	t.Helper()
	var ln net.Listener
	if err := b.do(func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(b.addr, "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	send := func(c net.Conn) { sendFor(c, d) }
	recv := func(c net.Conn) float64 { return receiveRate(c, d) }
	var (
		wg   sync.WaitGroup
		rate float64
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if upload {
			rate = recv(c)
		} else {
			send(c)
		}
	}()
	err := a.do(func() error {
		dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(a.addr)}, Timeout: 5 * time.Second}
		c, err := dl.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			if upload {
				send(c)
			} else {
				rate = recv(c)
			}
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	return rate
}

// sendFor writes to c for d.
func sendFor(c net.Conn, d time.Duration) {
	buf := make([]byte, 32<<10)
	c.SetWriteDeadline(time.Now().Add(d))
	for {
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// receiveRate reads from c for d and returns the rate after the first
// quarter, in bits per second.
func receiveRate(c net.Conn, d time.Duration) float64 {
	buf := make([]byte, 64<<10)
	start := time.Now()
	var (
		n  int64
		t1 time.Time
	)
	c.SetReadDeadline(start.Add(d))
	for {
		k, err := c.Read(buf)
		if time.Since(start) > d/4 {
			if t1.IsZero() {
				t1 = time.Now()
			} else {
				n += int64(k)
			}
		}
		if err != nil {
			break
		}
	}
	return float64(n*8) / time.Since(t1).Seconds()
}

// netemInKernel reads the kernel's configuration for sch_netem, as
// evidence independent of the probe. ok is false if it cannot tell.
func netemInKernel() (has, ok bool) {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return false, false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false, false
	}
	cfg, err := io.ReadAll(zr)
	if err != nil {
		return false, false
	}
	return bytes.Contains(cfg, []byte("CONFIG_NET_SCH_NETEM=y")) || bytes.Contains(cfg, []byte("CONFIG_NET_SCH_NETEM=m")), true
}

// wantMechanism checks the mechanism a delay fault recorded against what
// the kernel's configuration says it has.
func wantMechanism(t *testing.T, got string) {
	t.Helper()
	has, ok := netemInKernel()
	switch {
	case !ok:
		t.Logf("cannot read /proc/config.gz; mechanism %q not checked", got)
	case has && got != faults.MechNetem:
		t.Errorf("the kernel has sch_netem, yet the mechanism is %q", got)
	case !has && got != faults.MechDelayer:
		t.Errorf("the kernel lacks sch_netem: mechanism %q, want %q", got, faults.MechDelayer)
	}
}

// ownDelayers lists the delayer processes this test process started.
func ownDelayers() []int {
	var out []int
	matches, _ := filepath.Glob("/proc/[0-9]*/environ")
	mark := []byte("FAULTLINE_SHAPING_OWNER=" + strconv.Itoa(os.Getpid()) + "\x00")
	for _, m := range matches {
		env, err := os.ReadFile(m)
		if err != nil || !bytes.Contains(env, mark) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(filepath.Dir(m), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(m)))
		out = append(out, pid)
	}
	return out
}

// leftovers describes what faultline's shaping left in a namespace:
// chains and rules in any table, and a root qdisc.
func leftovers(ctx context.Context, nc platform.NetworkController, node, chainPrefix string) string {
	var b strings.Builder
	for _, table := range []string{"filter", "security", "mangle"} { // nat holds the cluster's own SNAT
		out, _ := nc.NetExec(ctx, node, "iptables", "-w", "5", "-t", table, "-S")
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, chainPrefix) {
				fmt.Fprintf(&b, "%s: %s\n", table, l)
			}
		}
	}
	out, _ := nc.NetExec(ctx, node, "tc", "qdisc", "show")
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "fa11:") {
			fmt.Fprintf(&b, "tc: %s\n", l)
		}
	}
	return b.String()
}

// heal heals and fails the test if that fails.
func heal(t *testing.T, h faults.Heal) {
	t.Helper()
	if err := h(context.Background()); err != nil {
		t.Fatalf("heal: %v", err)
	}
}
