// Package images builds, without any registry, the container images a kind
// run needs (a kind node image and engine images) from pinned Go modules
// and Debian packages, content-tagged so that only changed inputs rebuild.
package images

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/platform/dockerd"
)

// Names of the images faultline builds.
const (
	KindNode = "kind-node"
	Etcd     = "etcd"
	// CNPGPostgres is CloudNativePG's operand (PostgreSQL) image, from
	// Debian's packages.
	CNPGPostgres = "cnpg-postgres"
	// ChaosMesh is Chaos Mesh's controller manager and daemon, two images
	// of one build from its Go module (Ref names the controller manager's;
	// StandIns both).
	ChaosMesh = "chaos-mesh"
	// Vitess is the vitess engine's image on Kubernetes without
	// vitess-operator: faultline's build of the Vitess programs and
	// Debian's MariaDB.
	Vitess = "vitess"
)

// Names lists every image Build knows, in build order.
func Names() []string { return []string{KindNode, Etcd, CNPGPostgres, ChaosMesh, Vitess} }

// recipeSources are the recipe itself and the in-tree programs: any change
// to them changes the tags.
//
//go:embed recipe.go build.go node.go versions.go programs
var recipeSources embed.FS

// repository is the local name of each image; Ref adds the tag.
var repository = map[string]string{
	KindNode:     "faultline/kind-node",
	Etcd:         "faultline/etcd",
	CNPGPostgres: "faultline/cnpg-postgres",
	ChaosMesh:    "faultline/chaos-mesh",
	Vitess:       "faultline/vitess",
}

// official are the images of users who can pull.
var official = map[string]string{
	KindNode:     OfficialKindNode,
	Etcd:         OfficialEtcd,
	CNPGPostgres: OfficialCNPGPostgres,
	ChaosMesh:    OfficialChaosMesh,
	Vitess:       OfficialVitess,
}

// Ref is the content-tagged local reference of the named image, e.g.
// faultline/kind-node:v1.34.4-0123456789ab, or "" for an unknown name.
func Ref(name string) string {
	repo, ok := repository[name]
	if !ok {
		return ""
	}
	return repo + ":" + tag(name, Pinned())
}

// Official is the pinned upstream image used when nothing is built
// locally, or "" for an unknown name.
func Official(name string) string { return official[name] }

// tag is the image's version followed by a hash of every input: the
// versions, the package lists, the recipe's source and the programs.
func tag(name string, v Versions) string {
	switch name {
	case CNPGPostgres:
		return cnpgTag(v)
	case ChaosMesh:
		return chaosTag(v)
	case Vitess:
		return vitessTag(v)
	}
	h := sha256.New()
	fmt.Fprintf(h, "image %s\n", name)
	vj, _ := json.Marshal(v)
	h.Write(vj)
	fmt.Fprintf(h, "\nnode %v\nmini %v\n", nodePackages, miniPackages)
	hashFS(h, recipeSources)
	version := v.Kubernetes
	if name == Etcd {
		version = v.Etcd
	}
	return version + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// digest is a short hash of the files of fsys under root.
func digest(fsys fs.FS, root string) string {
	sub, err := fs.Sub(fsys, root)
	if err != nil {
		return ""
	}
	if fi, err := fs.Stat(fsys, root); err == nil && !fi.IsDir() {
		b, _ := fs.ReadFile(fsys, root)
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:8])
	}
	h := sha256.New()
	hashFS(h, sub)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// hashFS writes every file of fsys, in name order, into h.
func hashFS(h io.Writer, fsys fs.FS) {
	var paths []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		b, _ := fs.ReadFile(fsys, p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
	}
}

// StandIns maps each official image the named build stands in for to its
// local reference (one pair for most builds, two for chaos-mesh), or nil
// for an unknown name.
func StandIns(name string) map[string]string {
	ref := Ref(name)
	if ref == "" {
		return nil
	}
	m := map[string]string{Official(name): ref}
	if name == ChaosMesh {
		m[OfficialChaosDaemon] = chaosDaemonRef(Pinned())
	}
	return m
}

