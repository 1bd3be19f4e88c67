// Package agent runs faultline's helper programs (an etcd member, the
// packet delayer) by re-executing the faultline binary, so that nothing
// else needs installing. A binary that may host agents (faultline's main,
// and the test binaries of packages that start local clusters) calls Main
// first thing; when the environment names an agent, Main runs it and exits.
package agent

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Env is the environment variable that names the agent to run.
const Env = "FAULTLINE_AGENT"

// Func is an agent's body. It runs until ctx is cancelled (SIGTERM or
// SIGINT) or it fails; args are the process's arguments after argv[0].
type Func func(ctx context.Context, args []string) error

// Main runs the agent the environment names, if any, and exits the process
// with its outcome; otherwise it returns at once. An unknown agent name is
// an error that exits with status 2.
func Main(agents map[string]Func) {
	name := os.Getenv(Env)
	if name == "" {
		return
	}
	f, ok := agents[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "faultline agent: unknown agent %q\n", name)
		os.Exit(2)
	}
	os.Unsetenv(Env)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := f(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultline agent %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Command returns the environment entry that makes a re-executed faultline
// binary run the named agent.
func Command(name string) string { return Env + "=" + name }
