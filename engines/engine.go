// Package engines deploys databases onto clusters: one subpackage per
// engine, each at a pinned version with zone-aware placement.
package engines

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Protocols engines speak, which decide the workload's client.
const (
	ProtocolEtcd     = "etcd"
	ProtocolPostgres = "postgres"
	ProtocolMySQL    = "mysql"
)

// Spec says what to deploy.
type Spec struct {
	// Version is the engine version; empty is the engine's pinned default.
	Version string `json:"version,omitempty"`
	// Image overrides the engine's container image (kind, existing).
	Image string `json:"image,omitempty"`
	// Replicas is the number of members; zero is one per worker node.
	Replicas int `json:"replicas,omitempty"`
	// Options are engine-specific settings, validated by the engine.
	Options map[string]string `json:"options,omitempty"`
	// Images maps official image references (an operator's, its
	// operand's) to the images to run in their place: for nodes that
	// cannot pull the official ones (engine.images, --image-override).
	Images map[string]string `json:"images,omitempty"`
	// Artifacts is a directory where the engine records what it applies
	// to a cluster (the rendered charts and manifests); empty records
	// nothing. The runner sets it inside the run directory.
	Artifacts string `json:"-"`
}

// MapImage returns the image to run for the official reference ref: the
// one Images names, else the cluster's local stand-in
// (platform.MapImage), else ref.
func (s Spec) MapImage(c platform.Cluster, ref string) string {
	if r, ok := s.Images[ref]; ok {
		return r
	}
	if c == nil {
		return ref
	}
	return platform.MapImage(c, ref)
}

// Endpoint is an address a client can reach the engine at.
type Endpoint struct {
	// Node is the node serving this endpoint.
	Node   string `json:"node"`
	Zone   string `json:"zone,omitempty"`
	Region string `json:"region,omitempty"`
	// Addr is host:port, reachable from the harness.
	Addr string `json:"addr"`
	// Database, User and Password are set for SQL engines.
	Database string `json:"database,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"-"`
	// TLS, when set, is the material clients secure the connection with;
	// nil is a plaintext connection.
	TLS *TLS `json:"-"`
}

// TLS is the material of a TLS connection to an engine, in PEM.
type TLS struct {
	// CA is the certificate authority the server's certificate is checked
	// against.
	CA []byte
	// Cert and Key are the client's certificate and key, for engines that
	// authenticate clients by certificate (CockroachDB's root user);
	// empty for password authentication.
	Cert, Key []byte
	// ServerName is the name the server's certificate must carry; empty
	// is the endpoint's host.
	ServerName string
}

