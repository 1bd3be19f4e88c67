// Package vitess deploys Vitess on the local platform: one cell per zone,
// a keyspace of one or more shards, a tablet (mysqld and vttablet) on
// every worker node in its zone's cell, semi-sync durability, VTOrc for
// automatic failover, and a vtgate per cell, with the topology server
// (etcd), vtctld, VTOrc and the vtgates on the cluster's control-plane
// node. The Vitess programs come from package dist: built from the Go
// module vitess.io/vitess with faultline's MariaDB compatibility changes
// for Debian's MariaDB, or stock for a MySQL 8 server.
package vitess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/platform"
)

// Name is the engine's name in scenarios.
const Name = "vitess"

// Options configure the engine for every run.
type Options struct {
	// Bin is a directory of Vitess programs to run instead of
	// faultline's build (the --vitess-bin flag); empty is
	// FAULTLINE_VITESS_BIN, else the build in the cache, made on first
	// use.
	Bin string
	// CacheDir is where builds are kept; empty is
	// ~/.cache/faultline/vitess.
	CacheDir string
	// Log receives the build's progress and the deployment's steps; nil
	// is standard error.
	Log io.Writer
}

// Engine deploys Vitess. It remembers what it deployed on each cluster,
// by cluster name, so that one Engine serves concurrent runs.
type Engine struct {
	opts Options

	mu          sync.Mutex
	deployments map[string]*deployment
	operators   map[string]*opDeployment
}

var (
	_ engines.Engine           = (*Engine)(nil)
	_ engines.Leader           = (*Engine)(nil)
	_ engines.Leaders          = (*Engine)(nil)
	_ engines.Validator        = (*Engine)(nil)
	_ engines.Defaults         = (*Engine)(nil)
	_ engines.PlatformNeeds    = (*Engine)(nil)
	_ engines.IsolationClaimer = (*Engine)(nil)
	_ engines.Doctor           = (*Engine)(nil)
	_ engines.Manifester       = (*Engine)(nil)
	_ engines.Teardown         = (*Engine)(nil)
	_ engines.PodOwner         = (*Engine)(nil)
	_ engines.Describer        = (*Engine)(nil)
	_ engines.TableRouter      = (*Engine)(nil)
)

// New returns the vitess engine.
func New(opts Options) *Engine {
	return &Engine{opts: opts, deployments: map[string]*deployment{}, operators: map[string]*opDeployment{}}
}

// Name implements engines.Engine.
func (e *Engine) Name() string { return Name }

// Protocol implements engines.Engine: clients speak MySQL to vtgate.
func (e *Engine) Protocol() string { return engines.ProtocolMySQL }

// DefaultVersion implements engines.Defaults: the Vitess release of the
// pinned module, v24.0.4.
func (e *Engine) DefaultVersion() string { return dist.Release(dist.ModuleVersion) }

// Options implements engines.Defaults.
func (e *Engine) Options() map[string]string { return allOptions().Docs() }

func (e *Engine) log() io.Writer {
	if e.opts.Log != nil {
		return e.opts.Log
	}
	return os.Stderr
}

func (e *Engine) distOptions(flavor dist.Flavor) dist.Options {
	return dist.Options{Bin: e.opts.Bin, CacheDir: e.opts.CacheDir, Flavor: flavor}
}

// Programs returns the Vitess programs a deployment of flavor would run,
// without building them: a *dist.NotBuiltError when they are not built
// yet (Deploy builds them).
func (e *Engine) Programs(flavor dist.Flavor) (dist.Dist, error) {
	return dist.Find(e.distOptions(flavor))
}

// Server returns the installed mysqld of flavor, described ("MariaDB
// 10.11.19-MariaDB-0+deb12u1"), or a *engines.NotInstalledError.
func (e *Engine) Server(flavor dist.Flavor) (string, error) {
	s, err := findServer(flavor)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}

// CanRunOn implements engines.PlatformNeeds: the tablets are processes
// on the nodes (local), or pods of vitess-operator (Kubernetes).
func (e *Engine) CanRunOn(caps platform.Capabilities) error {
	if !caps.Processes && !caps.Kubernetes {
		return errors.New("vitess runs its programs and mysqld as processes on the nodes (platform local) or through vitess-operator on Kubernetes (kind, existing)")
	}
	return nil
}

