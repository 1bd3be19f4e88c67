package chaosmesh

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

// kubeCluster is a Kubernetes cluster for the fake client.
type kubeCluster struct {
	owned bool
	allow error
}

func (kubeCluster) Name() string { return "test" }
func (kubeCluster) Nodes(context.Context) ([]platform.Node, error) {
	return append([]platform.Node{{Name: "cp", Role: platform.RoleControlPlane}}, workers...), nil
}
func (kubeCluster) Delete(context.Context) error { return nil }
func (kubeCluster) Kubeconfig() string           { return "" }
func (kubeCluster) Context() string              { return "test" }
func (c kubeCluster) Owned() bool                { return c.owned }
func (c kubeCluster) PermitFaults() error        { return c.allow }

// chaosController stands in for Chaos Mesh's controller: whatever it
// reads of an experiment gets the status react says, and it puts the
// records finalizer on what is created.
type chaosController struct {
	react func(st *v1alpha1.ChaosStatus)
}

func (cc chaosController) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, cl client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			if _, ok := o.(v1alpha1.StatefulObject); ok && !dryRun(opts) {
				o.SetFinalizers([]string{"chaos-mesh/records"})
			}
			return cl.Create(ctx, o, opts...)
		},
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, o client.Object, opts ...client.GetOption) error {
			if err := cl.Get(ctx, key, o, opts...); err != nil {
				return err
			}
			if s, ok := o.(v1alpha1.StatefulObject); ok && cc.react != nil {
				cc.react(s.GetStatus())
			}
			return nil
		},
		Delete: func(ctx context.Context, cl client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			if err := cl.Delete(ctx, o, opts...); err != nil {
				return err
			}
			// Recovered at once: the controller drops its finalizer,
			// unless the experiment never injected.
			if cc.react != nil {
				st := &v1alpha1.ChaosStatus{}
				cc.react(st)
				if failures(st) > 0 {
					return nil
				}
			}
			return cl.Patch(ctx, o, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)))
		},
	}
}

func dryRun(opts []client.CreateOption) bool {
	co := &client.CreateOptions{}
	co.ApplyOptions(opts)
	return len(co.DryRun) > 0
}

func injected(st *v1alpha1.ChaosStatus) {
	st.Conditions = []v1alpha1.ChaosCondition{{Type: v1alpha1.ConditionSelected, Status: corev1.ConditionTrue}, {Type: v1alpha1.ConditionAllInjected, Status: corev1.ConditionTrue}}
	st.Experiment.Records = []*v1alpha1.Record{{Id: "faultline-etcd/etcd-0", Phase: v1alpha1.Injected, InjectedCount: 1}}
}

func noNetem(st *v1alpha1.ChaosStatus) {
	st.Conditions = []v1alpha1.ChaosCondition{{Type: v1alpha1.ConditionAllInjected, Status: corev1.ConditionFalse}}
	ev := v1alpha1.RecordEvent{Type: v1alpha1.TypeFailed, Operation: v1alpha1.Apply, Message: "unable to set tcs for pod etcd-0: Error: Specified qdisc kind is unknown."}
	st.Experiment.Records = []*v1alpha1.Record{{Id: "faultline-etcd/etcd-0", Phase: "Not Injected/Wait", Events: []v1alpha1.RecordEvent{ev, ev, ev}}}
}

func newFake(t *testing.T, cc chaosController, objs ...client.Object) client.WithWatch {
	t.Helper()
	s, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithInterceptorFuncs(cc.funcs()).Build()
}

func injector(cl client.Client) *Injector {
	return &Injector{
		Connect:        func(platform.Cluster) (client.Client, error) { return cl, nil },
		InjectTimeout:  2 * time.Second,
		RecoverTimeout: time.Second,
	}
}

func countChaos(t *testing.T, cl client.Client) int {
	t.Helper()
	n := 0
	for _, l := range []client.ObjectList{&v1alpha1.PodChaosList{}, &v1alpha1.NetworkChaosList{}, &v1alpha1.TimeChaosList{}} {
		if err := cl.List(context.Background(), l); err != nil {
			t.Fatal(err)
		}
		n += meta.LenList(l)
	}
	return n
}

