// Package option is an engine's table of options: each option's
// documentation, its default, and how it sets the engine's configuration,
// parsed with every problem named by its scenario field
// (engine.options.NAME) before anything starts.
package option

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Option is one engine option of configuration type C.
type Option[C any] struct {
	// Doc says what the option does, for `faultline list engines`.
	Doc string
	// Default is the value used when the option is not set, as text.
	Default string
	// Set sets the option's value v (trimmed) in c, or says what is wrong
	// with v (without the field's name: Parse adds it).
	Set func(c *C, v string) error
}

// Table is an engine's options by name.
type Table[C any] map[string]Option[C]

// Parse sets every option of opts in c, in name order, and returns every
// problem, each naming its field. An option the table does not hold is a
// problem, naming the known ones.
func (t Table[C]) Parse(c *C, opts map[string]string) []error {
	var errs []error
	for _, k := range sortedKeys(opts) {
		o, ok := t[k]
		if !ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: unknown option (known: %s)", k, strings.Join(t.Names(), ", ")))
			continue
		}
		if err := o.Set(c, strings.TrimSpace(opts[k])); err != nil {
			errs = append(errs, fmt.Errorf("engine.options.%s: %w", k, err))
		}
	}
	return errs
}

// Docs are the options as engines.Defaults.Options lists them: each
// name's documentation and default.
func (t Table[C]) Docs() map[string]string {
	out := make(map[string]string, len(t))
	for name, o := range t {
		out[name] = o.Doc + " (default " + o.Default + ")"
	}
	return out
}

// Names are the options' names, sorted.
func (t Table[C]) Names() []string { return sortedKeys(t) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OneOf says what is wrong with v when it is not one of allowed.
func OneOf(v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// Bool parses true or false (as strconv.ParseBool does).
func Bool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}
