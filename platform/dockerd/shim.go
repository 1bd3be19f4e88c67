package dockerd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/faultline-dev/faultline/internal/agent"
)

// ShimAgentName is the agent (see internal/agent) that the private daemon
// runs as its OCI runtime: it filters capabilities and then execs runc.
const ShimAgentName = "dockerd-runc"

// realRuncEnv names the environment variable that tells the shim where the
// real runc is; the wrapper script the daemon runs sets it.
const realRuncEnv = "FAULTLINE_REAL_RUNC"

// Agents returns the agents of this package, for cmd/faultline/agents.go
// and for the TestMain of test binaries that start a private daemon.
func Agents() map[string]agent.Func {
	return map[string]agent.Func{
		ShimAgentName: Shim,
	}
}

// capNames are the Linux capabilities by number, as OCI specs name them.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapSet is a set of capabilities as a bit mask, bit n for capability n.
type CapSet uint64

// Has reports whether the set holds the capability with the OCI name name.
// Names it does not know are kept (a newer kernel's capabilities are not
// ours to judge).
func (s CapSet) Has(name string) bool {
	for i, n := range capNames {
		if n == name {
			return s&(1<<uint(i)) != 0
		}
	}
	return true
}

// Missing lists the known capabilities up to last (cap_last_cap) that the
// set lacks.
func (s CapSet) Missing(last int) []string {
	var out []string
	for i := 0; i <= last && i < len(capNames); i++ {
		if s&(1<<uint(i)) == 0 {
			out = append(out, capNames[i])
		}
	}
	return out
}

// BoundingSet reads the calling process's capability bounding set
// (CapBnd in /proc/self/status).
func BoundingSet() (CapSet, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read capability bounding set: %w", err)
	}
	return parseCapBnd(string(b))
}

func parseCapBnd(status string) (CapSet, error) {
	for _, l := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(l, "CapBnd:")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parse CapBnd %q: %w", strings.TrimSpace(v), err)
		}
		return CapSet(n), nil
	}
	return 0, fmt.Errorf("no CapBnd line in /proc/self/status")
}

// lastCap reads /proc/sys/kernel/cap_last_cap, the highest capability the
// kernel knows.
func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("parse cap_last_cap: %w", err)
	}
	return n, nil
}

// FilterCaps removes from an OCI document's capability sets every
// capability allowed lacks. doc is a whole runtime spec (config.json) when
// process is false, or a bare process object (runc exec --process) when it
// is true. Fields the filter does not touch pass through unchanged. It
// returns the document unchanged, and changed false, when nothing was
// removed.
func FilterCaps(doc []byte, process bool, allowed CapSet) (out []byte, changed bool, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, false, fmt.Errorf("decode OCI document: %w", err)
	}
	if process {
		changed, err = filterProcess(m, allowed)
	} else {
		raw, ok := m["process"]
		if !ok {
			return doc, false, nil
		}
		var p map[string]json.RawMessage
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, false, fmt.Errorf("decode process: %w", err)
		}
		if changed, err = filterProcess(p, allowed); err == nil && changed {
			m["process"], err = json.Marshal(p)
		}
	}
	if err != nil || !changed {
		return doc, false, err
	}
	out, err = json.Marshal(m)
	return out, true, err
}

func filterProcess(p map[string]json.RawMessage, allowed CapSet) (bool, error) {
	raw, ok := p["capabilities"]
	if !ok {
		return false, nil
	}
	var sets map[string][]string
	if err := json.Unmarshal(raw, &sets); err != nil {
		return false, fmt.Errorf("decode capabilities: %w", err)
	}
	changed := false
	for k, list := range sets {
		kept := make([]string, 0, len(list))
		for _, c := range list {
			if allowed.Has(c) {
				kept = append(kept, c)
			}
		}
		if len(kept) != len(list) {
			sets[k] = kept
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	b, err := json.Marshal(sets)
	if err != nil {
		return false, err
	}
	p["capabilities"] = b
	return true, nil
}

// runcCall is what the shim needs to know of a runc command line.
type runcCall struct {
	sub     string // subcommand: create, run, exec, ...
	bundle  string // --bundle of create/run
	process string // --process of exec
}

// runcGlobalWithValue are runc's global flags that take a separate value.
var runcGlobalWithValue = map[string]bool{
	"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true,
}

// parseRunc finds the subcommand, bundle and process file in runc's
// arguments (global flags, subcommand, its flags, container id).
func parseRunc(args []string) runcCall {
	var c runcCall
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch {
		case a == "--bundle" || a == "-b":
			c.bundle = next
			i++
		case strings.HasPrefix(a, "--bundle="):
			c.bundle = strings.TrimPrefix(a, "--bundle=")
		case c.sub != "" && (a == "--process" || a == "-p"):
			c.process = next
			i++
		case strings.HasPrefix(a, "--process="):
			c.process = strings.TrimPrefix(a, "--process=")
		case c.sub == "" && runcGlobalWithValue[a]:
			i++
		case c.sub == "" && !strings.HasPrefix(a, "-"):
			c.sub = a
		}
	}
	return c
}

// Shim is the OCI runtime of the private daemon: runc with the
// capabilities this process cannot grant removed from the spec. It
// rewrites the bundle's config.json (create, run) or the exec process file
// in place, then replaces itself with the real runc.
func Shim(_ context.Context, args []string) error {
	real := os.Getenv(realRuncEnv)
	if real == "" {
		real = "runc"
	}
	if !filepath.IsAbs(real) {
		p, err := lookPath(real)
		if err != nil {
			return err
		}
		real = p
	}
	allowed, err := BoundingSet()
	if err != nil {
		return err
	}
	c := parseRunc(args)
	switch c.sub {
	case "create", "run":
		bundle := c.bundle
		if bundle == "" {
			if bundle, err = os.Getwd(); err != nil {
				return err
			}
		}
		if err := filterFile(filepath.Join(bundle, "config.json"), false, allowed); err != nil {
			return err
		}
	case "exec":
		if c.process != "" {
			if err := filterFile(c.process, true, allowed); err != nil {
				return err
			}
		}
	}
	env := os.Environ()
	return syscall.Exec(real, append([]string{"runc"}, args...), env)
}

func filterFile(path string, process bool, allowed CapSet) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("runc shim: %w", err)
	}
	out, changed, err := FilterCaps(b, process, allowed)
	if err != nil {
		return fmt.Errorf("runc shim: %s: %w", path, err)
	}
	if !changed {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("runc shim: %w", err)
	}
	if err := os.WriteFile(path, out, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("runc shim: %w", err)
	}
	return nil
}

func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH") + ":/usr/sbin:/usr/bin:/sbin:/bin") {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("runc shim: %s not found in PATH", name)
}
