// Package matrix reads an engine-selection matrix — engines (with their
// options) × faults × workloads on a platform, the target workload to
// price, and the team's requirements — expands it into cells, validates
// every cell before the first starts, and runs them, resumably.
package matrix

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
)

// File is a matrix file. Every field documents its default; decoding is
// strict (unknown fields are errors), as for scenarios.
type File struct {
	// Name identifies the matrix in reports: lower-case letters, digits
	// and dashes. Required.
	Name string `yaml:"name"`
	// Description says what the matrix is for.
	Description string `yaml:"description"`
	// Seed seeds every cell's run. Default 1.
	Seed int64 `yaml:"seed"`
	// Platform is where the cells run (local, kind, existing); an engine
	// may name its own. Default local.
	Platform string `yaml:"platform"`
	// Topology lays out every cell's cluster. Required.
	Topology scenarios.Topology `yaml:"topology"`
	// Engines are the engines under trial, each with its options: one
	// column of the report per entry. Required: at least one.
	Engines []Engine `yaml:"engines"`
	// Workloads are the loads each engine runs through each fault.
	// Required: at least one.
	Workloads []Workload `yaml:"workloads"`
	// Faults are the faults, one per cell; kind none is a baseline cell
	// with no fault. Required: at least one.
	Faults []Fault `yaml:"faults"`
	// Checks sets every cell's check budgets (see scenarios). Default:
	// none beyond the checks' own.
	Checks scenarios.Checks `yaml:"checks"`
	// Cost is the workload the team expects to run, which the report
	// prices from each engine's measured use.
	Cost Cost `yaml:"cost"`
	// Requirements are what the team needs; the report decides each for
	// each engine. Default: none (the report then ranks by cost).
	Requirements reports.Requirements `yaml:"requirements"`

	lines map[string]int
}

// Engine is one engine under trial with its settings: the engine section
// of a scenario, an id, and optionally its own platform.
type Engine struct {
	// ID names the entry in the report and in cell directories:
	// lower-case letters, digits and dashes, unique. Default the engine's
	// name (so give each entry of the same engine an id).
	ID string `yaml:"id"`
	// Platform runs this engine's cells on another platform than the
	// matrix's. Default the matrix's platform.
	Platform string `yaml:"platform"`
	// The engine section of a scenario: name (required), version, image,
	// replicas, options, images.
	scenarios.Engine `yaml:",inline"`
}

// Workload is one load: a scenario's workload section and a name.
type Workload struct {
	// Name names the workload in the report and in cell directories.
	// Default its kind.
	Name string `yaml:"name"`
	// The workload section of a scenario: kind, concurrency, rate,
	// duration, options…
	scenarios.Workload `yaml:",inline"`
}

// KindNone is the fault kind of a baseline cell: no fault.
const KindNone = "none"

// Fault is one fault, one per cell: a scenario's fault entry (its name
// names it in the report and in cell directories; default "KIND-TARGET").
type Fault = scenarios.Fault

// Cost is the target workload to price, and where.
type Cost struct {
	// QPS is the operations per second to price. Default 10000.
	QPS float64 `yaml:"qps"`
	// Data is the logical data size, with a unit (100GiB, 2TB). Default
	// 100GiB.
	Data string `yaml:"data"`
	// Cloud is aws, gcp or azure. Default aws (or the first of
	// requirements.clouds).
	Cloud string `yaml:"cloud"`
	// Region is the cloud region. Default the one the price catalog
	// holds for the cloud (us-east-1, us-central1, eastus); another is
	// priced at the catalog's rates, which the report says.
	Region string `yaml:"region"`
	// Commitment is none, 1y or 3y. Default none.
	Commitment string `yaml:"commitment"`
}

// Parse decodes a matrix file strictly and returns every decoding problem
// at once as Errors. It does not validate; Validate does.
func Parse(data []byte) (*File, error) {
	f := &File{}
	lines, errs := scenarios.DecodeStrict(data, f, "matrix")
	if len(errs) > 0 {
		return nil, Errors(errs)
	}
	f.lines = lines
	return f, nil
}

// Load reads and parses a matrix file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	return Parse(data)
}

// IsMatrix reports whether data looks like a matrix file rather than a
// scenario: a YAML mapping with an engines field.
func IsMatrix(data []byte) bool {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil || len(root.Content) == 0 {
		return false
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "engines" {
			return true
		}
	}
	return false
}

// Line returns the line of a field path, or of its nearest parent the
// file set, or 0.
func (f *File) Line(path string) int {
	for p := path; p != ""; {
		if l := f.lines[p]; l > 0 {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// FieldError is one problem with a matrix, located by its field path
// (engines[1].options.synchronous, faults[0].target) and line.
type FieldError = scenarios.FieldError

// Errors is every problem found in a matrix, in file order.
type Errors []FieldError

// Error lists every problem, one per line.
func (es Errors) Error() string { return scenarios.Errors(es).List("matrix") }