// Validate implements engines.Validator: the options, one tablet per
// worker node divided evenly between the shards (with the replicas the
// durability policy needs), the version, an installed mysqld of the
// flavour, and programs the user pointed at. Programs not yet built are
// no problem: Deploy builds them.
func (e *Engine) Validate(spec engines.Spec, t engines.Target) []error {
	if err := e.CanRunOn(t.Capabilities); err != nil {
		return []error{fmt.Errorf("platform: %w, not %q", err, t.Platform)}
	}
	if !t.Capabilities.Processes {
		// Under auto the cluster decides (kubePath), once it exists: the
		// operator path's checks are the stricter.
		if spec.Options["deploy"] == DeployStatefulSet {
			return validateStatefulSet(spec, t)
		}
		return validateKube(spec, t)
	}
	cfg, errs := parseConfig(spec.Options)
	if v, ok := spec.Options["deploy"]; ok && v != DeployAuto {
		errs = append(errs, fmt.Errorf("engine.options.deploy: %q applies to Kubernetes (kind, existing), not to platform %q", v, t.Platform))
	}
	for _, name := range operatorOnly {
		if _, ok := spec.Options[name]; ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: applies to vitess-operator on Kubernetes (kind, existing), not to platform %q", name, t.Platform))
		}
	}
	if spec.Replicas != 0 && spec.Replicas != t.Workers {
		errs = append(errs, fmt.Errorf("engine.replicas: %d, but vitess runs one tablet on each of the %d worker nodes (leave it 0)", spec.Replicas, t.Workers))
	}
	if spec.Image != "" {
		errs = append(errs, errors.New("engine.image: vitess on the local platform runs programs built from the Go module; an image does not apply"))
	}
	if v := strings.TrimPrefix(spec.Version, "v"); v != "" && v != strings.TrimPrefix(e.DefaultVersion(), "v") {
		errs = append(errs, fmt.Errorf("engine.version: faultline builds Vitess %s only, not %q (point --vitess-bin at other programs and leave the version empty)", e.DefaultVersion(), spec.Version))
	}
	if cfg.Shards == 0 {
		return errs // the options did not parse
	}
	if p, err := newPlan(platform.Workers(t.Topology.Layout()), cfg.Shards); err != nil {
		errs = append(errs, fmt.Errorf("engine.options.shards: %w", err))
	} else if err := p.check(cfg.Durability); err != nil {
		errs = append(errs, fmt.Errorf("engine.options.durability: %w", err))
	}
	if t.Capabilities.Processes {
		if s, err := findServer(cfg.Flavor); err != nil {
			errs = append(errs, fmt.Errorf("engine: %w", err))
		} else if err := s.needInstallDB(); err != nil {
			errs = append(errs, fmt.Errorf("engine: %w", err))
		}
		if _, err := e.Programs(cfg.Flavor); err != nil {
			if _, ok := errors.AsType[*dist.NotBuiltError](err); !ok {
				errs = append(errs, fmt.Errorf("engine: %w", err))
			}
		}
	}
	return errs
}

// Deploy implements engines.Engine: it builds the programs if the cache
// lacks them (progress on the engine's log), then starts the topology
// server, vtctld, every tablet, the shards' primaries, VTOrc and the
// vtgates, and returns once each process listens. What it runs is
// written to spec.Artifacts as vitess.txt.
func (e *Engine) Deploy(ctx context.Context, c platform.Cluster, spec engines.Spec) error {
	cfg, errs := parseConfig(spec.Options)
	if len(errs) > 0 {
		return fmt.Errorf("vitess: deploy: %w", errors.Join(errs...))
	}
	e.mu.Lock()
	_, done := e.deployments[c.Name()]
	e.mu.Unlock()
	if done {
		return nil
	}
	host, ok := c.(platform.ProcessHost)
	if !ok {
		k, ok := c.(platform.Kubernetes)
		if !ok {
			return fmt.Errorf("vitess: deploy: cluster %s neither runs processes nor Kubernetes", c.Name())
		}
		if kubePath(c, spec, cfg) == DeployOperator {
			return e.deployKube(ctx, c, spec)
		}
		return e.deployStatefulSets(ctx, c, k, spec, cfg)
	}
	server, err := findServer(cfg.Flavor)
	if err != nil {
		return fmt.Errorf("vitess: deploy: %w", err)
	}
	d, err := dist.Build(ctx, e.distOptions(cfg.Flavor), e.log())
	if err != nil {
		return fmt.Errorf("vitess: deploy: %w", err)
	}
	fmt.Fprintf(e.log(), "vitess: %s, tablets on %s\n", d, server)
	if spec.Artifacts != "" {
		if err := writeArtifact(spec.Artifacts, d, server, cfg); err != nil {
			return fmt.Errorf("vitess: deploy: %w", err)
		}
	}
	logf := func(format string, args ...any) { fmt.Fprintf(e.log(), format+"\n", args...) }
	dep, err := deployLocal(ctx, c, host, cfg, d, server, logf)
	if err != nil {
		return fmt.Errorf("vitess: deploy: %w", err)
	}
	e.mu.Lock()
	e.deployments[c.Name()] = dep
	e.mu.Unlock()
	return nil
}

