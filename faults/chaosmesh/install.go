package chaosmesh

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/gomod"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Chaos Mesh as faultline installs it: the Helm chart inside its Go
// module (helm/chaos-mesh), read in place from the Go module cache, at
// the version whose API module faultline links. `go mod download
// Module@ModuleVersion` (scripts/install-deps.sh, or `faultline images
// build chaos-mesh`) puts it there.
const (
	Module        = "github.com/chaos-mesh/chaos-mesh"
	ModuleVersion = "v0.9.1-0.20260902003049-47411975a8cb"
	chartDir      = "helm/chaos-mesh"
	// Namespace and Release name the installation.
	Namespace = "chaos-mesh"
	Release   = "chaos-mesh"
	// installTimeout bounds the wait for the controller and daemons.
	installTimeout = 5 * time.Minute
)

// The images the chart at ModuleVersion runs by default
// (values.yaml: images.registry, images.tag, the repositories, and the
// pause image pod-failure swaps in, which faultline pins).
const (
	DefaultRegistry = "ghcr.io"
	DefaultTag      = "v2.8.4"
	ControllerImage = DefaultRegistry + "/chaos-mesh/chaos-mesh:" + DefaultTag
	DaemonImage     = DefaultRegistry + "/chaos-mesh/chaos-daemon:" + DefaultTag
	PauseImage      = "registry.k8s.io/pause:3.10"
)

// Installer installs Chaos Mesh with the Helm v3 SDK. Its zero value
// installs the module's chart with the official images, or the stand-ins
// a cluster maps them to (platform.ImageMapper: images built from the
// module and loaded into kind's nodes).
type Installer struct {
	// Source overrides where the chart comes from (a directory, a chart
	// repository or an OCI reference); the zero value is the module's.
	Source kube.ChartSource
	// Images maps the official images (ControllerImage, DaemonImage,
	// PauseImage) to the ones to run.
	Images map[string]string
	// Runtime and SocketPath are the nodes' container runtime for the
	// daemon; empty is containerd at /run/containerd/containerd.sock
	// (kind, and most managed clusters).
	Runtime, SocketPath string
	// DaemonLacks lists what the daemon image lacks, by the names of
	// AnnotationDaemonLacks, which the install puts on its DaemonSet so
	// that Prepare refuses the experiments it cannot run. Nil means
	// StandInDaemonLacks when the daemon runs the local stand-in the
	// cluster maps DaemonImage to (faultline's build), else nothing.
	DaemonLacks []string
	// NoHostNetwork keeps Chaos Mesh's refusal of network chaos on pods
	// with hostNetwork. By default faultline lifts it
	// (controllerManager.allowHostNetworkTesting): engines on kind run
	// their members in the nodes' network namespaces (their addresses are
	// the nodes'), which on kind are the node containers', so that a
	// partition there is what a zone partition means.
	NoHostNetwork bool
}

// ModuleDir is the module's directory in the Go module cache, whether or
// not it exists.
func ModuleDir() string { return gomod.Dir(Module, ModuleVersion) }

// imageValues is the chart's image block: <registry>/<repository>:<tag>.
type imageValues struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// values are the chart values faultline sets.
type values struct {
	Images struct {
		Registry string `json:"registry"`
		Tag      string `json:"tag"`
	} `json:"images"`
	EnableProfiling   bool `json:"enableProfiling"`
	ControllerManager struct {
		ReplicaCount            int         `json:"replicaCount"`
		Image                   imageValues `json:"image"`
		AllowHostNetworkTesting bool        `json:"allowHostNetworkTesting"`
		PodChaos                struct {
			PodFailure struct {
				PauseImage string `json:"pauseImage"`
			} `json:"podFailure"`
		} `json:"podChaos"`
	} `json:"controllerManager"`
	ChaosDaemon struct {
		Image      imageValues `json:"image"`
		Runtime    string      `json:"runtime"`
		SocketPath string      `json:"socketPath"`
	} `json:"chaosDaemon"`
	Dashboard struct {
		Create bool `json:"create"`
	} `json:"dashboard"`
	DNSServer struct {
		Create bool `json:"create"`
	} `json:"dnsServer"`
}

