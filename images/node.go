package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/internal/files"
)

// kindNode builds the kind node image ref: binaries and root filesystems
// (in parallel), kind's base image, the preloaded images, the node.
func (b *builder) kindNode(ctx context.Context, ref string) error {
	full := strings.TrimPrefix(ref[strings.LastIndex(ref, ":")+1:], b.v.Kubernetes+"-")
	// Steps are keyed by their own inputs, so that an edit of the recipe
	// does not rebuild what it does not touch.
	vj, _ := json.Marshal(b.v)
	goKey := string(vj) + " " + digest(recipeSources, "programs")
	fsKey := fmt.Sprintf("%s %v %v", b.v.Debian, nodePackages, miniPackages)
	// The preloaded images hold binaries and the small root filesystem.
	preloadKey := goKey + " " + fsKey + " " + digest(recipeSources, "recipe.go")

	var wg sync.WaitGroup
	var fsErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		fsErr = b.step(ctx, "rootfs", fsKey, func(ctx context.Context) error {
			if err := b.debootstrap(ctx, b.path("rootfs-node"), nodePackages); err != nil {
				return err
			}
			if err := b.debootstrap(ctx, b.path("rootfs-mini"), miniPackages); err != nil {
				return err
			}
			return b.cmd(ctx, b.work, nil, nil, "sh", "-c",
				"chroot rootfs-mini apt-get clean && rm -rf rootfs-mini/var/lib/apt/lists/* rootfs-mini/usr/share/doc rootfs-mini/usr/share/man rootfs-mini/usr/share/locale")
		})
	}()
	goErr := b.step(ctx, "node-binaries", goKey, b.nodeBinaries)
	wg.Wait()
	if err := errors.Join(goErr, fsErr); err != nil {
		return err
	}
	kindDir, err := b.moduleDir(ctx, "sigs.k8s.io/kind", b.v.Kind)
	if err != nil {
		return err
	}
	base := "faultline-build/kind-base:" + full
	ok, err := imageExists(ctx, b.d, base)
	if err != nil {
		return err
	}
	if !ok {
		if err := b.baseImage(ctx, kindDir, base); err != nil {
			return fmt.Errorf("base image: %w", err)
		}
	}
	if err := b.step(ctx, "preload", preloadKey, b.preloadImages); err != nil {
		return err
	}
	if err := b.nodeImage(ctx, kindDir, base, ref); err != nil {
		return err
	}
	b.pruneBases(ctx, base)
	return nil
}

// pruneBases removes base images of earlier recipes (intermediate, about
// 250 MB each); node images stay, runs may still name them.
func (b *builder) pruneBases(ctx context.Context, keep string) {
	out, err := b.d.Docker(ctx, "images", "--format", "{{.Repository}}:{{.Tag}}", "faultline-build/kind-base")
	if err != nil {
		return
	}
	for _, ref := range strings.Fields(string(out)) {
		if ref != keep {
			if _, err := b.d.Docker(ctx, "rmi", ref); err == nil {
				fmt.Fprintf(b.log, "images: removed %s\n", ref)
			}
		}
	}
}

