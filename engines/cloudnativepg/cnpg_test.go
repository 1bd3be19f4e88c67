package cloudnativepg

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

func threeZones() engines.Target {
	t := platform.Topology{Regions: []platform.Region{{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}, {Name: "b", Nodes: 1}, {Name: "c", Nodes: 1}}}}}
	return engines.Target{Platform: "kind", Capabilities: platform.Capabilities{Kubernetes: true}, Workers: 3, Topology: t}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec engines.Spec
		want []string
	}{
		{name: "defaults", spec: engines.Spec{}},
		{name: "async", spec: engines.Spec{Options: map[string]string{"synchronous": "off"}}},
		{name: "sync options with async", spec: engines.Spec{Options: map[string]string{"synchronous": "off", "sync-number": "1"}},
			want: []string{"engine.options.sync-number: applies to synchronous replication"}},
		{name: "too many sync standbys", spec: engines.Spec{Options: map[string]string{"sync-number": "3"}},
			want: []string{"engine.options.sync-number: 3 synchronous standbys need at least 4 instances"}},
		{name: "more instances than zones", spec: engines.Spec{Replicas: 4},
			want: []string{"engine.replicas: 4 instances but the topology has 3 worker nodes"}},
		{name: "bad values", spec: engines.Spec{Options: map[string]string{"synchronous": "sometimes", "cpu": "lots", "colour": "red"}},
			want: []string{"engine.options.colour: unknown option", "engine.options.cpu: \"lots\" is not a positive quantity", "engine.options.synchronous: \"sometimes\" is not one of any, first, off"}},
		{name: "lease", spec: engines.Spec{Options: map[string]string{"lease-duration": "5", "lease-renew-deadline": "5"}},
			want: []string{"engine.options.lease-renew-deadline: 5s must be less than lease-duration (5s)"}},
		{name: "bad chart source", spec: engines.Spec{Options: map[string]string{"operator": "chart", "operator-source": "ftp://x"}},
			want: []string{"engine.options.operator-source: chart source ftp://x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := New().Validate(tc.spec, threeZones())
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %d", errs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}

func TestCanRunOnlyOnKubernetes(t *testing.T) {
	if err := New().CanRunOn(platform.Capabilities{Processes: true}); err == nil {
		t.Error("cloudnativepg accepted a platform without Kubernetes")
	}
	if err := New().CanRunOn(platform.Capabilities{Kubernetes: true}); err != nil {
		t.Error(err)
	}
}

// TestClusterSpreadsOverZonesWithGuaranteedQoS checks the Cluster's
// placement, replication and resources, and that image overrides reach
// both the operand and the operator.
func TestClusterSpreadsOverZonesWithGuaranteedQoS(t *testing.T) {
	spec := engines.Spec{Images: map[string]string{OperatorImage: "cnpg-operator:local", OperandRepository + ":" + DefaultVersion: "cnpg-postgres:15"}}
	p, err := New().Manifests(spec, threeZones())
	if err != nil {
		t.Fatal(err)
	}
	if p[0].Manifest == nil || p[0].Manifest.Images[OperatorImage] != "cnpg-operator:local" {
		t.Errorf("operator step %+v does not run the overridden image", p[0].Manifest)
	}
	cfg, _ := parseOptions(nil)
	cl := clusterObject(spec, threeZones().Topology, nil, cfg)
	if cl.Spec.Instances != 3 || cl.Spec.ImageName != "cnpg-postgres:15" {
		t.Errorf("instances %d image %q", cl.Spec.Instances, cl.Spec.ImageName)
	}
	if a := cl.Spec.Affinity; a.TopologyKey != "topology.kubernetes.io/zone" || a.PodAntiAffinityType != "required" {
		t.Errorf("affinity %+v, want required over zones", a)
	}
	r := cl.Spec.Resources
	for _, name := range []string{"cpu", "memory"} {
		req, lim := r.Requests[corev1ResourceName(name)], r.Limits[corev1ResourceName(name)]
		if req.Cmp(lim) != 0 || req.IsZero() {
			t.Errorf("%s request %s limit %s: not Guaranteed QoS", name, req.String(), lim.String())
		}
	}
	if s := cl.Spec.PostgreSQL.Synchronous; s.Method != "any" || s.Number != 1 || s.DataDurability != "required" || !*s.FailoverQuorum {
		t.Errorf("synchronous %+v", s)
	}
}

func corev1ResourceName(s string) corev1.ResourceName { return corev1.ResourceName(s) }