// Chart returns the release faultline installs on c (nil: no cluster,
// official images unless Images says otherwise): one controller replica,
// no dashboard, no DNS server, the daemon on containerd, images mapped,
// network chaos allowed on hostNetwork pods unless NoHostNetwork.
func (in Installer) Chart(c platform.Cluster) (kube.Chart, error) {
	src := in.Source
	if src == (kube.ChartSource{}) {
		src = kube.ChartSource{Dir: filepath.Join(ModuleDir(), chartDir), Label: gomod.Label(Module, ModuleVersion) + " " + chartDir}
	}
	mapImage := func(ref string) string {
		if r, ok := in.Images[ref]; ok {
			return r
		}
		if c != nil {
			return platform.MapImage(c, ref)
		}
		return ref
	}
	var v values
	v.Images.Registry, v.Images.Tag = DefaultRegistry, DefaultTag
	v.ControllerManager.ReplicaCount = 1
	v.ControllerManager.AllowHostNetworkTesting = !in.NoHostNetwork
	var err error
	if v.ControllerManager.Image, err = splitImage(mapImage(ControllerImage)); err != nil {
		return kube.Chart{}, err
	}
	if v.ChaosDaemon.Image, err = splitImage(mapImage(DaemonImage)); err != nil {
		return kube.Chart{}, err
	}
	v.ControllerManager.PodChaos.PodFailure.PauseImage = mapImage(PauseImage)
	v.ChaosDaemon.Runtime, v.ChaosDaemon.SocketPath = "containerd", "/run/containerd/containerd.sock"
	if in.Runtime != "" {
		v.ChaosDaemon.Runtime = in.Runtime
	}
	if in.SocketPath != "" {
		v.ChaosDaemon.SocketPath = in.SocketPath
	}
	return kube.Chart{Source: src, Release: Release, Namespace: Namespace, Values: v}, nil
}

// splitImage splits registry/repository:tag; a reference without a
// registry is Docker Hub's.
func splitImage(ref string) (imageValues, error) {
	name, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	if strings.Contains(name, "@") {
		return imageValues{}, fmt.Errorf("chaos-mesh: image %s: the chart takes tags, not digests", kube.Truncate(ref, 80))
	}
	registry := "docker.io"
	if first, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		registry, name = first, rest
	}
	if name == "" || tag == "" {
		return imageValues{}, fmt.Errorf("chaos-mesh: image %q is not registry/repository:tag", kube.Truncate(ref, 80))
	}
	return imageValues{Registry: registry, Repository: name, Tag: tag}, nil
}

// Install installs (or upgrades) Chaos Mesh on c through the Helm SDK,
// then waits until its controller manager has rolled out and a daemon
// runs on every node that takes pods. It has the signature of
// Injector.Install.
func (in Installer) Install(ctx context.Context, c platform.Cluster) error {
	k, ok := c.(platform.Kubernetes)
	if !ok {
		return fmt.Errorf("cluster %s runs no Kubernetes", c.Name())
	}
	ch, err := in.Chart(c)
	if err != nil {
		return err
	}
	if ch.Source.Dir != "" {
		if _, err := os.Stat(ch.Source.Dir); err != nil {
			return fmt.Errorf("chart %s is not on this machine (go mod download %s@%s puts it in the module cache): %w", ch.Source, Module, ModuleVersion, err)
		}
	}
	if err := in.loadImages(ctx, c); err != nil {
		return err
	}
	kc, err := kube.Connect(k)
	if err != nil {
		return err
	}
	if err := ch.Install(ctx, kc, ""); err != nil {
		return err
	}
	if err := patchPartitionBehavior(ctx, kc); err != nil {
		return err
	}
	if err := annotateDaemon(ctx, kc.Typed, in.daemonLacks(c)); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	w := kube.Waiter{C: kc, Namespaces: []string{Namespace}}
	if err := w.WaitDeployment(wctx, Namespace, "chaos-controller-manager"); err != nil {
		return err
	}
	return kube.WaitFor(wctx, w, appsv1.SchemeGroupVersion.WithKind("DaemonSet"), Namespace, daemonSet, func(d *appsv1.DaemonSet) (bool, string) {
		return d.Status.DesiredNumberScheduled > 0 && d.Status.NumberReady == d.Status.DesiredNumberScheduled,
			fmt.Sprintf("%d of %d daemons ready", d.Status.NumberReady, d.Status.DesiredNumberScheduled)
	})
}

