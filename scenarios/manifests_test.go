package scenarios

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/faultline-dev/faultline/engines/vitess"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/kube"
	"github.com/faultline-dev/faultline/platform/kube/crdschema"
)

var update = flag.Bool("update", false, "rewrite the golden manifests in testdata/manifests")

// crdFiles are the upstream CRDs (in FAULTLINE_SHARED/schemas) the
// generated objects must validate against.
var crdFiles = []string{
	"cloudnativepg-clusters.crd.yaml",
	"cockroachdb-operator-v1beta1-crdbclusters.crd.yaml",
	"etcd-operator-etcdclusters.crd.yaml",
	"vitess-operator-vitessclusters.crd.yaml",
}

// optionVariants are the option combinations each engine's scenarios are
// also generated with, on top of the scenario's own options.
var optionVariants = map[string][]map[string]string{
	"cloudnativepg": {
		{},
		{"synchronous": "first", "sync-number": "1", "data-durability": "preferred"},
		{"synchronous": "any", "sync-number": "2", "failover-quorum": "false"},
		{"synchronous": "off"},
		{"failover-delay": "5", "switchover-delay": "30", "lease-duration": "8", "lease-renew-deadline": "4", "cpu": "1", "memory": "1Gi", "anti-affinity": "preferred", "storage-class": "standard"},
		{"operator": "chart", "operator-on-control-plane": "true"},
	},
	"cockroachdb": {
		{},
		{"tls": "true"},
		{"survival": "zone", "cpu": "2", "memory": "4Gi", "storage": "10Gi"},
		{"operator-on-control-plane": "false"},
	},
	"etcd": {
		{"deploy": "operator"},
	},
	"vitess": {
		{},
		{"shards": "4", "durability": "none", "control-on-control-plane": "false"},
		{"transaction_mode": "TWOPC", "vtorc_instance_poll_time": "1s", "storage": "5Gi"},
	},
}

// sharedDir is FAULTLINE_SHARED, default ../shared from the repository
// root.
func sharedDir(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("no go.mod above the package")
		}
		root = parent
	}
	dir := os.Getenv("FAULTLINE_SHARED")
	if dir == "" {
		dir = "../shared"
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas")); err != nil {
		testenv.Missing(t, "shared", "the upstream CRD schemas (%s/schemas): %v", dir, err)
	}
	return dir
}

// TestManifestsValidateAgainstUpstreamSchemas generates what every
// built-in scenario of an engine deployed through Kubernetes would apply,
// with every option combination of optionVariants, and validates each
// custom resource against its upstream CRD with the API server's
// structural-schema validation; the scenario's own plan must match its
// golden file.
func TestManifestsValidateAgainstUpstreamSchemas(t *testing.T) {
	shared := sharedDir(t)
	var files []string
	for _, f := range crdFiles {
		files = append(files, filepath.Join(shared, "schemas", f))
	}
	schemas, err := crdschema.Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	env := DefaultEnv(EnvOptions{})
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, e := range entries {
		s, err := Resolve(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		variants, ok := optionVariants[s.Engine.Name]
		if !ok {
			continue
		}
		if s.Platform == "local" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			base, err := Resolve(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if err := base.Validate(env); err != nil {
				if strings.Contains(err.Error(), "is not installed") {
					testenv.Missing(t, base.Engine.Name, "%v", err)
				}
				t.Fatalf("built-in scenario does not validate: %v", err)
			}
			plan, _, err := Manifests(t.Context(), base, env)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := plan.WriteYAML(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "manifests", e.Name+".yaml"), buf.Bytes())
			for i, opts := range variants {
				v, _ := Resolve(e.Name)
				v.Engine.Options = maps.Clone(v.Engine.Options)
				if v.Engine.Options == nil {
					v.Engine.Options = map[string]string{}
				}
				maps.Copy(v.Engine.Options, opts)
				if err := v.Validate(env); err != nil {
					t.Errorf("variant %d %v: %v", i, opts, err)
					continue
				}
				plan, _, err := Manifests(t.Context(), v, env)
				if err != nil {
					t.Errorf("variant %d %v: %v", i, opts, err)
					continue
				}
				objs, err := renderedObjects(t, plan)
				if err != nil {
					t.Errorf("variant %d %v: %v", i, opts, err)
					continue
				}
				n := 0
				for _, o := range objs {
					if !schemas.Covers(o.GroupVersionKind()) {
						continue
					}
					n++
					if err := schemas.Validate(t.Context(), o); err != nil {
						t.Errorf("variant %d %v: %v", i, opts, err)
					}
				}
				if n == 0 {
					t.Errorf("variant %d %v: no custom resource of an upstream schema among %d objects", i, opts, len(objs))
				}
				covered += n
			}
		})
	}
	if covered == 0 {
		t.Error("no built-in scenario generated a custom resource")
	}
}