func TestInjectWaitsRecordsAndHeals(t *testing.T) {
	cl := newFake(t, chaosController{react: injected})
	in := injector(cl)
	spec := faults.Spec{ID: 3, Kind: faults.KindKill, Target: mustSel(t, "leader"), Duration: 10 * time.Second}
	f, err := in.Fault(spec)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	tgt := target(spec)
	tgt.Log = faults.NewLog(&logBuf, func() time.Duration { return 0 })
	heal, err := f.Inject(context.Background(), kubeCluster{}, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if n := countChaos(t, cl); n != 1 {
		t.Fatalf("%d experiments after inject, want 1", n)
	}
	log := logBuf.String()
	for _, want := range []string{"chaos-mesh: create PodChaos faultline-etcd/fl-3-pod-kill-", "action: pod-kill", "- w1", "AllInjected=True", "injected"} {
		if !strings.Contains(log, want) {
			t.Errorf("fault log lacks %q:\n%s", want, log)
		}
	}
	if m := f.(faults.Mechanism).Mechanism(); m != "chaos-mesh PodChaos pod-kill" {
		t.Errorf("mechanism %q", m)
	}
	for i := 0; i < 2; i++ { // heal is safe twice
		if err := heal(context.Background()); err != nil {
			t.Fatalf("heal %d: %v", i, err)
		}
	}
	if n := countChaos(t, cl); n != 0 {
		t.Errorf("%d experiments after heal, want 0", n)
	}
}

func TestInjectFailureSaysWhyAndLeavesNothing(t *testing.T) {
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "faultline-etcd"},
		InvolvedObject: corev1.ObjectReference{Name: "fl-8-delay-" + name(faults.Spec{}, "", runLabels)[len("fl-0--"):]},
		Type:           "Warning", Reason: "Failed", Message: "failed to apply chaos",
	}
	cl := newFake(t, chaosController{react: noNetem}, ev)
	spec := faults.Spec{ID: 8, Kind: faults.KindLatency, Target: mustSel(t, "leader"), Delay: 50 * time.Millisecond, Duration: 10 * time.Second}
	f, err := injector(cl).Fault(spec)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	tgt := target(spec)
	tgt.Log = faults.NewLog(&logBuf, func() time.Duration { return 0 })
	start := time.Now()
	_, err = f.Inject(context.Background(), kubeCluster{}, tgt)
	if err == nil {
		t.Fatal("inject succeeded, want the daemon's failure")
	}
	for _, want := range []string{"failed to inject", "Specified qdisc kind is unknown", "events: Warning Failed: failed to apply chaos"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if time.Since(start) > 1500*time.Millisecond+time.Second {
		t.Errorf("took %s: a failing target should fail before the timeout", time.Since(start))
	}
	if n := countChaos(t, cl); n != 0 {
		t.Errorf("%d experiments left after a failed injection, want 0", n)
	}
	if !strings.Contains(logBuf.String(), "removed them") {
		t.Errorf("the log does not say the finalizers were removed:\n%s", logBuf.String())
	}
}

func TestInjectTimesOutWithoutController(t *testing.T) {
	cl := newFake(t, chaosController{})
	spec := faults.Spec{ID: 1, Kind: faults.KindPodFailure, Target: mustSel(t, "zone:a"), Duration: 10 * time.Second}
	in := injector(cl)
	in.InjectTimeout = 300 * time.Millisecond
	f, _ := in.Fault(spec)
	_, err := f.Inject(context.Background(), kubeCluster{}, target(spec))
	if err == nil || !strings.Contains(err.Error(), "not injected within 300ms") || !strings.Contains(err.Error(), "is the Chaos Mesh controller running?") {
		t.Errorf("inject = %v", err)
	}
}

func TestInjectRefusedWithoutPermission(t *testing.T) {
	cl := newFake(t, chaosController{react: injected})
	spec := faults.Spec{Kind: faults.KindKill, Target: mustSel(t, "leader"), Duration: time.Second}
	f, _ := injector(cl).Fault(spec)
	_, err := f.Inject(context.Background(), kubeCluster{allow: errors.New("not allowed")}, target(spec))
	if err == nil || err.Error() != "not allowed" || countChaos(t, cl) != 0 {
		t.Errorf("inject = %v", err)
	}
}

func controllerDeployment(available int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "chaos-controller-manager", Namespace: "chaos-mesh", Labels: map[string]string{labelName: chartName, labelComponent: componentCtl, labelVersion: "2.8.0"}},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: available, Replicas: 1},
	}
}

