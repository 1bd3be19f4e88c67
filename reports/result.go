package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/workload"
)

// Format names result.json's format. Readers accept any minor revision of
// the major version they know: fields are only ever added within one.
const Format = "faultline.result/v1"

// The names of the files Write puts in a run directory.
const (
	ResultFile  = "result.json"
	HTMLFile    = "report.html"
	SummaryFile = "summary.md"
	JUnitFile   = "junit.xml"
)

// Report is the content of result.json: everything a run found, in a
// stable format documented in docs/result-format.md. Times on the run's
// timeline are seconds from its start.
type Report struct {
	Format string  `json:"format"`
	Run    RunInfo `json:"run"`
	// Start is the wall-clock time of the run's offset zero.
	Start time.Time `json:"start"`
	// DurationSeconds runs from the start to the last thing recorded.
	DurationSeconds float64 `json:"duration_seconds"`
	// Verdict merges every check's verdict: fail beats unknown beats pass.
	Verdict check.Verdict `json:"verdict"`
	// ExitCode is what faultline exits with for this run; ExitMeaning
	// says why in words.
	ExitCode    int    `json:"exit_code"`
	ExitMeaning string `json:"exit_meaning"`
	// InfraError is set when the infrastructure failed during the run.
	InfraError string         `json:"infra_error,omitempty"`
	Checks     []check.Result `json:"checks"`
	// Faults is one row per injected fault, merging every checker's
	// figures for it.
	Faults []FaultRow `json:"faults"`
	// Stats are the whole-run figures of the stats checker (see
	// check.Stats).
	Stats         map[string]float64 `json:"stats"`
	Resources     []NodeUsage        `json:"resources"`
	LeaderChanges []LeaderChange     `json:"leader_changes"`
	// Sections holds the data of the sections other packages
	// contributed, by title.
	Sections []SectionData `json:"sections,omitempty"`
}

// RunInfo identifies a run.
type RunInfo struct {
	Name      string              `json:"name"`
	Scenario  string              `json:"scenario"`
	Seed      int64               `json:"seed"`
	Platform  string              `json:"platform"`
	Engine    string              `json:"engine"`
	Version   string              `json:"version"`
	Workload  string              `json:"workload,omitempty"`
	Faultline string              `json:"faultline,omitempty"`
	Nodes     []workload.NodeInfo `json:"nodes,omitempty"`
	Options   map[string]string   `json:"options,omitempty"`
	// Deployed is what the engine said it runs (workload.EventDeployed):
	// a build with changes, the server flavour.
	Deployed string `json:"deployed,omitempty"`
}

// FaultRow is one fault with every checker's figures for it. Metrics uses
// the names documented in package check (rto_seconds, lost_writes,
// during_ops_per_second…); a figure a checker could not measure is
// absent and a note says why. Each note starts with its checker's name.
type FaultRow struct {
	ID           int                `json:"id"`
	Name         string             `json:"name"`
	Kind         string             `json:"kind"`
	Target       string             `json:"target,omitempty"`
	Nodes        []string           `json:"nodes,omitempty"`
	Peers        []string           `json:"peers,omitempty"`
	StartSeconds float64            `json:"start_seconds"`
	EndSeconds   float64            `json:"end_seconds"`
	Open         bool               `json:"open,omitempty"`
	Mechanism    string             `json:"mechanism,omitempty"`
	Error        string             `json:"error,omitempty"`
	Metrics      map[string]float64 `json:"metrics"`
	Notes        []string           `json:"notes,omitempty"`
}

// Metric returns a fault figure and whether it is present.
func (f FaultRow) Metric(name string) (float64, bool) {
	v, ok := f.Metrics[name]
	return v, ok
}

// LeaderChange is a leader event from the engine: a new leader (Node
// set) or none (Kind "no-leader").
type LeaderChange struct {
	TimeSeconds float64 `json:"time_seconds"`
	Kind        string  `json:"kind"`
	Node        string  `json:"node,omitempty"`
	Term        uint64  `json:"term,omitempty"`
}

// SectionData is a contributed section's data in result.json.
type SectionData struct {
	Title string `json:"title"`
	Data  any    `json:"data"`
}

// Exit codes, as cmd/faultline documents them.
const (
	ExitPass  = 0
	ExitFail  = 1
	ExitInfra = 3
)

