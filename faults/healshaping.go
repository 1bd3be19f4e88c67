package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/internal/procs"
	"github.com/faultline-dev/faultline/platform"
)

// HostNetwork is a platform.NetworkController for the network namespace
// faultline itself runs in, which the local platform's nodes share: for
// healing the host when no cluster object is left.
type HostNetwork struct{}

// NetExec implements platform.NetworkController: argv runs on the host.
func (HostNetwork) NetExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("host: net exec: empty command")
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, &platform.CommandError{Node: node, Argv: argv, Output: out, Err: err}
	}
	return out, nil
}

// NetNamespace implements platform.NetworkController.
func (HostNetwork) NetNamespace(string) string { return "host" }

// HealShaping removes what network shaping left behind after a crash
// that the platforms' heals do not: delayer processes on this host whose
// faultline process is gone (an orphaned delayer exits by itself within
// a fraction of a second; this is the backstop), and, in the network
// namespace of each node given, the tc classes that no iptables rule
// names any more, with faultline's root qdisc once it is empty. The
// chains themselves are the platforms' to remove (local.Heal, kind.Heal),
// so HealShaping runs after them. What live clusters use is left alone.
// It writes what it did to w and is safe to repeat.
//
// `faultline heal` calls, after local.Heal and kind.Heal:
//
//	faults.HealShaping(ctx, faults.HostNetwork{}, []string{"host"}, w)
func HealShaping(ctx context.Context, nc platform.NetworkController, nodes []string, w io.Writer) error {
	errs := []error{killOrphanDelayers(ctx, w)}
	seen := map[string]bool{}
	for _, n := range nodes {
		ns := nc.NetNamespace(n)
		if seen[ns] {
			continue
		}
		seen[ns] = true
		func() {
			unlock, err := lockHost(ctx)
			if err != nil {
				errs = append(errs, err)
				return
			}
			defer unlock()
			errs = append(errs, sweepTC(ctx, nc, n, nil, w))
		}()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("heal shaping: %w", err)
	}
	return nil
}

// killOrphanDelayers stops the delayers whose owner is no longer their
// parent: SIGTERM, which makes them release what they hold, then SIGKILL.
func killOrphanDelayers(ctx context.Context, w io.Writer) error {
	var errs []error
	for _, d := range delayerProcesses() {
		if d.ppid == d.owner {
			continue
		}
		if err := syscall.Kill(d.pid, syscall.SIGTERM); err != nil {
			if !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("stop orphaned delayer %d: %w", d.pid, err))
			}
			continue
		}
		deadline := time.Now().Add(2 * time.Second)
		for procs.Alive(d.pid) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		if procs.Alive(d.pid) {
			syscall.Kill(d.pid, syscall.SIGKILL)
		}
		fmt.Fprintf(w, "stopped orphaned delayer process %d (its faultline process %d is gone)\n", d.pid, d.owner)
	}
	return errors.Join(errs...)
}

type delayerProcess struct {
	pid, ppid, owner int
}

// delayerProcesses finds delayers by the owner mark in their environment.
func delayerProcesses() []delayerProcess {
	var out []delayerProcess
	for _, p := range procs.WithEnv(envShapingOwner) {
		owner, _ := strconv.Atoi(p.Env[envShapingOwner])
		if owner == 0 {
			continue
		}
		if ppid, ok := procs.Parent(p.PID); ok {
			out = append(out, delayerProcess{pid: p.PID, ppid: ppid, owner: owner})
		}
	}
	return out
}
