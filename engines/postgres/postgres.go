// Package postgres deploys PostgreSQL on the local platform: a single
// server from the binaries installed on this machine (PostgreSQL 15 from
// Debian's postgresql-15), initialized in the node's data directory and
// listening on the node's address.
package postgres

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of the readiness check

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/platform"
)

// Name is the engine's name in scenarios.
const Name = "postgres"

// Login of the deployed server.
const (
	User     = "faultline"
	Database = "postgres"
)

// defaultPort is the port when the cluster hands out none.
const defaultPort = 5432

// installRoot holds Debian's PostgreSQL installations, one directory per
// major version.
const installRoot = "/usr/lib/postgresql"

var options = localdb.Options{
	"synchronous_commit": {
		Doc:     "whether COMMIT waits for its WAL to be flushed to disk (postgres -c synchronous_commit); off acknowledges commits that a crash can lose",
		Default: "on",
		Check:   localdb.OneOf("on", "off", "local", "remote_write", "remote_apply"),
	},
	"fsync": {
		Doc:     "whether PostgreSQL fsyncs at all (postgres -c fsync); off risks corruption on an OS crash, not on a process kill",
		Default: "on",
		Check:   localdb.OneOf("on", "off"),
	},
	"deadlock_timeout": {
		Doc:     "how long a transaction waits on a lock before PostgreSQL looks for a deadlock (postgres -c deadlock_timeout), in milliseconds; lower values end deadlocks (SQLSTATE 40P01) sooner under contention",
		Default: "1000",
		Check:   localdb.IntRange(1, 600000),
	},
	"max_connections": {
		Doc:     "concurrent client connections the server accepts (postgres -c max_connections)",
		Default: "200",
		Check:   localdb.IntRange(10, 10000),
	},
}

// Engine deploys PostgreSQL. One Engine serves concurrent runs.
type Engine struct {
	// Root is where PostgreSQL installations live, one directory per major
	// version with bin/ inside; empty is /usr/lib/postgresql.
	Root string
	// Single answers WaitReady, Endpoints and Leader for each cluster's
	// instance.
	localdb.Single
}

var (
	_ engines.Engine    = (*Engine)(nil)
	_ engines.Validator = (*Engine)(nil)
	_ engines.Defaults  = (*Engine)(nil)
	_ engines.Leader    = (*Engine)(nil)
)

// New returns the postgres engine.
func New() *Engine { return &Engine{Single: localdb.Single{Engine: Name}} }

// Name implements engines.Engine.
func (e *Engine) Name() string { return Name }

// Protocol implements engines.Engine.
func (e *Engine) Protocol() string { return engines.ProtocolPostgres }

// DefaultVersion implements engines.Defaults: the newest major version
// installed, or "15" when none is.
func (e *Engine) DefaultVersion() string {
	if v := e.versions(); len(v) > 0 {
		return v[len(v)-1]
	}
	return "15"
}

// Options implements engines.Defaults.
func (e *Engine) Options() map[string]string { return options.Docs() }

func (e *Engine) root() string {
	if e.Root != "" {
		return e.Root
	}
	return installRoot
}

// versions lists the installed major versions, oldest first.
func (e *Engine) versions() []string {
	ents, _ := os.ReadDir(e.root())
	var out []string
	for _, d := range ents {
		if _, err := os.Stat(filepath.Join(e.root(), d.Name(), "bin", "postgres")); err == nil {
			out = append(out, d.Name())
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) || len(out[i]) == len(out[j]) && out[i] < out[j] })
	return out
}

// binaries finds initdb and postgres of the version asked for (the newest
// installed when version is empty).
func (e *Engine) binaries(version string) (initdb, server string, err error) {
	if version == "" {
		version = e.DefaultVersion()
	}
	dirs := []string{filepath.Join(e.root(), version, "bin")}
	if initdb, err = localdb.Lookup(dirs, e.Root == "", "initdb"); err != nil {
		return "", "", fmt.Errorf("postgres: %w", &engines.NotInstalledError{Program: "initdb", Install: "install postgresql-" + version + " or run scripts/install-databases.sh"})
	}
	if server, err = localdb.Lookup(dirs, e.Root == "", "postgres"); err != nil {
		return "", "", fmt.Errorf("postgres: %w", &engines.NotInstalledError{Program: "postgres", Install: "install postgresql-" + version + " or run scripts/install-databases.sh"})
	}
	return initdb, server, nil
}

