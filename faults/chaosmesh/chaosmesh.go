// Package chaosmesh injects faults on any Kubernetes cluster through Chaos
// Mesh experiments, built as typed objects of its API
// (github.com/chaos-mesh/chaos-mesh/api/v1alpha1) and applied with a
// controller-runtime client: faultline's targets become pod selectors,
// its fault kinds become PodChaos, NetworkChaos, StressChaos, TimeChaos
// and IOChaos actions.
package chaosmesh

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

// Timeouts an Injector uses when its fields are zero.
const (
	// DefaultInjectTimeout bounds the wait for an experiment to report
	// every target injected.
	DefaultInjectTimeout = 30 * time.Second
	// DefaultRecoverTimeout bounds the wait for a deleted experiment to
	// be gone (Chaos Mesh removes its finalizer once every target has
	// recovered).
	DefaultRecoverTimeout = 60 * time.Second
	// deadManMargin is added to a fault's duration to make the
	// experiment's own duration: should faultline die without healing,
	// Chaos Mesh recovers the targets by itself that much later.
	deadManMargin = 2 * time.Minute
)

// Injector is the faults.Injector of Chaos Mesh. Its zero value connects
// to a cluster through the cluster's kubeconfig (platform.Kubernetes)
// and uses the default timeouts.
type Injector struct {
	// Connect returns a client for a cluster; nil is Connect.
	Connect func(c platform.Cluster) (client.Client, error)
	// Install, if set, installs Chaos Mesh on a cluster faultline created
	// (platform.Owned) that lacks it, during Prepare. Without it Prepare
	// refuses such a cluster and says how to install Chaos Mesh.
	Install func(ctx context.Context, c platform.Cluster) error
	// InjectTimeout and RecoverTimeout override the defaults.
	InjectTimeout, RecoverTimeout time.Duration
}

var _ faults.Injector = (*Injector)(nil)

// Name implements faults.Injector.
func (*Injector) Name() string { return faults.ViaChaosMesh }

// kinds maps each fault kind to what carries it out, for Kinds and for
// `faultline list faults`.
var kinds = faults.Methods{
	{Kind: faults.KindKill, How: "PodChaos pod-kill, grace period 0 (the pods' controllers start them again at once)"},
	{Kind: faults.KindStop, How: "PodChaos pod-kill with the pods' grace period"},
	{Kind: faults.KindRestart, How: "PodChaos pod-kill with the pods' grace period"},
	{Kind: faults.KindPause, How: "PodChaos pod-failure (containers swapped for a pause image until heal)"},
	{Kind: faults.KindZoneOutage, How: "PodChaos pod-failure of every engine pod on the zone's nodes (node label selector)"},
	{Kind: faults.KindRegionOutage, How: "PodChaos pod-failure of every engine pod on the region's nodes (node label selector)"},
	{Kind: faults.KindPartition, How: "NetworkChaos partition, direction both (to when one-way), target the peers' pods"},
	{Kind: faults.KindLatency, How: "NetworkChaos delay with jitter, direction both, target the peers' pods (needs sch_netem)"},
	{Kind: faults.KindLoss, How: "NetworkChaos loss, direction both, target the peers' pods (needs sch_netem)"},
	{Kind: faults.KindBandwidth, How: "NetworkChaos bandwidth: towards the peers' pods, a tbf filtered by prio and sfq (needs sch_netem's family); with peers: rest, everything the target sends, a lone tbf (no sch_netem needed)"},
	{Kind: faults.KindPodFailure, How: "PodChaos pod-failure"},
	{Kind: faults.KindContainerKill, How: "PodChaos container-kill of the engine's containers"},
	{Kind: faults.KindClockSkew, How: "TimeChaos timeOffset on the engine's containers"},
	{Kind: faults.KindStress, How: "StressChaos cpu and memory stressors in the engine's containers"},
	{Kind: faults.KindDiskLatency, How: "IOChaos latency on the volume at path"},
	{Kind: faults.KindDiskError, How: "IOChaos fault (errno) on the volume at path"},
}

// Kinds implements faults.Injector.
func (*Injector) Kinds() []string { return kinds.Kinds() }

