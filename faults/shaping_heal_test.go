package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/workload"
)

// A schedule of shaping faults that start at the same instant: their
// delays on the same links add up (each took its own mark bit), a fault
// whose window ends is healed then, the rest when the run is cut short,
// and the history records each one's mechanism.
func TestNemesisShaping(t *testing.T) {
	c := newLAN(t, 3)
	n1, n2 := c.peer("n1"), c.peer("n2")
	spec := func(id int, kind, target, peers string, d time.Duration, f func(*faults.Spec)) faults.Scheduled {
		s := faults.Spec{ID: id, Kind: kind, Target: mustSel(t, target), Peers: mustSel(t, peers), Duration: d}
		f(&s)
		fault, err := faults.New(s)
		if err != nil {
			t.Fatal(err)
		}
		return faults.Scheduled{Spec: s, Fault: fault}
	}
	var hist, log bytes.Buffer
	rec := workload.NewRecorder(&hist, workload.NewClock(), workload.Meta{})
	nem := &faults.Nemesis{
		Cluster: c, Recorder: rec, Log: faults.NewLog(&log, rec.Clock().Now), Seed: 1,
		Schedule: []faults.Scheduled{
			spec(0, faults.KindLatency, "node:n1", "node:n2", time.Minute, func(s *faults.Spec) { s.Delay = 20 * time.Millisecond }),
			spec(1, faults.KindLatency, "node:n2", "node:n1", time.Minute, func(s *faults.Spec) { s.Delay = 30 * time.Millisecond }),
			spec(2, faults.KindLoss, "node:n3", "node:n1", time.Second, func(s *faults.Spec) { s.Loss = 0.5 }),
			spec(3, faults.KindBandwidth, "node:n3", "node:n2", time.Minute, func(s *faults.Spec) { s.Rate = 1_000_000 }),
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nem.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	// Wait until both latencies and the bandwidth cap are in and the
	// 1s loss is over (injecting takes longer on a loaded machine).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		active := nem.Active()
		if len(active) == 3 && !slices.ContainsFunc(active, func(l string) bool { return strings.Contains(l, "loss") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("faults in force after a minute: %v\n%s", active, log.String())
		}
	}
	if got := fastest(connectTimes(t, n1, n2, 5)); !within(got, 2*(20+30)*time.Millisecond) {
		t.Errorf("with 20ms and 30ms on the same links, a connect takes %v, want %v", got, 100*time.Millisecond)
	}
	if left := leftovers(ctx, c, "n1", "statistic"); left != "" {
		t.Errorf("the loss fault outlived its 1s window:\n%s", left)
	}
	cancel()
	if err := <-done; err != nil {
		done <- err // for the deferred receive
		t.Fatalf("nemesis: %v\n%s", err, log.String())
	}
	done <- nil

	for _, n := range []string{"n1", "n2", "n3"} {
		if left := leftovers(context.Background(), c, n, "FL-"); left != "" {
			t.Errorf("after the run, %s still has:\n%s", n, left)
		}
	}
	if pids := ownDelayers(); len(pids) > 0 {
		t.Errorf("after the run, delayers %v still run", pids)
	}
	h := rec.History()
	want := map[int]string{0: faults.MechDelayer, 1: faults.MechDelayer, 2: faults.MechStatistic, 3: faults.MechHTB}
	if has, ok := netemInKernel(); !ok || has {
		want = map[int]string{3: faults.MechHTB}
	}
	for id, mech := range want {
		w, ok := h.FaultByID(id)
		if !ok {
			t.Fatalf("no window for fault %d", id)
		}
		if w.Mechanism != mech || w.Error != "" || w.End == 0 {
			t.Errorf("fault %d: mechanism %q, error %q, end %v; want %q, healed", id, w.Mechanism, w.Error, w.End, mech)
		}
	}
	// The 1s loss ends on its own, before the run's end heals the
	// minute-long faults (how long after 1s depends on the machine's
	// load, so it is not timed here).
	if loss, lat := mustWindow(t, h, 2), mustWindow(t, h, 0); loss.End >= lat.End {
		t.Errorf("the 1s loss fault ended at %v, with the minute-long latency (%v), not after its window", loss.End, lat.End)
	}
}

// HealShaping removes tc classes no rule names, the root qdisc once it is
// empty, and delayers whose faultline process is gone; it leaves what is
// in use alone, and is safe to repeat.
func TestHealShaping(t *testing.T) {
	c := newLAN(t, 2)
	ctx := context.Background()
	ns := c.ns["n1"]
	for _, argv := range [][]string{
		{"tc", "qdisc", "add", "dev", "eth0", "root", "handle", "fa11:", "htb"},
		{"tc", "class", "add", "dev", "eth0", "parent", "fa11:", "classid", "fa11:5", "htb", "rate", "1mbit"},
		{"tc", "filter", "add", "dev", "eth0", "parent", "fa11:", "protocol", "ip", "prio", "5", "u32", "match", "ip", "dst", "10.231.0.2", "flowid", "fa11:5"},
		{"tc", "class", "add", "dev", "eth0", "parent", "fa11:", "classid", "fa11:6", "htb", "rate", "1mbit"},
		{"iptables", "-w", "5", "-N", "FL-test-b9"},
		{"iptables", "-w", "5", "-A", "FL-test-b9", "-j", "CLASSIFY", "--set-class", "fa11:6"},
	} {
		ns.MustRun(t, argv...)
	}
	orphan := startDelayerProc(t, ns.Path, deadPID(t))
	owned := startDelayerProc(t, ns.Path, os.Getpid())

	var out bytes.Buffer
	if err := faults.HealShaping(ctx, c, []string{"n1", "n2"}, &out); err != nil {
		t.Fatal(err)
	}
	classes := string(ns.MustRun(t, "tc", "class", "show", "dev", "eth0"))
	if strings.Contains(classes, "fa11:5 ") || !strings.Contains(classes, "fa11:6 ") {
		t.Errorf("after heal the classes are:\n%s\nwant fa11:6 (named by a rule) alone", classes)
	}
	if filters := ns.MustRun(t, "tc", "filter", "show", "dev", "eth0"); len(bytes.TrimSpace(filters)) > 0 {
		t.Errorf("the unnamed class's filter survived:\n%s", filters)
	}
	waitExit(t, orphan, 3*time.Second)
	if !running(owned.Process.Pid) {
		t.Error("HealShaping stopped a delayer whose faultline process is alive")
	}
	if !strings.Contains(out.String(), "orphaned delayer") || !strings.Contains(out.String(), "fa11:5") {
		t.Errorf("HealShaping said:\n%s", out.String())
	}

	ns.MustRun(t, "iptables", "-w", "5", "-F", "FL-test-b9")
	ns.MustRun(t, "iptables", "-w", "5", "-X", "FL-test-b9")
	out.Reset()
	if err := faults.HealShaping(ctx, c, []string{"n1"}, &out); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(ctx, c, "n1", "FL-"); left != "" {
		t.Errorf("after the second heal:\n%s", left)
	}
	out.Reset()
	if err := faults.HealShaping(ctx, c, []string{"n1"}, &out); err != nil || out.Len() != 0 {
		t.Errorf("a third heal: %v, said %q; want nothing to do", err, out.String())
	}
}

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// startDelayerProc starts the delayer agent in a namespace, marked as
// owned by owner, and waits for its queue.
func startDelayerProc(t *testing.T, netns string, owner int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "--netns", netns, "--parent", strconv.Itoa(os.Getpid()), "--delay", "10ms")
	cmd.Env = append(os.Environ(), agent.Command(delayer.AgentName), "FAULTLINE_SHAPING_OWNER="+strconv.Itoa(owner))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "queue ") {
		t.Fatalf("delayer said %q, %v", line, err)
	}
	return cmd
}

func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("process %d still runs after %v", cmd.Process.Pid, d)
	}
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}

func mustWindow(t *testing.T, h *workload.History, id int) workload.FaultWindow {
	t.Helper()
	w, ok := h.FaultByID(id)
	if !ok {
		t.Fatalf("no window for fault %d", id)
	}
	return w
}