// Validate implements engines.Validator: the options, a single instance,
// the local platform and the installed binaries.
func (e *Engine) Validate(spec engines.Spec, t engines.Target) []error {
	_, errs := options.Parse(spec.Options)
	errs = append(errs, localdb.Validate(Name, spec, t)...)
	if t.Capabilities.Processes {
		if _, _, err := e.binaries(strings.TrimPrefix(spec.Version, "v")); err != nil {
			errs = append(errs, fmt.Errorf("engine.version: %w", err))
		}
		if _, err := identity(); err != nil {
			errs = append(errs, fmt.Errorf("engine: %w", err))
		}
	}
	return errs
}

// CanRunOn implements engines.PlatformNeeds: the installed server runs as
// a process on a node.
func (e *Engine) CanRunOn(caps platform.Capabilities) error { return localdb.CanRunOn(Name, caps) }

// Deploy implements engines.Engine: it initializes a data directory on
// the first worker node (once: a restart reuses it) and starts the server,
// returning once it answers queries.
func (e *Engine) Deploy(ctx context.Context, c platform.Cluster, spec engines.Spec) error {
	opts, errs := options.Parse(spec.Options)
	if len(errs) > 0 {
		return fmt.Errorf("postgres: deploy: %w", errs[0])
	}
	host, ok := c.(platform.ProcessHost)
	if !ok {
		return fmt.Errorf("postgres: deploy: cluster %s does not run processes (only the local platform does)", c.Name())
	}
	initdb, server, err := e.binaries(strings.TrimPrefix(spec.Version, "v"))
	if err != nil {
		return err
	}
	node, err := localdb.Node(ctx, c)
	if err != nil {
		return fmt.Errorf("postgres: deploy: %w", err)
	}
	addr, err := localdb.Addr(c, node, "postgres", defaultPort)
	if err != nil {
		return fmt.Errorf("postgres: deploy: %w", err)
	}
	lib, err := identity()
	if err != nil {
		return err
	}
	password, err := localdb.Password()
	if err != nil {
		return fmt.Errorf("postgres: deploy: %w", err)
	}
	in := &localdb.Instance{Node: node, Addr: addr, Database: Database, User: User, Password: password}
	in.Ready = localdb.Ping("pgx", dsn(in))
	s := serverOn(host.DataDir(node.Name), initdb, server, addr, password, opts)
	s.Ready, s.Identity = in.Ready, lib
	if err := host.Run(ctx, node.Name, s.Process()); err != nil {
		return fmt.Errorf("postgres: deploy: %w", err)
	}
	e.Record(c.Name(), in)
	return nil
}

// serverOn is the server on a node: initdb with a password login for User
// (scram over TCP, no Unix socket, no locale), then postgres listening on
// addr only.
func serverOn(dataDir, initdb, server, addr, password string, opts map[string]string) localdb.Server {
	host, port, _ := net.SplitHostPort(addr)
	pwfile := filepath.Join(dataDir, "pwfile")
	s := localdb.Server{
		Name:  "postgres",
		Dir:   filepath.Join(dataDir, "pgdata"),
		Files: []localdb.File{{Path: pwfile, Content: password + "\n"}},
		Env:   []string{"LC_ALL=C", "LANG=C"},
		// SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for
		// every client to disconnect.
		StopSignal: syscall.SIGINT,
		// Backends are children of the postmaster: a kill or a pause
		// takes them all, as a crash or a frozen machine would.
		Tree: true,
	}
	s.Init = []string{initdb, "-D", s.InitDir(), "-U", User, "--pwfile=" + pwfile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-instructions"}
	s.Exec = []string{server, "-D", s.Dir,
		"-c", "listen_addresses=" + host,
		"-c", "port=" + port,
		"-c", "unix_socket_directories=",
		"-c", "logging_collector=off",
		"-c", "synchronous_commit=" + opts["synchronous_commit"],
		"-c", "fsync=" + opts["fsync"],
		"-c", "max_connections=" + opts["max_connections"],
		"-c", "deadlock_timeout=" + opts["deadlock_timeout"],
	}
	return s
}

func dsn(in *localdb.Instance) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(in.User, in.Password), Host: in.Addr, Path: "/" + in.Database,
		RawQuery: "sslmode=disable&connect_timeout=2"}
	return u.String()
}

// identity is the nss_wrapper library that gives a node's uid a name,
// needed as root, where nodes run as uids without passwd entries; "" when
// faultline does not run as root.
func identity() (string, error) {
	if os.Geteuid() != 0 {
		return "", nil
	}
	lib, err := localdb.NSSWrapper()
	if err != nil {
		return "", fmt.Errorf("postgres: initdb must name the node's user: %w", &engines.NotInstalledError{Program: "libnss_wrapper.so", Install: "install libnss-wrapper or run scripts/install-databases.sh"})
	}
	return lib, nil
}
