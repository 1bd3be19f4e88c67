package dockerd

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
)

func TestMain(m *testing.M) {
	// The private daemon runs this test binary as its runtime shim.
	agent.Main(Agents())
	os.Exit(m.Run())
}

// TestEnsurePrivileged starts a privileged container through the daemon
// Ensure picks and reaches it from the host by its address.
func TestEnsurePrivileged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Docker daemon and a container")
	}
	testenv.NeedRoot(t, "starts a Docker daemon")
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Missing(t, "docker", "needs the docker CLI")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log strings.Builder
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	wasRunning := newPlan(o).alivePID() > 0
	d, err := Ensure(ctx, Options{Log: &log})
	if err != nil {
		t.Fatalf("Ensure: %v\n%s", err, log.String())
	}
	if !wasRunning {
		// Leave the machine as the test found it: a daemon this test
		// started is stopped (its images stay).
		t.Cleanup(func() {
			if err := d.Stop(context.Background()); err != nil {
				t.Errorf("stop the daemon this test started: %v", err)
			}
		})
	}
	t.Logf("daemon %s private=%v\n%s", d.Host(), d.Private(), log.String())
	again, err := Ensure(ctx, Options{})
	if err != nil || again.Host() != d.Host() {
		t.Fatalf("second Ensure: %v, %v", again, err)
	}
	if ok, why, err := CanRunPrivileged(ctx, d); err != nil || !ok {
		t.Fatalf("privileged container on %s: ok %v, %s, %v", d.Host(), ok, why, err)
	}
	if !d.Private() {
		return
	}
	// The host reaches the daemon's containers by address (kind's API
	// server and NodePorts are reached that way).
	ip := runEcho(ctx, t, d)
	var conn net.Conn
	for i := 0; i < 50; i++ {
		if conn, err = net.DialTimeout("tcp", net.JoinHostPort(ip, "7000"), time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial the container at %s from the host: %v", ip, err)
	}
	defer conn.Close()
	b, _ := io.ReadAll(conn)
	if string(b) != "faultline\n" {
		t.Fatalf("container answered %q", b)
	}
}

// runEcho builds testdata/echo statically, runs it in a container of its
// own image and returns the container's address.
func runEcho(ctx context.Context, t *testing.T, d *Daemon) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "echo"), "./testdata/echo")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build echo: %v: %s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "echo", Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	tw.Close()
	const image = "faultline/dockerd-test-echo:latest"
	if _, err := d.DockerIO(ctx, &buf, "import", "-", image); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("faultline-dockerd-test-%d", os.Getpid())
	if _, err := d.Docker(ctx, "run", "-d", "--name", name, image, "/echo"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Docker(context.Background(), "rm", "-f", name)
		d.Docker(context.Background(), "rmi", image)
	})
	out, err := d.Docker(ctx, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestPrivateStopAndHeal starts a second private daemon of its own
// (namespace, subnet and directories apart from the shared one), then
// stops it and checks that nothing of its network is left, twice.
func TestPrivateStopAndHeal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Docker daemon")
	}
	testenv.NeedRoot(t, "starts a Docker daemon")
	for _, b := range []string{"docker", "dockerd", "runc", "ip", "iptables", "nsenter"} {
		if _, err := findBinary("", b); err != nil {
			testenv.Missing(t, b, "%s is not installed", b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := Options{Private: true, NetNS: "fl-dockerd-test", Subnet: "10.251.0.0/16", RunDir: t.TempDir(), DataRoot: t.TempDir()}
	d, err := Ensure(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	p := d.plan
	t.Cleanup(func() { p.stop(context.Background()) })
	if ok, why, err := CanRunPrivileged(ctx, d); err != nil || !ok {
		t.Fatalf("privileged container: %v %s %v", ok, why, err)
	}
	var log strings.Builder
	if err := heal(ctx, o, &log); err != nil || !strings.Contains(log.String(), "left alone") {
		t.Fatalf("heal touched a running daemon: %v, %q", err, log.String())
	}
	// A daemon killed outright leaves its containerd, namespace and link:
	// heal removes them.
	if err := syscall.Kill(p.alivePID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for p.alivePID() != 0 {
		time.Sleep(100 * time.Millisecond)
	}
	log.Reset()
	if err := heal(ctx, o, &log); err != nil || !strings.Contains(log.String(), "dead") {
		t.Fatalf("heal after a crash: %v, %q", err, log.String())
	}
	if p.containerdPID() != 0 {
		t.Error("heal left the dead daemon's containerd running")
	}
	if _, err := os.Stat(p.netnsPath()); err == nil {
		t.Errorf("heal left namespace %s", p.netnsPath())
	}
	// Start it again, then stop it the orderly way, twice.
	if d, err = Ensure(ctx, o); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := d.Stop(ctx); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
		if _, err := os.Stat(p.netnsPath()); err == nil {
			t.Errorf("namespace %s left after Stop", p.netnsPath())
		}
		if _, err := net.InterfaceByName(p.hostLink()); err == nil {
			t.Errorf("link %s left after Stop", p.hostLink())
		}
		if p.alivePID() != 0 {
			t.Error("daemon still running after Stop")
		}
		if err := heal(ctx, o, io.Discard); err != nil {
			t.Errorf("heal after Stop: %v", err)
		}
	}
}
