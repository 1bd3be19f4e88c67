// Package localdb runs a single database server from the binaries
// installed on this machine on one node of a platform.ProcessHost: the
// shared half of the local postgres and mariadb engines.
package localdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/faultline-dev/faultline/platform"
)

// portAllocator is implemented by clusters that hand out stable ports per
// node (the local platform), so that a restarted server listens where its
// clients expect it.
type portAllocator interface {
	PortFor(node, name string) (int, error)
}

// Addr is where the server on node listens: the node's address and the
// port the cluster gives purpose, or defaultPort.
func Addr(c platform.Cluster, node platform.Node, purpose string, defaultPort int) (string, error) {
	port := defaultPort
	if pa, ok := c.(portAllocator); ok {
		var err error
		if port, err = pa.PortFor(node.Name, purpose); err != nil {
			return "", err
		}
	}
	return net.JoinHostPort(node.Addr, strconv.Itoa(port)), nil
}

// Lookup finds the first of names that is an executable in one of dirs,
// or on PATH when path is true, and returns its path.
func Lookup(dirs []string, path bool, names ...string) (string, error) {
	for _, n := range names {
		for _, d := range dirs {
			if p, err := exec.LookPath(filepath.Join(d, n)); err == nil {
				return p, nil
			}
		}
		if !path {
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", strings.Join(names, " or "))
}

// Password returns a fresh random password for a deployment.
func Password() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// File is a file the server's start script writes before anything else,
// as the node's user and readable only by it.
type File struct {
	Path    string
	Content string
}

// Server says how to run one database server on a node.
type Server struct {
	// Name names the program in logs ("postgres").
	Name string
	// Dir is the data directory the server runs on. It does not exist
	// until Init has completed.
	Dir string
	// Init initializes InitDir (Dir with ".init" appended), which is then
	// renamed to Dir: a start that finds Dir runs the server on it, so an
	// initialization cut short is redone rather than half used.
	Init []string
	// Files are written before Init and before every start (the
	// password file, an init script).
	Files []File
	// Identity, if set, is the path of libnss_wrapper.so: when the
	// node's uid has no passwd entry, the script gives it one through
	// nss_wrapper (see NSSWrapper) before Init and Exec.
	Identity string
	// Exec is the server's command line; it replaces the start script,
	// so that signals reach the server itself.
	Exec []string
	Env  []string
	// Ready, StopSignal and Tree are as in platform.Process.
	Ready      func(ctx context.Context) error
	StopSignal syscall.Signal
	Tree       bool
}

// InitDir is where Init builds the data directory.
func (s Server) InitDir() string { return s.Dir + ".init" }

// Process returns the platform process that runs s: /bin/sh running the
// start script, which the platform runs as the node's user.
func (s Server) Process() platform.Process {
	env := append([]string(nil), s.Env...)
	var b strings.Builder
	b.WriteString("set -e\numask 077\n")
	if s.Identity != "" {
		// Nodes run as uids without a passwd entry, and initdb refuses
		// to run for a user it cannot name: nss_wrapper names it.
		home := filepath.Dir(s.Dir)
		fmt.Fprintf(&b, "if ! getent passwd \"$(id -u)\" >/dev/null; then\n"+
			"\tprintf 'faultline:x:%%s:%%s:faultline:%%s:/bin/false\\n' \"$(id -u)\" \"$(id -g)\" %s > %s\n"+
			"\tprintf 'faultline:x:%%s:\\n' \"$(id -g)\" > %s\n"+
			"\texport LD_PRELOAD=%s NSS_WRAPPER_PASSWD=%s NSS_WRAPPER_GROUP=%s\n"+
			"fi\n",
			quote(home), quote(filepath.Join(home, "passwd")), quote(filepath.Join(home, "group")),
			quote(s.Identity), quote(filepath.Join(home, "passwd")), quote(filepath.Join(home, "group")))
	}
	for i, f := range s.Files {
		v := "FAULTLINE_FILE_" + strconv.Itoa(i)
		env = append(env, v+"="+f.Content)
		fmt.Fprintf(&b, "printf '%%s' \"$%s\" > %s\n", v, quote(f.Path))
	}
	if len(s.Init) > 0 {
		fmt.Fprintf(&b, "if [ ! -d %s ]; then\n\trm -rf %s\n\t%s\n\tmv %s %s\nfi\n",
			quote(s.Dir), quote(s.InitDir()), join(s.Init), quote(s.InitDir()), quote(s.Dir))
	}
	b.WriteString("exec " + join(s.Exec) + "\n")
	return platform.Process{
		Name:       s.Name,
		Path:       "/bin/sh",
		Args:       []string{"-c", b.String()},
		Env:        env,
		Ready:      s.Ready,
		StopSignal: s.StopSignal,
		Tree:       s.Tree,
	}
}

// Ping is a Ready function: the server accepts a connection and answers a
// query through driver.
func Ping(driver, dsn string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return err
		}
		if one != 1 {
			return errors.New("SELECT 1 did not return 1")
		}
		return nil
	}
}

// quote quotes s for the shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func join(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

// NSSWrapper finds libnss_wrapper.so (Debian's libnss-wrapper), which
// gives a process running as a uid without a passwd entry a user name.
func NSSWrapper() (string, error) {
	for _, pattern := range []string{"/usr/lib/*/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so", "/usr/lib64/libnss_wrapper.so"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0], nil
		}
	}
	return "", errors.New("libnss_wrapper.so not found")
}
