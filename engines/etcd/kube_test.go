package etcd

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

func TestKubeManifests(t *testing.T) {
	nodes := []platform.Node{
		{Name: "k-worker", Zone: "a", Addr: "10.0.0.2"},
		{Name: "k-worker2", Zone: "b", Addr: "10.0.0.3"},
		{Name: "k-worker3", Zone: "c", Addr: "10.0.0.4"},
	}
	cfg := defaultConfig()
	cfg.ElectionTimeout = 500_000_000
	m := kubeManifests(nodes, "faultline/etcd:test", "faultline-k", cfg)
	sts := m.StatefulSet
	if *sts.Spec.Replicas != 3 || sts.Namespace != KubeNamespace || sts.Spec.ServiceName != m.Service.Name {
		t.Errorf("statefulset: replicas %d, namespace %s, service %s", *sts.Spec.Replicas, sts.Namespace, sts.Spec.ServiceName)
	}
	pod := sts.Spec.Template.Spec
	if !pod.HostNetwork {
		t.Error("members must use the node's network, so that partitions between nodes cut their traffic")
	}
	c := pod.Containers[0]
	if c.Image != "faultline/etcd:test" || c.Command[0] != etcdBinary {
		t.Errorf("container image %s command %v", c.Image, c.Command)
	}
	want := []string{
		"--name=$(NODE_NAME)",
		"--listen-client-urls=http://$(HOST_IP):2379",
		"--initial-advertise-peer-urls=http://$(HOST_IP):2380",
		"--initial-cluster=k-worker=http://10.0.0.2:2380,k-worker2=http://10.0.0.3:2380,k-worker3=http://10.0.0.4:2380",
		"--initial-cluster-token=faultline-k",
		"--election-timeout=500",
	}
	for _, a := range want {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args lack %s: %v", a, c.Args)
		}
	}
	// Every $(VAR) the args use is defined by the downward API.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.ValueFrom.FieldRef.FieldPath
	}
	if env["NODE_NAME"] != "spec.nodeName" || env["HOST_IP"] != "status.hostIP" {
		t.Errorf("env = %v", env)
	}
	aff := pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
	if aff.Key != labelHostname || !slices.Equal(aff.Values, []string{"k-worker", "k-worker2", "k-worker3"}) {
		t.Errorf("node affinity %+v", aff)
	}
	if pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != labelHostname {
		t.Error("no anti-affinity over hostnames")
	}
	ts := pod.TopologySpreadConstraints[0]
	if ts.TopologyKey != labelZone || ts.MaxSkew != 1 || ts.WhenUnsatisfiable != corev1.DoNotSchedule {
		t.Errorf("topology spread %+v", ts)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || c.VolumeMounts[0].Name != sts.Spec.VolumeClaimTemplates[0].Name {
		t.Error("data is not on a persistent volume claim")
	}
	if m.Service.Spec.ClusterIP != corev1.ClusterIPNone || !m.Service.Spec.PublishNotReadyAddresses {
		t.Errorf("service %+v", m.Service.Spec)
	}
}

func TestKubeImage(t *testing.T) {
	tests := []struct {
		spec engines.Spec
		want string
	}{
		{engines.Spec{}, OfficialImage + ":v3.7.3"},
		{engines.Spec{Version: "3.6.5"}, OfficialImage + ":v3.6.5"},
		{engines.Spec{Version: "v3.6.5", Image: "faultline/etcd:x"}, "faultline/etcd:x"},
	}
	for _, tt := range tests {
		if got := kubeImage(tt.spec, "v3.7.3"); got != tt.want {
			t.Errorf("kubeImage(%+v) = %s, want %s", tt.spec, got, tt.want)
		}
	}
	if !strings.HasPrefix(kubeImage(engines.Spec{}, New().DefaultVersion()), OfficialImage+":v3.") {
		t.Error("default image does not follow the built-in version")
	}
}
