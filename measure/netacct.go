package measure

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/platform"
)

// Exec runs argv in node's network namespace and returns its combined
// output; platform.NetworkController.NetExec is one.
type Exec func(ctx context.Context, node string, argv ...string) ([]byte, error)

// HostExec runs argv on this machine, whatever the node: for clusters
// whose nodes all share the host's network namespace.
func HostExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, &platform.CommandError{Node: node, Argv: argv, Output: out, Err: err}
	}
	return out, nil
}

// AccountingPrefix starts the name of every iptables chain faultline
// creates to count bytes, so that `faultline heal` can find leftovers.
const AccountingPrefix = "FL-ACCT-"

// accountingComment tags every counting rule; the rule's sender and
// receiver follow it as "SRC>DST".
const accountingComment = "faultline-acct"

// Link is a directed pair of nodes: bytes Src sent to Dst.
type Link struct{ Src, Dst string }

// Traffic is the bytes sent over each link since the rules were
// installed.
type Traffic map[Link]int64

// AccountingConfig says where to count.
type AccountingConfig struct {
	// Name makes the chain's name unique to a cluster (a hash of it is
	// used, so any string will do).
	Name  string
	Nodes []platform.Node
	Exec  Exec
	// Namespace names a node's network namespace; nodes that share one
	// get their rules installed once, matching the sender's address too.
	// Nil means every node has its own (kind's node containers).
	Namespace func(node string) string
	// Extra lists more destinations per node, such as the pod CIDR of a
	// Kubernetes node: pod-to-pod traffic keeps the pods' addresses.
	Extra map[string][]string
}

// Accounting counts the bytes each node sends to each other node with
// iptables rules that have no target: a packet matching one only bumps its
// counters. The rules sit in a faultline-owned chain of the mangle table,
// jumped to from POSTROUTING, which sees both packets the node sends and
// those it forwards for its pods, after any DNAT to a service's endpoint
// and after any filter rule (a fault) has dropped what it drops.
type Accounting struct {
	chain  string
	exec   Exec
	groups []acctGroup
}

// acctGroup is the set of senders whose rules live in one network
// namespace, reached by running commands on via.
type acctGroup struct {
	via    string
	rules  []acctRule
	shared bool
}

type acctRule struct {
	link Link
	src  string // "" when the namespace holds only the sender
	dst  string
	ipv6 bool
}

// NewAccounting plans the counting rules; Install puts them in place.
func NewAccounting(cfg AccountingConfig) *Accounting {
	h := fnv.New32a()
	h.Write([]byte(cfg.Name))
	a := &Accounting{chain: fmt.Sprintf("%s%08x", AccountingPrefix, h.Sum32()), exec: cfg.Exec}
	ns := cfg.Namespace
	if ns == nil {
		ns = func(node string) string { return node }
	}
	byNS := map[string]*acctGroup{}
	var order []string
	count := map[string]int{}
	for _, n := range cfg.Nodes {
		count[ns(n.Name)]++
	}
	for _, n := range cfg.Nodes {
		if n.Addr == "" {
			continue
		}
		key := ns(n.Name)
		g, ok := byNS[key]
		if !ok {
			g = &acctGroup{via: n.Name, shared: count[key] > 1}
			byNS[key] = g
			order = append(order, key)
		}
		for _, peer := range cfg.Nodes {
			if peer.Name == n.Name || peer.Addr == "" {
				continue
			}
			for _, dst := range append([]string{peer.Addr}, cfg.Extra[peer.Name]...) {
				r := acctRule{link: Link{Src: n.Name, Dst: peer.Name}, dst: dst, ipv6: isIPv6(dst)}
				if g.shared {
					r.src = n.Addr
					if r.ipv6 != isIPv6(n.Addr) {
						continue
					}
				}
				g.rules = append(g.rules, r)
			}
		}
	}
	for _, k := range order {
		a.groups = append(a.groups, *byNS[k])
	}
	return a
}

