package reports

import (
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/faults"
)

// Fault classes an expectation is stated for: what a fault does to the
// engine, whatever its mechanism (a kill, a stop, a pause or a partition
// of the leader all take the leader away).
const (
	ClassLeaderLoss   = "leader-loss"
	ClassFollowerLoss = "follower-loss"
	ClassNodeLoss     = "node-loss"
	ClassZoneLoss     = "zone-loss"
	ClassRegionLoss   = "region-loss"
)

// FaultClass is the class of a fault from its kind and target, or "" for
// faults no expectation covers (latency, loss, bandwidth, a baseline).
func FaultClass(kind, target string) string {
	switch FaultScope(kind, target) {
	case ScopeRegion:
		return ClassRegionLoss
	case ScopeZone:
		return ClassZoneLoss
	case ScopeNode:
		sel, _ := faults.ParseSelector(target)
		switch sel.Kind {
		case faults.SelLeader:
			return ClassLeaderLoss
		case faults.SelFollower:
			return ClassFollowerLoss
		}
		return ClassNodeLoss
	}
	return ""
}

// Expectation is what an engine's own documentation says it does under a
// class of fault, carried here with its source, so that the report can
// set it beside what was measured.
type Expectation struct {
	// Engine is the engine's name; Class the fault class.
	Engine, Class string
	// When, if set, restricts the expectation to engines whose options
	// (with defaults filled in by the caller's absence: a missing option
	// is its default) it accepts.
	When func(options map[string]string) bool `json:"-"`
	// Survives: writes resume while the fault is still in force.
	Survives bool
	// RTOMax is the longest recovery the documentation leads one to
	// expect; zero states none.
	RTOMax time.Duration
	// RPOZero: no acknowledged write may be lost.
	RPOZero bool
	// Text is the expectation in words; Source where it comes from
	// (repository@commit:path, or a documentation page), marked
	// [derived] where it is worked out from documented settings rather
	// than stated.
	Text, Source string
}

