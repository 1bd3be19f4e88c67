package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// Defaults, as the field documentation states them.
const (
	DefaultSeed         = 1
	DefaultPlatform     = "local"
	DefaultWorkload     = "register"
	DefaultConcurrency  = 8
	DefaultKeys         = 8
	DefaultDuration     = 60 * time.Second
	DefaultTimeout      = 2 * time.Second
	DefaultAccounts     = 8
	DefaultTotal        = 1000
	DefaultMaxTxnLength = 5
	DefaultCheckTimeout = 60 * time.Second
)

// Workload kinds.
const (
	WorkloadRegister = "register"
	WorkloadBank     = "bank"
	WorkloadAppend   = "append"
	WorkloadLedger   = "ledger"
)

// Isolation levels an append check can expect, weakest first.
var isolationLevels = []string{"read-uncommitted", "read-committed", "repeatable-read", "snapshot-isolation", "serializable", "strict-serializable"}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ApplyDefaults fills every unset field with its documented default.
func (s *Scenario) ApplyDefaults() {
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Platform == "" {
		s.Platform = DefaultPlatform
	}
	for i := range s.Topology.Regions {
		for j := range s.Topology.Regions[i].Zones {
			if s.Topology.Regions[i].Zones[j].Nodes == 0 {
				s.Topology.Regions[i].Zones[j].Nodes = 1
			}
		}
	}
	w := &s.Workload
	if w.Kind == "" {
		w.Kind = DefaultWorkload
	}
	if w.Concurrency == 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.Mode == "" {
		w.Mode = string(workload.Open)
	}
	if w.Keys == 0 {
		w.Keys = DefaultKeys
	}
	if w.Duration == 0 {
		w.Duration = DefaultDuration
	}
	if w.Timeout == 0 {
		w.Timeout = DefaultTimeout
	}
	if w.Accounts == 0 {
		w.Accounts = DefaultAccounts
	}
	if w.Total == 0 {
		w.Total = DefaultTotal
	}
	if w.MaxTxnLength == 0 {
		w.MaxTxnLength = DefaultMaxTxnLength
	}
	c := &s.Cost
	if c.Cloud == "" {
		c.Cloud = cost.AWS
	}
	if c.Survive == "" {
		c.Survive = cost.ZoneSurvival
	}
	if c.Commitment == "" {
		c.Commitment = cost.NoCommitment
	}
}

// PlatformTopology converts the scenario's topology for the platform.
func (s *Scenario) PlatformTopology() platform.Topology {
	t := platform.Topology{RegionLatency: s.Topology.RegionLatency}
	for _, r := range s.Topology.Regions {
		pr := platform.Region{Name: r.Name}
		for _, z := range r.Zones {
			pr.Zones = append(pr.Zones, platform.Zone{Name: z.Name, Nodes: z.Nodes})
		}
		t.Regions = append(t.Regions, pr)
	}
	return t
}

// FaultSpecs converts the schedule for the nemesis.
func (s *Scenario) FaultSpecs() []faults.Spec {
	out := make([]faults.Spec, 0, len(s.Faults))
	for i, f := range s.Faults {
		out = append(out, faults.Spec{
			ID: i, Name: f.Name, Kind: f.Kind, At: f.At, Duration: f.Duration,
			Target: f.Target, Peers: f.Peers, OneWay: f.OneWay, Bridge: f.Bridge, Process: f.Process,
			Delay: f.Delay, Jitter: f.Jitter, Loss: f.Loss, Rate: int64(f.Rate),
			Via: f.Via, Offset: f.Offset, CPUWorkers: f.CPUWorkers, CPULoad: f.CPULoad, Memory: int64(f.Memory),
			Path: f.Path, Percent: f.Percent, Errno: f.Errno, GracePeriod: f.GracePeriod, Force: f.Force,
		})
	}
	return out
}

// EngineSpec converts the engine section for the engine.
func (s *Scenario) EngineSpec() engines.Spec {
	return engines.Spec{Version: s.Engine.Version, Image: s.Engine.Image, Replicas: s.Engine.Replicas, Options: s.Engine.Options, Images: s.Engine.Images}
}

