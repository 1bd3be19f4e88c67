package cockroachdb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
)

func target(regions ...platform.Region) engines.Target {
	t := platform.Topology{Regions: regions}
	return engines.Target{Platform: "kind", Capabilities: platform.Capabilities{Kubernetes: true}, Workers: t.Size(), Topology: t}
}

var oneRegion = platform.Region{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}, {Name: "b", Nodes: 1}, {Name: "c", Nodes: 1}}}

// TestModuleVersionIsLinked keeps ChartsModuleVersion, the charts read
// from the module cache, equal to the module faultline links.
func TestModuleVersionIsLinked(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := ChartsModule + " " + ChartsModuleVersion; !strings.Contains(string(gomod), want) {
		t.Errorf("go.mod does not require %s: the engine reads the charts of another version than the types it links", want)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec engines.Spec
		t    engines.Target
		want []string
	}{
		{name: "defaults", t: target(oneRegion)},
		{name: "region survival on one region", spec: engines.Spec{Options: map[string]string{"survival": "region"}}, t: target(oneRegion),
			want: []string{"engine.options.survival: region survival needs at least 3 regions"}},
		{name: "bad options", spec: engines.Spec{Options: map[string]string{"tls": "maybe", "survival": "planet"}}, t: target(oneRegion),
			want: []string{"engine.options.survival: \"planet\"", "engine.options.tls: \"maybe\""}},
		{name: "replicas over regions", spec: engines.Spec{Replicas: 2},
			t:    target(platform.Region{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}}}, platform.Region{Name: "r2", Zones: []platform.Zone{{Name: "b", Nodes: 1}}}),
			want: []string{"engine.replicas: a multi-region deployment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := New().Validate(tc.spec, tc.t)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %d", errs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want %q", i, errs[i], w)
				}
			}
		})
	}
}

// TestDatabaseChartRendersTheCluster renders the database chart from the
// module cache with the engine's values: the CrdbCluster must carry the
// region, the image override and the insecure mode.
func TestDatabaseChartRendersTheCluster(t *testing.T) {
	if _, err := os.Stat(filepath.Join(moduleDir(), databaseChartPath, "Chart.yaml")); err != nil {
		testenv.Missing(t, "go-modules", "the charts module in the module cache (go mod download %s): %v", ChartsModule, err)
	}
	spec := engines.Spec{Images: map[string]string{CockroachRepo + ":" + DefaultVersion: "local/cockroach:dev"}}
	p, err := New().Manifests(spec, target(oneRegion))
	if err != nil {
		t.Fatal(err)
	}
	var cc *unstructured.Unstructured
	for _, s := range p {
		if s.Chart == nil || !strings.HasPrefix(s.Name, "database-") {
			continue
		}
		objs, err := s.Chart.Render(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() == "CrdbCluster" {
				cc = o
			}
		}
	}
	if cc == nil {
		t.Fatal("the database chart rendered no CrdbCluster")
	}
	img, _, _ := unstructured.NestedString(cc.Object, "spec", "template", "spec", "image")
	tls, _, _ := unstructured.NestedBool(cc.Object, "spec", "tlsEnabled")
	regions, _, _ := unstructured.NestedSlice(cc.Object, "spec", "regions")
	if img != "local/cockroach:dev" || tls || len(regions) != 1 {
		t.Errorf("image %q tls %v regions %v", img, tls, regions)
	}
	if r := regions[0].(map[string]any); r["code"] != "r1" || fmt.Sprint(r["nodes"]) != "3" {
		t.Errorf("region %v, want code r1 with 3 nodes", r)
	}
}

func TestLocalityTier(t *testing.T) {
	if got := localityTier("region=r1,zone=b", "zone"); got != "b" {
		t.Errorf("zone = %q", got)
	}
	if got := localityTier("region=r1", "zone"); got != "" {
		t.Errorf("zone = %q, want none", got)
	}
}
