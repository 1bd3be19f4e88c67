package localdb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcessScript runs the start script a Server makes, with a
// directory name that needs quoting: files are written, Init runs once
// into InitDir which becomes Dir, and Exec replaces the shell.
func TestProcessScript(t *testing.T) {
	base := filepath.Join(t.TempDir(), "it's data")
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(base, "secret")
	s := Server{
		Name:  "test",
		Dir:   filepath.Join(base, "db"),
		Files: []File{{Path: secret, Content: "pa'ss $word\n"}},
		Exec:  []string{"cat", secret},
	}
	s.Init = []string{"sh", "-c", `mkdir "$1" && echo init >> "$2"`, "sh", s.InitDir(), filepath.Join(base, "inits")}
	for range 2 {
		p := s.Process()
		cmd := exec.Command(p.Path, p.Args...)
		cmd.Env = append(os.Environ(), p.Env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if string(out) != "pa'ss $word\n" {
			t.Errorf("exec printed %q", out)
		}
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		t.Errorf("data directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "inits")); strings.Count(string(b), "init") != 1 {
		t.Errorf("init ran %d times, want once", strings.Count(string(b), "init"))
	}
	if fi, err := os.Stat(secret); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v, mode %v", err, fi.Mode().Perm())
	}
}

func TestOptions(t *testing.T) {
	o := Options{
		"mode":  {Doc: "d", Default: "on", Check: OneOf("on", "off")},
		"count": {Doc: "d", Default: "3", Check: IntRange(1, 5)},
	}
	got, errs := o.Parse(map[string]string{"mode": "off", "count": "9", "colour": "red"})
	if got["mode"] != "off" || got["count"] != "3" {
		t.Errorf("values %v", got)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "engine.options.colour: unknown option (known: count, mode)") ||
		!strings.Contains(errs[1].Error(), `engine.options.count: "9" is not a whole number from 1 to 5`) {
		t.Errorf("errors %v", errs)
	}
}
