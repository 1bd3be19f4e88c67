//go:build e2e

package images

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform/dockerd"
)

func TestMain(m *testing.M) {
	// A private Docker daemon started by this test runs this binary as its
	// runtime shim.
	agent.Main(dockerd.Agents())
	os.Exit(m.Run())
}

// TestNodeBoots builds the node image (a no-op when it is current) and
// boots one node from it: systemd reaches containerd, and containerd holds
// every image kubeadm and kind's manifests need.
func TestNodeBoots(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "needs root (debootstrap, chroot, Docker)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	d, err := dockerd.Ensure(ctx, dockerd.Options{Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := Build(ctx, d, []string{KindNode}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	t.Logf("build: %s", time.Since(start).Round(time.Second))
	ref, err := Resolve(ctx, d, KindNode, "")
	if err != nil || ref != Ref(KindNode) {
		t.Fatalf("Resolve = %q, %v; want the local build %s", ref, err, Ref(KindNode))
	}

	name := fmt.Sprintf("faultline-images-e2e-%d", os.Getpid())
	if _, err := d.Docker(ctx, "run", "-d", "--privileged", "--name", name, "--tmpfs", "/tmp", "--tmpfs", "/run",
		"-v", "/var", "-v", "/lib/modules:/lib/modules:ro", ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Docker(context.Background(), "rm", "-f", "-v", name) })

	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := d.Docker(ctx, "exec", name, "systemctl", "is-active", "containerd")
		if err == nil && strings.TrimSpace(string(out)) == "active" {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := d.Docker(ctx, "logs", "--tail", "40", name)
			t.Fatalf("containerd not active in the node after 2m (%v): %s\n%s", err, out, logs)
		}
		time.Sleep(time.Second)
	}
	out, err := d.Docker(ctx, "exec", name, "ctr", "--namespace=k8s.io", "images", "list", "-q")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Pinned().components() {
		if !strings.Contains(string(out), c.Ref) {
			t.Errorf("node's containerd lacks %s:\n%s", c.Ref, out)
		}
	}
	for _, cmd := range [][]string{
		{"kubeadm", "version", "-o", "short"},
		{"grep", "-q", "restrict_oom_score_adj = true", "/etc/containerd/config.toml"},
		{"test", "-s", "/kind/manifests/default-cni.yaml"},
		{"test", "-s", "/kind/manifests/default-storage.yaml"},
	} {
		if out, err := d.Docker(ctx, append([]string{"exec", name}, cmd...)...); err != nil {
			t.Errorf("%v: %v: %s", cmd, err, out)
		}
	}
}
