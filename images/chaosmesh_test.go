package images

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/testenv"
)

func TestChaosMeshStandIns(t *testing.T) {
	m := StandIns(ChaosMesh)
	ctl, dmn := m[OfficialChaosMesh], m[OfficialChaosDaemon]
	if len(m) != 2 || ctl != Ref(ChaosMesh) {
		t.Fatalf("StandIns(chaos-mesh) = %v: want the controller manager (%s) and the daemon", m, Ref(ChaosMesh))
	}
	tagRE := `:47411975a8cb-[0-9a-f]{12}$`
	if !regexp.MustCompile(`^faultline/chaos-mesh`+tagRE).MatchString(ctl) ||
		!regexp.MustCompile(`^faultline/chaos-daemon`+tagRE).MatchString(dmn) {
		t.Fatalf("refs %s, %s: want faultline/chaos-mesh and faultline/chaos-daemon tagged <commit>-<hash>", ctl, dmn)
	}
	if ctl[strings.Index(ctl, ":"):] != dmn[strings.Index(dmn, ":"):] {
		t.Fatalf("the two images of one build have different tags: %s, %s", ctl, dmn)
	}
	if got := StandIns(Etcd); len(got) != 1 || got[OfficialEtcd] != Ref(Etcd) {
		t.Fatalf("StandIns(etcd) = %v", got)
	}
	if StandIns("nope") != nil {
		t.Fatal("StandIns of an unknown name is not nil")
	}
}

// TestChaosTagIsItsOwn: the chaos-mesh build's inputs change its tag and
// no other image's, so that adding it did not rebuild the node image.
func TestChaosTagIsItsOwn(t *testing.T) {
	v := Pinned()
	node, etcd, cm := tag(KindNode, v), tag(Etcd, v), tag(ChaosMesh, v)
	saved := chaosDaemonPackages
	t.Cleanup(func() { chaosDaemonPackages = saved })
	chaosDaemonPackages = append([]string{"strace"}, saved...)
	if tag(ChaosMesh, v) == cm {
		t.Error("the daemon's packages are not an input of the chaos-mesh tag")
	}
	if tag(KindNode, v) != node || tag(Etcd, v) != etcd {
		t.Error("the daemon's packages change other images' tags")
	}
	chaosDaemonPackages = saved
	v.Debian = "trixie"
	if tag(ChaosMesh, v) == cm {
		t.Error("the Debian suite is not an input of the chaos-mesh tag")
	}
	var b strings.Builder
	hashFS(&b, chaosSources)
	for _, want := range []string{"chaosmesh.go", "chaos/nsexec.c", "chaos/memstress.c"} {
		if !strings.Contains(b.String(), want+" ") {
			t.Errorf("the chaos-mesh tag does not cover %s", want)
		}
	}
	b.Reset()
	hashFS(&b, recipeSources)
	if strings.Contains(b.String(), "chaosmesh.go") || strings.Contains(b.String(), "nsexec.c") || strings.Contains(b.String(), "memstress.c") {
		t.Error("the node image's tag covers the chaos-mesh recipe")
	}
}

func TestChaosEditApply(t *testing.T) {
	dir := t.TempDir()
	e := chaosEdit{Name: "x", File: "a/b.go", Old: "old()", New: "new()"}
	p := filepath.Join(dir, "a", "b.go")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src, want string
		fails           bool
	}{
		{"once", "x := old()\n", "x := new()\n", false},
		{"absent", "x := other()\n", "", true},
		{"twice", "old(); old()\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			err := e.apply(dir)
			if tc.fails {
				if err == nil {
					t.Fatal("nil error")
				}
				return
			}
			got, _ := os.ReadFile(p)
			if err != nil || string(got) != tc.want {
				t.Fatalf("apply: %v, %q; want %q", err, got, tc.want)
			}
		})
	}
}

