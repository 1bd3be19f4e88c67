// Package testenv decides what a test does when something it needs is
// missing from the machine: skip with the reason, or, when the run
// requires that dependency (FAULTLINE_REQUIRE), fail naming it. CI sets
// FAULTLINE_REQUIRE=all, so a test cannot pass by skipping what it
// claims to cover.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireEnv is the environment variable listing the dependencies whose
// absence fails a test instead of skipping it: "all", or a comma-separated
// list of dependency names (root, iptables, postgres, mariadb, docker…).
const RequireEnv = "FAULTLINE_REQUIRE"

// Required reports whether the run requires dependency dep: FAULTLINE_REQUIRE
// is "all" or lists dep.
func Required(dep string) bool {
	return required(os.Getenv(RequireEnv), dep)
}

func required(list, dep string) bool {
	for _, d := range strings.Split(list, ",") {
		d = strings.TrimSpace(d)
		if d == "all" || (d != "" && d == dep) {
			return true
		}
	}
	return false
}

// Missing ends t because dependency dep is missing, saying why: a failure
// when the run requires dep, a skip otherwise. Use it only for what the
// machine lacks; a test left out by -short or by design skips with
// t.Skip.
func Missing(t testing.TB, dep string, format string, args ...any) {
	t.Helper()
	missing(t, os.Getenv(RequireEnv), dep, format, args...)
}

func missing(t testing.TB, list, dep string, format string, args ...any) {
	t.Helper()
	args = append([]any{dep}, args...)
	if required(list, dep) {
		t.Fatalf("missing dependency %s, required by "+RequireEnv+"="+list+": "+format, args...)
		return // Fatalf does not return, but a recording testing.TB may
	}
	t.Skipf("missing dependency %s: "+format, args...)
}

// NeedRoot ends t (see Missing) unless the test runs as root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root", "%s", why)
	}
}

// NeedCommand ends t (see Missing) unless every named program is on the
// PATH (or in /usr/sbin, /sbin), and returns nothing: the test finds the
// program the way it always does.
func NeedCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := LookPath(name); err != nil {
			Missing(t, name, "%s is not installed", name)
		}
	}
}

// LookPath finds a program on the PATH or in the system directories a
// non-login root shell may leave out.
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(name)
}
