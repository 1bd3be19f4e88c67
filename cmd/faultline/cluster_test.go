package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform/kind"
)

func TestClusterCmd(t *testing.T) {
	cmd := newClusterCmd()
	var names []string
	for _, c := range cmd.Commands() {
		names = append(names, c.Name())
	}
	if !reflect.DeepEqual(names, []string{"down", "up"}) {
		t.Errorf("subcommands = %v", names)
	}
	up, _, err := cmd.Find([]string{"up"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config", "node-image", "load-image", "name", "docker-host"} {
		if up.Flag(f) == nil {
			t.Errorf("cluster up has no --%s", f)
		}
	}
}

func TestClusterConfig(t *testing.T) {
	def, err := clusterConfig("")
	if err != nil {
		t.Fatal(err)
	}
	file, err := clusterConfig(filepath.Join("..", "..", "kind-configs", "three-zones.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(def, file) {
		t.Error("the default configuration differs from kind-configs/three-zones.yaml")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}, {role: worker}]\n"), 0o644)
	if _, err := clusterConfig(bad); err == nil || !strings.Contains(err.Error(), kind.LabelZone) {
		t.Errorf("a configuration whose worker has no zone: %v, want an error naming %s", err, kind.LabelZone)
	}
	if _, err := clusterConfig("/nonexistent.yaml"); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing file: %v", err)
	}
}
