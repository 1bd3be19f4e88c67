package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform"
)

// Injector is one way of carrying faults out: the platform's own node and
// network control (Native), Chaos Mesh experiments, the Kubernetes API. A
// fault kind means the same to a scenario and a report whichever injector
// carries it; a scenario may name one (faults[].via), else the first of
// an Injectors list that can inject the kind on the platform is used.
type Injector interface {
	// Name is the injector's name in scenarios (faults[].via), in fault
	// windows and in `faultline list faults`. It is constant.
	Name() string
	// Kinds lists the fault kinds the injector can carry out on some
	// platform. It is constant.
	Kinds() []string
	// CanInject returns nil if the injector can inject kind on the
	// clusters p creates, or an error that says why not. It does no I/O:
	// what needs the cluster (a component installed on it) is checked by
	// the fault's Prepare once the cluster exists.
	CanInject(p platform.Platform, kind string) error
	// Fault returns the fault that carries spec out. spec has passed the
	// checks every kind shares (timing, target, peers, parameters that
	// belong to another kind); Fault checks what only it knows, naming
	// each field as faults[ID].FIELD.
	Fault(spec Spec) (Fault, error)
}

// Preparer is implemented by faults that must check the cluster once it
// exists and before the load starts, so that a fault that cannot be
// injected is refused then and not half-way through the run: a component
// it needs (installed, or installed by Prepare on clusters faultline
// created), an API server that refuses its objects. Prepare is
// idempotent.
type Preparer interface {
	Prepare(ctx context.Context, c platform.Cluster, t Target) error
}

// Conditioned is implemented by injectors that carry some kinds only on
// clusters that meet a condition the platform does not settle (a kernel
// module, a program in an image), which their faults' Prepare checks
// before the load, refusing the fault with the reason otherwise.
type Conditioned interface {
	// Condition says, for `faultline list faults`, what kind needs of a
	// cluster beyond what CanInject checks, and where it is refused; ""
	// when nothing.
	Condition(kind string) string
}

// Mechanism names, for faults[].via.
const (
	// ViaPlatform is the Native injector.
	ViaPlatform = "platform"
	// ViaChaosMesh is faults/chaosmesh's injector.
	ViaChaosMesh = "chaos-mesh"
	// ViaKubernetes is faults/kubeapi's injector.
	ViaKubernetes = "kubernetes"
)

// Native is the injector of the platform's own mechanisms: node control
// (signals to processes, docker kill/stop/pause of node containers) and
// commands in nodes' network namespaces (iptables, tc, the packet
// delayer).
var Native Injector = native{}

type native struct{}

// Name implements Injector.
func (native) Name() string { return ViaPlatform }

// Kinds implements Injector.
func (native) Kinds() []string {
	var out []string
	for _, k := range Kinds() {
		if k.Native() {
			out = append(out, k.Name)
		}
	}
	return out
}

// CanInject implements Injector: the kind's capability must be among the
// platform's (platform.Describer), and the platform must not refuse it
// (platform.FaultSupport).
func (native) CanInject(p platform.Platform, kind string) error {
	info, err := LookupKind(kind)
	if err != nil {
		return err
	}
	if !info.Native() {
		return fmt.Errorf("%s acts on pods or the Kubernetes API, which the platform's own mechanisms do not", kind)
	}
	caps := platform.CapabilitiesOf(p)
	switch {
	case info.Needs == NeedsNodes && !caps.NodeControl:
		return fmt.Errorf("%s needs to stop and start the machines (platform.NodeController), which platform %s cannot", kind, p.Name())
	case info.Needs != NeedsNodes && !caps.Network:
		return fmt.Errorf("%s needs the nodes' network namespaces (platform.NetworkController), which platform %s cannot enter", kind, p.Name())
	}
	if fs, ok := p.(platform.FaultSupport); ok {
		return fs.CanInject(kind)
	}
	return nil
}

// Fault implements Injector.
func (native) Fault(spec Spec) (Fault, error) {
	field := func(name string) string { return fmt.Sprintf("faults[%d].%s", spec.ID, name) }
	switch spec.Kind {
	case KindKill, KindStop, KindPause, KindRestart, KindZoneOutage, KindRegionOutage:
		if spec.Process != "" {
			return &processFault{kind: spec.Kind, process: spec.Process}, nil
		}
		return &nodeFault{kind: spec.Kind, action: actionFor(spec.Kind)}, nil
	case KindPartition:
		return &partition{id: spec.ID, oneWay: spec.OneWay, bridge: spec.Bridge}, nil
	case KindLatency, KindLoss, KindBandwidth:
		return newShaping(spec)
	}
	return nil, fmt.Errorf("%s: %s cannot be injected by the platform's own mechanisms", field("kind"), excerpt.Value(spec.Kind))
}

