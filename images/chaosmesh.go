package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Chaos Mesh as faultline builds it: the controller manager and the
// daemon, from its Go module at the version faults/chaosmesh installs
// (the Helm chart comes from the same module), with the API module
// faultline links copied in where the module's go.mod replaces it by ./api
// (the module zip lacks that directory).
const (
	ChaosMeshModule        = "github.com/chaos-mesh/chaos-mesh"
	ChaosMeshModuleVersion = "v0.9.1-0.20260902003049-47411975a8cb"
	ChaosMeshAPIModule     = "github.com/chaos-mesh/chaos-mesh/api"
	ChaosMeshAPIVersion    = "v0.0.0-20260906172039-d70b66ad97ac"
)

// The official images of that chart (values.yaml: images.registry,
// images.tag and the two repositories); the local builds stand in for
// them.
const (
	OfficialChaosMesh   = "ghcr.io/chaos-mesh/chaos-mesh:v2.8.4"
	OfficialChaosDaemon = "ghcr.io/chaos-mesh/chaos-daemon:v2.8.4"
)

// chaosDaemonRepository is the local name of the daemon image, which the
// chaos-mesh build makes besides the controller manager's.
const chaosDaemonRepository = "faultline/chaos-daemon"

// chaosDaemonPackages are the Debian packages of the daemon's root
// filesystem: what upstream's Dockerfile installs, less the JVM (JVMChaos
// needs byteman, which is not built here) and fuse (IOChaos needs toda,
// likewise). The daemon runs iptables, ipset, tc, ip and stress-ng inside
// the target's namespaces, and nsenter for cgroup paths.
var chaosDaemonPackages = []string{
	"tzdata", "iptables", "ebtables", "net-tools", "ipset", "stress-ng",
	"iproute2", "util-linux", "procps", "ca-certificates",
}

// chaosSources are this recipe and the C programs it compiles: any change
// to them changes the chaos-mesh tag (and only that one).
//
//go:embed chaosmesh.go chaos
var chaosSources embed.FS

// chaosEdit is a change faultline makes to the module source before
// building: Old must occur exactly once in File, where New replaces it.
type chaosEdit struct {
	Name, Why string
	File      string
	Old, New  string
}

// chaosEdits are faultline's changes to the Chaos Mesh source (see
// ../shared/notes/chaos-mesh.md, E2).
var chaosEdits = []chaosEdit{{
	Name: "cgroup-v1-placeholders",
	Why: "kind nodes on cgroup v1 hold empty placeholder directories (hugetlb, perf_event, net_cls...) under /sys/fs/cgroup; " +
		"the daemon counts each as a hierarchy, and containerd/cgroups' Load skips a controller a process is not in only on ErrControllerNotActive, " +
		"so every StressChaos failed with \"controller is not supported\"",
	File: "pkg/chaosdaemon/cgroups/pidpath.go",
	Old:  `return "", errors.New("controller is not supported")`,
	New:  `return "", cgroups.ErrControllerNotActive // faultline: was errors.New("controller is not supported")`,
}}

// apply makes e in the source tree root.
func (e chaosEdit) apply(root string) error {
	p := filepath.Join(root, filepath.FromSlash(e.File))
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("chaos-mesh change %s: %w", e.Name, err)
	}
	if n := bytes.Count(b, []byte(e.Old)); n != 1 {
		return fmt.Errorf("chaos-mesh change %s: the text to change occurs %d times in %s, not once (has the module version changed?)", e.Name, n, e.File)
	}
	return os.WriteFile(p, bytes.Replace(b, []byte(e.Old), []byte(e.New), 1), 0o644)
}

// chaosTag is the tag of both Chaos Mesh images: the module's commit and
// a hash of the build's own inputs (module versions, Debian suite and
// packages, this recipe and its C programs), so that the chaos-mesh
// images and the others rebuild independently.
func chaosTag(v Versions) string {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\nmodule %s@%s\napi %s@%s\ndebian %s\npackages %v\n", ChaosMesh,
		ChaosMeshModule, ChaosMeshModuleVersion, ChaosMeshAPIModule, ChaosMeshAPIVersion, v.Debian, chaosDaemonPackages)
	hashFS(h, chaosSources)
	commit := ChaosMeshModuleVersion[strings.LastIndex(ChaosMeshModuleVersion, "-")+1:]
	return commit + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// chaosDaemonRef is the daemon image's content-tagged local reference.
