//go:build e2e

package faults_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/netnstest"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/dockerd"
)

// dockerCluster is a cluster of plain Docker containers, reached the way
// the kind platform reaches its node containers: commands by docker exec,
// the network namespace by the container's first process
// (/proc/PID/ns/net), which the delayer enters from the host.
type dockerCluster struct {
	lanCluster
	containers map[string]string // node → container
}

func (c *dockerCluster) NetExec(ctx context.Context, node string, argv ...string) ([]byte, error) {
	full := append([]string{"docker", "exec", c.containers[node]}, argv...)
	out, err := exec.CommandContext(ctx, full[0], full[1:]...).CombinedOutput()
	if err != nil {
		return out, &platform.CommandError{Node: node, Argv: argv, Output: out, Err: err}
	}
	return out, nil
}

func (c *dockerCluster) NetNamespace(node string) string { return c.containers[node] }

// TestShapingInContainers shapes traffic between two containers as it
// would between kind nodes: two containers of the kind node image (it has
// iptables, tc and ip) on the Docker daemon kind runs on, found as
// `faultline run` finds them (make nightly runs it after make images).
func TestShapingInContainers(t *testing.T) {
	netnstest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	d, err := dockerd.Ensure(ctx, dockerd.Options{})
	if err != nil {
		testenv.Missing(t, "docker", "no Docker daemon that can run privileged containers: %v", err)
	}
	built, err := images.Built(ctx, d, images.KindNode)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !built {
		testenv.Missing(t, "kind-node-image", "%s is not built (make images)", images.Ref(images.KindNode))
	}
	image := images.Ref(images.KindNode)
	t.Setenv("DOCKER_HOST", d.Host())
	b := make([]byte, 3)
	rand.Read(b)
	c := &dockerCluster{lanCluster: lanCluster{name: "docker-" + hex.EncodeToString(b), ns: map[string]*netnstest.NS{}}, containers: map[string]string{}}
	for _, node := range []string{"n1", "n2"} {
		name := "fl-shape-" + hex.EncodeToString(b) + "-" + node
		out, err := exec.Command("docker", "run", "-d", "--name", name, "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
			"--entrypoint", "sleep", image, "infinity").CombinedOutput()
		if err != nil {
			t.Fatalf("docker run: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
		out, err = exec.Command("docker", "inspect", "-f", "{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name).CombinedOutput()
		f := strings.Fields(string(out))
		if err != nil || len(f) != 2 {
			t.Fatalf("docker inspect: %v: %s", err, out)
		}
		c.containers[node] = name
		c.ns[node] = &netnstest.NS{Name: name, Path: "/proc/" + f[0] + "/ns/net"}
		c.nodes = append(c.nodes, platform.Node{Name: node, Addr: f[1], Role: platform.RoleWorker})
	}
	n1, n2 := c.peer("n1"), c.peer("n2")
	base := fastest(connectTimes(t, n1, n2, 5))

	const delay = 40 * time.Millisecond
	h, f, log := inject(t, c, faults.Spec{ID: 1, Kind: faults.KindLatency, Delay: delay, Duration: time.Minute}, c.target("n1", "n2"))
	wantMechanism(t, mechanism(f))
	got := fastest(connectTimes(t, n1, n2, 8)) - base
	if !within(got, 2*delay) {
		t.Errorf("between containers a connect grew by %v, want %v ± %v\n%s", got, 2*delay, tolerance(2*delay), log.String())
	}
	t.Logf("connect +%v for %v one-way (%s)", got, delay, mechanism(f))
	heal(t, h)

	const rate = 10_000_000
	h, _, _ = inject(t, c, faults.Spec{ID: 2, Kind: faults.KindBandwidth, Rate: rate, Duration: time.Minute}, c.target("n1", "n2"))
	bulk := bulkRate(t, n1, n2, 2*time.Second, true)
	if bulk < 0.85*rate || bulk > 1.15*rate {
		t.Errorf("%.1f Mbit/s through a 10 Mbit/s cap between containers", bulk/1e6)
	}
	t.Logf("%.2f Mbit/s through a 10 Mbit/s cap", bulk/1e6)
	heal(t, h)
	for _, n := range []string{"n1", "n2"} {
		if left := leftovers(context.Background(), c, n, "FL-"); left != "" {
			t.Errorf("after heal, %s still has:\n%s", n, left)
		}
	}
	if pids := ownDelayers(); len(pids) > 0 {
		t.Errorf("after heal, delayers %v still run", pids)
	}
}
