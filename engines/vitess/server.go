package vitess

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
)

// serverBinary is the mysqld the tablets run.
type serverBinary struct {
	Flavor dist.Flavor
	// Root is the installation's root (VT_MYSQL_ROOT: bin/ or sbin/ hold
	// mysqld, mysqld_safe and mysql_install_db).
	Root string
	// Mysqld is the server binary.
	Mysqld string
	// Version is what the server says it is ("10.11.19-MariaDB-0+deb12u1").
	Version string
	// Identity is libnss_wrapper.so when nodes may run as uids without a
	// passwd entry (mysql_install_db asks for the user's name); empty
	// when it is not installed.
	Identity string
}

// String is the flavour and version, for reports.
func (s serverBinary) String() string {
	if s.Flavor == dist.MariaDB {
		return "MariaDB " + s.Version
	}
	return "MySQL " + s.Version
}

var serverVersion = regexp.MustCompile(`Ver ([0-9]+\.[0-9]+\.[0-9]+[^ ]*)`)

// roots are where servers are installed: Debian's packages under /usr, a
// MySQL tarball under /usr/local/mysql or /opt/mysql.
var roots = []string{"/usr", "/usr/local/mysql", "/opt/mysql"}

// findServer finds an installed server of the flavour: MariaDB's
// mariadbd, or a mysqld that says it is MySQL (not MariaDB's mysqld
// link). It returns a *engines.NotInstalledError when there is none.
func findServer(flavor dist.Flavor) (serverBinary, error) {
	var names []string
	install := "install mariadb-server (scripts/install-deps.sh databases)"
	if flavor == dist.MariaDB {
		names = []string{"mariadbd", "mysqld"}
	} else {
		names = []string{"mysqld"}
		install = "install MySQL 8.0 or 8.4 (not in Debian: Oracle's packages or tarball under /usr/local/mysql)"
	}
	for _, root := range roots {
		for _, dir := range []string{"sbin", "bin", "libexec"} {
			for _, name := range names {
				path := filepath.Join(root, dir, name)
				if fi, err := os.Stat(path); err != nil || fi.IsDir() {
					continue
				}
				out, err := exec.Command(path, "--version").CombinedOutput()
				if err != nil {
					continue
				}
				isMariaDB := strings.Contains(string(out), "MariaDB")
				if isMariaDB != (flavor == dist.MariaDB) {
					continue
				}
				s := serverBinary{Flavor: flavor, Root: root, Mysqld: path}
				if m := serverVersion.FindSubmatch(out); m != nil {
					s.Version = string(m[1])
				}
				if os.Geteuid() == 0 {
					s.Identity, _ = localdb.NSSWrapper()
				}
				return s, nil
			}
		}
	}
	program := "mariadbd"
	if flavor == dist.MySQL {
		program = "mysqld (MySQL 8)"
	}
	return serverBinary{}, &engines.NotInstalledError{Program: program, Install: install}
}

// needInstallDB checks that MariaDB's mysql_install_db, which mysqlctl
// init runs, is installed next to the server.
func (s serverBinary) needInstallDB() error {
	if s.Flavor != dist.MariaDB {
		return nil
	}
	for _, dir := range []string{"bin", "scripts", "sbin"} {
		if _, err := os.Stat(filepath.Join(s.Root, dir, "mysql_install_db")); err == nil {
			return nil
		}
	}
	return fmt.Errorf("vitess: %w", &engines.NotInstalledError{Program: "mysql_install_db", Install: "install mariadb-server (scripts/install-deps.sh databases)"})
}
