package scenarios

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"

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
// images (Options.Images). Nothing is started until this is called, so
// local runs never touch Docker.
func PrepareKind(ctx context.Context, o kind.Options) (kind.Options, error) {
	if err := ensureInotify(o.Log); err != nil {
		return o, err
	}
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
	for _, name := range images.Names() {
		if name == images.KindNode {
			continue
		}
		built, err := images.Built(ctx, d, name)
		if err != nil {
			return o, fmt.Errorf("kind: image %s: %w", name, err)
		}
		if _, set := o.Images[images.Official(name)]; built && !set {
			o.Images[images.Official(name)] = images.Ref(name)
		}
	}
	return o, nil
}

// kindPlatform is the kind platform as the default Env holds it: the
// Docker daemon and images are found (PrepareKind) when a cluster is
// created, not when the Env is built.
type kindPlatform struct {
	opts kind.Options
}

// Name implements platform.Platform.
func (kindPlatform) Name() string { return kind.Name }

// CanInject implements platform.FaultSupport; it needs no daemon.
func (kindPlatform) CanInject(k string) error { return kind.New(kind.Options{}).CanInject(k) }

// Create implements platform.Platform.
func (p kindPlatform) Create(ctx context.Context, t platform.Topology) (platform.Cluster, error) {
	o, err := PrepareKind(ctx, p.opts)
	if err != nil {
		return nil, err
	}
	return kind.New(o).Create(ctx, t)
}

// inotifyInstances is the host's limit on inotify instances per user,
// which every kind node's systemd, kubelet and kube-proxy draw from: with
// the usual default of 128, clusters of more than a few nodes fail with
// "too many open files" (kind's known issues ask for 512).
const (
	inotifyInstancesFile = "/proc/sys/fs/inotify/max_user_instances"
	inotifyInstancesMin  = 512
)

// ensureInotify raises the host's inotify instance limit to what kind
// needs, saying so on log, when it is lower and this process may; else it
// says which sysctl to set.
func ensureInotify(log io.Writer) error {
	b, err := os.ReadFile(inotifyInstancesFile)
	if err != nil {
		return nil // not Linux, or not readable: nothing to check
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n >= inotifyInstancesMin {
		return nil
	}
	want := strconv.Itoa(inotifyInstancesMin)
	if werr := os.WriteFile(inotifyInstancesFile, []byte(want), 0o644); werr != nil {
		return fmt.Errorf("kind: fs.inotify.max_user_instances is %d and kind nodes need %d (kubelet and kube-proxy fail with \"too many open files\"); run: sysctl -w fs.inotify.max_user_instances=%d (%v)", n, inotifyInstancesMin, inotifyInstancesMin, werr)
	}
	if log != nil {
		fmt.Fprintf(log, "kind: raised fs.inotify.max_user_instances from %d to %d, as kind nodes need\n", n, inotifyInstancesMin)
	}
	return nil
}
