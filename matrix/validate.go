package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/scenarios"
)

// Defaults, as the field documentation states them.
const (
	DefaultQPS  = 10000
	DefaultData = "100GiB"
)

var idRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// Cell is one engine × fault × workload of a matrix: a scenario to run,
// or the reason it cannot run here.
type Cell struct {
	// ID is "ENGINE/FAULT/WORKLOAD", by the entries' ids and names.
	ID string `json:"id"`
	// Dir is the cell's run directory under the matrix directory's
	// cells/, one name per cell ("ENGINE--FAULT--WORKLOAD").
	Dir string `json:"dir"`
	// Engine, Fault and Workload are the ids of the cell's entries.
	Engine   string `json:"engine"`
	Fault    string `json:"fault"`
	Workload string `json:"workload"`
	// Platform is where the cell runs.
	Platform string `json:"platform"`
	// NotRun says why the cell cannot run on this machine (a program not
	// installed); NotApplicable why it cannot run anywhere (the engine's
	// clients do not run the workload). Both empty: it runs.
	NotRun        string `json:"not_run,omitempty"`
	NotApplicable string `json:"not_applicable,omitempty"`
	// Scenario is the validated scenario of a cell that runs.
	Scenario *scenarios.Scenario `json:"-"`
}

// Runs reports whether the cell is to run.
func (c Cell) Runs() bool { return c.NotRun == "" && c.NotApplicable == "" }

// Plan is a validated matrix: its file with defaults applied and every
// cell.
type Plan struct {
	File  *File
	Cells []Cell
}

// ApplyDefaults fills every unset field with its documented default.
func (f *File) ApplyDefaults() {
	if f.Seed == 0 {
		f.Seed = scenarios.DefaultSeed
	}
	if f.Platform == "" {
		f.Platform = scenarios.DefaultPlatform
	}
	for i := range f.Engines {
		if f.Engines[i].ID == "" {
			f.Engines[i].ID = f.Engines[i].Name
		}
		if f.Engines[i].Platform == "" {
			f.Engines[i].Platform = f.Platform
		}
	}
	for i := range f.Workloads {
		if f.Workloads[i].Kind == "" {
			f.Workloads[i].Kind = scenarios.DefaultWorkload
		}
		if f.Workloads[i].Name == "" {
			f.Workloads[i].Name = f.Workloads[i].Kind
		}
	}
	for i := range f.Faults {
		if f.Faults[i].Name == "" {
			f.Faults[i].Name = slug(f.Faults[i].Kind + "-" + f.Faults[i].Target.String())
		}
	}
	c := &f.Cost
	if c.QPS == 0 {
		c.QPS = DefaultQPS
	}
	if c.Data == "" {
		c.Data = DefaultData
	}
	if c.Cloud == "" {
		c.Cloud = cost.AWS
		if len(f.Requirements.Clouds) > 0 {
			c.Cloud = f.Requirements.Clouds[0]
		}
	}
	if c.Region == "" {
		c.Region = CatalogRegion(c.Cloud)
	}
	if c.Commitment == "" {
		c.Commitment = cost.NoCommitment
	}
}

// CatalogRegion is the region the built-in price catalog holds for a
// cloud.
func CatalogRegion(cloud string) string {
	switch cloud {
	case cost.GCP:
		return "us-central1"
	case cost.Azure:
		return "eastus"
	}
	return "us-east-1"
}

// Target is the cost section as `faultline cost --target` takes it.
func (c Cost) Target() string { return fmt.Sprintf("qps=%g,data=%s", c.QPS, c.Data) }

// Validate applies defaults, checks the matrix and every cell against env
// before anything starts, and returns the plan. Problems come back all at
// once as Errors, each naming the matrix field it is about (a cell's
// problem is placed on the engine, workload or fault entry it comes
// from). A cell whose only problem is a program this machine lacks is no
// error: it is planned as not run, with the reason.
func (f *File) Validate(env scenarios.Env) (*Plan, error) {
	f.ApplyDefaults()
	v := &validator{f: f, seen: map[string]bool{}}
	v.top()
	plan := &Plan{File: f, Cells: v.cells(env)}
	if len(v.errs) > 0 {
		sortErrors(v.errs)
		return nil, v.errs
	}
	return plan, nil
}

type validator struct {
	f    *File
	errs Errors
	seen map[string]bool // problems already reported, by path and message
}

