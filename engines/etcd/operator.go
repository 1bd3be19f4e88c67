package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// etcd-operator, pinned (see engines.md in the project's notes): v0.2.0,
// released 2026-03-18, the latest tag.
const (
	OperatorVersion     = "v0.2.0"
	OperatorManifestURL = "https://raw.githubusercontent.com/etcd-io/etcd-operator/" + OperatorVersion + "/dist/install-" + OperatorVersion + ".yaml"
	OperatorImage       = "gcr.io/etcd-development/etcd-operator:" + OperatorVersion
	OperatorNamespace   = "etcd-operator-system"
	OperatorDeployment  = "etcd-operator-controller-manager"
	// OperatorEtcdVersion is the etcd the EtcdCluster runs when
	// engine.version is empty: a 3.6 release, the line the operator is
	// built and tested against.
	OperatorEtcdVersion = "v3.6.14"
)

// EtcdClusterGVK is the kind of etcd-operator's clusters.
var EtcdClusterGVK = schema.GroupVersionKind{Group: "operator.etcd.io", Version: "v1alpha1", Kind: "EtcdCluster"}

// EtcdCluster is etcd-operator's cluster, with the v0.2.0 fields faultline
// sets (the operator's API module is not served to faultline's builds).
type EtcdCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              EtcdClusterSpec `json:"spec"`
}

// EtcdClusterSpec is the cluster's size, version, image and storage.
type EtcdClusterSpec struct {
	Size          int          `json:"size"`
	Version       string       `json:"version"`
	ImageRegistry string       `json:"imageRegistry,omitempty"`
	StorageSpec   *StorageSpec `json:"storageSpec,omitempty"`
	EtcdOptions   []string     `json:"etcdOptions,omitempty"`
}

// StorageSpec gives each member a volume; without it a restarted pod
// loses its data.
type StorageSpec struct {
	VolumeSizeRequest string `json:"volumeSizeRequest"`
}

// DeepCopyObject implements runtime.Object, through JSON.
func (c *EtcdCluster) DeepCopyObject() runtime.Object {
	b, _ := json.Marshal(c)
	out := &EtcdCluster{}
	_ = json.Unmarshal(b, out)
	return out
}

// operatorEtcdVersion is the EtcdCluster's version.
func operatorEtcdVersion(spec engines.Spec) string {
	if spec.Version != "" {
		return "v" + trimV(spec.Version)
	}
	return OperatorEtcdVersion
}

func trimV(v string) string {
	if len(v) > 0 && v[0] == 'v' {
		return v[1:]
	}
	return v
}

// memberServiceName names the Service faultline puts in front of member
// i, to reach it from the harness.
func memberServiceName(i int) string { return kubeName + "-member-" + strconv.Itoa(i) }

// operatorPlan is what the operator deployment installs: etcd-operator's
// release manifest, then the namespace, the EtcdCluster and one Service
// per member (the operator's pods are named NAME-0…).
func operatorPlan(spec engines.Spec, c platform.Cluster, size int, cfg config) (kube.Plan, error) {
	src := cfg.OperatorSource
	if src == "" {
		src = OperatorManifestURL
	}
	m := &kube.ReleaseManifest{Source: src, PullIfNotPresent: true}
	if img := spec.MapImage(c, OperatorImage); img != OperatorImage {
		m.Images = map[string]string{OperatorImage: img}
	}
	registry := OfficialImage
	if spec.Image != "" {
		registry = spec.Image
	}
	ec := &EtcdCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: EtcdClusterGVK.GroupVersion().String(), Kind: EtcdClusterGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: kubeName, Namespace: KubeNamespace, Labels: map[string]string{labelManagedBy: "faultline"}},
		Spec: EtcdClusterSpec{
			Size:          size,
			Version:       operatorEtcdVersion(spec),
			ImageRegistry: registry,
			StorageSpec:   &StorageSpec{VolumeSizeRequest: "1Gi"},
			EtcdOptions:   cfg.operatorArgs(),
		},
	}
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KubeNamespace, Labels: map[string]string{labelManagedBy: "faultline"}}},
		ec,
	}
	for i := range size {
		objs = append(objs, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: memberServiceName(i), Namespace: KubeNamespace, Labels: map[string]string{labelManagedBy: "faultline"}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"statefulset.kubernetes.io/pod-name": kubeName + "-" + strconv.Itoa(i)},
				Ports:    []corev1.ServicePort{{Name: "client", Port: defaultClientPort, TargetPort: intstr.FromInt(defaultClientPort)}},
			},
		})
	}
	u, err := kube.ToUnstructured(objs...)
	if err != nil {
		return nil, err
	}
	return kube.Plan{
		{Name: "operator", Manifest: m, Images: []string{spec.MapImage(c, OperatorImage)}},
		{Name: "cluster", Objects: u, Images: []string{registry + ":" + operatorEtcdVersion(spec)}},
	}, nil
}

// operatorArgs are the etcd flags passed through etcdOptions (the
// operator sets names, URLs and the data directory itself).
func (c config) operatorArgs() []string {
	var out []string
	for _, a := range c.args() {
		if len(a) > 12 && a[:12] == "--log-level=" {
			continue
		}
		out = append(out, a)
	}
	return append(out, "--log-level="+c.LogLevel)
}

// deployOperator installs etcd-operator and an EtcdCluster of n members,
// waits until the operator's StatefulSet has every member ready, and
// reaches each member through its own Service. Members land where the
// scheduler puts them: v0.2.0 cannot ask for a spread over zones.
func deployOperator(ctx context.Context, c platform.Cluster, k platform.Kubernetes, spec engines.Spec, cfg config) (deployment, error) {
	chosen, err := memberNodes(ctx, c, spec.Replicas)
	if err != nil {
		return nil, err
	}
	size := len(chosen)
	kc, err := kube.Connect(k)
	if err != nil {
		return nil, err
	}
	p, err := operatorPlan(spec, c, size, cfg)
	if err != nil {
		return nil, err
	}
	if err := p[:1].Install(ctx, kc, spec.Artifacts); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, rolloutTimeout)
	defer cancel()
	if err := (kube.Waiter{C: kc, Namespaces: []string{OperatorNamespace}}).WaitDeployment(wctx, OperatorNamespace, OperatorDeployment); err != nil {
		return nil, err
	}
	if err := p[1:].Install(ctx, kc, spec.Artifacts); err != nil {
		return nil, err
	}
	w := kube.Waiter{C: kc, Namespaces: []string{KubeNamespace, OperatorNamespace}}
	stsGVK := appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	// The operator grows the cluster one learner at a time.
	if err := kube.WaitFor(wctx, w, stsGVK, KubeNamespace, kubeName, func(s *appsv1.StatefulSet) (bool, string) {
		return int(s.Status.ReadyReplicas) == size, fmt.Sprintf("%d of %d members ready", s.Status.ReadyReplicas, size)
	}); err != nil {
		return nil, err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	d := &localDeployment{names: map[uint64]string{}}
	for i := range size {
		pod, err := kc.Typed.CoreV1().Pods(KubeNamespace).Get(ctx, kubeName+"-"+strconv.Itoa(i), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		node, _ := platform.Find(nodes, pod.Spec.NodeName)
		r, err := kube.ReachService(ctx, c, kc, KubeNamespace, memberServiceName(i), defaultClientPort)
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member{node: node, client: r.Addr, peer: net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(defaultPeerPort))})
	}
	return d, nil
}
