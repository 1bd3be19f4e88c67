package dist

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/internal/files"
)

// Build returns the programs for opts, building them into the cache first
// if it does not hold them (a cold build takes about 8 minutes on 2
// cores; a cached one returns at once). Progress goes to progress. A
// directory the user supplied is returned as it is, never built.
//
// The build runs the go command in a module of its own that requires
// Module at the version and replaces it with a writable copy of its
// source (from `go mod download`) carrying the flavour's changes, so
// Vitess's dependency graph never meets faultline's. Two builds of the
// same key wait for each other; the directory appears complete or not at
// all.
func Build(ctx context.Context, opts Options, progress io.Writer) (Dist, error) {
	if bin := opts.bin(); bin != "" {
		return FromDir(bin)
	}
	d, err := Find(opts)
	if err == nil {
		return d, nil
	}
	if _, ok := errors.AsType[*NotBuiltError](err); !ok {
		return Dist{}, err
	}
	root, err := opts.cacheDir()
	if err != nil {
		return Dist{}, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Dist{}, fmt.Errorf("vitess programs: %w", err)
	}
	key, err := opts.key()
	if err != nil {
		return Dist{}, err
	}
	release, err := lock(filepath.Join(root, "."+key+".lock"), progress)
	if err != nil {
		return Dist{}, err
	}
	defer release()
	if d, err := Find(opts); err == nil {
		return d, nil // built by the process we waited for
	}
	b := &builder{opts: opts, root: root, key: key, progress: progress, gocmd: opts.Go}
	if b.gocmd == "" {
		b.gocmd = "go"
	}
	if err := b.run(ctx); err != nil {
		return Dist{}, fmt.Errorf("vitess programs: build %s: %w", key, err)
	}
	return Find(opts)
}

// lock takes an exclusive lock on path, saying so when it has to wait.
func lock(path string, progress io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vitess programs: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(progress, "vitess: waiting for another build of the same programs (%s)\n", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("vitess programs: lock %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil
}

type builder struct {
	opts     Options
	root     string
	key      string
	progress io.Writer
	gocmd    string
	work     string
	log      *os.File
}

func (b *builder) say(format string, args ...any) {
	fmt.Fprintf(b.progress, "vitess: "+format+"\n", args...)
}

func (b *builder) run(ctx context.Context) (err error) {
	start := time.Now()
	b.work, err = os.MkdirTemp(b.root, b.key+".work-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	if b.log, err = os.Create(filepath.Join(b.work, "build.log")); err != nil {
		return err
	}
	defer b.log.Close()
	version, flavor := b.opts.version(), b.opts.flavor()
	changes, err := b.opts.changes()
	if err != nil {
		return err
	}
	b.say("building %s for %s with %d compatibility changes into %s (a cold build takes about 8 minutes on 2 cores)", Release(version), flavor, len(changes), filepath.Join(b.root, b.key))

	mod := filepath.Join(b.work, "build")
	if err := os.Mkdir(mod, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module faultline.local/vitess-build\n"), 0o644); err != nil {
		return err
	}
	b.say("downloading %s@%s through the module proxy", Module, version)
	srcDir, err := b.download(ctx, mod, version)
	if err != nil {
		return err
	}
	src := filepath.Join(b.work, "src")
	if err := copyTree(srcDir, src); err != nil {
		return fmt.Errorf("copy the module source: %w", err)
	}
	for _, c := range changes {
		if err := c.Apply(src); err != nil {
			return err
		}
		b.say("applied %s: %s", c.Name, c.Why)
	}
	if err := writeBuildModule(mod, src, version); err != nil {
		return err
	}
	out, err := os.MkdirTemp(b.root, b.key+".out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out) // gone once renamed
	if err := os.Chmod(out, 0o755); err != nil {
		return err
	}
	if err := b.goBuild(ctx, mod, out); err != nil {
		return err
	}
	names := make([]string, len(changes))
	for i, c := range changes {
		names[i] = c.Name
	}
	manifest, err := json.MarshalIndent(Dist{ModuleVersion: version, Flavor: flavor, Changes: names, Without: b.opts.Without}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, manifestName), append(manifest, '\n'), 0o644); err != nil {
		return err
	}
	final := filepath.Join(b.root, b.key)
	os.RemoveAll(final) // a directory left without its manifest
	if err := os.Rename(out, final); err != nil {
		return err
	}
	b.say("built %s in %s", strings.Join(Programs, ", "), time.Since(start).Round(time.Second))
	return nil
}

// download fetches the module into the module cache and returns its
// directory there (read-only).
func (b *builder) download(ctx context.Context, mod, version string) (string, error) {
	cmd := b.command(ctx, mod, "mod", "download", "-json", Module+"@"+version)
	var stdout bytes.Buffer
	cmd.Stdout = io.MultiWriter(&stdout, b.log)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w\n%s", Module, version, err, lastLines(b.log.Name(), 10))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", Module, version, info.Error)
	}
	return info.Dir, nil
}

var goLine = regexp.MustCompile(`(?m)^go ([0-9.]+)\s*$`)

// writeBuildModule makes mod the module the build runs in: it requires
// Module and replaces it with the changed source, with the source's go
// version and sums.
func writeBuildModule(mod, src, version string) error {
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return err
	}
	goVersion := "1.21"
	if m := goLine.FindSubmatch(gomod); m != nil {
		goVersion = string(m[1])
	}
	text := fmt.Sprintf("module faultline.local/vitess-build\n\ngo %s\n\nrequire %s %s\n\nreplace %s => %s\n", goVersion, Module, version, Module, src)
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(text), 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(src, "go.sum"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644)
}

// goBuild builds every program into out, reporting the count of packages
// compiled every 30 seconds.
func (b *builder) goBuild(ctx context.Context, mod, out string) error {
	args := []string{"build", "-v", "-trimpath", "-o", out + string(filepath.Separator)}
	for _, p := range Programs {
		args = append(args, Module+"/go/cmd/"+p)
	}
	cmd := b.command(ctx, mod, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = b.log, pw
	var compiled atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			compiled.Add(1)
			fmt.Fprintln(b.log, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	b.say("compiling %s (go %s)", strings.Join(Programs, ", "), strings.Join(args[:4], " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		<-done
		return err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); pw.Close() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-waited:
			<-done
			if err != nil {
				return fmt.Errorf("go build: %w; the last lines of its output:\n%s", err, lastLines(b.log.Name(), 20))
			}
			return nil
		case <-tick.C:
			b.say("still compiling: %d packages built, %s elapsed", compiled.Load(), time.Since(start).Round(time.Second))
		}
	}
}

// command runs the go command in dir, in module mode with the module's
// own go.sum updated as needed and no workspace.
func (b *builder) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.gocmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	cmd.Stderr = b.log
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// copyTree copies the regular files and directories under src to dst,
// writable by the owner.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return files.CopyNew(path, target, 0o644)
		}
		return nil // module zips hold no links or devices
	})
}

// lastLines returns the last n lines of the file at path.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