func (v *validator) errorf(path, format string, args ...any) {
	v.add(FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) add(e FieldError) {
	e.Line = v.f.Line(e.Path)
	key := e.Path + "\x00" + e.Msg
	if v.seen[key] {
		return
	}
	v.seen[key] = true
	v.errs = append(v.errs, e)
}

// top checks the matrix's own fields: names, ids, the cost target and
// the requirements. Cells are checked by cells.
func (v *validator) top() {
	f := v.f
	switch {
	case f.Name == "":
		v.errorf("name", "required")
	case !idRE.MatchString(f.Name):
		v.errorf("name", "%q: use lower-case letters, digits and dashes (at most 32)", excerpt.Value(f.Name))
	}
	if f.Seed < 0 {
		v.errorf("seed", "must not be negative, got %d", f.Seed)
	}
	if len(f.Engines) == 0 {
		v.errorf("engines", "required: at least one engine")
	}
	if len(f.Workloads) == 0 {
		v.errorf("workloads", "required: at least one workload")
	}
	if len(f.Faults) == 0 {
		v.errorf("faults", "required: at least one fault (kind none is a baseline with no fault)")
	}
	ids := map[string]bool{}
	for i, e := range f.Engines {
		p := fmt.Sprintf("engines[%d]", i)
		switch {
		case e.Name == "":
			v.errorf(p+".name", "required")
		case !idRE.MatchString(e.ID):
			v.errorf(p+".id", "%q: use lower-case letters, digits and dashes (at most 32)", excerpt.Value(e.ID))
		case ids[e.ID]:
			v.errorf(p+".id", "%q is used by another engine entry; give each entry of one engine its own id", excerpt.Value(e.ID))
		}
		ids[e.ID] = true
	}
	names := map[string]bool{}
	for i, w := range f.Workloads {
		p := fmt.Sprintf("workloads[%d].name", i)
		switch {
		case !idRE.MatchString(w.Name):
			v.errorf(p, "%q: use lower-case letters, digits and dashes (at most 32)", excerpt.Value(w.Name))
		case names[w.Name]:
			v.errorf(p, "%q names another workload too", excerpt.Value(w.Name))
		}
		names[w.Name] = true
	}
	faults := map[string]bool{}
	for i, flt := range f.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		s := slug(flt.Name)
		switch {
		case s == "":
			v.errorf(p+".name", "%q has no letter or digit to name the cell by", excerpt.Value(flt.Name))
		case faults[s]:
			v.errorf(p+".name", "%q names another fault too (names are compared as %s)", excerpt.Value(flt.Name), s)
		}
		faults[s] = true
		if flt.Kind == KindNone && (flt.Duration != 0 || flt.At != 0 || !flt.Target.IsZero()) {
			v.errorf(p, "kind none is a baseline with no fault: it takes no at, duration or target")
		}
	}
	v.cost()
	if err := f.Requirements.Validate(); err != nil {
		for _, e := range unjoin(err) {
			v.fieldError("requirements", e)
		}
	}
}

func (v *validator) cost() {
	c := v.f.Cost
	if _, err := cost.ParseTarget(c.Target()); err != nil {
		v.errorf("cost", "%v", err)
	}
	o := cost.Options{Target: cost.DefaultTarget(), Cloud: c.Cloud, Survive: v.f.Requirements.CostSurvival(), Commitment: c.Commitment}
	if err := o.Validate(); err != nil {
		for _, e := range unjoin(err) {
			v.fieldError("cost", e)
		}
	}
	if c.Region != "" && !idRE.MatchString(c.Region) {
		v.errorf("cost.region", "%q is not a region name", excerpt.Value(c.Region))
	}
}

// fieldError places an error that starts with a field name ("foo: …")
// under the section at path.
func (v *validator) fieldError(path string, err error) {
	msg := err.Error()
	if field, rest, ok := strings.Cut(msg, ": "); ok && field != "" && !strings.ContainsAny(field, " \t") {
		path, msg = path+"."+field, rest
	}
	v.add(FieldError{Path: path, Msg: msg, Err: err})
}

