package faults

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// workersCluster is a cluster of three workers in three zones.
type workersCluster struct{ plainCluster }

func (workersCluster) Nodes(context.Context) ([]platform.Node, error) {
	return []platform.Node{
		{Name: "cp", Role: platform.RoleControlPlane},
		{Name: "w1", Zone: "a", Role: platform.RoleWorker},
		{Name: "w2", Zone: "b", Role: platform.RoleWorker},
		{Name: "w3", Zone: "c", Role: platform.RoleWorker},
	}, nil
}

// podFault records the targets it is prepared and injected with.
type podFault struct {
	refuse error

	mu               sync.Mutex
	prepared, target []Target
}

func (f *podFault) Name() string { return KindPodFailure }
func (f *podFault) Prepare(_ context.Context, _ platform.Cluster, t Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared = append(f.prepared, t)
	return f.refuse
}
func (f *podFault) Inject(_ context.Context, _ platform.Cluster, t Target) (Heal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.target = append(f.target, t)
	return func(context.Context) error { return nil }, nil
}

func TestNemesisPreparesAndPassesPodsAndLabels(t *testing.T) {
	pods := &Pods{Namespace: "db", Labels: map[string]string{"app": "db"}}
	labels := RunLabels("run-1", 42)
	ok, refused := &podFault{}, &podFault{refuse: errors.New("Chaos Mesh is not installed")}
	zone, _ := ParseSelector("zone:b")
	var hist, log bytes.Buffer
	rec := workload.NewRecorder(&hist, workload.NewClock(), workload.Meta{})
	n := &Nemesis{
		Cluster: workersCluster{}, Recorder: rec, Log: NewLog(&log, rec.Clock().Now), Pods: pods, Labels: labels,
		Schedule: []Scheduled{
			{Spec: Spec{ID: 0, Kind: KindPodFailure, Target: zone, Duration: 10 * time.Millisecond}, Fault: ok},
			{Spec: Spec{ID: 1, Kind: KindPodFailure, Target: zone, Duration: 10 * time.Millisecond}, Fault: refused},
		},
	}
	err := n.Prepare(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fault 1 (pod-failure zone:b): Chaos Mesh is not installed") || strings.Contains(err.Error(), "fault 0") {
		t.Errorf("Prepare = %v, want fault 1's refusal only", err)
	}
	if len(ok.prepared) != 1 || ok.prepared[0].Pods != pods || ok.prepared[0].Selector.String() != "zone:b" || ok.prepared[0].Labels[LabelRun] != "run-1" {
		t.Errorf("prepared with %+v", ok.prepared)
	}
	n.Schedule = n.Schedule[:1]
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(ok.target) != 1 {
		t.Fatalf("injected %d times", len(ok.target))
	}
	got := ok.target[0]
	if got.Pods != pods || got.Labels[LabelPID] != "42" || got.Selector.String() != "zone:b" || len(got.Nodes) != 1 || got.Nodes[0].Name != "w2" {
		t.Errorf("injected with %+v", got)
	}
}
