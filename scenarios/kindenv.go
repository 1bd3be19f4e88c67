package scenarios

import (
	"context"
	"fmt"
	"maps"

	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/kind"
)

// PrepareKind fills in what the kind platform needs on this machine,
// unless o already names a Docker host: a Docker daemon that can run
// privileged containers (faultline's own where the user's cannot,
// dockerd.Ensure), the node image (o.NodeImage, else the local build of
// `faultline images build`, else kind's official one, which needs a
// registry), and the local builds that stand in for engines' official
// images (Options.Images; Chaos Mesh's as Options.LazyImages, loaded
// when it is installed). Nothing is started until this is called, so
// local runs never touch Docker.
func PrepareKind(ctx context.Context, o kind.Options) (kind.Options, error) {
	if o.DockerHost != "" {
		return o, nil
	}
	d, err := dockerd.Ensure(ctx, dockerd.Options{Log: o.Log})
	if err != nil {
		return o, fmt.Errorf("kind: a Docker daemon that can run kind nodes: %w", err)
	}
	o.DockerHost = d.Host()
	if o.NodeImage, err = images.Resolve(ctx, d, images.KindNode, o.NodeImage); err != nil {
		return o, fmt.Errorf("kind: node image: %w", err)
	}
	o.Images = maps.Clone(o.Images)
	if o.Images == nil {
		o.Images = map[string]string{}
	}
	o.LazyImages = maps.Clone(o.LazyImages)
	if o.LazyImages == nil {
		o.LazyImages = map[string]string{}
	}
	if err := builtStandIns(ctx, d, o.Images, o.LazyImages); err != nil {
		return o, err
	}
	return o, nil
}

// builtStandIns adds to eager the official → local pairs of every engine
// image built on d (but the node image), unless eager already maps the
// official image; Chaos Mesh's go to lazy instead.
func builtStandIns(ctx context.Context, d *dockerd.Daemon, eager, lazy map[string]string) error {
	for _, name := range images.Names() {
		if name == images.KindNode {
			continue
		}
		built, err := images.Built(ctx, d, name)
		if err != nil {
			return fmt.Errorf("kind: image %s: %w", name, err)
		}
		if !built {
			continue
		}
		// Chaos Mesh's images (about 330 MB) go into the nodes only when
		// it is installed.
		into := eager
		if name == images.ChaosMesh {
			into = lazy
		}
		for official, local := range images.StandIns(name) {
			if _, set := eager[official]; !set {
				into[official] = local
			}
		}
	}
	return nil
}

// kindPlatform is the kind platform as the default Env holds it: the
// Docker daemon and images are found (PrepareKind) when a cluster is
// created, not when the Env is built.
type kindPlatform struct {
	opts kind.Options
}

// Name implements platform.Platform.
func (kindPlatform) Name() string { return kind.Name }

// Capabilities implements platform.Describer.
func (kindPlatform) Capabilities() platform.Capabilities {
	return kind.New(kind.Options{}).Capabilities()
}

// CanInject implements platform.FaultSupport; it needs no daemon.
func (kindPlatform) CanInject(k string) error { return kind.New(kind.Options{}).CanInject(k) }

// FaultMechanism implements platform.MechanismNamer.
func (kindPlatform) FaultMechanism() string { return kind.New(kind.Options{}).FaultMechanism() }

// StandIns implements platform.StandInLister: the options' images, and
// the builds of `faultline images build` that the Docker daemon a run
// would use holds, if one runs (none is started to look).
func (p kindPlatform) StandIns(ctx context.Context) (map[string]string, error) {
	out := maps.Clone(p.opts.Images)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, p.opts.LazyImages)
	if p.opts.DockerHost != "" {
		return out, nil
	}
	d, err := dockerd.Running(ctx, dockerd.Options{})
	if err != nil || d == nil {
		return out, err
	}
	if err := builtStandIns(ctx, d, out, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Create implements platform.Platform.
func (p kindPlatform) Create(ctx context.Context, t platform.Topology) (platform.Cluster, error) {
	o, err := PrepareKind(ctx, p.opts)
	if err != nil {
		return nil, err
	}
	return kind.New(o).Create(ctx, t)
}