// nodeBinaries builds every program of the node and its images into bin/
// and cni/.
func (b *builder) nodeBinaries(ctx context.Context) error {
	bin, cni := b.path("bin"), b.path("cni")
	for _, d := range []string{bin, cni} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	kdir, err := b.moduleDir(ctx, "k8s.io/kubernetes", b.v.Kubernetes)
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(kdir, "go.mod"))
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, prog := range []string{"pause", "podnet"} {
		src, err := fs.ReadFile(recipeSources, "programs/"+prog+"/main.go")
		if err != nil {
			return err
		}
		files["cmd/"+prog+"/main.go"] = src
	}
	sv := stagingVersion(b.v.Kubernetes)
	get := []string{"github.com/vishvananda/netlink@" + b.v.Netlink,
		"k8s.io/client-go@" + sv, "k8s.io/api@" + sv, "k8s.io/apimachinery@" + sv}
	var pkgs []string
	for _, c := range k8sCommands {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+c)
		get = append(get, "k8s.io/kubernetes/cmd/"+c+"@"+b.v.Kubernetes)
	}
	pkgs = append(pkgs, "./cmd/pause", "./cmd/podnet")
	if err := b.throwaway(ctx, b.path("k8s"), k8sGoMod(b.v, stagingModules(string(gomod))), files, get,
		k8sLDFlags(b.v.Kubernetes), bin, pkgs...); err != nil {
		return err
	}
	cd := "github.com/containerd/containerd/v2"
	if err := b.buildModule(ctx, cd, b.v.Containerd, bin, []string{
		"-tags", "no_btrfs no_devmapper no_zfs no_aufs",
		"-ldflags", "-s -w -X " + cd + "/version.Version=" + b.v.Containerd + " -X " + cd + "/version.Revision=faultline",
	}, "./cmd/containerd", "./cmd/containerd-shim-runc-v2", "./cmd/ctr"); err != nil {
		return err
	}
	strip := []string{"-ldflags", "-s -w"}
	if err := b.buildModule(ctx, "github.com/containernetworking/plugins", b.v.CNIPlugins, cni, strip,
		"./plugins/main/ptp", "./plugins/main/loopback", "./plugins/main/bridge", "./plugins/ipam/host-local", "./plugins/meta/portmap"); err != nil {
		return err
	}
	if err := b.buildModule(ctx, "github.com/coredns/coredns", b.v.CoreDNS, bin, strip, "."); err != nil {
		return err
	}
	if err := b.buildModule(ctx, "github.com/rancher/local-path-provisioner", b.v.LocalPath, bin, strip, "."); err != nil {
		return err
	}
	etcdBin, err := b.buildEtcd(ctx, b.v.ControlPlaneEtcd)
	if err != nil {
		return err
	}
	return copyFile(filepath.Join(etcdBin, "server"), filepath.Join(bin, "etcd-cp"), 0o755)
}

// buildEtcd builds etcd (as "server") and etcdctl at version and returns
// their directory.
func (b *builder) buildEtcd(ctx context.Context, version string) (string, error) {
	dir := b.path("etcd-" + version)
	out := filepath.Join(dir, "bin")
	get := []string{"go.etcd.io/etcd/server/v3@" + version, "go.etcd.io/etcd/etcdctl/v3@" + version}
	return out, b.throwaway(ctx, dir, etcdGoMod(version), nil, get, "-s -w", out,
		"go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/etcdctl/v3")
}

// baseImage makes kind's base image from the node root filesystem: kind's
// base files, containerd, the CNI plugins, systemd set up as kind does.
func (b *builder) baseImage(ctx context.Context, kindDir, ref string) error {
	root := b.path("rootfs-base")
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "cp", "-a", b.path("rootfs-node"), root); err != nil {
		return err
	}
	if err := copyKindFiles(filepath.Join(kindDir, "images", "base", "files"), root); err != nil {
		return err
	}
	for _, f := range []string{"containerd", "containerd-shim-runc-v2", "ctr"} {
		if err := copyFile(b.path("bin", f), filepath.Join(root, "usr/local/bin", f), 0o755); err != nil {
			return err
		}
	}
	plugins, err := os.ReadDir(b.path("cni"))
	if err != nil {
		return err
	}
	for _, p := range plugins {
		if err := copyFile(b.path("cni", p.Name()), filepath.Join(root, "opt/cni/bin", p.Name()), 0o755); err != nil {
			return err
		}
	}
	if err := b.cmd(ctx, b.work, nil, nil, "chroot", root, "/bin/bash", "-c", baseSetup); err != nil {
		return err
	}
	raw := ref + "-rootfs"
	if err := b.importDir(ctx, root, raw, nil); err != nil {
		return err
	}
	dir := b.path("ctx", "base")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := writeFiles(dir, map[string]string{"Dockerfile": baseDockerfile(raw)}); err != nil {
		return err
	}
	if err := b.docker(ctx, nil, "build", "-q", "-t", ref, dir); err != nil {
		return err
	}
	return b.docker(ctx, nil, "rmi", raw)
}

