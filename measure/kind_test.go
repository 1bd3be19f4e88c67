package measure

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

func TestParseDockerStats(t *testing.T) {
	tests := []struct {
		file string
		want ContainerStats
	}{
		// Read from the Docker 20.10 daemon of this project's machines
		// (cgroup v1), for a container of testdata/busy: its kernel keeps
		// no block I/O figures for the container's cgroup.
		{"docker-stats-v1-running.json", ContainerStats{
			Running: true, CPUSeconds: 0.326270808, WorkingSetBytes: 7081984 - 5697536, RxBytes: 932,
		}},
		// The same container, stopped.
		{"docker-stats-stopped.json", ContainerStats{}},
		// The cgroup v2 layout, as the Engine API documents it.
		{"docker-stats-v2-blkio.json", ContainerStats{
			Running: true, CPUSeconds: 2.5, WorkingSetBytes: 80 << 20, ReadBytes: 1 << 20, WriteBytes: 8<<20 + 4096,
			DiskMeasured: true, RxBytes: 1010, TxBytes: 2020,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDockerStats(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSummaryAndPodSamples(t *testing.T) {
	b, err := os.ReadFile("testdata/kubelet-summary.json")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ParseSummary(b)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Node.NodeName != "faultline-worker2" || len(sum.Pods) != 2 {
		t.Fatalf("summary = %+v", sum)
	}
	n := platform.Node{Name: "n2", Zone: "b", Region: "r1"}
	got := PodSamples(n, sum, nil)
	want := []workload.Sample{{
		Node: "n2", Pod: "faultline/pg-2", Zone: "b", Region: "r1", Up: true,
		CPUSeconds: 41.7, MemoryBytes: 231000000, DataBytes: 1 << 30,
		Unmeasured: []string{CounterDisk, CounterNet},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got := PodSamples(n, sum, map[string]bool{"kube-system": true}); len(got) != 1 || got[0].Pod != "kube-system/coredns-7db6d8ff4d-x2x7q" {
		t.Errorf("with kube-system selected: %+v", got)
	}
}

func TestParseNodeList(t *testing.T) {
	b, err := os.ReadFile("testdata/nodes.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseNodeList(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []KubeNode{
		{Name: "faultline-control-plane", InternalIP: "172.18.0.2", PodCIDRs: []string{"10.244.0.0/24"}},
		{Name: "faultline-worker2", InternalIP: "172.18.0.4", PodCIDRs: []string{"10.244.2.0/24"}, Zone: "b", Region: "r1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if k, ok := matchKubeNode(platform.Node{Name: "n2", Addr: "172.18.0.4"}, got); !ok || k.Name != "faultline-worker2" {
		t.Errorf("match by address = %v, %v", k, ok)
	}
}

// TestDockerStatsOfARealContainer builds testdata/busy as a static binary,
// imports it as an image (no registry needed), runs it and reads its
// statistics from the daemon, running and stopped.
func TestDockerStatsOfARealContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and starts a container")
	}
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		testenv.Missing(t, "docker", "no Docker daemon")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Missing(t, "docker", "no docker command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, name, args...)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	dir := t.TempDir()
	run("go", "build", "-o", filepath.Join(dir, "busy"), "./testdata/busy")
	run("tar", "-C", dir, "-cf", filepath.Join(dir, "busy.tar"), "busy")
	tag := fmt.Sprintf("faultline-measure-test:%d", os.Getpid())
	name := fmt.Sprintf("faultline-measure-test-%d", os.Getpid())
	run("docker", "import", "-c", `ENTRYPOINT ["/busy"]`, filepath.Join(dir, "busy.tar"), tag)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	run("docker", "run", "-d", "--name", name, tag)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	// busy burns 0.3 s of CPU, then writes its file and waits.
	time.Sleep(2 * time.Second)
	d, err := NewDocker()
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.Stats(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("running: %+v", s)
	if !s.Running || s.CPUSeconds < 0.3 || s.WorkingSetBytes <= 0 {
		t.Errorf("running container's stats = %+v; want running, ≥0.3 s of CPU, some memory", s)
	}
	if s.DiskMeasured && s.WriteBytes < 4<<20 {
		t.Errorf("container wrote %d bytes, want at least 4 MiB", s.WriteBytes)
	}
	var ns workload.Sample
	nodeSample(&ns, s)
	if s.DiskMeasured == contains(ns.Unmeasured, CounterDisk) {
		t.Errorf("disk measured %v, sample's unmeasured %v", s.DiskMeasured, ns.Unmeasured)
	}
	run("docker", "stop", "-t", "5", name)
	s, err = d.Stats(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Running {
		t.Errorf("stopped container's stats = %+v, want not running", s)
	}
	if _, err := d.Stats(ctx, name+"-missing"); err == nil {
		t.Error("stats of a missing container did not fail")
	}
}
