package scenarios

import (
	"context"
	"fmt"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Manifests returns what the scenario's engine would install on its
// platform, for a scenario that has passed Validate against env. On a
// platform without Kubernetes nothing is applied: the plan is empty and
// the returned note says why. A platform that knows the local images its
// clusters would run (platform.StandInLister) is asked, since they may
// decide how the engine deploys.
func Manifests(ctx context.Context, s *Scenario, env Env) (plan kube.Plan, note string, err error) {
	eng, err := env.Engines.Lookup(s.Engine.Name)
	if err != nil {
		return nil, "", err
	}
	p, err := env.Platform(s.Platform)
	if err != nil {
		return nil, "", err
	}
	caps := platform.CapabilitiesOf(p)
	if !caps.Kubernetes {
		return nil, fmt.Sprintf("platform %s runs no Kubernetes: engine %s starts processes and applies no objects", s.Platform, eng.Name()), nil
	}
	m, ok := eng.(engines.Manifester)
	if !ok {
		return nil, "", fmt.Errorf("engine %s cannot say what it applies on Kubernetes", eng.Name())
	}
	topo := s.PlatformTopology()
	t := engines.Target{Platform: s.Platform, Capabilities: caps, Workers: topo.Size(), Topology: topo}
	if l, ok := p.(platform.StandInLister); ok {
		if t.StandIns, err = l.StandIns(ctx); err != nil {
			return nil, "", fmt.Errorf("platform %s: local images: %w", s.Platform, err)
		}
	}
	plan, err = m.Manifests(s.EngineSpec(), t)
	if err != nil {
		return nil, "", fmt.Errorf("%s manifests: %w", eng.Name(), err)
	}
	return plan, "", nil
}
