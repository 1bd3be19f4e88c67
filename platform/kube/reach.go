package kube

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/faultline-dev/faultline/platform"
)

// Reach is a way to a Service from outside the cluster.
type Reach struct {
	// Addr is host:port, reachable from the harness.
	Addr string
	// Close releases what keeps Addr open (a port-forward's listener);
	// it is safe to call more than once.
	Close func()
}

// NodePortName names the NodePort Service faultline adds beside a
// Service it reaches through the nodes.
func NodePortName(service string) string { return service + "-faultline" }

// ReachService makes Service namespace/name's port reachable from the
// harness. On clusters whose nodes the harness reaches
// (platform.NodePortHost) it applies a NodePort Service with the same
// selector and returns the node port on the host the cluster names (the
// control plane, which faults spare); elsewhere it forwards a local port
// through the API server, choosing for each connection a ready pod behind
// the Service at that moment, so that clients follow a failover.
func ReachService(ctx context.Context, cl platform.Cluster, c *Clients, namespace, name string, port int32) (Reach, error) {
	svc, err := c.Typed.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Reach{}, fmt.Errorf("reach service %s/%s: %w", namespace, name, err)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return Reach{}, fmt.Errorf("reach service %s/%s: no port %d", namespace, name, port)
	}
	if np, ok := cl.(platform.NodePortHost); ok {
		return reachNodePort(ctx, np, c, svc, *sp)
	}
	return forwardService(ctx, c, svc, *sp)
}

// NodePortService is the NodePort Service ReachService applies beside
// svc for port sp.
func NodePortService(svc *corev1.Service, sp corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name: NodePortName(svc.Name), Namespace: svc.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "faultline"},
		},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: svc.Spec.Selector,
			Ports:    []corev1.ServicePort{{Name: sp.Name, Port: sp.Port, TargetPort: sp.TargetPort, Protocol: sp.Protocol}},
		},
	}
}

func reachNodePort(ctx context.Context, np platform.NodePortHost, c *Clients, svc *corev1.Service, sp corev1.ServicePort) (Reach, error) {
	host, err := np.NodePortAddr(ctx)
	if err != nil {
		return Reach{}, err
	}
	objs, err := ToUnstructured(NodePortService(svc, sp))
	if err != nil {
		return Reach{}, err
	}
	if err := Apply(ctx, c, objs, ApplyOptions{}); err != nil {
		return Reach{}, err
	}
	got, err := c.Typed.CoreV1().Services(svc.Namespace).Get(ctx, NodePortName(svc.Name), metav1.GetOptions{})
	if err != nil || len(got.Spec.Ports) == 0 || got.Spec.Ports[0].NodePort == 0 {
		return Reach{}, fmt.Errorf("reach service %s/%s: no node port assigned: %v", svc.Namespace, svc.Name, err)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(got.Spec.Ports[0].NodePort)))
	return Reach{Addr: addr, Close: func() {}}, nil
}

// forwardService listens on a loopback port and forwards each connection
// to a ready pod behind svc.
func forwardService(ctx context.Context, c *Clients, svc *corev1.Service, sp corev1.ServicePort) (Reach, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Reach{}, fmt.Errorf("port-forward %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	var once sync.Once
	closeFn := func() { once.Do(func() { l.Close() }) }
	go func() {
		var id atomic.Int64
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				// A connection the pod cannot take is closed: the client
				// sees a refused session, as it would at a dead Service.
				_ = forwardConn(context.WithoutCancel(ctx), c, svc, sp, conn, id.Add(1))
			}()
		}
	}()
	return Reach{Addr: l.Addr().String(), Close: closeFn}, nil
}

// readyTarget finds a ready pod behind svc and the container port sp
// targets on it.
func readyTarget(ctx context.Context, c *Clients, svc *corev1.Service, sp corev1.ServicePort) (pod string, port int32, err error) {
	slices, err := c.Typed.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name,
	})
	if err != nil {
		return "", 0, err
	}
	for _, s := range slices.Items {
		for _, p := range s.Ports {
			if p.Name == nil || *p.Name != sp.Name || p.Port == nil {
				continue
			}
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready && e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
					return e.TargetRef.Name, *p.Port, nil
				}
			}
		}
	}
	return "", 0, fmt.Errorf("service %s/%s has no ready endpoint", svc.Namespace, svc.Name)
}

// forwardConn copies conn to and from port of a ready pod behind svc
// through the API server's port-forward subresource (SPDY).
func forwardConn(ctx context.Context, c *Clients, svc *corev1.Service, sp corev1.ServicePort, conn net.Conn, id int64) error {
	pod, port, err := readyTarget(ctx, c, svc, sp)
	if err != nil {
		return err
	}
	rt, upgrader, err := spdy.RoundTripperFor(c.Config)
	if err != nil {
		return err
	}
	u := c.Typed.CoreV1().RESTClient().Post().Resource("pods").Namespace(svc.Namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	sc, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return fmt.Errorf("port-forward to %s: %w", pod, err)
	}
	defer sc.Close()
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(int(port)))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.FormatInt(id, 10))
	errStream, err := sc.CreateStream(h)
	if err != nil {
		return err
	}
	errStream.Close()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := sc.CreateStream(h)
	if err != nil {
		return err
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(conn, data); done <- struct{}{} }()
	go func() { io.Copy(data, conn); data.Close(); done <- struct{}{} }()
	go func() { io.Copy(io.Discard, errStream); done <- struct{}{} }()
	select {
	case <-done:
	case <-sc.CloseChan():
	}
	return nil
}
