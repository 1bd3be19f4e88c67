// Package gomod finds Go modules in the local module cache, where
// faultline reads what a pinned module carries offline (Helm charts,
// release manifests, SQL files) without linking or copying it.
package gomod

import (
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
)

// Cache is the module cache: $GOMODCACHE, else the first $GOPATH entry's
// pkg/mod, else ~/go/pkg/mod, as the go command resolves it.
func Cache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	return filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
}

// Dir is the directory of module path at version in the cache, whether or
// not it has been downloaded. Upper-case letters are escaped as the go
// command stores them (github.com/Foo → github.com/!foo).
func Dir(path, version string) string {
	p, err := module.EscapePath(path)
	if err != nil {
		p = path
	}
	v, err := module.EscapeVersion(version)
	if err != nil {
		v = version
	}
	return filepath.Join(Cache(), filepath.FromSlash(p)+"@"+v)
}

// Label names a module version for messages: "Go module PATH@VERSION".
func Label(path, version string) string {
	return "Go module " + path + "@" + version
}
