package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/faultline-dev/faultline/internal/procs"
	"github.com/faultline-dev/faultline/platform/iptables"
)

// Heal removes what crashed runs of the local platform left on this host:
// the processes of clusters whose owner is gone (paused ones included),
// their iptables chains in the filter and nat tables with the rules that
// jump to them, and their directories unless they were to be retained.
// Clusters whose owning process is alive are left alone: they heal
// themselves. Heal writes what it did to w and is safe to run twice.
func Heal(ctx context.Context, w io.Writer) error {
	return heal(ctx, w, func(string) bool { return true })
}

// heal is Heal restricted to the cluster ids that match, so that tests can
// heal their own clusters without touching those of other processes.
func heal(ctx context.Context, w io.Writer, match func(id string) bool) error {
	ids, err := leftovers(ctx)
	if err != nil {
		return fmt.Errorf("local: heal: %w", err)
	}
	var errs []error
	did := false
	for _, id := range ids {
		if !match(id) {
			continue
		}
		live, l, err := alive(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if live {
			rec, _ := readRecord(id)
			fmt.Fprintf(w, "cluster local-%s is alive (pid %d): left alone\n", id, rec.PID)
			continue
		}
		did = true
		if err := healCluster(ctx, w, id); err != nil {
			errs = append(errs, err)
		}
		l.release()
	}
	sweepBlocks()
	if !did {
		fmt.Fprintln(w, "local: nothing to heal")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local: heal: %w", err)
	}
	return nil
}

// leftovers lists the ids of every local cluster this host shows a trace
// of: an iptables chain, a node process, or a registry record.
func leftovers(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	if os.Geteuid() == 0 {
		for _, table := range iptables.Tables {
			chains, _, err := chainsIn(ctx, table)
			if err != nil {
				return nil, err
			}
			for _, ch := range chains {
				if m := ownedChain.FindStringSubmatch(ch); m != nil {
					seen[m[1]] = true
				}
			}
		}
	}
	for _, p := range nodeProcesses() {
		seen[p.id] = true
	}
	recs, _ := filepath.Glob(filepath.Join(registryDir(), "*.json"))
	for _, r := range recs {
		seen[strings.TrimSuffix(filepath.Base(r), ".json")] = true
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		if ownedChain.MatchString(iptables.Prefix + id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// healCluster removes what the dead cluster id left.
func healCluster(ctx context.Context, w io.Writer, id string) error {
	var errs []error
	for _, p := range nodeProcesses() {
		if p.id != id {
			continue
		}
		// A paused process acts on SIGKILL too, but resume it first so
		// that nothing is left frozen if the kill is refused.
		syscall.Kill(p.pid, syscall.SIGCONT)
		if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill process %d of cluster local-%s: %w", p.pid, id, err))
			continue
		}
		fmt.Fprintf(w, "killed process %d (node %s of cluster local-%s)\n", p.pid, p.node, id)
	}
	if os.Geteuid() == 0 {
		if err := removeChains(ctx, w, iptables.Prefix+id); err != nil {
			errs = append(errs, err)
		}
	}
	if rec, ok := readRecord(id); ok {
		if !rec.Retain && ownDir(rec) {
			if err := os.RemoveAll(rec.Dir); err != nil {
				errs = append(errs, err)
			} else {
				fmt.Fprintf(w, "removed %s\n", rec.Dir)
			}
		}
		os.Remove(filepath.Join(registryDir(), id+".json"))
	}
	return errors.Join(errs...)
}

// ownDir reports whether rec's directory is safe to remove: a directory
// named the way clusters name theirs, recorded by this user. The registry
// sits in a shared temporary directory, so a record is not trusted
// blindly.
func ownDir(rec record) bool {
	fi, err := os.Stat(filepath.Join(registryDir(), rec.ID+".json"))
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Geteuid() {
		return false
	}
	return filepath.IsAbs(rec.Dir) && strings.HasPrefix(filepath.Base(rec.Dir), "faultline-local-"+rec.ID+"-")
}

// sweepBlocks removes the lock files of address blocks nobody holds.
func sweepBlocks() {
	files, _ := filepath.Glob(filepath.Join(registryDir(), "block-*.lock"))
	for _, f := range files {
		if l, err := tryLock(f); err == nil && l != nil {
			l.release()
		}
	}
}

// nodeProcess is a process that carries a local cluster's mark.
type nodeProcess struct {
	pid      int
	id, node string
}

// nodeProcesses finds the processes of local clusters by the environment
// they were started with.
func nodeProcesses() []nodeProcess {
	var out []nodeProcess
	for _, p := range procs.WithEnv(envCluster, envNode) {
		if p.Env[envCluster] == "" {
			continue
		}
		out = append(out, nodeProcess{pid: p.PID, id: p.Env[envCluster], node: p.Env[envNode]})
	}
	return out
}
