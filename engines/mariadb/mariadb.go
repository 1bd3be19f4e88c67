// Package mariadb deploys MariaDB on the local platform: a single server
// from the binaries installed on this machine (Debian's mariadb-server),
// initialized in the node's data directory and listening on the node's
// address.
package mariadb

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/platform"
)

// Name is the engine's name in scenarios.
const Name = "mariadb"

// Login of the deployed server.
const (
	User     = "faultline"
	Database = "faultline"
)

// defaultPort is the port when the cluster hands out none.
const defaultPort = 3306

// binDirs are where Debian installs the server and its tools.
var binDirs = []string{"/usr/sbin", "/usr/bin"}

var options = localdb.Options{
	"innodb_flush_log_at_trx_commit": {
		Doc:     "when InnoDB flushes its log (mariadbd --innodb-flush-log-at-trx-commit): 1 at every commit; 2 writes at commit and flushes once a second; 0 writes and flushes once a second, so a crash can lose acknowledged commits",
		Default: "1",
		Check:   localdb.OneOf("0", "1", "2", "3"),
	},
	"innodb_lock_wait_timeout": {
		Doc:     "seconds a transaction waits for a row lock before error 1205 (mariadbd --innodb-lock-wait-timeout); kept below the workload's operation timeout so that lock waits end as definite aborts",
		Default: "3",
		Check:   localdb.IntRange(1, 3600),
	},
	"max_connections": {
		Doc:     "concurrent client connections the server accepts (mariadbd --max-connections)",
		Default: "200",
		Check:   localdb.IntRange(10, 10000),
	},
}

// Engine deploys MariaDB. One Engine serves concurrent runs.
type Engine struct {
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

// New returns the mariadb engine.
func New() *Engine { return &Engine{Single: localdb.Single{Engine: Name}} }

// Name implements engines.Engine.
func (e *Engine) Name() string { return Name }

// Protocol implements engines.Engine.
func (e *Engine) Protocol() string { return engines.ProtocolMySQL }

var versionRE = regexp.MustCompile(`Ver ([0-9]+\.[0-9]+\.[0-9]+)`)

// DefaultVersion implements engines.Defaults: the installed server's
// version, or "10.11" (Debian 12's) when none is installed.
func (e *Engine) DefaultVersion() string {
	_, server, err := binaries()
	if err != nil {
		return "10.11"
	}
	out, err := exec.Command(server, "--version").Output()
	if m := versionRE.FindSubmatch(out); err == nil && m != nil {
		return string(m[1])
	}
	return "10.11"
}

// Options implements engines.Defaults.
func (e *Engine) Options() map[string]string { return options.Docs() }

func binaries() (installDB, server string, err error) {
	if installDB, err = localdb.Lookup(binDirs, true, "mariadb-install-db", "mysql_install_db"); err != nil {
		return "", "", fmt.Errorf("mariadb: %w", &engines.NotInstalledError{Program: "mariadb-install-db", Install: "install mariadb-server or run scripts/install-databases.sh"})
	}
	if server, err = localdb.Lookup(binDirs, true, "mariadbd", "mysqld"); err != nil {
		return "", "", fmt.Errorf("mariadb: %w", &engines.NotInstalledError{Program: "mariadbd", Install: "install mariadb-server or run scripts/install-databases.sh"})
	}
	return installDB, server, nil
}

// Validate implements engines.Validator: the options, a single instance,
// the local platform and the installed binaries. The version cannot be
// chosen: the installed server runs.
func (e *Engine) Validate(spec engines.Spec, t engines.Target) []error {
	_, errs := options.Parse(spec.Options)
	errs = append(errs, localdb.Validate(Name, spec, t)...)
	if t.Capabilities.Processes {
		if _, _, err := binaries(); err != nil {
			errs = append(errs, fmt.Errorf("engine: %w", err))
		} else if v := e.DefaultVersion(); spec.Version != "" && !strings.HasPrefix(v, strings.TrimPrefix(spec.Version, "v")) {
			errs = append(errs, fmt.Errorf("engine.version: the installed MariaDB is %s, not %q", v, spec.Version))
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
		return fmt.Errorf("mariadb: deploy: %w", errs[0])
	}
	host, ok := c.(platform.ProcessHost)
	if !ok {
		return fmt.Errorf("mariadb: deploy: cluster %s does not run processes (only the local platform does)", c.Name())
	}
	installDB, server, err := binaries()
	if err != nil {
		return err
	}
	node, err := localdb.Node(ctx, c)
	if err != nil {
		return fmt.Errorf("mariadb: deploy: %w", err)
	}
	addr, err := localdb.Addr(c, node, "mariadb", defaultPort)
	if err != nil {
		return fmt.Errorf("mariadb: deploy: %w", err)
	}
	password, err := localdb.Password()
	if err != nil {
		return fmt.Errorf("mariadb: deploy: %w", err)
	}
	lib, _ := localdb.NSSWrapper() // optional: mariadbd needs no user name
	in := &localdb.Instance{Node: node, Addr: addr, Database: Database, User: User, Password: password}
	in.Ready = localdb.Ping("mysql", dsn(in))
	s := serverOn(host.DataDir(node.Name), installDB, server, addr, password, opts)
	s.Ready, s.Identity = in.Ready, lib
	if err := host.Run(ctx, node.Name, s.Process()); err != nil {
		return fmt.Errorf("mariadb: deploy: %w", err)
	}
	e.Record(c.Name(), in)
	return nil
}

// serverOn is the server on a node: mariadb-install-db, then mariadbd
// ignoring every option file (--no-defaults), listening on addr, with an
// init file that creates the database and User with its password at every
// start.
func serverOn(dataDir, installDB, server, addr, password string, opts map[string]string) localdb.Server {
	host, port, _ := net.SplitHostPort(addr)
	initSQL := filepath.Join(dataDir, "init.sql")
	pw := strings.ReplaceAll(password, "'", "''")
	s := localdb.Server{
		Name: "mariadb",
		Dir:  filepath.Join(dataDir, "mysql"),
		Files: []localdb.File{{Path: initSQL, Content: "CREATE DATABASE IF NOT EXISTS " + Database + ";\n" +
			"CREATE USER IF NOT EXISTS '" + User + "'@'%' IDENTIFIED BY '" + pw + "';\n" +
			"ALTER USER '" + User + "'@'%' IDENTIFIED BY '" + pw + "';\n" +
			"GRANT ALL PRIVILEGES ON *.* TO '" + User + "'@'%';\n"}},
		Env: []string{"LC_ALL=C", "LANG=C"},
	}
	s.Init = []string{installDB, "--no-defaults", "--datadir=" + s.InitDir(), "--skip-test-db",
		"--auth-root-authentication-method=socket", "--skip-name-resolve"}
	s.Exec = []string{server, "--no-defaults",
		"--datadir=" + s.Dir,
		"--bind-address=" + host,
		"--port=" + port,
		"--socket=" + filepath.Join(dataDir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(dataDir, "mysqld.pid"),
		"--init-file=" + initSQL,
		"--skip-name-resolve",
		"--skip-log-bin",
		"--innodb-flush-log-at-trx-commit=" + opts["innodb_flush_log_at_trx_commit"],
		"--innodb-lock-wait-timeout=" + opts["innodb_lock_wait_timeout"],
		"--max-connections=" + opts["max_connections"],
		"--innodb-buffer-pool-size=128M",
	}
	return s
}

func dsn(in *localdb.Instance) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = in.User, in.Password, "tcp", in.Addr, in.Database
	c.Timeout = 2 * time.Second
	return c.FormatDSN()
}
