package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// pollEvery is how often an experiment's status is read.
const pollEvery = 250 * time.Millisecond

// failedAttempts is how many failed applies to one target make an
// injection fail before its timeout: Chaos Mesh retries for ever (a
// missing qdisc never appears).
const failedAttempts = 3

// fault is one schedule entry carried out by Chaos Mesh experiments.
type fault struct {
	in   *Injector
	spec faults.Spec
}

var (
	_ faults.Fault     = (*fault)(nil)
	_ faults.Mechanism = (*fault)(nil)
	_ faults.Preparer  = (*fault)(nil)
)

// Name implements faults.Fault.
func (f *fault) Name() string { return f.spec.Kind }

// Mechanism implements faults.Mechanism: "chaos-mesh" and the experiment
// kind and action ("chaos-mesh PodChaos pod-kill").
func (f *fault) Mechanism() string {
	w := strings.Fields(How(f.spec.Kind))
	if len(w) < 2 {
		return faults.ViaChaosMesh
	}
	return faults.ViaChaosMesh + " " + w[0] + " " + strings.TrimRight(w[1], ",;")
}

// Inject implements faults.Fault: it creates the experiments, waits until
// each reports every target injected (or fails within the injector's
// timeout, with the experiment's records and events in the error, and
// deletes what it created), and records each object in the fault log.
// The Heal deletes them and waits until Chaos Mesh has recovered every
// target.
func (f *fault) Inject(ctx context.Context, c platform.Cluster, t faults.Target) (faults.Heal, error) {
	if fp, ok := c.(platform.FaultPermission); ok {
		if err := fp.PermitFaults(); err != nil {
			return nil, err
		}
	}
	cl, err := f.in.connect(c)
	if err != nil {
		return nil, err
	}
	objs, err := Build(f.spec, t)
	if err != nil {
		return nil, fmt.Errorf("chaos-mesh: %w", err)
	}
	start := time.Now()
	var created []client.Object
	undo := func(err error) error {
		if rerr := f.recover(context.WithoutCancel(ctx), cl, created, t.Log, true); rerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", rerr))
		}
		return err
	}
	for _, o := range objs {
		t.Log.Printf("chaos-mesh: create %s\n%s", describe(o), indent(record(o)))
		err := cl.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			err = nil // this run made it, in an attempt cut short
		}
		if err != nil {
			return nil, undo(fmt.Errorf("chaos-mesh: create %s: %w", describe(o), err))
		}
		created = append(created, o)
	}
	for _, o := range created {
		if err := f.waitInjected(ctx, cl, o, t.Log); err != nil {
			return nil, undo(err)
		}
	}
	t.Log.Printf("chaos-mesh: %s injected %.3fs after create", names(created), time.Since(start).Seconds())
	return func(ctx context.Context) error { return f.recover(ctx, cl, created, t.Log, false) }, nil
}

// waitInjected polls o's status until its AllInjected condition is true,
// or fails: at the injector's timeout, when ctx ends, or once a target
// has failed failedAttempts times.
func (f *fault) waitInjected(ctx context.Context, cl client.Client, o client.Object, log *faults.Log) error {
	wctx, cancel := context.WithTimeout(ctx, f.in.injectTimeout())
	defer cancel()
	cur := o.DeepCopyObject().(client.Object)
	for {
		err := cl.Get(wctx, client.ObjectKeyFromObject(o), cur)
		if err == nil {
			st := status(cur)
			if cond(st, v1alpha1.ConditionAllInjected) == corev1.ConditionTrue {
				log.Printf("chaos-mesh: %s: %s", describe(o), summary(st))
				return nil
			}
			if failed := failures(st); failed >= failedAttempts {
				return fmt.Errorf("chaos-mesh: %s failed to inject: %s", describe(o), evidence(context.WithoutCancel(ctx), cl, cur))
			}
		} else if !apierrors.IsNotFound(err) && wctx.Err() == nil {
			return fmt.Errorf("chaos-mesh: read %s: %w", describe(o), err)
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("chaos-mesh: %s: %w", describe(o), ctx.Err())
			}
			return fmt.Errorf("chaos-mesh: %s not injected within %s: %s", describe(o), f.in.injectTimeout(), evidence(context.WithoutCancel(ctx), cl, cur))
		case <-time.After(pollEvery):
		}
	}
}

