package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs `faultline ARGS` and returns the exit code main would give
// and what was printed.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code = exitPass
	if err != nil {
		var ee *exitError
		code = exitInput
		if errors.As(err, &ee) {
			code = ee.code
		}
		errb.WriteString(err.Error())
	}
	return code, out.String(), errb.String()
}

// Bad matrix input exits 2 naming the field, before anything starts.
func TestMatrixBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: m\ntopology: {regions: [{name: r, zones: [{name: a}]}]}\nengines: [{name: etcd, options: {colour: blue}}]\nworkloads: [{kind: register, duration: 10s}]\nfaults: [{kind: none}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"matrix", bad, "--out", out}, "line 3: engines[0].options.colour: unknown option"},
		{[]string{"matrix", bad, "--engines", "etcd"}, "--engines: a matrix file lists its own engines"},
		{[]string{"matrix", bad, "--duration", "5s"}, "--duration: a matrix file sets each workload's duration"},
		{[]string{"matrix", "../../scenarios/quickstart.yaml", "--resume", out}, "--resume: only a matrix file can be resumed"},
		{[]string{"report", out, "--requirements", bad}, "--requirements, --baseline and --fail-on-regression apply to a matrix run's directory only"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, tt.args...)
		if code != exitInput || !strings.Contains(stderr, tt.want) {
			t.Errorf("faultline %s: exit %d, %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("bad input created %s", out)
	}
}
