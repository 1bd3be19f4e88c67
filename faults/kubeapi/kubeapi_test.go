package kubeapi

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

type cluster struct{ allow error }

func (cluster) Name() string                                   { return "test" }
func (cluster) Nodes(context.Context) ([]platform.Node, error) { return nil, nil }
func (cluster) Delete(context.Context) error                   { return nil }
func (c cluster) PermitFaults() error                          { return c.allow }

var runLabels = map[string]string{faults.LabelRun: "r1", faults.LabelHost: "elsewhere", faults.LabelPID: "1"}

func node(name string, unschedulable bool) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Unschedulable: unschedulable}}
}

func pod(ns, name, node string, lbl map[string]string, owner string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl}, Spec: corev1.PodSpec{NodeName: node}}
	if owner != "" {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: owner, Name: "x"}}
	}
	return p
}

func injector(cs kubernetes.Interface) *Injector {
	return &Injector{Connect: func(platform.Cluster) (kubernetes.Interface, error) { return cs, nil }, DrainTimeout: 300 * time.Millisecond, retryEvery: 50 * time.Millisecond}
}

func sel(t *testing.T, s string) faults.Selector {
	t.Helper()
	p, err := faults.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func target(log *bytes.Buffer, nodes ...string) faults.Target {
	t := faults.Target{Pods: &faults.Pods{Namespace: "db", Labels: map[string]string{"app": "db"}}, Labels: runLabels, Log: faults.NewLog(log, func() time.Duration { return 0 })}
	for _, n := range nodes {
		t.Nodes = append(t.Nodes, platform.Node{Name: n, Role: platform.RoleWorker})
	}
	return t
}

func TestPodDeleteDeletesTheEnginesPodsOnTheTargetNodes(t *testing.T) {
	cs := fake.NewClientset(
		pod("db", "db-0", "w1", map[string]string{"app": "db"}, ""),
		pod("db", "db-1", "w2", map[string]string{"app": "db"}, ""),
		pod("db", "operator", "w1", map[string]string{"app": "operator"}, ""),
		pod("other", "x", "w1", map[string]string{"app": "db"}, ""),
	)
	f, err := injector(cs).Fault(faults.Spec{Kind: faults.KindPodDelete, Target: sel(t, "leader"), GracePeriod: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	heal, err := f.Inject(context.Background(), cluster{}, target(&log, "w1"))
	if err != nil {
		t.Fatal(err)
	}
	left, _ := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	var names []string
	for _, p := range left.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if strings.Join(names, " ") != "db/db-1 db/operator other/x" {
		t.Errorf("pods left: %v", names)
	}
	for _, a := range cs.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok {
			if g := d.GetDeleteOptions().GracePeriodSeconds; g == nil || *g != 5 {
				t.Errorf("grace period %v, want 5", g)
			}
		}
	}
	if !strings.Contains(log.String(), "deleted pods (grace period 5s): db-0 on w1") {
		t.Errorf("log: %s", log.String())
	}
	if err := heal(context.Background()); err != nil {
		t.Error(err)
	}
	// No engine pod on the node: a refusal, not a silent no-op.
	if _, err := f.Inject(context.Background(), cluster{}, target(&log, "w3")); err == nil || !strings.Contains(err.Error(), "no pod of the engine") {
		t.Errorf("inject on an empty node: %v", err)
	}
}

func TestCordonHealsOnlyWhatItCordoned(t *testing.T) {
	cs := fake.NewClientset(node("w1", false), node("w2", true))
	f, _ := injector(cs).Fault(faults.Spec{Kind: faults.KindNodeCordon, Target: sel(t, "all"), Duration: time.Second})
	var log bytes.Buffer
	heal, err := f.Inject(context.Background(), cluster{}, target(&log, "w1", "w2"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(n string) *corev1.Node {
		nd, err := cs.CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return nd
	}
	if w1 := get("w1"); !w1.Spec.Unschedulable || w1.Annotations[AnnotationRun] != "r1" {
		t.Errorf("w1 not cordoned by the run: %+v", w1)
	}
	for i := 0; i < 2; i++ {
		if err := heal(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if w1 := get("w1"); w1.Spec.Unschedulable || len(w1.Annotations) != 0 {
		t.Errorf("w1 after heal: %+v", w1)
	}
	if !get("w2").Spec.Unschedulable {
		t.Error("heal uncordoned w2, which someone else cordoned")
	}
}

func TestDrain(t *testing.T) {
	objs := []runtime.Object{node("w1", false),
		pod("db", "db-0", "w1", nil, "StatefulSet"),
		pod("kube-system", "proxy", "w1", nil, "DaemonSet"),
		pod("db", "db-1", "w2", nil, "StatefulSet")}
	evictions := func(cs *fake.Clientset, refuse bool) *[]string {
		var got []string
		cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() != "eviction" {
				return false, nil, nil
			}
			name := a.(k8stesting.CreateAction).GetObject().(metav1.Object).GetName()
			if refuse {
				return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 1)
			}
			got = append(got, name)
			return true, nil, nil
		})
		return &got
	}
	t.Run("evicts all but DaemonSets' pods, on the target only", func(t *testing.T) {
		cs := fake.NewClientset(objs...)
		got := evictions(cs, false)
		f, _ := injector(cs).Fault(faults.Spec{Kind: faults.KindNodeDrain, Target: sel(t, "node:n1"), Duration: time.Second})
		var log bytes.Buffer
		heal, err := f.Inject(context.Background(), cluster{}, target(&log, "w1"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(*got, ",") != "db-0" {
			t.Errorf("evicted %v, want db-0", *got)
		}
		if err := heal(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, _ := cs.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{}); n.Spec.Unschedulable {
			t.Error("w1 still cordoned after heal")
		}
	})
	t.Run("a PodDisruptionBudget that refuses fails the drain and uncordons", func(t *testing.T) {
		cs := fake.NewClientset(objs...)
		evictions(cs, true)
		f, _ := injector(cs).Fault(faults.Spec{Kind: faults.KindNodeDrain, Target: sel(t, "node:n1"), Duration: time.Second})
		var log bytes.Buffer
		_, err := f.Inject(context.Background(), cluster{}, target(&log, "w1"))
		if err == nil || !strings.Contains(err.Error(), "PodDisruptionBudget kept refusing the eviction of db/db-0") || !strings.Contains(err.Error(), "force: true") {
			t.Errorf("drain = %v", err)
		}
		if n, _ := cs.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{}); n.Spec.Unschedulable {
			t.Error("w1 left cordoned after a failed drain")
		}
	})
	t.Run("force deletes", func(t *testing.T) {
		cs := fake.NewClientset(objs...)
		evictions(cs, true)
		f, _ := injector(cs).Fault(faults.Spec{Kind: faults.KindNodeDrain, Target: sel(t, "node:n1"), Duration: time.Second, Force: true})
		var log bytes.Buffer
		if _, err := f.Inject(context.Background(), cluster{}, target(&log, "w1")); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods("db").Get(context.Background(), "db-0", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("db-0: %v, want deleted", err)
		}
	})
}

func TestHealUncordonsOrphans(t *testing.T) {
	orphan := node("w1", true)
	orphan.Annotations = map[string]string{AnnotationRun: "old", AnnotationHost: "", AnnotationPID: "999999999"}
	foreign := node("w2", true)
	foreign.Annotations = map[string]string{AnnotationRun: "theirs", AnnotationHost: "another-machine", AnnotationPID: "1"}
	cs := fake.NewClientset(orphan, foreign, node("w3", true))
	var out bytes.Buffer
	for i := 0; i < 2; i++ {
		if err := Heal(context.Background(), cs, &out); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]bool{"w1": false, "w2": true, "w3": true} {
		n, _ := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if n.Spec.Unschedulable != want {
			t.Errorf("%s unschedulable = %v, want %v (%s)", name, n.Spec.Unschedulable, want, out.String())
		}
	}
}

func TestRefusals(t *testing.T) {
	in := injector(fake.NewClientset())
	if _, err := in.Fault(faults.Spec{Kind: faults.KindKill}); err == nil {
		t.Error("kill through the API")
	}
	f, _ := in.Fault(faults.Spec{Kind: faults.KindPodDelete, Target: sel(t, "leader")})
	var log bytes.Buffer
	if _, err := f.Inject(context.Background(), cluster{allow: errors.New("not allowed")}, target(&log, "w1")); err == nil || err.Error() != "not allowed" {
		t.Errorf("without permission: %v", err)
	}
	if err := f.(faults.Preparer).Prepare(context.Background(), cluster{}, faults.Target{}); err == nil || !strings.Contains(err.Error(), "PodOwner") {
		t.Errorf("prepare without pods: %v", err)
	}
	cp := target(&log)
	cp.Nodes = []platform.Node{{Name: "cp", Role: platform.RoleControlPlane}}
	if _, err := f.Inject(context.Background(), cluster{}, cp); err == nil || !strings.Contains(err.Error(), "control plane") {
		t.Errorf("control plane: %v", err)
	}
}
