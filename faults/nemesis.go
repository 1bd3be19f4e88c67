package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// HealTimeout bounds each heal, which runs even after the run's context is
// cancelled.
const HealTimeout = 2 * time.Minute

// Scheduled is a schedule entry with the fault that carries it out.
type Scheduled struct {
	Spec  Spec
	Fault Fault
}

// Nemesis carries out a fault schedule against a cluster: each fault is
// injected at its time, healed when its duration is over, and recorded in
// the history. Faults may overlap. Whatever ends the run (the schedule's
// end, a cancelled context, a panic in the caller that calls HealAll), every
// fault injected is healed.
type Nemesis struct {
	Cluster  platform.Cluster
	Schedule []Scheduled
	Recorder *workload.Recorder
	// Leader names the engine's leader, for the selectors that need it.
	Leader func(ctx context.Context) (string, error)
	// Leaders, if set, names every leader of an engine with several (a
	// primary per shard), for the selector primaries.
	Leaders func(ctx context.Context) ([]string, error)
	// Seed seeds each fault's own random source (the fault's ID is the
	// stream), so target choices repeat with the seed.
	Seed int64
	Log  *Log
	// OnChange, if set, is called with the labels of the faults in force
	// whenever that set changes.
	OnChange func(active []string)
	// Pods are the engine's pods, for faults that act on pods; nil when
	// the engine does not say (Target.Pods).
	Pods *Pods
	// Labels are the run's labels (RunLabels), for the objects faults
	// create in the cluster.
	Labels map[string]string

	mu     sync.Mutex
	active map[int]active
}

type active struct {
	label     string
	heal      Heal
	mechanism string
}

