package etcd

import (
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		spec     engines.Spec
		platform string
		workers  int
		want     []string // substrings, one per expected error, in order
	}{
		{name: "defaults", spec: engines.Spec{}, platform: "local", workers: 5},
		{name: "every option", platform: "local", workers: 3, spec: engines.Spec{Replicas: 3, Version: "v3.7.3", Options: map[string]string{
			"snapshot-count": "500", "heartbeat-interval": "50ms", "election-timeout": "1s",
			"quota-backend-bytes": "512MiB", "unsafe-no-fsync": "true", "pre-vote": "false", "log-level": "warn",
		}}},
		{name: "unknown option", platform: "local", workers: 3, spec: engines.Spec{Options: map[string]string{"foo": "1"}},
			want: []string{"engine.options.foo: unknown option (known: deploy, election-timeout, heartbeat-interval, log-level, operator-source, pre-vote, quota-backend-bytes, snapshot-count, unsafe-no-fsync)"}},
		{name: "bad values, every one reported", platform: "local", workers: 3, spec: engines.Spec{Options: map[string]string{
			"snapshot-count": "-1", "election-timeout": "soon", "quota-backend-bytes": "2TB", "unsafe-no-fsync": "maybe",
		}}, want: []string{
			`engine.options.election-timeout: "soon" is not a duration`,
			`engine.options.quota-backend-bytes: "2TB" is not a positive size`,
			`engine.options.snapshot-count: "-1" is not a positive integer`,
			`engine.options.unsafe-no-fsync: "maybe" is not true or false`,
		}},
		{name: "election too short for heartbeat", platform: "local", workers: 3, spec: engines.Spec{Options: map[string]string{"heartbeat-interval": "200ms", "election-timeout": "500ms"}},
			want: []string{"engine.options.election-timeout: 500ms must be at least 5 × heartbeat-interval (200ms)"}},
		{name: "sub-millisecond", platform: "local", workers: 3, spec: engines.Spec{Options: map[string]string{"heartbeat-interval": "500us"}},
			want: []string{"engine.options.heartbeat-interval: 500µs is not a positive whole number of milliseconds"}},
		{name: "too many replicas", platform: "local", workers: 3, spec: engines.Spec{Replicas: 5},
			want: []string{"engine.replicas: 5 members but the topology has 3 worker nodes"}},
		{name: "negative replicas", platform: "local", workers: 3, spec: engines.Spec{Replicas: -1},
			want: []string{"engine.replicas: -1 must not be negative"}},
		{name: "other version on local", platform: "local", workers: 3, spec: engines.Spec{Version: "3.5.0", Image: "etcd:3.5"},
			want: []string{`engine.version: platform local runs the etcd built into faultline (v3.7.3), not "3.5.0"`, "engine.image: platform local runs etcd as a process; an image applies to Kubernetes platforms"}},
		{name: "other version on kind", platform: "kind", workers: 3, spec: engines.Spec{Version: "v3.5.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := New().Validate(tt.spec, target(tt.platform, tt.workers))
			if len(errs) != len(tt.want) {
				t.Fatalf("Validate = %v, want %d errors", errs, len(tt.want))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, err, tt.want[i])
				}
			}
		})
	}
}

func TestOptionsReachTheAgent(t *testing.T) {
	c, errs := parseOptions(map[string]string{"snapshot-count": "500", "heartbeat-interval": "50ms", "election-timeout": "2s", "quota-backend-bytes": "1GiB", "unsafe-no-fsync": "true", "pre-vote": "false"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	args := append([]string{"--name=n1", "--data-dir=" + t.TempDir(), "--listen-client-urls=http://127.0.0.1:1", "--advertise-client-urls=http://127.0.0.1:1",
		"--listen-peer-urls=http://127.0.0.1:2", "--initial-advertise-peer-urls=http://127.0.0.1:2", "--initial-cluster=n1=http://127.0.0.1:2"}, c.args()...)
	cfg, err := agentConfig(args)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SnapshotCount != 500 || cfg.TickMs != 50 || cfg.ElectionMs != 2000 || cfg.QuotaBackendBytes != 1<<30 || !cfg.UnsafeNoFsync || cfg.PreVote {
		t.Errorf("agent config = snapshot %d tick %d election %d quota %d nofsync %v prevote %v", cfg.SnapshotCount, cfg.TickMs, cfg.ElectionMs, cfg.QuotaBackendBytes, cfg.UnsafeNoFsync, cfg.PreVote)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("etcd rejects the config: %v", err)
	}
	if d := defaultConfig(); d.ElectionTimeout != time.Second || d.HeartbeatInterval != 100*time.Millisecond {
		t.Errorf("defaults drifted from etcd's: %+v", d)
	}
}

func TestEveryOptionDocumented(t *testing.T) {
	for name, doc := range New().Options() {
		if !strings.Contains(doc, "(default ") || len(doc) < 40 {
			t.Errorf("option %s: thin documentation %q", name, doc)
		}
	}
}

func TestSpreadOverZones(t *testing.T) {
	nodes := threeZones(2).Layout() // n1 n2 in a, n3 n4 in b, n5 n6 in c
	tests := []struct {
		n    int
		want string
	}{
		{1, "n1"},
		{3, "n1 n3 n5"},
		{4, "n1 n2 n3 n5"},
		{6, "n1 n2 n3 n4 n5 n6"},
	}
	for _, tt := range tests {
		var got []string
		for _, n := range spreadOverZones(nodes, tt.n) {
			got = append(got, n.Name)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("spread %d = %v, want %s", tt.n, got, tt.want)
		}
	}
}

// target is where a test validates a spec: the named platform's
// capabilities, as its package states them.
func target(platformName string, workers int) engines.Target {
	caps := map[string]platform.Capabilities{
		"local": {Processes: true, NodeControl: true, Network: true},
		"kind":  {Kubernetes: true, NodeControl: true, Network: true},
	}
	return engines.Target{Platform: platformName, Workers: workers, Capabilities: caps[platformName]}
}