// Validate applies defaults and checks the scenario against what env
// knows (engines, platforms, protocols), returning every problem at once
// as Errors, each with its field path and line. Nothing is started.
func (s *Scenario) Validate(env Env) error {
	s.ApplyDefaults()
	v := &validator{s: s}
	v.top()
	v.topology(env)
	eng := v.engine(env)
	v.workload(env, eng)
	v.faults(env, eng)
	v.checks()
	v.cost()
	if len(v.errs) == 0 {
		return nil
	}
	sortErrors(v.errs)
	return v.errs
}

// claimIsolation fills in the level an append check holds the engine to
// when the scenario names none: the level the engine's clients promise for
// the isolation they ask for (PostgreSQL's repeatable read is snapshot
// isolation, InnoDB's is weaker). It is written into the run's
// scenario.yaml, so that re-checking a saved run holds it to the same.
// The engine's own claim (engines.IsolationClaimer) comes first: the
// isolation belongs to the engine, not to the protocol it speaks.
func (v *validator) claimIsolation(eng engines.Engine, proto Protocol) {
	s := v.s
	iso := s.Workload.Options["isolation"]
	if s.Workload.Kind != WorkloadAppend || iso == "" {
		return
	}
	var level string
	if ic, ok := eng.(engines.IsolationClaimer); ok {
		level = ic.ClaimedIsolation(s.EngineSpec(), iso)
	}
	if level == "" && proto.Claimed != nil {
		level = string(proto.Claimed(iso))
	}
	if level == "" {
		return
	}
	if s.Checks.Append == nil {
		s.Checks.Append = &AppendCheck{}
	}
	if s.Checks.Append.Isolation == "" {
		s.Checks.Append.Isolation = level
	}
}

type validator struct {
	s    *Scenario
	errs Errors
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Line: v.line(path), Msg: fmt.Sprintf(format, args...)})
}

