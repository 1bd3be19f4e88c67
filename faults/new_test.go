package faults

import (
	"strings"
	"testing"
	"time"
)

func sel(t *testing.T, s string) Selector {
	t.Helper()
	p, err := ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		spec      Spec
		want      []string // substrings of the errors, in order; none is valid
		mechanism string
	}{
		{name: "kill", spec: Spec{ID: 0, Kind: KindKill, Target: sel(t, "leader"), At: time.Second, Duration: 5 * time.Second}, mechanism: "SIGKILL"},
		{name: "pause", spec: Spec{Kind: KindPause, Target: sel(t, "follower"), Duration: time.Second}, mechanism: "SIGSTOP"},
		{name: "stop", spec: Spec{Kind: KindStop, Target: sel(t, "random"), Duration: time.Second}, mechanism: "SIGTERM"},
		{name: "restart is instant", spec: Spec{Kind: KindRestart, Target: sel(t, "node:n1")}, mechanism: "SIGTERM+start"},
		{name: "zone outage", spec: Spec{Kind: KindZoneOutage, Target: sel(t, "zone:a"), Duration: time.Second}, mechanism: "SIGKILL"},
		{name: "leader zone outage", spec: Spec{Kind: KindZoneOutage, Target: sel(t, "leader-zone"), Duration: time.Second}},
		{name: "region outage", spec: Spec{Kind: KindRegionOutage, Target: sel(t, "region:r2"), Duration: time.Second}},
		{name: "partition", spec: Spec{Kind: KindPartition, Target: sel(t, "zone:a"), Peers: sel(t, "zone:b"), Duration: time.Second}, mechanism: "iptables"},
		{name: "one-way partition", spec: Spec{Kind: KindPartition, Target: sel(t, "leader"), OneWay: true, Duration: time.Second}},
		{name: "bridge", spec: Spec{Kind: KindPartition, Target: sel(t, "all"), Bridge: true, Duration: time.Second}},
		{name: "unknown kind", spec: Spec{ID: 4, Kind: "meteor"}, want: []string{`faults[4].kind: unknown fault kind "meteor"`}},
		{name: "every timing and target problem at once", spec: Spec{ID: 2, Kind: KindKill, At: -time.Second}, want: []string{
			"faults[2].at: -1s must not be negative",
			"faults[2].duration: must be positive",
			"faults[2].target: required",
		}},
		{name: "restart with a duration", spec: Spec{ID: 1, Kind: KindRestart, Target: sel(t, "leader"), Duration: time.Second},
			want: []string{"faults[1].duration: restart is instant"}},
		{name: "zone outage of a node", spec: Spec{ID: 3, Kind: KindZoneOutage, Target: sel(t, "node:n1"), Duration: time.Second},
			want: []string{"faults[3].target: zone-outage takes a zone:NAME or leader-zone selector, not node:n1"}},
		{name: "peers on a kill", spec: Spec{Kind: KindKill, Target: sel(t, "leader"), Peers: sel(t, "all"), Duration: time.Second},
			want: []string{"faults[0].peers: kill acts on its target alone; only bandwidth, latency, loss, partition take peers"}},
		{name: "one-way kill, shaping parameters on a partition", spec: Spec{Kind: KindPartition, Target: sel(t, "leader"), Duration: time.Second, Delay: time.Millisecond, Loss: 0.5, OneWay: true, Bridge: true, Peers: sel(t, "all")},
			want: []string{"faults[0].bridge: a bridge cuts both ways", "faults[0].peers: a bridge splits", "faults[0].delay: only latency and disk-latency take delay", "faults[0].loss: only loss takes loss"}},
		{name: "bridge on a pause", spec: Spec{Kind: KindPause, Target: sel(t, "leader"), Duration: time.Second, Bridge: true, OneWay: true},
			want: []string{"faults[0].one-way: only a partition", "faults[0].bridge: only a partition", "faults[0].bridge: a bridge cuts both ways"}},
		{name: "latency", spec: Spec{ID: 5, Kind: KindLatency, Target: sel(t, "zone:a"), Duration: time.Second, Delay: 50 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.spec)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				if f.Name() != tt.spec.Kind {
					t.Errorf("Name() = %q, want %q", f.Name(), tt.spec.Kind)
				}
				if m, ok := f.(Mechanism); !ok || tt.mechanism != "" && m.Mechanism() != tt.mechanism {
					t.Errorf("Mechanism = %v, want %q", f, tt.mechanism)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted it")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}
