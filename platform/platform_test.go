package platform

import (
	"reflect"
	"testing"
)

func TestTopologyOf(t *testing.T) {
	want := Topology{Regions: []Region{
		{Name: "east", Zones: []Zone{{Name: "a", Nodes: 2}, {Name: "b", Nodes: 1}}},
		{Name: "west", Zones: []Zone{{Name: "c", Nodes: 1}}},
	}}
	nodes := append([]Node{{Name: "cp", Role: RoleControlPlane}}, want.Layout()...)
	if got := TopologyOf(nodes); !reflect.DeepEqual(got, want) {
		t.Errorf("TopologyOf(%v) = %+v, want %+v", nodes, got, want)
	}
	if got := TopologyOf(nil); len(got.Regions) != 0 {
		t.Errorf("TopologyOf(nil) = %+v", got)
	}
}
