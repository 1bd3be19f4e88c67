// Package jepsen reads histories that Jepsen, Knossos and elle-cli write,
// so that faultline's checkers can be compared with their published
// verdicts, and writes faultline histories in Jepsen's EDN for Elle and
// Knossos to check.
//
// A Jepsen history is a sequence of operation maps:
//
//	{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0, :time 123, :index 0}
//	{:type :ok,     :f :txn, :value [[:append 1 2] [:r 1 [2]]], :process 0, :time 456, :index 1}
//
// either one per line (Jepsen's history.edn) or inside one vector or list
// (Knossos' and Elle's test data); elle-cli reads the same maps as JSON,
// keywords as strings. Invocations and completions are paired by process,
// as Jepsen pairs them; operations of the nemesis and other non-integer
// processes are left out.
package jepsen

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/workload"
)

// Format is a history file format.
type Format string

// The formats Read understands.
const (
	EDN      Format = "jepsen-edn" // Jepsen's and Knossos' EDN
	ElleJSON Format = "elle-json"  // elle-cli's JSON
)

// The models a history can be read as; Read sets History.Meta.Model to
// one of them.
const (
	ModelRegister    = "register"
	ModelCASRegister = "cas-register"
	ModelBank        = "bank"
	ModelListAppend  = "list-append"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case EDN, ElleJSON:
		return f, nil
	case "edn":
		return EDN, nil
	case "json":
		return ElleJSON, nil
	}
	return "", fmt.Errorf("unknown history format %q (want %s or %s)", excerpt.Value(s), EDN, ElleJSON)
}

// ParseModel checks a model name.
func ParseModel(s string) (string, error) {
	switch m := strings.ToLower(s); m {
	case ModelRegister, ModelCASRegister, ModelBank, ModelListAppend:
		return m, nil
	case "append":
		return ModelListAppend, nil
	}
	return "", fmt.Errorf("unknown model %q (want %s, %s, %s or %s)", excerpt.Value(s),
		ModelRegister, ModelCASRegister, ModelBank, ModelListAppend)
}

// ReadFile reads a history file (see Read).
func ReadFile(path string, format Format, model string) (*workload.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s history: %w", format, err)
	}
	defer f.Close()
	h, err := Read(f, format, model)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h, nil
}

// Read parses a history in the given format as the given model, merges
// each invocation with its completion, and returns it sorted by
// invocation, with Meta.Model set.
//
// Times are Jepsen's nanoseconds since the test began; a history without
// times gets one microsecond per event, in file order, so that real-time
// order still follows the file. Op.Index is the invocation's :index (or
// its position when there is none). Register keys are rendered in
// decimal; a single-register history's ops all get key "0". Bank accounts
// become their decimal (or keyword) names. List-append keys and values
// must be integers.
func Read(r io.Reader, format Format, model string) (*workload.History, error) {
	m, err := ParseModel(model)
	if err != nil {
		return nil, err
	}
	var events []event
	switch format {
	case EDN:
		events, err = decodeEDN(r)
	case ElleJSON:
		events, err = decodeJSON(r)
	default:
		_, err = ParseFormat(string(format))
	}
	if err != nil {
		return nil, err
	}
	h, err := assemble(events, m)
	if err != nil {
		return nil, err
	}
	h.Meta.Model = m
	h.Meta.Workload = map[string]string{
		ModelRegister: "register", ModelCASRegister: "register", ModelBank: "bank", ModelListAppend: "append",
	}[m]
	h.Meta.Options = map[string]string{"imported-from": string(format)}
	return h, nil
}
