package gomod

import (
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	for _, tc := range []struct {
		name               string
		gomodcache, gopath string
		home               string
		path, version      string
		want               string
	}{
		{name: "GOMODCACHE", gomodcache: "/mc", gopath: "/gp", path: "github.com/chaos-mesh/chaos-mesh", version: "v0.9.1",
			want: "/mc/github.com/chaos-mesh/chaos-mesh@v0.9.1"},
		{name: "first GOPATH entry", gopath: "/a" + string(filepath.ListSeparator) + "/b", path: "vitess.io/vitess", version: "v0.24.4",
			want: "/a/pkg/mod/vitess.io/vitess@v0.24.4"},
		{name: "home", home: "/h", path: "github.com/cockroachdb/helm-charts", version: "v0.0.0-20260828131910-3f65257a73c7",
			want: "/h/go/pkg/mod/github.com/cockroachdb/helm-charts@v0.0.0-20260828131910-3f65257a73c7"},
		{name: "upper case escaped", gomodcache: "/mc", path: "github.com/BurntSushi/toml", version: "v1.5.0",
			want: "/mc/github.com/!burnt!sushi/toml@v1.5.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMODCACHE", tc.gomodcache)
			t.Setenv("GOPATH", tc.gopath)
			t.Setenv("HOME", tc.home)
			if got := Dir(tc.path, tc.version); got != tc.want {
				t.Errorf("Dir(%q, %q) = %q, want %q", tc.path, tc.version, got, tc.want)
			}
		})
	}
}