// Expectations lists every documented expectation, most specific first.
// The facts are from the engines' documentation as read for faultline
// (notes/engines.md of the project's shared notes, section 5, which cites
// each source).
func Expectations() []Expectation {
	etcdRTO := "etcd defaults --heartbeat-interval=100 --election-timeout=1000 (etcd-io/etcd server/etcdmain/help.go); [derived] a new leader within 1–3 s"
	cnpgDocs := "cloudnative-pg/cloudnative-pg v1.30.0 docs/src/failover.md; docs/src/replication.md"
	syncCNPG := func(o map[string]string) bool {
		return o["synchronous"] != "off" && o["data-durability"] != "preferred"
	}
	crdbDocs := "cockroachdb/docs src/current/v26.2 architecture/replication-layer.md (leader leases: \"a few seconds\"; 1–9 s of higher latency); data-resilience.md"
	vitessDocs := "vitessio/website content/en/docs/24.0 durability_policy.md, reference/programs/vtorc; vitessio/vitess#15555 (57 s with replica_net_timeout 60 s)"
	pgSingle := "faultline's postgres engine runs one instance and no standby (engines/postgres); PostgreSQL 15 docs, WAL reliability: fsync and synchronous_commit on make a commit durable"
	mariaSingle := "faultline's mariadb engine runs one instance (engines/mariadb); MariaDB docs: innodb_flush_log_at_trx_commit=1 flushes the redo log at every commit"
	durablePG := func(o map[string]string) bool { return o["fsync"] != "off" && o["synchronous_commit"] != "off" }
	durableMaria := func(o map[string]string) bool {
		v, ok := o["innodb_flush_log_at_trx_commit"]
		return !ok || v == "1"
	}
	return []Expectation{
		{Engine: "etcd", Class: ClassLeaderLoss, Survives: true, RTOMax: 3 * time.Second, RPOZero: true,
			Text: "a new leader is elected within 1–3 s; quorum commit loses nothing", Source: etcdRTO},
		{Engine: "etcd", Class: ClassFollowerLoss, Survives: true, RTOMax: time.Second, RPOZero: true,
			Text: "no interruption: the leader keeps its quorum", Source: "etcd FAQ (3 members tolerate one failure); notes/engines.md §5"},
		{Engine: "etcd", Class: ClassNodeLoss, Survives: true, RTOMax: 3 * time.Second, RPOZero: true,
			Text: "survives; at worst a leader election of 1–3 s", Source: etcdRTO},
		{Engine: "etcd", Class: ClassZoneLoss, Survives: true, RTOMax: 3 * time.Second, RPOZero: true,
			Text: "survives with one member per zone; at worst a leader election of 1–3 s", Source: etcdRTO + "; etcd FAQ"},
		{Engine: "etcd", Class: ClassRegionLoss, Survives: true, RTOMax: 3 * time.Second, RPOZero: true,
			Text: "survives with one member per region; at worst a leader election of 1–3 s", Source: etcdRTO + "; etcd FAQ"},

		{Engine: "cloudnativepg", Class: ClassLeaderLoss, When: syncCNPG, Survives: true, RTOMax: 35 * time.Second, RPOZero: true,
			Text: "the operator promotes a standby: about 5–35 s for a killed or deleted primary pod [derived]; quorum synchronous replication loses nothing", Source: cnpgDocs},
		{Engine: "cloudnativepg", Class: ClassLeaderLoss, Survives: true, RTOMax: 35 * time.Second,
			Text: "the operator promotes a standby in about 5–35 s [derived]; asynchronous replication can lose acknowledged writes", Source: cnpgDocs},
		{Engine: "cloudnativepg", Class: ClassFollowerLoss, Survives: true, RTOMax: time.Second, RPOZero: true,
			Text: "a standby's loss triggers no failover", Source: cnpgDocs},
		{Engine: "cloudnativepg", Class: ClassNodeLoss, When: syncCNPG, Survives: true, RTOMax: 70 * time.Second, RPOZero: true,
			Text: "node loss is detected in 40–55 s (node-monitor-grace-period), failover in about 45–70 s in all", Source: cnpgDocs},
		{Engine: "cloudnativepg", Class: ClassZoneLoss, When: syncCNPG, Survives: true, RTOMax: 70 * time.Second, RPOZero: true,
			Text: "zone loss is detected in 40–55 s (node-monitor-grace-period), failover in about 45–70 s in all", Source: cnpgDocs},
		{Engine: "cloudnativepg", Class: ClassZoneLoss, Survives: true, RTOMax: 70 * time.Second,
			Text: "failover in about 45–70 s; asynchronous replication can lose acknowledged writes", Source: cnpgDocs},
		{Engine: "cloudnativepg", Class: ClassRegionLoss, Survives: false,
			Text: "no automatic failover across regions: the maintainers' design is replica clusters, promoted by hand", Source: "cloudnative-pg/cloudnative-pg v1.30.0 docs/src/architecture.md"},

		{Engine: "cockroachdb", Class: ClassLeaderLoss, Survives: true, RTOMax: 9 * time.Second, RPOZero: true,
			Text: "leases move in a few seconds (1–9 s of higher latency); Raft quorum commit loses nothing", Source: crdbDocs},
		{Engine: "cockroachdb", Class: ClassNodeLoss, Survives: true, RTOMax: 9 * time.Second, RPOZero: true,
			Text: "leases move in a few seconds; Raft quorum commit loses nothing", Source: crdbDocs},
		{Engine: "cockroachdb", Class: ClassZoneLoss, Survives: true, RTOMax: 9 * time.Second, RPOZero: true,
			Text: "survives a zone with RF 3 over three zones; leases move in a few seconds", Source: crdbDocs},
		{Engine: "cockroachdb", Class: ClassRegionLoss, When: func(o map[string]string) bool { return o["survival"] == "region" },
			Survives: true, RTOMax: 9 * time.Second, RPOZero: true,
			Text: "SURVIVE REGION FAILURE keeps 5 voters: survives a region", Source: "cockroachdb/docs stable/multiregion-survival-goals"},

		{Engine: "vitess", Class: ClassLeaderLoss, Survives: true, RTOMax: 60 * time.Second, RPOZero: true,
			Text: "VTOrc runs EmergencyReparentShard: 5–20 s after a graceful loss, about 57 s after a hard one with default settings; semi-sync loses nothing", Source: vitessDocs},
		{Engine: "vitess", Class: ClassZoneLoss, Survives: true, RTOMax: 60 * time.Second, RPOZero: true,
			Text: "survives a cell's loss with cross_cell durability if the topology server keeps quorum; about 57 s with defaults", Source: vitessDocs},

		{Engine: "postgres", Class: ClassLeaderLoss, When: durablePG, Survives: false, RPOZero: true,
			Text: "a single instance: writes stop until it is back; a committed transaction survives the crash", Source: pgSingle},
		{Engine: "postgres", Class: ClassLeaderLoss, Survives: false,
			Text: "a single instance: writes stop until it is back; with fsync or synchronous_commit off a crash can lose commits", Source: pgSingle},
		{Engine: "postgres", Class: ClassNodeLoss, When: durablePG, Survives: false, RPOZero: true,
			Text: "a single instance: if its node is lost, writes stop until it is back", Source: pgSingle},
		{Engine: "postgres", Class: ClassZoneLoss, When: durablePG, Survives: false, RPOZero: true,
			Text: "a single instance: if its zone is lost, writes stop until it is back", Source: pgSingle},
		{Engine: "mariadb", Class: ClassLeaderLoss, When: durableMaria, Survives: false, RPOZero: true,
			Text: "a single instance: writes stop until it is back; with the redo log flushed at every commit nothing acknowledged is lost", Source: mariaSingle},
		{Engine: "mariadb", Class: ClassLeaderLoss, Survives: false,
			Text: "a single instance: writes stop until it is back; innodb_flush_log_at_trx_commit 0 or 2 can lose about a second of commits", Source: mariaSingle},
		{Engine: "mariadb", Class: ClassZoneLoss, When: durableMaria, Survives: false, RPOZero: true,
			Text: "a single instance: if its zone is lost, writes stop until it is back", Source: mariaSingle},
	}
}

// Expected returns the documented expectation for an engine with options
// under a fault class, and whether there is one.
func Expected(engine string, options map[string]string, class string) (Expectation, bool) {
	for _, e := range Expectations() {
		if e.Engine == engine && e.Class == class && (e.When == nil || e.When(options)) {
			return e, true
		}
	}
	return Expectation{}, false
}

// Misses says how a measurement falls short of the expectation, or "" if
// it does not: the engine did not survive a fault it is documented to
// survive, recovered more slowly than documented, or lost acknowledged
// writes its documentation says it keeps. rto is NaN when not measured,
// lost negative when not measured.
func (e Expectation) Misses(survived *bool, rto float64, recovered bool, lost float64) string {
	switch {
	case e.Survives && survived != nil && !*survived:
		return "documented to survive, it did not"
	case e.RTOMax > 0 && !recovered:
		return fmt.Sprintf("documented to recover within %s, it never did", e.RTOMax)
	case e.RTOMax > 0 && rto == rto && rto > e.RTOMax.Seconds():
		return fmt.Sprintf("RTO %.1f s, documented at most %s", rto, e.RTOMax)
	case e.RPOZero && lost > 0:
		return fmt.Sprintf("%.0f acknowledged writes lost, documented none", lost)
	}
	return ""
}