// loadImages copies the local stand-ins of Chaos Mesh's images that the
// cluster maps (platform.ImageMapper) into its nodes, when it loads images
// on demand (platform.ImageLoader: kind, whose nodes have no registry).
// Images given in Images are the user's to make pullable.
func (in Installer) loadImages(ctx context.Context, c platform.Cluster) error {
	l, ok := c.(platform.ImageLoader)
	if !ok {
		return nil
	}
	var refs []string
	for _, official := range []string{ControllerImage, DaemonImage, PauseImage} {
		if _, given := in.Images[official]; given {
			continue
		}
		if local := platform.MapImage(c, official); local != official {
			refs = append(refs, local)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	start := time.Now()
	if err := l.LoadImages(ctx, refs...); err != nil {
		return fmt.Errorf("chaos-mesh: load its images into the nodes: %w", err)
	}
	faults.LogFromContext(ctx).Printf("chaos-mesh: loaded %s into the nodes in %.1fs", strings.Join(refs, ", "), time.Since(start).Seconds())
	return nil
}

// partitionBehaviorPatch adds spec.partitionBehavior to the NetworkChaos
// CRD. The API module faultline links (and the controller built from it)
// defaults that field in its mutating webhook, while the chart's CRD at
// ModuleVersion predates it: the API server prunes it from storage, and
// the validating webhook then refuses every update of a NetworkChaos as a
// change of its spec, so that no partition ever injects (see
// ../shared/notes/chaos-mesh.md, E1). The test "add" on an existing
// property replaces it with the same schema, so the patch is idempotent.
//
// The Schedule and Workflow CRDs embed NetworkChaosSpec too and have the
// same skew, but faultline never creates those kinds (Build makes only
// the experiments of Lists: its schedule is its own, and it heals each
// experiment itself), so their CRDs are left as the chart has them; a
// user's own Schedule or Workflow of a NetworkChaos would need the same
// property added under each networkChaos of their schemas (a Schedule's
// spec, a Workflow's templates, and the schedules inside those).
const partitionBehaviorPatch = `[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/partitionBehavior","value":{"type":"string","enum":["drop","reject"]}}]`

var gvkCRD = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

func patchPartitionBehavior(ctx context.Context, kc *kube.Clients) error {
	ri, _, err := kube.Resource(kc, gvkCRD, "")
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, "networkchaos.chaos-mesh.org", types.JSONPatchType, []byte(partitionBehaviorPatch), metav1.PatchOptions{FieldManager: kube.FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("chaos-mesh: add partitionBehavior to the NetworkChaos CRD: %w", err)
	}
	return nil
}

// daemonLacks is what the daemon image installed on c lacks: DaemonLacks
// if set, else StandInDaemonLacks when the cluster maps the official
// image to a stand-in of its own (platform.ImageMapper) and the user gave
// none.
func (in Installer) daemonLacks(c platform.Cluster) []string {
	if in.DaemonLacks != nil {
		return in.DaemonLacks
	}
	if _, given := in.Images[DaemonImage]; given || c == nil {
		return nil
	}
	if platform.MapImage(c, DaemonImage) != DaemonImage {
		return StandInDaemonLacks
	}
	return nil
}

// daemonSet is the name of the chart's chaos-daemon DaemonSet.
const daemonSet = "chaos-daemon"

// annotateDaemon sets AnnotationDaemonLacks on the daemon's DaemonSet to
// lacks, or removes it when lacks is empty (an install of the official
// images over faultline's).
func annotateDaemon(ctx context.Context, cs kubernetes.Interface, lacks []string) error {
	var value any
	if len(lacks) > 0 {
		value = strings.Join(lacks, ",")
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationDaemonLacks: value}}})
	if err != nil {
		return err
	}
	_, err = cs.AppsV1().DaemonSets(Namespace).Patch(ctx, daemonSet, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: kube.FieldManager})
	if err != nil {
		return fmt.Errorf("chaos-mesh: annotate DaemonSet %s/%s with what its image lacks: %w", Namespace, daemonSet, err)
	}
	return nil
}