// How says which experiment carries a fault kind out, or "".
func How(kind string) string { return kinds.How(kind) }

// conditions are what some kinds need of a cluster beyond Kubernetes and
// Chaos Mesh, which Prepare checks (Condition).
var conditions = map[string]string{
	faults.KindLatency:   "needs sch_netem in the nodes' kernel: refused up front where faultline can probe the nodes' kernel (kind) and finds none",
	faults.KindLoss:      "needs sch_netem in the nodes' kernel: refused up front where faultline can probe the nodes' kernel (kind) and finds none",
	faults.KindBandwidth: "towards chosen peers needs prio and sfq, which come with sch_netem: refused up front where faultline can probe the nodes' kernel (kind) and finds none; peers: rest (everything the target sends) needs only tbf",
	faults.KindDiskLatency: "needs toda in the chaos-daemon image: refused up front where its DaemonSet is annotated " + AnnotationDaemonLacks + "=io, as faultline's own build is " +
		"(the daemon faultline installs on kind); the official images have it",
	faults.KindDiskError: "needs toda in the chaos-daemon image: refused up front where its DaemonSet is annotated " + AnnotationDaemonLacks + "=io, as faultline's own build is " +
		"(the daemon faultline installs on kind); the official images have it",
	faults.KindStress: "memory needs memStress in the chaos-daemon image (faultline's own build has a stand-in of its own): refused up front where the annotation " + AnnotationDaemonLacks + " lists memory",
}

// Condition implements faults.Conditioned.
func (*Injector) Condition(kind string) string { return conditions[kind] }

var _ faults.Conditioned = (*Injector)(nil)

// CanInject implements faults.Injector: Chaos Mesh runs on Kubernetes
// clusters. Whether it is installed, and whether its daemon can act
// there, is Prepare's to find out.
func (*Injector) CanInject(p platform.Platform, kind string) error {
	if !kinds.Has(kind) {
		return fmt.Errorf("Chaos Mesh does not carry %s", kind)
	}
	if !platform.CapabilitiesOf(p).Kubernetes {
		return &faults.NotOnPlatform{Reason: fmt.Sprintf("Chaos Mesh needs Kubernetes, and platform %s runs none", p.Name())}
	}
	return nil
}

// Fault implements faults.Injector.
func (in *Injector) Fault(spec faults.Spec) (faults.Fault, error) {
	field := func(name string) string { return fmt.Sprintf("faults[%d].%s", spec.ID, name) }
	if spec.Bridge {
		return nil, fmt.Errorf("%s: a bridge partition has no Chaos Mesh equivalent; use the platform's injector (via: platform) or a partition between two selectors", field("bridge"))
	}
	if spec.Kind == faults.KindLatency && spec.Jitter > spec.Delay {
		return nil, fmt.Errorf("%s: %s is more than the delay %s", field("jitter"), spec.Jitter, spec.Delay)
	}
	if spec.Kind == faults.KindLoss && (spec.Loss <= 0 || spec.Loss > 1) {
		return nil, fmt.Errorf("%s: a fraction of packets in (0, 1], got %g", field("loss"), spec.Loss)
	}
	if spec.Kind == faults.KindBandwidth && spec.Rate < 8 {
		return nil, fmt.Errorf("%s: at least 8 bits per second, got %d", field("rate"), spec.Rate)
	}
	if spec.Kind == faults.KindLatency && spec.Delay <= 0 {
		return nil, fmt.Errorf("%s: required, a positive delay", field("delay"))
	}
	return &fault{in: in, spec: spec}, nil
}

func (in *Injector) injectTimeout() time.Duration {
	if in.InjectTimeout > 0 {
		return in.InjectTimeout
	}
	return DefaultInjectTimeout
}

func (in *Injector) recoverTimeout() time.Duration {
	if in.RecoverTimeout > 0 {
		return in.RecoverTimeout
	}
	return DefaultRecoverTimeout
}

func (in *Injector) connect(c platform.Cluster) (client.Client, error) {
	if in.Connect != nil {
		return in.Connect(c)
	}
	return Connect(c)
}