// recover deletes objs and waits until each is gone. An experiment that
// never injected can keep its finalizer for ever (Chaos Mesh applies a
// record before it recovers it), so when force is set and the wait runs
// out, its finalizers are removed: there is nothing to recover.
func (f *fault) recover(ctx context.Context, cl client.Client, objs []client.Object, log *faults.Log, force bool) error {
	var errs []error
	for _, o := range objs {
		start := time.Now()
		err := cl.Delete(ctx, o)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("chaos-mesh: delete %s: %w", describe(o), err))
			continue
		}
		log.Printf("chaos-mesh: delete %s", describe(o))
		if err := waitGone(ctx, cl, o, f.in.recoverTimeout()); err != nil {
			if !force {
				errs = append(errs, err)
				continue
			}
			if ferr := dropFinalizers(ctx, cl, o, log); ferr != nil {
				errs = append(errs, err, ferr)
				continue
			}
		}
		log.Printf("chaos-mesh: %s recovered %.3fs after delete", describe(o), time.Since(start).Seconds())
	}
	return errors.Join(errs...)
}

// waitGone waits until o no longer exists.
func waitGone(ctx context.Context, cl client.Client, o client.Object, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cur := o.DeepCopyObject().(client.Object)
	for {
		err := cl.Get(wctx, client.ObjectKeyFromObject(o), cur)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("chaos-mesh: %s still there %s after delete (finalizers %v): %s", describe(o), timeout, cur.GetFinalizers(), evidence(context.WithoutCancel(ctx), cl, cur))
		case <-time.After(pollEvery):
		}
	}
}

// dropFinalizers removes o's finalizers so that its deletion completes.
func dropFinalizers(ctx context.Context, cl client.Client, o client.Object, log *faults.Log) error {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
	if err := cl.Patch(ctx, o, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("chaos-mesh: remove the finalizers of %s: %w", describe(o), err)
	}
	log.Printf("chaos-mesh: %s never injected and kept its finalizers: removed them", describe(o))
	return nil
}

// status returns a Chaos Mesh object's common status.
func status(o client.Object) *v1alpha1.ChaosStatus {
	if s, ok := o.(v1alpha1.StatefulObject); ok {
		return s.GetStatus()
	}
	return &v1alpha1.ChaosStatus{}
}

// cond returns the status of a condition, or Unknown.
func cond(st *v1alpha1.ChaosStatus, typ v1alpha1.ChaosConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// failures is the largest number of failed applies of one record.
func failures(st *v1alpha1.ChaosStatus) int {
	most := 0
	for _, r := range st.Experiment.Records {
		n := 0
		for _, e := range r.Events {
			if e.Type == v1alpha1.TypeFailed && e.Operation == v1alpha1.Apply {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// summary describes an experiment's status: its conditions and each
// record's phase.
func summary(st *v1alpha1.ChaosStatus) string {
	var parts []string
	for _, c := range st.Conditions {
		s := string(c.Type) + "=" + string(c.Status)
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		parts = append(parts, s)
	}
	for _, r := range st.Experiment.Records {
		parts = append(parts, fmt.Sprintf("%s: %s", r.Id, r.Phase))
	}
	if len(parts) == 0 {
		return "no status yet (is the Chaos Mesh controller running?)"
	}
	return strings.Join(parts, "; ")
}

// evidence is what an error about an experiment shows: its status, the
// last failed events of its records, and its Kubernetes events.
func evidence(ctx context.Context, cl client.Client, o client.Object) string {
	st := status(o)
	out := summary(st)
	for _, r := range st.Experiment.Records {
		for i := len(r.Events) - 1; i >= 0; i-- {
			if e := r.Events[i]; e.Type == v1alpha1.TypeFailed {
				out += fmt.Sprintf("; %s %s failed: %s", r.Id, e.Operation, kube.Truncate(e.Message, 300))
				break
			}
		}
	}
	if ev := events(ctx, cl, o); ev != "" {
		out += "; events: " + ev
	}
	return out
}

// events lists the Kubernetes events about o, oldest first, warnings and
// the last few.
func events(ctx context.Context, cl client.Client, o client.Object) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var list corev1.EventList
	if err := cl.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		return ""
	}
	var evs []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Name == o.GetName() {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].LastTimestamp.Before(&evs[j].LastTimestamp) })
	if len(evs) > 5 {
		evs = evs[len(evs)-5:]
	}
	parts := make([]string, 0, len(evs))
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, kube.Truncate(e.Message, 200)))
	}
	return strings.Join(parts, "; ")
}

// describe names an object: Kind namespace/name.
func describe(o client.Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = fmt.Sprintf("%T", o)
		kind = kind[strings.LastIndex(kind, ".")+1:]
	}
	return kind + " " + o.GetNamespace() + "/" + o.GetName()
}

func names(objs []client.Object) string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = describe(o)
	}
	return strings.Join(out, ", ")
}

// record is the object as YAML, for the fault log.
func record(o client.Object) string {
	b, err := yaml.Marshal(o)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
