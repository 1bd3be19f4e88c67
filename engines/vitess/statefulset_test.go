package vitess

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/platform"
)

// TestKubeImageIsTheImagesOne: the image the engine asks the cluster to
// map is the one `faultline images build vitess` stands in for.
func TestKubeImageIsTheImagesOne(t *testing.T) {
	if images.Official(images.Vitess) != KubeImage {
		t.Fatalf("images.Official(vitess) = %s, the engine deploys %s", images.Official(images.Vitess), KubeImage)
	}
}

// mapper is a cluster that holds local stand-ins for images.
type mapper struct {
	platform.Cluster
	images map[string]string
}

func (m mapper) MapImage(ref string) string {
	if r, ok := m.images[ref]; ok {
		return r
	}
	return ref
}

func TestKubePath(t *testing.T) {
	withImage := mapper{images: map[string]string{KubeImage: "faultline/vitess:v24.0.4-0123456789ab"}}
	without := mapper{}
	for _, tc := range []struct {
		name   string
		c      platform.Cluster
		deploy string
		spec   engines.Spec
		want   string
	}{
		{"auto, image built", withImage, DeployAuto, engines.Spec{}, DeployStatefulSet},
		{"auto, no image", without, DeployAuto, engines.Spec{}, DeployOperator},
		{"auto, engine.image alone", without, DeployAuto, engines.Spec{Image: "x"}, DeployOperator},
		{"auto, an override of the image", without, DeployAuto, engines.Spec{Images: map[string]string{KubeImage: "mine"}}, DeployStatefulSet},
		{"operator asked for", withImage, DeployOperator, engines.Spec{}, DeployOperator},
		{"statefulset asked for", without, DeployStatefulSet, engines.Spec{}, DeployStatefulSet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kubePath(tc.c, tc.spec, config{Deploy: tc.deploy}); got != tc.want {
				t.Fatalf("kubePath = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestStatefulSetManifests: the control programs on the control-plane
// node (tolerating its taint), one StatefulSet of tablets per cell
// pinned to its zone and its planned nodes, every pod on its node's
// network, and each node's tablet uid in the pods' scripts.
func TestStatefulSetManifests(t *testing.T) {
	workers := topo(1, 1, 1)
	for i := range workers {
		workers[i].Addr = "10.0.0." + string(rune('1'+i))
	}
	p, err := newPlan(workers, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, errs := parseConfig(nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cp := platform.Node{Name: "cp", Role: platform.RoleControlPlane, Addr: "10.0.0.9"}
	m := statefulSetManifests(p, cp, "img", "etcd-img", cfg)
	if len(m.Control) != 2 || len(m.Tablets) != 3 || len(m.Gates) != 4 {
		t.Fatalf("objects: %d control, %d tablet sets, %d VTOrc and gates; want 2, 3, 4", len(m.Control), len(m.Tablets), len(m.Gates))
	}
	for _, o := range append(m.Control, m.Gates...) {
		d := o.(*appsv1.Deployment)
		ps := d.Spec.Template.Spec
		if !ps.HostNetwork || ps.NodeSelector[labelHostname] != "cp" || len(ps.Tolerations) != 1 {
			t.Errorf("%s: not pinned to the control plane on its network: %+v", d.Name, ps.NodeSelector)
		}
		if args := strings.Join(ps.Containers[0].Args, " "); !strings.Contains(args, "10.0.0.9") {
			t.Errorf("%s: args do not name the control plane's address: %s", d.Name, args)
		}
	}
	for i, o := range m.Tablets {
		s := o.(*appsv1.StatefulSet)
		cl := p.Cells[i]
		ps := s.Spec.Template.Spec
		if !ps.HostNetwork || *s.Spec.Replicas != 1 {
			t.Errorf("%s: hostNetwork %v, replicas %d", s.Name, ps.HostNetwork, *s.Spec.Replicas)
		}
		terms := ps.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions
		var zone, hosts string
		for _, r := range terms {
			switch r.Key {
			case "topology.kubernetes.io/zone":
				zone = strings.Join(r.Values, ",")
			case labelHostname:
				hosts = strings.Join(r.Values, ",")
			}
		}
		if zone != cl.Zone || hosts != p.Tablets[i].Node.Name {
			t.Errorf("%s: zone %q hosts %q, want %q and %q", s.Name, zone, hosts, cl.Zone, p.Tablets[i].Node.Name)
		}
		script := ps.Containers[1].Command[2]
		want := quote(p.Tablets[i].Node.Name) + ") uid=" + "10" + string(rune('0'+i))
		if !strings.Contains(script, want) || !strings.Contains(script, "--tablet-path="+cl.Name+"-") {
			t.Errorf("%s: vttablet's script lacks %q or its tablet path:\n%s", s.Name, want, script)
		}
		if args := strings.Join(ps.Containers[1].Args, " "); !strings.Contains(args, "--tablet-hostname=$(HOST_IP)") || strings.Contains(args, "--init-shard") {
			t.Errorf("%s: vttablet's args: %s", s.Name, args)
		}
	}
}

// TestStatefulSetRunsOnlyTheImagesPrograms: every Vitess program the
// pods of faultline's image run, as a container's command or in its
// script, is one the image carries (dist.ServerPrograms); vtctldclient,
// which the image leaves out, runs on the harness's side only.
func TestStatefulSetRunsOnlyTheImagesPrograms(t *testing.T) {
	p, err := newPlan(topo(1, 1, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, errs := parseConfig(nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := statefulSetManifests(p, platform.Node{Name: "cp", Role: platform.RoleControlPlane, Addr: "10.0.0.9"}, "img", "etcd-img", cfg)
	program := regexp.MustCompile(`\b(vt[a-z]+|mysqlctld?)\b`)
	seen := map[string]bool{}
	for _, o := range append(append(m.Control, m.Tablets...), m.Gates...) {
		var pod corev1.PodSpec
		switch o := o.(type) {
		case *appsv1.Deployment:
			pod = o.Spec.Template.Spec
		case *appsv1.StatefulSet:
			pod = o.Spec.Template.Spec
		}
		for _, c := range pod.Containers {
			if c.Image != "img" {
				continue
			}
			words := []string{c.Command[0]}
			if c.Command[0] == "/bin/bash" {
				words = program.FindAllString(c.Command[2], -1)
			}
			for _, w := range words {
				// Paths and tablet aliases (vt_0000000100) are no programs.
				if strings.HasPrefix(w, "vt_") || w == "vtdataroot" {
					continue
				}
				seen[w] = true
				if !slices.Contains(dist.ServerPrograms, w) {
					t.Errorf("container %s runs %s, which faultline's image does not carry (%v)", c.Name, w, dist.ServerPrograms)
				}
			}
		}
	}
	for _, want := range dist.ServerPrograms {
		if !seen[want] {
			t.Errorf("the image carries %s, which no pod runs", want)
		}
	}
}