// copyKindFiles copies kind's images/base/files into root: programs
// executable, everything else 0644 (the module cache is read-only).
func copyKindFiles(src, root string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if strings.HasPrefix(rel, "LICENSES") {
			return nil
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		return copyFile(p, filepath.Join(root, rel), mode)
	})
}

// copyFile copies src to dst with exactly mode (whatever the umask), making
// dst's directory and replacing dst, which may be a read-only file or a
// program of an earlier build.
func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	if err := files.Copy(src, dst, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// preloadImages builds the images the node preloads and saves them in
// preload.tar.
func (b *builder) preloadImages(ctx context.Context) error {
	mini := "faultline-build/mini:" + Pinned().Debian
	if err := b.importDir(ctx, b.path("rootfs-mini"), mini,
		[]string{"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}); err != nil {
		return err
	}
	var refs []string
	for i, c := range b.v.components() {
		if err := b.componentImage(ctx, b.path("ctx", fmt.Sprint(i)), c, b.path("bin", c.Bin), mini); err != nil {
			return err
		}
		refs = append(refs, c.Ref)
		for _, a := range c.Aliases {
			if err := b.docker(ctx, nil, "tag", c.Ref, a); err != nil {
				return err
			}
			refs = append(refs, a)
		}
	}
	return b.docker(ctx, nil, append([]string{"save", "-o", b.path("preload.tar")}, refs...)...)
}

// componentImage builds one image from its Dockerfile in dir.
func (b *builder) componentImage(ctx context.Context, dir string, c component, bin, mini string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	files := map[string]string{"Dockerfile": c.dockerfile(mini)}
	for name, data := range staticFiles {
		files["static/"+name] = data
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "static/tmp"), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "static/tmp"), 0o1777); err != nil {
		return err
	}
	if err := copyFile("/etc/ssl/certs/ca-certificates.crt", filepath.Join(dir, "static/etc/ssl/certs/ca-certificates.crt"), 0o644); err != nil {
		return fmt.Errorf("CA certificates (apt-get install ca-certificates): %w", err)
	}
	if c.Bin != "" {
		if err := copyFile(bin, filepath.Join(dir, "bin"), 0o755); err != nil {
			return err
		}
	}
	return b.docker(ctx, nil, "build", "-q", "-t", c.Ref, dir)
}

