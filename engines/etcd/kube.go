package etcd

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Where etcd runs on Kubernetes.
const (
	// KubeNamespace holds the deployment; Deploy recreates it, so that a
	// reused cluster starts from nothing.
	KubeNamespace = "faultline-etcd"
	kubeName      = "etcd"
	// OfficialImage is the image repository of etcd's own releases, used
	// with the version when engine.image is empty.
	OfficialImage = "gcr.io/etcd-development/etcd"
	// etcdBinary is where etcd's images (and faultline's) keep etcd.
	etcdBinary = "/usr/local/bin/etcd"
	dataMount  = "/var/lib/etcd"
	// rolloutTimeout bounds the wait for the members' pods to run.
	rolloutTimeout = 5 * time.Minute
)

// Label keys of the objects the deployment creates.
const (
	labelApp       = "app.kubernetes.io/name"
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelHostname  = "kubernetes.io/hostname"
	labelZone      = "topology.kubernetes.io/zone"
)

// kubeManifest is what deployKube applies.
type kubeManifest struct {
	Service     *corev1.Service
	StatefulSet *appsv1.StatefulSet
}

// kubeImage is the image members run: spec.Image, else etcd's official
// image of spec.Version (default: the version faultline is built with).
func kubeImage(spec engines.Spec, defaultVersion string) string {
	if spec.Image != "" {
		return spec.Image
	}
	v := spec.Version
	if v == "" {
		v = defaultVersion
	}
	return OfficialImage + ":v" + strings.TrimPrefix(v, "v")
}

// kubeManifests generates the objects of an etcd cluster whose members
// run on nodes (one each), for the cluster named token.
//
// Members use the node's network (hostNetwork): each listens on its
// node's address, so the harness reaches every member at node:2379 with
// no Service in between, and member-to-member traffic runs between node
// addresses, which is what faultline's partitions cut and its shaping
// delays. Members are named for their node (the downward API's
// spec.nodeName), which lets the initial cluster be written before the
// scheduler places the pods: a required node affinity keeps pods on the
// chosen nodes, anti-affinity puts one on each, and a topology spread
// constraint over zones documents (and, with more nodes than members,
// enforces) the spread. A headless Service gives the StatefulSet its
// identity. Data lives on a PersistentVolumeClaim of the default storage
// class (local-path on kind), which pins each pod to its node for good.
func kubeManifests(nodes []platform.Node, image, token string, cfg config) kubeManifest {
	labels := map[string]string{labelApp: kubeName, labelManagedBy: "faultline"}
	initial := make([]string, len(nodes))
	hostnames := make([]string, len(nodes))
	for i, n := range nodes {
		initial[i] = n.Name + "=http://" + net.JoinHostPort(n.Addr, strconv.Itoa(defaultPeerPort))
		hostnames[i] = n.Name
	}
	client := "http://$(HOST_IP):" + strconv.Itoa(defaultClientPort)
	peer := "http://$(HOST_IP):" + strconv.Itoa(defaultPeerPort)
	args := append([]string{
		"--name=$(NODE_NAME)",
		"--data-dir=" + dataMount + "/data",
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + strings.Join(initial, ","),
		"--initial-cluster-token=" + token,
		"--initial-cluster-state=new",
	}, cfg.args()...)
	selector := &metav1.LabelSelector{MatchLabels: labels}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: kubeName, Namespace: KubeNamespace, Labels: labels},
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 labels,
			PublishNotReadyAddresses: true,
			Ports: []corev1.ServicePort{
				{Name: "client", Port: defaultClientPort},
				{Name: "peer", Port: defaultPeerPort},
			},
		},
	}
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	pod := corev1.PodSpec{
		HostNetwork:                   true,
		DNSPolicy:                     corev1.DNSClusterFirstWithHostNet,
		TerminationGracePeriodSeconds: ptr.To[int64](10),
		Affinity: &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: labelHostname, Operator: corev1.NodeSelectorOpIn, Values: hostnames},
				}}},
			}},
			PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
				{LabelSelector: selector, TopologyKey: labelHostname},
			}},
		},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       labelZone,
			WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector:     selector,
		}},
		Containers: []corev1.Container{{
			Name:    kubeName,
			Image:   image,
			Command: []string{etcdBinary},
			Args:    args,
			Env:     []corev1.EnvVar{fieldEnv("NODE_NAME", "spec.nodeName"), fieldEnv("HOST_IP", "status.hostIP")},
			Ports: []corev1.ContainerPort{
				{Name: "client", ContainerPort: defaultClientPort},
				{Name: "peer", ContainerPort: defaultPeerPort},
			},
			ImagePullPolicy: corev1.PullIfNotPresent,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: dataMount}},
		}},
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: kubeName, Namespace: KubeNamespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(int32(len(nodes))),
			ServiceName: kubeName,
			// Members must start together to elect a leader.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            selector,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       pod,
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: labels},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("1Gi"),
					}},
				},
			}},
		},
	}
	return kubeManifest{Service: svc, StatefulSet: sts}
}

