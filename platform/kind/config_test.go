package kind

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform"
)

func zones(region string, names ...string) platform.Region {
	r := platform.Region{Name: region}
	for _, n := range names {
		r.Zones = append(r.Zones, platform.Zone{Name: n, Nodes: 1})
	}
	return r
}

// TestConfigFiles checks that the files in kind-configs are what Config
// generates for their topologies, and that TopologyOf reads the topology
// back from them.
func TestConfigFiles(t *testing.T) {
	tests := []struct {
		file string
		topo platform.Topology
	}{
		{"three-zones.yaml", platform.Topology{Regions: []platform.Region{zones("region-1", "a", "b", "c")}}},
		{"three-regions.yaml", platform.Topology{Regions: []platform.Region{
			zones("us-east", "use-a", "use-b", "use-c"),
			zones("us-west", "usw-a", "usw-b", "usw-c"),
			zones("eu-west", "euw-a", "euw-b", "euw-c"),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file, err := LoadConfig(filepath.Join("..", "..", "kind-configs", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			gen := Config(tt.topo, nil)
			if !reflect.DeepEqual(file, gen) {
				got, _ := Marshal(gen)
				t.Errorf("Config generates, for the topology of %s:\n%s\nwhich differs from the file", tt.file, got)
			}
			back, err := TopologyOf(file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.topo) {
				t.Errorf("TopologyOf = %+v, want %+v", back, tt.topo)
			}
			// What Config generates, kind reads back the same.
			data, err := Marshal(gen)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, gen) {
				t.Errorf("Marshal/ParseConfig round trip changed the configuration")
			}
		})
	}
}

func TestConfigLayout(t *testing.T) {
	topo := platform.Topology{Regions: []platform.Region{
		{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 2}, {Name: "b", Nodes: 1}}},
		{Name: "r2", Zones: []platform.Zone{{Name: "c", Nodes: 1}}},
	}}
	cfg := Config(topo, []string{"kind: KubeletConfiguration\nmaxPods: 50\n"})
	var got []string
	for _, n := range cfg.Nodes {
		got = append(got, string(n.Role)+":"+n.Labels[LabelRegion]+"/"+n.Labels[LabelZone])
	}
	want := []string{"control-plane:/", "worker:r1/a", "worker:r1/a", "worker:r1/b", "worker:r2/c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nodes = %v, want %v", got, want)
	}
	if n := len(cfg.KubeadmConfigPatches); n != len(clusterPatches)+1 || !strings.Contains(cfg.KubeadmConfigPatches[n-1], "maxPods") {
		t.Errorf("kubelet patch not appended: %q", cfg.KubeadmConfigPatches)
	}
	back, err := TopologyOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, topo) {
		t.Errorf("TopologyOf = %+v, want %+v", back, topo)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodez: []\n", "nodez"},
		{"wrong kind", "kind: Pod\napiVersion: v1\n", "kind/apiVersion"},
		{"no control plane", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: worker}]\n", "0 control-plane"},
		{"bad role", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}, {role: boss}]\n", "nodes[1].role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConfig error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	cfg, _ := ParseConfig([]byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}, {role: worker}]\n"))
	if _, err := TopologyOf(cfg); err == nil || !strings.Contains(err.Error(), LabelZone) {
		t.Errorf("TopologyOf of a worker without a zone: %v, want an error naming %s", err, LabelZone)
	}
}
