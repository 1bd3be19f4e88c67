// Package dist provides the Vitess programs faultline runs: built from the
// Go module vitess.io/vitess at a pinned version, in a module context of
// their own (never linked into faultline), with faultline's MariaDB
// compatibility changes applied to a copy of the module source, into a
// cache directory keyed by the version and the changes; or a directory of
// programs the user already has.
package dist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Module is the Go module the programs are built from.
const Module = "vitess.io/vitess"

// ModuleVersion is the pinned version of Module.
const ModuleVersion = "v0.24.4"

// Programs are the programs the vitess engine runs, each built from
// Module's go/cmd/NAME.
var Programs = []string{"mysqlctl", "vtctld", "vtctldclient", "vtgate", "vtorc", "vttablet"}

// ServerPrograms are the programs of Programs that run on a cluster's
// nodes (the topology's clients, the tablets and their mysqld's setup):
// all but vtctldclient, which the harness runs from its own machine.
// They are what faultline's Vitess image carries.
var ServerPrograms = []string{"mysqlctl", "vtctld", "vtgate", "vtorc", "vttablet"}

// EnvBin names the environment variable that points faultline at a
// directory of Vitess programs the user already has (for example from
// Vitess's release tarballs); the --vitess-bin flag takes precedence.
const EnvBin = "FAULTLINE_VITESS_BIN"

// Flavor is the MySQL server the programs are built for.
type Flavor string

// Flavors.
const (
	// MariaDB is MariaDB 10.11 (Debian's): the programs carry
	// MariaDBChanges.
	MariaDB Flavor = "mariadb"
	// MySQL is MySQL 8.0/8.4, Vitess's own default: stock programs.
	MySQL Flavor = "mysql"
)

// Changes returns the changes applied for flavor.
func (f Flavor) Changes() []Change {
	if f == MariaDB {
		return MariaDBChanges()
	}
	return nil
}

// Release is the Vitess release a module version is: v0.24.4 is v24.0.4.
func Release(moduleVersion string) string {
	parts := strings.SplitN(strings.TrimPrefix(moduleVersion, "v"), ".", 3)
	if len(parts) != 3 || parts[0] != "0" {
		return moduleVersion
	}
	return "v" + parts[1] + ".0." + parts[2]
}

// Dist is a directory holding every one of Programs.
type Dist struct {
	// Dir holds the programs.
	Dir string `json:"dir"`
	// ModuleVersion is the module version they were built from; empty for
	// programs the user supplied.
	ModuleVersion string `json:"module_version,omitempty"`
	// Flavor is the server the programs were built for; empty for
	// programs the user supplied.
	Flavor Flavor `json:"flavor,omitempty"`
	// Changes names the compatibility changes built in, in order.
	Changes []string `json:"changes,omitempty"`
	// Without names the flavour's changes left out (Options.Without).
	Without []string `json:"without,omitempty"`
	// User is set for a directory the user supplied (--vitess-bin,
	// FAULTLINE_VITESS_BIN): faultline did not build it.
	User bool `json:"user,omitempty"`
}

// Path is the path of program in d.
func (d Dist) Path(program string) string { return filepath.Join(d.Dir, program) }

// String says what d is, for doctor and reports: "Vitess v24.0.4 with 5
// MariaDB compatibility changes", "Vitess v24.0.4 (stock)", or the user's
// directory. A build with changes is never presented as stock.
func (d Dist) String() string {
	if d.User {
		return "Vitess programs supplied by the user in " + d.Dir
	}
	s := "Vitess " + Release(d.ModuleVersion)
	if len(d.Without) > 0 {
		s += " without the MariaDB change(s) " + strings.Join(d.Without, ", ") + ","
	}
	switch n := len(d.Changes); {
	case n == 1:
		return s + " with 1 MariaDB compatibility change"
	case n > 1:
		return fmt.Sprintf("%s with %d MariaDB compatibility changes", s, n)
	}
	return s + " (stock)"
}

// Options say which build to use or make.
type Options struct {
	// CacheDir is where builds are kept, one directory per version and
	// changes; empty is faultline/vitess under the user's cache directory
	// (~/.cache/faultline/vitess).
	CacheDir string
	// Flavor picks the changes; empty is MariaDB.
	Flavor Flavor
	// ModuleVersion is the version to build; empty is ModuleVersion.
	ModuleVersion string
	// Bin is a directory of programs the user supplied; when set (or when
	// EnvBin is set and Bin is empty), nothing is built and Find and
	// Build return that directory.
	Bin string
	// Go is the go command; empty is "go" from PATH.
	Go string
	// Without names changes of the flavour to leave out, to show what
	// each one answers (a scenario that fails without it); the build is
	// keyed apart and never presented as complete.
	Without []string
}