// Config builds the client's tls.Config.
func (t *TLS) Config() (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(t.CA) {
		return nil, errors.New("tls: no certificate in the CA")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if len(t.Cert) > 0 {
		pair, err := tls.X509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Engine deploys and describes one database. The runner calls Deploy,
// then WaitReady, then Endpoints, on a cluster it created for the run;
// tearing the engine down is deleting that cluster (an engine that leaves
// anything outside it implements Teardown).
type Engine interface {
	// Name is the engine's name in scenarios. It is constant.
	Name() string
	// Protocol is the wire protocol clients speak to it (ProtocolEtcd,
	// ProtocolPostgres, ProtocolMySQL). It is constant.
	Protocol() string
	// Deploy starts the engine on c as spec says, with its members placed
	// across c's zones, and returns once everything it needs is created
	// or started; it need not wait until the engine serves. spec has
	// passed Validate. Calling Deploy again with the same spec on the same
	// cluster changes nothing that is already in place (server-side apply,
	// processes that already run are left running). An error leaves what
	// was started for the cluster's deletion to remove.
	Deploy(ctx context.Context, c platform.Cluster, spec Spec) error
	// WaitReady blocks until the engine serves: every member is up, a
	// leader (or primary of every shard) is elected, and a client can
	// write through Endpoints. It returns ctx's error if ctx ends first,
	// and an error naming what is not ready (a member, a pod and its
	// events) when the engine cannot become ready. It may be called
	// again after faults are healed, to wait for recovery.
	WaitReady(ctx context.Context, c platform.Cluster) error
	// Endpoints lists where clients reach the engine from the harness,
	// one per member or per serving address, in a stable order, with the
	// zone and region of the node behind each. It is valid after
	// WaitReady and stays valid across faults (a restarted member keeps
	// its address).
	Endpoints(ctx context.Context, c platform.Cluster) ([]Endpoint, error)
}

// Leadership is who leads an engine (its leader, primary or leaseholder of
// the workload's range), and in which term or timeline.
type Leadership struct {
	// Node is the node the leader runs on.
	Node string `json:"node"`
	// Term is the leader's term, timeline or epoch, if the engine has one.
	Term uint64 `json:"term,omitempty"`
	// Shard names what the leader leads, for engines with several leaders
	// (a Vitess keyspace/shard, a CockroachDB range); empty for one.
	Shard string `json:"shard,omitempty"`
}

// Leader is implemented by engines that can name their leader.
type Leader interface {
	// Leader returns the current leader, or an error if there is none
	// (an election in progress) or it cannot be asked. It does not wait
	// for an election.
	Leader(ctx context.Context, c platform.Cluster) (Leadership, error)
}

// Leaders is implemented by engines with several leaders at once (one
// primary per shard), for the target `primaries` and for the leader
// changes on the run's timeline.
type Leaders interface {
	// Leaders returns the current leader of every shard, sorted by Shard.
	// A shard without a leader is left out; an error means the engine
	// could not be asked at all.
	Leaders(ctx context.Context, c platform.Cluster) ([]Leadership, error)
}

// Target is where a scenario asks an engine to run: what Validate checks a
// Spec against before anything starts.
type Target struct {
	// Platform is the platform's name (local, kind, existing), for
	// messages; decisions belong on Capabilities.
	Platform string
	// Capabilities is what the platform's clusters offer.
	Capabilities platform.Capabilities
	// Workers is the number of worker nodes in the topology.
	Workers int
	// Topology is the scenario's topology.
	Topology platform.Topology
	// StandIns are the local images the platform's clusters will run in
	// place of official ones (official → local), where the platform
	// knows them before a cluster exists (platform.StandInLister; kind:
	// the builds of `faultline images build` its Docker daemon holds),
	// so that an engine whose way of deploying depends on them says what
	// a run would deploy. Nil when not known.
	StandIns map[string]string
}

// Validator is implemented by engines that check a Spec (options,
// replicas, version) and the platform before anything starts. It returns
// every problem, each naming the field relative to the engine section
// ("options.foo: …", "replicas: …", or "engine.…"), and does no I/O but
// looking for installed programs.
type Validator interface {
	Validate(spec Spec, t Target) []error
}

// PlatformNeeds is implemented by engines that run only on some kinds of
// platform (installed server binaries need a ProcessHost; an operator
// needs Kubernetes).
type PlatformNeeds interface {
	// CanRunOn returns nil if the engine can run on clusters with caps,
	// or an error saying what it needs.
	CanRunOn(caps platform.Capabilities) error
}

// IsolationClaimer is implemented by engines that say what isolation they
// really provide when clients ask for a level, which may differ from the
// protocol's usual meaning (CockroachDB speaks PostgreSQL's protocol but
// runs every level as serializable; Vitess across shards isolates
// nothing).
type IsolationClaimer interface {
	// ClaimedIsolation returns the level (an elle.Level name: read-committed,
	// snapshot-isolation, serializable…) an append check holds the engine
	// to when clients ask for isolation (a SQL level name: read-committed,
	// repeatable-read, serializable) under spec, or "" to leave it to the
	// protocol.
	ClaimedIsolation(spec Spec, isolation string) string
}

// Manifester is implemented by engines deployed on Kubernetes, which say
// what they would install without a cluster (`faultline manifests`, `run
// --dry-run`, and the schema tests).
type Manifester interface {
	// Manifests returns what Deploy installs for spec on a Kubernetes
	// cluster of t's topology, in order: charts with the values passed to
	// them, release manifests with the images they rewrite, and the
	// objects the engine generates. It does no I/O; images are the
	// official ones mapped by spec.Images only. t.StandIns, when set,
	// may decide which way the engine deploys, as the cluster's would.
	Manifests(spec Spec, t Target) (kube.Plan, error)
}

// Teardown is implemented by engines that create something deleting the
// cluster does not remove (a directory of built programs is not that; an
// object in a cluster faultline did not create is).
type Teardown interface {
	// Teardown removes what Deploy created on c. It is idempotent and
	// treats what is already gone as removed.
	Teardown(ctx context.Context, c platform.Cluster) error
}

// PodSet says which pods on a Kubernetes cluster are an engine's: those in
// Namespace whose labels include Labels (empty: every pod in Namespace).
type PodSet struct {
	Namespace string
	Labels    map[string]string
	// Containers names the engine's own containers (not sidecars), for
	// faults on containers; empty is every container.
	Containers []string
}

// PodOwner is implemented by engines deployed on Kubernetes, so that
// faults that act on pods (Chaos Mesh experiments, pod deletion) hit the
// engine's pods and nothing else (not its operator).
type PodOwner interface {
	// Pods returns the engine's pods on c. It does no I/O and is valid
	// once Deploy has returned; it fails on a cluster the engine is not
	// deployed on with Kubernetes.
	Pods(c platform.Cluster) (PodSet, error)
}

// Defaults is implemented by engines that document their options.
type Defaults interface {
	// DefaultVersion is the pinned version deployed when Spec.Version is
	// empty.
	DefaultVersion() string
	// Options describes each option and its default.
	Options() map[string]string
}

// NotInstalledError says that a program an engine runs is not installed on
// this machine: the one validation error a test may skip on.
type NotInstalledError struct {
	// Program is what is missing ("initdb", "mariadbd", "vttablet").
	Program string
	// Install says how to get it.
	Install string
}

// Error implements error.
func (e *NotInstalledError) Error() string {
	if e.Install == "" {
		return e.Program + " is not installed"
	}
	return e.Program + " is not installed; " + e.Install
}

// Set is a fixed list of engines, looked up by name.
type Set []Engine

// Lookup returns the engine with the given name.
func (s Set) Lookup(name string) (Engine, error) {
	for _, e := range s {
		if e.Name() == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("unknown engine %q (known: %s)", name, strings.Join(s.Names(), ", "))
}

// Names lists the engines' names, sorted.
func (s Set) Names() []string {
	out := make([]string, 0, len(s))
	for _, e := range s {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// Finding is one line of `faultline doctor` about an engine.
type Finding struct {
	// Item names what was looked at ("programs", "mysqld").
	Item string
	// OK is false when the engine cannot run for want of it.
	OK bool
	// Detail says what was found, or what is missing and how to get it.
	Detail string
}

// Doctor is implemented by engines that need more than installed server
// binaries (programs built from source, a choice of servers): `faultline
// doctor` lists their findings instead of a validation on a one-node
// cluster.
type Doctor interface {
	// Doctor reports on what the engine needs on this machine. It builds,
	// downloads and starts nothing.
	Doctor() []Finding
}

// Describer is implemented by engines whose deployment needs more words
// than a name and version in the report: programs built with changes, the
// server flavour that ran.
type Describer interface {
	// Describe says in one line what runs on c after Deploy, or "".
	Describe(c platform.Cluster) string
}

// TableRouter is implemented by engines that must be told how a table is
// keyed before clients write to it (a sharded Vitess keyspace routes rows
// by its VSchema).
type TableRouter interface {
	// RouteTable makes the engine route table, just created, by its key
	// column, and returns once clients can write to it. It is idempotent.
	RouteTable(ctx context.Context, c platform.Cluster, table, key string) error
}
