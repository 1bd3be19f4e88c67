package vitess

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// vitess-operator's API module (planetscale.dev/vitess-operator) links
// Vitess itself, which faultline never links, so the fields faultline
// sets and reads of planetscale.com/v2 are declared here, named and shaped
// as in the operator's pkg/apis/planetscale/v2 at v2.17.0; the schema
// tests check every object against the upstream CRD.

// VitessClusterGVK and VitessShardGVK are vitess-operator's kinds.
var (
	VitessClusterGVK = schema.GroupVersionKind{Group: "planetscale.com", Version: "v2", Kind: "VitessCluster"}
	VitessShardGVK   = schema.GroupVersionKind{Group: "planetscale.com", Version: "v2", Kind: "VitessShard"}
)

// VitessCluster is the operator's top-level object: images, cells,
// keyspaces and their tablet pools.
type VitessCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VitessClusterSpec    `json:"spec"`
	Status            *VitessClusterStatus `json:"status,omitempty"`
}

// DeepCopyObject implements runtime.Object, through JSON.
func (v *VitessCluster) DeepCopyObject() runtime.Object {
	b, _ := json.Marshal(v)
	out := &VitessCluster{}
	_ = json.Unmarshal(b, out)
	return out
}

// VitessClusterSpec is the part of a VitessCluster's spec faultline sets.
type VitessClusterSpec struct {
	Images           VitessImages             `json:"images"`
	GlobalLockserver *GlobalLockserver        `json:"globalLockserver,omitempty"`
	Cells            []VitessCellTemplate     `json:"cells"`
	VitessDashboard  *VitessDashboard         `json:"vitessDashboard,omitempty"`
	Keyspaces        []VitessKeyspaceTemplate `json:"keyspaces"`
	UpdateStrategy   *UpdateStrategy          `json:"updateStrategy,omitempty"`
}

// VitessImages are the images of every component.
type VitessImages struct {
	Vtctld         string       `json:"vtctld,omitempty"`
	Vtgate         string       `json:"vtgate,omitempty"`
	Vttablet       string       `json:"vttablet,omitempty"`
	Vtorc          string       `json:"vtorc,omitempty"`
	Vtbackup       string       `json:"vtbackup,omitempty"`
	Mysqld         *MysqldImage `json:"mysqld,omitempty"`
	MysqldExporter string       `json:"mysqldExporter,omitempty"`
}

// MysqldImage is the mysqld image, keyed by its flavour.
type MysqldImage struct {
	Mysql80Compatible string `json:"mysql80Compatible,omitempty"`
}

// GlobalLockserver is the topology store: an etcd the operator runs.
type GlobalLockserver struct {
	Etcd *EtcdLockserverTemplate `json:"etcd,omitempty"`
}

