package faults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
)

// NetNSPather is implemented by clusters whose nodes' network namespaces
// this host can enter, which the NFQUEUE delayer needs: it runs as a
// process of this host (the faultline binary as an agent) whose netlink
// socket lives in the node's namespace. The local platform answers ""
// (its nodes share the namespace faultline runs in); kind answers
// /proc/PID/ns/net of the node container's first process.
type NetNSPather interface {
	// NetNSPath returns the path of node's network namespace, or "" for
	// the namespace of the calling process.
	NetNSPath(ctx context.Context, node string) (string, error)
}

// ProcessMarker is implemented by clusters whose heal finds leftover
// helper processes by their environment: the local platform marks its
// processes FAULTLINE_CLUSTER=<id>, and delayers started for it carry the
// same mark.
type ProcessMarker interface {
	ProcessEnv() []string
}

// envShapingOwner marks every delayer with the pid of the faultline
// process that started it, for HealShaping to find orphans by.
const envShapingOwner = "FAULTLINE_SHAPING_OWNER"

// delayerQueue is the first NFQUEUE number delayers try.
const delayerQueue = 4000

// delayerProc is a running delayer agent.
type delayerProc struct {
	node  string
	cmd   *exec.Cmd
	queue uint16
	done  chan struct{} // closed once the process has exited

	mu       sync.Mutex
	stats    string
	stderr   bytes.Buffer
	reported bool // stop has logged the exit (and any failure) once
}

// startDelayer starts a delayer in node's network namespace, holding
// each packet for shape's delay and jitter and marking released packets
// with mark, and waits until it has bound its queue.
func startDelayer(ctx context.Context, c platform.Cluster, node string, shape Shape, mark uint32, seed uint64, log *Log) (*delayerProc, error) {
	np, ok := c.(NetNSPather)
	if !ok {
		return nil, fmt.Errorf("cluster %s cannot run the packet delayer in the network namespace of its nodes (it does not implement faults.NetNSPather)", c.Name())
	}
	nsPath, err := np.NetNSPath(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("network namespace of %s: %w", node, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the faultline executable for the delayer: %w", err)
	}
	args := []string{
		"--queue", strconv.Itoa(delayerQueue),
		"--delay", shape.Delay.String(), "--jitter", shape.Jitter.String(),
		"--seed", strconv.FormatUint(seed, 10), "--mark", fmt.Sprintf("%#x", mark),
		"--parent", strconv.Itoa(os.Getpid()),
	}
	if nsPath != "" {
		args = append(args, "--netns", nsPath)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), agent.Command(delayer.AgentName), envShapingOwner+"="+strconv.Itoa(os.Getpid()))
	if pm, ok := c.(ProcessMarker); ok {
		cmd.Env = append(cmd.Env, pm.ProcessEnv()...)
	}
	// Its own process group: a Ctrl-C at the terminal is faultline's to
	// handle (it heals, then stops the delayer), not the delayer's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &delayerProc{node: node, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the delayer: %w", err)
	}
	log.Printf("%sstarted delayer pid %d: %s %s", prefix(node), cmd.Process.Pid, delayer.AgentName, strings.Join(args, " "))
	ready := make(chan uint16, 1)
	go p.read(stdout, ready)
	select {
	case q := <-ready:
		p.queue = q
		log.Printf("%sdelayer pid %d holds queue %d", prefix(node), cmd.Process.Pid, q)
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("the delayer exited before it was ready: %s", p.errText())
	case <-ctx.Done():
		p.stop(context.WithoutCancel(ctx), log)
		return nil, fmt.Errorf("start the delayer: %w", ctx.Err())
	case <-time.After(15 * time.Second):
		p.stop(context.WithoutCancel(ctx), log)
		return nil, fmt.Errorf("the delayer did not bind a queue within 15s: %s", p.errText())
	}
}

var queueLine = regexp.MustCompile(`^queue (\d+)$`)

// read follows the delayer's output: its queue, then its stats.
func (p *delayerProc) read(stdout interface{ Read([]byte) (int, error) }, ready chan<- uint16) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if m := queueLine.FindStringSubmatch(line); m != nil {
			q, _ := strconv.Atoi(m[1])
			ready <- uint16(q)
			continue
		}
		if s, ok := strings.CutPrefix(line, "stats "); ok {
			p.mu.Lock()
			p.stats = s
			p.mu.Unlock()
		}
	}
	p.cmd.Wait()
	close(p.done)
}

func (p *delayerProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		return s
	}
	return "no output"
}

// stop ends the delayer: SIGTERM makes it release every packet it holds
// at once and exit; SIGKILL follows if it has not within 5s. Its counts
// go to the log. A delayer that failed is an error the first time only:
// it is gone either way, and the heal must be able to finish.
func (p *delayerProc) stop(ctx context.Context, log *Log) error {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-ctx.Done():
			p.cmd.Process.Kill()
			<-p.done
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.mu.Lock()
	stats, stderr, reported := p.stats, strings.TrimSpace(p.stderr.String()), p.reported
	p.reported = true
	p.mu.Unlock()
	if reported {
		return nil // the process is gone; a failure was reported once
	}
	log.Printf("%sdelayer pid %d stopped (%s): %s", prefix(p.node), p.cmd.Process.Pid, p.cmd.ProcessState, stats)
	if st := p.cmd.ProcessState; st != nil && !st.Success() && !signalled(st, syscall.SIGTERM) {
		return fmt.Errorf("delayer on %s: %s: %s", p.node, st, stderr)
	}
	return nil
}

func signalled(st *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 64<<10 {
		return len(b), nil // enough evidence; drop the rest
	}
	return l.w.Write(b)
}

var markRule = regexp.MustCompile(`--mark (0x[0-9a-f]+)/`)

// freeMark returns a delayer mark bit that no faultline chain in the
// security table uses (given `iptables -t security -S`). Only delays of
// one cluster can meet on a path, but a namespace may hold several
// clusters' (the local platform's), so every FL chain counts.
func freeMark(save []byte) (uint32, error) {
	used := uint32(0)
	for _, line := range strings.Split(string(save), "\n") {
		if !strings.HasPrefix(line, "-A FL-") {
			continue
		}
		for _, m := range markRule.FindAllStringSubmatch(line, -1) {
			if v, err := strconv.ParseUint(m[1], 0, 32); err == nil {
				used |= uint32(v)
			}
		}
	}
	for i := 0; i < delayMarkBits; i++ {
		bit := uint32(delayMarkBase) << i
		if used&bit == 0 {
			return bit, nil
		}
	}
	return 0, errors.New("every delayer mark bit is in use: at most 8 delays can be in force in one network namespace")
}
