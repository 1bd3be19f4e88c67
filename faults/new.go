package faults

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// New checks a schedule entry's parameters for its kind and returns the
// fault the platform's own mechanisms carry it out with (Native); use
// Injectors.New to choose among injectors. It reports every problem at once, each
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
	return Native.Fault(spec)
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
		name  string
		set   bool
		kinds []string
	}{
		{"delay", spec.Delay != 0, []string{KindLatency, KindDiskLatency}},
		{"jitter", spec.Jitter != 0, []string{KindLatency}},
		{"loss", spec.Loss != 0, []string{KindLoss}},
		{"rate", spec.Rate != 0, []string{KindBandwidth}},
		{"offset", spec.Offset != 0, []string{KindClockSkew}},
		{"cpu-workers", spec.CPUWorkers != 0, []string{KindStress}},
		{"cpu-load", spec.CPULoad != 0, []string{KindStress}},
		{"memory", spec.Memory != 0, []string{KindStress}},
		{"path", spec.Path != "", []string{KindDiskLatency, KindDiskError}},
		{"percent", spec.Percent != 0, []string{KindDiskLatency, KindDiskError}},
		{"errno", spec.Errno != 0, []string{KindDiskError}},
		{"grace-period", spec.GracePeriod != 0, []string{KindPodDelete}},
		{"force", spec.Force, []string{KindNodeDrain}},
	} {
		if p.set && !slices.Contains(p.kinds, spec.Kind) {
			verb := "takes"
			if len(p.kinds) > 1 {
				verb = "take"
			}
			bad(p.name, "only %s %s %s", strings.Join(p.kinds, " and "), verb, p.name)
		}
	}
	errs = append(errs, validatePodParams(spec, field)...)
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

// validatePodParams checks the parameters of the kinds that act on pods.
func validatePodParams(spec Spec, field func(string) string) []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field(name), fmt.Sprintf(format, args...)))
	}
	switch spec.Kind {
	case KindClockSkew:
		if spec.Offset == 0 {
			bad("offset", "required: how far to shift the clocks (-10m is ten minutes in the past)")
		}
	case KindStress:
		if spec.CPUWorkers == 0 && spec.Memory == 0 {
			bad("cpu-workers", "a stress fault needs cpu-workers, memory or both")
		}
		if spec.CPUWorkers < 0 {
			bad("cpu-workers", "must not be negative, got %d", spec.CPUWorkers)
		}
		if spec.CPULoad < 0 || spec.CPULoad > 100 {
			bad("cpu-load", "a percent of one CPU per worker, 0 (100) to 100, got %d", spec.CPULoad)
		}
		if spec.CPULoad != 0 && spec.CPUWorkers == 0 {
			bad("cpu-load", "needs cpu-workers")
		}
		if spec.Memory < 0 {
			bad("memory", "must not be negative")
		}
	case KindDiskLatency, KindDiskError:
		if spec.Path == "" || !strings.HasPrefix(spec.Path, "/") {
			bad("path", "required: the absolute mount path of the engine's data volume, or a path under it")
		}
		if spec.Percent < 0 || spec.Percent > 100 {
			bad("percent", "0 (every operation) to 100, got %d", spec.Percent)
		}
		if spec.Kind == KindDiskLatency && spec.Delay <= 0 {
			bad("delay", "required: how long each file operation is delayed")
		}
		if spec.Errno < 0 || spec.Errno > 4095 {
			bad("errno", "an error number (5 is EIO), got %d", spec.Errno)
		}
	case KindPodDelete:
		if spec.GracePeriod < 0 {
			bad("grace-period", "must not be negative")
		}
	}
	return errs
}
