// Command podnet is the pod network of faultline's kind nodes, a small
// stand-in for kindnetd (whose module the proxy refuses). On every node it
// writes a ptp + host-local CNI configuration for the node's pod CIDR,
// routes every other node's pod CIDR via that node's address, and
// masquerades pod traffic that leaves the cluster's pod subnet.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	confPath = "/etc/cni/net.d/10-podnet.conflist"
	interval = 5 * time.Second
)

const cniConf = `{
  "cniVersion": "0.4.0",
  "name": "podnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": %d,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [ { "dst": "0.0.0.0/0" } ],
        "ranges": [ [ { "subnet": %q } ] ]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Getenv("NODE_NAME"), os.Getenv("POD_SUBNET")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, me, podSubnet string) error {
	if me == "" {
		return fmt.Errorf("NODE_NAME is not set")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	written := ""
	for {
		if err := sync(ctx, cs, me, podSubnet, &written); err != nil {
			log.Print(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// sync brings routes, CNI configuration and masquerading up to date with
// the node list once.
func sync(ctx context.Context, cs kubernetes.Interface, me, podSubnet string, written *string) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil {
			continue
		}
		if n.Name == me {
			if err := writeConf(n.Spec.PodCIDR, written); err != nil {
				log.Print(err)
			}
			continue
		}
		if gw := internalIP(n); gw != nil {
			if err := netlink.RouteReplace(&netlink.Route{Dst: cidr, Gw: gw}); err != nil {
				log.Printf("route %s via %s: %v", cidr, gw, err)
			}
		}
	}
	if podSubnet != "" {
		return masquerade(podSubnet)
	}
	return nil
}

func writeConf(podCIDR string, written *string) error {
	mtu := 1500
	if l, err := netlink.LinkByName("eth0"); err == nil {
		mtu = l.Attrs().MTU
	}
	c := fmt.Sprintf(cniConf, mtu, podCIDR)
	if c == *written {
		return nil
	}
	tmp := confPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(c), 0o644); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	if err := os.Rename(tmp, confPath); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	*written = c
	log.Printf("wrote CNI config for %s", podCIDR)
	return nil
}

func internalIP(n *v1.Node) net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP {
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				return ip
			}
		}
	}
	return nil
}

// masquerade makes sure pod traffic to outside the pod subnet (and not to
// the node itself) leaves with the node's address.
func masquerade(podSubnet string) error {
	rule := []string{"POSTROUTING", "-s", podSubnet, "!", "-d", podSubnet,
		"-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", "MASQUERADE", "-m", "comment", "--comment", "podnet"}
	if exec.Command("iptables", append([]string{"-w", "-t", "nat", "-C"}, rule...)...).Run() == nil {
		return nil
	}
	if out, err := exec.Command("iptables", append([]string{"-w", "-t", "nat", "-A"}, rule...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables masquerade: %v: %s", err, out)
	}
	return nil
}