// line finds the line of path or of its nearest parent that has one.
func (v *validator) line(path string) int {
	for p := path; p != ""; {
		if l := v.s.lines[p]; l > 0 {
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

func (v *validator) top() {
	switch {
	case v.s.Name == "":
		v.errorf("name", "required")
	case !nameRE.MatchString(v.s.Name):
		v.errorf("name", "%q: use lower-case letters, digits and dashes (at most 63)", excerpt.Value(v.s.Name))
	}
	if v.s.Seed < 0 {
		v.errorf("seed", "must not be negative, got %d", v.s.Seed)
	}
}

func (v *validator) topology(env Env) {
	t := v.s.Topology
	if len(t.Regions) == 0 {
		v.errorf("topology.regions", "required: at least one region with one zone")
		return
	}
	regions, zones := map[string]bool{}, map[string]bool{}
	for i, r := range t.Regions {
		p := fmt.Sprintf("topology.regions[%d]", i)
		v.label(p+".name", r.Name, "region", regions)
		if len(r.Zones) == 0 {
			v.errorf(p+".zones", "required: at least one zone")
		}
		for j, z := range r.Zones {
			zp := fmt.Sprintf("%s.zones[%d]", p, j)
			v.label(zp+".name", z.Name, "zone", zones)
			if z.Nodes < 0 {
				v.errorf(zp+".nodes", "must be at least 1, got %d", z.Nodes)
			}
		}
	}
	if t.RegionLatency < 0 {
		v.errorf("topology.region-latency", "must not be negative")
	}
	if t.RegionLatency > 0 && len(t.Regions) < 2 {
		v.errorf("topology.region-latency", "set, but the topology has one region: latency between regions needs two or more")
	} else if t.RegionLatency > 0 {
		if err := env.canInject(v.s.Platform, faults.KindLatency); err != nil {
			v.errorf("topology.region-latency", "cannot emulate latency between regions: %v", err)
		}
	}
	if n := v.s.PlatformTopology().Size(); n > 64 {
		v.errorf("topology", "%d nodes: faultline supports at most 64", n)
	}
}

func (v *validator) label(path, name, what string, seen map[string]bool) {
	switch {
	case name == "":
		v.errorf(path, "required")
	case !nameRE.MatchString(name):
		v.errorf(path, "%q: a %s name uses lower-case letters, digits and dashes", excerpt.Value(name), what)
	case seen[name]:
		v.errorf(path, "%s %q appears twice", what, excerpt.Value(name))
	}
	seen[name] = true
}

func (v *validator) engine(env Env) engines.Engine {
	if !slices.Contains(env.platformNames(), v.s.Platform) {
		v.errorf("platform", "unknown platform %q (known: %s)", excerpt.Value(v.s.Platform), strings.Join(env.platformNames(), ", "))
	}
	if v.s.Engine.Name == "" {
		v.errorf("engine.name", "required (known: %s)", strings.Join(env.Engines.Names(), ", "))
		return nil
	}
	for from, to := range v.s.Engine.Images {
		if from == "" || to == "" || strings.ContainsAny(from+to, " \t\n") {
			v.errorf("engine.images", "%q: %q: want an image reference mapped to another", truncate(from), truncate(to))
		}
	}
	eng, err := env.Engines.Lookup(v.s.Engine.Name)
	if err != nil {
		v.errorf("engine.name", "%v", err)
		return nil
	}
	topo := v.s.PlatformTopology()
	workers := topo.Size()
	target := engines.Target{Platform: v.s.Platform, Workers: workers, Topology: topo}
	if p, err := env.Platform(v.s.Platform); err == nil {
		target.Capabilities = platform.CapabilitiesOf(p)
		if pn, ok := eng.(engines.PlatformNeeds); ok {
			if err := pn.CanRunOn(target.Capabilities); err != nil {
				v.errorf("platform", "%v", err)
				return eng
			}
		}
	}
	ev, ok := eng.(engines.Validator)
	if !ok {
		if v.s.Engine.Replicas < 0 || v.s.Engine.Replicas > workers {
			v.errorf("engine.replicas", "must be between 1 and the %d worker nodes, got %d", workers, v.s.Engine.Replicas)
		}
		return eng
	}
	for _, err := range ev.Validate(v.s.EngineSpec(), target) {
		v.engineError(err)
	}
	return eng
}

// engineError places an engine's validation error: engines name the field
// ("options.foo: …", "replicas: …") relative to the engine section.
func (v *validator) engineError(err error) {
	msg := strings.TrimPrefix(err.Error(), "engine.")
	v.placeError("engine", msg, err)
}

// fieldError places an error that starts with a field name ("foo: …")
// under the section at path; other errors go on the section itself.
func (v *validator) fieldError(path string, err error) { v.placeError(path, err.Error(), err) }

// placeError places msg as fieldError does, keeping err for errors.As.
func (v *validator) placeError(path, msg string, err error) {
	field, rest, ok := strings.Cut(msg, ": ")
	if ok && field != "" && !strings.ContainsAny(field, " \t") {
		path, msg = path+"."+field, rest
	}
	v.errs = append(v.errs, FieldError{Path: path, Line: v.line(path), Msg: msg, Err: err})
}

func (v *validator) workload(env Env, eng engines.Engine) {
	w := v.s.Workload
	kinds := []string{WorkloadRegister, WorkloadBank, WorkloadAppend, WorkloadLedger}
	if !slices.Contains(kinds, w.Kind) {
		v.errorf("workload.kind", "unknown workload %q (known: %s)", excerpt.Value(w.Kind), strings.Join(kinds, ", "))
	} else if eng != nil {
		proto, ok := env.Protocols[eng.Protocol()]
		switch {
		case !ok:
			v.errorf("engine.name", "no client speaks %s, the protocol of engine %s", eng.Protocol(), eng.Name())
		case !slices.Contains(proto.Workloads, w.Kind):
			v.errorf("workload.kind", "engine %s (%s protocol) cannot run the %s workload (it runs: %s)", eng.Name(), eng.Protocol(), w.Kind, strings.Join(proto.Workloads, ", "))
		case proto.CheckOptions != nil:
			errs := proto.CheckOptions(w.Kind, w.Options)
			for _, err := range errs {
				v.fieldError("workload.options", err)
			}
			if len(errs) == 0 {
				v.claimIsolation(eng, proto)
			}
		}
	}
	if w.Concurrency < 1 || w.Concurrency > 1024 {
		v.errorf("workload.concurrency", "must be between 1 and 1024, got %d", w.Concurrency)
	}
	if w.Rate < 0 {
		v.errorf("workload.rate", "must not be negative, got %g", w.Rate)
	}
	if !slices.Contains(workload.Modes(), workload.Mode(w.Mode)) {
		v.errorf("workload.mode", "%q is neither %s nor %s", excerpt.Value(w.Mode), workload.Open, workload.Closed)
	}
	if w.Keys < 1 {
		v.errorf("workload.keys", "must be at least 1, got %d", w.Keys)
	}
	if w.Duration < time.Second {
		v.errorf("workload.duration", "must be at least 1s, got %s", w.Duration)
	}
	if w.Timeout <= 0 {
		v.errorf("workload.timeout", "must be positive, got %s", w.Timeout)
	}
	if w.Accounts < 2 {
		v.errorf("workload.accounts", "a bank needs at least 2 accounts, got %d", w.Accounts)
	}
	if w.Total < 1 {
		v.errorf("workload.total", "must be positive, got %d", w.Total)
	}
	if w.MaxTxnLength < 1 || w.MaxTxnLength > 64 {
		v.errorf("workload.max-txn-length", "must be between 1 and 64, got %d", w.MaxTxnLength)
	}
	if m := w.Mix; m != nil {
		if w.Kind != WorkloadRegister {
			v.errorf("workload.mix", "only the register workload has a mix")
		}
		if m.Read < 0 || m.Write < 0 || m.CAS < 0 || m.Ledger < 0 || m.Read+m.Write+m.CAS+m.Ledger <= 0 {
			v.errorf("workload.mix", "weights must not be negative and must not all be zero")
		}
	}
	for i, r := range w.Steps {
		if r < 0 {
			v.errorf(fmt.Sprintf("workload.steps[%d]", i), "an offered rate must not be negative, got %g", r)
		}
	}
	if len(w.Steps) > 0 && w.Duration/time.Duration(len(w.Steps)) < 5*time.Second {
		v.errorf("workload.steps", "%d steps in %s leave less than 5s per step", len(w.Steps), w.Duration)
	}
}

func (v *validator) faults(env Env, eng engines.Engine) {
	topo := v.s.PlatformTopology()
	_, canLead := eng.(engines.Leader)
	for i, f := range v.s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		info, err := faults.LookupKind(f.Kind)
		if f.Kind == "" {
			v.errorf(p+".kind", "required")
		} else if err != nil {
			v.errorf(p+".kind", "%v", err)
		} else if _, err := env.chooseInjector(v.s.Platform, f.Kind, f.Via); err != nil {
			field := ".kind"
			if f.Via != "" {
				field = ".via"
			}
			v.errorf(p+field, "%v", err)
		}
		if f.At < 0 {
			v.errorf(p+".at", "must not be negative")
		} else if f.At >= v.s.Workload.Duration {
			v.errorf(p+".at", "%s is not before the load ends at %s", f.At, v.s.Workload.Duration)
		}
		switch {
		case err != nil:
		case info.Instant && f.Duration != 0:
			v.errorf(p+".duration", "%s is instant and takes no duration", f.Kind)
		case !info.Instant && f.Duration <= 0:
			v.errorf(p+".duration", "required: how long the %s lasts before it is healed", f.Kind)
		case !info.Instant && f.At+f.Duration > v.s.Workload.Duration:
			v.errorf(p+".duration", "the fault ends at %s, after the load ends at %s: recovery could not be measured", f.At+f.Duration, v.s.Workload.Duration)
		}
		v.selector(p+".target", f.Target, topo, canLead, eng, true)
		if f.Target.Kind == faults.SelRest {
			v.errorf(p+".target", "rest names the peers of a partition or shaping fault (every node outside the target, the control plane included), not a target")
		}
		if err == nil && len(info.Selectors) > 0 && !f.Target.IsZero() && !slices.Contains(info.Selectors, f.Target.Kind) {
			v.errorf(p+".target", "%s needs a target of kind %s, got %s", f.Kind, strings.Join(info.Selectors, " or "), f.Target)
		}
		if !f.Peers.IsZero() {
			if err == nil && !info.Peered {
				v.errorf(p+".peers", "%s has no peers; only partitions and shaping faults do", f.Kind)
			}
			v.selector(p+".peers", f.Peers, topo, canLead, eng, false)
		}
		if err == nil {
			v.faultParams(env, p, f, info)
		}
	}
}

func (v *validator) selector(path string, s faults.Selector, topo platform.Topology, canLead bool, eng engines.Engine, required bool) {
	if s.IsZero() {
		if required {
			v.errorf(path, "required (leader, primaries, follower, leader-zone, node:N, nodes:A,B, zone:Z, region:R, minority, majority, random, all)")
		}
		return
	}
	if err := s.CheckTopology(topo); err != nil {
		v.errorf(path, "%v", err)
	}
	if s.NeedsLeader() && eng != nil && !canLead {
		v.errorf(path, "%s needs the engine to name its leader, and %s cannot", s, eng.Name())
	}
}

// faultParams checks the shaping and partition parameters against the
// kind, then lets the faults package check what it builds.
func (v *validator) faultParams(env Env, p string, f Fault, info faults.KindInfo) {
	if f.Kind != faults.KindPartition && (f.OneWay || f.Bridge) {
		v.errorf(p, "one-way and bridge apply only to partitions")
	}
	if f.OneWay && f.Bridge {
		v.errorf(p+".bridge", "a bridge partition is symmetric; drop one-way")
	}
	if f.Kind != faults.KindLatency && f.Jitter != 0 {
		v.errorf(p, "jitter applies only to latency faults")
	}
	if f.Kind != faults.KindLatency && f.Kind != faults.KindDiskLatency && f.Delay != 0 {
		v.errorf(p, "delay applies only to latency and disk-latency faults")
	}
	if f.Kind != faults.KindLoss && f.Loss != 0 {
		v.errorf(p+".loss", "applies only to loss faults")
	}
	if f.Kind != faults.KindBandwidth && f.Rate != 0 {
		v.errorf(p+".rate", "applies only to bandwidth faults")
	}
	if v.errsAt(p) {
		return
	}
	spec := v.s.FaultSpecs()[faultIndex(p)]
	plat, err := env.Platform(v.s.Platform)
	if err != nil {
		return // reported against the platform field
	}
	if _, err := env.injectors().New(plat, spec); err != nil {
		// Each line is "faults[i].field: problem": report it at its field.
		for _, line := range strings.Split(err.Error(), "\n") {
			path, msg, ok := strings.Cut(line, ": ")
			if !ok || (path != p && !strings.HasPrefix(path, p+".")) {
				path, msg = p, line
			}
			v.errorf(path, "%s", msg)
		}
	}
}

func (v *validator) errsAt(prefix string) bool {
	for _, e := range v.errs {
		if e.Path == prefix || strings.HasPrefix(e.Path, prefix+".") {
			return true
		}
	}
	return false
}

func faultIndex(p string) int {
	var i int
	fmt.Sscanf(p, "faults[%d]", &i)
	return i
}

func (v *validator) checks() {
	c := v.s.Checks
	if c.Linearizable != nil && c.Linearizable.Timeout < 0 {
		v.errorf("checks.linearizable.timeout", "must not be negative")
	}
	if c.RPO != nil && c.RPO.MaxLostWrites < 0 {
		v.errorf("checks.rpo.max-lost-writes", "must not be negative")
	}
	if c.RTO != nil && c.RTO.Max < 0 {
		v.errorf("checks.rto.max", "must not be negative")
	}
	if c.Throughput != nil && c.Throughput.Min < 0 {
		v.errorf("checks.throughput.min", "must not be negative")
	}
	if c.Latency != nil && c.Latency.P99Max < 0 {
		v.errorf("checks.latency.p99-max", "must not be negative")
	}
	if c.Append != nil && c.Append.Isolation != "" && !slices.Contains(isolationLevels, c.Append.Isolation) {
		v.errorf("checks.append.isolation", "unknown level %q (known: %s)", excerpt.Value(c.Append.Isolation), strings.Join(isolationLevels, ", "))
	}
	kind := v.s.Workload.Kind
	wrong := func(path string, set bool, kinds ...string) {
		if set && !slices.Contains(kinds, kind) {
			v.errorf(path, "does not apply to the %s workload (only to %s)", kind, strings.Join(kinds, ", "))
		}
	}
	wrong("checks.linearizable", c.Linearizable != nil, WorkloadRegister)
	wrong("checks.rpo", c.RPO != nil, WorkloadRegister, WorkloadLedger)
	wrong("checks.bank", c.Bank != nil, WorkloadBank)
	wrong("checks.append", c.Append != nil, WorkloadAppend)
}

func (v *validator) cost() {
	o, err := v.s.CostOptions()
	if err != nil {
		v.errorf("cost.target", "%v", err)
		o.Target = cost.DefaultTarget()
	}
	if err := o.Validate(); err != nil {
		for _, e := range unjoin(err) {
			v.fieldError("cost", e)
		}
	}
}

// unjoin splits an errors.Join into its errors.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// truncate shortens a value echoed in an error.
func truncate(s string) string {
	if len(s) <= 60 {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:60], len(s))
}
