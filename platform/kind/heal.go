package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/iptables"
)

// Heal restores the kind clusters faultline created (those in the default
// state directory) that no faultline process is using: it starts killed
// and stopped nodes and thaws frozen ones, removes faultline's iptables
// chains from every node, then its tc classes and orphaned delayers
// (faults.HealShaping). Clusters in use are left alone, clusters that no
// longer exist are forgotten, and nothing is deleted. It writes what it
// did to w and is safe to run twice.
func Heal(ctx context.Context, w io.Writer) error {
	return HealState(ctx, defaultStateDir(), w)
}

// HealState is Heal for the clusters recorded in stateDir
// (Options.StateDir).
func HealState(ctx context.Context, stateDir string, w io.Writer) error {
	st := state{dir: stateDir}
	recs := st.list()
	var errs []error
	for _, rec := range recs {
		if err := healCluster(ctx, st, rec, w); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", rec.Name, err))
		}
	}
	if len(recs) == 0 {
		fmt.Fprintln(w, "kind: nothing to heal")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kind: heal: %w", err)
	}
	return nil
}

func healCluster(ctx context.Context, st state, rec record, w io.Writer) error {
	lock, err := st.lock(rec.Name)
	if errors.Is(err, errInUse) {
		fmt.Fprintf(w, "kind cluster %s is in use by a faultline process: left alone\n", rec.Name)
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	d, err := newDocker(rec.DockerHost)
	if err != nil {
		return err
	}
	defer d.close()
	names, err := d.containers(ctx, rec.Name)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprintf(w, "kind cluster %s no longer exists: forgotten\n", rec.Name)
		return st.remove(rec.Name)
	}
	var errs []error
	for _, n := range names {
		before, err := d.inspect(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if before.running && !before.paused {
			continue
		}
		if err := d.start(ctx, n, ""); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "started node %s of kind cluster %s (was %s)\n", n, rec.Name, before.status)
	}
	nc := containerNet{d}
	for _, n := range names {
		if err := removeChains(ctx, nc, n, w); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, faults.HealShaping(ctx, nc, names, w))
	return errors.Join(errs...)
}

// removeChains removes every chain faults installed in node's network
// namespace, and the jumps to them. Every such chain in a node of a
// cluster faultline owns is faultline's.
func removeChains(ctx context.Context, nc platform.NetworkController, node string, w io.Writer) error {
	run := func(ctx context.Context, argv ...string) ([]byte, error) { return nc.NetExec(ctx, node, argv...) }
	owned := func(ch string) bool { return strings.HasPrefix(ch, iptables.Prefix) }
	return iptables.RemoveOwned(ctx, run, owned, " on "+node, w)
}

// containerNet is a platform.NetworkController over node containers by
// name, for healing when no Cluster object is left.
type containerNet struct{ d *docker }

// NetExec implements platform.NetworkController.
func (n containerNet) NetExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	return n.d.exec(ctx, node, argv...)
}

// NetNamespace implements platform.NetworkController.
func (containerNet) NetNamespace(node string) string { return node }

// kubeHandle is a platform.Kubernetes for a recorded cluster.
type kubeHandle struct{ kubeconfig, context string }

func (k kubeHandle) Kubeconfig() string { return k.kubeconfig }
func (k kubeHandle) Context() string    { return k.context }

// EachCluster calls f, with its kubeconfig and context, for every kind
// cluster faultline created (the default state directory) that no
// faultline process is using: for heals of what lives in a cluster's API
// (Chaos Mesh experiments, cordoned nodes). Run it after Heal, which
// forgets clusters that no longer exist.
func EachCluster(ctx context.Context, f func(ctx context.Context, name string, k platform.Kubernetes) error) error {
	st := state{dir: defaultStateDir()}
	var errs []error
	for _, rec := range st.list() {
		lock, err := st.lock(rec.Name)
		if errors.Is(err, errInUse) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", rec.Name, err))
			continue
		}
		err = f(ctx, rec.Name, kubeHandle{kubeconfig: st.kubeconfig(rec.Name), context: contextName(rec.Name)})
		lock.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", rec.Name, err))
		}
	}
	return errors.Join(errs...)
}
