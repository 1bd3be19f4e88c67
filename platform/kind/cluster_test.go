package kind

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

func TestToNodes(t *testing.T) {
	node := func(name, zone string, cp bool, ip string) corev1.Node {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
		if zone != "" {
			n.Labels[LabelZone], n.Labels[LabelRegion] = zone, "r"
		}
		if cp {
			n.Labels[kube.LabelControlPlane] = ""
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}
		return n
	}
	got := toNodes([]corev1.Node{
		node("f-worker10", "c", false, "10.0.0.11"),
		node("f-worker2", "b", false, "10.0.0.3"),
		node("f-worker", "a", false, "10.0.0.2"),
		node("f-control-plane", "", true, "10.0.0.1"),
	})
	want := []platform.Node{
		{Name: "f-control-plane", Role: platform.RoleControlPlane, Addr: "10.0.0.1"},
		{Name: "f-worker", Region: "r", Zone: "a", Role: platform.RoleWorker, Addr: "10.0.0.2"},
		{Name: "f-worker2", Region: "r", Zone: "b", Role: platform.RoleWorker, Addr: "10.0.0.3"},
		{Name: "f-worker10", Region: "r", Zone: "c", Role: platform.RoleWorker, Addr: "10.0.0.11"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("toNodes =\n%+v\nwant\n%+v", got, want)
	}
}

func TestCanInjectEveryKind(t *testing.T) {
	for _, k := range faults.Kinds() {
		if !k.Native() {
			continue
		}
		if err := canInject(k.Name); err != nil {
			t.Errorf("CanInject(%s) = %v", k.Name, err)
		}
	}
	if err := canInject("meteor"); err == nil {
		t.Error("CanInject(meteor) = nil, want an error")
	}
}

func TestWorkerRefusesControlPlane(t *testing.T) {
	c := &Cluster{name: "f", nodes: []platform.Node{
		{Name: "f-control-plane", Role: platform.RoleControlPlane},
		{Name: "f-worker", Role: platform.RoleWorker},
	}}
	if _, err := c.worker("f-control-plane"); err == nil {
		t.Error("the control plane was accepted as a fault target")
	}
	if _, err := c.worker("nope"); err == nil {
		t.Error("an unknown node was accepted")
	}
	if n, err := c.worker("f-worker"); err != nil || n.Name != "f-worker" {
		t.Errorf("worker(f-worker) = %+v, %v", n, err)
	}
}

func TestStateLock(t *testing.T) {
	st := state{dir: t.TempDir()}
	if _, ok := st.read("c1"); ok {
		t.Fatal("a cluster never recorded reads as faultline's")
	}
	if err := st.write(record{Name: "c1", PID: 1}); err != nil {
		t.Fatal(err)
	}
	if rec, ok := st.read("c1"); !ok || rec.PID != 1 {
		t.Fatalf("read = %+v, %v", rec, ok)
	}
	l, err := st.lock("c1")
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file: a second open in the same process conflicts
	// as another process's would.
	if _, err := st.lock("c1"); !errors.Is(err, errInUse) {
		t.Errorf("second lock: %v, want errInUse", err)
	}
	l.Close()
	l2, err := st.lock("c1")
	if err != nil {
		t.Errorf("lock after release: %v", err)
	} else {
		l2.Close()
	}
	if n := len(st.list()); n != 1 {
		t.Errorf("list has %d records, want 1", n)
	}
	if err := st.remove("c1"); err != nil || len(st.list()) != 0 {
		t.Errorf("remove: %v, %d left", err, len(st.list()))
	}
}

func TestNodeMechanism(t *testing.T) {
	c := &Cluster{}
	for action, want := range map[string]string{"kill": "docker kill", "stop": "docker stop", "pause": "docker pause"} {
		if got := c.NodeMechanism(action); !strings.HasPrefix(got, want) {
			t.Errorf("NodeMechanism(%s) = %q", action, got)
		}
	}
}

// TestMapImage: both eager and lazy stand-ins are handed out, eager first;
// anything else is run as named.
func TestMapImage(t *testing.T) {
	c := &Cluster{opts: Options{
		Images:     map[string]string{"etcd:official": "faultline/etcd:1", "both:official": "eager:1"},
		LazyImages: map[string]string{"chaos:official": "faultline/chaos:1", "both:official": "lazy:1"},
	}}
	for ref, want := range map[string]string{
		"etcd:official":  "faultline/etcd:1",
		"chaos:official": "faultline/chaos:1",
		"both:official":  "eager:1",
		"other:1":        "other:1",
	} {
		if got := c.MapImage(ref); got != want {
			t.Errorf("MapImage(%s) = %s, want %s", ref, got, want)
		}
	}
	var _ platform.ImageLoader = c
}
