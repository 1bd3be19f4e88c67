package faults

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// recordingProcesses is a ProcessController that records calls.
type recordingProcesses struct{ recordingNodes }

func (r *recordingProcesses) Processes(string) []string     { return []string{"mysqld", "vttablet"} }
func (r *recordingProcesses) ProcessPID(string, string) int { return 1 }
func (r *recordingProcesses) KillProcess(_ context.Context, n, p string) error {
	return r.act("kill "+p, n)
}
func (r *recordingProcesses) StartProcess(_ context.Context, n, p string) error {
	return r.act("start "+p, n)
}

func TestProcessFault(t *testing.T) {
	pc := &recordingProcesses{recordingNodes{failOn: map[string]bool{}}}
	f, err := New(Spec{Kind: KindKill, Target: sel(t, "leader"), Duration: 1, Process: "vttablet"})
	if err != nil {
		t.Fatal(err)
	}
	heal, err := f.Inject(context.Background(), pc, Target{Nodes: nodes("n2")})
	if err != nil {
		t.Fatal(err)
	}
	if err := heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pc.calls, ", "); got != "kill vttablet n2, start vttablet n2" {
		t.Errorf("calls: %s", got)
	}
	if m := f.(Mechanism).Mechanism(); m != "SIGKILL of vttablet" {
		t.Errorf("mechanism %q", m)
	}

	pc = &recordingProcesses{recordingNodes{failOn: map[string]bool{"kill vttablet n3": true}}}
	_, err = f.Inject(context.Background(), pc, Target{Nodes: nodes("n1", "n3")})
	slices.Sort(pc.calls)
	if err == nil || strings.Join(pc.calls, ", ") != "kill vttablet n1, kill vttablet n3, start vttablet n1" {
		t.Errorf("a partial failure: %v, calls %v", err, pc.calls)
	}

	if _, err := f.Inject(context.Background(), &recordingNodes{}, Target{Nodes: nodes("n1")}); err == nil || !strings.Contains(err.Error(), "ProcessController") {
		t.Errorf("a cluster without processes: %v", err)
	}
	if _, err := New(Spec{ID: 1, Kind: KindPause, Target: sel(t, "leader"), Duration: 1, Process: "vttablet"}); err == nil || !strings.Contains(err.Error(), "faults[1].process: only kill and restart") {
		t.Errorf("pause of a process: %v", err)
	}
}
