package local

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/iptables"
)

// ownedChain matches the chains of local clusters (iptables.Prefix, the
// cluster's id, the purpose) and captures the id.
var ownedChain = regexp.MustCompile(`^` + iptables.Prefix + `([0-9a-f]{8})(-.*)?$`)

// runIptables runs iptables with the xtables lock, so that concurrent
// faultline processes do not fail on each other's updates.
func runIptables(ctx context.Context, args ...string) ([]byte, error) {
	return hostRun(ctx, append([]string{"iptables", "-w", "5"}, args...)...)
}

// hostRun is an iptables.Runner on the host, whose network namespace
// every local node shares.
func hostRun(ctx context.Context, argv ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, &platform.CommandError{Argv: argv, Output: out, Err: err}
	}
	return out, nil
}

// snatChain is the nat chain that gives each node's traffic its address.
func (c *Cluster) snatChain() string { return c.ChainName("snat") }

// installSNAT creates the cluster's nat chain: loopback traffic of node
// k's uid leaves with node k's address as its source, and hooks it from
// POSTROUTING.
func (c *Cluster) installSNAT(ctx context.Context) error {
	chain := c.snatChain()
	cmds := [][]string{{"-t", "nat", "-N", chain}}
	nodes, _ := c.Nodes(ctx)
	for _, n := range nodes {
		cmds = append(cmds, c.snatRule("-A", n))
	}
	cmds = append(cmds, []string{"-t", "nat", "-I", "POSTROUTING", "-j", chain})
	for _, args := range cmds {
		if _, err := runIptables(ctx, args...); err != nil {
			return fmt.Errorf("install source-address rewriting: %w", err)
		}
	}
	return nil
}

// snatRule is the rule (for op -A or -D) that gives n's traffic n's
// address.
func (c *Cluster) snatRule(op string, n platform.Node) []string {
	return []string{"-t", "nat", op, c.snatChain(),
		"-o", "lo", "-m", "owner", "--uid-owner", itoa(c.uid(n.Name)),
		"-m", "comment", "--comment", "faultline " + c.name + " " + n.Name,
		"-j", "SNAT", "--to-source", n.Addr}
}

// chainsIn lists the user chains of a table, and the rules (as -A specs)
// of every chain.
func chainsIn(ctx context.Context, table string) (chains []string, rules []string, err error) {
	out, err := runIptables(ctx, "-t", table, "-S")
	if err != nil {
		return nil, nil, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "-N "):
			chains = append(chains, strings.TrimSpace(line[3:]))
		case strings.HasPrefix(line, "-A "):
			rules = append(rules, line)
		}
	}
	return chains, rules, nil
}

// removeChains removes every chain whose name starts with prefix, in
// every table faultline uses, with the rules that jump to it, writing a
// line per chain removed to w.
func removeChains(ctx context.Context, w io.Writer, prefix string) error {
	return iptables.RemoveOwned(ctx, hostRun, func(ch string) bool { return strings.HasPrefix(ch, prefix) }, "", w)
}