// nodeImage is kind's `build node-image` without pulls: the base image
// with kubeadm, kubelet and kubectl, kind's manifests and the preloaded
// images imported into its containerd, committed as ref.
func (b *builder) nodeImage(ctx context.Context, kindDir, base, ref string) error {
	storage, err := kindStorageManifest(filepath.Join(kindDir, "pkg/build/nodeimage/const_storage.go"))
	if err != nil {
		return err
	}
	for _, img := range []string{storageProvisionerImage, storageHelperImage} {
		if !strings.Contains(storage, img) {
			return fmt.Errorf("kind %s's storage manifest does not name %s: update the recipe", b.v.Kind, img)
		}
	}
	if err := writeFiles(b.path("manifests"), map[string]string{
		"default-cni.yaml": podnetManifest, "default-storage.yaml": storage, "version": b.v.Kubernetes,
	}); err != nil {
		return err
	}
	name := fmt.Sprintf("faultline-build-node-%d", os.Getpid())
	if err := b.docker(ctx, nil, "run", "-d", "--name", name, "--entrypoint", "sleep",
		"--security-opt", "seccomp=unconfined", base, "infinity"); err != nil {
		return err
	}
	defer b.d.Docker(context.WithoutCancel(ctx), "rm", "-f", "-v", name)
	for _, f := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := b.docker(ctx, nil, "cp", b.path("bin", f), name+":/usr/bin/"+f); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"exec", name, "mkdir", "-p", "/kind/manifests"},
		{"cp", b.path("manifests", "version"), name + ":/kind/version"},
		{"cp", b.path("manifests", "default-cni.yaml"), name + ":/kind/manifests/default-cni.yaml"},
		{"cp", b.path("manifests", "default-storage.yaml"), name + ":/kind/manifests/default-storage.yaml"},
		{"exec", name, "chown", "-R", "root:root", "/usr/bin/kubeadm", "/usr/bin/kubelet", "/usr/bin/kubectl", "/kind"},
		{"exec", "-d", name, "sh", "-c", "containerd >/tmp/containerd.log 2>&1"},
		{"exec", name, "sh", "-c", "for i in $(seq 1 60); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done; cat /tmp/containerd.log; exit 1"},
	}
	for _, s := range steps {
		if err := b.docker(ctx, nil, s...); err != nil {
			return err
		}
	}
	tar, err := os.Open(b.path("preload.tar"))
	if err != nil {
		return err
	}
	defer tar.Close()
	start := time.Now()
	if err := b.docker(ctx, tar, "exec", "-i", name, "ctr", "--namespace=k8s.io", "images", "import",
		"--label=io.cri-containerd.pinned=pinned", "--all-platforms", "--no-unpack", "--digests", "-"); err != nil {
		return err
	}
	fmt.Fprintf(b.log, "images: preloaded images imported in %s\n", time.Since(start).Round(time.Second))
	if err := b.docker(ctx, nil, "exec", name, "sh", "-c",
		"kill $(pidof containerd); while pidof containerd >/dev/null; do sleep 0.2; done; rm -f /tmp/containerd.log"); err != nil {
		return err
	}
	return b.docker(ctx, nil, "commit", "--change", "ENTRYPOINT ["+quoteList(nodeEntrypoint)+"]", name, ref)
}

// kindStorageManifest reads kind's default storage manifest, a Go string
// constant (defaultStorageManifest) built from other constants, from
// kind's source file.
func kindStorageManifest(file string) (string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		return "", fmt.Errorf("kind storage manifest: %w", err)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.Default(), Error: func(error) {}}
	pkg, _ := conf.Check("nodeimage", fset, []*ast.File{f}, info)
	if pkg == nil {
		return "", fmt.Errorf("kind storage manifest: cannot type-check %s", file)
	}
	c, ok := pkg.Scope().Lookup("defaultStorageManifest").(*types.Const)
	if !ok || c.Val().Kind() != constant.String {
		return "", fmt.Errorf("kind storage manifest: no string constant defaultStorageManifest in %s", file)
	}
	return constant.StringVal(c.Val()), nil
}

// etcd builds the engine image ref: etcd and etcdctl, FROM scratch.
func (b *builder) etcd(ctx context.Context, ref string) error {
	bin, err := b.buildEtcd(ctx, b.v.Etcd)
	if err != nil {
		return err
	}
	dir := b.path("ctx", "etcd")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	files := map[string]string{
		"Dockerfile": "FROM scratch\nCOPY static/ /\nCOPY etcd etcdctl /usr/local/bin/\n" +
			"ENV PATH=/usr/local/bin\nEXPOSE 2379 2380\nENTRYPOINT [\"/usr/local/bin/etcd\"]\n",
	}
	for name, data := range staticFiles {
		files["static/"+name] = data
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	for _, d := range []string{"static/tmp", "static/var/lib/etcd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "static/tmp"), 0o1777); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(bin, "server"), filepath.Join(dir, "etcd"), 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(bin, "etcdctl"), filepath.Join(dir, "etcdctl"), 0o755); err != nil {
		return err
	}
	return b.docker(ctx, nil, "build", "-q", "-t", ref, dir)
}
