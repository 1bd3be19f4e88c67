package vitess

import (
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

func engineSpec(opts map[string]string) engines.Spec { return engines.Spec{Options: opts} }

func TestParseConfig(t *testing.T) {
	cfg, errs := parseConfig(nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if cfg.Durability != DurabilitySemiSync || cfg.Shards != 1 || cfg.TransactionMode != TxMulti || !cfg.Buffer || cfg.VTOrc.InstancePollTime != 5*time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
	want := "--instance-poll-time=5s --recovery-poll-duration=1s --wait-replicas-timeout=30s --topo-information-refresh-duration=15s --remote-operation-timeout=15s --prevent-cross-cell-failover=false --allow-emergency-reparent=true --allow-recovery=true"
	if got := strings.Join(cfg.VTOrc.args(), " "); got != want {
		t.Errorf("vtorc args:\n%s\nwant\n%s", got, want)
	}
	_, errs = parseConfig(map[string]string{"durability": "quorum", "shards": "0", "vtorc_instance_poll_time": "1", "bogus": "x"})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, w := range []string{"engine.options.bogus: unknown option", "engine.options.durability:", "engine.options.shards:", "engine.options.vtorc_instance_poll_time:"} {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q:\n%s", w, got)
		}
	}
}

func TestValidate(t *testing.T) {
	e := New(Options{})
	three := platform.Topology{Regions: []platform.Region{{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}, {Name: "b", Nodes: 1}, {Name: "c", Nodes: 1}}}}}
	kube := engines.Target{Platform: "kind", Capabilities: platform.Capabilities{Kubernetes: true}, Workers: 3, Topology: three}
	errs := e.Validate(engines.Spec{Replicas: 2, Image: "x", Version: "v23.0.0", Options: map[string]string{"clients": "all"}}, kube)
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, w := range []string{"engine.replicas: 2, but vitess-operator", `engine.version: the operator path runs Vitess v24.0.4`, "engine.options.clients: applies to the local platform"} {
		if !strings.Contains(got, w) {
			t.Errorf("kind: errors lack %q:\n%s", w, got)
		}
	}
	local := engines.Target{Platform: "local", Capabilities: platform.Capabilities{Processes: true}, Workers: 3, Topology: three}
	errs = e.Validate(engines.Spec{Replicas: 2, Image: "x", Version: "v23.0.0", Options: map[string]string{"storage": "1Gi"}}, local)
	msgs = nil
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	got = strings.Join(msgs, "\n")
	for _, w := range []string{"engine.replicas: 2", "engine.image:", `engine.version: faultline builds Vitess v24.0.4 only, not "v23.0.0"`, "engine.options.storage: applies to vitess-operator"} {
		if !strings.Contains(got, w) {
			t.Errorf("local: errors lack %q:\n%s", w, got)
		}
	}
	if errs := e.Validate(engines.Spec{}, engines.Target{Platform: "elsewhere", Workers: 3, Topology: three}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "platform:") {
		t.Errorf("a platform of neither processes nor Kubernetes: %v", errs)
	}
	// Shards that do not divide the workers, checked without any I/O.
	errs = e.Validate(engineSpec(map[string]string{"shards": "2"}), engines.Target{Platform: "local", Capabilities: platform.Capabilities{Processes: true}, Workers: 3, Topology: three})
	found := false
	for _, err := range errs {
		found = found || strings.Contains(err.Error(), "engine.options.shards: 3 worker nodes cannot be divided evenly between 2 shards")
	}
	if !found {
		t.Errorf("shards: %v", errs)
	}
}