func chaosDaemonRef(v Versions) string { return chaosDaemonRepository + ":" + chaosTag(v) }

// chaosMesh builds the controller manager image ref and the daemon image
// with the same tag: the module source (with faultline's changes), the
// programs, the daemon's Debian root filesystem (in parallel with the Go
// builds), then both images through docker import, from no base image.
func (b *builder) chaosMesh(ctx context.Context, ref string) error {
	tag := ref[strings.LastIndex(ref, ":")+1:]
	daemonRef := chaosDaemonRepository + ":" + tag
	binKey := fmt.Sprintf("%s@%s %s@%s %s", ChaosMeshModule, ChaosMeshModuleVersion, ChaosMeshAPIModule, ChaosMeshAPIVersion, digest(chaosSources, "."))
	fsKey := fmt.Sprintf("%s %v", b.v.Debian, chaosDaemonPackages)

	fsErr := make(chan error, 1)
	go func() {
		fsErr <- b.step(ctx, "chaos-rootfs", fsKey, func(ctx context.Context) error {
			root := b.path("rootfs-chaos-daemon")
			if err := b.debootstrap(ctx, root, chaosDaemonPackages); err != nil {
				return err
			}
			return b.cmd(ctx, b.work, nil, nil, "chroot", root, "/bin/sh", "-c", chaosDaemonSetup)
		})
	}()
	binErr := b.step(ctx, "chaos-binaries", binKey, b.chaosBinaries)
	if err := <-fsErr; err != nil {
		return err
	}
	if binErr != nil {
		return binErr
	}
	if err := b.chaosDaemonImage(ctx, daemonRef); err != nil {
		return fmt.Errorf("daemon image: %w", err)
	}
	return b.chaosControllerImage(ctx, ref)
}

// chaosDaemonSetup switches iptables and ebtables to their legacy
// variants, as upstream's image does (the rules go into the pods' network
// namespaces), and drops what an image does not need.
const chaosDaemonSetup = `set -e
update-alternatives --set iptables /usr/sbin/iptables-legacy
update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy
update-alternatives --set ebtables /usr/sbin/ebtables-legacy
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /usr/share/locale
`

// chaosPrograms are faultline's own C stand-ins for the programs
// upstream's daemon image downloads as binaries (images/chaos): nsexec,
// through which the daemon runs every command in a target's namespaces,
// and memStress, which a StressChaos memory stressor runs.
var chaosPrograms = []struct{ Name, Source string }{
	{"nsexec", "nsexec.c"},
	{"memStress", "memstress.c"},
}

// chaosBinaries copies the module and its API module into a writable
// source tree, makes faultline's changes, compiles the fake clock objects
// the daemon embeds, and builds chaos-controller-manager (static),
// chaos-daemon and cdh (cgo: pkg/ptrace), pause and chaosPrograms into
// chaos-mesh/bin.
func (b *builder) chaosBinaries(ctx context.Context) error {
	mod, err := b.moduleDir(ctx, ChaosMeshModule, ChaosMeshModuleVersion)
	if err != nil {
		return err
	}
	api, err := b.moduleDir(ctx, ChaosMeshAPIModule, ChaosMeshAPIVersion)
	if err != nil {
		return err
	}
	src, bin := b.path("chaos-mesh", "src"), b.path("chaos-mesh", "bin")
	for _, d := range []string{src, bin} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "cp", "-r", mod, src); err != nil {
		return err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "cp", "-r", api, filepath.Join(src, "api")); err != nil {
		return err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "chmod", "-R", "u+w", src); err != nil {
		return err
	}
	for _, e := range chaosEdits {
		if err := e.apply(src); err != nil {
			return err
		}
	}
	cc := []string{"cc", "-O2"}
	for _, f := range []string{"fake_clock_gettime", "fake_gettimeofday"} {
		c := filepath.Join("pkg/time/fakeclock", f)
		if err := b.cmd(ctx, src, nil, nil, append(cc, "-fPIE", "-c", c+".c", "-o", c+".o")...); err != nil {
			return fmt.Errorf("compile the fake clock (apt-get install gcc): %w", err)
		}
	}
	if err := b.cmd(ctx, src, nil, nil, append(cc, "hack/pause.c", "-o", filepath.Join(bin, "pause"))...); err != nil {
		return err
	}
	for _, p := range chaosPrograms {
		c := filepath.Join(b.work, "chaos-mesh", p.Source)
		data, err := fs.ReadFile(chaosSources, "chaos/"+p.Source)
		if err != nil {
			return err
		}
		if err := os.WriteFile(c, data, 0o644); err != nil {
			return err
		}
		if err := b.cmd(ctx, src, nil, nil, append(cc, "-Wall", c, "-o", filepath.Join(bin, p.Name))...); err != nil {
			return fmt.Errorf("compile %s: %w", p.Name, err)
		}
	}
	ldflags := "-s -w -X github.com/chaos-mesh/chaos-mesh/pkg/version.gitVersion=" + ChaosMeshModuleVersion +
		" -X github.com/chaos-mesh/chaos-mesh/pkg/version.gitCommit=" + ChaosMeshModuleVersion[strings.LastIndex(ChaosMeshModuleVersion, "-")+1:] +
		" -X github.com/chaos-mesh/chaos-mesh/pkg/version.buildDate=2026-01-01T00:00:00Z"
	// The module's go.mod replaces the API module by ./api, whose
	// requirements go.sum may not list: -mod=mod completes it.
	env := func(cgo string) []string { return []string{"CGO_ENABLED=" + cgo, "GOFLAGS=-mod=mod", "GOWORK=off"} }
	build := func(cgo, out, pkg string) error {
		return b.cmd(ctx, src, env(cgo), nil, b.gobin, "build", "-trimpath", "-ldflags", ldflags, "-o", filepath.Join(bin, out), pkg)
	}
	if err := build("0", "chaos-controller-manager", "./cmd/chaos-controller-manager"); err != nil {
		return err
	}
	if err := build("1", "chaos-daemon", "./cmd/chaos-daemon"); err != nil {
		return fmt.Errorf("chaos-daemon needs cgo (apt-get install gcc libc6-dev): %w", err)
	}
	return build("1", "cdh", "./cmd/chaos-daemon-helper")
}