// cells expands engines × faults × workloads, in that order, and
// validates each cell's scenario against env.
func (v *validator) cells(env scenarios.Env) []Cell {
	f := v.f
	var out []Cell
	for ei, e := range f.Engines {
		for fi, flt := range f.Faults {
			for wi, w := range f.Workloads {
				c := Cell{
					ID:       e.ID + "/" + slug(flt.Name) + "/" + w.Name,
					Dir:      e.ID + "--" + slug(flt.Name) + "--" + w.Name,
					Engine:   e.ID,
					Fault:    slug(flt.Name),
					Workload: w.Name,
					Platform: e.Platform,
				}
				if why := notApplicable(env, e.Name, w.Kind); why != "" {
					c.NotApplicable = why
					out = append(out, c)
					continue
				}
				s := f.scenario(ei, fi, wi)
				err := s.Validate(env)
				var missing []string
				var serrs scenarios.Errors
				errors.As(err, &serrs)
				for _, se := range serrs {
					var ni *engines.NotInstalledError
					if errors.As(se.Err, &ni) {
						if !slices.Contains(missing, ni.Error()) {
							missing = append(missing, ni.Error())
						}
						continue
					}
					se.Path = cellPath(se.Path, ei, fi, wi, e.Platform != f.Platform)
					v.add(se)
				}
				if err != nil && serrs == nil {
					v.errorf(fmt.Sprintf("engines[%d]", ei), "%v", err)
				}
				if len(missing) > 0 {
					c.NotRun = strings.Join(missing, "; ")
				} else {
					c.Scenario = s
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// notApplicable says why engine's clients cannot run a workload kind, or
// "" if they can (or if the engine is unknown: its validation says so).
func notApplicable(env scenarios.Env, engine, kind string) string {
	eng, err := env.Engines.Lookup(engine)
	if err != nil {
		return ""
	}
	proto, ok := env.Protocols[eng.Protocol()]
	if !ok || slices.Contains(proto.Workloads, kind) {
		return ""
	}
	return fmt.Sprintf("%s clients (%s protocol) do not run the %s workload (they run %s)", eng.Name(), eng.Protocol(), kind, strings.Join(proto.Workloads, ", "))
}

// scenario builds the scenario of one cell. It shares nothing mutable
// with the file or other cells: validation fills in defaults.
func (f *File) scenario(ei, fi, wi int) *scenarios.Scenario {
	e, flt, w := f.Engines[ei], f.Faults[fi], f.Workloads[wi]
	eng := e.Engine
	eng.Options = maps.Clone(e.Options)
	eng.Images = maps.Clone(e.Images)
	wl := w.Workload
	wl.Options = maps.Clone(w.Options)
	wl.Steps = slices.Clone(w.Steps)
	if w.Mix != nil {
		m := *w.Mix
		wl.Mix = &m
	}
	s := &scenarios.Scenario{
		Name:        scenarioName(slug(f.Name), slug(e.ID), slug(flt.Name), slug(w.Name)),
		Description: fmt.Sprintf("matrix %s: %s through %s under the %s workload", f.Name, e.ID, flt.Name, w.Name),
		Seed:        f.Seed,
		Platform:    e.Platform,
		Topology:    copyTopology(f.Topology),
		Engine:      eng,
		Workload:    wl,
		Checks:      copyChecks(f.Checks),
		Cost: scenarios.Cost{
			Target: f.Cost.Target(), Cloud: f.Cost.Cloud,
			Survive: f.Requirements.CostSurvival(), Commitment: f.Cost.Commitment,
		},
	}
	if flt.Kind != KindNone {
		s.Faults = []scenarios.Fault{flt}
	}
	return s
}

func copyTopology(t scenarios.Topology) scenarios.Topology {
	out := scenarios.Topology{RegionLatency: t.RegionLatency}
	for _, r := range t.Regions {
		out.Regions = append(out.Regions, scenarios.Region{Name: r.Name, Zones: slices.Clone(r.Zones)})
	}
	return out
}

// copyChecks copies every budget, so that validating one cell (which
// fills in the isolation an append check expects) leaves the others'
// alone.
func copyChecks(c scenarios.Checks) scenarios.Checks {
	return scenarios.Checks{
		Linearizable: clonePtr(c.Linearizable),
		RPO:          clonePtr(c.RPO),
		RTO:          clonePtr(c.RTO),
		Throughput:   clonePtr(c.Throughput),
		Latency:      clonePtr(c.Latency),
		Bank:         clonePtr(c.Bank),
		Append:       clonePtr(c.Append),
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cellPath turns a problem's path in a cell's scenario into the matrix
// field it comes from.
func cellPath(p string, ei, fi, wi int, ownPlatform bool) string {
	sub := func(prefix, to string) (string, bool) {
		if p == prefix {
			return to, true
		}
		if rest, ok := strings.CutPrefix(p, prefix+"."); ok {
			return to + "." + rest, true
		}
		return "", false
	}
	if s, ok := sub("engine", fmt.Sprintf("engines[%d]", ei)); ok {
		return s
	}
	if s, ok := sub("workload", fmt.Sprintf("workloads[%d]", wi)); ok {
		return s
	}
	if rest, ok := strings.CutPrefix(p, "faults[0]"); ok {
		return fmt.Sprintf("faults[%d]%s", fi, rest)
	}
	switch {
	case p == "platform" && ownPlatform:
		return fmt.Sprintf("engines[%d].platform", ei)
	case p == "cost.target":
		return "cost"
	case p == "cost.survive":
		return "requirements.survive"
	}
	return p
}

// scenarioName names a cell's scenario, within the 63 characters a
// scenario name may have.
func scenarioName(parts ...string) string {
	n := strings.Join(parts, "-")
	if len(n) <= 63 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return strings.TrimRight(n[:54], "-") + "-" + hex.EncodeToString(sum[:4])
}

// slug lower-cases s and turns every run of other characters than
// letters and digits into one dash.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	out := b.String()
	if len(out) > 32 {
		out = strings.TrimRight(out[:32], "-")
	}
	return out
}

// unjoin splits an errors.Join into its errors.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// sortErrors orders problems by line, then path.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b FieldError) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.Path, b.Path)
	})
}
