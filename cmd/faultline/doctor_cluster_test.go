package main

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/faultline-dev/faultline/faults/chaosmesh"
)

func TestClusterFindings(t *testing.T) {
	cs := kfake.NewClientset()
	// This user may do anything but patch nodes.
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = !(ra.Verb == "patch" && ra.Resource == "nodes")
		return true, r, nil
	})
	s, err := chaosmesh.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	ctl := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "chaos-controller-manager", Namespace: "chaos-mesh", Labels: map[string]string{
			"app.kubernetes.io/name": "chaos-mesh", "app.kubernetes.io/component": "controller-manager", "app.kubernetes.io/version": "2.8.4"}},
		Status: appsv1.DeploymentStatus{AvailableReplicas: 1},
	}
	// faultline's own daemon image, which lacks toda.
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "chaos-daemon", Namespace: "chaos-mesh",
		Labels:      map[string]string{"app.kubernetes.io/name": "chaos-mesh", "app.kubernetes.io/component": "chaos-daemon"},
		Annotations: map[string]string{chaosmesh.AnnotationDaemonLacks: "io,http,jvm,memory"}}}
	cl := fake.NewClientBuilder().WithScheme(s).WithObjects(ctl, ds).Build()
	got := map[string]finding{}
	for _, f := range clusterFindings(context.Background(), "prod", cs, cl) {
		if f.area != "cluster prod" {
			t.Errorf("area %q", f.area)
		}
		got[f.item] = f
	}
	for item, want := range map[string]string{
		"chaos-mesh":  "ok installed, controller available (2.8.4)",
		"kill":        "ok can inject, by chaos-mesh: PodChaos pod-kill",
		"clock-skew":  "ok can inject, by chaos-mesh: TimeChaos",
		"pod-delete":  "ok can inject, by kubernetes api",
		"node-cordon": "no RBAC denies patch nodes",
		"node-drain":  "no RBAC denies patch nodes",
		"disk-error":  "no chaos-mesh: disk-error needs toda",
		"stress":      "ok can inject cpu stressors only, by chaos-mesh: StressChaos cpu and memory stressors in the engine's containers; memory: chaos-mesh: stress needs memStress",
		"latency":     "ok can inject, by chaos-mesh: NetworkChaos delay with jitter, direction both, target the peers' pods (needs sch_netem); needs sch_netem in the nodes' kernel",
		"bandwidth":   "ok can inject, by chaos-mesh: NetworkChaos bandwidth",
	} {
		f, ok := got[item]
		if !ok {
			t.Errorf("no finding for %s", item)
			continue
		}
		status := map[bool]string{true: "ok", false: "no"}[f.ok]
		if !strings.HasPrefix(status+" "+f.detail, want) {
			t.Errorf("%s: %s %s, want %s…", item, status, f.detail, want)
		}
	}
}

func TestPermitFinding(t *testing.T) {
	if f := permitFinding("", "kind-x", ""); f.ok || !strings.Contains(f.detail, `naming the context ("kind-x")`) || f.area != "cluster kind-x" {
		t.Errorf("without --allow-destructive: %+v", f)
	}
	if f := permitFinding("", "kind-x", "kind-y"); f.ok {
		t.Errorf("--allow-destructive naming another context: %+v", f)
	}
	if f := permitFinding("", "kind-x", "kind-x"); !f.ok {
		t.Errorf("--allow-destructive naming the context: %+v", f)
	}
}
