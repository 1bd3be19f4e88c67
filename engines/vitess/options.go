package vitess

import (
	"fmt"
	"strconv"
	"time"

	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
)

// Durability policies (vtctldclient CreateKeyspace --durability-policy).
const (
	DurabilityNone      = "none"
	DurabilitySemiSync  = "semi_sync"
	DurabilityCrossCell = "cross_cell"
)

// How vitess is deployed on Kubernetes (option deploy).
const (
	DeployAuto        = "auto"
	DeployStatefulSet = "statefulset"
	DeployOperator    = "operator"
)

// Transaction modes (vtgate --transaction-mode).
const (
	TxSingle = "SINGLE"
	TxMulti  = "MULTI"
	TxTwoPC  = "TWOPC"
)

var options = localdb.Options{
	"durability": {
		Doc:     "the keyspace's durability policy (vtctldclient CreateKeyspace --durability-policy): none (asynchronous replication: a failover can lose acknowledged writes), semi_sync (a commit waits for one replica's ack) or cross_cell (for one replica's ack in another cell)",
		Default: DurabilitySemiSync,
		Check:   localdb.OneOf(DurabilityNone, DurabilitySemiSync, DurabilityCrossCell),
	},
	"shards": {
		Doc:     "shards of the keyspace: 1 is unsharded; more shard it by a hash vindex on each table's key, the worker nodes divided evenly between the shards, each shard's tablets spread over the zones",
		Default: "1",
		Check:   localdb.IntRange(1, 16),
	},
	"flavor": {
		Doc:     "the mysqld the tablets run: mariadb (Debian's MariaDB, with faultline's MariaDB compatibility changes built into the Vitess programs) or mysql (a MySQL 8.0/8.4 server installed on this machine, with stock Vitess programs)",
		Default: string(dist.MariaDB),
		Check:   localdb.OneOf(string(dist.MariaDB), string(dist.MySQL)),
	},
	"transaction_mode": {
		Doc:     "vtgate --transaction-mode: SINGLE refuses transactions across shards; MULTI commits them shard by shard (best effort: a commit can be partial, and nothing isolates them across shards); TWOPC commits them atomically with two-phase commit",
		Default: TxMulti,
		Check:   localdb.OneOf(TxSingle, TxMulti, TxTwoPC),
	},
	"vtorc_instance_poll_time": {
		Doc:     "how often VTOrc polls each tablet (vtorc --instance-poll-time): detection of a dead primary takes up to about this long",
		Default: "5s",
		Check:   durationRange(100*time.Millisecond, time.Hour),
	},
	"vtorc_recovery_poll_duration": {
		Doc:     "how often VTOrc looks for a recovery to run (vtorc --recovery-poll-duration)",
		Default: "1s",
		Check:   durationRange(100*time.Millisecond, time.Hour),
	},
	"vtorc_wait_replicas_timeout": {
		Doc:     "how long an emergency reparent waits for replicas to answer (vtorc --wait-replicas-timeout)",
		Default: "30s",
		Check:   durationRange(time.Second, time.Hour),
	},
	"vtorc_topo_refresh": {
		Doc:     "how often VTOrc rereads tablets and keyspaces from the topology (vtorc --topo-information-refresh-duration)",
		Default: "15s",
		Check:   durationRange(time.Second, time.Hour),
	},
	"vtorc_remote_operation_timeout": {
		Doc:     "how long VTOrc waits for a tablet's answer (vtorc --remote-operation-timeout); a recovery holds the shard's lock meanwhile, so while a dead tablet is still recorded as primary (a killed primary whose node has not come back) each attempt to demote it delays the next failover by up to this long",
		Default: "15s",
		Check:   durationRange(time.Second, time.Hour),
	},
	"vtorc_prevent_cross_cell_failover": {
		Doc:     "whether VTOrc only promotes a tablet in the dead primary's cell (vtorc --prevent-cross-cell-failover)",
		Default: "false",
		Check:   localdb.OneOf("true", "false"),
	},
	"replica_net_timeout": {
		Doc:     "seconds a replica waits for data from its primary before it takes the connection for dead (mysqld slave_net_timeout; heartbeats every half of it): until then VTOrc sees an unreachable primary whose replicas still replicate, and does not fail over",
		Default: "60",
		Check:   localdb.IntRange(2, 3600),
	},
	"deploy": {
		Doc:     "how vitess is deployed on Kubernetes (kind, existing): statefulset (faultline's manifests and its Vitess image, faultline/vitess: the topology server, vtctld, VTOrc and a vtgate per cell on the control-plane node, a StatefulSet of tablets per cell pinned to its zone), operator (vitess-operator with vitess/lite, MySQL 8), or auto: statefulset where the cluster holds faultline's Vitess image (kind after `faultline images build vitess`), else operator; with statefulset, engine.image replaces faultline's image",
		Default: DeployAuto,
		Check:   localdb.OneOf(DeployAuto, DeployStatefulSet, DeployOperator),
	},
	"vtgate_buffer": {
		Doc:     "whether vtgate holds primary traffic during a failover instead of failing it (vtgate --enable-buffer, window 10s, at most 20s per failover)",
		Default: "true",
		Check:   localdb.OneOf("true", "false"),
	},
}

