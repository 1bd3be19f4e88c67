package scenarios

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Marshal writes the scenario as YAML that Parse reads back to an equal
// scenario: the inverse of the strict decoder. Fields at their zero value
// are left out (a zero value is the field's default, so leaving it out
// means the same), durations are written as 30s rather than nanoseconds,
// and a check or section that is set but empty is kept as {} so that it
// stays set. It is what `run` writes into a run directory's scenario.yaml
// for `faultline check` to read.
func (s *Scenario) Marshal() ([]byte, error) {
	n, err := encodeValue(reflect.ValueOf(s).Elem())
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if n == nil {
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return out, nil
}

// encodeValue returns v's node, or nil when v is a zero value to leave out.
func encodeValue(v reflect.Value) (*yaml.Node, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		n, err := encodeValue(v.Elem())
		if n == nil && err == nil {
			// Set but empty (or false, or 0): keep it set.
			n = zeroNode(v.Elem())
		}
		return n, err
	}
	if v.IsZero() {
		return nil, nil
	}
	if v.Type() == durationType {
		return scalar("!!str", time.Duration(v.Int()).String()), nil
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err != nil {
			return nil, err
		}
		return scalar("!!str", string(b)), nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return encodeStruct(v)
	case reflect.Map:
		return encodeMap(v)
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := 0; i < v.Len(); i++ {
			c, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			if c == nil {
				c = zeroNode(v.Index(i))
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case reflect.String:
		return scalar("!!str", v.String()), nil
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar("", strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return scalar("", strconv.FormatFloat(v.Float(), 'g', -1, 64)), nil
	}
	return nil, fmt.Errorf("cannot write a %s", v.Type())
}

// zeroNode is the node of a zero value that cannot be left out: an
// element of a list or map, or what a pointer that is set points to.
func zeroNode(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == durationType:
		return scalar("!!str", "0s")
	case v.Kind() == reflect.Struct, v.Kind() == reflect.Map:
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
	case v.Kind() == reflect.Slice:
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	case v.Kind() == reflect.String:
		return scalar("!!str", "")
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", "false")
	}
	return scalar("", "0")
}

func encodeStruct(v reflect.Value) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		c, err := encodeValue(v.Field(i))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if c != nil {
			n.Content = append(n.Content, scalar("!!str", name), c)
		}
	}
	if len(n.Content) == 0 {
		return nil, nil
	}
	return n, nil
}

func encodeMap(v reflect.Value) (*yaml.Node, error) {
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range keys {
		e := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
		c, err := encodeValue(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if c == nil {
			c = zeroNode(e)
		}
		n.Content = append(n.Content, scalar("!!str", k), c)
	}
	return n, nil
}

// yamlName is the field's name in scenarios, or "" for a field that is
// not written.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