// renderedObjects are the plan's own objects and those of its charts
// that render offline (a local chart directory).
func renderedObjects(t *testing.T, p kube.Plan) ([]*unstructured.Unstructured, error) {
	out := p.Objects()
	for _, s := range p {
		if s.Chart == nil || s.Chart.Source.Dir == "" {
			continue
		}
		objs, err := s.Chart.Render(t.Context())
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scenarios -run TestManifests -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the scenario generates now (go test ./scenarios -run TestManifests -update rewrites it):\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:", i+1) + "\n  golden: " + x + "\n  now:    " + y
		}
	}
	return ""
}

// TestSchemaValidationCatchesBadClusters is the negative control: a
// CloudNativePG Cluster with a value its schema forbids and a field it
// does not know must both be refused.
func TestSchemaValidationCatchesBadClusters(t *testing.T) {
	shared := sharedDir(t)
	schemas, err := crdschema.Load(filepath.Join(shared, "schemas", "cloudnativepg-clusters.crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve("cnpg-failover")
	if err != nil {
		t.Fatal(err)
	}
	env := DefaultEnv(EnvOptions{})
	if err := s.Validate(env); err != nil {
		t.Fatal(err)
	}
	plan, _, err := Manifests(t.Context(), s, env)
	if err != nil {
		t.Fatal(err)
	}
	var cluster *unstructured.Unstructured
	for _, o := range plan.Objects() {
		if o.GetKind() == "Cluster" {
			cluster = o
		}
	}
	if cluster == nil {
		t.Fatal("no Cluster in the plan")
	}
	for name, mutate := range map[string]func(*unstructured.Unstructured){
		"bad enum": func(o *unstructured.Unstructured) {
			unstructured.SetNestedField(o.Object, "sometimes", "spec", "postgresql", "synchronous", "method")
		},
		"unknown field": func(o *unstructured.Unstructured) {
			unstructured.SetNestedField(o.Object, int64(3), "spec", "replicas")
		},
		"cel rule": func(o *unstructured.Unstructured) {
			unstructured.SetNestedField(o.Object, int64(0), "spec", "postgresql", "synchronous", "number")
		},
	} {
		bad := cluster.DeepCopy()
		mutate(bad)
		if err := schemas.Validate(t.Context(), bad); err == nil {
			t.Errorf("%s: a bad Cluster validates", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// standInsKind is the kind platform with the given local images built,
// as its StandIns would find them on a Docker daemon.
type standInsKind struct {
	kindPlatform
	images map[string]string
}

func (p standInsKind) StandIns(context.Context) (map[string]string, error) { return p.images, nil }

// TestVitessManifestsFollowTheDeployPath: `faultline manifests` prints
// what the run would deploy: the StatefulSet path when it is asked for,
// or under auto when the platform holds faultline's Vitess image; else
// vitess-operator. The StatefulSet path's plan matches its golden file.
func TestVitessManifestsFollowTheDeployPath(t *testing.T) {
	built := map[string]string{vitess.KubeImage: "faultline/vitess:v24.0.4-0123456789ab"}
	for _, tc := range []struct {
		name, deploy string
		standIns     map[string]string
		want         string
	}{
		{"statefulset asked for", vitess.DeployStatefulSet, nil, vitess.DeployStatefulSet},
		{"auto, image built", "", built, vitess.DeployStatefulSet},
		{"auto, nothing built", "", nil, vitess.DeployOperator},
		{"operator asked for", vitess.DeployOperator, built, vitess.DeployOperator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Resolve("vitess-failover")
			if err != nil {
				t.Fatal(err)
			}
			s.Platform = kind.Name
			s.Engine.Options = maps.Clone(s.Engine.Options)
			if tc.deploy != "" {
				s.Engine.Options["deploy"] = tc.deploy
			}
			env := DefaultEnv(EnvOptions{})
			for i, p := range env.Platforms {
				if p.Name() == kind.Name {
					env.Platforms[i] = standInsKind{kindPlatform{opts: kindOptions(kind.Options{})}, tc.standIns}
				}
			}
			if err := s.Validate(env); err != nil {
				t.Fatal(err)
			}
			plan, _, err := Manifests(t.Context(), s, env)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range plan.Objects() {
				kinds[o.GetKind()]++
			}
			switch tc.want {
			case vitess.DeployStatefulSet:
				if kinds["StatefulSet"] != 3 || kinds["VitessCluster"] != 0 {
					t.Fatalf("want the StatefulSet path (3 StatefulSets, no VitessCluster), got %v", kinds)
				}
				var buf bytes.Buffer
				if err := plan.WriteYAML(&buf); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", "manifests", "vitess-failover-statefulset.yaml"), buf.Bytes())
			default:
				if kinds["VitessCluster"] != 1 || kinds["StatefulSet"] != 0 {
					t.Fatalf("want vitess-operator's path (a VitessCluster), got %v", kinds)
				}
			}
		})
	}
}