// deployStatefulSets deploys Vitess on Kubernetes without the operator
// (statefulset.go), with the programs of the image; the harness runs
// vtctldclient from the same build.
func (e *Engine) deployStatefulSets(ctx context.Context, c platform.Cluster, k platform.Kubernetes, spec engines.Spec, cfg config) error {
	d, err := dist.Build(ctx, e.distOptions(dist.MariaDB), e.log())
	if err != nil {
		return fmt.Errorf("vitess: deploy: %w", err)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(e.log(), format+"\n", args...) }
	logf("vitess: %s in %s on Kubernetes, without vitess-operator", d, kubeImage(c, spec))
	dep, err := deployStatefulSets(ctx, c, k, spec, cfg, d, logf)
	if err != nil {
		return fmt.Errorf("vitess: deploy: %w", err)
	}
	if spec.Artifacts != "" {
		if err := writeArtifact(spec.Artifacts, d, dep.server, cfg); err != nil {
			return fmt.Errorf("vitess: deploy: %w", err)
		}
	}
	e.mu.Lock()
	e.deployments[c.Name()] = dep
	e.mu.Unlock()
	return nil
}

// writeArtifact records the programs, the server and the options.
func writeArtifact(dir string, d dist.Dist, s serverBinary, cfg config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "programs: %s (%s)\n", d, d.Dir)
	for _, c := range d.Changes {
		fmt.Fprintf(&b, "  MariaDB compatibility change: %s\n", c)
	}
	fmt.Fprintf(&b, "mysqld: %s (%s)\n", s, s.Mysqld)
	fmt.Fprintf(&b, "durability: %s\nshards: %d\ntransaction mode: %s\n", cfg.Durability, cfg.Shards, cfg.TransactionMode)
	return os.WriteFile(filepath.Join(dir, "vitess.txt"), []byte(b.String()), 0o644)
}

// Describe says what runs on c: the programs' build and the server, for
// the report ("Vitess v24.0.4 with 5 MariaDB compatibility changes on
// MariaDB 10.11.19…").
func (e *Engine) Describe(c platform.Cluster) string {
	if _, ok := e.operator(c); ok {
		return "Vitess " + OperatorVitessRelease + " (vitess/lite, MySQL 8.0) through vitess-operator " + OperatorVersion
	}
	dep, err := e.deployment(c)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s on %s", dep.dist, dep.server)
}

func (e *Engine) deployment(c platform.Cluster) (*deployment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deployments[c.Name()]
	if !ok {
		return nil, fmt.Errorf("vitess: not deployed on cluster %s", c.Name())
	}
	return d, nil
}

// WaitReady implements engines.Engine: every shard has a primary, every
// tablet serves as each vtgate sees it, and each vtgate answers a query
// on the primaries.
func (e *Engine) WaitReady(ctx context.Context, c platform.Cluster) error {
	if op, ok := e.operator(c); ok {
		return op.waitReady(ctx)
	}
	d, err := e.deployment(c)
	if err != nil {
		return err
	}
	return d.waitReady(ctx)
}

// Endpoints implements engines.Engine: one vtgate per cell, with the
// cell's zone.
func (e *Engine) Endpoints(ctx context.Context, c platform.Cluster) ([]engines.Endpoint, error) {
	if op, ok := e.operator(c); ok {
		return op.endpoints(ctx)
	}
	d, err := e.deployment(c)
	if err != nil {
		return nil, err
	}
	return d.endpoints(), nil
}