// Injectors is an ordered list of injectors: for a fault that names none,
// the first that can inject its kind on the platform is chosen.
type Injectors []Injector

// Lookup returns the injector with the given name.
func (is Injectors) Lookup(name string) (Injector, error) {
	for _, i := range is {
		if i.Name() == name {
			return i, nil
		}
	}
	return nil, fmt.Errorf("unknown injector %q (known: %s)", excerpt.Value(name), strings.Join(is.Names(), ", "))
}

// Names lists the injectors' names, in order.
func (is Injectors) Names() []string {
	out := make([]string, len(is))
	for i, in := range is {
		out[i] = in.Name()
	}
	return out
}

// Choose returns the injector for a fault of kind on p: the one named by
// via, or the first in order that can inject it. The error says why each
// injector cannot, or that p forbids faults (platform.FaultPermission).
func (is Injectors) Choose(p platform.Platform, kind, via string) (Injector, error) {
	if fp, ok := p.(platform.FaultPermission); ok {
		if err := fp.PermitFaults(); err != nil {
			return nil, err
		}
	}
	return is.For(p, kind, via)
}

// For is Choose without asking whether p permits faults at all: the
// injector that would carry a fault of kind on p once allowed, for
// listings.
func (is Injectors) For(p platform.Platform, kind, via string) (Injector, error) {
	if via != "" {
		in, err := is.Lookup(via)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(in.Kinds(), kind) {
			return nil, fmt.Errorf("%s does not inject %s (it injects %s)", via, kind, strings.Join(in.Kinds(), ", "))
		}
		if err := in.CanInject(p, kind); err != nil {
			return nil, fmt.Errorf("%s on platform %s: %w", via, p.Name(), err)
		}
		return in, nil
	}
	var why, specific []string
	var lastAny, lastSpecific error
	for _, in := range is {
		if !slices.Contains(in.Kinds(), kind) {
			continue
		}
		err := in.CanInject(p, kind)
		if err == nil {
			return in, nil
		}
		reason := in.Name() + ": " + err.Error()
		why, lastAny = append(why, reason), err
		var wrong *NotOnPlatform
		if !errors.As(err, &wrong) {
			specific, lastSpecific = append(specific, reason), err
		}
	}
	switch {
	case len(specific) == 1:
		return nil, lastSpecific
	case len(specific) > 1:
		why = specific
	case len(why) == 1:
		return nil, lastAny
	case len(why) == 0:
		return nil, fmt.Errorf("platform %s cannot inject %s: none of the injectors (%s) carries it", p.Name(), kind, strings.Join(is.Names(), ", "))
	}
	return nil, fmt.Errorf("platform %s cannot inject %s (%s)", p.Name(), kind, strings.Join(why, "; "))
}

// NotOnPlatform is an injector's refusal of a whole platform (Chaos Mesh
// on one without Kubernetes), as opposed to a refusal of one kind there.
// Choose leaves such refusals out when another injector says why the kind
// cannot be injected.
type NotOnPlatform struct {
	// Reason is the refusal, as Error returns it.
	Reason string
}

// Error implements error.
func (e *NotOnPlatform) Error() string { return e.Reason }

// New checks spec, chooses its injector on p and returns the fault that
// carries it out. It reports every problem at once, each naming its field
// as faults[ID].FIELD.
func (is Injectors) New(p platform.Platform, spec Spec) (Fault, error) {
	field := func(name string) string { return fmt.Sprintf("faults[%d].%s", spec.ID, name) }
	info, err := LookupKind(spec.Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field("kind"), err)
	}
	errs := validate(spec, info, field)
	in, err := is.Choose(p, spec.Kind, spec.Via)
	if err != nil {
		name := "kind"
		if spec.Via != "" {
			name = "via"
		}
		errs = append(errs, fmt.Errorf("%s: %w", field(name), err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return in.Fault(spec)
}

// Method says how an injector carries out one fault kind.
type Method struct {
	// Kind is the fault kind (KindKill…).
	Kind string
	// How describes the mechanism, for `faultline list faults`.
	How string
}

// Methods are the fault kinds an injector carries out, in the order it
// lists them.
type Methods []Method

// Kinds lists the kinds, in order: what Injector.Kinds returns.
func (m Methods) Kinds() []string {
	out := make([]string, len(m))
	for i, k := range m {
		out[i] = k.Kind
	}
	return out
}

// How says how kind is carried out, or "" for a kind not listed.
func (m Methods) How(kind string) string {
	for _, k := range m {
		if k.Kind == kind {
			return k.How
		}
	}
	return ""
}

// Has reports whether kind is listed.
func (m Methods) Has(kind string) bool {
	return slices.ContainsFunc(m, func(k Method) bool { return k.Kind == kind })
}