// changes returns the flavour's changes less those left out, or an error
// naming a change to leave out that does not exist.
func (o Options) changes() ([]Change, error) {
	all := o.flavor().Changes()
	var out []Change
	for _, c := range all {
		if !slices.Contains(o.Without, c.Name) {
			out = append(out, c)
		}
	}
	for _, w := range o.Without {
		if !slices.ContainsFunc(all, func(c Change) bool { return c.Name == w }) {
			var names []string
			for _, c := range all {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("vitess programs: no %s change %q to leave out (known: %s)", o.flavor(), w, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// key is the cache key of opts' build.
func (o Options) key() (string, error) {
	cs, err := o.changes()
	if err != nil {
		return "", err
	}
	return keyOf(o.version(), o.flavor(), cs), nil
}

func (o Options) flavor() Flavor {
	if o.Flavor == "" {
		return MariaDB
	}
	return o.Flavor
}

func (o Options) version() string {
	if o.ModuleVersion == "" {
		return ModuleVersion
	}
	return o.ModuleVersion
}

func (o Options) bin() string {
	if o.Bin != "" {
		return o.Bin
	}
	return os.Getenv(EnvBin)
}

func (o Options) cacheDir() (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vitess programs: cache directory: %w", err)
	}
	return filepath.Join(c, "faultline", "vitess"), nil
}

// Key is the name of a build's directory in the cache: the module version
// and a hash of the flavour and of every change's edits, so that changing
// a change builds anew.
func Key(moduleVersion string, flavor Flavor) string {
	return keyOf(moduleVersion, flavor, flavor.Changes())
}

func keyOf(moduleVersion string, flavor Flavor, changes []Change) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", moduleVersion, flavor)
	for _, c := range changes {
		fmt.Fprintf(h, "change %s\n", c.Name)
		for _, e := range c.Edits {
			fmt.Fprintf(h, "%s\n%q\n%q\n", e.File, e.Old, e.New)
		}
	}
	return moduleVersion + "-" + string(flavor) + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// manifestName is the file a finished build writes last, describing it.
const manifestName = "faultline-build.json"

// NotBuiltError says that the programs are not in the cache yet.
type NotBuiltError struct {
	Dir string
}

// Error implements error.
func (e *NotBuiltError) Error() string {
	return "the Vitess programs are not built (expected in " + e.Dir + "): run `faultline engines build vitess` or `make vitess` (about 8 minutes on 2 cores), or point --vitess-bin or " + EnvBin + " at a directory holding " + strings.Join(Programs, ", ")
}

// Find returns the programs to use without building: the user's
// directory if one is set, else the cached build for opts. It returns a
// *NotBuiltError when the cache does not hold it.
func Find(opts Options) (Dist, error) {
	if bin := opts.bin(); bin != "" {
		return FromDir(bin)
	}
	root, err := opts.cacheDir()
	if err != nil {
		return Dist{}, err
	}
	key, err := opts.key()
	if err != nil {
		return Dist{}, err
	}
	dir := filepath.Join(root, key)
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return Dist{}, &NotBuiltError{Dir: dir}
	}
	if err != nil {
		return Dist{}, fmt.Errorf("vitess programs: %w", err)
	}
	var d Dist
	if err := json.Unmarshal(b, &d); err != nil {
		return Dist{}, fmt.Errorf("vitess programs: %s: %w", filepath.Join(dir, manifestName), err)
	}
	d.Dir = dir
	if err := d.check(); err != nil {
		return Dist{}, err
	}
	return d, nil
}

// FromDir returns the user's directory of programs, checking that it
// holds every one of Programs as an executable.
func FromDir(dir string) (Dist, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Dist{}, fmt.Errorf("vitess programs: %w", err)
	}
	d := Dist{Dir: abs, User: true}
	return d, d.check()
}

// check says which programs are missing from d.
func (d Dist) check() error {
	var missing []string
	for _, p := range Programs {
		fi, err := os.Stat(d.Path(p))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("vitess programs: %s lacks %s", d.Dir, strings.Join(missing, ", "))
	}
	return nil
}