// Chain is the name of the iptables chain the rules live in.
func (a *Accounting) Chain() string { return a.chain }

func isIPv6(addr string) bool {
	ip, _, err := net.ParseCIDR(addr)
	if err != nil {
		ip = net.ParseIP(addr)
	}
	return ip != nil && ip.To4() == nil
}

func iptables(ipv6 bool) string {
	if ipv6 {
		return "ip6tables"
	}
	return "iptables"
}

// Install creates the chain in every namespace, empties it, adds the
// counting rules and makes POSTROUTING jump to it. It is idempotent:
// installing again resets the counters.
func (a *Accounting) Install(ctx context.Context) error {
	for _, g := range a.groups {
		if err := a.install(ctx, g); err != nil {
			return fmt.Errorf("install byte accounting on %s: %w", g.via, err)
		}
	}
	return nil
}

func (a *Accounting) install(ctx context.Context, g acctGroup) error {
	for _, v6 := range families(g) {
		ipt := iptables(v6)
		// -N fails when the chain exists; -F then empties it.
		_, _ = a.exec(ctx, g.via, ipt, "-w", "-t", "mangle", "-N", a.chain)
		if _, err := a.exec(ctx, g.via, ipt, "-w", "-t", "mangle", "-F", a.chain); err != nil {
			return err
		}
		for _, r := range g.rules {
			if r.ipv6 != v6 {
				continue
			}
			argv := []string{ipt, "-w", "-t", "mangle", "-A", a.chain}
			if r.src != "" {
				argv = append(argv, "-s", r.src)
			}
			argv = append(argv, "-d", r.dst, "-m", "comment", "--comment", accountingComment+" "+r.link.Src+">"+r.link.Dst)
			if _, err := a.exec(ctx, g.via, argv...); err != nil {
				return err
			}
		}
		if _, err := a.exec(ctx, g.via, ipt, "-w", "-t", "mangle", "-C", "POSTROUTING", "-j", a.chain); err != nil {
			if _, err := a.exec(ctx, g.via, ipt, "-w", "-t", "mangle", "-I", "POSTROUTING", "1", "-j", a.chain); err != nil {
				return err
			}
		}
	}
	return nil
}

// families lists the address families a group has rules for.
func families(g acctGroup) []bool {
	var v4, v6 bool
	for _, r := range g.rules {
		if r.ipv6 {
			v6 = true
		} else {
			v4 = true
		}
	}
	var out []bool
	if v4 {
		out = append(out, false)
	}
	if v6 {
		out = append(out, true)
	}
	return out
}

// Read returns the bytes counted on every link. A namespace whose chain
// has gone (a node container that restarted gets a fresh namespace) has
// its rules installed again, counting from zero; the error says so, and
// the other namespaces are still read.
func (a *Accounting) Read(ctx context.Context) (Traffic, error) {
	t := Traffic{}
	var errs []error
	for _, g := range a.groups {
		for _, v6 := range families(g) {
			out, err := a.exec(ctx, g.via, iptables(v6), "-w", "-t", "mangle", "-L", a.chain, "-v", "-x", "-n")
			if err != nil {
				if ierr := a.install(ctx, g); ierr != nil {
					err = errors.Join(err, ierr)
				}
				errs = append(errs, fmt.Errorf("read byte accounting on %s: %w", g.via, err))
				continue
			}
			counts, perr := ParseAccounting(out)
			if perr != nil {
				errs = append(errs, fmt.Errorf("read byte accounting on %s: %w", g.via, perr))
			}
			for l, b := range counts {
				t[l] += b
			}
		}
	}
	return t, errors.Join(errs...)
}

