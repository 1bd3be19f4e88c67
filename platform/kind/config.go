package kind

import (
	"bytes"
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Node labels that place kind nodes in zones and regions, as on every
// cloud provider's Kubernetes.
const (
	LabelZone   = kube.LabelZone
	LabelRegion = kube.LabelRegion
)

// Node monitoring the generated configuration sets, so that a killed or
// frozen node turns NotReady within seconds instead of the 40–50 s of the
// defaults: the controller manager checks node leases every
// NodeMonitorPeriod and gives up on a node after NodeMonitorGracePeriod.
const (
	NodeMonitorPeriod      = "2s"
	NodeMonitorGracePeriod = "16s"
)

// clusterPatches are the kubeadm patches of every generated configuration.
// kind matches patches without an apiVersion against every kubeadm API
// version and merges map-style extraArgs into v1beta4's lists.
var clusterPatches = []string{
	// Kubernetes 1.35 refuses to run on cgroup v1 hosts unless told
	// otherwise; the field exists since 1.31 and false is the default
	// before 1.35, so it is safe everywhere kind runs.
	"kind: KubeletConfiguration\nfailCgroupV1: false\n",
	"kind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    node-monitor-period: " + NodeMonitorPeriod + "\n    node-monitor-grace-period: " + NodeMonitorGracePeriod + "\n",
}

// Config returns the kind configuration of a cluster with topology t: one
// control-plane node without zone labels (faults never target it, and it
// is tainted so that engines do not run on it), then each zone's worker
// nodes labelled with their zone and region, in topology order.
// kubeletPatches are appended to the kubeadm patches every node gets
// (KubeletConfiguration or kubeadm documents, as kind takes them).
func Config(t platform.Topology, kubeletPatches []string) *v1alpha4.Cluster {
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}},
	}
	cfg.KubeadmConfigPatches = append(append([]string(nil), clusterPatches...), kubeletPatches...)
	for _, n := range t.Layout() {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{
			Role:   v1alpha4.WorkerRole,
			Labels: map[string]string{LabelRegion: n.Region, LabelZone: n.Zone},
		})
	}
	return cfg
}

// Marshal renders cfg as YAML, as kind reads it.
func Marshal(cfg *v1alpha4.Cluster) ([]byte, error) {
	return yaml.Marshal(cfg)
}

// LoadConfig reads a kind configuration file strictly: unknown fields are
// errors, as kind itself treats them.
func LoadConfig(path string) (*v1alpha4.Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kind config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("kind config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes a kind configuration strictly and checks what
// faultline relies on: the kind and apiVersion, and exactly one
// control-plane node.
func ParseConfig(data []byte) (*v1alpha4.Cluster, error) {
	var cfg v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(data), &cfg); err != nil {
		return nil, err
	}
	if cfg.Kind != "Cluster" || cfg.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("kind/apiVersion: %q/%q, want Cluster/kind.x-k8s.io/v1alpha4", cfg.Kind, cfg.APIVersion)
	}
	cp := 0
	for i, n := range cfg.Nodes {
		switch n.Role {
		case v1alpha4.ControlPlaneRole:
			cp++
		case v1alpha4.WorkerRole, "":
		default:
			return nil, fmt.Errorf("nodes[%d].role: %q is neither control-plane nor worker", i, n.Role)
		}
	}
	if cp != 1 {
		return nil, fmt.Errorf("nodes: %d control-plane nodes; faultline clusters have exactly one", cp)
	}
	return &cfg, nil
}

// TopologyOf reads the topology a configuration's worker labels describe.
// Zones keep the order their first node appears in; workers without a
// zone label are refused, because every fault selector works by zone.
func TopologyOf(cfg *v1alpha4.Cluster) (platform.Topology, error) {
	var t platform.Topology
	regionAt := map[string]int{}
	zoneAt := map[[2]string]int{}
	for i, n := range cfg.Nodes {
		if n.Role == v1alpha4.ControlPlaneRole {
			continue
		}
		zone, region := n.Labels[LabelZone], n.Labels[LabelRegion]
		if zone == "" {
			return platform.Topology{}, fmt.Errorf("nodes[%d].labels: a worker needs %s", i, LabelZone)
		}
		ri, ok := regionAt[region]
		if !ok {
			ri = len(t.Regions)
			regionAt[region] = ri
			t.Regions = append(t.Regions, platform.Region{Name: region})
		}
		key := [2]string{region, zone}
		zi, ok := zoneAt[key]
		if !ok {
			zi = len(t.Regions[ri].Zones)
			zoneAt[key] = zi
			t.Regions[ri].Zones = append(t.Regions[ri].Zones, platform.Zone{Name: zone})
		}
		t.Regions[ri].Zones[zi].Nodes++
	}
	if t.Size() == 0 {
		return platform.Topology{}, fmt.Errorf("nodes: no worker nodes")
	}
	return t, nil
}
