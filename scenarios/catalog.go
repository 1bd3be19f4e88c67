package scenarios

import (
	"embed"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// The built-in catalog: every scenario file in this folder.
//
//go:embed *.yaml
var catalog embed.FS

// Entry is a built-in scenario.
type Entry struct {
	Name        string
	Description string
}

// Catalog lists the built-in scenarios, sorted by name.
func Catalog() ([]Entry, error) {
	files, err := catalog.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range files {
		data, err := catalog.ReadFile(f.Name())
		if err != nil {
			return nil, err
		}
		s, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("built-in scenario %s: %w", f.Name(), err)
		}
		out = append(out, Entry{Name: strings.TrimSuffix(f.Name(), ".yaml"), Description: s.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Resolve reads a scenario from a file, or from the built-in catalog when
// no such file exists and the argument names a built-in scenario
// ("quickstart").
func Resolve(arg string) (*Scenario, error) {
	data, err := os.ReadFile(arg)
	if err == nil {
		return Parse(data)
	}
	if !os.IsNotExist(err) {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	name := strings.TrimSuffix(path.Base(arg), ".yaml")
	if data, berr := catalog.ReadFile(name + ".yaml"); berr == nil && !strings.ContainsAny(arg, "/\\") {
		return Parse(data)
	}
	entries, _ := Catalog()
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name)
	}
	return nil, fmt.Errorf("no scenario file %q, and no built-in scenario of that name (built-in: %s)", excerpt.Value(arg), strings.Join(names, ", "))
}
