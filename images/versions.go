package images

// Versions pins every input of the images. Kubernetes v1.34.4 with the node
// recipe of kind v0.30.0 is the pair proven on these machines; kind
// v0.30.0's base files are identical to v0.33.0's, the kind library
// faultline links, which boots nodes of older Kubernetes versions.
type Versions struct {
	// Kind is the kind release whose base files (images/base/files) and
	// storage manifest the node image takes.
	Kind string `json:"kind"`
	// Kubernetes is the k8s.io/kubernetes module version of kubelet,
	// kubeadm, kubectl and the control plane.
	Kubernetes string `json:"kubernetes"`
	// Containerd is the node's containerd (github.com/containerd/containerd/v2).
	Containerd string `json:"containerd"`
	// CNIPlugins is github.com/containernetworking/plugins.
	CNIPlugins string `json:"cniPlugins"`
	// ControlPlaneEtcd is the etcd kubeadm runs (registry.k8s.io/etcd:<v>-0).
	ControlPlaneEtcd string `json:"controlPlaneEtcd"`
	// CoreDNS is github.com/coredns/coredns.
	CoreDNS string `json:"coredns"`
	// Pause is the pause image tag kubeadm expects; PauseSandbox the one
	// the kind base files' containerd config names.
	Pause        string `json:"pause"`
	PauseSandbox string `json:"pauseSandbox"`
	// LocalPath is github.com/rancher/local-path-provisioner.
	LocalPath string `json:"localPath"`
	// Netlink is github.com/vishvananda/netlink, which podnet uses.
	Netlink string `json:"netlink"`
	// Etcd is the engine image's etcd (go.etcd.io/etcd/server/v3).
	Etcd string `json:"etcd"`
	// Debian is the suite the node's root filesystem is bootstrapped from.
	Debian string `json:"debian"`
}

// Pinned returns the versions faultline builds.
func Pinned() Versions {
	return Versions{
		Kind:             "v0.30.0",
		Kubernetes:       "v1.34.4",
		Containerd:       "v2.1.4",
		CNIPlugins:       "v1.7.1",
		ControlPlaneEtcd: "v3.6.5",
		CoreDNS:          "v1.12.1",
		Pause:            "3.10.1",
		PauseSandbox:     "3.10",
		LocalPath:        "v0.0.30",
		Netlink:          "v1.3.1",
		Etcd:             "v3.7.3",
		Debian:           "bookworm",
	}
}

// Official images for users who can pull, used when no local build exists.
const (
	// OfficialKindNode is kind v0.33.0's default node image.
	OfficialKindNode = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
	// OfficialEtcd is the etcd project's image of the engine's version.
	OfficialEtcd = "gcr.io/etcd-development/etcd:v3.7.3"
)
