package existing

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

func TestPermitFaultsOnlyWhenAllowed(t *testing.T) {
	if err := permitFaults("prod", ""); err == nil || !strings.Contains(err.Error(), "AllowDestructive") {
		t.Errorf("without permission: %v, want a refusal naming AllowDestructive", err)
	}
	if err := permitFaults("prod", "staging"); err == nil || !strings.Contains(err.Error(), `"prod"`) {
		t.Errorf("allowed for another context: %v, want a refusal naming the context", err)
	}
	if err := permitFaults("prod", "prod"); err != nil {
		t.Errorf("allowed: %v", err)
	}
	if err := permitFaults("", ""); err == nil {
		t.Error("no context: nil, want a refusal")
	}
}

func TestOwnMechanismsInjectNothing(t *testing.T) {
	for _, k := range faults.Kinds() {
		if err := canInject(k.Name); err == nil || !strings.Contains(err.Error(), "chaos-mesh") {
			t.Errorf("%s: %v, want a refusal pointing at Chaos Mesh", k.Name, err)
		}
	}
}

func TestNodesAndFit(t *testing.T) {
	node := func(name, region, zone string, cp bool) corev1.Node {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelRegion: region, LabelZone: zone}}}
		if cp {
			n.Labels[kube.LabelControlPlane] = ""
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0." + name[len(name)-1:]}}
		return n
	}
	nodes := toNodes([]corev1.Node{
		node("w2", "eu", "b", false), node("w1", "eu", "a", false), node("cp0", "eu", "a", true), node("w3", "eu", "a", false),
	})
	if nodes[0].Role != platform.RoleControlPlane || nodes[1].Name != "w1" || nodes[1].Addr != "10.0.0.1" {
		t.Fatalf("nodes = %+v", nodes)
	}
	ok := platform.Topology{Regions: []platform.Region{{Name: "eu", Zones: []platform.Zone{{Name: "a", Nodes: 2}, {Name: "b", Nodes: 1}}}}}
	if err := fits(ok, nodes); err != nil {
		t.Errorf("fits: %v", err)
	}
	// The control plane does not count as a worker of zone a.
	bad := platform.Topology{Regions: []platform.Region{{Name: "eu", Zones: []platform.Zone{{Name: "a", Nodes: 3}, {Name: "c", Nodes: 1}}}}}
	err := fits(bad, nodes)
	if err == nil || !strings.Contains(err.Error(), "zone eu/a: 2") || !strings.Contains(err.Error(), "zone eu/c: 0") {
		t.Errorf("fits = %v, want both zones named", err)
	}
}

func TestClusterIsNotOwned(t *testing.T) {
	c := &Cluster{opts: Options{Context: "prod"}}
	if c.Owned() || c.Name() != "prod" {
		t.Errorf("Owned %v Name %s", c.Owned(), c.Name())
	}
}
