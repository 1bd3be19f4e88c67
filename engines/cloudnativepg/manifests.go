package cloudnativepg

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Pinned versions and where they come from (see engines.md in the
// project's notes: CloudNativePG v1.30.0, released 2026-06-29).
const (
	// OperatorVersion is the operator release faultline installs.
	OperatorVersion = "1.30.0"
	// OperatorImage is the operator's official image; the operator also
	// injects it into every instance pod (its bootstrap init container).
	OperatorImage = "ghcr.io/cloudnative-pg/cloudnative-pg:" + OperatorVersion
	// ManifestURL is the operator's release manifest.
	ManifestURL = "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-1.30/releases/cnpg-" + OperatorVersion + ".yaml"
	// ChartRepo, ChartName and ChartVersion are the operator's Helm
	// chart (appVersion 1.30.0).
	ChartRepo    = "https://cloudnative-pg.github.io/charts"
	ChartName    = "cloudnative-pg"
	ChartVersion = "0.29.0"
	// OperandRepository is the official PostgreSQL image repository and
	// DefaultVersion the operator's default tag.
	OperandRepository = "ghcr.io/cloudnative-pg/postgresql"
	DefaultVersion    = "18.4-system-trixie"
)

// Where things run.
const (
	// OperatorNamespace and OperatorDeployment are the release
	// manifest's; the chart is given the same names.
	OperatorNamespace  = "cnpg-system"
	OperatorDeployment = "cnpg-controller-manager"
	// Namespace holds the database; ClusterName names its Cluster.
	Namespace   = "faultline-cnpg"
	ClusterName = "pg"
	// Port is PostgreSQL's.
	Port = 5432
)

const (
	labelZone         = "topology.kubernetes.io/zone"
	labelControlPlane = "node-role.kubernetes.io/control-plane"
	labelManagedBy    = "app.kubernetes.io/managed-by"
)

// operandImage is the PostgreSQL image instances run: engine.image, else
// the official image of engine.version, mapped to a stand-in.
func operandImage(spec engines.Spec, c platform.Cluster) string {
	if spec.Image != "" {
		return spec.Image
	}
	v := spec.Version
	if v == "" {
		v = DefaultVersion
	}
	return spec.MapImage(c, OperandRepository+":"+v)
}

// instances is how many instances the Cluster has: engine.replicas, else
// one per zone (at most one per worker).
func instances(spec engines.Spec, t platform.Topology) int {
	if spec.Replicas > 0 {
		return spec.Replicas
	}
	return min(len(t.Zones()), t.Size())
}

// chartValues are the cloudnative-pg chart's values faultline sets.
type chartValues struct {
	FullnameOverride string              `json:"fullnameOverride"`
	Image            chartImage          `json:"image"`
	NodeSelector     map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations      []corev1.Toleration `json:"tolerations,omitempty"`
}

type chartImage struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	PullPolicy string `json:"pullPolicy"`
}

// splitImage splits repo:tag (a digest stays with the repository).
func splitImage(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") || strings.Contains(ref, "@") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// plan is what Deploy installs: the operator, then the Cluster.
func plan(spec engines.Spec, t platform.Topology, c platform.Cluster, cfg config) (kube.Plan, error) {
	op, err := operatorStep(spec, c, cfg)
	if err != nil {
		return nil, err
	}
	objs, err := kube.ToUnstructured(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace, Labels: map[string]string{labelManagedBy: "faultline"}}},
		clusterObject(spec, t, c, cfg),
	)
	if err != nil {
		return nil, err
	}
	// The operator injects its own image into every instance pod.
	op.Images = []string{spec.MapImage(c, OperatorImage)}
	cluster := kube.Step{Name: "cluster", Objects: objs, Images: []string{operandImage(spec, c), spec.MapImage(c, OperatorImage)}}
	return kube.Plan{op, cluster}, nil
}

func operatorStep(spec engines.Spec, c platform.Cluster, cfg config) (kube.Step, error) {
	image := spec.MapImage(c, OperatorImage)
	var sel map[string]string
	var tol []corev1.Toleration
	if cfg.OperatorOnControlPlane {
		sel = map[string]string{labelControlPlane: ""}
		tol = []corev1.Toleration{{Key: labelControlPlane, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	}
	if cfg.Install == InstallChart {
		src := cfg.Source
		if src == "" {
			src = ChartRepo
		}
		cs, err := kube.ParseChartSource(src, ChartName, ChartVersion)
		if err != nil {
			return kube.Step{}, fmt.Errorf("engine.options.operator-source: %w", err)
		}
		repo, tag := splitImage(image)
		return kube.Step{Name: "operator", Chart: &kube.Chart{
			Source: cs, Release: "cnpg", Namespace: OperatorNamespace,
			Values: chartValues{
				FullnameOverride: OperatorDeployment,
				Image:            chartImage{Repository: repo, Tag: tag, PullPolicy: string(corev1.PullIfNotPresent)},
				NodeSelector:     sel, Tolerations: tol,
			},
		}}, nil
	}
	src := cfg.Source
	if src == "" {
		src = ManifestURL
	}
	m := &kube.ReleaseManifest{Source: src, PullIfNotPresent: true, NodeSelector: sel, Tolerations: tol}
	if image != OperatorImage {
		m.Images = map[string]string{OperatorImage: image}
	}
	return kube.Step{Name: "operator", Manifest: m}, nil
}

// clusterObject is the Cluster: instances spread over zones, the
// replication and failover settings of cfg, and Guaranteed QoS.
func clusterObject(spec engines.Spec, t platform.Topology, c platform.Cluster, cfg config) *Cluster {
	res := corev1.ResourceList{corev1.ResourceCPU: cfg.CPU, corev1.ResourceMemory: cfg.Memory}
	cl := &Cluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: ClusterGVK.GroupVersion().String(), Kind: ClusterGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: ClusterName, Namespace: Namespace, Labels: map[string]string{labelManagedBy: "faultline"}},
		Spec: ClusterSpec{
			Instances:       instances(spec, t),
			ImageName:       operandImage(spec, c),
			ImagePullPolicy: corev1.PullIfNotPresent,
			Storage:         StorageConfiguration{Size: cfg.Storage.String(), StorageClass: cfg.StorageClass},
			Affinity: AffinityConfiguration{
				EnablePodAntiAffinity: ptr.To(true),
				TopologyKey:           labelZone,
				PodAntiAffinityType:   cfg.AntiAffinity,
			},
			FailoverDelay:   ptr.To(cfg.FailoverDelay),
			SwitchoverDelay: ptr.To(cfg.SwitchoverDelay),
			PrimaryLease: &PrimaryLeaseConfiguration{
				LeaseDurationSeconds: ptr.To(cfg.LeaseDuration),
				RenewDeadlineSeconds: ptr.To(cfg.LeaseRenewDeadline),
			},
			Resources: &corev1.ResourceRequirements{Requests: res, Limits: res.DeepCopy()},
		},
	}
	if cfg.Synchronous != "off" {
		cl.Spec.PostgreSQL = &PostgresConfiguration{Synchronous: &SynchronousReplicaConfig{
			Method:         cfg.Synchronous,
			Number:         cfg.SyncNumber,
			DataDurability: cfg.DataDurability,
			FailoverQuorum: ptr.To(cfg.FailoverQuorum),
		}}
	}
	return cl
}
