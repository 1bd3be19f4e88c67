package images

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/internal/testenv"
)

func TestRef(t *testing.T) {
	for _, tc := range []struct{ name, pattern string }{
		{KindNode, `^faultline/kind-node:v1\.34\.4-[0-9a-f]{12}$`},
		{Etcd, `^faultline/etcd:v3\.7\.3-[0-9a-f]{12}$`},
		{Vitess, `^faultline/vitess:v24\.0\.4-[0-9a-f]{12}$`},
		{"nope", `^$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Ref(tc.name); !regexp.MustCompile(tc.pattern).MatchString(got) {
				t.Fatalf("Ref(%q) = %q, want %s", tc.name, got, tc.pattern)
			}
		})
	}
	if want := "faultline/kind-node:" + tag(KindNode, Pinned()); Ref(KindNode) != want {
		t.Fatalf("Ref(kind-node) = %s, want %s", Ref(KindNode), want)
	}
}

// TestTagChangesWithInputs: every pinned version is an input of the tag,
// and the two images have different tags.
func TestTagChangesWithInputs(t *testing.T) {
	v := Pinned()
	base := tag(KindNode, v)
	if tag(Etcd, v) == base {
		t.Fatal("kind-node and etcd share a tag")
	}
	for _, tc := range []struct {
		field string
		edit  func(*Versions)
	}{
		{"kubernetes", func(v *Versions) { v.Kubernetes = "v1.34.5" }},
		{"containerd", func(v *Versions) { v.Containerd = "v2.1.5" }},
		{"kind", func(v *Versions) { v.Kind = "v0.31.0" }},
		{"coredns", func(v *Versions) { v.CoreDNS = "v1.12.2" }},
		{"debian", func(v *Versions) { v.Debian = "trixie" }},
		{"etcd", func(v *Versions) { v.Etcd = "v3.7.4" }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			w := v
			tc.edit(&w)
			if tag(KindNode, w) == base {
				t.Fatalf("changing %s keeps the tag %s", tc.field, base)
			}
		})
	}
}

// TestVitessTagIsItsOwn: the Vitess image's tag follows its own inputs
// (Debian's suite, the programs' build) and not the node recipe's, so
// that building it never invalidates the node image, and the reverse.
func TestVitessTagIsItsOwn(t *testing.T) {
	v := Pinned()
	base := tag(Vitess, v)
	w := v
	w.Debian = "trixie"
	if tag(Vitess, w) == base {
		t.Fatal("changing Debian's suite keeps the vitess tag")
	}
	w = v
	w.Kubernetes = "v1.34.5"
	if tag(Vitess, w) != base {
		t.Fatal("changing Kubernetes changes the vitess tag")
	}
}

// TestVitessTagFollowsTheRecipe: each part of the Vitess image's recipe
// is in its tag, so that changing it builds a new image.
func TestVitessTagFollowsTheRecipe(t *testing.T) {
	base := tag(Vitess, Pinned())
	for _, tc := range []struct {
		name   string
		change func() (undo func())
	}{
		{"programs", swap(&dist.ServerPrograms, append(slices.Clone(dist.ServerPrograms), "vtctldclient"))},
		{"strip", swap(&vitessStrip, []string{"strip", "--strip-debug"})},
		{"packages", swap(&vitessPackages, []string{"mariadb-server", "mariadb-client"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			undo := tc.change()
			defer undo()
			if tag(Vitess, Pinned()) == base {
				t.Errorf("changing the image's %s keeps its tag %s", tc.name, base)
			}
		})
	}
	if tag(Vitess, Pinned()) != base {
		t.Fatal("the tag did not come back after undoing the changes")
	}
}

// swap returns a change that sets *p to v, and whose result restores it.
func swap[T any](p *T, v T) func() (undo func()) {
	return func() func() {
		old := *p
		*p = v
		return func() { *p = old }
	}
}

func TestHashFSCoversPrograms(t *testing.T) {
	var names []string
	var b strings.Builder
	hashFS(&b, recipeSources)
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) == 2 && strings.HasSuffix(f[0], ".go") {
			names = append(names, f[0])
		}
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"programs/podnet/main.go", "programs/pause/main.go", "recipe.go", "node.go"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the tag does not cover %s (covers %s)", want, joined)
		}
	}
}

func TestComponentsAreWhatKubeadmExpects(t *testing.T) {
	want := []string{
		"registry.k8s.io/kube-apiserver:v1.34.4",
		"registry.k8s.io/kube-controller-manager:v1.34.4",
		"registry.k8s.io/kube-scheduler:v1.34.4",
		"registry.k8s.io/kube-proxy:v1.34.4",
		"registry.k8s.io/etcd:3.6.5-0",
		"registry.k8s.io/coredns/coredns:v1.12.1",
		"registry.k8s.io/pause:3.10.1",
	}
	have := map[string]bool{}
	for _, c := range Pinned().components() {
		have[c.Ref] = true
		for _, a := range c.Aliases {
			have[a] = true
		}
	}
	for _, w := range append(want, "registry.k8s.io/pause:3.10", podnetImage, storageProvisionerImage, storageHelperImage) {
		if !have[w] {
			t.Errorf("no preloaded image %s", w)
		}
	}
}

func TestDockerfile(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    component
		want string
	}{
		{"scratch with entrypoint", component{Bin: "pause", Dest: "/pause", Entrypoint: []string{"/pause"}},
			"FROM scratch\nCOPY static/ /\nCOPY bin /pause\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nENTRYPOINT [\"/pause\"]\n"},
		{"mini", component{Mini: true, Bin: "kube-proxy", Dest: "/usr/local/bin/kube-proxy"},
			"FROM mini:x\nCOPY bin /usr/local/bin/kube-proxy\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"},
		{"bare mini", component{Mini: true}, "FROM mini:x\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.dockerfile("mini:x"); got != tc.want {
				t.Fatalf("dockerfile:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestK8sGoMod(t *testing.T) {
	gomod := "module k8s.io/kubernetes\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n\tgithub.com/x/y => github.com/x/y v1.0.0\n)\n"
	staging := stagingModules(gomod)
	if strings.Join(staging, ",") != "k8s.io/api,k8s.io/client-go" {
		t.Fatalf("stagingModules = %v", staging)
	}
	got := k8sGoMod(Pinned(), staging)
	for _, want := range []string{"require k8s.io/kubernetes v1.34.4", "\tk8s.io/api => k8s.io/api v0.34.4\n", "\tk8s.io/client-go => k8s.io/client-go v0.34.4\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, got)
		}
	}
}

func TestK8sLDFlags(t *testing.T) {
	got := k8sLDFlags("v1.34.4")
	for _, want := range []string{"k8s.io/component-base/version.gitVersion=v1.34.4", "k8s.io/client-go/pkg/version.gitMinor=34", "-s -w"} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags lack %q: %s", want, got)
		}
	}
}

func TestPodnetManifestIsTemplated(t *testing.T) {
	// kind only templates manifests that carry its magic comment.
	if !strings.Contains(podnetManifest, "would you kindly template this file") || !strings.Contains(podnetManifest, "{{ .PodSubnet }}") {
		t.Fatal("podnet manifest is not a kind template")
	}
	if !strings.Contains(podnetManifest, "image: "+podnetImage) {
		t.Fatal("podnet manifest does not run the preloaded image")
	}
}

func TestBaseSetupRestrictsOOMScoreAdj(t *testing.T) {
	if !strings.Contains(baseSetup, "restrict_oom_score_adj = true") {
		t.Fatal("the node's containerd would not restrict oom_score_adj")
	}
}

func TestKindStorageManifest(t *testing.T) {
	dir := t.TempDir()
	src := "package nodeimage\n\nconst img = \"docker.io/x:v1\"\n\nconst defaultStorageManifest = `\nimage: ` + img + `\nend\n`\n"
	p := filepath.Join(dir, "const_storage.go")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := kindStorageManifest(p)
	if err != nil || got != "\nimage: docker.io/x:v1\nend\n" {
		t.Fatalf("kindStorageManifest = %q, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("package nodeimage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kindStorageManifest(p); err == nil {
		t.Fatal("a file without the constant was accepted")
	}
}

func TestDebianMirrorFormat(t *testing.T) {
	if _, err := os.Stat("/etc/apt"); err != nil {
		testenv.Missing(t, "debian", "no /etc/apt: not a Debian machine")
	}
	m, err := debianMirror()
	if err != nil {
		testenv.Missing(t, "debian", "no mirror configured: %v", err)
	}
	if !strings.Contains(m, "://") {
		t.Fatalf("mirror %q is not a URL", m)
	}
}

func TestBuildRejectsUnknownNames(t *testing.T) {
	err := Build(t.Context(), nil, []string{KindNode, "kind-nodes"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"kind-nodes"`) {
		t.Fatalf("Build with an unknown name: %v", err)
	}
}
