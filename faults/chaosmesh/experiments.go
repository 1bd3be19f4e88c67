package chaosmesh

import (
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
)

// Parameters Chaos Mesh needs that faultline's fault kinds do not set.
const (
	// bandwidthLimit and bandwidthBuffer are tbf's queue limit and burst
	// in bytes, as Chaos Mesh's own examples set them.
	bandwidthLimit  = 20971520
	bandwidthBuffer = 10000
	// defaultErrno is EIO, for disk-error without errno.
	defaultErrno = 5
	// stopGracePeriod is the seconds a stopped pod gets to shut down:
	// Kubernetes' default terminationGracePeriodSeconds.
	stopGracePeriod = 30
)

// LabelFault is the label that names the schedule entry an experiment
// carries out (its ID).
const LabelFault = "faultline.dev/fault"

// Build returns the experiments that carry spec out on t: typed Chaos
// Mesh objects in the engine's namespace, named for the run and the
// fault, carrying the run's labels. It does no I/O.
func Build(spec faults.Spec, t faults.Target) ([]client.Object, error) {
	target, err := podSelector(t.Pods, t.Selector, t.Nodes)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	meta := func(action string) metav1.ObjectMeta {
		labels := maps.Clone(t.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[faults.LabelManagedBy] = faults.ManagedBy
		labels[LabelFault] = strconv.Itoa(spec.ID)
		return metav1.ObjectMeta{Name: name(spec, action, t.Labels), Namespace: t.Pods.Namespace, Labels: labels}
	}
	var duration *string
	if spec.Duration > 0 {
		duration = ptr.To((spec.Duration + deadManMargin).String())
	}
	containers := func() (v1alpha1.ContainerSelector, error) {
		if len(t.Pods.Containers) == 0 {
			return v1alpha1.ContainerSelector{}, fmt.Errorf("%s acts on containers, and the engine names none of its own (engines.PodSet.Containers)", spec.Kind)
		}
		return v1alpha1.ContainerSelector{PodSelector: all(target), ContainerNames: t.Pods.Containers}, nil
	}
	podChaos := func(action v1alpha1.PodChaosAction, grace int64) *v1alpha1.PodChaos {
		pc := &v1alpha1.PodChaos{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindPodChaos},
			ObjectMeta: meta(string(action)),
			Spec:       v1alpha1.PodChaosSpec{ContainerSelector: v1alpha1.ContainerSelector{PodSelector: all(target)}, Action: action, GracePeriod: grace},
		}
		if action == v1alpha1.PodFailureAction {
			pc.Spec.Duration = duration
		}
		return pc
	}
	switch spec.Kind {
	case faults.KindKill:
		return one(podChaos(v1alpha1.PodKillAction, 0))
	case faults.KindStop, faults.KindRestart:
		// Chaos Mesh's grace period 0 deletes at once; a graceful stop
		// gets Kubernetes' default.
		return one(podChaos(v1alpha1.PodKillAction, stopGracePeriod))
	case faults.KindPause, faults.KindPodFailure, faults.KindZoneOutage, faults.KindRegionOutage:
		return one(podChaos(v1alpha1.PodFailureAction, 0))
	case faults.KindContainerKill:
		cs, err := containers()
		if err != nil {
			return nil, err
		}
		pc := podChaos(v1alpha1.ContainerKillAction, 0)
		pc.Spec.ContainerSelector = cs
		return one(pc)
	case faults.KindPartition, faults.KindLatency, faults.KindLoss, faults.KindBandwidth:
		nc := &v1alpha1.NetworkChaos{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindNetworkChaos},
			Spec: v1alpha1.NetworkChaosSpec{
				PodSelector: all(target),
				Direction:   v1alpha1.Both,
				Duration:    duration,
			},
		}
		// An unfiltered cap has no other side.
		if !Unfiltered(spec) {
			peers, err := podSelector(t.Pods, t.PeerSelector, t.Peers)
			if err != nil {
				return nil, fmt.Errorf("peers: %w", err)
			}
			nc.Spec.Target = ptr.To(all(peers))
		}
		switch spec.Kind {
		case faults.KindPartition:
			nc.Spec.Action = v1alpha1.PartitionAction
			if spec.OneWay {
				nc.Spec.Direction = v1alpha1.To
			}
		case faults.KindLatency:
			nc.Spec.Action = v1alpha1.DelayAction
			nc.Spec.Delay = &v1alpha1.DelaySpec{Latency: millis(spec.Delay), Jitter: millis(spec.Jitter), Correlation: "0"}
		case faults.KindLoss:
			nc.Spec.Action = v1alpha1.LossAction
			nc.Spec.Loss = &v1alpha1.LossSpec{Loss: strconv.FormatFloat(spec.Loss*100, 'g', -1, 64), Correlation: "0"}
		case faults.KindBandwidth:
			// Chaos Mesh shapes bandwidth on egress only: towards the peers.
			nc.Spec.Action = v1alpha1.BandwidthAction
			nc.Spec.Direction = v1alpha1.To
			nc.Spec.Bandwidth = &v1alpha1.BandwidthSpec{Rate: rate(spec.Rate), Limit: bandwidthLimit, Buffer: bandwidthBuffer}
		}
		nc.ObjectMeta = meta(string(nc.Spec.Action))
		return one(nc)
	case faults.KindClockSkew:
		cs, err := containers()
		if err != nil {
			return nil, err
		}
		return one(&v1alpha1.TimeChaos{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindTimeChaos},
			ObjectMeta: meta("time"),
			Spec:       v1alpha1.TimeChaosSpec{ContainerSelector: cs, TimeOffset: spec.Offset.String(), Duration: duration},
		})
	case faults.KindStress:
		cs, err := containers()
		if err != nil {
			return nil, err
		}
		st := &v1alpha1.Stressors{}
		if spec.CPUWorkers > 0 {
			st.CPUStressor = &v1alpha1.CPUStressor{Stressor: v1alpha1.Stressor{Workers: spec.CPUWorkers}}
			if spec.CPULoad > 0 {
				st.CPUStressor.Load = ptr.To(spec.CPULoad)
			}
		}
		if spec.Memory > 0 {
			st.MemoryStressor = &v1alpha1.MemoryStressor{Stressor: v1alpha1.Stressor{Workers: 1}, Size: size(spec.Memory)}
		}
		return one(&v1alpha1.StressChaos{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindStressChaos},
			ObjectMeta: meta("stress"),
			Spec:       v1alpha1.StressChaosSpec{ContainerSelector: cs, Stressors: st, Duration: duration},
		})
	case faults.KindDiskLatency, faults.KindDiskError:
		cs, err := containers()
		if err != nil {
			return nil, err
		}
		io := &v1alpha1.IOChaos{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindIOChaos},
			Spec: v1alpha1.IOChaosSpec{
				ContainerSelector: cs, VolumePath: spec.Path, Path: spec.Path + "/**/*",
				Percent: percent(spec.Percent), Duration: duration,
			},
		}
		if spec.Kind == faults.KindDiskLatency {
			io.Spec.Action = v1alpha1.IoLatency
			io.Spec.Delay = millis(spec.Delay)
		} else {
			io.Spec.Action = v1alpha1.IoFaults
			io.Spec.Errno = uint32(spec.Errno)
			if io.Spec.Errno == 0 {
				io.Spec.Errno = defaultErrno
			}
		}
		io.ObjectMeta = meta(string(io.Spec.Action))
		return one(io)
	}
	return nil, fmt.Errorf("Chaos Mesh does not carry %s", spec.Kind)
}

