package chaosmesh

import (
	"fmt"
	"maps"
	"slices"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Selection is separate from the action, as in Chaos Mesh: a target
// becomes the engine's pods (namespace and labels) on the nodes it names.
// Zone and region targets select those nodes by their topology labels,
// so that the experiment means the zone and not the nodes that were in it
// at one instant; every other target (leader, follower, node:N, minority,
// majority, random…) names the nodes it resolved to.

// podSelector returns the selector of the engine's pods on the nodes sel
// resolved to.
func podSelector(pods *faults.Pods, sel faults.Selector, nodes []platform.Node) (v1alpha1.PodSelectorSpec, error) {
	if pods == nil || pods.Namespace == "" {
		return v1alpha1.PodSelectorSpec{}, fmt.Errorf("the engine does not say which pods are its own (engines.PodOwner)")
	}
	ps := v1alpha1.PodSelectorSpec{
		GenericSelectorSpec: v1alpha1.GenericSelectorSpec{
			Namespaces:     []string{pods.Namespace},
			LabelSelectors: maps.Clone(pods.Labels),
		},
	}
	switch sel.Kind {
	case faults.SelZone:
		ps.NodeSelectors = map[string]string{kube.LabelZone: sel.Names[0]}
	case faults.SelRegion:
		ps.NodeSelectors = map[string]string{kube.LabelRegion: sel.Names[0]}
	case faults.SelLeaderZone:
		if len(nodes) == 0 || nodes[0].Zone == "" {
			return ps, fmt.Errorf("%s: the leader's node has no zone", sel)
		}
		ps.NodeSelectors = map[string]string{kube.LabelZone: nodes[0].Zone}
	default:
		if len(nodes) == 0 {
			return ps, fmt.Errorf("%s: no nodes", sel)
		}
		for _, n := range nodes {
			if n.Role == platform.RoleControlPlane {
				// Peers rest name the control plane with the other
				// nodes; the engine's pods are not there.
				if sel.Kind == faults.SelRest {
					continue
				}
				return ps, fmt.Errorf("%s: node %s is a control plane; faults never target it", sel, n.Name)
			}
			ps.Nodes = append(ps.Nodes, n.Name)
		}
		if len(ps.Nodes) == 0 {
			return ps, fmt.Errorf("%s: no worker nodes", sel)
		}
		slices.Sort(ps.Nodes)
		ps.Nodes = slices.Compact(ps.Nodes)
	}
	return ps, nil
}

// all selects every pod a selector spec matches.
func all(spec v1alpha1.PodSelectorSpec) v1alpha1.PodSelector {
	return v1alpha1.PodSelector{Selector: spec, Mode: v1alpha1.AllMode}
}
