package faults

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/iptables"
)

// ChainNamer is implemented by clusters that name the iptables chains
// faults install in them, so that the platform's own heal can find them
// after a crash: the local platform names them FL-<cluster id>-PURPOSE.
type ChainNamer interface {
	ChainName(purpose string) string
}

// chainName names the chain a fault installs on cluster c for purpose
// ("p3": the partition of schedule entry 3). Clusters that do not name
// chains themselves get FL-<hash of the cluster name>-PURPOSE.
func chainName(c platform.Cluster, purpose string) string {
	if n, ok := c.(ChainNamer); ok {
		return n.ChainName(purpose)
	}
	h := fnv.New32a()
	h.Write([]byte(c.Name()))
	name := fmt.Sprintf("%s%08x-%s", iptables.Prefix, h.Sum32(), purpose)
	if len(name) > iptables.MaxChain {
		name = name[:iptables.MaxChain]
	}
	return name
}

// RuleSet is a chain faultline owns in one network namespace: its rules,
// and the built-in chains that jump to it. Building the commands is pure;
// installing runs them through a NetworkController.
type RuleSet struct {
	// Namespace is the network namespace (platform.NetworkController's
	// NetNamespace) and Node a node in it to run the commands on.
	Namespace string
	Node      string
	Table     string // "filter" unless set
	Chain     string
	// Hooks are the built-in chains that jump to Chain: INPUT, OUTPUT…
	Hooks []string
	// Rules are each rule's arguments after "-A CHAIN", such as
	// "-s", "10.0.0.1", "-d", "10.0.0.2", "-j", "DROP".
	Rules [][]string
}

func (r RuleSet) table() string {
	if r.Table == "" {
		return "filter"
	}
	return r.Table
}

// iptablesArgv prefixes args with the iptables command: wait for the
// xtables lock, because faults on other clusters may run at once.
func (r RuleSet) iptablesArgv(args ...string) []string {
	return append([]string{"iptables", "-w", "5", "-t", r.table()}, args...)
}

// InstallArgv returns the commands that create the chain, fill it, and
// hook it in last, so that the rules take effect at once.
func (r RuleSet) InstallArgv() [][]string {
	cmds := [][]string{r.iptablesArgv("-N", r.Chain)}
	for _, rule := range r.Rules {
		cmds = append(cmds, r.iptablesArgv(append([]string{"-A", r.Chain}, rule...)...))
	}
	for _, h := range r.Hooks {
		cmds = append(cmds, r.iptablesArgv("-I", h, "-j", r.Chain))
	}
	return cmds
}

// RemoveArgv returns the commands that unhook, flush and delete the chain.
func (r RuleSet) RemoveArgv() [][]string {
	var cmds [][]string
	for _, h := range r.Hooks {
		cmds = append(cmds, r.iptablesArgv("-D", h, "-j", r.Chain))
	}
	return append(cmds, r.iptablesArgv("-F", r.Chain), r.iptablesArgv("-X", r.Chain))
}

// InstallRules installs every rule set and returns the Heal that removes
// them. Commands and their output go to log. If one fails, what was
// installed is removed before the error returns.
func InstallRules(ctx context.Context, nc platform.NetworkController, sets []RuleSet, log *Log) (Heal, error) {
	var done []RuleSet
	for _, rs := range sets {
		done = append(done, rs)
		for _, argv := range rs.InstallArgv() {
			if _, err := netExec(ctx, nc, rs.Node, argv, log); err != nil {
				removeRules(context.WithoutCancel(ctx), nc, done, log)
				return nil, err
			}
		}
	}
	return healRules(nc, sets, log), nil
}

// healRules returns a Heal that removes the rule sets, each once: a set
// whose removal failed is tried again on the next call.
func healRules(nc platform.NetworkController, sets []RuleSet, log *Log) Heal {
	var mu sync.Mutex
	left := append([]RuleSet(nil), sets...)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		var failed []RuleSet
		var errs []error
		for _, rs := range left {
			if err := removeRules(ctx, nc, []RuleSet{rs}, log); err != nil {
				failed = append(failed, rs)
				errs = append(errs, err)
			}
		}
		left = failed
		return errors.Join(errs...)
	}
}

// removeRules runs the removal commands of each set; a rule or chain that
// is already gone counts as removed.
func removeRules(ctx context.Context, nc platform.NetworkController, sets []RuleSet, log *Log) error {
	var errs []error
	for _, rs := range sets {
		for _, argv := range rs.RemoveArgv() {
			if _, err := netExec(ctx, nc, rs.Node, argv, log); err != nil && !platform.RuleGone(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func netExec(ctx context.Context, nc platform.NetworkController, node string, argv []string, log *Log) ([]byte, error) {
	out, err := nc.NetExec(ctx, node, argv...)
	log.Command(node, argv, out, err)
	return out, err
}
