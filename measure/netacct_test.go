package measure

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
)

func TestParseAccounting(t *testing.T) {
	tests := []struct {
		file string
		want Traffic
	}{
		// The layout of iptables v1.8.9 (nf_tables) on this project's
		// machines: a rule without a target leaves that column empty and
		// prot is a number.
		{"iptables-nft-1.8.9.txt", Traffic{{"n1", "n2"}: 289113 + 2310, {"n2", "n1"}: 101872}},
		// iptables-legacy prints "all" for prot.
		{"iptables-legacy.txt", Traffic{{"kind-worker", "kind-worker2"}: 12884901888, {"kind-worker", "kind-worker3"}: 960}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseAccounting(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := ParseAccounting([]byte("  1 lots 0 -- * * a b /* faultline-acct n1>n2 */\n")); err == nil {
		t.Error("a byte count that is not a number was accepted")
	}
}

func TestAccountingChains(t *testing.T) {
	b, err := os.ReadFile("testdata/iptables-S.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := accountingChains(b)
	want := []string{"FL-ACCT-0000beef", "FL-ACCT-5e1b2c3d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// recorder is an Exec that records commands instead of running them.
type recorder struct {
	mu   sync.Mutex
	cmds []string
}

func (r *recorder) exec(_ context.Context, node string, argv ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, node+": "+strings.Join(argv, " "))
	return nil, nil
}

func (r *recorder) rules() []string {
	var out []string
	for _, c := range r.cmds {
		if strings.Contains(c, " -A ") {
			out = append(out, c)
		}
	}
	return out
}

func TestAccountingRules(t *testing.T) {
	nodes := []platform.Node{
		{Name: "n1", Zone: "a", Addr: "127.0.0.2"},
		{Name: "n2", Zone: "b", Addr: "127.0.0.3"},
	}
	t.Run("shared namespace matches the sender", func(t *testing.T) {
		r := &recorder{}
		a := NewAccounting(AccountingConfig{Name: "c", Nodes: nodes, Exec: r.exec, Namespace: func(string) string { return "host" }})
		if err := a.Install(context.Background()); err != nil {
			t.Fatal(err)
		}
		c := a.Chain()
		want := []string{
			"n1: iptables -w -t mangle -A " + c + " -s 127.0.0.2 -d 127.0.0.3 -m comment --comment faultline-acct n1>n2",
			"n1: iptables -w -t mangle -A " + c + " -s 127.0.0.3 -d 127.0.0.2 -m comment --comment faultline-acct n2>n1",
		}
		if got := r.rules(); !reflect.DeepEqual(got, want) {
			t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("own namespaces count destinations and pod CIDRs", func(t *testing.T) {
		r := &recorder{}
		a := NewAccounting(AccountingConfig{Name: "c", Nodes: nodes, Exec: r.exec, Extra: map[string][]string{"n2": {"10.244.2.0/24"}}})
		if err := a.Install(context.Background()); err != nil {
			t.Fatal(err)
		}
		c := a.Chain()
		want := []string{
			"n1: iptables -w -t mangle -A " + c + " -d 127.0.0.3 -m comment --comment faultline-acct n1>n2",
			"n1: iptables -w -t mangle -A " + c + " -d 10.244.2.0/24 -m comment --comment faultline-acct n1>n2",
			"n2: iptables -w -t mangle -A " + c + " -d 127.0.0.2 -m comment --comment faultline-acct n2>n1",
		}
		if got := r.rules(); !reflect.DeepEqual(got, want) {
			t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestClassify(t *testing.T) {
	nodes := []platform.Node{
		{Name: "a1", Region: "r1", Zone: "a"}, {Name: "a2", Region: "r1", Zone: "a"},
		{Name: "b1", Region: "r1", Zone: "b"}, {Name: "x1", Region: "r2", Zone: "a"},
	}
	got := Classify(nodes, Traffic{
		{"a1", "a2"}: 10, {"a1", "b1"}: 20, {"a1", "x1"}: 40, {"a1", "gone"}: 80, {"b1", "a1"}: 1,
	})
	want := map[string]NetClass{"a1": {SameZone: 10, CrossZone: 20, CrossRegion: 40}, "b1": {CrossZone: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// netnsExec runs commands inside the named network namespace.
func netnsExec(ns string) Exec {
	return func(ctx context.Context, node string, argv ...string) ([]byte, error) {
		return HostExec(ctx, node, append([]string{"ip", "netns", "exec", ns}, argv...)...)
	}
}

// TestAccountingCountsRealTraffic installs the rules with the real
// iptables in a network namespace of its own (so that nothing on the host
// is touched), sends a known number of bytes between two loopback
// addresses from a process inside it, and reads them back.
func TestAccountingCountsRealTraffic(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "needs root for iptables and network namespaces")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool, "needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := fmt.Sprintf("faultline-cost-test-%d", os.Getpid())
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", ns).CombinedOutput(); err != nil {
		testenv.Missing(t, "netns", "cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	x := netnsExec(ns)
	if _, err := x(ctx, "", "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	nodes := []platform.Node{
		{Name: "n1", Region: "r", Zone: "a", Addr: "127.0.0.2"},
		{Name: "n2", Region: "r", Zone: "b", Addr: "127.0.0.3"},
	}
	a := NewAccounting(AccountingConfig{Name: ns, Nodes: nodes, Exec: x, Namespace: func(string) string { return ns }})
	if err := a.Install(ctx); err != nil {
		t.Fatal(err)
	}
	const payload = 1 << 20
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperSendBytes$")
	cmd.Env = append(os.Environ(), "FAULTLINE_TEST_SEND="+strconv.Itoa(payload))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("traffic helper: %v: %s", err, out)
	}
	traffic, err := a.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := traffic[Link{"n1", "n2"}]
	t.Logf("counted n1→n2 %d bytes, n2→n1 %d bytes for a %d-byte payload", sent, traffic[Link{"n2", "n1"}], payload)
	// TCP and IP headers come on top of the payload; a megabyte in
	// 64 KiB loopback segments adds well under 1%.
	if sent < payload || sent > payload*11/10 {
		t.Errorf("n1→n2 counted %d bytes, sent a %d-byte payload", sent, payload)
	}
	if back := traffic[Link{"n2", "n1"}]; back <= 0 || back >= payload/10 {
		t.Errorf("n2→n1 counted %d bytes of acknowledgements", back)
	}
	if c := Classify(nodes, traffic)["n1"]; c.CrossZone != sent || c.SameZone != 0 {
		t.Errorf("n1's traffic classified as %+v", c)
	}
	if err := a.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := x(ctx, "", "iptables", "-w", "-t", "mangle", "-S")
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(strings.Split(string(out), "\n"), func(l string) bool { return strings.Contains(l, a.Chain()) }) {
		t.Errorf("chain left behind after Remove:\n%s", out)
	}
}

// TestHelperSendBytes is not a test: TestAccountingCountsRealTraffic runs
// it inside its network namespace to send FAULTLINE_TEST_SEND bytes from
// 127.0.0.2 to 127.0.0.3.
func TestHelperSendBytes(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("FAULTLINE_TEST_SEND"))
	if err != nil {
		return // run as a test, not as a helper process: nothing to do
	}
	l, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan int64)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- -1
			return
		}
		defer c.Close()
		got, _ := io.Copy(io.Discard, c)
		done <- got
	}()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := <-done; got != int64(n) {
		t.Fatalf("received %d bytes, sent %d", got, n)
	}
}
