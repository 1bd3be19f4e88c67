package dist

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/internal/testenv"
)

func TestRelease(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v0.24.4", "v24.0.4"},
		{"v0.19.0", "v19.0.0"},
		{"v2.0.0", "v2.0.0"},
		{"main", "main"},
	} {
		if got := Release(tc.in); got != tc.want {
			t.Errorf("Release(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		d    Dist
		want string
	}{
		{Dist{ModuleVersion: "v0.24.4", Flavor: MariaDB, Changes: []string{"a", "b", "c", "d", "e"}}, "Vitess v24.0.4 with 5 MariaDB compatibility changes"},
		{Dist{ModuleVersion: "v0.24.4", Flavor: MariaDB, Changes: []string{"a"}}, "Vitess v24.0.4 with 1 MariaDB compatibility change"},
		{Dist{ModuleVersion: "v0.24.4", Flavor: MySQL}, "Vitess v24.0.4 (stock)"},
		{Dist{Dir: "/opt/vt/bin", User: true}, "Vitess programs supplied by the user in /opt/vt/bin"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	m, s := Key(ModuleVersion, MariaDB), Key(ModuleVersion, MySQL)
	if m == s {
		t.Fatalf("the MariaDB and stock builds share the key %s", m)
	}
	if m != Key(ModuleVersion, MariaDB) {
		t.Fatal("the key is not stable")
	}
	if !strings.HasPrefix(m, ModuleVersion+"-mariadb-") {
		t.Errorf("key %s does not start with the version and flavour", m)
	}
	if Key("v0.24.3", MariaDB) == m {
		t.Error("the key ignores the version")
	}
}

func TestFindUserDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvBin, "")
	_, err := Find(Options{Bin: dir})
	if err == nil || !strings.Contains(err.Error(), "lacks mysqlctl, vtctld, vtctldclient, vtgate, vtorc, vttablet") {
		t.Fatalf("an empty directory: got %v", err)
	}
	for _, p := range Programs {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EnvBin, dir)
	d, err := Find(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.User || d.Path("vtgate") != filepath.Join(dir, "vtgate") {
		t.Errorf("got %+v", d)
	}
}

func TestFindNotBuilt(t *testing.T) {
	t.Setenv(EnvBin, "")
	_, err := Find(Options{CacheDir: t.TempDir()})
	nb, ok := errors.AsType[*NotBuiltError](err)
	if !ok {
		t.Fatalf("got %v, want a *NotBuiltError", err)
	}
	if !strings.Contains(nb.Error(), "faultline engines build vitess") {
		t.Errorf("the error does not say how to build: %v", nb)
	}
}

func TestApplyFailsLoudly(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.go"), []byte("x := 1\nx := 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		old  string
		want int
	}{{"y := 2\n", 0}, {"x := 1\n", 2}} {
		err := Change{Name: "c", Edits: []Edit{{File: "a.go", Old: tc.old, New: "z"}}}.Apply(root)
		ee, ok := errors.AsType[*EditError](err)
		if !ok || ee.Count != tc.want {
			t.Errorf("old %q: got %v, want an EditError with count %d", tc.old, err, tc.want)
		}
	}
	err := Change{Name: "c", Edits: []Edit{{File: "a.go", New: "package a\n"}}}.Apply(root)
	if err == nil {
		t.Error("creating a file that exists succeeded")
	}
}

// moduleSource returns the pinned module's source in the module cache,
// downloading it (the Go module proxy) if it is not there.
func moduleSource(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", Module+"@"+ModuleVersion).Output()
	if err != nil {
		testenv.Missing(t, "vitess", "the module %s@%s cannot be downloaded: %v", Module, ModuleVersion, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), `"Dir": "`); ok {
			return strings.TrimSuffix(v, `",`)
		}
	}
	t.Fatalf("go mod download printed no Dir:\n%s", out)
	return ""
}

// TestMariaDBChangesApply applies every change to a copy of the pinned
// module's source: each edit's upstream text is there exactly once, and
// each change leaves its marker comment.
func TestMariaDBChangesApply(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the Vitess module source (100 MB)")
	}
	src := moduleSource(t)
	root := t.TempDir()
	files := map[string]bool{}
	for _, c := range MariaDBChanges() {
		for _, e := range c.Edits {
			files[e.File] = true
		}
	}
	for f := range files {
		from := filepath.Join(src, f)
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			continue // created by a change
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range MariaDBChanges() {
		if err := c.Apply(root); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if c.Why == "" {
			t.Errorf("%s says not why", c.Name)
		}
		for _, e := range c.Edits {
			if !strings.Contains(e.New, "faultline (MariaDB)") {
				t.Errorf("%s: an edit of %s carries no marker comment", c.Name, e.File)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "config/init_db.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SET GLOBAL super_read_only") {
		t.Error("init_db.sql still sets super_read_only")
	}
}

func TestWithout(t *testing.T) {
	all, err := Options{}.key()
	if err != nil {
		t.Fatal(err)
	}
	if all != Key(ModuleVersion, MariaDB) {
		t.Errorf("no change left out: key %s, want %s", all, Key(ModuleVersion, MariaDB))
	}
	less, err := Options{Without: []string{"relay-log-position-from-gtid-io-pos"}}.key()
	if err != nil || less == all {
		t.Errorf("leaving a change out: key %s (%v), the same as the full build's", less, err)
	}
	cs, _ := Options{Without: []string{"relay-log-position-from-gtid-io-pos"}}.changes()
	if len(cs) != len(MariaDBChanges())-1 {
		t.Errorf("%d changes left, want %d", len(cs), len(MariaDBChanges())-1)
	}
	if _, err := (Options{Without: []string{"nope"}}).key(); err == nil || !strings.Contains(err.Error(), `no mariadb change "nope"`) {
		t.Errorf("an unknown change: %v", err)
	}
	d := Dist{ModuleVersion: ModuleVersion, Flavor: MariaDB, Changes: []string{"a", "b"}, Without: []string{"c"}}
	if got := d.String(); got != "Vitess v24.0.4 without the MariaDB change(s) c, with 2 MariaDB compatibility changes" {
		t.Errorf("String() = %q", got)
	}
}
