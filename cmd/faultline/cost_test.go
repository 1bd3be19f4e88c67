package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/cost"
)

// runCostCmd runs `faultline cost ARGS` and returns the exit code main
// would give, and what was printed.
func runCostCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := newRootCmd()
	if c, _, err := root.Find([]string{"cost"}); err != nil || c == root {
		root.AddCommand(newCostCmd()) // until the lead lists it in commands()
	}
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"cost"}, args...))
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

// runDir writes the real etcd run of cost/testdata into a run directory.
func runDir(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../cost/testdata/etcd-local-steps.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "etcd-local-steps")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, z); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCostBadInputExitsTwoNamingTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--reference", "seed", "--target", "qsp=10000"}, []string{`--target: unknown key "qsp" (want qps, data, reads, row, egress)`}},
		{nil, []string{"--run or --reference: give one"}},
		{[]string{"--run", "x", "--reference", "seed"}, []string{"--run and --reference: give only one"}},
		{[]string{"--reference", "seed", "--cloud", "ibm", "--survive", "moon", "--commitment", "5y"},
			[]string{`--cloud: "ibm" is not one of aws, gcp, azure`, `--survive: "moon"`, `--commitment: "5y"`}},
		{[]string{"--reference", "whitepaper"}, []string{`--reference: unknown document "whitepaper" (want seed)`}},
		{[]string{"--run", "/nonexistent/run"}, []string{"--run: stat /nonexistent/run"}},
		{[]string{"--reference", "seed", "--offerings", "dynamodb"}, []string{`--offerings: unknown offering "dynamodb"`}},
		{[]string{"--reference", "seed", "--engine", "oracle"}, []string{`--engine: unknown engine "oracle"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCostCmd(t, tt.args...)
			if code != exitInput {
				t.Errorf("exit code %d, want %d", code, exitInput)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func TestCostOfARun(t *testing.T) {
	dir := runDir(t)
	code, out, stderr := runCostCmd(t, "--run", dir, "--target", "qps=10000,data=100GiB", "--cloud", "aws", "--region", "us-east-1", "--survive", "zone", "--samples", "50")
	if code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"etcd StatefulSet on Kubernetes (EKS)", "P10", "PER 1K OPS/S", "price: aws/ec2/", "uses: CPU", "extrapolated"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = runCostCmd(t, "--run", filepath.Join(dir, "history.jsonl"), "--json", "--engine", "postgres", "--cloud", "gcp", "--samples", "20")
	if code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var est cost.Estimate
	if err := json.Unmarshal([]byte(out), &est); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	ids := map[string]bool{}
	for _, o := range est.Offerings {
		ids[o.ID] = true
	}
	for _, want := range []string{"self-hosted", "cloudsql-postgres", "alloydb", "cockroachdb-basic"} {
		if !ids[want] {
			t.Errorf("JSON estimate lacks %s: %v", want, ids)
		}
	}
	if est.Run != "etcd-local-steps" || est.Cloud != "gcp" || est.Samples != 20 {
		t.Errorf("estimate header: run %q cloud %q samples %d", est.Run, est.Cloud, est.Samples)
	}
}

func TestCostReferenceSeed(t *testing.T) {
	code, out, stderr := runCostCmd(t, "--reference", "seed")
	if code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"≈ $3,800", "RDS PostgreSQL Multi-AZ", "Differences over 20%", "10K RU/s is 26.3 billion RUs a month"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCostCatalog(t *testing.T) {
	root := newRootCmd()
	root.AddCommand(newCostCmd())
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"cost", "catalog", "--provider", "neon"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "neon/scale/compute") || strings.Contains(out.String(), "aws/ec2") {
		t.Errorf("catalog for neon:\n%s", out.String())
	}
	cat, err := cost.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if err := writeCatalog(&o, &e, cat, cat.All(), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.String(), "older than a year") || !strings.Contains(e.String(), "aws/ebs/gp3 (2024-07)") {
		t.Errorf("no staleness warning:\n%s", e.String())
	}
	if strings.Contains(e.String(), "neon/storage") {
		t.Errorf("a price of this month is called stale:\n%s", e.String())
	}
}