func pod(ns, name, node string, labels map[string]string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func TestPrepare(t *testing.T) {
	daemon := map[string]string{labelName: chartName, labelComponent: componentDmn}
	engine := func(node string) client.Object {
		return pod("faultline-etcd", "etcd-"+node, node, map[string]string{"app": "etcd"}, true)
	}
	clockSkew := faults.Spec{ID: 2, Kind: faults.KindClockSkew, Target: mustSel(t, "leader"), Offset: time.Hour, Duration: 10 * time.Second}
	kill := faults.Spec{ID: 1, Kind: faults.KindKill, Target: mustSel(t, "leader"), Duration: 10 * time.Second}
	partition := faults.Spec{ID: 3, Kind: faults.KindPartition, Target: mustSel(t, "leader"), Duration: 10 * time.Second}
	hostEngine := func(node string) client.Object {
		p := engine(node).(*corev1.Pod)
		p.Spec.HostNetwork = true
		return p
	}
	allowing := func(d *appsv1.Deployment) *appsv1.Deployment {
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "chaos-mesh", Env: []corev1.EnvVar{{Name: allowHostNetworkEnv, Value: "true"}}}}
		return d
	}
	diskLatency := faults.Spec{ID: 4, Kind: faults.KindDiskLatency, Target: mustSel(t, "leader"), Path: "/var/lib/etcd", Delay: 10 * time.Millisecond, Duration: 10 * time.Second}
	diskError := faults.Spec{ID: 5, Kind: faults.KindDiskError, Target: mustSel(t, "leader"), Path: "/var/lib/etcd", Duration: 10 * time.Second}
	memory := faults.Spec{ID: 6, Kind: faults.KindStress, Target: mustSel(t, "leader"), Memory: 64 << 20, Duration: 10 * time.Second}
	cpu := faults.Spec{ID: 7, Kind: faults.KindStress, Target: mustSel(t, "leader"), CPUWorkers: 1, Duration: 10 * time.Second}
	// daemonSet is the chart's DaemonSet, annotated with what its image
	// lacks ("" is no annotation: the official images).
	daemonSet := func(lacks string) client.Object {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "chaos-daemon", Namespace: "chaos-mesh", Labels: daemon}}
		if lacks != "" {
			d.Annotations = map[string]string{AnnotationDaemonLacks: lacks}
		}
		return d
	}
	ready := func(extra ...client.Object) []client.Object {
		return append([]client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), engine("w1")}, extra...)
	}
	noCRD := func(ctx context.Context, cl client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
		if l.GetObjectKind().GroupVersionKind().Group == v1alpha1.SchemeGroupVersion.Group {
			return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "chaos-mesh.org", Kind: "PodChaos"}}
		}
		return cl.List(ctx, l, opts...)
	}
	tests := []struct {
		name    string
		spec    faults.Spec
		objs    []client.Object
		noCRD   bool
		cluster kubeCluster
		install bool
		want    string // "" is no error
	}{
		{name: "ready", spec: clockSkew, objs: []client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), engine("w1")}},
		{name: "no controller", spec: kill, objs: nil, want: "no controller manager runs"},
		{name: "controller not available", spec: kill, objs: []client.Object{controllerDeployment(0)}, want: "has no available replica"},
		{name: "daemon missing on a node", spec: clockSkew, objs: []client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), pod("chaos-mesh", "d2", "w2", daemon, false), engine("w1"), engine("w2")}, want: "no ready chaos-daemon on node(s) w2"},
		{name: "pod kill needs no daemon", spec: kill, objs: []client.Object{controllerDeployment(1), engine("w2")}},
		{name: "not installed, not ours", spec: kill, noCRD: true, want: "Chaos Mesh is not installed on cluster test (no CRD for PodChaos): install Chaos Mesh (helm install"},
		{name: "not installed, ours, no installer", spec: kill, noCRD: true, cluster: kubeCluster{owned: true}, want: "helm install"},
		{name: "not installed, ours, installed", spec: kill, noCRD: true, cluster: kubeCluster{owned: true}, install: true, want: "installed, yet cluster test serves no PodChaos"},
		{name: "partition of hostNetwork pods refused", spec: partition, objs: []client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), hostEngine("w1")}, want: "uses hostNetwork, and Chaos Mesh refuses network chaos on such pods unless its controller allows it"},
		{name: "partition of hostNetwork pods allowed", spec: partition, objs: []client.Object{allowing(controllerDeployment(1)), pod("chaos-mesh", "d1", "w1", daemon, true), hostEngine("w1")}},
		{name: "partition of pods in their own network", spec: partition, objs: []client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), engine("w1")}},
		{name: "clock skew of hostNetwork pods", spec: clockSkew, objs: []client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), hostEngine("w1")}},
		{name: "disk latency on faultline's daemon refused", spec: diskLatency, objs: ready(daemonSet("io,http,jvm")),
			want: "chaos-mesh: disk-latency needs toda, the FUSE file system IOChaos mounts over the volume, and the chaos-daemon image of DaemonSet chaos-mesh/chaos-daemon lacks it (annotation faultline.dev/chaos-daemon-lacks=io: faultline's own build of the daemon); install Chaos Mesh with its official images"},
		{name: "disk error on faultline's daemon refused", spec: diskError, objs: ready(daemonSet("io,http,jvm")), want: "disk-error needs toda"},
		{name: "disk latency on the official daemon", spec: diskLatency, objs: ready(daemonSet(""))},
		{name: "disk error, no DaemonSet", spec: diskError, objs: ready()},
		{name: "memory stress on a daemon without memStress refused", spec: memory, objs: ready(daemonSet("io, memory")), want: "stress needs memStress, which a StressChaos memory stressor runs"},
		{name: "memory stress on faultline's daemon", spec: memory, objs: ready(daemonSet("io,http,jvm"))},
		{name: "cpu stress on a daemon without memStress", spec: cpu, objs: ready(daemonSet("io,memory"))},
		{name: "forbidden", spec: kill, cluster: kubeCluster{allow: errors.New("faults are destructive")}, want: "faults are destructive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := Scheme()
			b := fake.NewClientBuilder().WithScheme(s).WithObjects(tt.objs...)
			if tt.noCRD {
				b = b.WithInterceptorFuncs(interceptor.Funcs{List: noCRD})
			}
			cl := b.Build()
			in := injector(cl)
			installs := 0
			if tt.install {
				in.Install = func(context.Context, platform.Cluster) error { installs++; return nil }
			}
			f, err := in.Fault(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			tgt := faults.Target{Selector: tt.spec.Target, Pods: etcdPods, Labels: runLabels}
			err = f.(faults.Preparer).Prepare(context.Background(), tt.cluster, tgt)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Prepare = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Prepare = %v, want %q", err, tt.want)
			}
			if tt.install && installs != 1 {
				t.Errorf("%d installs, want 1", installs)
			}
			if n := countChaos(t, cl); !tt.noCRD && n != 0 {
				t.Errorf("the dry run left %d experiments", n)
			}
		})
	}
	// Without the engine's pods there is nothing to select.
	f, _ := injector(newFake(t, chaosController{})).Fault(kill)
	if err := f.(faults.Preparer).Prepare(context.Background(), kubeCluster{}, faults.Target{}); err == nil || !strings.Contains(err.Error(), "engines.PodOwner") {
		t.Errorf("no pods: %v", err)
	}
}

