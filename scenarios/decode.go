package scenarios

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// FieldError is one problem with a scenario, located by its field path
// (workload.rate, faults[1].target) and the line it is on.
type FieldError struct {
	Path string
	Line int
	Msg  string
	// Err is the error the problem was made from, if another package
	// reported it (an engine's validation): errors.As finds its type
	// (engines.NotInstalledError) through Unwrap.
	Err error
}

// Unwrap returns the error the problem was made from, or nil.
func (e FieldError) Unwrap() error { return e.Err }

// Error implements error.
func (e FieldError) Error() string {
	path := e.Path
	if path == "" && e.Line > 0 {
		path = "the document root"
	}
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s: %s", e.Line, path, e.Msg)
	case path == "":
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", path, e.Msg)
}

// Errors is every problem found in a scenario, in file order.
type Errors []FieldError

// maxListed is how many problems Errors.Error lists before it only counts
// the rest, so that a message stays readable whatever the input.
const maxListed = 40

// Error lists every problem, one per line (the first maxListed, then how
// many more).
func (es Errors) Error() string { return es.List("scenario") }

// List is Error for a document of another kind: "N problem(s) in the
// WHAT:", then every problem, one per line (the first maxListed, then how
// many more).
func (es Errors) List(what string) string {
	lines := make([]string, 0, min(len(es), maxListed)+2)
	lines = append(lines, fmt.Sprintf("%d problem(s) in the %s:", len(es), what))
	for i, e := range es {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("  … and %d more", len(es)-maxListed))
			break
		}
		lines = append(lines, "  "+e.Error())
	}
	return strings.Join(lines, "\n")
}

// decoder maps a YAML node tree onto Go values strictly: unknown fields,
// wrong types and duplicate keys are errors, and it records the line of
// every field path so that later validation can point at it.
type decoder struct {
	errs  Errors
	lines map[string]int
}

func (d *decoder) errorf(path string, n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode sets v (addressable) from n. path names v for error messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value: the field's default
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.Type() != durationType && v.Addr().Type().Implements(textType) {
		if n.Kind != yaml.ScalarNode {
			d.errorf(path, n, "want a string, got a %s", kindName(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.errorf(path, n, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(path, n, "want a list, got a %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n, "want a mapping, got a %s", kindName(n))
		return
	}
	fields := map[string][]int{}
	var names []string
	structFields(v.Type(), nil, fields, &names)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, fmt.Sprintf("%s", excerpt.Value(k.Value)))
		if seen[k.Value] {
			d.errorf(p, k, "set twice")
			continue
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			d.errorf(p, k, "unknown field%s (known: %s)", suggest(k.Value, names), strings.Join(names, ", "))
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.FieldByIndex(idx), p)
		d.lines[p] = k.Line
	}
}

// structFields maps each YAML field name of struct type t to its field
// index, in declaration order; the fields of a struct field tagged
// `yaml:",inline"` count as t's own.
func structFields(t reflect.Type, prefix []int, fields map[string][]int, names *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, flags, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		idx := append(slices.Clone(prefix), i)
		if name == "" && flags == "inline" && f.Type.Kind() == reflect.Struct && f.IsExported() {
			structFields(f.Type, idx, fields, names)
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = idx
		*names = append(*names, name)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n, "want a mapping, got a %s", kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.errorf(path, n, "unsupported map key type %s", v.Type().Key())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, fmt.Sprintf("%s", excerpt.Value(k.Value)))
		if m.MapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key())).IsValid() {
			d.errorf(p, k, "set twice")
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, p)
		d.lines[p] = k.Line
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(path, n, "want a %s, got a %s", typeName(v.Type()), kindName(n))
		return
	}
	s := n.Value
	switch {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(path, n, "want a duration such as 30s or 1m30s, got %q", excerpt.Value(s))
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil || n.Tag != "!!bool" {
			d.errorf(path, n, "want true or false, got %q", excerpt.Value(s))
			return
		}
		v.SetBool(b)
	case v.CanInt():
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(path, n, "want a whole number, got %q", excerpt.Value(s))
			return
		}
		v.SetInt(i)
	case v.CanFloat():
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(path, n, "want a number, got %q", excerpt.Value(s))
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(path, n, "unsupported field type %s", v.Type())
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar %q", excerpt.Value(n.Value))
	}
	return "node"
}

func typeName(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	}
	return t.String()
}

// suggest returns " (did you mean X?)" for the known name closest to a
// misspelt one, or "".
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dd := distance(got, k); dd < bestD {
			best, bestD = k, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", excerpt.Value(best))
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortErrors orders problems by line, then path.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Path < es[j].Path
	})
}
