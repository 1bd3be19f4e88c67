package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/scenarios"
)

func TestConfigValue(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"built in", "CONFIG_A=y\nCONFIG_NET_SCH_NETEM=y\n", "y"},
		{"module", "CONFIG_NET_SCH_NETEM=m\n", "m"},
		{"not set", "# CONFIG_NET_SCH_NETEM is not set\n", "n"},
		{"absent", "CONFIG_NET_SCH_TBF=y\n", "n"},
		{"prefix of another option", "CONFIG_NET_SCH_NETEM_X=y\n", "n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configValue(strings.NewReader(tt.config), "CONFIG_NET_SCH_NETEM"); got != tt.want {
				t.Errorf("configValue = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadCapBnd(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("Name:\tx\nCapBnd:\t000001fffeffffff\n"), 0o644)
	n, err := readCapBnd(good)
	if err != nil || n != 0x000001fffeffffff {
		t.Fatalf("readCapBnd = %x, %v", n, err)
	}
	if n&(1<<24) != 0 {
		t.Error("bit 24 (CAP_SYS_RESOURCE) should be clear in this set")
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("Name:\tx\n"), 0o644)
	if _, err := readCapBnd(bad); err == nil {
		t.Error("a status without CapBnd must be an error")
	}
}

// refusing is a platform that cannot partition.
type refusing struct{}

func (refusing) Name() string { return "fake" }
func (refusing) Create(context.Context, platform.Topology) (platform.Cluster, error) {
	return nil, errors.New("not here")
}
func (refusing) Capabilities() platform.Capabilities {
	return platform.Capabilities{NodeControl: true, Network: true}
}
func (refusing) CanInject(kind string) error {
	if kind == faults.KindPartition {
		return errors.New("needs root")
	}
	return nil
}

// needy is an engine whose server is not installed.
type needy struct{}

func (needy) Name() string     { return "needy" }
func (needy) Protocol() string { return "x" }
func (needy) Deploy(context.Context, platform.Cluster, engines.Spec) error {
	return nil
}
func (needy) WaitReady(context.Context, platform.Cluster) error { return nil }
func (needy) Endpoints(context.Context, platform.Cluster) ([]engines.Endpoint, error) {
	return nil, nil
}
func (needy) Validate(engines.Spec, engines.Target) []error {
	return []error{&engines.NotInstalledError{Program: "needyd"}}
}

func TestDiagnose(t *testing.T) {
	h := host{
		uid:      1000,
		capBnd:   0x000001fffeffffff,
		netem:    "n",
		inotify:  128,
		lookPath: func(p string) (string, error) { return "", errors.New("no") },
	}
	env := scenarios.Env{Platforms: []platform.Platform{refusing{}}, Engines: engines.Set{needy{}}}
	got := map[string]finding{}
	for _, f := range diagnose(context.Background(), env, h) {
		got[f.area+"/"+f.item] = f
	}
	want := map[string]bool{
		"host/root":               false,
		"host/CAP_NET_ADMIN":      true,
		"host/CAP_SYS_RESOURCE":   false,
		"host/iptables":           false,
		"host/sch_netem":          false,
		"platform fake/partition": false,
		"platform fake/kill":      true,
		"engine/needy":            false,
	}
	for k, ok := range want {
		f, found := got[k]
		if !found {
			t.Errorf("no finding %s", k)
			continue
		}
		if f.ok != ok {
			t.Errorf("%s ok = %v, want %v (%s)", k, f.ok, ok, f.detail)
		}
	}
	if d := got["platform fake/partition"].detail; d != "needs root" {
		t.Errorf("partition detail = %q, want the platform's reason", d)
	}
}