func TestHealDeletesOrphansOnly(t *testing.T) {
	orphan := func(name string, lbl map[string]string) *v1alpha1.PodChaos {
		return &v1alpha1.PodChaos{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "db", Labels: lbl},
			Spec: v1alpha1.PodChaosSpec{Action: v1alpha1.PodKillAction}}
	}
	gone := map[string]string{faults.LabelManagedBy: faults.ManagedBy, faults.LabelRun: "old", faults.LabelHost: "", faults.LabelPID: "999999999"}
	elsewhere := map[string]string{faults.LabelManagedBy: faults.ManagedBy, faults.LabelRun: "theirs", faults.LabelHost: "another-machine", faults.LabelPID: "1"}
	users := map[string]string{"team": "sre"}
	cl := newFake(t, chaosController{react: injected}, orphan("a", gone), orphan("b", elsewhere), orphan("c", users))
	var out bytes.Buffer
	for i := 0; i < 2; i++ {
		if err := Heal(context.Background(), cl, &out); err != nil {
			t.Fatal(err)
		}
	}
	var left v1alpha1.PodChaosList
	if err := cl.List(context.Background(), &left); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range left.Items {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "b,c" {
		t.Errorf("left %v, want b (another machine's) and c (not faultline's):\n%s", names, out.String())
	}
	if !strings.Contains(out.String(), "deleted PodChaos db/a (run old)") || !strings.Contains(out.String(), "still running or on another machine: left alone") {
		t.Errorf("heal said:\n%s", out.String())
	}
}

