package faults

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestNodeFaultUndoesPartialFailure(t *testing.T) {
	nc := &recordingNodes{failOn: map[string]bool{"kill n2": true}}
	f, err := New(Spec{Kind: KindZoneOutage, Target: sel(t, "zone:a"), Duration: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Inject(context.Background(), nc, Target{Nodes: nodes("n1", "n2")})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Inject = %v, want n2's refusal", err)
	}
	slices.Sort(nc.calls)
	if got := strings.Join(nc.calls, ", "); got != "kill n1, kill n2, start n1" {
		t.Errorf("calls %s: want n1 started again and n2 left alone", got)
	}
}

func TestNodeFaultHealsEveryTarget(t *testing.T) {
	for _, tt := range []struct {
		kind, want, mechanism string
	}{
		{KindKill, "kill n1, kill n3 | start n1, start n3", "docker kill"},
		{KindStop, "stop n1, stop n3 | start n1, start n3", "docker stop"},
		{KindPause, "pause n1, pause n3 | resume n1, resume n3", "docker pause"},
		{KindRestart, "start n1, start n3, stop n1, stop n3 | start n1, start n3", "docker restart"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			nc := &recordingNodes{}
			spec := Spec{Kind: tt.kind, Target: sel(t, "nodes:n1,n3"), Duration: 1}
			if tt.kind == KindRestart {
				spec.Duration = 0
			}
			f, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			heal, err := f.Inject(context.Background(), nc, Target{Nodes: nodes("n1", "n3")})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(nc.calls)
			injected := strings.Join(nc.calls, ", ")
			nc.calls = nil
			if err := heal(context.Background()); err != nil {
				t.Fatal(err)
			}
			slices.Sort(nc.calls)
			if got := injected + " | " + strings.Join(nc.calls, ", "); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if m := f.(Mechanism).Mechanism(); m != tt.mechanism {
				t.Errorf("mechanism %q, want the cluster's %q", m, tt.mechanism)
			}
		})
	}
	t.Run("a cluster without node control", func(t *testing.T) {
		f, _ := New(Spec{Kind: KindKill, Target: sel(t, "leader"), Duration: 1})
		_, err := f.Inject(context.Background(), plainCluster{name: "c1"}, Target{Nodes: nodes("n1")})
		if err == nil || !strings.Contains(err.Error(), "NodeController") {
			t.Errorf("Inject = %v", err)
		}
	})
}
