package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/cloudnativepg"
	"github.com/faultline-dev/faultline/engines/cockroachdb"
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/engines/mariadb"
	"github.com/faultline-dev/faultline/engines/postgres"
	"github.com/faultline-dev/faultline/engines/vitess"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/chaosmesh"
	"github.com/faultline-dev/faultline/faults/kubeapi"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/measure"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/local"
	"github.com/faultline-dev/faultline/workload"
	etcdclient "github.com/faultline-dev/faultline/workload/etcd"
	"github.com/faultline-dev/faultline/workload/sqlclient"
)

// EnvOptions configure the platforms of the default Env.
type EnvOptions struct {
	// Local configures the local platform.
	Local local.Options
	// Kind configures the kind platform; PrepareKind fills in the Docker
	// daemon and images when a cluster is created.
	Kind kind.Options
	// Existing configures the existing platform.
	Existing existing.Options
	// Vitess configures the vitess engine (where its programs are).
	Vitess vitess.Options
}

// DefaultEnv is the Env of the faultline binary: every platform, engine
// and protocol it knows.
func DefaultEnv(opts EnvOptions) Env {
	return Env{
		Platforms: []platform.Platform{
			local.New(localOptions(opts.Local)),
			kindPlatform{opts: kindOptions(opts.Kind)},
			existing.New(opts.Existing),
		},
		Engines: engines.Set{etcd.New(), postgres.New(), mariadb.New(), cloudnativepg.New(), cockroachdb.New(), vitess.New(opts.Vitess)},
		Protocols: map[string]Protocol{
			engines.ProtocolEtcd:     etcdProtocol(),
			engines.ProtocolPostgres: sqlProtocol(engines.ProtocolPostgres),
			engines.ProtocolMySQL:    sqlProtocol(engines.ProtocolMySQL),
		},
		Sampler: sampler,
		// The platform's own mechanisms first (Docker on kind, processes
		// on local), then Chaos Mesh (any Kubernetes cluster), then the
		// Kubernetes API.
		Injectors: faults.Injectors{faults.Native, &chaosmesh.Injector{Install: chaosmesh.Installer{}.Install}, &kubeapi.Injector{}},
	}
}

// sampler picks the resource sampler for a cluster's kind.
func sampler(ctx context.Context, c platform.Cluster) (measure.Sampler, error) {
	switch c.(type) {
	case platform.ProcessHost:
		return measure.NewProcSampler(ctx, c)
	case platform.Kubernetes:
		return measure.NewKindSampler(ctx, c)
	}
	return nil, nil
}

// localOptions fills in the local platform's hooks.
func localOptions(o local.Options) local.Options {
	if o.RegionLatency == nil {
		o.RegionLatency = faults.RegionLatency
	}
	return o
}

// kindOptions fills in the kind platform's hooks.
func kindOptions(o kind.Options) kind.Options {
	if o.RegionLatency == nil {
		o.RegionLatency = faults.RegionLatency
	}
	return o
}

// etcd client options, as scenarios write them under workload.options.
const (
	optConsistency = "consistency"
	optEndpoints   = "endpoints"
)

func etcdProtocol() Protocol {
	return Protocol{
		Workloads: []string{WorkloadRegister, WorkloadLedger},
		Options: map[string]string{
			optConsistency: "linearizable (default): reads go through the leader's quorum; serializable: a member answers from its own state, which may be stale",
			optEndpoints:   "all (default): each client balances over every member; pinned: client w talks only to member w mod n",
		},
		CheckOptions: func(kind string, opts map[string]string) []error {
			var errs []error
			for k, v := range opts {
				switch k {
				case optConsistency:
					if v != "linearizable" && v != "serializable" {
						errs = append(errs, fmt.Errorf("%s: %q is not linearizable or serializable", k, excerpt.Value(v)))
					}
				case optEndpoints:
					if v != "all" && v != "pinned" {
						errs = append(errs, fmt.Errorf("%s: %q is not all or pinned", k, excerpt.Value(v)))
					}
				default:
					errs = append(errs, fmt.Errorf("%s: unknown option for etcd clients (known: %s, %s)", k, optConsistency, optEndpoints))
				}
			}
			slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
			return errs
		},
		Connect: func(ctx context.Context, c Connection) (workload.Opener, func(), error) {
			o, err := etcdclient.NewOpener(etcdclient.Options{
				Endpoints:    c.Endpoints,
				Prefix:       "/faultline/" + c.Run + "/",
				Serializable: c.Options[optConsistency] == "serializable",
				Pinned:       c.Options[optEndpoints] == "pinned",
			})
			if err != nil {
				return nil, nil, err
			}
			return o.Open, func() {}, nil
		},
	}
}

// sqlProtocol is the SQL clients of a protocol (PostgreSQL's or MySQL's).
func sqlProtocol(protocol string) Protocol {
	return Protocol{
		Workloads: sqlclient.Kinds(),
		Options:   sqlclient.OptionDocs(protocol),
		CheckOptions: func(kind string, opts map[string]string) []error {
			return sqlclient.CheckOptions(protocol, kind, opts)
		},
		Claimed: func(isolation string) elle.Level {
			return sqlclient.Claimed(protocol, isolation)
		},
		Connect: func(ctx context.Context, c Connection) (workload.Opener, func(), error) {
			return sqlclient.Connect(ctx, sqlclient.Config{
				Protocol: protocol, Kind: c.Kind, Endpoints: c.Endpoints,
				Options: c.Options, Generator: c.Generator, Run: c.Run, Route: c.Route,
			})
		},
	}
}
