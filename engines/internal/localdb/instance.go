package localdb

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

// Instance is one deployed server: where it runs and how clients log in.
type Instance struct {
	Node     platform.Node
	Addr     string
	Database string
	User     string
	Password string
	// Ready answers whether the server serves queries.
	Ready func(ctx context.Context) error
}

// Endpoint is the instance's client endpoint.
func (in *Instance) Endpoint() engines.Endpoint {
	return engines.Endpoint{
		Node: in.Node.Name, Zone: in.Node.Zone, Region: in.Node.Region, Addr: in.Addr,
		Database: in.Database, User: in.User, Password: in.Password,
	}
}

// WaitReady polls Ready until it succeeds or ctx is done.
func (in *Instance) WaitReady(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := in.Ready(rctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last check: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// Instances remembers the instance deployed on each cluster, by cluster
// name, so that one engine serves concurrent runs. The zero value is
// ready to use.
type Instances struct {
	mu sync.Mutex
	m  map[string]*Instance
}

// Put records the instance deployed on cluster.
func (s *Instances) Put(cluster string, in *Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*Instance{}
	}
	s.m[cluster] = in
}

// Get returns the instance deployed on cluster.
func (s *Instances) Get(engine, cluster string) (*Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.m[cluster]
	if !ok {
		return nil, fmt.Errorf("%s: not deployed on cluster %s", engine, cluster)
	}
	return in, nil
}

// Option is one engine option: its documentation, its default, and the
// check of a value.
type Option struct {
	Doc     string
	Default string
	Check   func(v string) error
}

// Options are an engine's options by name.
type Options map[string]Option

// Parse returns every option's value, defaults filled in, and every
// problem with set, each naming the field (engine.options.NAME).
func (o Options) Parse(set map[string]string) (map[string]string, []error) {
	out := make(map[string]string, len(o))
	for name, opt := range o {
		out[name] = opt.Default
	}
	var errs []error
	for name, v := range set {
		opt, ok := o[name]
		if !ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: unknown option (known: %s)", name, strings.Join(o.names(), ", ")))
			continue
		}
		if err := opt.Check(v); err != nil {
			errs = append(errs, fmt.Errorf("engine.options.%s: %w", name, err))
			continue
		}
		out[name] = v
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return out, errs
}

// Docs documents each option and its default.
func (o Options) Docs() map[string]string {
	out := make(map[string]string, len(o))
	for name, opt := range o {
		out[name] = opt.Doc + " (default " + opt.Default + ")"
	}
	return out
}

func (o Options) names() []string {
	out := make([]string, 0, len(o))
	for n := range o {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// OneOf checks that a value is one of vals.
func OneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if v == x {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(vals, ", "))
	}
}

// IntRange checks that a value is a whole number in [lo, hi].
func IntRange(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
		}
		return nil
	}
}

// Validate checks what every single-instance local engine needs: one
// replica at most, no image, and a platform that runs processes.
func Validate(engine string, spec engines.Spec, t engines.Target) []error {
	var errs []error
	if spec.Replicas < 0 || spec.Replicas > 1 {
		errs = append(errs, fmt.Errorf("engine.replicas: %d, but %s runs a single instance (0 or 1)", spec.Replicas, engine))
	}
	if t.Workers < 1 {
		errs = append(errs, fmt.Errorf("topology: %s needs a worker node to run on", engine))
	}
	if err := CanRunOn(engine, t.Capabilities); err != nil {
		errs = append(errs, fmt.Errorf("platform: %s, not %q", err, t.Platform))
	}
	if spec.Image != "" {
		errs = append(errs, fmt.Errorf("engine.image: %s on the local platform runs the installed server binaries; an image does not apply", engine))
	}
	return errs
}

// CanRunOn is engines.PlatformNeeds for an engine that runs installed
// server binaries: it needs a platform that runs processes on its nodes.
func CanRunOn(engine string, caps platform.Capabilities) error {
	if !caps.Processes {
		return fmt.Errorf("%s runs the server installed on this machine, so it needs a platform that runs processes (local)", engine)
	}
	return nil
}

// Node is the node a single instance runs on: the first worker.
func Node(ctx context.Context, c platform.Cluster) (platform.Node, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return platform.Node{}, err
	}
	w := platform.Workers(nodes)
	if len(w) == 0 {
		return platform.Node{}, fmt.Errorf("cluster %s has no worker node", c.Name())
	}
	return w[0], nil
}

// Single is the part of a single-server engine that answers for the
// instance it deployed on each cluster: readiness, endpoints and who
// leads. Engines embed it and record each instance they deploy with
// Record. The zero value is ready to use; Engine names the engine in
// errors.
type Single struct {
	Engine    string
	instances Instances
}

// Record remembers the instance deployed on cluster.
func (s *Single) Record(cluster string, in *Instance) { s.instances.Put(cluster, in) }

// WaitReady implements engines.Engine: the server answers a query.
func (s *Single) WaitReady(ctx context.Context, c platform.Cluster) error {
	in, err := s.instances.Get(s.Engine, c.Name())
	if err != nil {
		return err
	}
	if err := in.WaitReady(ctx); err != nil {
		return fmt.Errorf("%s: %w", s.Engine, err)
	}
	return nil
}

// Endpoints implements engines.Engine: the one server.
func (s *Single) Endpoints(ctx context.Context, c platform.Cluster) ([]engines.Endpoint, error) {
	in, err := s.instances.Get(s.Engine, c.Name())
	if err != nil {
		return nil, err
	}
	return []engines.Endpoint{in.Endpoint()}, nil
}

// Leader implements engines.Leader: a single server is its own primary.
func (s *Single) Leader(ctx context.Context, c platform.Cluster) (engines.Leadership, error) {
	in, err := s.instances.Get(s.Engine, c.Name())
	if err != nil {
		return engines.Leadership{}, err
	}
	return engines.Leadership{Node: in.Node.Name}, nil
}