// deployKube deploys etcd on a Kubernetes cluster: one member on each of
// n worker nodes (spec.Replicas, default every worker), spread over the
// zones, as kubeManifests describes. It returns once the pods are
// running; WaitReady then waits for the cluster to serve. The members'
// addresses are their nodes', so endpoints, readiness and the leader
// work as for members on a ProcessHost.
func deployKube(ctx context.Context, c platform.Cluster, k platform.Kubernetes, spec engines.Spec, cfg config) (deployment, error) {
	chosen, err := memberNodes(ctx, c, spec.Replicas)
	if err != nil {
		return nil, err
	}
	kc, err := kube.Connect(k)
	if err != nil {
		return nil, err
	}
	image := kubeImage(spec, New().DefaultVersion())
	if spec.Image == "" {
		// A cluster without a registry may hold a local build of the
		// official image.
		image = spec.MapImage(c, image)
	}
	m := kubeManifests(chosen, image, "faultline-"+c.Name(), cfg)
	if err := kube.RecreateNamespace(ctx, kc.Typed, KubeNamespace, map[string]string{labelManagedBy: "faultline"}); err != nil {
		return nil, err
	}
	objs, err := kube.ToUnstructured(m.Service, m.StatefulSet)
	if err != nil {
		return nil, err
	}
	if err := kube.Apply(ctx, kc, objs, kube.ApplyOptions{}); err != nil {
		return nil, err
	}
	// The pods run once their images are there and their volumes bound;
	// an image that cannot be pulled fails the wait at once.
	wctx, cancel := context.WithTimeout(ctx, rolloutTimeout)
	defer cancel()
	if err := (kube.Waiter{C: kc, Namespaces: []string{KubeNamespace}}).WaitStatefulSet(wctx, KubeNamespace, kubeName); err != nil {
		return nil, err
	}
	d := &localDeployment{names: map[uint64]string{}}
	for _, node := range chosen {
		d.members = append(d.members, member{
			node:   node,
			client: net.JoinHostPort(node.Addr, strconv.Itoa(defaultClientPort)),
			peer:   net.JoinHostPort(node.Addr, strconv.Itoa(defaultPeerPort)),
		})
	}
	return d, nil
}

// Pods implements engines.PodOwner: every pod in KubeNamespace is a member
// (the operator, when there is one, runs in its own namespace).
func (e *Engine) Pods(c platform.Cluster) (engines.PodSet, error) {
	if _, err := e.deployment(c); err != nil {
		return engines.PodSet{}, err
	}
	if _, ok := c.(platform.Kubernetes); !ok {
		return engines.PodSet{}, fmt.Errorf("etcd: cluster %s runs no pods", c.Name())
	}
	return engines.PodSet{Namespace: KubeNamespace, Containers: []string{kubeName}}, nil
}