// Run carries out the schedule, with offsets measured from now, and
// returns when every fault has ended or ctx is done; in both cases every
// fault it injected has been healed. It returns the errors of injections
// and heals that failed.
func (n *Nemesis) Run(ctx context.Context) error {
	start := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range n.Schedule {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.runOne(ctx, start, s); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := n.HealAll(context.WithoutCancel(ctx)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (n *Nemesis) runOne(ctx context.Context, start time.Time, s Scheduled) error {
	if !sleepUntil(ctx, start.Add(s.Spec.At)) {
		return nil
	}
	label := s.Spec.Label()
	info, _ := LookupKind(s.Spec.Kind)
	r := rand.New(rand.NewPCG(uint64(n.Seed), uint64(s.Spec.ID)+1))
	t, err := n.target(ctx, s.Spec, info, r)
	w := workload.FaultWindow{ID: s.Spec.ID, Name: label, Kind: s.Spec.Kind, Target: s.Spec.Target.String(), Nodes: names(t.Nodes), Peers: names(t.Peers)}
	if err != nil {
		w.Error = err.Error()
		n.Recorder.FaultStart(w)
		n.Recorder.FaultEnd(s.Spec.ID, "", nil)
		n.Log.Printf("fault %d %s: %v", s.Spec.ID, label, err)
		return fmt.Errorf("fault %d (%s): %w", s.Spec.ID, label, err)
	}
	n.Log.Printf("fault %d %s: inject on %v (peers %v)", s.Spec.ID, label, w.Nodes, w.Peers)
	n.Recorder.FaultStart(w)
	heal, err := s.Fault.Inject(ctx, n.Cluster, t)
	mech := ""
	if m, ok := s.Fault.(Mechanism); ok {
		mech = m.Mechanism()
	}
	if err != nil && ctx.Err() != nil {
		// The run ended while the fault went in; Inject undid what it
		// did. Not a failure of the fault: the run was stopped.
		n.Recorder.FaultEnd(s.Spec.ID, mech, nil)
		n.Log.Printf("fault %d %s: injection interrupted by the end of the run: %v", s.Spec.ID, label, err)
		return nil
	}
	if err != nil {
		err = fmt.Errorf("inject: %w", err)
		n.Recorder.FaultEnd(s.Spec.ID, mech, err)
		n.Log.Printf("fault %d %s: %v", s.Spec.ID, label, err)
		return fmt.Errorf("fault %d (%s): %w", s.Spec.ID, label, err)
	}
	n.setActive(s.Spec.ID, active{label: label, heal: heal, mechanism: mech})
	if !info.Instant {
		sleepUntil(ctx, time.Now().Add(s.Spec.Duration))
	}
	return n.healOne(context.WithoutCancel(ctx), s.Spec.ID)
}

func (n *Nemesis) target(ctx context.Context, s Spec, info KindInfo, r *rand.Rand) (Target, error) {
	nodes, err := n.Cluster.Nodes(ctx)
	if err != nil {
		return Target{}, fmt.Errorf("list nodes: %w", err)
	}
	workers := platform.Workers(nodes)
	t := Target{Log: n.Log, Selector: s.Target, PeerSelector: s.Peers, Pods: n.Pods, Labels: n.Labels}
	t.Nodes, err = s.Target.ResolveLeaders(ctx, workers, n.Leader, n.Leaders, r)
	if err != nil {
		return Target{}, err
	}
	if info.Peered {
		switch {
		case s.Peers.IsZero():
			t.Peers = Complement(workers, t.Nodes)
		case s.Peers.Kind == SelRest:
			t.Peers = Complement(nodes, t.Nodes)
		default:
			if t.Peers, err = s.Peers.ResolveLeaders(ctx, workers, n.Leader, n.Leaders, r); err != nil {
				return Target{}, fmt.Errorf("peers: %w", err)
			}
		}
	}
	return t, nil
}

// Prepare asks every scheduled fault that checks the cluster before the
// load (Preparer) to do so, and returns every refusal at once. Call it
// after the engine is ready and before Run.
func (n *Nemesis) Prepare(ctx context.Context) error {
	var errs []error
	for _, s := range n.Schedule {
		p, ok := s.Fault.(Preparer)
		if !ok {
			continue
		}
		t := Target{Log: n.Log, Selector: s.Spec.Target, PeerSelector: s.Spec.Peers, Pods: n.Pods, Labels: n.Labels}
		if err := p.Prepare(ctx, n.Cluster, t); err != nil {
			errs = append(errs, fmt.Errorf("fault %d (%s): %w", s.Spec.ID, s.Spec.Label(), err))
		}
	}
	return errors.Join(errs...)
}

func (n *Nemesis) setActive(id int, a active) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.active == nil {
		n.active = map[int]active{}
	}
	n.active[id] = a
	n.changed()
}

// healOne heals the fault with the given ID, if it is still in force, and
// records its end.
func (n *Nemesis) healOne(ctx context.Context, id int) error {
	n.mu.Lock()
	a, ok := n.active[id]
	delete(n.active, id)
	if ok {
		n.changed()
	}
	n.mu.Unlock()
	if !ok {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, HealTimeout)
	defer cancel()
	err := a.heal(hctx)
	n.Recorder.FaultEnd(id, a.mechanism, err)
	if err != nil {
		n.Log.Printf("fault %d %s: heal failed: %v", id, a.label, err)
		return fmt.Errorf("heal fault %d (%s): %w", id, a.label, err)
	}
	n.Log.Printf("fault %d %s: healed", id, a.label)
	return nil
}

// HealAll heals every fault still in force. Callers defer it, and call it
// on signals, so that nothing a run injected outlives it.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	ids := make([]int, 0, len(n.active))
	for id := range n.active {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	sort.Ints(ids)
	var errs []error
	for _, id := range ids {
		if err := n.healOne(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Active returns the labels of the faults in force.
func (n *Nemesis) Active() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.labels()
}

func (n *Nemesis) labels() []string {
	ids := make([]int, 0, len(n.active))
	for id := range n.active {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, n.active[id].label)
	}
	return out
}

// changed reports the active set; n.mu is held.
func (n *Nemesis) changed() {
	if n.OnChange != nil {
		n.OnChange(n.labels())
	}
}

func names(nodes []platform.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// sleepUntil waits until t or ctx is done; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
