package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verdicts reads each checker's verdict from a result.json.
func verdicts(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Verdict string `json:"verdict"`
		Checks  []struct {
			Checker string `json:"checker"`
			Verdict string `json:"verdict"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{"overall": r.Verdict}
	for _, c := range r.Checks {
		out[c.Checker] = c.Verdict
	}
	return out
}

// buildBinary builds the faultline binary into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "faultline")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestRecheckOfAFreshRun runs a short real scenario with the binary, then
// `faultline check` on the run directory it wrote: both must exit 0 and
// agree on every verdict (issue: check rejected the scenario.yaml run
// had just written).
func TestRecheckOfAFreshRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three etcd members for about 10 s; skipped under -short")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "run")
	run := exec.Command(bin, "run", "testdata/recheck.yaml", "--out", dir)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("faultline run: %v\n%s", err, out)
	}
	recheck := filepath.Join(t.TempDir(), "recheck")
	check := exec.Command(bin, "check", dir, "--out", recheck)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("faultline check %s: %v\n%s", dir, err, out)
	}
	first, second := verdicts(t, filepath.Join(dir, "result.json")), verdicts(t, filepath.Join(recheck, "result.json"))
	if first["overall"] != "pass" {
		t.Errorf("the run's verdict is %s, want pass", first["overall"])
	}
	for name, v := range first {
		if second[name] != v {
			t.Errorf("checker %s: run said %s, check said %q", name, v, second[name])
		}
	}
	if len(second) != len(first) {
		t.Errorf("run had checkers %v, check had %v", first, second)
	}
}

// A flag value of megabytes is echoed in a line a person can read.
func TestHugeFlagValueGivesAShortError(t *testing.T) {
	var stderr strings.Builder
	old := os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stderr = w
	done := make(chan struct{})
	go func() { io.Copy(&stderr, r); close(done) }()
	code := run(context.Background(), []string{"run", "quickstart", "--seed", strings.Repeat("9x", 2_000_000)})
	w.Close()
	os.Stderr = old
	<-done
	if code != exitInput {
		t.Errorf("exit code %d, want %d", code, exitInput)
	}
	if n := stderr.Len(); n > 2000 || !strings.Contains(stderr.String(), "bytes)") {
		t.Errorf("error of %d bytes: %.600s", n, stderr.String())
	}
}
