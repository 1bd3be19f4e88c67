package chaosmesh

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
)

// stubMapper maps the official images to local stand-ins, as a kind
// cluster with images built from the module does.
type stubMapper struct{ kubeCluster }

func (stubMapper) MapImage(ref string) string {
	switch ref {
	case ControllerImage:
		return "faultline/chaos-mesh:abc123"
	case DaemonImage:
		return "localhost:5000/chaos-daemon:abc123"
	}
	return ref
}

func TestSplitImage(t *testing.T) {
	for ref, want := range map[string]imageValues{
		"ghcr.io/chaos-mesh/chaos-mesh:v2.8.4": {"ghcr.io", "chaos-mesh/chaos-mesh", "v2.8.4"},
		"faultline/chaos-daemon:h1":            {"docker.io", "faultline/chaos-daemon", "h1"},
		"localhost:5000/chaos-daemon:h1":       {"localhost:5000", "chaos-daemon", "h1"},
		"registry.local/cm/chaos-mesh":         {"registry.local", "cm/chaos-mesh", "latest"},
	} {
		got, err := splitImage(ref)
		if err != nil || got != want {
			t.Errorf("splitImage(%s) = %+v, %v; want %+v", ref, got, err, want)
		}
	}
	if _, err := splitImage("ghcr.io/x@sha256:abc"); err == nil {
		t.Error("a digest: nil error")
	}
}

// TestChartRendersFromTheModule renders the module's chart offline with
// the values faultline sets and checks what a kind cluster would get.
func TestChartRendersFromTheModule(t *testing.T) {
	dir := filepath.Join(ModuleDir(), chartDir)
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "chaos-mesh-module", "the Chaos Mesh chart (go mod download %s@%s): %v", Module, ModuleVersion, err)
	}
	ch, err := Installer{Images: map[string]string{PauseImage: "faultline/pause:3.10"}}.Chart(stubMapper{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ch.Render(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	var text strings.Builder
	var networkCRD []byte
	for _, o := range objs {
		kinds[o.GetKind()]++
		b, _ := json.Marshal(o.Object)
		text.Write(b)
		if o.GetName() == "networkchaos.chaos-mesh.org" {
			networkCRD = b
		}
	}
	if kinds["CustomResourceDefinition"] < 20 || kinds["DaemonSet"] != 1 || kinds["Deployment"] != 1 {
		t.Errorf("rendered kinds %v: want the CRDs, the controller and the daemon only (no dashboard, no DNS server)", kinds)
	}
	for _, want := range []string{
		`"image":"docker.io/faultline/chaos-mesh:abc123"`,
		`"image":"localhost:5000/chaos-daemon:abc123"`,
		`faultline/pause:3.10`,
		`"--runtime","containerd"`,
		`/host-run/containerd.sock`,
		`{"name":"ALLOW_HOST_NETWORK_TESTING","value":"true"}`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("rendered chart lacks %s", want)
		}
	}
	// The CRD/API skew the install patches away (notes E1).
	if networkCRD == nil {
		t.Fatal("no NetworkChaos CRD")
	}
	if strings.Contains(string(networkCRD), "partitionBehavior") {
		t.Log("the chart's NetworkChaos CRD knows partitionBehavior already; the patch is a no-op")
	}
	p, err := jsonpatch.DecodePatch([]byte(partitionBehaviorPatch))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if networkCRD, err = p.Apply(networkCRD); err != nil {
			t.Fatalf("patch %d: %v", i, err)
		}
	}
	if !strings.Contains(string(networkCRD), `"partitionBehavior":{"type":"string","enum":["drop","reject"]}`) {
		t.Errorf("patched CRD lacks partitionBehavior")
	}
}