func durationRange(lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("%q is not a duration from %s to %s", v, lo, hi)
		}
		return nil
	}
}

// config is a deployment's parsed options.
type config struct {
	Durability      string
	Shards          int
	Flavor          dist.Flavor
	TransactionMode string
	VTOrc           vtorcConfig
	Buffer          bool
	// Deploy is how vitess is deployed on Kubernetes (DeployAuto,
	// DeployStatefulSet, DeployOperator).
	Deploy string
	// ReplicaNetTimeout is mysqld's slave_net_timeout, in seconds.
	ReplicaNetTimeout int
}

// vtorcConfig is VTOrc's knobs that bound failover time.
type vtorcConfig struct {
	InstancePollTime         time.Duration
	RecoveryPollDuration     time.Duration
	WaitReplicasTimeout      time.Duration
	TopoRefresh              time.Duration
	RemoteOperationTimeout   time.Duration
	PreventCrossCellFailover bool
}

// parseConfig returns the options with defaults filled in, or every
// problem, each naming the field.
func parseConfig(set map[string]string) (config, []error) {
	v, errs := allOptions().Parse(set)
	if len(errs) > 0 {
		return config{}, errs
	}
	shards, _ := strconv.Atoi(v["shards"])
	dur := func(k string) time.Duration { d, _ := time.ParseDuration(v[k]); return d }
	return config{
		Durability:        v["durability"],
		Shards:            shards,
		Flavor:            dist.Flavor(v["flavor"]),
		TransactionMode:   v["transaction_mode"],
		Buffer:            v["vtgate_buffer"] == "true",
		Deploy:            v["deploy"],
		ReplicaNetTimeout: func() int { n, _ := strconv.Atoi(v["replica_net_timeout"]); return n }(),
		VTOrc: vtorcConfig{
			InstancePollTime:         dur("vtorc_instance_poll_time"),
			RecoveryPollDuration:     dur("vtorc_recovery_poll_duration"),
			WaitReplicasTimeout:      dur("vtorc_wait_replicas_timeout"),
			TopoRefresh:              dur("vtorc_topo_refresh"),
			RemoteOperationTimeout:   dur("vtorc_remote_operation_timeout"),
			PreventCrossCellFailover: v["vtorc_prevent_cross_cell_failover"] == "true",
		},
	}, nil
}

// args are VTOrc's flags for c.
func (c vtorcConfig) args() []string {
	return []string{
		"--instance-poll-time=" + c.InstancePollTime.String(),
		"--recovery-poll-duration=" + c.RecoveryPollDuration.String(),
		"--wait-replicas-timeout=" + c.WaitReplicasTimeout.String(),
		"--topo-information-refresh-duration=" + c.TopoRefresh.String(),
		"--remote-operation-timeout=" + c.RemoteOperationTimeout.String(),
		"--prevent-cross-cell-failover=" + strconv.FormatBool(c.PreventCrossCellFailover),
		"--allow-emergency-reparent=true",
		"--allow-recovery=true",
	}
}
