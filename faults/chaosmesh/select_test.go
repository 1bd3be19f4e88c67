package chaosmesh

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
	"github.com/faultline-dev/faultline/platform/kube/crdschema"
)

var (
	etcdPods = &faults.Pods{Namespace: "faultline-etcd", Labels: map[string]string{"app": "etcd"}, Containers: []string{"etcd"}}
	workers  = []platform.Node{
		{Name: "w1", Region: "r1", Zone: "a", Role: platform.RoleWorker},
		{Name: "w2", Region: "r1", Zone: "b", Role: platform.RoleWorker},
		{Name: "w3", Region: "r1", Zone: "c", Role: platform.RoleWorker},
	}
	runLabels = map[string]string{faults.LabelManagedBy: faults.ManagedBy, faults.LabelRun: "r-1", faults.LabelHost: "h", faults.LabelPID: "7"}
)

func mustSel(t *testing.T, s string) faults.Selector {
	t.Helper()
	sel, err := faults.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// TestSelectorTranslation: every target kind becomes the engine's pods
// on the nodes it names; zones and regions by node labels.
func TestSelectorTranslation(t *testing.T) {
	base := v1alpha1.GenericSelectorSpec{Namespaces: []string{"faultline-etcd"}, LabelSelectors: map[string]string{"app": "etcd"}}
	tests := []struct {
		sel   string
		nodes []platform.Node
		want  v1alpha1.PodSelectorSpec
	}{
		{"leader", workers[1:2], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w2"}}},
		{"follower", workers[2:3], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w3"}}},
		{"node:n1", workers[:1], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w1"}}},
		{"nodes:n3,n1", []platform.Node{workers[2], workers[0]}, v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w1", "w3"}}},
		{"minority", workers[:1], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w1"}}},
		{"majority", workers[1:], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w2", "w3"}}},
		{"random", workers[2:], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w3"}}},
		{"all", workers, v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, Nodes: []string{"w1", "w2", "w3"}}},
		{"zone:b", workers[1:2], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, NodeSelectors: map[string]string{kube.LabelZone: "b"}}},
		{"region:r1", workers, v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, NodeSelectors: map[string]string{kube.LabelRegion: "r1"}}},
		{"leader-zone", workers[2:3], v1alpha1.PodSelectorSpec{GenericSelectorSpec: base, NodeSelectors: map[string]string{kube.LabelZone: "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			got, err := podSelector(etcdPods, mustSel(t, tt.sel), tt.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("podSelector =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		if _, err := podSelector(nil, mustSel(t, "leader"), workers); err == nil || !strings.Contains(err.Error(), "engines.PodOwner") {
			t.Errorf("no pods: %v", err)
		}
		cp := []platform.Node{{Name: "cp", Role: platform.RoleControlPlane}}
		if _, err := podSelector(etcdPods, mustSel(t, "node:cp"), cp); err == nil || !strings.Contains(err.Error(), "control plane") {
			t.Errorf("control plane: %v", err)
		}
		if _, err := podSelector(etcdPods, faults.Selector{}, nil); err == nil {
			t.Error("no nodes: nil error")
		}
		if _, err := podSelector(etcdPods, mustSel(t, "rest"), cp); err == nil || !strings.Contains(err.Error(), "no worker nodes") {
			t.Errorf("peers rest of the control plane alone: %v", err)
		}
	})
	// Peers rest name the control plane too, where the engine has no pods.
	t.Run("rest", func(t *testing.T) {
		nodes := append([]platform.Node{{Name: "cp", Role: platform.RoleControlPlane}}, workers[1:]...)
		got, err := podSelector(etcdPods, mustSel(t, "rest"), nodes)
		if err != nil || !reflect.DeepEqual(got.Nodes, []string{"w2", "w3"}) {
			t.Errorf("podSelector(rest) = %+v, %v; want the workers w2, w3", got, err)
		}
	})
}

// buildCases is one schedule entry of every kind Chaos Mesh carries.
func buildCases(t *testing.T) []faults.Spec {
	leader, zone := mustSel(t, "leader"), mustSel(t, "zone:a")
	return []faults.Spec{
		{ID: 0, Kind: faults.KindKill, Target: leader, Duration: 10 * time.Second},
		{ID: 1, Kind: faults.KindStop, Target: leader, Duration: 10 * time.Second},
		{ID: 2, Kind: faults.KindRestart, Target: leader},
		{ID: 3, Kind: faults.KindPause, Target: leader, Duration: 10 * time.Second},
		{ID: 4, Kind: faults.KindZoneOutage, Target: zone, Duration: 30 * time.Second},
		{ID: 5, Kind: faults.KindRegionOutage, Target: mustSel(t, "region:r1"), Duration: 30 * time.Second},
		{ID: 6, Kind: faults.KindPartition, Target: zone, Peers: mustSel(t, "zone:b"), Duration: 10 * time.Second},
		{ID: 7, Kind: faults.KindPartition, Target: leader, OneWay: true, Duration: 10 * time.Second},
		{ID: 8, Kind: faults.KindLatency, Target: leader, Delay: 50 * time.Millisecond, Jitter: 1500 * time.Microsecond, Duration: 10 * time.Second},
		{ID: 9, Kind: faults.KindLoss, Target: leader, Loss: 0.25, Duration: 10 * time.Second},
		{ID: 10, Kind: faults.KindBandwidth, Target: leader, Rate: 10_000_000, Duration: 10 * time.Second},
		{ID: 11, Kind: faults.KindPodFailure, Target: mustSel(t, "minority"), Duration: 10 * time.Second},
		{ID: 12, Kind: faults.KindContainerKill, Target: leader},
		{ID: 13, Kind: faults.KindClockSkew, Target: leader, Offset: -2 * time.Hour, Duration: 10 * time.Second},
		{ID: 14, Kind: faults.KindStress, Target: leader, CPUWorkers: 1, CPULoad: 50, Memory: 256 << 20, Duration: 10 * time.Second},
		{ID: 15, Kind: faults.KindDiskLatency, Target: leader, Path: "/var/lib/etcd", Delay: 100 * time.Millisecond, Percent: 50, Duration: 10 * time.Second},
		{ID: 16, Kind: faults.KindDiskError, Target: leader, Path: "/var/lib/etcd", Duration: 10 * time.Second},
	}
}

func target(spec faults.Spec) faults.Target {
	t := faults.Target{Nodes: workers[:1], Peers: workers[1:], Selector: spec.Target, PeerSelector: spec.Peers, Pods: etcdPods, Labels: runLabels}
	if spec.Target.Kind == faults.SelZone || spec.Target.Kind == faults.SelRegion {
		t.Nodes = workers[:1]
	}
	return t
}

// TestBuildEveryKind builds each kind's experiment and checks it with
// Chaos Mesh's own webhook validation (the API package's Validate
// functions) and, where FAULTLINE_SHARED holds them, against the
// upstream CRD schemas as the API server would.
func TestBuildEveryKind(t *testing.T) {
	covered := map[string]bool{}
	for _, spec := range buildCases(t) {
		t.Run(spec.Kind+"/"+spec.Target.String(), func(t *testing.T) {
			covered[spec.Kind] = true
			objs, err := Build(spec, target(spec))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if o.GetNamespace() != "faultline-etcd" || o.GetLabels()[faults.LabelRun] != "r-1" || o.GetLabels()[LabelFault] == "" {
					t.Errorf("%s: namespace %q labels %v", describe(o), o.GetNamespace(), o.GetLabels())
				}
				if len(o.GetName()) > 63 || !strings.HasPrefix(o.GetName(), "fl-") {
					t.Errorf("name %q", o.GetName())
				}
				v, ok := o.(interface {
					Default(context.Context, runtime.Object) error
					Validate() ([]string, error)
				})
				if !ok {
					t.Fatalf("%T has no webhook validation", o)
				}
				if err := v.Default(context.Background(), o); err != nil {
					t.Fatal(err)
				}
				if _, err := v.Validate(); err != nil {
					t.Errorf("Chaos Mesh's webhook refuses %s: %v\n%s", describe(o), err, record(o))
				}
			}
		})
	}
	for _, k := range (&Injector{}).Kinds() {
		if !covered[k] {
			t.Errorf("kind %s has no build case", k)
		}
	}
}

// TestBuildMatchesUpstreamSchemas validates every experiment against the
// upstream CRD schemas (FAULTLINE_SHARED/schemas) as the API server
// would: structural schema, unknown fields, CEL rules.
func TestBuildMatchesUpstreamSchemas(t *testing.T) {
	schemas, err := crdschema.Load(filepath.Join(sharedDir(t), "schemas", "chaos-mesh.crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range buildCases(t) {
		objs, err := Build(spec, target(spec))
		if err != nil {
			t.Fatal(err)
		}
		ros := make([]runtime.Object, len(objs))
		for i, o := range objs {
			ros[i] = o
		}
		us, err := kube.ToUnstructured(ros...)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range us {
			if !schemas.Covers(u.GroupVersionKind()) {
				t.Errorf("no upstream schema for %s", u.GroupVersionKind())
				continue
			}
			if err := schemas.Validate(context.Background(), u); err != nil {
				t.Errorf("%s %s: upstream CRD schema refuses it: %v\n%s", spec.Kind, spec.Target, err, record(objs[i]))
			}
		}
	}
}

// TestBuildMapsParameters pins the translation of faultline's parameters
// into Chaos Mesh's.
func TestBuildMapsParameters(t *testing.T) {
	get := func(spec faults.Spec) any {
		t.Helper()
		objs, err := Build(spec, target(spec))
		if err != nil {
			t.Fatal(err)
		}
		return objs[0]
	}
	cases := buildCases(t)
	if pc := get(cases[0]).(*v1alpha1.PodChaos); pc.Spec.Action != v1alpha1.PodKillAction || pc.Spec.GracePeriod != 0 || pc.Spec.Mode != v1alpha1.AllMode {
		t.Errorf("kill: %+v", pc.Spec)
	}
	if pc := get(cases[1]).(*v1alpha1.PodChaos); pc.Spec.GracePeriod != stopGracePeriod {
		t.Errorf("stop grace period %d", pc.Spec.GracePeriod)
	}
	if pc := get(cases[4]).(*v1alpha1.PodChaos); pc.Spec.Action != v1alpha1.PodFailureAction || *pc.Spec.Duration != "2m30s" || pc.Spec.Selector.NodeSelectors[kube.LabelZone] != "a" {
		t.Errorf("zone outage: %+v", pc.Spec)
	}
	nc := get(cases[6]).(*v1alpha1.NetworkChaos)
	if nc.Spec.Action != v1alpha1.PartitionAction || nc.Spec.Direction != v1alpha1.Both || nc.Spec.Target.Selector.NodeSelectors[kube.LabelZone] != "b" {
		t.Errorf("zone partition: %+v", nc.Spec)
	}
	nc = get(cases[7]).(*v1alpha1.NetworkChaos)
	if nc.Spec.Direction != v1alpha1.To || !reflect.DeepEqual(nc.Spec.Target.Selector.Nodes, []string{"w2", "w3"}) {
		t.Errorf("one-way partition from the leader to the rest: %+v", nc.Spec)
	}
	nc = get(cases[8]).(*v1alpha1.NetworkChaos)
	if nc.Spec.Delay.Latency != "50ms" || nc.Spec.Delay.Jitter != "1500us" {
		t.Errorf("delay %+v", nc.Spec.Delay)
	}
	if nc = get(cases[9]).(*v1alpha1.NetworkChaos); nc.Spec.Loss.Loss != "25" {
		t.Errorf("loss %+v", nc.Spec.Loss)
	}
	if nc = get(cases[10]).(*v1alpha1.NetworkChaos); nc.Spec.Bandwidth.Rate != "10mbit" {
		t.Errorf("bandwidth %+v", nc.Spec.Bandwidth)
	}
	if tc := get(cases[13]).(*v1alpha1.TimeChaos); tc.Spec.TimeOffset != "-2h0m0s" || !reflect.DeepEqual(tc.Spec.ContainerNames, []string{"etcd"}) {
		t.Errorf("clock skew %+v", tc.Spec)
	}
	sc := get(cases[14]).(*v1alpha1.StressChaos)
	if sc.Spec.Stressors.CPUStressor.Workers != 1 || *sc.Spec.Stressors.CPUStressor.Load != 50 || sc.Spec.Stressors.MemoryStressor.Size != "256MiB" {
		t.Errorf("stress %+v", sc.Spec.Stressors)
	}
	if io := get(cases[16]).(*v1alpha1.IOChaos); io.Spec.Errno != 5 || io.Spec.Percent != 100 || io.Spec.VolumePath != "/var/lib/etcd" {
		t.Errorf("disk error %+v", io.Spec)
	}
	// Without the engine's containers, kinds on containers are refused.
	spec := cases[13]
	tgt := target(spec)
	tgt.Pods = &faults.Pods{Namespace: "x"}
	if _, err := Build(spec, tgt); err == nil || !strings.Contains(err.Error(), "Containers") {
		t.Errorf("clock skew without containers: %v", err)
	}
}

func TestFaultRefusesWhatChaosMeshCannotMean(t *testing.T) {
	in := &Injector{}
	for _, tt := range []struct {
		spec faults.Spec
		want string
	}{
		{faults.Spec{ID: 2, Kind: faults.KindPartition, Bridge: true}, "faults[2].bridge: a bridge partition has no Chaos Mesh equivalent"},
		{faults.Spec{Kind: faults.KindLatency, Delay: time.Millisecond, Jitter: time.Second}, "faults[0].jitter"},
		{faults.Spec{Kind: faults.KindBandwidth, Rate: 1}, "faults[0].rate"},
	} {
		if _, err := in.Fault(tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.spec, err, tt.want)
		}
	}
}

// sharedDir is FAULTLINE_SHARED (default ../shared from the repository
// root); the test skips through testenv when it lacks the schemas.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FAULTLINE_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas", "chaos-mesh.crd.yaml")); err != nil {
		testenv.Missing(t, "shared", "the upstream Chaos Mesh CRDs (%s/schemas): %v", dir, err)
	}
	return dir
}