// TestImagesAreTheBuilt: the images faultline builds from the module
// (images.ChaosMesh) stand in for the chart's official images, at the
// version whose chart is installed.
func TestImagesAreTheBuilt(t *testing.T) {
	m := images.StandIns(images.ChaosMesh)
	if _, ok := m[ControllerImage]; !ok {
		t.Errorf("the chaos-mesh build stands in for %v, not the controller manager's %s", m, ControllerImage)
	}
	if _, ok := m[DaemonImage]; !ok {
		t.Errorf("the chaos-mesh build stands in for %v, not the daemon's %s", m, DaemonImage)
	}
	if images.ChaosMeshModule != Module || images.ChaosMeshModuleVersion != ModuleVersion {
		t.Errorf("images build %s@%s; the chart comes from %s@%s", images.ChaosMeshModule, images.ChaosMeshModuleVersion, Module, ModuleVersion)
	}
}

// loaderCluster maps and loads images as a kind cluster does.
type loaderCluster struct {
	stubMapper
	loaded *[]string
	err    error
}

func (c loaderCluster) LoadImages(_ context.Context, refs ...string) error {
	*c.loaded = append(*c.loaded, refs...)
	return c.err
}

func TestInstallerLoadsMappedImages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		images map[string]string
		want   []string
	}{
		{"mapped", nil, []string{"faultline/chaos-mesh:abc123", "localhost:5000/chaos-daemon:abc123"}},
		{"given by the user", map[string]string{DaemonImage: "registry.local/d:1"}, []string{"faultline/chaos-mesh:abc123"}},
		{"all given", map[string]string{DaemonImage: "r/d:1", ControllerImage: "r/c:1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var loaded []string
			if err := (Installer{Images: tc.images}).loadImages(t.Context(), loaderCluster{loaded: &loaded}); err != nil {
				t.Fatal(err)
			}
			if strings.Join(loaded, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("loaded %v, want %v", loaded, tc.want)
			}
		})
	}
	var loaded []string
	err := Installer{}.loadImages(t.Context(), loaderCluster{loaded: &loaded, err: errors.New("no space")})
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("a failed load: %v", err)
	}
	// A cluster that cannot load images gets none loaded, and no error.
	if err := (Installer{}).loadImages(t.Context(), stubMapper{}); err != nil {
		t.Fatal(err)
	}
}

// TestInstallerDaemonLacks: faultline's stand-in daemon is annotated as
// lacking what its image lacks; the official image, or one the user
// gives, as lacking nothing, unless the user says otherwise.
func TestInstallerDaemonLacks(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Installer
		c    platform.Cluster
		want string
	}{
		{"stand-in", Installer{}, stubMapper{}, "io,http,jvm"},
		{"official", Installer{}, kubeCluster{}, ""},
		{"given by the user", Installer{Images: map[string]string{DaemonImage: "registry.local/d:1"}}, stubMapper{}, ""},
		{"said by the user", Installer{Images: map[string]string{DaemonImage: "registry.local/d:1"}, DaemonLacks: []string{DaemonIO}}, stubMapper{}, "io"},
		{"no cluster", Installer{}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tc.in.daemonLacks(tc.c), ","); got != tc.want {
				t.Fatalf("daemonLacks = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAnnotateDaemon sets the annotation, and removes it for a daemon
// that lacks nothing, keeping the DaemonSet's other annotations.
func TestAnnotateDaemon(t *testing.T) {
	cs := kubefake.NewClientset(&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "chaos-daemon", Namespace: Namespace, Annotations: map[string]string{"keep": "me"}}})
	get := func() map[string]string {
		d, err := cs.AppsV1().DaemonSets(Namespace).Get(t.Context(), "chaos-daemon", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Annotations
	}
	if err := annotateDaemon(t.Context(), cs, StandInDaemonLacks); err != nil {
		t.Fatal(err)
	}
	if a := get(); a[AnnotationDaemonLacks] != "io,http,jvm" || a["keep"] != "me" {
		t.Fatalf("annotations %v", a)
	}
	if err := annotateDaemon(t.Context(), cs, nil); err != nil {
		t.Fatal(err)
	}
	if a := get(); len(a) != 1 || a["keep"] != "me" {
		t.Fatalf("annotations %v after an install that lacks nothing", a)
	}
	if err := annotateDaemon(t.Context(), kubefake.NewClientset(), nil); err == nil || !strings.Contains(err.Error(), "annotate DaemonSet chaos-mesh/chaos-daemon") {
		t.Fatalf("no DaemonSet: %v", err)
	}
}
