package faults

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// capPlatform is a platform that states its capabilities and may refuse
// kinds.
type capPlatform struct {
	name   string
	caps   platform.Capabilities
	refuse map[string]string
}

func (p capPlatform) Name() string { return p.name }
func (p capPlatform) Create(context.Context, platform.Topology) (platform.Cluster, error) {
	return nil, errors.New("not here")
}
func (p capPlatform) Capabilities() platform.Capabilities { return p.caps }
func (p capPlatform) CanInject(kind string) error {
	if why, ok := p.refuse[kind]; ok {
		return errors.New(why)
	}
	return nil
}

// podInjector stands in for an injector on Kubernetes.
type podInjector struct{ name string }

func (i podInjector) Name() string { return i.name }
func (i podInjector) Kinds() []string {
	return []string{KindKill, KindPartition, KindPodFailure, KindClockSkew}
}
func (i podInjector) CanInject(p platform.Platform, kind string) error {
	if !platform.CapabilitiesOf(p).Kubernetes {
		return errors.New("needs Kubernetes")
	}
	return nil
}
func (i podInjector) Fault(spec Spec) (Fault, error) { return nil, nil }

func TestChoose(t *testing.T) {
	kind := capPlatform{name: "kind", caps: platform.Capabilities{Kubernetes: true, NodeControl: true, Network: true}}
	existing := capPlatform{name: "existing", caps: platform.Capabilities{Kubernetes: true}}
	local := capPlatform{name: "local", caps: platform.Capabilities{Processes: true, NodeControl: true, Network: true},
		refuse: map[string]string{KindLatency: "no uid per node"}}
	is := Injectors{Native, podInjector{name: ViaChaosMesh}}
	tests := []struct {
		name      string
		p         platform.Platform
		kind, via string
		want      string // injector, or the error's substrings separated by |
		wantErr   bool
	}{
		{name: "kind kills its node containers", p: kind, kind: KindKill, want: ViaPlatform},
		{name: "existing kills pods", p: existing, kind: KindKill, want: ViaChaosMesh},
		{name: "kind, chaos mesh asked for", p: kind, kind: KindKill, via: ViaChaosMesh, want: ViaChaosMesh},
		{name: "pod failure is not native", p: kind, kind: KindPodFailure, want: ViaChaosMesh},
		{name: "local has no pods", p: local, kind: KindClockSkew, wantErr: true, want: "needs Kubernetes"},
		{name: "the platform's refusal", p: local, kind: KindLatency, wantErr: true, want: "no uid per node"},
		{name: "native refused on existing", p: existing, kind: KindKill, via: ViaPlatform, wantErr: true, want: "platform on platform existing: kill needs to stop and start the machines"},
		{name: "unknown injector", p: kind, kind: KindKill, via: "magic", wantErr: true, want: `unknown injector "magic" (known: platform, chaos-mesh)`},
		{name: "an injector that lacks the kind", p: kind, kind: KindLatency, via: ViaChaosMesh, wantErr: true, want: "chaos-mesh does not inject latency"},
		{name: "pod kinds are not native", p: kind, kind: KindPodFailure, via: ViaPlatform, wantErr: true, want: "does not inject pod-failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := is.Choose(tt.p, tt.kind, tt.via)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Choose = %s, want an error", in.Name())
				}
				for _, w := range strings.Split(tt.want, "|") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Name() != tt.want {
				t.Errorf("Choose = %s, want %s", in.Name(), tt.want)
			}
		})
	}
}

func TestInjectorsNewReportsEveryProblem(t *testing.T) {
	existing := capPlatform{name: "existing", caps: platform.Capabilities{Kubernetes: true}}
	is := Injectors{Native}
	_, err := is.New(existing, Spec{ID: 3, Kind: KindClockSkew, Duration: time.Second, Target: sel(t, "leader")})
	for _, w := range []string{"faults[3].offset: required", "faults[3].kind: platform existing cannot inject clock-skew"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New = %v, want it to contain %q", err, w)
		}
	}
}

func TestPodKindParameters(t *testing.T) {
	tests := []struct {
		spec Spec
		want []string
	}{
		{Spec{Kind: KindStress, Target: sel(t, "leader"), Duration: time.Second}, []string{"cpu-workers: a stress fault needs"}},
		{Spec{Kind: KindStress, Target: sel(t, "leader"), Duration: time.Second, CPUWorkers: 1, CPULoad: 150}, []string{"cpu-load: a percent"}},
		{Spec{Kind: KindStress, Target: sel(t, "leader"), Duration: time.Second, CPUWorkers: 2, CPULoad: 50}, nil},
		{Spec{Kind: KindDiskLatency, Target: sel(t, "leader"), Duration: time.Second, Path: "data"}, []string{"path: required", "delay: required"}},
		{Spec{Kind: KindDiskError, Target: sel(t, "leader"), Duration: time.Second, Path: "/var/lib/etcd", Percent: 101}, []string{"percent: 0 (every operation) to 100"}},
		{Spec{Kind: KindPodDelete, Target: sel(t, "leader"), GracePeriod: -time.Second}, []string{"grace-period: must not be negative"}},
		{Spec{Kind: KindKill, Target: sel(t, "leader"), Duration: time.Second, Offset: time.Minute, Force: true}, []string{"offset: only clock-skew takes offset", "force: only node-drain takes force"}},
		{Spec{Kind: KindClockSkew, Target: sel(t, "zone:a"), Duration: time.Second, Offset: -time.Hour}, nil},
	}
	for _, tt := range tests {
		info, err := LookupKind(tt.spec.Kind)
		if err != nil {
			t.Fatal(err)
		}
		errs := validate(tt.spec, info, func(n string) string { return "faults[0]." + n })
		got := errors.Join(errs...)
		if len(tt.want) == 0 && got != nil {
			t.Errorf("%s: %v, want no error", tt.spec.Kind, got)
		}
		for _, w := range tt.want {
			if got == nil || !strings.Contains(got.Error(), w) {
				t.Errorf("%s: %v, want it to contain %q", tt.spec.Kind, got, w)
			}
		}
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"etcd-kill-20261206-192233":   "etcd-kill-20261206-192233",
		"runs/a b":                    "runs-a-b",
		"-x-":                         "x",
		strings.Repeat("a", 70) + "z": strings.Repeat("a", 62) + "z",
	} {
		if got := LabelValue(in); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
	}
	l := RunLabels("r1", 42)
	if l[LabelManagedBy] != ManagedBy || l[LabelRun] != "r1" || l[LabelPID] != "42" {
		t.Errorf("RunLabels = %v", l)
	}
}
