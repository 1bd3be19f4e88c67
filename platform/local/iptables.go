package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"

	"github.com/faultline-dev/faultline/platform"
)

const (
	// chainPrefix starts the name of every iptables chain a local
	// cluster owns: FL-<id>-<purpose>.
	chainPrefix = "FL-"
	// maxChain is the longest chain name iptables accepts.
	maxChain = 28
)

// ownedChain matches the chains of local clusters and captures the id.
var ownedChain = regexp.MustCompile(`^FL-([0-9a-f]{8})(-.*)?$`)

// tables faultline installs chains in: delays of the shaping faults go in
// security, which netfilter runs after filter.
var tables = []string{"filter", "nat", "security"}

// iptables runs iptables with the xtables lock, so that concurrent
// faultline processes do not fail on each other's updates.
func iptables(ctx context.Context, args ...string) ([]byte, error) {
	argv := append([]string{"iptables", "-w", "5"}, args...)
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
	for _, n := range c.nodes {
		cmds = append(cmds, []string{"-t", "nat", "-A", chain,
			"-o", "lo", "-m", "owner", "--uid-owner", itoa(c.uid(n.Name)),
			"-m", "comment", "--comment", "faultline " + c.name + " " + n.Name,
			"-j", "SNAT", "--to-source", n.Addr})
	}
	cmds = append(cmds, []string{"-t", "nat", "-I", "POSTROUTING", "-j", chain})
	for _, args := range cmds {
		if _, err := iptables(ctx, args...); err != nil {
			return fmt.Errorf("install source-address rewriting: %w", err)
		}
	}
	return nil
}

// chainsIn lists the user chains of a table, and the rules (as -A specs)
// of every chain.
func chainsIn(ctx context.Context, table string) (chains []string, rules []string, err error) {
	out, err := iptables(ctx, "-t", table, "-S")
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
// every table faultline uses: first the rules that jump to it, then its
// rules, then the chain. It writes a line per chain removed to w.
func removeChains(ctx context.Context, w io.Writer, prefix string) error {
	var errs []error
	for _, table := range tables {
		chains, rules, err := chainsIn(ctx, table)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ch := range chains {
			if !strings.HasPrefix(ch, prefix) {
				continue
			}
			if err := removeChain(ctx, table, ch, rules); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(w, "removed iptables chain %s/%s\n", table, ch)
		}
	}
	return errors.Join(errs...)
}

// removeChain deletes the jumps to chain found in rules, flushes chain
// and deletes it.
func removeChain(ctx context.Context, table, chain string, rules []string) error {
	for _, r := range rules {
		f := splitRule(r)
		if len(f) < 3 || f[len(f)-2] != "-j" || f[len(f)-1] != chain {
			continue
		}
		// "-A INPUT … -j CHAIN" becomes "-D INPUT … -j CHAIN".
		f[0] = "-D"
		if _, err := iptables(ctx, append([]string{"-t", table}, f...)...); err != nil && !platform.RuleGone(err) {
			return err
		}
	}
	if _, err := iptables(ctx, "-t", table, "-F", chain); err != nil && !platform.RuleGone(err) {
		return err
	}
	if _, err := iptables(ctx, "-t", table, "-X", chain); err != nil && !platform.RuleGone(err) {
		return err
	}
	return nil
}

// splitRule splits a line of iptables -S output into arguments, undoing
// the double quotes it puts around arguments with spaces (comments).
func splitRule(line string) []string {
	var (
		out  []string
		cur  strings.Builder
		inQ  bool
		esc  bool
		have bool
	)
	for _, r := range line {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && inQ:
			esc = true
		case r == '"':
			inQ = !inQ
			have = true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}
