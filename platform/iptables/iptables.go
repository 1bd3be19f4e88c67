// Package iptables owns the iptables chains faultline installs, on every
// platform: their names, and finding and removing them from a network
// namespace whatever a crashed run left there. The local platform runs
// its commands on the host, kind in each node container; both go through
// here.
package iptables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/faultline-dev/faultline/platform"
)

// Prefix starts the name of every chain faultline installs.
const Prefix = "FL-"

// MaxChain is the longest chain name iptables accepts.
const MaxChain = 28

// Tables are the tables faultline installs chains in: filter (partitions,
// loss), nat (the local platform's source addresses), security (the
// packet delayer's queue rules) and mangle (byte accounting).
var Tables = []string{"filter", "nat", "security", "mangle"}

// Runner runs one command (argv[0] is "iptables") in a network namespace
// and returns its combined output; a failure is a *platform.CommandError.
type Runner func(ctx context.Context, argv ...string) ([]byte, error)

// Argv is an iptables command on table that waits for the xtables lock,
// so that concurrent faultline processes do not fail on each other.
func Argv(table string, args ...string) []string {
	return append([]string{"iptables", "-w", "5", "-t", table}, args...)
}

// Removal returns, for the `iptables -S` output save of table, the
// commands that remove every chain owned reports true for: first each
// rule of another chain that jumps to it, then its rules, then the chain.
// It also returns the chains, in the order found.
func Removal(table, save string, owned func(chain string) bool) (cmds [][]string, chains []string) {
	lines := strings.Split(save, "\n")
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "-N" && owned(f[1]) {
			chains = append(chains, f[1])
		}
	}
	isOwned := map[string]bool{}
	for _, ch := range chains {
		isOwned[ch] = true
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "-A ") {
			continue
		}
		f := Split(line)
		if len(f) < 4 || f[len(f)-2] != "-j" || !isOwned[f[len(f)-1]] || isOwned[f[1]] {
			continue
		}
		// "-A INPUT … -j CHAIN" becomes "-D INPUT … -j CHAIN".
		f[0] = "-D"
		cmds = append(cmds, Argv(table, f...))
	}
	for _, ch := range chains {
		cmds = append(cmds, Argv(table, "-F", ch), Argv(table, "-X", ch))
	}
	return cmds, chains
}

// RemoveOwned removes from every table of Tables the chains owned reports
// true for, running commands with run, and writes a line per chain
// removed to w (where names the namespace in it). What is already gone
// counts as removed; every other failure is returned.
func RemoveOwned(ctx context.Context, run Runner, owned func(chain string) bool, where string, w io.Writer) error {
	var errs []error
	for _, table := range Tables {
		save, err := run(ctx, Argv(table, "-S")...)
		if err != nil {
			if tableMissing(err) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		cmds, chains := Removal(table, string(save), owned)
		failed := false
		for _, argv := range cmds {
			if _, err := run(ctx, argv...); err != nil && !platform.RuleGone(err) {
				errs = append(errs, err)
				failed = true
			}
		}
		if failed {
			continue
		}
		for _, ch := range chains {
			fmt.Fprintf(w, "removed iptables chain %s/%s%s\n", table, ch, where)
		}
	}
	return errors.Join(errs...)
}

// tableMissing reports whether listing a table failed because the kernel
// has no such table (a namespace without the security table, say).
func tableMissing(err error) bool {
	var ce *platform.CommandError
	if !errors.As(err, &ce) {
		return false
	}
	out := string(ce.Output)
	return strings.Contains(out, "Table does not exist") || strings.Contains(out, "can't initialize iptables table")
}

// Split splits a line of `iptables -S` output into arguments, undoing the
// double quotes it puts around arguments with spaces (comments) and the
// backslashes it escapes quotes with inside them.
func Split(line string) []string {
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
