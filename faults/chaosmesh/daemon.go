package chaosmesh

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
)

// AnnotationDaemonLacks, on the chaos-daemon DaemonSet, lists (comma
// separated) the programs its image lacks, by the names below. faultline's
// installer sets it when the daemon runs faultline's own image (built by
// `faultline images build chaos-mesh`, which compiles the programs it can
// and leaves out those it cannot), and removes it otherwise; a daemon
// without it (the official images, installed by anyone) is taken to lack
// nothing.
const AnnotationDaemonLacks = "faultline.dev/chaos-daemon-lacks"

// What a chaos-daemon image may lack, as AnnotationDaemonLacks names it.
const (
	// DaemonIO is toda, the FUSE file system IOChaos mounts over a volume
	// (a Rust program upstream; its crates are out of reach here).
	DaemonIO = "io"
	// DaemonMemory is memStress, which a StressChaos memory stressor runs.
	DaemonMemory = "memory"
	// DaemonHTTP is tproxy, for HTTPChaos (faultline makes none).
	DaemonHTTP = "http"
	// DaemonJVM is byteman and a JVM, for JVMChaos (faultline makes none).
	DaemonJVM = "jvm"
)

// StandInDaemonLacks is what faultline's own daemon image lacks (images,
// chaosmesh.go: its programs are chaos-daemon, cdh, pause, nsexec and
// memStress, on Debian's iptables, ipset, iproute2 and stress-ng).
var StandInDaemonLacks = []string{DaemonIO, DaemonHTTP, DaemonJVM}

// OfficialImagesHint says how to get a daemon that lacks nothing.
const OfficialImagesHint = "install Chaos Mesh with its official images (helm install chaos-mesh chaos-mesh/chaos-mesh, or faultline's installer with Installer.Images mapping " + DaemonImage + " to itself or to a full build)"

// daemonNeeds lists what spec's experiment needs of the daemon's image,
// by AnnotationDaemonLacks' names.
func daemonNeeds(spec faults.Spec) []string {
	switch spec.Kind {
	case faults.KindDiskLatency, faults.KindDiskError:
		return []string{DaemonIO}
	case faults.KindStress:
		if spec.Memory > 0 {
			return []string{DaemonMemory}
		}
	}
	return nil
}

// daemonLacks reads AnnotationDaemonLacks off the cluster's chaos-daemon
// DaemonSets and returns the first that lacks one of needs, with what it
// lacks; "" when none does. A client that may not list DaemonSets passes
// unchecked.
func daemonLacks(ctx context.Context, cl client.Client, needs []string) (string, []string, error) {
	if len(needs) == 0 {
		return "", nil, nil
	}
	var list appsv1.DaemonSetList
	err := cl.List(ctx, &list, client.MatchingLabels{labelName: chartName, labelComponent: componentDmn})
	if apierrors.IsForbidden(err) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("chaos-mesh: list its daemon: %w", err)
	}
	for _, d := range list.Items {
		var missing []string
		for _, l := range strings.Split(d.Annotations[AnnotationDaemonLacks], ",") {
			if l = strings.TrimSpace(l); slices.Contains(needs, l) && !slices.Contains(missing, l) {
				missing = append(missing, l)
			}
		}
		if len(missing) > 0 {
			return d.Namespace + "/" + d.Name, missing, nil
		}
	}
	return "", nil, nil
}

// CheckDaemon refuses spec when the cluster's chaos-daemon image lacks a
// program its experiment runs (AnnotationDaemonLacks), naming the program
// and what to do: the experiment would otherwise fail on every target, or
// never inject, once the load has begun. Prepare and `faultline doctor`
// ask it.
func CheckDaemon(ctx context.Context, cl client.Client, spec faults.Spec) error {
	ds, missing, err := daemonLacks(ctx, cl, daemonNeeds(spec))
	if err != nil || ds == "" {
		return err
	}
	var what []string
	for _, m := range missing {
		switch m {
		case DaemonIO:
			what = append(what, "toda, the FUSE file system IOChaos mounts over the volume")
		case DaemonMemory:
			what = append(what, "memStress, which a StressChaos memory stressor runs")
		default:
			what = append(what, m)
		}
	}
	return fmt.Errorf("chaos-mesh: %s needs %s, and the chaos-daemon image of DaemonSet %s lacks it (annotation %s=%s: faultline's own build of the daemon); %s",
		spec.Kind, strings.Join(what, " and "), ds, AnnotationDaemonLacks, strings.Join(missing, ","), OfficialImagesHint)
}
