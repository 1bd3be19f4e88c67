package delayer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/netnstest"
)

func TestMain(m *testing.M) {
	agent.Main(map[string]agent.Func{AgentName: Agent})
	os.Exit(m.Run())
}

// BenchmarkSchedule is the cost of holding and releasing one packet in
// the schedule alone, with jitter (the per-flow bookkeeping on).
func BenchmarkSchedule(b *testing.B) {
	s := newSchedule(50*time.Millisecond, 10*time.Millisecond, 1)
	t0 := time.Now()
	var out []entry
	b.ReportAllocs()
	for i := range b.N {
		now := t0.Add(time.Duration(i) * 10 * time.Microsecond)
		s.add(now, uint64(i%64), uint32(i), 0, uint64(i))
		out, _ = s.due(now, out[:0])
	}
}

// benchDelayer is a delayer agent process in its own namespace, fed the
// UDP datagrams from 127.0.0.2 to 127.0.0.3.
type benchDelayer struct {
	cmd *exec.Cmd
	ns  *netnstest.NS
	out *bufio.Reader
}

func startBench(b *testing.B, delay time.Duration) *benchDelayer {
	b.Helper()
	netnstest.Need(b)
	ns := netnstest.New(b)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "--netns", ns.Path, "--delay", delay.String(), "--parent", strconv.Itoa(os.Getpid()), "--queue", "500")
	cmd.Env = append(os.Environ(), agent.Command(AgentName))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	d := &benchDelayer{cmd: cmd, ns: ns, out: bufio.NewReader(stdout)}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := d.out.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	q := strings.TrimSpace(strings.TrimPrefix(line, "queue "))
	ns.MustRun(b, "iptables", "-w", "5", "-A", "INPUT", "-p", "udp", "-s", "127.0.0.2", "-d", "127.0.0.3",
		"-j", "NFQUEUE", "--queue-num", q, "--queue-bypass")
	return d
}

// cpu is the delayer's user and system time so far.
func (d *benchDelayer) cpu(b *testing.B) (user, sys time.Duration) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	tick := time.Second / 100 // USER_HZ
	return time.Duration(ut) * tick, time.Duration(stime) * tick
}

// stop ends the delayer and returns its counts.
func (d *benchDelayer) stop(b *testing.B) Stats {
	d.cmd.Process.Signal(syscall.SIGTERM)
	var st Stats
	for {
		line, err := d.out.ReadString('\n')
		if s, ok := strings.CutPrefix(line, "stats "); ok {
			json.Unmarshal([]byte(s), &st)
		}
		if err != nil {
			break
		}
	}
	d.cmd.Wait()
	return st
}

// send sends n datagrams from 127.0.0.2 to 127.0.0.3 in ns, pps per
// second (0: as fast as it can), and returns how many arrived.
func send(b *testing.B, ns *netnstest.NS, n, pps int) int {
	b.Helper()
	got := 0
	err := ns.Do(func() error {
		rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)})
		if err != nil {
			return err
		}
		defer rc.Close()
		rc.SetReadBuffer(8 << 20)
		sc, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, rc.LocalAddr().(*net.UDPAddr))
		if err != nil {
			return err
		}
		defer sc.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 64)
			for got < n {
				rc.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := rc.Read(buf); err != nil {
					return
				}
				got++
			}
		}()
		msg := make([]byte, 32)
		start := time.Now()
		for i := range n {
			if pps > 0 && i%100 == 0 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(pps))))
			}
			sc.Write(msg)
		}
		<-done
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return got
}

// BenchmarkDelayerThroughput pushes datagrams through a delayer (1ms) as
// fast as one sender can: pkts/s is the rate they come out at, and
// failed-open/op the share the kernel let pass undelayed because the
// delayer fell behind.
func BenchmarkDelayerThroughput(b *testing.B) {
	d := startBench(b, time.Millisecond)
	u0, s0 := d.cpu(b)
	b.ResetTimer()
	t0 := time.Now()
	got := send(b, d.ns, b.N, 0)
	elapsed := time.Since(t0)
	b.StopTimer()
	u1, s1 := d.cpu(b)
	st := d.stop(b)
	b.ReportMetric(float64(got)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64((u1-u0+s1-s0).Nanoseconds())/float64(max(st.Received, 1)), "cpu-ns/pkt")
	b.ReportMetric(float64(b.N-int(st.Received))/float64(b.N), "undelayed/op")
	if lost := b.N - got; lost > 0 {
		b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
	}
}

// BenchmarkDelayerCPU10kpps paces datagrams at 10,000 per second through
// a delayer holding each for 20ms, and reports the delayer's CPU use as a
// share of one core.
func BenchmarkDelayerCPU10kpps(b *testing.B) {
	const pps = 10_000
	d := startBench(b, 20*time.Millisecond)
	u0, s0 := d.cpu(b)
	b.ResetTimer()
	t0 := time.Now()
	n := max(b.N, pps) // at least a second of traffic
	got := send(b, d.ns, n, pps)
	elapsed := time.Since(t0)
	b.StopTimer()
	u1, s1 := d.cpu(b)
	st := d.stop(b)
	// System time includes the kernel's work of passing each released
	// packet on, which it would do without the delayer too.
	b.ReportMetric(100*(u1-u0+s1-s0).Seconds()/elapsed.Seconds(), "cpu-%")
	b.ReportMetric(100*(u1-u0).Seconds()/elapsed.Seconds(), "user-cpu-%")
	b.ReportMetric(float64(got)/elapsed.Seconds(), "pkts/s")
	if st.FailedOpen+st.Saturated > 0 || uint64(n) != st.Received {
		b.Logf("delayer stats %+v for %d sent", st, n)
	}
}
