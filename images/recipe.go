package images

import (
	"bufio"
	"fmt"
	"sort"
	"strings"
)

// k8sCommands are the k8s.io/kubernetes programs the node needs: the first
// three go into the node, the rest into control-plane images.
var k8sCommands = []string{
	"kubeadm", "kubelet", "kubectl",
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
}

// nodePackages are the Debian packages of the node's root filesystem (what
// kind's base image installs, from Debian).
var nodePackages = []string{
	"systemd", "conntrack", "iptables", "nftables", "iproute2", "ethtool",
	"util-linux", "mount", "kmod", "libseccomp2", "pigz", "bash",
	"ca-certificates", "curl", "jq", "procps", "runc", "socat", "iputils-ping",
	"netcat-openbsd",
}

// miniPackages are the userland of kube-proxy, podnet and the local-path
// helper (they call iptables, ip and sh).
var miniPackages = []string{"iptables", "nftables", "conntrack", "iproute2", "kmod", "ipset"}

// component is a container image the node preloads into containerd.
type component struct {
	// Ref is the name kubeadm or a manifest expects.
	Ref string
	// Aliases are further names of the same image.
	Aliases []string
	// Mini says the image is based on the small Debian userland; else it
	// is FROM scratch with the static files.
	Mini bool
	// Bin is the built program (a file name in the build's bin directory)
	// and Dest where it goes in the image; no Bin means the bare base.
	Bin, Dest string
	// Entrypoint, when set, is the image's ENTRYPOINT.
	Entrypoint []string
}

// podnetImage is the image of faultline's CNI daemon, named in podnetManifest.
const podnetImage = "localhost/faultline/podnet:v1"

// Images kind's v0.30.0 storage manifest names (kind's own local-path
// provisioner build and its helper).
const (
	storageProvisionerImage = "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a"
	storageHelperImage      = "docker.io/kindest/local-path-helper:v20241212-8ac705d0"
)

// components lists the images preloaded into the node, under the names
// `kubeadm config images list` gives for v.Kubernetes.
func (v Versions) components() []component {
	reg := "registry.k8s.io/"
	return []component{
		{Ref: reg + "kube-apiserver:" + v.Kubernetes, Bin: "kube-apiserver", Dest: "/usr/local/bin/kube-apiserver"},
		{Ref: reg + "kube-controller-manager:" + v.Kubernetes, Bin: "kube-controller-manager", Dest: "/usr/local/bin/kube-controller-manager"},
		{Ref: reg + "kube-scheduler:" + v.Kubernetes, Bin: "kube-scheduler", Dest: "/usr/local/bin/kube-scheduler"},
		{Ref: reg + "kube-proxy:" + v.Kubernetes, Mini: true, Bin: "kube-proxy", Dest: "/usr/local/bin/kube-proxy"},
		{Ref: reg + "etcd:" + strings.TrimPrefix(v.ControlPlaneEtcd, "v") + "-0", Bin: "etcd-cp", Dest: "/usr/local/bin/etcd"},
		{Ref: reg + "coredns/coredns:" + v.CoreDNS, Bin: "coredns", Dest: "/coredns", Entrypoint: []string{"/coredns"}},
		{Ref: reg + "pause:" + v.Pause, Aliases: []string{reg + "pause:" + v.PauseSandbox}, Bin: "pause", Dest: "/pause", Entrypoint: []string{"/pause"}},
		{Ref: podnetImage, Mini: true, Bin: "podnet", Dest: "/usr/local/bin/podnet"},
		{Ref: storageProvisionerImage, Bin: "local-path-provisioner", Dest: "/usr/local/bin/local-path-provisioner"},
		{Ref: storageHelperImage, Mini: true},
	}
}

// dockerfile builds c from base ("scratch" gets the static files too).
func (c component) dockerfile(miniRef string) string {
	var b strings.Builder
	if c.Mini {
		fmt.Fprintf(&b, "FROM %s\n", miniRef)
	} else {
		b.WriteString("FROM scratch\nCOPY static/ /\n")
	}
	if c.Bin != "" {
		fmt.Fprintf(&b, "COPY bin %s\n", c.Dest)
	}
	b.WriteString("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
	if len(c.Entrypoint) > 0 {
		fmt.Fprintf(&b, "ENTRYPOINT [%s]\n", quoteList(c.Entrypoint))
	}
	return b.String()
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// staticFiles are the files of a FROM scratch image besides its program,
// as in distroless/static (users, groups, name service, a /tmp).
var staticFiles = map[string]string{
	"etc/passwd":        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
	"etc/group":         "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
	"etc/nsswitch.conf": "hosts: files dns\n",
}

// k8sGoMod is the go.mod of the throwaway module that builds Kubernetes:
// k8s.io/kubernetes replaces its staging modules with relative paths, so
// each is pinned to the matching v0.Y.Z release. staging are the module
// paths k8s.io/kubernetes's go.mod replaces.
func k8sGoMod(v Versions, staging []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "module faultline.local/kbuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", v.Kubernetes)
	sv := stagingVersion(v.Kubernetes)
	sorted := append([]string(nil), staging...)
	sort.Strings(sorted)
	for _, m := range sorted {
		fmt.Fprintf(&b, "\t%s => %s %s\n", m, m, sv)
	}
	b.WriteString(")\n")
	return b.String()
}

// stagingVersion maps v1.Y.Z to v0.Y.Z.
func stagingVersion(kube string) string { return "v0." + strings.TrimPrefix(kube, "v1.") }

// stagingModules reads the modules k8s.io/kubernetes's go.mod replaces
// with ./staging paths.
func stagingModules(gomod string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && strings.HasPrefix(f[0], "k8s.io/") && f[1] == "=>" && strings.HasPrefix(f[2], "./staging/") {
			out = append(out, f[0])
		}
	}
	return out
}

