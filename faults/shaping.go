package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// Network shaping: latency, loss and bandwidth between a fault's target
// and its peers, and the standing latency between regions.
//
// How, by what the kernel of each namespace can do (the mechanism goes in
// the fault's window):
//
//   - delay and jitter: tc netem where a probe finds it (netem.go);
//     otherwise faultline's NFQUEUE delayer (package delayer), a process
//     of this host bound to a queue in the node's network namespace, fed
//     by rules in the security table where packets arrive (shaperules.go,
//     delayproc.go). On kind the delayer enters the node container's
//     namespace by path (NetNSPather) rather than running inside the
//     container: no 100 MB binary to copy into every node, no dependence
//     on the node image, and it dies with the faultline process that owns
//     its rules (it watches its parent), wherever the container's daemon
//     lives, as long as it shares this host's kernel and pid namespace.
//   - loss: netem where it exists, else the statistic match in the filter
//     table where packets arrive.
//   - rate: an htb class per source node under a root qdisc faultline
//     owns on the device towards the peers, fed by CLASSIFY rules and u32
//     filters (tc.go). No ingress shaping, so no IFB: each direction is
//     shaped where it leaves.
//
// Everything is named so that it can be found again: chains FL-…-PURPOSE
// (the platforms' heals remove them), classes fa11:N named by a CLASSIFY
// rule (sweepTC removes the orphans), delayers marked with their owner's
// pid and the cluster's process mark (HealShaping, local.Heal).

// Shape is what network shaping does to the packets of a link.
//
// Delay is one-way, as netem's and Chaos Mesh's: a packet from one end of
// a link to the other is held for Delay (± Jitter, uniformly). Faults
// shape both directions between their target and its peers, so a round
// trip between them grows by twice the delay: latency 50ms makes a ping
// between zones 100ms slower. Loss drops that fraction of the packets in
// each direction, independently. Rate caps what each node sends to the
// other side at Rate bits per second, each direction and each node on
// its own (on kind, each node container's egress).
type Shape struct {
	Delay  time.Duration
	Jitter time.Duration
	Loss   float64
	Rate   int64
}

// Limits of shaping parameters.
const (
	MaxDelay = time.Minute
	MinRate  = 8000            // bits/s
	MaxRate  = 100_000_000_000 // bits/s
)

// shaping is a latency, loss or bandwidth fault.
type shaping struct {
	spec   Spec
	prober netemProber

	mu        sync.Mutex
	mechanism string
}

// newShaping checks the shaping parameters of spec (New has checked that
// only its kind's are set).
func newShaping(spec Spec) (Fault, error) {
	field := func(name string) string { return fmt.Sprintf("faults[%d].%s", spec.ID, name) }
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field(name), fmt.Sprintf(format, args...)))
	}
	switch spec.Kind {
	case KindLatency:
		switch {
		case spec.Delay <= 0:
			bad("delay", "required: the one-way delay to add, such as 50ms (a round trip grows by twice it)")
		case spec.Delay > MaxDelay:
			bad("delay", "%s is longer than %s", spec.Delay, MaxDelay)
		}
		switch {
		case spec.Jitter < 0:
			bad("jitter", "%s must not be negative", spec.Jitter)
		case spec.Delay > 0 && spec.Jitter > spec.Delay:
			bad("jitter", "%s exceeds the delay %s: a packet cannot leave before it was sent", spec.Jitter, spec.Delay)
		}
	case KindLoss:
		if !(spec.Loss > 0 && spec.Loss <= 1) {
			bad("loss", "%v must be a fraction of packets in (0, 1], such as 0.2", spec.Loss)
		}
	case KindBandwidth:
		if spec.Rate < MinRate || spec.Rate > MaxRate {
			bad("rate", "%d bit/s must be between %d bit/s and %d bit/s", spec.Rate, MinRate, int64(MaxRate))
		}
	default:
		bad("kind", "%q is not a shaping kind", spec.Kind)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &shaping{spec: spec}, nil
}

// Name implements Fault.
func (f *shaping) Name() string { return f.spec.Kind }

// Mechanism implements Mechanism: how the last injection shaped packets.
func (f *shaping) Mechanism() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mechanism
}

func (f *shaping) shape() Shape {
	return Shape{Delay: f.spec.Delay, Jitter: f.spec.Jitter, Loss: f.spec.Loss, Rate: f.spec.Rate}
}

// purpose names the fault's chains: l3 for the latency of schedule entry
// 3, d3 for loss, b3 for bandwidth.
func (f *shaping) purpose() string {
	letter := map[string]string{KindLatency: "l", KindLoss: "d", KindBandwidth: "b"}[f.spec.Kind]
	return fmt.Sprintf("%s%d", letter, f.spec.ID)
}

// Inject implements Fault.
func (f *shaping) Inject(ctx context.Context, c platform.Cluster, t Target) (Heal, error) {
	kind := f.spec.Kind
	nc, ok := c.(platform.NetworkController)
	if !ok {
		return nil, fmt.Errorf("%s: cluster %s cannot run commands in its nodes' network namespaces (platform.NetworkController)", kind, c.Name())
	}
	if fs, ok := c.(platform.FaultSupport); ok {
		if err := fs.CanInject(kind); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
	}
	links, err := PartitionLinks(t, false, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	s := &shaper{c: c, nc: nc, prober: &f.prober, log: t.Log, seed: uint64(f.spec.ID) + 1}
	heal, mech, err := s.standing(ctx, f.purpose(), f.Name(), links, f.shape())
	f.mu.Lock()
	f.mechanism = mech
	f.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return heal, nil
}

// onceHeal makes h safe to call more than once: after it succeeds, later
// calls do nothing; after it fails, the next call tries again.
func onceHeal(h Heal) Heal {
	var (
		mu   sync.Mutex
		done bool
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return nil
		}
		if err := h(ctx); err != nil {
			return err
		}
		done = true
		return nil
	}
}