// TestChaosEditsMatchTheModule checks faultline's changes against the
// pinned module source, so that a version bump that moves the text fails
// here rather than minutes into a build.
func TestChaosEditsMatchTheModule(t *testing.T) {
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		testenv.Missing(t, "go", "go env GOMODCACHE: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(gomodcache)), ChaosMeshModule+"@"+ChaosMeshModuleVersion)
	if _, err := os.Stat(root); err != nil {
		testenv.Missing(t, "chaos-mesh-module", "the Chaos Mesh module (go mod download %s@%s): %v", ChaosMeshModule, ChaosMeshModuleVersion, err)
	}
	for _, e := range chaosEdits {
		b, err := os.ReadFile(filepath.Join(root, e.File))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), e.Old); n != 1 {
			t.Errorf("change %s: its text occurs %d times in %s", e.Name, n, e.File)
		}
	}
	for _, f := range []string{"pkg/time/fakeclock/fake_clock_gettime.c", "pkg/time/fakeclock/fake_gettimeofday.c", "hack/pause.c", "cmd/chaos-daemon-helper/main.go"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the recipe compiles %s: %v", f, err)
		}
	}
}

// buildNsexec compiles the nsexec stand-in.
func buildNsexec(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		testenv.Missing(t, "cc", "a C compiler (apt-get install gcc): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "nsexec")
	if out, err := exec.Command("cc", "-O2", "-Wall", "-Werror", "-o", bin, "chaos/nsexec.c").CombinedOutput(); err != nil {
		t.Fatalf("compile nsexec: %v\n%s", err, out)
	}
	return bin
}

// TestNsexec runs the stand-in as chaos-daemon does: the exit status and
// output of the command, usage errors, and signals relayed to the child.
func TestNsexec(t *testing.T) {
	bin := buildNsexec(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"plain", []string{"--", "sh", "-c", "echo hi; exit 3"}, 3, "hi\n"},
		{"no command", []string{"--"}, 125, "usage"},
		{"unknown option", []string{"-x", "y", "--", "true"}, 125, "usage"},
		{"missing namespace", []string{"-n", "/nonexistent", "--", "true"}, 125, "open /nonexistent"},
		{"missing command", []string{"--", "/nonexistent/cmd"}, 127, "exec /nonexistent/cmd"},
		{"local command", []string{"-l", "--", "/bin/sh", "-c", "exit 4"}, 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(bin, tc.args...).CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(string(out), tc.output) {
				t.Fatalf("nsexec %v: exit %d, output %q; want %d and %q", tc.args, code, out, tc.code, tc.output)
			}
		})
	}
	t.Run("signal relayed", func(t *testing.T) {
		cmd := exec.Command(bin, "--", "sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGTERM) || time.Since(start) > 5*time.Second {
			t.Fatalf("after SIGTERM: %v in %s; want exit %d at once (the child killed by the relayed signal)", err, time.Since(start), 128+int(syscall.SIGTERM))
		}
	})
}

// TestNsexecJoinsNamespaces enters a network and pid namespace of a
// process made with unshare: the command sees only its loopback device
// and runs as pid 2 of that pid namespace.
func TestNsexecJoinsNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "joining namespaces needs root")
	}
	bin := buildNsexec(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testenv.Missing(t, "util-linux", "unshare (apt-get install util-linux): %v", err)
	}
	holder := exec.Command("unshare", "-n", "-p", "--fork", "--kill-child", "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	// The namespaced sleep is unshare's child.
	var pid string
	for deadline := time.Now().Add(5 * time.Second); pid == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(holder.Process.Pid), "task", strconv.Itoa(holder.Process.Pid), "children"))
		pid = strings.TrimSpace(string(b))
	}
	if pid == "" {
		t.Fatal("unshare started no child")
	}
	out, err := exec.Command(bin, "-n", "/proc/"+pid+"/ns/net", "-p", "/proc/"+pid+"/ns/pid", "--",
		"sh", "-c", "echo pid $$; tail -n +3 /proc/net/dev | cut -d: -f1").CombinedOutput()
	if err != nil {
		t.Fatalf("nsexec: %v\n%s", err, out)
	}
	if got := strings.Join(strings.Fields(string(out)), " "); got != "pid 2 lo" {
		t.Fatalf("in the namespaces: %q; want pid 2 and only lo", got)
	}
}