// chaosPath is the PATH of both images.
const chaosPath = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// chaosDaemonImage puts the daemon's programs into its root filesystem,
// checks that the cgo binary runs on that filesystem's C library, and
// imports it as ref.
func (b *builder) chaosDaemonImage(ctx context.Context, ref string) error {
	root := b.path("rootfs-chaos-daemon")
	for _, p := range []string{"chaos-daemon", "cdh", "pause", "nsexec", "memStress"} {
		if err := copyFile(b.path("chaos-mesh", "bin", p), filepath.Join(root, "usr/local/bin", p), 0o755); err != nil {
			return err
		}
	}
	// A daemon linked against a newer glibc than the suite's fails here,
	// not in the cluster.
	if err := b.cmd(ctx, b.work, nil, nil, "chroot", root, "/usr/local/bin/chaos-daemon", "--version"); err != nil {
		return fmt.Errorf("chaos-daemon does not run on Debian %s's C library (build on a machine of that suite or older): %w", b.v.Debian, err)
	}
	if err := b.cmd(ctx, b.work, nil, nil, "chroot", root, "/usr/local/bin/nsexec", "--", "true"); err != nil {
		return err
	}
	// memStress holds on once it runs; a usage error (exit 2) shows it
	// starts.
	if err := b.cmd(ctx, b.work, nil, nil, "chroot", root, "/bin/sh", "-c", "/usr/local/bin/memStress --workers 0 2>/dev/null; test $? -eq 2"); err != nil {
		return fmt.Errorf("memStress does not run in the daemon's root filesystem: %w", err)
	}
	return b.importDir(ctx, root, ref, []string{chaosPath})
}

// chaosControllerImage makes the controller manager's image: the static
// program with the files of a FROM scratch image, the time zones (for
// schedules) and the CA bundle.
func (b *builder) chaosControllerImage(ctx context.Context, ref string) error {
	dir := b.path("ctx", "chaos-mesh")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := writeFiles(dir, staticFiles); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	root := b.path("rootfs-chaos-daemon")
	if err := os.MkdirAll(filepath.Join(dir, "usr/share"), 0o755); err != nil {
		return err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "cp", "-a", filepath.Join(root, "usr/share/zoneinfo"), filepath.Join(dir, "usr/share/")); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"), filepath.Join(dir, "etc/ssl/certs/ca-certificates.crt"), 0o644); err != nil {
		return err
	}
	if err := copyFile(b.path("chaos-mesh", "bin", "chaos-controller-manager"), filepath.Join(dir, "usr/local/bin/chaos-controller-manager"), 0o755); err != nil {
		return err
	}
	return b.importDir(ctx, dir, ref, []string{chaosPath})
}
