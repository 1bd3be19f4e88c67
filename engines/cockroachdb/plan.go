package cockroachdb

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cockroachdb/helm-charts/pkg/upstream/cockroach-operator/api/v1beta1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Names of what the charts create.
const (
	// Namespace holds a one-region deployment; a multi-region one has a
	// namespace per region, Namespace-REGION, as the maintainers lay out
	// one operator per region.
	Namespace = "faultline-crdb"
	// Fullname is the database release's fullnameOverride: the
	// CrdbCluster's name and the prefix of its Services and Secrets.
	Fullname = "cockroachdb"
	// OperatorDeployment is the operator chart's Deployment.
	OperatorDeployment = "cockroach-operator"
	// SQLPort is CockroachDB's SQL port.
	SQLPort = 26257

	labelRegion       = "topology.kubernetes.io/region"
	labelZone         = "topology.kubernetes.io/zone"
	labelControlPlane = "node-role.kubernetes.io/control-plane"
	labelManagedBy    = "app.kubernetes.io/managed-by"
)

// region is one region of the deployment: its name (the locality and
// the CrdbCluster's region code), namespace and CockroachDB nodes.
type region struct {
	Name, Namespace string
	Nodes           int
}

// regions lays the topology out: one namespace for one region, one per
// region otherwise; each region's nodes are its workers (engine.replicas
// caps a one-region deployment).
func regions(spec engines.Spec, t platform.Topology) []region {
	var out []region
	for _, r := range t.Regions {
		n := 0
		for _, z := range r.Zones {
			n += z.Nodes
		}
		out = append(out, region{Name: r.Name, Namespace: Namespace + "-" + r.Name, Nodes: n})
	}
	if len(out) == 1 {
		out[0].Namespace = Namespace
		if spec.Replicas > 0 {
			out[0].Nodes = spec.Replicas
		}
	}
	return out
}

// image is the CockroachDB image: engine.image, else the official one of
// engine.version.
func image(spec engines.Spec, c platform.Cluster) string {
	if spec.Image != "" {
		return spec.Image
	}
	v := spec.Version
	if v == "" {
		v = DefaultVersion
	}
	return spec.MapImage(c, CockroachRepo+":"+v)
}

// plan is what Deploy installs: the namespaces, then region by region the
// operator (scoped to the region's namespace, cloudRegion the region) and
// the database chart, whose regions list the earlier regions first so
// that each joins the ones installed before it.
func plan(spec engines.Spec, t platform.Topology, c platform.Cluster, cfg config) (kube.Plan, error) {
	opSrc, err := chartSource(cfg.OperatorChart, operatorChartPath, "cockroachdb-operator-chart", OperatorChartVersion)
	if err != nil {
		return nil, fmt.Errorf("engine.options.operator-chart: %w", err)
	}
	dbSrc, err := chartSource(cfg.DatabaseChart, databaseChartPath, "cockroachdb-chart", DatabaseChartVersion)
	if err != nil {
		return nil, fmt.Errorf("engine.options.database-chart: %w", err)
	}
	rs := regions(spec, t)
	var nss []runtime.Object
	for _, r := range rs {
		nss = append(nss, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.Namespace, Labels: map[string]string{labelManagedBy: "faultline"}}})
	}
	objs, err := kube.ToUnstructured(nss...)
	if err != nil {
		return nil, err
	}
	p := kube.Plan{{Name: "namespaces", Objects: objs}}
	var codes []v1beta1.CrdbClusterRegion
	for _, r := range rs {
		code := v1beta1.CrdbClusterRegion{Code: r.Name, Nodes: int32(r.Nodes), Namespace: r.Namespace}
		if len(rs) > 1 {
			code.Domain = "cluster.local"
		}
		codes = append(codes, code)
		ov := operatorChartValues(spec, c, r.Name, r.Namespace)
		if cfg.OperatorOnControlPlane {
			ov.NodeSelector = map[string]string{labelControlPlane: ""}
			ov.Tolerations = []corev1.Toleration{{Key: labelControlPlane, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}
		p = append(p,
			kube.Step{Name: "operator-" + r.Name, Chart: &kube.Chart{Source: opSrc, Release: "crdb-operator", Namespace: r.Namespace, Values: ov},
				Images: []string{spec.MapImage(c, OperatorImage)}},
			kube.Step{Name: "database-" + r.Name, Chart: &kube.Chart{Source: dbSrc, Release: Fullname, Namespace: r.Namespace,
				Values: databaseChartValues(spec, c, cfg, r, append([]v1beta1.CrdbClusterRegion(nil), codes...), len(rs) > 1)},
				Images: databaseImages(spec, c, cfg)},
		)
	}
	return p, nil
}

func databaseImages(spec engines.Spec, c platform.Cluster, cfg config) []string {
	out := []string{image(spec, c), spec.MapImage(c, InitContainerImage)}
	if cfg.TLS {
		out = append(out, spec.MapImage(c, CertReloaderImage), spec.MapImage(c, SelfSignerImage))
	}
	return out
}

func databaseChartValues(spec engines.Spec, c platform.Cluster, cfg config, r region, codes []v1beta1.CrdbClusterRegion, multi bool) databaseValues {
	res := corev1.ResourceList{corev1.ResourceCPU: cfg.CPU, corev1.ResourceMemory: cfg.Memory}
	reg, repo, tag := splitRef(spec.MapImage(c, SelfSignerImage))
	v := databaseValues{
		K8s: k8sValues{FullnameOverride: Fullname},
		CockroachDB: cockroachValue{
			ClusterDomain: "cluster.local",
			TLS: tlsValues{Enabled: cfg.TLS, SelfSigner: selfSignerValues{
				Enabled: cfg.TLS,
				Image:   imageValues{Registry: reg, Repository: repo, Tag: tag, PullPolicy: string(corev1.PullIfNotPresent)},
			}},
			CrdbCluster: crdbCluster{
				Image:   crdbImage{Name: image(spec, c), PullPolicy: string(corev1.PullIfNotPresent)},
				Regions: codes,
				DataStore: dataStore{VolumeClaimTemplate: claimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: cfg.Storage}},
				}}},
				Pod: podTemplate{
					Metadata: podMetadata{Labels: map[string]string{"app.kubernetes.io/component": "cockroachdb"}},
					Spec: podSpec{
						Containers: []container{{Name: "cockroachdb", Resources: corev1.ResourceRequirements{Requests: res, Limits: res.DeepCopy()}}},
						TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
							MaxSkew: 1, TopologyKey: labelZone, WhenUnsatisfiable: corev1.DoNotSchedule,
						}},
					},
				},
			},
		},
	}
	if multi {
		v.CockroachDB.CrdbCluster.Pod.Spec.NodeSelector = map[string]string{labelRegion: r.Name}
	}
	return v
}