// buildMemStress compiles the memStress stand-in.
func buildMemStress(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		testenv.Missing(t, "cc", "a C compiler (apt-get install gcc): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "memStress")
	if out, err := exec.Command("cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", bin, "chaos/memstress.c").CombinedOutput(); err != nil {
		t.Fatalf("compile memStress: %v\n%s", err, out)
	}
	return bin
}

// children returns the pids of pid's children.
func children(pid int) []int {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// rss is a process's resident memory in bytes (0 if it is gone).
func rss(pid int) int64 {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestMemStressArgs: the argv chaos-daemon passes (the API module's
// Stressors.Normalize: --workers N --size SIZE, then the stressor's
// options) and Go's flag spellings are accepted; anything else exits 2
// with a usage message.
func TestMemStressArgs(t *testing.T) {
	bin := buildMemStress(t)
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--workers", "1", "--size", "1MiB"}, true},
		{[]string{"--workers", "2", "--size", "2MB", "--time", "10ms"}, true},
		{[]string{"-workers=1", "-size=1kb", "-time=1m30s", "--client"}, true},
		{[]string{"--workers", "1", "--size", "0%"}, true},
		{[]string{"--workers", "1"}, true},
		{[]string{"--size", "10XB"}, false},
		{[]string{"--size", "101%"}, false},
		{[]string{"--workers", "0"}, false},
		{[]string{"--workers", "x"}, false},
		{[]string{"--time", "10"}, false},
		{[]string{"--cpu", "1"}, false},
		{[]string{"--size"}, false},
		{[]string{"stray"}, false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if tc.ok || !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "usage") {
					t.Fatalf("memStress %v: %v, %q; want it to hold on (ok=%v) or exit 2 with usage", tc.args, err, stderr.String(), tc.ok)
				}
			case <-time.After(300 * time.Millisecond):
				cmd.Process.Signal(syscall.SIGTERM)
				err := <-done
				if !tc.ok || err != nil {
					t.Fatalf("memStress %v: held on (want exit 2), then exited %v on SIGTERM", tc.args, err)
				}
			}
		})
	}
}

// TestMemStress runs the stand-in as chaos-daemon does: the workers share
// the size, each touching all of its share; a worker that is killed comes
// back; SIGTERM ends it all at once, with status 0 and no worker left.
func TestMemStress(t *testing.T) {
	bin := buildMemStress(t)
	const size, workers = 64 << 20, 2
	cmd := exec.Command(bin, "--workers", strconv.Itoa(workers), "--size", "64MiB", "--time", "200ms")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	// full waits for the workers, none of them gone, to hold their share.
	full := func(gone int) []int {
		var kids []int
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			kids = children(pid)
			n := 0
			for _, k := range kids {
				if rss(k) >= size/workers {
					n++
				}
			}
			if len(kids) == workers && n == workers && !slices.Contains(kids, gone) {
				return kids
			}
		}
		var got []string
		for _, k := range kids {
			got = append(got, strconv.FormatInt(rss(k)>>20, 10)+"MiB")
		}
		t.Fatalf("workers %v hold %v; want %d holding %d MiB each (stderr %q)", kids, got, workers, size/workers>>20, stderr.String())
		return nil
	}
	kids := full(0)
	if err := syscall.Kill(kids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	again := full(kids[0])
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("after SIGTERM: %v in %s; want exit 0 at once", err, time.Since(start))
	}
	if !strings.Contains(stderr.String(), "killed by signal 9, restarting") {
		t.Errorf("stderr %q does not say the worker was restarted", stderr.String())
	}
	for _, k := range again {
		if err := syscall.Kill(k, 0); err == nil && rss(k) > 0 {
			t.Errorf("worker %d outlived memStress", k)
		}
	}
}
