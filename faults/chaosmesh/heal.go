package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
)

// healTimeout bounds the wait for each deleted experiment.
const healTimeout = 30 * time.Second

// Lists returns an empty list of each kind of experiment faultline
// creates, for listing them (what Heal deletes, what a test checks is
// gone).
func Lists() []client.ObjectList {
	return []client.ObjectList{
		&v1alpha1.PodChaosList{}, &v1alpha1.NetworkChaosList{}, &v1alpha1.TimeChaosList{},
		&v1alpha1.StressChaosList{}, &v1alpha1.IOChaosList{},
	}
}

// Heal deletes, in every namespace, the Chaos Mesh experiments faultline
// runs created whose process is gone (faults.Alive), waits until Chaos
// Mesh has recovered their targets, and writes what it did to w.
// Experiments that never injected, which Chaos Mesh cannot finish
// deleting, have their finalizers removed. Experiments of live runs and
// of other machines are left alone; a cluster without Chaos Mesh has
// nothing to heal. It is safe to run twice.
func Heal(ctx context.Context, cl client.Client, w io.Writer) error {
	var errs []error
	for _, l := range Lists() {
		err := cl.List(ctx, l, client.MatchingLabels{faults.LabelManagedBy: faults.ManagedBy})
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil // Chaos Mesh is not installed
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("chaos-mesh: list: %w", err))
			continue
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, it := range items {
			o := it.(client.Object)
			if _, ok := o.GetLabels()[faults.LabelRun]; !ok {
				continue
			}
			if faults.Alive(o.GetLabels()) {
				fmt.Fprintf(w, "%s belongs to run %s, still running or on another machine: left alone\n", describe(o), o.GetLabels()[faults.LabelRun])
				continue
			}
			if err := healOne(ctx, cl, o, w); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func healOne(ctx context.Context, cl client.Client, o client.Object, w io.Writer) error {
	if err := cl.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("chaos-mesh: delete %s: %w", describe(o), err)
	}
	err := waitGone(ctx, cl, o, healTimeout)
	if err != nil && injectedNothing(status(o)) {
		log := faults.NewLog(w, nil)
		if ferr := dropFinalizers(ctx, cl, o, log); ferr != nil {
			return errors.Join(err, ferr)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "deleted %s (run %s); its targets are recovered\n", describe(o), o.GetLabels()[faults.LabelRun])
	return nil
}

// injectedNothing reports whether no record of an experiment was ever
// injected: then there is nothing for Chaos Mesh to recover.
func injectedNothing(st *v1alpha1.ChaosStatus) bool {
	for _, r := range st.Experiment.Records {
		if r.InjectedCount > 0 || r.Phase == v1alpha1.Injected {
			return false
		}
	}
	return true
}
