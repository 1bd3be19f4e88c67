package vitess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube/crdschema"
)

func threeZones() platform.Topology {
	return platform.Topology{Regions: []platform.Region{{Name: "r1", Zones: []platform.Zone{
		{Name: "zone-a", Nodes: 1}, {Name: "zone-b", Nodes: 1}, {Name: "zone-c", Nodes: 1},
	}}}}
}

// initFile writes an init SQL file and returns options pointing at it.
func initFile(t *testing.T, opts map[string]string) map[string]string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "init.sql")
	if err := os.WriteFile(p, []byte("CREATE USER 'vt_dba'@'localhost';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"init-db": p}
	for k, v := range opts {
		out[k] = v
	}
	return out
}

func TestParseOperatorOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"durability": "semi_sync", "shards": "2"}, ""},
		{map[string]string{"durability": "quorum"}, "engine.options.durability"},
		{map[string]string{"shards": "0"}, "engine.options.shards"},
		{map[string]string{"storage": "-1Gi"}, "engine.options.storage"},
		{map[string]string{"control-on-control-plane": "maybe"}, "engine.options.control-on-control-plane"},
		{map[string]string{"some-other-path-option": "x"}, ""},
	} {
		_, errs := parseOperatorOptions(tc.opts)
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%v: %v", tc.opts, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want)):
			t.Errorf("%v: errors %v, want one starting %q", tc.opts, errs, tc.want)
		}
	}
}

func TestOperatorInitDBMissingSaysHow(t *testing.T) {
	t.Setenv("GOMODCACHE", t.TempDir())
	cfg := defaultOpConfig()
	_, err := operatorPlan(engines.Spec{}, threeZones(), nil, cfg)
	if err == nil || !strings.Contains(err.Error(), "go mod download vitess.io/vitess@v0.24.4") {
		t.Fatalf("err = %v, want how to fetch the module", err)
	}
}