// Built reports whether the daemon holds the named build's current
// images (every one of them).
func Built(ctx context.Context, d *dockerd.Daemon, name string) (bool, error) {
	if Ref(name) == "" {
		return false, fmt.Errorf("images: unknown image %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return builtAll(ctx, d, name)
}

func builtAll(ctx context.Context, d *dockerd.Daemon, name string) (bool, error) {
	for _, ref := range StandIns(name) {
		ok, err := imageExists(ctx, d, ref)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func imageExists(ctx context.Context, d *dockerd.Daemon, ref string) (bool, error) {
	out, err := d.Docker(ctx, "images", "-q", ref)
	if err != nil {
		return false, fmt.Errorf("images: look for %s: %w", ref, err)
	}
	return strings.TrimSpace(string(out)) != "", nil
}

// Resolve picks the image to run for name: override when given, else the
// local build when the daemon has it, else the official pinned image.
func Resolve(ctx context.Context, d *dockerd.Daemon, name, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	ok, err := Built(ctx, d, name)
	if err != nil {
		return "", err
	}
	if ok {
		return Ref(name), nil
	}
	return Official(name), nil
}

// Build builds the named images (all when names is empty) into the daemon
// unless the current build is already there, logging progress to log.
// Work files and caches live under the user's cache directory
// (faultline/images); Go's module and build caches make warm builds fast.
func Build(ctx context.Context, d *dockerd.Daemon, names []string, log io.Writer) error {
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		if _, ok := repository[n]; !ok {
			return fmt.Errorf("images: unknown image %q (known: %s)", n, strings.Join(Names(), ", "))
		}
	}
	if log == nil {
		log = io.Discard
	}
	if d == nil {
		return fmt.Errorf("images: no Docker daemon (see dockerd.Ensure)")
	}
	// Images already built need no lock: a no-op build does not wait for
	// another process's build of something else.
	var todo []string
	for _, n := range names {
		ok, err := builtAll(ctx, d, n)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(log, "images: %s is up to date\n", Ref(n))
			continue
		}
		todo = append(todo, n)
	}
	if len(todo) == 0 {
		return nil
	}
	names = todo
	if err := preflight(ctx, d, names); err != nil {
		return err
	}
	b, err := newBuilder(d, Pinned(), log)
	if err != nil {
		return err
	}
	release, err := b.lock()
	if err != nil {
		return err
	}
	defer release()
	for _, n := range names {
		ref := Ref(n)
		ok, err := builtAll(ctx, d, n)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(log, "images: %s is up to date\n", ref)
			continue
		}
		fmt.Fprintf(log, "images: building %s\n", ref)
		switch n {
		case KindNode:
			err = b.kindNode(ctx, ref)
		case Etcd:
			err = b.etcd(ctx, ref)
		case CNPGPostgres:
			err = b.cnpgPostgres(ctx, ref)
		case ChaosMesh:
			err = b.chaosMesh(ctx, ref)
		case Vitess:
			err = b.vitess(ctx, ref)
		}
		if err != nil {
			return fmt.Errorf("images: build %s: %w", n, err)
		}
	}
	return nil
}

// preflight checks, in well under a second, what building the images
// that are not built yet needs from this machine, so that a missing
// program fails the build before minutes of compiling rather than after.
func preflight(ctx context.Context, d *dockerd.Daemon, names []string) error {
	var rootfs []string // images whose root filesystem debootstrap makes
	for _, n := range names {
		if n == KindNode || n == CNPGPostgres || n == ChaosMesh || n == Vitess {
			rootfs = append(rootfs, n)
		}
	}
	if len(rootfs) == 0 {
		return nil
	}
	if slices.Contains(names, ChaosMesh) {
		// The daemon is a cgo program, and the fake clock and nsexec are C.
		if _, err := exec.LookPath("cc"); err != nil {
			return fmt.Errorf("images: building %s needs a C compiler (cc), not installed (make images installs it: scripts/install-deps.sh chaos-mesh)", ChaosMesh)
		}
	}
	if slices.Contains(names, Vitess) {
		if _, err := exec.LookPath(vitessStrip[0]); err != nil {
			return fmt.Errorf("images: building %s needs %s (binutils), not installed (make images installs it: scripts/install-deps.sh images)", Vitess, vitessStrip[0])
		}
	}
	what := strings.Join(rootfs, ", ")
	if os.Geteuid() != 0 {
		return fmt.Errorf("images: building %s needs root (debootstrap and chroot make its root filesystem)", what)
	}
	var missing []string
	for _, prog := range []string{"debootstrap", "chroot", "tar"} {
		if _, err := lookSbin(prog); err != nil {
			missing = append(missing, prog)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("images: building %s needs %s, not installed (make images installs them: scripts/install-deps.sh images)", what, strings.Join(missing, ", "))
	}
	if _, err := debianMirror(); err != nil {
		return fmt.Errorf("images: building %s: %w", what, err)
	}
	return nil
}

// lookSbin finds a program on PATH or in the sbin directories a
// non-login shell may leave off it.
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}
