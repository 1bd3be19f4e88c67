package faults

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// New checks a schedule entry's parameters for its kind and returns the
// fault that carries it out. It reports every problem at once, each
// naming its field as faults[ID].FIELD.
func New(spec Spec) (Fault, error) {
	field := func(name string) string { return fmt.Sprintf("faults[%d].%s", spec.ID, name) }
	info, err := LookupKind(spec.Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field("kind"), err)
	}
	errs := validate(spec, info, field)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
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
	return nil, fmt.Errorf("%s: fault kind %q has no implementation", field("kind"), excerpt.Value(spec.Kind))
}

// validate checks what every kind has in common: timing, target, peers,
// and that only the kind's own parameters are set. Parameter values of
// the shaping kinds are the shaping package's to check.
func validate(spec Spec, info KindInfo, field func(string) string) []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field(name), fmt.Sprintf(format, args...)))
	}
	if spec.At < 0 {
		bad("at", "%s must not be negative", spec.At)
	}
	switch {
	case info.Instant && spec.Duration != 0:
		bad("duration", "%s is instant and takes no duration", spec.Kind)
	case !info.Instant && spec.Duration <= 0:
		bad("duration", "must be positive (how long the %s lasts before it is healed)", spec.Kind)
	}
	if spec.Target.IsZero() {
		bad("target", "required (one of leader, primaries, follower, leader-zone, node:NAME, nodes:A,B, zone:NAME, region:NAME, minority, majority, random, all)")
	} else if len(info.Selectors) > 0 && !slices.Contains(info.Selectors, spec.Target.Kind) {
		bad("target", "%s takes a %s selector, not %s", spec.Kind, selectorList(info.Selectors), spec.Target)
	}
	if !spec.Peers.IsZero() && !info.Peered {
		bad("peers", "%s acts on its target alone; only %s take peers", spec.Kind, peeredKinds())
	}
	if spec.Kind != KindPartition {
		if spec.OneWay {
			bad("one-way", "only a partition can be one-way")
		}
		if spec.Bridge {
			bad("bridge", "only a partition can be a bridge")
		}
	}
	if spec.Process != "" && spec.Kind != KindKill && spec.Kind != KindRestart {
		bad("process", "only kill and restart act on one process of a node")
	}
	if spec.OneWay && spec.Bridge {
		bad("bridge", "a bridge cuts both ways; it cannot also be one-way")
	}
	if spec.Bridge && !spec.Peers.IsZero() {
		bad("peers", "a bridge splits its target's nodes in two; it takes no peers")
	}
	for _, p := range []struct {
		name string
		set  bool
		kind string
	}{
		{"delay", spec.Delay != 0, KindLatency},
		{"jitter", spec.Jitter != 0, KindLatency},
		{"loss", spec.Loss != 0, KindLoss},
		{"rate", spec.Rate != 0, KindBandwidth},
	} {
		if p.set && spec.Kind != p.kind {
			bad(p.name, "only %s takes %s", p.kind, p.name)
		}
	}
	return errs
}

func selectorList(sels []string) string {
	out := make([]string, len(sels))
	for i, s := range sels {
		switch s {
		case SelZone, SelRegion, SelNode:
			out[i] = s + ":NAME"
		default:
			out[i] = s
		}
	}
	return strings.Join(out, " or ")
}

func peeredKinds() string {
	var ks []string
	for _, k := range Kinds() {
		if k.Peered {
			ks = append(ks, k.Name)
		}
	}
	return strings.Join(ks, ", ")
}