// Unfiltered reports whether spec's experiment shapes everything its
// target sends rather than only what goes to its peers: bandwidth towards
// peers "rest" (every node outside the target). Chaos Mesh then puts a
// lone tbf on the pods' interface, where a filtered cap needs prio and
// sfq besides (and, in Chaos Mesh, netem's family of qdiscs); the cap then
// holds for the target's traffic to clients outside the cluster too.
func Unfiltered(spec faults.Spec) bool {
	return spec.Kind == faults.KindBandwidth && spec.Peers.Kind == faults.SelRest
}

func one(o client.Object) ([]client.Object, error) { return []client.Object{o}, nil }

// name is "fl-ID-ACTION-HASH": the fault's ID and action, and a hash of
// the run's labels, so that two runs never share a name.
func name(spec faults.Spec, action string, labels map[string]string) string {
	h := fnv.New32a()
	for _, k := range []string{faults.LabelRun, faults.LabelHost, faults.LabelPID} {
		h.Write([]byte(labels[k] + "\x00"))
	}
	n := fmt.Sprintf("fl-%d-%s-%08x", spec.ID, action, h.Sum32())
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

// millis writes d for tc and Chaos Mesh: whole milliseconds when it has
// no finer part, else microseconds.
func millis(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return strconv.FormatInt(d.Microseconds(), 10) + "us"
}

// rate writes bits per second in tc's units.
func rate(bits int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bits%u.mult == 0 {
			return strconv.FormatInt(bits/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(bits, 10) + "bit"
}

// size writes bytes as memStress reads a memory stressor's size
// (go-humanize's ParseBytes, github.com/chaos-mesh/memStress main.go):
// KB, MB and GB are powers of 1000 there, so powers of 1024 are written
// KiB, MiB and GiB, which the webhook's check (go-units' FromHumanSize)
// accepts too.
func size(b int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b%u.mult == 0 {
			return strconv.FormatInt(b/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10) + "B"
}

// percent is Chaos Mesh's percent of operations: 0 means all.
func percent(p int) int {
	if p == 0 {
		return 100
	}
	return p
}
