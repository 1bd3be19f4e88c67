package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/platform/dockerd"
)

// builder runs the steps of a build in its work directory.
type builder struct {
	d    *dockerd.Daemon
	v    Versions
	work string
	// log gets progress lines; cmdLog every command's output (the build
	// log file in the work directory).
	log, cmdLog io.Writer
	gobin       string
}

func newBuilder(d *dockerd.Daemon, v Versions, log io.Writer) (*builder, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("images: cache directory: %w", err)
	}
	work := filepath.Join(cache, "faultline", "images")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
		if _, serr := os.Stat(gobin); serr != nil {
			return nil, fmt.Errorf("images: the go command is needed to build images: %w", err)
		}
	}
	return &builder{d: d, v: v, work: work, log: log, cmdLog: io.Discard, gobin: gobin}, nil
}

// lock takes the work directory for this process (two builds at once
// would share its files) and opens the build log; release undoes both.
func (b *builder) lock() (release func(), err error) {
	f, err := os.OpenFile(b.path(".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(b.log, "images: waiting for another build in %s\n", b.work)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("images: lock %s: %w", b.work, err)
		}
	}
	logf, err := os.Create(b.path("build.log"))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("images: %w", err)
	}
	b.cmdLog = logf
	fmt.Fprintf(b.log, "images: command output goes to %s\n", logf.Name())
	return func() {
		b.cmdLog = io.Discard
		logf.Close()
		f.Close()
	}, nil
}

func (b *builder) path(elem ...string) string {
	return filepath.Join(append([]string{b.work}, elem...)...)
}

// cmd runs argv in dir with extra environment; its output goes to the log
// and, on failure, into the error (the last 2 KB).
func (b *builder) cmd(ctx context.Context, dir string, env []string, stdin io.Reader, argv ...string) error {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	c.Stdin = stdin
	var out bytes.Buffer
	fmt.Fprintf(b.cmdLog, "+ %s\n", strings.Join(argv, " "))
	w := io.MultiWriter(&out, b.cmdLog)
	c.Stdout, c.Stderr = w, w
	if err := c.Run(); err != nil {
		s := out.String()
		if len(s) > 2048 {
			s = s[len(s)-2048:]
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, s)
	}
	return nil
}

// output runs argv and returns its standard output.
func (b *builder) output(ctx context.Context, dir string, env []string, argv ...string) ([]byte, error) {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return out, nil
}

func (b *builder) docker(ctx context.Context, stdin io.Reader, args ...string) error {
	env := []string{"DOCKER_HOST=" + b.d.Host(), "DOCKER_BUILDKIT=0"}
	return b.cmd(ctx, b.work, env, stdin, append([]string{"docker"}, args...)...)
}

// step runs fn unless the stamp of name records key: each step's output
// survives for the next build with the same inputs.
func (b *builder) step(ctx context.Context, name, key string, fn func(context.Context) error) error {
	stamp := b.path(".stamp-" + name)
	if old, err := os.ReadFile(stamp); err == nil && string(old) == key {
		fmt.Fprintf(b.log, "images: step %s: cached\n", name)
		return nil
	}
	_ = os.Remove(stamp)
	start := time.Now()
	fmt.Fprintf(b.log, "images: step %s\n", name)
	if err := fn(ctx); err != nil {
		return fmt.Errorf("step %s: %w", name, err)
	}
	fmt.Fprintf(b.log, "images: step %s took %s\n", name, time.Since(start).Round(time.Second))
	return os.WriteFile(stamp, []byte(key), 0o644)
}

// moduleDir downloads module@version into the module cache and returns
// its directory.
func (b *builder) moduleDir(ctx context.Context, module, version string) (string, error) {
	out, err := b.output(ctx, b.work, []string{"GOFLAGS=-mod=mod"}, b.gobin, "mod", "download", "-json", module+"@"+version)
	if err != nil {
		return "", err
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, m.Error)
	}
	return m.Dir, nil
}

// goEnv is the environment of every Go build: static binaries.
var goEnv = []string{"CGO_ENABLED=0", "GOFLAGS=-mod=readonly"}

// buildModule builds packages inside a downloaded module (its vendor
// directory is not in the zip, hence -mod=readonly) into out.
func (b *builder) buildModule(ctx context.Context, module, version, out string, extra []string, pkgs ...string) error {
	dir, err := b.moduleDir(ctx, module, version)
	if err != nil {
		return err
	}
	args := append([]string{b.gobin, "build", "-trimpath"}, extra...)
	args = append(args, "-o", out+"/")
	return b.cmd(ctx, dir, goEnv, nil, append(args, pkgs...)...)
}

// throwaway writes a module of its own in dir (go.mod and files), fetches
// what it needs and builds pkgs into out.
func (b *builder) throwaway(ctx context.Context, dir, gomod string, files map[string][]byte, get []string, ldflags, out string, pkgs ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, "go.sum"))
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	env := []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod"}
	if err := b.cmd(ctx, dir, env, nil, append([]string{b.gobin, "get"}, get...)...); err != nil {
		return err
	}
	args := []string{b.gobin, "build", "-trimpath", "-ldflags", ldflags, "-o", out + "/"}
	return b.cmd(ctx, dir, env, nil, append(args, pkgs...)...)
}

// debianMirror is the machine's own Debian mirror, from its apt sources
// (one-line or deb822 format).
func debianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			fields := strings.Fields(l)
			switch {
			case len(fields) >= 2 && fields[0] == "deb":
				for _, x := range fields[1:] {
					if strings.Contains(x, "://") {
						return x, nil
					}
				}
			case len(fields) >= 2 && fields[0] == "URIs:":
				return fields[1], nil
			}
		}
	}
	return "", fmt.Errorf("no Debian mirror in /etc/apt/sources.list or sources.list.d")
}

// debootstrap makes a minimal Debian root filesystem with packages in dir.
func (b *builder) debootstrap(ctx context.Context, dir string, packages []string) error {
	if _, err := lookSbin("debootstrap"); err != nil {
		return fmt.Errorf("debootstrap is needed (scripts/install-deps.sh images): %w", err)
	}
	mirror, err := debianMirror()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return b.cmd(ctx, b.work, nil, nil, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(packages, ","), b.v.Debian, dir, mirror)
}

// importDir imports a directory tree as an image with the given changes.
func (b *builder) importDir(ctx context.Context, dir, ref string, changes []string) error {
	tar := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	tar.Stderr = &stderr
	if err := tar.Start(); err != nil {
		return err
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	ierr := b.docker(ctx, pipe, append(args, "-", ref)...)
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("tar %s: %w: %s", dir, err, stderr.String())
	}
	return ierr
}

// writeFiles writes files (relative path -> content) under dir.
func writeFiles(dir string, files map[string]string) error {
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}
