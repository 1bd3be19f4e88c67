package jepsen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"olympos.io/encoding/edn"

	"github.com/faultline-dev/faultline/workload"
)

// event is one line of a Jepsen history: an invocation or a completion,
// its value in plain Go terms (see normalize).
type event struct {
	pos        int // position among the history's events, from 0
	typ        workload.Type
	f          string
	value      any
	process    int
	hasProcess bool
	nemesis    bool // the process is not a client (:nemesis)
	time       int64
	hasTime    bool
	index      int64
	hasIndex   bool
	err        string
}

// decodeEDN reads EDN values until the end: op maps, or one vector or
// list of them.
func decodeEDN(r io.Reader) ([]event, error) {
	dec := edn.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	var values []any
	for n := 0; ; n++ {
		v, err := decodeOne(dec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("edn value %d: %w", n, err)
		}
		values = append(values, normalize(v))
	}
	return events(values)
}

// decodeOne decodes one EDN value. The EDN decoder panics on some
// malformed input rather than returning an error; a history file is
// untrusted input, so the panic becomes an error here.
func decodeOne(dec *edn.Decoder) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed edn: %v", p)
		}
	}()
	err = dec.Decode(&v)
	return v, err
}

// decodeJSON reads elle-cli's JSON: op objects one after another (JSON
// lines), or one array of them.
func decodeJSON(r io.Reader) ([]event, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	dec.UseNumber()
	var values []any
	for n := 0; ; n++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("json value %d: %w", n, err)
		}
		values = append(values, normalize(v))
	}
	return events(values)
}

// normalize turns decoded EDN or JSON into a few plain types: nil, bool,
// int64, float64, string (for strings, keywords and symbols alike, a
// keyword's colon dropped), []any (vectors, lists, sets) and map[any]any
// whose keys are normalized too. Tagged values (#jepsen.history.Op{…})
// become their value.
func normalize(v any) any {
	switch x := v.(type) {
	case edn.Keyword:
		return string(x)
	case edn.Symbol:
		return string(x)
	case edn.Tag:
		return normalize(x.Value)
	case string:
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case int32: // an EDN character
		return string(rune(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(map[any]any, len(x))
		for k, e := range x {
			if p, ok := k.(*any); ok { // the decoder's stand-in for an unhashable key
				k = fmt.Sprint(normalize(*p))
			}
			out[normalize(k)] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[any]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]bool:
		out := make([]any, 0, len(x))
		for k := range x {
			out = append(out, normalize(k))
		}
		return out
	}
	return v
}

// events turns the top-level values into events: each value an op map,
// or a single vector of them.
func events(values []any) ([]event, error) {
	if len(values) == 1 {
		if list, ok := values[0].([]any); ok {
			values = list
		}
	}
	out := make([]event, 0, len(values))
	for i, v := range values {
		m, ok := v.(map[any]any)
		if !ok {
			return nil, fmt.Errorf("op %d: want a map, got %s", i, describe(v))
		}
		e, err := toEvent(m)
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
		e.pos = i
		out = append(out, e)
	}
	return out, nil
}

func toEvent(m map[any]any) (event, error) {
	var e event
	typ, _ := m["type"].(string)
	e.typ = workload.Type(strings.TrimPrefix(typ, ":"))
	if !e.typ.Valid() {
		return e, fmt.Errorf(":type %s, want :invoke, :ok, :fail or :info", describe(m["type"]))
	}
	if f, ok := m["f"]; ok {
		s, ok := f.(string)
		if !ok {
			return e, fmt.Errorf(":f %s, want a keyword", describe(f))
		}
		e.f = strings.TrimPrefix(s, ":")
	}
	e.value = m["value"]
	switch p := m["process"].(type) {
	case nil:
	case int64:
		e.process, e.hasProcess = int(p), true
	default:
		e.nemesis = true
	}
	if t, ok := m["time"]; ok {
		n, ok := t.(int64)
		if !ok {
			return e, fmt.Errorf(":time %s, want integer nanoseconds", describe(t))
		}
		e.time, e.hasTime = n, true
	}
	if i, ok := m["index"]; ok {
		n, ok := i.(int64)
		if !ok {
			return e, fmt.Errorf(":index %s, want an integer", describe(i))
		}
		e.index, e.hasIndex = n, true
	}
	if x, ok := m["error"]; ok && x != nil {
		e.err = render(x)
	}
	return e, nil
}

// describe quotes a value for an error message.
func describe(v any) string {
	if v == nil {
		return "missing or nil"
	}
	return fmt.Sprintf("%s (%T)", render(v), v)
}

// render writes a normalized value back out, EDN-like, for messages.
func render(v any) string {
	var b bytes.Buffer
	write(&b, v)
	s := b.String()
	if len(s) > 120 {
		s = s[:117] + "…"
	}
	return s
}

func write(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			write(b, e)
		}
		b.WriteByte(']')
	case string:
		b.WriteString(x)
	default:
		fmt.Fprint(b, x)
	}
}
