package cloudnativepg

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The CloudNativePG API module is not served to faultline's builds, so the
// few fields faultline sets and reads of postgresql.cnpg.io/v1 Cluster
// are declared here, named and shaped as in CloudNativePG's
// api/v1/cluster_types.go (v1.30.0); the schema tests check every object
// against the upstream CRD.

// ClusterGVK is the kind of a CloudNativePG cluster.
var ClusterGVK = schema.GroupVersionKind{Group: "postgresql.cnpg.io", Version: "v1", Kind: "Cluster"}

// Cluster is a CloudNativePG Cluster.
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ClusterSpec    `json:"spec"`
	Status            *ClusterStatus `json:"status,omitempty"`
}

// ClusterSpec is the part of a Cluster's spec faultline sets.
type ClusterSpec struct {
	Instances       int                          `json:"instances"`
	ImageName       string                       `json:"imageName,omitempty"`
	ImagePullPolicy corev1.PullPolicy            `json:"imagePullPolicy,omitempty"`
	Storage         StorageConfiguration         `json:"storage"`
	Affinity        AffinityConfiguration        `json:"affinity"`
	PostgreSQL      *PostgresConfiguration       `json:"postgresql,omitempty"`
	FailoverDelay   *int32                       `json:"failoverDelay,omitempty"`
	SwitchoverDelay *int32                       `json:"switchoverDelay,omitempty"`
	PrimaryLease    *PrimaryLeaseConfiguration   `json:"primaryLease,omitempty"`
	Resources       *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// StorageConfiguration is the instances' volume.
type StorageConfiguration struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass,omitempty"`
}

// AffinityConfiguration places the instances.
type AffinityConfiguration struct {
	EnablePodAntiAffinity *bool  `json:"enablePodAntiAffinity,omitempty"`
	TopologyKey           string `json:"topologyKey,omitempty"`
	// PodAntiAffinityType is required or preferred.
	PodAntiAffinityType string `json:"podAntiAffinityType,omitempty"`
}

// PostgresConfiguration holds the replication settings.
type PostgresConfiguration struct {
	Parameters  map[string]string         `json:"parameters,omitempty"`
	Synchronous *SynchronousReplicaConfig `json:"synchronous,omitempty"`
}

// SynchronousReplicaConfig is quorum- or priority-based synchronous
// replication.
type SynchronousReplicaConfig struct {
	// Method is any (quorum) or first (priority).
	Method string `json:"method"`
	// Number is how many standbys must acknowledge a commit.
	Number int `json:"number"`
	// DataDurability is required (writes stop without enough standbys)
	// or preferred (they go on, asynchronously).
	DataDurability string `json:"dataDurability,omitempty"`
	// FailoverQuorum makes a failover wait for a quorum of standbys to
	// agree the promoted one has every synchronous commit.
	FailoverQuorum *bool `json:"failoverQuorum,omitempty"`
}

// PrimaryLeaseConfiguration is the Kubernetes Lease the primary holds.
type PrimaryLeaseConfiguration struct {
	LeaseDurationSeconds *int32 `json:"leaseDurationSeconds,omitempty"`
	RenewDeadlineSeconds *int32 `json:"renewDeadlineSeconds,omitempty"`
}

// ClusterStatus is the part of a Cluster's status faultline reads.
type ClusterStatus struct {
	Instances               int                `json:"instances,omitempty"`
	ReadyInstances          int                `json:"readyInstances,omitempty"`
	Phase                   string             `json:"phase,omitempty"`
	PhaseReason             string             `json:"phaseReason,omitempty"`
	CurrentPrimary          string             `json:"currentPrimary,omitempty"`
	TargetPrimary           string             `json:"targetPrimary,omitempty"`
	TimelineID              int                `json:"timelineID,omitempty"`
	CurrentPrimaryTimestamp string             `json:"currentPrimaryTimestamp,omitempty"`
	Conditions              []metav1.Condition `json:"conditions,omitempty"`
}

// PhaseHealthy is the phase of a Cluster whose instances all serve.
const PhaseHealthy = "Cluster in healthy state"

// DeepCopyObject implements runtime.Object, through JSON (the Cluster
// holds only JSON values).
func (c *Cluster) DeepCopyObject() runtime.Object {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("cloudnativepg: copy Cluster: %v", err))
	}
	out := &Cluster{}
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("cloudnativepg: copy Cluster: %v", err))
	}
	return out
}
