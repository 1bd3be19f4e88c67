package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/local"
	"github.com/faultline-dev/faultline/scenarios"
)

func newDoctorCmd() *cobra.Command {
	var env envFlags
	var only string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say what this machine can run: platforms, fault kinds, engines",
		Long: `Doctor inspects this machine and says, before any run, what faultline
can do on it: whether it runs as root, which capabilities processes lack,
whether the kernel has netem (else latency falls back to faultline's packet
delayer), which Docker daemons answer and which images are built, which fault kinds each platform can inject and why not, and which
engines have what they need installed. --platform limits the platforms to
one. With --context, or --platform existing (the context then defaults to
the kubeconfig's current one), it also inspects that cluster: whether
faults are allowed there (--allow-destructive), whether Chaos Mesh is
installed and its version, and per fault kind whether the cluster can take
it (your RBAC permissions, the programs of Chaos Mesh's daemon image). It
changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, cleanup, err := env.build(cmd.Context())
			if err != nil {
				return inputError(err)
			}
			defer cleanup()
			if only != "" {
				var kept []platform.Platform
				for _, p := range e.Platforms {
					if p.Name() == only {
						kept = append(kept, p)
					}
				}
				if len(kept) == 0 {
					return inputError(fmt.Errorf("--platform: unknown platform %q (known: %s)", excerpt.Value(only), strings.Join(platformNames(e.Platforms), ", ")))
				}
				e.Platforms = kept
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			defer tw.Flush()
			fs := diagnose(cmd.Context(), e, hostFacts())
			if kubeContext := env.context; kubeContext != "" || only == existing.Name {
				var err error
				if kubeContext == "" {
					kubeContext, err = existing.CurrentContext(env.kubeconfig)
				}
				if err != nil {
					fs = append(fs, finding{"cluster", "connect", false, err.Error() + " (--context)"})
				} else {
					fs = append(fs, permitFinding(env.kubeconfig, kubeContext, env.allowDestructive))
					fs = append(fs, inspectCluster(cmd.Context(), env.kubeconfig, kubeContext)...)
				}
			}
			writeFindings(tw, fs)
			return nil
		},
	}
	env.register(cmd)
	cmd.Flags().StringVar(&only, "platform", "", "say only what this platform can do (local, kind, existing); existing also inspects the cluster of --kubeconfig and --context")
	return cmd
}

func platformNames(ps []platform.Platform) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name())
	}
	return names
}

// finding is one line of the doctor's report.
type finding struct {
	area, item string
	ok         bool
	detail     string
}

func writeFindings(w io.Writer, fs []finding) {
	fmt.Fprintln(w, "AREA\tITEM\tSTATUS\tDETAIL")
	for _, f := range fs {
		status := "ok"
		if !f.ok {
			status = "no"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.area, f.item, status, f.detail)
	}
}

// host is what doctor reads off the machine, gathered apart from the
// judgement so that tests can supply it.
type host struct {
	uid int
	// capBnd is the capability bounding set (/proc/self/status CapBnd);
	// capErr says why it could not be read.
	capBnd uint64
	capErr error
	// inotify is fs.inotify.max_user_instances, 0 if unreadable.
	inotify int
	// netem is "y", "m" or "n" from the kernel config, or "" if unknown.
	netem string
	// lookPath finds programs.
	lookPath func(string) (string, error)
	// docker runs the docker CLI against a daemon; nil skips the Docker
	// findings.
	runDocker func(ctx context.Context, host string, args ...string) error
}

// docker reports on the Docker daemons kind runs on and the images built
// for them, without starting anything.
func (h host) dockerFindings(ctx context.Context) []finding {
	if h.runDocker == nil {
		return nil
	}
	user := os.Getenv("DOCKER_HOST")
	if user == "" {
		user = "unix:///var/run/docker.sock"
	}
	private := "unix://" + filepath.Join(dockerd.DefaultRunDir, "docker.sock")
	var out []finding
	running := ""
	if err := h.runDocker(ctx, user, "version", "--format", "{{.Server.Version}}"); err != nil {
		out = append(out, finding{"docker", "your daemon", false, user + ": " + firstLine(err)})
	} else {
		out = append(out, finding{"docker", "your daemon", true, user})
		running = user
	}
	if err := h.runDocker(ctx, private, "version", "--format", "{{.Server.Version}}"); err != nil {
		out = append(out, finding{"docker", "faultline's daemon", true, "not running; started by `faultline images build` or a kind run when your daemon cannot start privileged containers"})
	} else {
		out = append(out, finding{"docker", "faultline's daemon", true, "running at " + private})
		running = private
	}
	if running == "" {
		return out
	}
	for _, n := range images.Names() {
		ref := images.Ref(n)
		var missing string
		for _, local := range images.StandIns(n) {
			if err := h.runDocker(ctx, running, "image", "inspect", "--format", "{{.Id}}", local); err != nil {
				missing = local
			}
		}
		if missing != "" {
			out = append(out, finding{"image", n, false, missing + " not built (make images); a run falls back to " + images.Official(n) + ", which needs a registry"})
		} else {
			out = append(out, finding{"image", n, true, ref})
		}
	}
	return out
}

// runDocker runs the docker CLI against host.
func runDocker(ctx context.Context, host string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"--host", host}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func hostFacts() host {
	h := host{uid: os.Getuid(), lookPath: exec.LookPath}
	if _, err := exec.LookPath("docker"); err == nil {
		h.runDocker = runDocker
	}
	h.capBnd, h.capErr = readCapBnd("/proc/self/status")
	h.netem = kernelOption("/proc/config.gz", "CONFIG_NET_SCH_NETEM")
	h.inotify, _ = kind.InotifyInstances()
	return h
}

// capabilities the faults and the kind platform rely on, by bit number
// (linux/capability.h).
var neededCaps = []struct {
	bit  uint
	name string
	why  string
}{
	{12, "CAP_NET_ADMIN", "iptables and tc for partitions and shaping"},
	{21, "CAP_SYS_ADMIN", "network namespaces, privileged kind nodes"},
	{24, "CAP_SYS_RESOURCE", "privileged containers (kind nodes) on the system Docker daemon; without it faultline's own daemon drops the capability"},
}

func diagnose(ctx context.Context, e scenarios.Env, h host) []finding {
	var out []finding
	out = append(out, finding{"host", "root", h.uid == 0, rootDetail(h.uid)})
	if h.capErr != nil {
		out = append(out, finding{"host", "capabilities", false, h.capErr.Error()})
	} else {
		for _, c := range neededCaps {
			has := h.capBnd&(1<<c.bit) != 0
			detail := "in the bounding set"
			if !has {
				detail = "missing from the bounding set: " + c.why
			}
			out = append(out, finding{"host", c.name, has, detail})
		}
	}
	for _, prog := range []string{"iptables", "tc", "ip"} {
		p, err := h.lookPath(prog)
		detail := p
		if err != nil {
			detail = "not found: faults that need it are refused up front"
		}
		out = append(out, finding{"host", prog, err == nil, detail})
	}
	switch h.netem {
	case "y", "m":
		out = append(out, finding{"host", "sch_netem", true, "latency and loss use tc netem"})
	case "n":
		out = append(out, finding{"host", "sch_netem", false, "kernel built without it: latency uses faultline's NFQUEUE delayer, loss the iptables statistic match"})
	default:
		out = append(out, finding{"host", "sch_netem", true, "kernel config unreadable: probed when a fault needs it"})
	}
	out = append(out, h.dockerFindings(ctx)...)
	if h.inotify > 0 {
		ok := h.inotify >= kind.MinInotifyInstances
		detail := fmt.Sprintf("fs.inotify.max_user_instances = %d", h.inotify)
		if !ok {
			detail += fmt.Sprintf(": kind clusters of several nodes can fail with \"too many open files\"; raise it: sysctl -w fs.inotify.max_user_instances=%d", kind.MinInotifyInstances)
		}
		out = append(out, finding{"host", "inotify", ok, detail})
	}
	injectors := e.Injectors
	if len(injectors) == 0 {
		injectors = faults.Injectors{faults.Native}
	}
	for _, p := range e.Platforms {
		for _, k := range faults.Kinds() {
			in, err := injectors.For(p, k.Name, "")
			detail := ""
			if err != nil {
				detail = err.Error()
			} else {
				detail = "can inject, by " + injectorName(p, in)
				if in.Name() == faults.ViaChaosMesh {
					detail += " (checked on the cluster before the load: CRDs, controller, daemon)"
				}
			}
			out = append(out, finding{"platform " + p.Name(), k.Name, err == nil, detail})
		}
	}
	for _, name := range e.Engines.Names() {
		eng, _ := e.Engines.Lookup(name)
		if d, ok := eng.(engines.Doctor); ok {
			for _, f := range d.Doctor() {
				out = append(out, finding{"engine", name + " " + f.Item, f.OK, f.Detail})
			}
			continue
		}
		v, ok := eng.(engines.Validator)
		if !ok {
			out = append(out, finding{"engine", name, true, "nothing to install"})
			continue
		}
		errs := v.Validate(engines.Spec{Replicas: 1}, engines.Target{Platform: local.Name, Workers: 1, Capabilities: local.New(local.Options{}).Capabilities()})
		detail := "runs on the local platform"
		if len(errs) > 0 {
			detail = errors.Join(errs...).Error()
			detail = strings.ReplaceAll(detail, "\n", "; ")
		}
		out = append(out, finding{"engine", name, len(errs) == 0, detail})
	}
	return out
}

func rootDetail(uid int) string {
	if uid == 0 {
		return "partitions and shaping available (iptables, tc, a uid per local node)"
	}
	return fmt.Sprintf("uid %d: local nodes share your uid, so partitions and shaping are refused; run as root for them", uid)
}

// readCapBnd reads the capability bounding set from a /proc/PID/status
// file.
func readCapBnd(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: CapBnd: %w", path, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no CapBnd line", path)
}

// kernelOption returns an option's value ("y", "m") from a gzipped kernel
// config, "n" if the config says it is not set, or "" if the config cannot
// be read.
func kernelOption(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return ""
	}
	return configValue(z, name)
}

// configValue finds name in a kernel config.
func configValue(r io.Reader, name string) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return v
		}
		if line == "# "+name+" is not set" {
			return "n"
		}
	}
	if sc.Err() != nil {
		return ""
	}
	return "n"
}