// RouteTable implements engines.TableRouter: in a sharded keyspace the
// table joins the VSchema, its rows routed by the xxhash of key; an
// unsharded keyspace routes every table to its one shard already.
func (e *Engine) RouteTable(ctx context.Context, c platform.Cluster, table, key string) error {
	d, err := e.deployment(c)
	if err != nil {
		return err
	}
	return d.routeTable(ctx, table, key)
}

// Leaders implements engines.Leaders: every shard's primary, from the
// topology's shard records; the term is the primary term's start.
func (e *Engine) Leaders(ctx context.Context, c platform.Cluster) ([]engines.Leadership, error) {
	if op, ok := e.operator(c); ok {
		return op.leaders(ctx)
	}
	d, err := e.deployment(c)
	if err != nil {
		return nil, err
	}
	return d.leaders(ctx)
}

// Leader implements engines.Leader: the primary of the first shard (in
// key-range order), the target of `leader`.
func (e *Engine) Leader(ctx context.Context, c platform.Cluster) (engines.Leadership, error) {
	ls, err := e.Leaders(ctx, c)
	if err != nil {
		return engines.Leadership{}, err
	}
	if _, ok := e.operator(c); ok {
		if len(ls) == 0 {
			return engines.Leadership{}, fmt.Errorf("vitess: %w", errNoPrimary)
		}
		return ls[0], nil
	}
	d, _ := e.deployment(c)
	for _, l := range ls {
		if l.Shard == Keyspace+"/"+d.plan.Shards[0] {
			return l, nil
		}
	}
	return engines.Leadership{}, fmt.Errorf("vitess: shard %s/%s: %w", Keyspace, d.plan.Shards[0], errNoPrimary)
}

// ClaimedIsolation implements engines.IsolationClaimer. A keyspace of one
// shard is one MariaDB (or MySQL) primary behind vtgate: it claims what
// InnoDB claims for the level (left to the protocol). Across shards,
// under transaction_mode MULTI, vtgate commits shard by shard with no
// isolation between them, and a commit can be partial: nothing is
// claimed (read-uncommitted, which only forbids dirty writes). Under
// TWOPC the commit is atomic, and reads still see no snapshot across
// shards: read-committed.
func (e *Engine) ClaimedIsolation(spec engines.Spec, isolation string) string {
	cfg, errs := parseConfig(spec.Options)
	if len(errs) > 0 || cfg.Shards <= 1 {
		return ""
	}
	if cfg.TransactionMode == TxTwoPC {
		return "read-committed"
	}
	return "read-uncommitted"
}

// Doctor implements engines.Doctor: the Vitess programs (built, or where
// the user's are) and the mysqld flavours installed.
func (e *Engine) Doctor() []engines.Finding {
	var out []engines.Finding
	d, err := e.Programs(dist.MariaDB)
	switch {
	case err == nil:
		out = append(out, engines.Finding{Item: "programs", OK: true, Detail: d.String() + " in " + d.Dir})
	default:
		if _, ok := errors.AsType[*dist.NotBuiltError](err); ok {
			err = fmt.Errorf("not built yet; a first run builds them (about 8 minutes on 2 cores), or run `faultline engines build vitess` (make vitess), or point --vitess-bin or %s at your own", dist.EnvBin)
		}
		out = append(out, engines.Finding{Item: "programs", OK: false, Detail: err.Error()})
	}
	if s, err := findServer(dist.MariaDB); err != nil {
		out = append(out, engines.Finding{Item: "mysqld", OK: false, Detail: err.Error()})
	} else if err := s.needInstallDB(); err != nil {
		out = append(out, engines.Finding{Item: "mysqld", OK: false, Detail: err.Error()})
	} else {
		out = append(out, engines.Finding{Item: "mysqld", OK: true, Detail: s.String() + " (" + s.Mysqld + "), the default flavour"})
	}
	if s, err := findServer(dist.MySQL); err != nil {
		out = append(out, engines.Finding{Item: "mysqld (mysql)", OK: true, Detail: "no MySQL 8 server: option flavor=mysql unavailable (optional)"})
	} else {
		out = append(out, engines.Finding{Item: "mysqld (mysql)", OK: true, Detail: s.String() + " (" + s.Mysqld + "): option flavor=mysql runs stock Vitess programs"})
	}
	return out
}
