package scenarios

import (
	"context"
	"fmt"
	"sort"

	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/measure"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// Env is what scenarios are validated against and run with: the
// platforms, engines and client protocols this binary knows. Default
// builds the real one; tests may build smaller ones.
type Env struct {
	Platforms []platform.Platform
	Engines   engines.Set
	// Protocols maps an engine protocol (engines.ProtocolEtcd…) to the
	// clients that speak it.
	Protocols map[string]Protocol
	// Sampler returns the resource sampler for a cluster, or nil if the
	// cluster cannot be sampled.
	Sampler func(ctx context.Context, c platform.Cluster) (measure.Sampler, error)
	// Injectors carry faults out, in order of preference; nil is the
	// platforms' own mechanisms only (faults.Native).
	Injectors faults.Injectors
}

// Protocol is a wire protocol's clients: which workloads they run and how
// to connect them.
type Protocol struct {
	// Workloads lists the workload kinds the clients can run.
	Workloads []string
	// Options documents each client option, for `faultline list workloads`.
	Options map[string]string
	// CheckOptions validates workload.options for a workload kind.
	CheckOptions func(kind string, opts map[string]string) []error
	// Claimed, if set, is the isolation level clients promise when they
	// ask for isolation (workload.options.isolation), as an append check
	// level: what the engine really provides, which may differ from the
	// SQL name.
	Claimed func(isolation string) elle.Level
	// Connect prepares the database for the workload (schemas, initial
	// rows) and returns an Opener for its workers, and a function that
	// releases what Connect holds.
	Connect func(ctx context.Context, c Connection) (workload.Opener, func(), error)
}

// Connection is what a Protocol needs to connect a workload.
type Connection struct {
	Kind      string
	Endpoints []engines.Endpoint
	Options   map[string]string
	Generator workload.Generator
	// Run names the run, so that clients can keep each run's keys apart.
	Run string
	// Route, if set, tells the engine how a new table is keyed before
	// clients write to it (engines.TableRouter).
	Route func(ctx context.Context, table, key string) error
}

// Platform returns the platform with the given name.
func (e Env) Platform(name string) (platform.Platform, error) {
	for _, p := range e.Platforms {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown platform %q", excerpt.Value(name))
}

func (e Env) platformNames() []string {
	out := make([]string, 0, len(e.Platforms))
	for _, p := range e.Platforms {
		out = append(out, p.Name())
	}
	sort.Strings(out)
	return out
}

// canInject asks the platform whether its own mechanisms can inject a
// fault kind.
func (e Env) canInject(platformName, kind string) error {
	p, err := e.Platform(platformName)
	if err != nil {
		return nil // reported against the platform field
	}
	if fs, ok := p.(platform.FaultSupport); ok {
		return fs.CanInject(kind)
	}
	return nil
}

// injectors returns e.Injectors, or the platforms' own mechanisms.
func (e Env) injectors() faults.Injectors {
	if len(e.Injectors) == 0 {
		return faults.Injectors{faults.Native}
	}
	return e.Injectors
}

// chooseInjector picks the injector of a fault of kind on the named
// platform (via, if set, names it).
func (e Env) chooseInjector(platformName, kind, via string) (faults.Injector, error) {
	p, err := e.Platform(platformName)
	if err != nil {
		return nil, nil // reported against the platform field
	}
	return e.injectors().Choose(p, kind, via)
}
