package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Docker reads container statistics from the Docker Engine API, over its
// unix socket. Only the one endpoint the kind sampler needs is spoken, so
// that measuring does not pull in a Docker SDK.
type Docker struct {
	hc *http.Client
}

// NewDocker connects to the daemon at DOCKER_HOST when it names a unix
// socket, else at /var/run/docker.sock. Nothing is dialled until the first
// request.
func NewDocker() (*Docker, error) {
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		u, err := url.Parse(h)
		if err != nil || u.Scheme != "unix" {
			return nil, fmt.Errorf("docker: DOCKER_HOST %q: only unix sockets are supported", h)
		}
		sock = u.Path
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}
	return &Docker{hc: &http.Client{Transport: tr}}, nil
}

// ContainerStats is one reading of a container's cgroup counters.
type ContainerStats struct {
	// Running is false when the daemon had nothing to read: the container
	// is stopped.
	Running    bool
	CPUSeconds float64
	// WorkingSetBytes is memory usage less inactive page cache, the figure
	// kubelet and cAdvisor call the working set.
	WorkingSetBytes int64
	// Block-layer bytes and operations, summed over devices. DiskMeasured
	// is false when the daemon reported no block I/O figures at all, as
	// hosts whose kernel keeps none for the container's cgroup do.
	ReadBytes, WriteBytes, ReadOps, WriteOps int64
	DiskMeasured                             bool
	// Network bytes over all of the container's interfaces.
	RxBytes, TxBytes int64
}

// Stats reads a container's statistics once (stream=false, one-shot: no
// second reading to compute a rate the sampler does not need).
func (d *Docker) Stats(ctx context.Context, container string) (ContainerStats, error) {
	u := "http://docker/containers/" + url.PathEscape(container) + "/stats?stream=false&one-shot=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return ContainerStats{}, err
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return ContainerStats{}, fmt.Errorf("docker stats %s: %w", container, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return ContainerStats{}, fmt.Errorf("docker stats %s: %w", container, err)
	}
	if resp.StatusCode != http.StatusOK {
		return ContainerStats{}, fmt.Errorf("docker stats %s: %s: %s", container, resp.Status, strings.TrimSpace(string(b)))
	}
	s, err := ParseDockerStats(b)
	if err != nil {
		return s, fmt.Errorf("docker stats %s: %w", container, err)
	}
	return s, nil
}

// dockerStats is the part of the Engine API's stats response read here.
type dockerStats struct {
	Read     time.Time `json:"read"`
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
	} `json:"cpu_stats"`
	MemoryStats struct {
		Usage uint64            `json:"usage"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
	BlkioStats struct {
		Bytes []blkioEntry `json:"io_service_bytes_recursive"`
		Ops   []blkioEntry `json:"io_serviced_recursive"`
	} `json:"blkio_stats"`
	Networks map[string]struct {
		RxBytes uint64 `json:"rx_bytes"`
		TxBytes uint64 `json:"tx_bytes"`
	} `json:"networks"`
}

type blkioEntry struct {
	Op    string `json:"op"`
	Value uint64 `json:"value"`
}

// ParseDockerStats reads a stats response of the Docker Engine API, for
// cgroup v1 and v2 hosts alike: the inactive page cache is
// total_inactive_file on v1 and inactive_file on v2; blkio operations are
// "Read"/"Write" on v1 and "read"/"write" on v2.
func ParseDockerStats(b []byte) (ContainerStats, error) {
	var d dockerStats
	if err := json.Unmarshal(b, &d); err != nil {
		return ContainerStats{}, fmt.Errorf("parse docker stats: %w", err)
	}
	s := ContainerStats{
		// A stopped container's stats carry the zero time.
		Running:    !d.Read.IsZero() && d.Read.Year() > 1,
		CPUSeconds: float64(d.CPUStats.CPUUsage.TotalUsage) / 1e9,
	}
	inactive, ok := d.MemoryStats.Stats["total_inactive_file"]
	if !ok {
		inactive = d.MemoryStats.Stats["inactive_file"]
	}
	if d.MemoryStats.Usage > inactive {
		s.WorkingSetBytes = int64(d.MemoryStats.Usage - inactive)
	}
	s.DiskMeasured = len(d.BlkioStats.Bytes) > 0
	s.ReadBytes, s.WriteBytes = sumBlkio(d.BlkioStats.Bytes)
	s.ReadOps, s.WriteOps = sumBlkio(d.BlkioStats.Ops)
	for _, n := range d.Networks {
		s.RxBytes += int64(n.RxBytes)
		s.TxBytes += int64(n.TxBytes)
	}
	return s, nil
}

func sumBlkio(es []blkioEntry) (read, write int64) {
	for _, e := range es {
		switch strings.ToLower(e.Op) {
		case "read":
			read += int64(e.Value)
		case "write":
			write += int64(e.Value)
		}
	}
	return read, write
}