// k8sLDFlags stamps the version that kubeadm checks into both version
// packages.
func k8sLDFlags(kube string) string {
	minor := strings.SplitN(strings.TrimPrefix(kube, "v"), ".", 3)[1]
	flags := []string{"-s", "-w"}
	for _, p := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", p+".gitVersion="+kube, "-X", p+".gitMajor=1", "-X", p+".gitMinor="+minor,
			"-X", p+".gitCommit=0000000000000000000000000000000000000000",
			"-X", p+".gitTreeState=clean", "-X", p+".buildDate=2026-01-01T00:00:00Z")
	}
	return strings.Join(flags, " ")
}

// etcdGoMod is the go.mod of a throwaway module that builds etcd at
// version: etcd's own modules replace each other with relative paths.
func etcdGoMod(version string) string {
	return fmt.Sprintf(`module faultline.local/etcdbuild

go 1.24

require (
	go.etcd.io/etcd/server/v3 %[1]s
	go.etcd.io/etcd/etcdctl/v3 %[1]s
)

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 %[1]s
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 %[1]s
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 %[1]s
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 %[1]s
	go.etcd.io/etcd/server/v3 => go.etcd.io/etcd/server/v3 %[1]s
	go.etcd.io/etcd/etcdctl/v3 => go.etcd.io/etcd/etcdctl/v3 %[1]s
)
`, version)
}

// podnetManifest deploys podnet on every node. kind templates the file
// (the magic comment line) and fills in the cluster's pod subnet.
const podnetManifest = `# podnet: faultline's pod network (stand-in for kindnetd)
# would you kindly template this file
apiVersion: v1
kind: ServiceAccount
metadata: {name: podnet, namespace: kube-system}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: podnet}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [list, watch, get]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: podnet}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: podnet}
subjects:
- {kind: ServiceAccount, name: podnet, namespace: kube-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: podnet
  namespace: kube-system
  labels: {app: podnet}
spec:
  selector: {matchLabels: {app: podnet}}
  template:
    metadata: {labels: {app: podnet}}
    spec:
      hostNetwork: true
      tolerations: [{operator: Exists}]
      priorityClassName: system-node-critical
      serviceAccountName: podnet
      containers:
      - name: podnet
        image: ` + podnetImage + `
        imagePullPolicy: Never
        command: ["/usr/local/bin/podnet"]
        env:
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: POD_SUBNET
          value: "{{ .PodSubnet }}"
        volumeMounts:
        - {name: cni-cfg, mountPath: /etc/cni/net.d}
        - {name: xtables-lock, mountPath: /run/xtables.lock}
        resources:
          requests: {cpu: 50m, memory: 30Mi}
          limits: {memory: 60Mi}
        securityContext:
          capabilities: {add: ["NET_RAW", "NET_ADMIN"]}
      volumes:
      - name: cni-cfg
        hostPath: {path: /etc/cni/net.d}
      - name: xtables-lock
        hostPath: {path: /run/xtables.lock, type: FileOrCreate}
`

// baseSetup is run in the node's root filesystem (chroot) to make it the
// kind base image: systemd as kind's base Dockerfile configures it.
const baseSetup = `set -eu
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/*
rm -f /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
grep -q '^ReadKMsg=no' /etc/systemd/journald.conf || echo ReadKMsg=no >> /etc/systemd/journald.conf
ln -sf /lib/systemd/systemd /sbin/init
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
mkdir -p /etc/kubernetes/manifests
# No CAP_SYS_RESOURCE in restricted sandboxes: runc cannot lower
# oom_score_adj (pod sandboxes ask for -998); clamp as kind does rootless.
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
grep -q 'restrict_oom_score_adj = true' /etc/containerd/config.toml
ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
`

// nodeEntrypoint is kind's node entrypoint.
var nodeEntrypoint = []string{"/usr/local/bin/entrypoint", "/sbin/init"}

// baseDockerfile gives the imported root filesystem raw the image
// settings of kind's base image (docker import cannot set STOPSIGNAL).
func baseDockerfile(raw string) string {
	return "FROM " + raw + "\n" +
		"ENV container=docker\n" +
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" +
		"STOPSIGNAL SIGRTMIN+3\n" +
		"ENTRYPOINT [" + quoteList(nodeEntrypoint) + "]\n"
}