// EtcdLockserverTemplate is the operator-managed etcd.
type EtcdLockserverTemplate struct {
	Image     string                       `json:"image,omitempty"`
	Affinity  *corev1.Affinity             `json:"affinity,omitempty"`
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// VitessCellTemplate is one cell: faultline makes one per zone.
type VitessCellTemplate struct {
	// Name matches ^[A-Za-z0-9]([_.A-Za-z0-9]*[A-Za-z0-9])?$: no hyphens.
	Name    string            `json:"name"`
	Gateway VitessCellGateway `json:"gateway"`
}

// VitessCellGateway is the cell's vtgate Deployment.
type VitessCellGateway struct {
	Authentication *GatewayAuthentication      `json:"authentication,omitempty"`
	Replicas       *int32                      `json:"replicas,omitempty"`
	Resources      corev1.ResourceRequirements `json:"resources"`
	ExtraFlags     map[string]string           `json:"extraFlags,omitempty"`
	Affinity       *corev1.Affinity            `json:"affinity,omitempty"`
}

// GatewayAuthentication is vtgate's client authentication.
type GatewayAuthentication struct {
	Static *StaticAuthentication `json:"static,omitempty"`
}

// StaticAuthentication is a users file in a Secret.
type StaticAuthentication struct {
	Secret *SecretSource `json:"secret,omitempty"`
}

// SecretSource is one key of a Secret.
type SecretSource struct {
	Name string `json:"name,omitempty"`
	Key  string `json:"key"`
}

// VitessDashboard is vtctld.
type VitessDashboard struct {
	Cells      []string                    `json:"cells,omitempty"`
	Replicas   *int32                      `json:"replicas,omitempty"`
	Resources  corev1.ResourceRequirements `json:"resources"`
	ExtraFlags map[string]string           `json:"extraFlags,omitempty"`
}

// VitessKeyspaceTemplate is a keyspace: its durability policy, VTOrc and
// its shards.
type VitessKeyspaceTemplate struct {
	Name               string                       `json:"name"`
	DurabilityPolicy   string                       `json:"durabilityPolicy,omitempty"`
	TurndownPolicy     string                       `json:"turndownPolicy,omitempty"`
	VitessOrchestrator *VitessOrchestratorSpec      `json:"vitessOrchestrator,omitempty"`
	Partitionings      []VitessKeyspacePartitioning `json:"partitionings"`
}

// VitessOrchestratorSpec is VTOrc's Deployment (one per shard and cell).
type VitessOrchestratorSpec struct {
	Resources   corev1.ResourceRequirements `json:"resources"`
	ExtraFlags  map[string]string           `json:"extraFlags,omitempty"`
	Affinity    *corev1.Affinity            `json:"affinity,omitempty"`
	Tolerations []corev1.Toleration         `json:"tolerations,omitempty"`
}

// VitessKeyspacePartitioning splits a keyspace into shards.
type VitessKeyspacePartitioning struct {
	Equal *VitessKeyspaceEqualPartitioning `json:"equal,omitempty"`
}

// VitessKeyspaceEqualPartitioning is Parts shards of equal key ranges.
type VitessKeyspaceEqualPartitioning struct {
	Parts         int32               `json:"parts"`
	ShardTemplate VitessShardTemplate `json:"shardTemplate"`
}

// VitessShardTemplate is every shard's tablets.
type VitessShardTemplate struct {
	DatabaseInitScriptSecret SecretSource            `json:"databaseInitScriptSecret"`
	TabletPools              []VitessShardTabletPool `json:"tabletPools"`
}

// VitessShardTabletPool is a shard's tablets in one cell.
type VitessShardTabletPool struct {
	Cell                    string                            `json:"cell"`
	Type                    string                            `json:"type"`
	Replicas                int32                             `json:"replicas"`
	Vttablet                VttabletSpec                      `json:"vttablet"`
	Mysqld                  *MysqldSpec                       `json:"mysqld,omitempty"`
	DataVolumeClaimTemplate *corev1.PersistentVolumeClaimSpec `json:"dataVolumeClaimTemplate,omitempty"`
	Affinity                *corev1.Affinity                  `json:"affinity,omitempty"`
}

// VttabletSpec is the vttablet container.
type VttabletSpec struct {
	Resources  corev1.ResourceRequirements `json:"resources"`
	ExtraFlags map[string]string           `json:"extraFlags,omitempty"`
}

// MysqldSpec is the mysqld container.
type MysqldSpec struct {
	Resources corev1.ResourceRequirements `json:"resources"`
}

// UpdateStrategy says how the operator rolls changes out.
type UpdateStrategy struct {
	Type string `json:"type,omitempty"`
}

// VitessClusterStatus is what faultline reads of a VitessCluster.
type VitessClusterStatus struct {
	GatewayServiceName string                    `json:"gatewayServiceName,omitempty"`
	Keyspaces          map[string]KeyspaceStatus `json:"keyspaces,omitempty"`
}

// KeyspaceStatus counts a keyspace's shards and tablets.
type KeyspaceStatus struct {
	DesiredShards  int32 `json:"desiredShards,omitempty"`
	ReadyShards    int32 `json:"readyShards,omitempty"`
	DesiredTablets int32 `json:"desiredTablets,omitempty"`
	ReadyTablets   int32 `json:"readyTablets,omitempty"`
}

// VitessShard is the operator's per-shard object; faultline reads its
// status.
type VitessShard struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Status            VitessShardStatus `json:"status,omitempty"`
}

// VitessShardStatus says whether the shard has a primary and which
// (MasterAlias can lag behind VTOrc's reparents).
type VitessShardStatus struct {
	HasMaster     corev1.ConditionStatus `json:"hasMaster,omitempty"`
	ServingWrites corev1.ConditionStatus `json:"servingWrites,omitempty"`
	MasterAlias   string                 `json:"masterAlias,omitempty"`
}