// noNetemCluster is a kind-like cluster whose kernel has no sch_netem:
// the probe's tc qdisc add ... netem fails as tc says so.
type noNetemCluster struct{ kubeCluster }

func (noNetemCluster) NetExec(_ context.Context, _ string, argv ...string) ([]byte, error) {
	if slices.Contains(argv, "netem") {
		return nil, errors.New("Error: Specified qdisc kind is unknown.")
	}
	return nil, nil
}
func (noNetemCluster) NetNamespace(node string) string { return node }

// TestPrepareBandwidthWithoutNetem: on a kernel without sch_netem,
// bandwidth towards chosen peers (prio and sfq in Chaos Mesh) is refused
// up front, saying what runs instead; towards peers rest it is a lone tbf
// with no target selector, which runs.
func TestPrepareBandwidthWithoutNetem(t *testing.T) {
	daemon := map[string]string{labelName: chartName, labelComponent: componentDmn}
	objs := []client.Object{controllerDeployment(1), pod("chaos-mesh", "d1", "w1", daemon, true), pod("faultline-etcd", "etcd-w1", "w1", map[string]string{"app": "etcd"}, true)}
	for _, tc := range []struct {
		name string
		spec faults.Spec
		want string
	}{
		{"bandwidth to the other workers", faults.Spec{Kind: faults.KindBandwidth, Target: mustSel(t, "leader"), Rate: 1e6, Duration: time.Second},
			"bandwidth towards chosen peers is a tbf that Chaos Mesh filters with prio and sfq, which come with tc netem, and this kernel has no sch_netem (Chaos Mesh would retry for ever); set peers: rest"},
		{"bandwidth to a zone", faults.Spec{Kind: faults.KindBandwidth, Target: mustSel(t, "leader"), Peers: mustSel(t, "zone:b"), Rate: 1e6, Duration: time.Second}, "set peers: rest"},
		{"bandwidth to the rest", faults.Spec{Kind: faults.KindBandwidth, Target: mustSel(t, "leader"), Peers: mustSel(t, "rest"), Rate: 1e6, Duration: time.Second}, ""},
		{"latency", faults.Spec{Kind: faults.KindLatency, Target: mustSel(t, "leader"), Peers: mustSel(t, "rest"), Delay: time.Millisecond, Duration: time.Second}, "latency needs tc netem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := injector(newFake(t, chaosController{}, objs...)).Fault(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			tgt := faults.Target{Selector: tc.spec.Target, PeerSelector: tc.spec.Peers, Pods: etcdPods, Labels: runLabels}
			err = f.(faults.Preparer).Prepare(context.Background(), noNetemCluster{}, tgt)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Prepare = %v, want %q", err, tc.want)
			}
		})
	}
	// The unfiltered form has no target selector; the filtered one
	// targets the peers.
	for peers, wantTarget := range map[string]bool{"rest": false, "all": true, "": true} {
		spec := faults.Spec{Kind: faults.KindBandwidth, Target: mustSel(t, "leader"), Rate: 1e6}
		if peers != "" {
			spec.Peers = mustSel(t, peers)
		}
		// Peers rest resolves to the control plane too.
		cp := platform.Node{Name: "cp", Role: platform.RoleControlPlane}
		peerNodes := workers[1:]
		if peers == "rest" {
			peerNodes = append([]platform.Node{cp}, peerNodes...)
		}
		objs, err := Build(spec, faults.Target{Nodes: workers[:1], Peers: peerNodes, PeerSelector: spec.Peers, Pods: etcdPods, Labels: runLabels})
		if err != nil {
			t.Fatal(err)
		}
		nc := objs[0].(*v1alpha1.NetworkChaos)
		if (nc.Spec.Target != nil) != wantTarget || nc.Spec.Direction != v1alpha1.To {
			t.Errorf("peers %q: target %+v, direction %s; want a target: %v, direction to", peers, nc.Spec.Target, nc.Spec.Direction, wantTarget)
		}
	}
}
