package dockerd

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
)

// noResource is this machine's bounding set: every capability up to
// CAP_CHECKPOINT_RESTORE (40) except CAP_SYS_RESOURCE (24).
const noResource CapSet = 0x1fffeffffff

func TestParseCapBnd(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		want         CapSet
		wantErr      bool
	}{
		{"this machine", "Name:\tx\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n", noResource, false},
		{"full", "CapBnd:\t000001ffffffffff\n", 0x1ffffffffff, false},
		{"missing", "Name:\tx\n", 0, true},
		{"garbage", "CapBnd:\tzz\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCapBnd(tc.status)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseCapBnd = %#x, %v; want %#x, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	if got := noResource.Missing(40); !reflect.DeepEqual(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("Missing = %v", got)
	}
	if got := CapSet(0x1ffffffffff).Missing(40); len(got) != 0 {
		t.Fatalf("Missing of a full set = %v", got)
	}
}

func TestFilterCaps(t *testing.T) {
	spec := `{"ociVersion":"1.0.2","process":{"args":["/sbin/init"],"capabilities":{` +
		`"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE","CAP_SYS_ADMIN"],` +
		`"effective":["CAP_SYS_RESOURCE","CAP_SYS_ADMIN"],` +
		`"permitted":["CAP_SYS_ADMIN","CAP_FUTURE_THING"]}},"root":{"path":"rootfs"}}`
	out, changed, err := FilterCaps([]byte(spec), false, noResource)
	if err != nil || !changed {
		t.Fatalf("FilterCaps: changed %v, err %v", changed, err)
	}
	var got struct {
		OCIVersion string `json:"ociVersion"`
		Process    struct {
			Args         []string            `json:"args"`
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
		Root struct{ Path string } `json:"root"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"bounding":  {"CAP_CHOWN", "CAP_SYS_ADMIN"},
		"effective": {"CAP_SYS_ADMIN"},
		"permitted": {"CAP_SYS_ADMIN", "CAP_FUTURE_THING"},
	}
	if !reflect.DeepEqual(got.Process.Capabilities, want) {
		t.Errorf("capabilities = %v, want %v", got.Process.Capabilities, want)
	}
	if got.OCIVersion != "1.0.2" || got.Root.Path != "rootfs" || len(got.Process.Args) != 1 {
		t.Errorf("other fields changed: %s", out)
	}

	// A process file (runc exec --process) is a bare process object.
	proc := `{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}`
	out, changed, err = FilterCaps([]byte(proc), true, noResource)
	if err != nil || !changed {
		t.Fatalf("FilterCaps process: changed %v, err %v", changed, err)
	}
	var p struct{ Capabilities map[string][]string }
	if err := json.Unmarshal(out, &p); err != nil || !reflect.DeepEqual(p.Capabilities["bounding"], []string{"CAP_KILL"}) {
		t.Errorf("process = %s (%v)", out, err)
	}

	// Nothing to remove: the document is returned byte for byte.
	same := `{"process": {"capabilities": {"bounding": ["CAP_KILL"]}}}`
	out, changed, err = FilterCaps([]byte(same), false, noResource)
	if err != nil || changed || string(out) != same {
		t.Errorf("unchanged spec: %s, %v, %v", out, changed, err)
	}
	if _, _, err := FilterCaps([]byte(`{"process": 3}`), false, noResource); err == nil {
		t.Error("a malformed process object was accepted")
	}
}

func TestParseRunc(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want runcCall
	}{
		{"create", []string{"--root", "/run/x", "--log", "/l.json", "--log-format", "json", "create", "--bundle", "/b", "--pid-file", "/p", "id"},
			runcCall{sub: "create", bundle: "/b"}},
		{"create=", []string{"--systemd-cgroup", "create", "--bundle=/b", "id"}, runcCall{sub: "create", bundle: "/b"}},
		{"exec", []string{"--root", "/r", "exec", "--process", "/tmp/p.json", "--detach", "id"},
			runcCall{sub: "exec", process: "/tmp/p.json"}},
		{"state", []string{"--root", "/r", "state", "id"}, runcCall{sub: "state"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRunc(tc.args); got != tc.want {
				t.Fatalf("parseRunc = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"subnet /24", Options{Subnet: "10.9.0.0/24"}, false},
		{"subnet v6", Options{Subnet: "fd00::/16"}, false},
		{"netns path", Options{NetNS: "a/b"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.o.withDefaults(); (err == nil) != tc.ok {
				t.Fatalf("withDefaults: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	o, _ := Options{Subnet: "10.77.0.0/16"}.withDefaults()
	p := newPlan(o)
	if p.hostIP() != "10.77.255.253" || p.nsIP() != "10.77.255.254" || p.bip() != "10.77.128.1/24" || p.pool() != "10.77.0.0/17" {
		t.Fatalf("plan addresses: host %s ns %s bip %s pool %s", p.hostIP(), p.nsIP(), p.bip(), p.pool())
	}
	if p.host() != "unix:///run/faultline/dockerd/docker.sock" {
		t.Fatalf("host = %s", p.host())
	}
}

// TestShimRewritesAndExecs runs this test binary as the shim agent with a
// stand-in for runc that prints the arguments and the bundle's spec it
// receives: the spec must arrive without the capabilities this process
// cannot hold, and the arguments unchanged.
func TestShimRewritesAndExecs(t *testing.T) {
	bnd, err := BoundingSet()
	if err != nil {
		testenv.Missing(t, "proc", "no capability bounding set to read: %v", err)
	}
	dir := t.TempDir()
	spec := `{"process":{"capabilities":{"bounding":["CAP_KILL","CAP_SYS_RESOURCE"]}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	runc := filepath.Join(dir, "runc")
	script := "#!/bin/sh\necho \"$@\"\ncat \"" + filepath.Join(dir, "config.json") + "\"\n"
	if err := os.WriteFile(runc, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "--root", "/run/x", "create", "--bundle", dir, "ctr-1")
	cmd.Env = append(os.Environ(), agent.Command(ShimAgentName), realRuncEnv+"="+runc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("shim: %v: %s", err, out)
	}
	lines := strings.SplitN(string(out), "\n", 2)
	if lines[0] != "--root /run/x create --bundle "+dir+" ctr-1" {
		t.Errorf("runc got arguments %q", lines[0])
	}
	var got struct {
		Process struct{ Capabilities map[string][]string }
	}
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
		t.Fatalf("spec runc saw: %v: %s", err, lines[1])
	}
	want := []string{"CAP_KILL"}
	if bnd.Has("CAP_SYS_RESOURCE") {
		want = append(want, "CAP_SYS_RESOURCE")
	}
	if !reflect.DeepEqual(got.Process.Capabilities["bounding"], want) {
		t.Errorf("runc saw bounding %v, want %v", got.Process.Capabilities["bounding"], want)
	}
}