// ExitCode is the exit code for a run's verdict: 0 when every check
// passed, 1 when one failed or could not reach a verdict (unknown is not
// a pass), 3 when the infrastructure failed, whatever the checks said.
func ExitCode(v check.Verdict, infraError string) (int, string) {
	switch {
	case infraError != "":
		return ExitInfra, "the infrastructure failed: " + infraError
	case v == check.Pass:
		return ExitPass, "every check passed"
	case v == check.Fail:
		return ExitFail, "a check failed"
	default:
		return ExitFail, "a check could not reach a verdict (unknown), so not every check passed"
	}
}

// New builds the report of a run. It runs the stats checker if the
// results lack one, for the whole-run figures.
func New(ctx context.Context, run Run) *Report {
	h := run.History
	if h == nil {
		h = &workload.History{}
	}
	m := h.Meta
	rep := &Report{
		Format: Format,
		Run: RunInfo{Name: m.Run, Scenario: m.Scenario, Seed: m.Seed, Platform: m.Platform, Engine: m.Engine,
			Version: m.Version, Workload: m.Workload, Faultline: m.Faultline, Nodes: m.Nodes, Options: m.Options},
		Start:           m.Start,
		DurationSeconds: h.End().Seconds(),
		Verdict:         check.Overall(run.Results),
		InfraError:      run.InfraError,
		Checks:          run.Results,
		Faults:          faultRows(h, run.Results),
		Resources:       Usage(h.Samples),
		LeaderChanges:   leaderChanges(h.Events),
	}
	for _, e := range h.Events {
		if e.Kind == workload.EventDeployed {
			rep.Run.Deployed = e.Detail
		}
	}
	if rep.Checks == nil {
		rep.Checks = []check.Result{}
	}
	rep.ExitCode, rep.ExitMeaning = ExitCode(rep.Verdict, run.InfraError)
	rep.Stats = statsOf(ctx, h, run.Results)
	for _, s := range run.Sections {
		if s.Data != nil {
			rep.Sections = append(rep.Sections, SectionData{Title: s.Title, Data: s.Data})
		}
	}
	return rep
}

func statsOf(ctx context.Context, h *workload.History, results []check.Result) map[string]float64 {
	for _, r := range results {
		if r.Checker == (check.Stats{}).Name() {
			return r.Metrics
		}
	}
	if m := (check.Stats{}).Check(ctx, h).Metrics; m != nil {
		return m
	}
	return map[string]float64{}
}

// faultRows merges the checkers' per-fault figures into one row per fault.
func faultRows(h *workload.History, results []check.Result) []FaultRow {
	rows := make([]FaultRow, 0, len(h.Faults))
	at := map[int]int{}
	for _, f := range h.Faults {
		at[f.ID] = len(rows)
		rows = append(rows, FaultRow{
			ID: f.ID, Name: f.Name, Kind: f.Kind, Target: f.Target, Nodes: f.Nodes, Peers: f.Peers,
			StartSeconds: f.Start.Seconds(), EndSeconds: f.End.Seconds(), Open: f.Open,
			Mechanism: f.Mechanism, Error: f.Error, Metrics: map[string]float64{},
		})
	}
	for _, r := range results {
		for _, fm := range r.Faults {
			i, ok := at[fm.Fault]
			if !ok {
				continue // a fault the history does not know: nothing to hang it on
			}
			for k, v := range fm.Metrics {
				rows[i].Metrics[k] = v
			}
			for _, n := range fm.Notes {
				rows[i].Notes = append(rows[i].Notes, r.Checker+": "+n)
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].StartSeconds < rows[j].StartSeconds })
	return rows
}

func leaderChanges(events []workload.Event) []LeaderChange {
	out := []LeaderChange{}
	for _, e := range events {
		if e.Kind == workload.EventLeader || e.Kind == workload.EventNoLeader {
			out = append(out, LeaderChange{TimeSeconds: e.Time.Seconds(), Kind: e.Kind, Node: e.Node, Term: e.Term})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TimeSeconds < out[j].TimeSeconds })
	return out
}

// Read reads a run directory's result.json (or the file itself, if path
// is one). It refuses a format of another major version.
func Read(path string) (*Report, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ResultFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	if major(rep.Format) != major(Format) {
		return nil, fmt.Errorf("read report %s: format %q, want %s", path, excerpt.Value(rep.Format), Format)
	}
	return &rep, nil
}

// major is a format name without its minor revision: "faultline.result/v1".
func major(format string) string {
	name, rev, _ := strings.Cut(format, "/")
	v, _, _ := strings.Cut(rev, ".")
	return name + "/" + v
}
