package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Kube reads from a Kubernetes API server: the node list and each
// kubelet's summary statistics, through the API server's node proxy, so
// that no metrics-server is needed.
type Kube struct {
	host string
	hc   *http.Client
}

// NewKube connects with the given kubeconfig file and context (empty: the
// file's current context).
func NewKube(kubeconfig, context string) (*Kube, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: context},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return &Kube{host: strings.TrimSuffix(cfg.Host, "/"), hc: hc}, nil
}

func (k *Kube) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.host+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

// KubeNode is what the sampler needs of a Kubernetes node.
type KubeNode struct {
	Name       string
	InternalIP string
	PodCIDRs   []string
	Zone       string
	Region     string
}

// Nodes lists the cluster's nodes.
func (k *Kube) Nodes(ctx context.Context) ([]KubeNode, error) {
	b, err := k.get(ctx, "/api/v1/nodes")
	if err != nil {
		return nil, err
	}
	return ParseNodeList(b)
}

// Summary reads a node's kubelet summary (/stats/summary).
func (k *Kube) Summary(ctx context.Context, node string) (Summary, error) {
	b, err := k.get(ctx, "/api/v1/nodes/"+url.PathEscape(node)+"/proxy/stats/summary")
	if err != nil {
		return Summary{}, err
	}
	return ParseSummary(b)
}

// ParseNodeList reads a v1 NodeList: names, internal addresses, pod CIDRs
// and topology labels.
func ParseNodeList(b []byte) ([]KubeNode, error) {
	var l struct {
		Items []struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				PodCIDR  string   `json:"podCIDR"`
				PodCIDRs []string `json:"podCIDRs"`
			} `json:"spec"`
			Status struct {
				Addresses []struct {
					Type    string `json:"type"`
					Address string `json:"address"`
				} `json:"addresses"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("parse node list: %w", err)
	}
	out := make([]KubeNode, 0, len(l.Items))
	for _, it := range l.Items {
		n := KubeNode{
			Name:     it.Metadata.Name,
			PodCIDRs: it.Spec.PodCIDRs,
			Zone:     it.Metadata.Labels["topology.kubernetes.io/zone"],
			Region:   it.Metadata.Labels["topology.kubernetes.io/region"],
		}
		if len(n.PodCIDRs) == 0 && it.Spec.PodCIDR != "" {
			n.PodCIDRs = []string{it.Spec.PodCIDR}
		}
		for _, a := range it.Status.Addresses {
			if a.Type == "InternalIP" && n.InternalIP == "" {
				n.InternalIP = a.Address
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// Summary is the part of a kubelet's summary statistics
// (stats/v1alpha1.Summary) the sampler reads.
type Summary struct {
	Node PodStats   `json:"node"`
	Pods []PodStats `json:"pods"`
}

// PodStats are one pod's (or the node's) cumulative statistics.
type PodStats struct {
	// NodeName is set on the node's own entry.
	NodeName  string    `json:"nodeName,omitempty"`
	PodRef    PodRef    `json:"podRef"`
	StartTime time.Time `json:"startTime"`
	CPU       struct {
		UsageCoreNanoSeconds uint64 `json:"usageCoreNanoSeconds"`
	} `json:"cpu"`
	Memory struct {
		WorkingSetBytes uint64 `json:"workingSetBytes"`
	} `json:"memory"`
	Network struct {
		RxBytes uint64 `json:"rxBytes"`
		TxBytes uint64 `json:"txBytes"`
	} `json:"network"`
	Volumes []struct {
		Name      string  `json:"name"`
		UsedBytes uint64  `json:"usedBytes"`
		PVCRef    *PodRef `json:"pvcRef,omitempty"`
	} `json:"volume"`
}

// PodRef names a pod (or a persistent volume claim).
type PodRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// PersistentBytes is the space the pod's persistent volumes use: its data,
// as opposed to configuration and service-account volumes.
func (p PodStats) PersistentBytes() int64 {
	var n int64
	for _, v := range p.Volumes {
		if v.PVCRef != nil {
			n += int64(v.UsedBytes)
		}
	}
	return n
}

// ParseSummary reads a kubelet's /stats/summary response.
func ParseSummary(b []byte) (Summary, error) {
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Summary{}, fmt.Errorf("parse kubelet summary: %w", err)
	}
	return s, nil
}