func TestOperatorPlan(t *testing.T) {
	opts := initFile(t, map[string]string{"shards": "2", "durability": "cross_cell"})
	cfg, errs := parseOperatorOptions(opts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	spec := engines.Spec{Options: opts, Images: map[string]string{LiteImage: "vitess-lite:local", OperatorImage: "vitess-operator:local"}}
	p, err := operatorPlan(spec, threeZones(), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 3 || p[0].Name != "namespace" || p[1].Manifest == nil || p[2].Name != "cluster" {
		t.Fatalf("plan steps %+v", p)
	}
	m := p[1].Manifest
	if m.Source != OperatorManifestURL || m.Namespace != "default" || m.Images[OperatorImage] != "vitess-operator:local" {
		t.Errorf("operator step %+v", m)
	}
	var vc VitessCluster
	for _, o := range p[2].Objects {
		if o.GetKind() == "VitessCluster" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &vc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := len(vc.Spec.Cells); got != 3 {
		t.Fatalf("%d cells, want one per zone", got)
	}
	for i, z := range []string{"zone-a", "zone-b", "zone-c"} {
		c := vc.Spec.Cells[i]
		if want := CellNames([][2]string{{"r1", z}})[0]; c.Name != want {
			t.Errorf("cell %d named %q, want %q", i, c.Name, want)
		}
		if v := c.Gateway.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values; len(v) != 1 || v[0] != z {
			t.Errorf("cell %s's vtgate pinned to %v, want %s", c.Name, v, z)
		}
		if c.Gateway.ExtraFlags["vschema_ddl_authorized_users"] != User {
			t.Errorf("a sharded keyspace needs VSchema DDL through vtgate: flags %v", c.Gateway.ExtraFlags)
		}
	}
	ks := vc.Spec.Keyspaces[0]
	if ks.DurabilityPolicy != "cross_cell" || ks.Partitionings[0].Equal.Parts != 2 {
		t.Errorf("keyspace %+v", ks)
	}
	pools := ks.Partitionings[0].Equal.ShardTemplate.TabletPools
	if len(pools) != 3 || pools[1].Cell != vc.Spec.Cells[1].Name || pools[1].Type != "replica" || pools[1].Affinity == nil {
		t.Errorf("tablet pools %+v", pools)
	}
	if vc.Spec.Images.Vttablet != "vitess-lite:local" || vc.Spec.Images.Mysqld.Mysql80Compatible != "vitess-lite:local" {
		t.Errorf("images %+v: the override of vitess/lite is not used", vc.Spec.Images)
	}
	if ks.VitessOrchestrator.Tolerations == nil {
		t.Error("VTOrc is not kept on the control plane")
	}
	want := []string{"vitess-lite:local", MysqldExporterImage, LockserverImage}
	if got := p[2].Images; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("cluster images %v, want %v", got, want)
	}
}

func TestOperatorPlanCrossCellNeedsTwoZones(t *testing.T) {
	opts := initFile(t, map[string]string{"durability": "cross_cell"})
	cfg, _ := parseOperatorOptions(opts)
	one := platform.Topology{Regions: []platform.Region{{Name: "r", Zones: []platform.Zone{{Name: "a", Nodes: 3}}}}}
	if _, err := operatorPlan(engines.Spec{}, one, nil, cfg); err == nil || !strings.Contains(err.Error(), "engine.options.durability") {
		t.Fatalf("err = %v", err)
	}
}

// TestOperatorPlanValidatesAgainstUpstreamSchema checks the VitessCluster
// with the API server's structural-schema validation of vitess-operator's
// CRD, for each option combination.
func TestOperatorPlanValidatesAgainstUpstreamSchema(t *testing.T) {
	dir := os.Getenv("FAULTLINE_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	crd := filepath.Join(dir, "schemas", "vitess-operator-vitessclusters.crd.yaml")
	if _, err := os.Stat(crd); err != nil {
		testenv.Missing(t, "shared", "vitess-operator's CRD schema: %v", err)
	}
	set, err := crdschema.Load(crd)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []map[string]string{
		{},
		{"durability": "none", "control-on-control-plane": "false"},
		{"shards": "4", "durability": "cross_cell", "storage": "5Gi"},
	} {
		opts = initFile(t, opts)
		cfg, errs := parseOperatorOptions(opts)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		p, err := operatorPlan(engines.Spec{Options: opts}, threeZones(), nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range p.Objects() {
			if set.Covers(o.GroupVersionKind()) {
				n++
				if err := set.Validate(t.Context(), o); err != nil {
					t.Errorf("%v: %v", opts, err)
				}
			}
		}
		if n != 1 {
			t.Errorf("%v: %d VitessClusters, want 1", opts, n)
		}
	}
	// A cell name with a hyphen, which the CRD refuses, must fail.
	opts := initFile(t, nil)
	cfg, _ := parseOperatorOptions(opts)
	p, err := operatorPlan(engines.Spec{}, threeZones(), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range p.Objects() {
		if o.GetKind() == "VitessCluster" {
			cells, _, _ := unstructuredCells(o.Object)
			cells[0].(map[string]any)["name"] = "zone-a"
			if err := set.Validate(t.Context(), o); err == nil {
				t.Error("a cell named zone-a passed the upstream schema")
			}
		}
	}
}

func unstructuredCells(obj map[string]any) ([]any, bool, error) {
	spec, _ := obj["spec"].(map[string]any)
	cells, ok := spec["cells"].([]any)
	return cells, ok, nil
}

func TestPrimaries(t *testing.T) {
	pod := func(name, cell, uid, node string) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{opComponent: "vttablet", opLabelCell: cell, opLabelTabletID: uid}},
			Spec:       corev1.PodSpec{NodeName: node},
		}
	}
	pods := []corev1.Pod{
		pod("a", "zone_a", "2548885007", "worker"),
		pod("b", "zone_b", "1012345678", "worker2"),
		pod("c", "zone_c", "33", "worker3"),
	}
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	rows := []tabletRow{
		{Keyspace: Keyspace, Shard: "80-", Type: "PRIMARY", State: "SERVING", Alias: "zone_c-0000000033", TermStart: start.Format(time.RFC3339)},
		{Keyspace: Keyspace, Shard: "-80", Type: "PRIMARY", State: "SERVING", Alias: "zone_b-1012345678", TermStart: start.Format(time.RFC3339)},
		{Keyspace: Keyspace, Shard: "-80", Type: "REPLICA", State: "SERVING", Alias: "zone_a-2548885007"},
		{Keyspace: Keyspace, Shard: "80-", Type: "PRIMARY", State: "NOT_SERVING", Alias: "zone_a-2548885007"},
		{Keyspace: "_vt", Shard: "0", Type: "PRIMARY", State: "SERVING", Alias: "zone_a-2548885007"},
	}
	got, err := primaries(rows, pods)
	if err != nil {
		t.Fatal(err)
	}
	want := []engines.Leadership{
		{Node: "worker2", Shard: "faultline/-80", Term: uint64(start.Unix())},
		{Node: "worker3", Shard: "faultline/80-", Term: uint64(start.Unix())},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("primaries = %+v, want %+v", got, want)
	}
	if _, err := primaries([]tabletRow{{Keyspace: Keyspace, Shard: "0", Type: "PRIMARY", State: "SERVING", Alias: "zone_d-7"}}, pods); err == nil {
		t.Error("a primary without a pod gave no error")
	}
}