// Remove deletes the jump, the rules and the chain from every namespace.
// Namespaces that are gone are not an error.
func (a *Accounting) Remove(ctx context.Context) error {
	var errs []error
	for _, g := range a.groups {
		for _, v6 := range families(g) {
			if err := removeChain(ctx, a.exec, g.via, iptables(v6), a.chain); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func removeChain(ctx context.Context, x Exec, node, ipt, chain string) error {
	if _, err := x(ctx, node, ipt, "-w", "-t", "mangle", "-L", chain, "-n"); err != nil {
		return nil // no such chain: nothing to remove
	}
	for i := 0; i < 16; i++ {
		if _, err := x(ctx, node, ipt, "-w", "-t", "mangle", "-D", "POSTROUTING", "-j", chain); err != nil {
			break
		}
	}
	if _, err := x(ctx, node, ipt, "-w", "-t", "mangle", "-F", chain); err != nil {
		return fmt.Errorf("remove byte accounting on %s: %w", node, err)
	}
	if _, err := x(ctx, node, ipt, "-w", "-t", "mangle", "-X", chain); err != nil {
		return fmt.Errorf("remove byte accounting on %s: %w", node, err)
	}
	return nil
}

// RemoveStaleAccounting removes every faultline accounting chain from
// node's namespace, whichever run left it: for `faultline heal`.
func RemoveStaleAccounting(ctx context.Context, x Exec, node string) error {
	var errs []error
	for _, ipt := range []string{"iptables", "ip6tables"} {
		out, err := x(ctx, node, ipt, "-w", "-t", "mangle", "-S")
		if err != nil {
			continue // no such family here
		}
		for _, c := range accountingChains(out) {
			if err := removeChain(ctx, x, node, ipt, c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// accountingChains lists the faultline accounting chains in
// `iptables -S` output.
func accountingChains(out []byte) []string {
	var cs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "-N" && strings.HasPrefix(f[1], AccountingPrefix) {
			cs = append(cs, f[1])
		}
	}
	sort.Strings(cs)
	return cs
}

// ParseAccounting reads `iptables -L CHAIN -v -x -n` output and returns
// the bytes of every faultline counting rule, summed per link (a link
// counted to a node and to its pod CIDR has two rules). Rules of other
// tools are ignored. The byte count is the second column in every
// iptables version; the others shift with the version and backend (an
// empty target column, an "opt" column or not), so they are not read.
func ParseAccounting(out []byte) (Traffic, error) {
	t := Traffic{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		i := strings.Index(line, "/* "+accountingComment+" ")
		if i < 0 {
			continue
		}
		rest := line[i+len("/* "+accountingComment+" "):]
		j := strings.Index(rest, " */")
		if j < 0 {
			return t, fmt.Errorf("line %d: unterminated comment: %q", n, line)
		}
		src, dst, ok := strings.Cut(rest[:j], ">")
		f := strings.Fields(line[:i])
		if !ok || len(f) < 2 {
			return t, fmt.Errorf("line %d: not a counting rule: %q", n, line)
		}
		b, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return t, fmt.Errorf("line %d: bytes %q: %w", n, f[1], err)
		}
		t[Link{Src: src, Dst: dst}] += b
	}
	return t, sc.Err()
}

// NetClass is bytes a node sent, by where the receiver is.
type NetClass struct {
	SameZone, CrossZone, CrossRegion int64
}

// Classify sums each sender's traffic by the zone and region of both
// ends, as the nodes' labels say. Links to nodes it does not know are
// left out.
func Classify(nodes []platform.Node, t Traffic) map[string]NetClass {
	byName := map[string]platform.Node{}
	for _, n := range nodes {
		byName[n.Name] = n
	}
	out := map[string]NetClass{}
	for l, b := range t {
		s, ok1 := byName[l.Src]
		d, ok2 := byName[l.Dst]
		if !ok1 || !ok2 {
			continue
		}
		c := out[l.Src]
		switch {
		case s.Region != d.Region:
			c.CrossRegion += b
		case s.Zone != d.Zone:
			c.CrossZone += b
		default:
			c.SameZone += b
		}
		out[l.Src] = c
	}
	return out
}
