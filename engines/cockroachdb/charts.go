package cockroachdb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cockroachdb/helm-charts/pkg/upstream/cockroach-operator/api/v1beta1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/gomod"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// The charts' Go module: CockroachDB's helm-charts repository (Apache
// 2.0), which carries the operator and database charts, the v1beta1 CRDs
// and API types. faultline links the module for the types, so the Go
// module cache holds the charts at the same pinned version: that
// directory is the default chart source, read in place.
const (
	ChartsModule        = "github.com/cockroachdb/helm-charts"
	ChartsModuleVersion = "v0.0.0-20260828131910-3f65257a73c7"
	operatorChartPath   = "cockroachdb-parent/charts/operator"
	databaseChartPath   = "cockroachdb-parent/charts/cockroachdb"
	// OperatorChartVersion and DatabaseChartVersion are the charts at
	// ChartsModuleVersion.
	OperatorChartVersion = "1.0.0"
	DatabaseChartVersion = "26.3.1"
	// OperatorChartRepo and DatabaseOCI are where the maintainers publish the
	// charts, for users who point the sources there.
	OperatorChartRepo = "https://charts.cockroachdb.com/v2"
	DatabaseOCI       = "oci://registry-1.docker.io/cockroachdb/cockroachdb-chart"
)

// Images (the module's cockroachdb-parent/images.txt, at the pinned
// charts).
const (
	DefaultVersion     = "v26.3.1"
	CockroachRepo      = "docker.io/cockroachdb/cockroach"
	OperatorRegistry   = "docker.io/cockroachdb"
	OperatorRepository = "cockroachdb-operator-v2"
	OperatorTag        = "v1.0.0"
	InitContainerRepo  = "cockroachdb-init-container"
	CertReloaderRepo   = "cockroachdb-cert-reloader"
	SelfSignerImage    = "docker.io/cockroachdb/cockroach-self-signer-cert:1.10"
)

// OperatorImage, InitContainerImage and CertReloaderImage are the
// operator's images; the operator injects the last two into CockroachDB's
// pods.
var (
	OperatorImage      = OperatorRegistry + "/" + OperatorRepository + ":" + OperatorTag
	InitContainerImage = OperatorRegistry + "/" + InitContainerRepo + ":" + OperatorTag
	CertReloaderImage  = OperatorRegistry + "/" + CertReloaderRepo + ":" + OperatorTag
)

// moduleDir is the charts module's directory in the Go module cache,
// whether or not it exists.
func moduleDir() string { return gomod.Dir(ChartsModule, ChartsModuleVersion) }

// chartSource is the operator's or database's chart: the option's source,
// else the module directory.
func chartSource(opt, sub, name, version string) (kube.ChartSource, error) {
	if opt == "" {
		return kube.ChartSource{Dir: filepath.Join(moduleDir(), sub), Label: gomod.Label(ChartsModule, ChartsModuleVersion) + " " + sub}, nil
	}
	return kube.ParseChartSource(opt, name, version)
}

// CheckCharts says how to get the charts when their directory is missing.
func checkChart(src kube.ChartSource) error {
	if src.Dir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(src.Dir, "Chart.yaml")); err != nil {
		return fmt.Errorf("no chart at %s: fetch the module with `go mod download %s@%s`, or set options.operator-chart and options.database-chart", src.Dir, ChartsModule, ChartsModuleVersion)
	}
	return nil
}

// operatorValues are the operator chart's values faultline sets.
type operatorValues struct {
	Image           imageValues         `json:"image"`
	RelatedImages   relatedImages       `json:"relatedImages"`
	NumReplicas     int                 `json:"numReplicas"`
	CloudRegion     string              `json:"cloudRegion"`
	WatchNamespaces string              `json:"watchNamespaces"`
	NodeSelector    map[string]string   `json:"nodeSelector,omitempty"`
	Tolerations     []corev1.Toleration `json:"tolerations,omitempty"`
}

type imageValues struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	PullPolicy string `json:"pullPolicy"`
}

type relatedImages struct {
	InitContainer relatedImage `json:"initContainer"`
	Inotifywait   relatedImage `json:"inotifywait"`
}

type relatedImage struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// splitRef splits registry/repository:tag at its last slash and colon.
func splitRef(ref string) (registry, repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		i = len(ref)
	} else {
		tag = ref[i+1:]
	}
	path := ref[:i]
	j := strings.LastIndex(path, "/")
	if j < 0 {
		return "docker.io/library", path, tag
	}
	return path[:j], path[j+1:], tag
}

func operatorChartValues(spec engines.Spec, c platform.Cluster, region, namespace string) operatorValues {
	reg, repo, tag := splitRef(spec.MapImage(c, OperatorImage))
	ireg, irepo, itag := splitRef(spec.MapImage(c, InitContainerImage))
	creg, crepo, ctag := splitRef(spec.MapImage(c, CertReloaderImage))
	return operatorValues{
		Image: imageValues{Registry: reg, Repository: repo, Tag: tag, PullPolicy: string(corev1.PullIfNotPresent)},
		RelatedImages: relatedImages{
			InitContainer: relatedImage{Registry: ireg, Repository: irepo, Tag: itag},
			Inotifywait:   relatedImage{Registry: creg, Repository: crepo, Tag: ctag},
		},
		// One replica: the chart's three would take more than this
		// project's nodes hold; faults never target the control plane,
		// where it runs when asked to.
		NumReplicas:     1,
		CloudRegion:     region,
		WatchNamespaces: namespace,
	}
}

// databaseValues are the database chart's values faultline sets.
type databaseValues struct {
	K8s         k8sValues      `json:"k8s"`
	CockroachDB cockroachValue `json:"cockroachdb"`
}

type k8sValues struct {
	FullnameOverride string `json:"fullnameOverride"`
}

type cockroachValue struct {
	ClusterDomain string      `json:"clusterDomain"`
	TLS           tlsValues   `json:"tls"`
	CrdbCluster   crdbCluster `json:"crdbCluster"`
}

type tlsValues struct {
	Enabled    bool             `json:"enabled"`
	SelfSigner selfSignerValues `json:"selfSigner"`
}

type selfSignerValues struct {
	Enabled bool        `json:"enabled"`
	Image   imageValues `json:"image"`
}

type crdbCluster struct {
	Image     crdbImage                    `json:"image"`
	Regions   []v1beta1.CrdbClusterRegion  `json:"regions"`
	DataStore dataStore                    `json:"dataStore"`
	Pod       podTemplate                  `json:"podTemplate"`
	Settings  map[string]string            `json:"clusterSettings,omitempty"`
	Resources *corev1.ResourceRequirements `json:"-"`
}

type crdbImage struct {
	Name       string `json:"name"`
	PullPolicy string `json:"pullPolicy"`
}

type dataStore struct {
	VolumeClaimTemplate claimTemplate `json:"volumeClaimTemplate"`
}

type claimTemplate struct {
	Spec corev1.PersistentVolumeClaimSpec `json:"spec"`
}

type podTemplate struct {
	Metadata podMetadata `json:"metadata"`
	Spec     podSpec     `json:"spec"`
}

type podMetadata struct {
	Labels map[string]string `json:"labels"`
}

type podSpec struct {
	Containers                []container                       `json:"containers"`
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
	NodeSelector              map[string]string                 `json:"nodeSelector,omitempty"`
}

type container struct {
	Name      string                      `json:"name"`
	Resources corev1.ResourceRequirements `json:"resources"`
}
