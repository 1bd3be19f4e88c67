package kube

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNormalizeImage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"etcd", "docker.io/library/etcd:latest"},
		{"cnpg-postgres:15.18-bookworm", "docker.io/library/cnpg-postgres:15.18-bookworm"},
		{"cockroachdb/cockroach:v26.3.1", "docker.io/cockroachdb/cockroach:v26.3.1"},
		{"ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie", "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie"},
		{"localhost/faultline/podnet:v1", "localhost/faultline/podnet:v1"},
		{"registry.local:5000/x", "registry.local:5000/x:latest"},
		{"kindest/node:v1.37.0@sha256:abc", "docker.io/kindest/node:v1.37.0@sha256:abc"},
	} {
		if got := NormalizeImage(tc.in); got != tc.want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPodPullProblem(t *testing.T) {
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "pg", Name: "pg-1-initdb"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "bootstrap-controller", Image: "ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0"}},
			Containers:     []corev1.Container{{Name: "initdb", Image: "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie"}},
		},
		Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{
			Name:  "bootstrap-controller",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
		}}},
	}
	err := podPullProblem(pod)
	if err == nil {
		t.Fatal("no problem found in a pod in ImagePullBackOff")
	}
	msg := err.Error()
	for _, want := range []string{"ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0", "pg/pg-1-initdb", "engine.image", "--image-override", "faultline images load"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	pod.Status.InitContainerStatuses[0].State.Waiting.Reason = "PodInitializing"
	if err := podPullProblem(pod); err != nil {
		t.Errorf("a pod that is initializing is reported: %v", err)
	}
}

func TestReleaseManifestRewritesImages(t *testing.T) {
	const manifest = `apiVersion: v1
kind: Namespace
metadata: {name: cnpg-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cnpg-controller-manager, namespace: cnpg-system}
spec:
  selector: {matchLabels: {app: cnpg}}
  template:
    metadata: {labels: {app: cnpg}}
    spec:
      containers:
      - name: manager
        image: ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0
        imagePullPolicy: Always
        env:
        - {name: OPERATOR_IMAGE_NAME, value: ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0}
        - {name: OTHER, value: Always}
`
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	m := ReleaseManifest{Source: path, Images: map[string]string{"ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0": "cnpg-operator:local"}, PullIfNotPresent: true}
	objs, err := m.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects, want 2", len(objs))
	}
	var d appsv1.Deployment
	if err := fromUnstructured(objs[1].Object, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "cnpg-operator:local" || c.Env[0].Value != "cnpg-operator:local" {
		t.Errorf("image %q env %q, want both rewritten", c.Image, c.Env[0].Value)
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("pull policy %q, want IfNotPresent", c.ImagePullPolicy)
	}
	if c.Env[1].Value != "Always" {
		t.Errorf("an env value Always was rewritten: %q", c.Env[1].Value)
	}
	if got := Images(objs); len(got) != 1 || got[0] != "cnpg-operator:local" {
		t.Errorf("Images = %v", got)
	}
}

func TestParseChartSource(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    ChartSource
		wantErr bool
	}{
		{in: "oci://registry-1.docker.io/cockroachdb/cockroachdb-chart", want: ChartSource{OCI: "oci://registry-1.docker.io/cockroachdb/cockroachdb-chart", Version: "1"}},
		{in: "https://cloudnative-pg.github.io/charts", want: ChartSource{Repo: "https://cloudnative-pg.github.io/charts", Name: "c", Version: "1"}},
		{in: "./charts/x", want: ChartSource{Dir: "./charts/x"}},
		{in: "ftp://x", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := ParseChartSource(tc.in, "c", "1")
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("ParseChartSource(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestToUnstructuredFillsKind(t *testing.T) {
	objs, err := ToUnstructured(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "n"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := objs[0].GetKind(); got != "Service" || objs[0].GetAPIVersion() != "v1" {
		t.Errorf("kind %q apiVersion %q", got, objs[0].GetAPIVersion())
	}
	if _, ok := objs[0].Object["status"]; ok {
		t.Error("status left in an object to apply")
	}
}

func TestDecodeYAMLRejectsKindless(t *testing.T) {
	if _, err := DecodeYAML([]byte("---\nfoo: bar\n")); err == nil {
		t.Error("a document without apiVersion and kind was accepted")
	}
	objs, err := DecodeYAML([]byte("---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	if err != nil || len(objs) != 1 {
		t.Errorf("DecodeYAML = %d objects, %v", len(objs), err)
	}
}

func TestReleaseManifestNamespacesLikeKubectl(t *testing.T) {
	const manifest = `apiVersion: v1
kind: ServiceAccount
metadata: {name: op}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: example}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: op}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: op}
value: 5
`
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ns, want string }{{"", "default"}, {"ops", "ops"}} {
		objs, err := ReleaseManifest{Source: path, Namespace: tc.ns}.Load(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := []string{objs[0].GetNamespace(), objs[1].GetNamespace(), objs[2].GetNamespace(), objs[3].GetNamespace()}
		want := []string{tc.want, "example", "", ""}
		if !slices.Equal(got, want) {
			t.Errorf("Namespace %q: namespaces %q, want %q", tc.ns, got, want)
		}
	}
}
