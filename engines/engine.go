// Package engines deploys databases onto clusters: one subpackage per
// engine, each at a pinned version with zone-aware placement.
package engines

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/platform"
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
}

// Engine deploys and describes one database.
type Engine interface {
	// Name is the engine's name in scenarios.
	Name() string
	// Protocol is the wire protocol clients speak to it.
	Protocol() string
	Deploy(ctx context.Context, c platform.Cluster, spec Spec) error
	WaitReady(ctx context.Context, c platform.Cluster) error
	Endpoints(ctx context.Context, c platform.Cluster) ([]Endpoint, error)
}

// Leadership is who leads an engine (its leader, primary or leaseholder of
// the workload's range), and in which term or timeline.
type Leadership struct {
	Node string `json:"node"`
	Term uint64 `json:"term,omitempty"`
}

// Leader is implemented by engines that can name their leader.
type Leader interface {
	Leader(ctx context.Context, c platform.Cluster) (Leadership, error)
}

// Validator is implemented by engines that check a Spec (options,
// replicas, version) and the platform before anything starts. It returns
// every problem, each naming the field.
type Validator interface {
	Validate(spec Spec, platformName string, workers int) []error
}

// Defaults is implemented by engines that document their options.
type Defaults interface {
	// DefaultVersion is the pinned version deployed when Spec.Version is
	// empty.
	DefaultVersion() string
	// Options describes each option and its default.
	Options() map[string]string
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
