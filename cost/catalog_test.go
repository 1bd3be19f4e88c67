package cost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuiltinCatalogCoversTheIssue(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// What the issue asks the catalog to cover, by the ids the model uses.
	for _, id := range []string{
		"aws/ebs/gp3", "aws/ebs/gp3-iops", "aws/ebs/gp3-throughput", "gcp/pd/balanced", "azure/disk/premium-ssd-v2",
		"azure/disk/premium-ssd-v2-iops", "azure/disk/premium-ssd-v2-throughput",
		"aws/transfer/inter-az", "aws/transfer/inter-region", "gcp/transfer/inter-zone", "gcp/transfer/inter-region",
		"azure/transfer/inter-az", "azure/transfer/inter-region",
		"aws/s3/standard", "gcp/gcs/standard", "azure/blob/hot-lrs",
		"aws/eks/control-plane", "gcp/gke/cluster-fee", "azure/aks/standard-tier",
		"aws/rds/multi-az", "aws/aurora/storage", "aws/aurora/io", "aws/aurora/storage-io-optimized", "aws/aurora/io-optimized-uplift",
		"gcp/cloudsql/ha-vcpu", "gcp/alloydb/vcpu", "azure/postgres-flexible/GP_Standard_D4s_v3",
		"cockroach/basic/request-units", "cockroach/standard/vcpu", "cockroach/advanced/node-8vcpu",
		"neon/scale/compute", "neon/storage", "planetscale/postgres/ps-10-ha", "planetscale/vitess/ps-10",
	} {
		if _, ok := c.Get(id); !ok {
			t.Errorf("catalog lacks %s", id)
		}
	}
	// Compute: general-purpose and memory-optimised, ARM and x86, 4 and
	// 8 vCPU, on each cloud.
	for _, prefix := range []string{"aws/ec2", "gcp/gce", "azure/vm"} {
		have := map[string]bool{}
		for _, p := range instances(c, prefix) {
			have[p.Attrs.Class+"/"+p.Attrs.Arch+"/"+trimFloat(p.Attrs.VCPU)] = true
		}
		for _, class := range []string{"general", "memory"} {
			for _, arch := range []string{"x86_64", "arm64"} {
				for _, v := range []string{"4", "8"} {
					if prefix == "gcp/gce" && class == "memory" && arch == "arm64" {
						continue // GCP has no memory-optimised Arm type (T2A is general-purpose only)
					}
					if !have[class+"/"+arch+"/"+v] {
						t.Errorf("%s: no %s %s instance with %s vCPU", prefix, class, arch, v)
					}
				}
			}
		}
	}
	for _, p := range c.All() {
		if p.Source == "" || p.Effective == "" || p.Confidence == "" {
			t.Errorf("%s lacks a source, date or confidence", p.ID)
		}
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOverridesAndAdds(t *testing.T) {
	f := writeFile(t, "mine.yaml", `version: 1
prices:
- id: aws/ec2/m6i.xlarge
  provider: aws
  service: ec2
  sku: m6i.xlarge
  region: us-east-1
  unit: hour
  price: 0.15
  purchase: on-demand
  effective: 2026-11-01
  source: "our negotiated rate"
  confidence: vendor-doc
  attrs: {vcpu: 4, memory_gib: 16, arch: x86_64, class: general}
- id: aws/ec2/c7g.xlarge
  provider: aws
  service: ec2
  sku: c7g.xlarge
  region: us-east-1
  unit: hour
  price: 0.145
  purchase: on-demand
  effective: 2026-11-01
  source: "our price sheet"
  confidence: vendor-doc
  attrs: {vcpu: 4, memory_gib: 8, arch: arm64, class: compute}
`)
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Get("aws/ec2/m6i.xlarge"); p.Price != 0.15 || p.Source != "our negotiated rate" {
		t.Errorf("override not applied: %+v", p)
	}
	if _, ok := c.Get("aws/ec2/c7g.xlarge"); !ok {
		t.Error("addition not loaded")
	}
	if got := c.Sources; len(got) != 2 || got[0] != "built-in" || got[1] != f {
		t.Errorf("sources = %v", got)
	}
}

func TestLoadRejectsBadCatalogs(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "version: 1\nprices:\n- id: x\n  cost: 3\n", []string{"field cost not found"}},
		{"wrong version", "version: 2\nprices: []\n", []string{"version 2, want 1"}},
		{"every problem at once", `version: 1
prices:
- id: a
  provider: aws
  service: ec2
  sku: x
  region: r
  unit: hour
  price: -1
  purchase: on-demand
  effective: last year
  source: s
  confidence: sure
- id: b
  provider: aws
  service: ec2
  sku: y
  region: r
  unit: hour
  price: 1
  purchase: on-demand
  effective: 2026-01
  source: "twice the other one"
  confidence: derived
`, []string{"prices[0] (a): price: -1 is negative", "prices[0] (a): effective: effective \"last year\"",
			"prices[0] (a): confidence: \"sure\" is not one of", "prices[1] (b): source: a derived price must say"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "bad.yaml", tt.body))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestStale(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	stale := c.Stale(now, 365*24*time.Hour)
	ids := map[string]bool{}
	for _, p := range stale {
		ids[p.ID] = true
	}
	if !ids["aws/ebs/gp3"] { // 2024-07
		t.Error("a 2024-07 price is not stale in 2026-11")
	}
	if ids["neon/storage"] { // 2026-11-12
		t.Error("a price from this month is stale")
	}
}
