package cost

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/measure"
)

// Offering kinds.
const (
	SelfHosted = "self-hosted"
	Managed    = "managed"
)

// Offering is one way to run the workload, priced in its own billing
// unit.
type Offering struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  string `json:"kind"`
	// Families are the engine families it can stand in for; nil is every
	// family (self-hosting runs the measured engine itself).
	Families []string `json:"families,omitempty"`
	// Clouds it runs on; nil is every cloud.
	Clouds []string `json:"clouds,omitempty"`
	price  func(env, demand) (bill, error)
}

// Offerings lists every offering the model prices.
func Offerings() []Offering {
	pg, my, crdb := []string{"postgres"}, []string{"mysql"}, []string{"cockroachdb", "postgres"}
	aws, gcp, azure := []string{AWS}, []string{GCP}, []string{Azure}
	return []Offering{
		{ID: "self-hosted", Title: "self-hosted on managed Kubernetes", Kind: SelfHosted, price: selfHosted},
		{ID: "rds-postgres", Title: "Amazon RDS for PostgreSQL", Kind: Managed, Families: pg, Clouds: aws, price: rds("postgres")},
		{ID: "aurora-postgres", Title: "Amazon Aurora PostgreSQL (Standard)", Kind: Managed, Families: pg, Clouds: aws, price: aurora("postgres", false)},
		{ID: "aurora-postgres-io", Title: "Amazon Aurora PostgreSQL (I/O-Optimized)", Kind: Managed, Families: pg, Clouds: aws, price: aurora("postgres", true)},
		{ID: "rds-mysql", Title: "Amazon RDS for MySQL", Kind: Managed, Families: my, Clouds: aws, price: rds("mysql")},
		{ID: "aurora-mysql", Title: "Amazon Aurora MySQL (Standard)", Kind: Managed, Families: my, Clouds: aws, price: aurora("mysql", false)},
		{ID: "aurora-mysql-io", Title: "Amazon Aurora MySQL (I/O-Optimized)", Kind: Managed, Families: my, Clouds: aws, price: aurora("mysql", true)},
		{ID: "cloudsql-postgres", Title: "Cloud SQL for PostgreSQL", Kind: Managed, Families: pg, Clouds: gcp, price: cloudSQL},
		{ID: "alloydb", Title: "AlloyDB for PostgreSQL", Kind: Managed, Families: pg, Clouds: gcp, price: alloyDB},
		{ID: "azure-postgres", Title: "Azure Database for PostgreSQL flexible server", Kind: Managed, Families: pg, Clouds: azure, price: azurePostgres},
		{ID: "cockroachdb-basic", Title: "CockroachDB Basic", Kind: Managed, Families: crdb, price: crdbBasic},
		{ID: "cockroachdb-standard", Title: "CockroachDB Standard", Kind: Managed, Families: crdb, price: crdbStandard},
		{ID: "cockroachdb-advanced", Title: "CockroachDB Advanced", Kind: Managed, Families: crdb, price: crdbAdvanced},
		{ID: "neon", Title: "Neon (Scale plan)", Kind: Managed, Families: pg, Clouds: []string{AWS, Azure}, price: neon},
		{ID: "planetscale-postgres", Title: "PlanetScale for Postgres", Kind: Managed, Families: pg, Clouds: []string{AWS, GCP}, price: planetScale("postgres")},
		{ID: "planetscale-vitess", Title: "PlanetScale (Vitess)", Kind: Managed, Families: my, Clouds: []string{AWS, GCP}, price: planetScale("vitess")},
	}
}

// Options say what to price.
type Options struct {
	Target     Target
	Cloud      string
	Survive    string
	Commitment string
	// Engine overrides the measured engine (its name in the history) for
	// self-hosting and for choosing offerings.
	Engine string
	// Offerings restricts the offerings by id; empty means every offering
	// for the engine's family on the cloud.
	Offerings []string
	// Samples is the number of Monte Carlo draws (default 500); Seed
	// seeds them.
	Samples int
	Seed    int64
}

// Validate reports every problem with the options at once, naming the
// option.
func (o Options) Validate() error {
	var errs []error
	if !slices.Contains([]string{AWS, GCP, Azure}, o.Cloud) {
		errs = append(errs, fmt.Errorf("cloud: %q is not one of aws, gcp, azure", excerpt.Value(o.Cloud)))
	}
	if !slices.Contains(SurvivalLevels(), o.Survive) {
		errs = append(errs, fmt.Errorf("survive: %q is not one of none, zone, region", excerpt.Value(o.Survive)))
	}
	if !slices.Contains([]string{NoCommitment, OneYear, ThreeYears}, o.Commitment) {
		errs = append(errs, fmt.Errorf("commitment: %q is not one of none, 1y, 3y", excerpt.Value(o.Commitment)))
	}
	if o.Target.QPS <= 0 {
		errs = append(errs, fmt.Errorf("target: qps must be positive"))
	}
	if o.Target.DataBytes < 0 {
		errs = append(errs, fmt.Errorf("target: data must not be negative"))
	}
	if o.Samples < 0 {
		errs = append(errs, fmt.Errorf("samples: %d is negative", o.Samples))
	}
	known := map[string]bool{}
	for _, of := range Offerings() {
		known[of.ID] = true
	}
	for _, id := range o.Offerings {
		if !known[id] {
			errs = append(errs, fmt.Errorf("offerings: unknown offering %q", excerpt.Value(id)))
		}
	}
	return errors.Join(errs...)
}

// Estimate is the priced comparison: for each offering, a monthly
// breakdown at the chosen survival level, its spread over the Monte Carlo
// draws, the cost per 1,000 operations per second and what each survival
// level costs.
type Estimate struct {
	Run        string             `json:"run,omitempty"`
	Engine     string             `json:"engine"`
	Target     Target             `json:"target"`
	Cloud      string             `json:"cloud"`
	Survive    string             `json:"survive"`
	Commitment string             `json:"commitment"`
	Seed       int64              `json:"seed"`
	Samples    int                `json:"samples"`
	Offerings  []OfferingEstimate `json:"offerings"`
	Profile    *Profile           `json:"profile"`
	// Catalog names the catalog files used.
	Catalog []string `json:"catalog"`
	Notes   []string `json:"notes,omitempty"`
}

// OfferingEstimate is one offering's priced deployment.
type OfferingEstimate struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  string `json:"kind"`
	// Unsupported says why the offering cannot meet the survival level;
	// it is then not priced.
	Unsupported string `json:"unsupported,omitempty"`
	Sizing      string `json:"sizing,omitempty"`
	Lines       []Line `json:"lines,omitempty"`
	// Monthly is the total at the profile's fitted means; P10, P50 and
	// P90 the percentiles over the Monte Carlo draws.
	Monthly float64 `json:"monthly"`
	P10     float64 `json:"p10"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	// PerKOps is Monthly per 1,000 operations per second of the target.
	PerKOps    float64  `json:"per_1000_ops_per_second"`
	Resilience []Level  `json:"resilience"`
	Notes      []string `json:"notes,omitempty"`
}

// Level is what an offering costs at one survival level, and the premium
// over a single zone.
type Level struct {
	Survive string  `json:"survive"`
	Monthly float64 `json:"monthly"`
	// Premium is Monthly less the single-zone figure; nil when either is
	// not offered.
	Premium     *float64 `json:"premium_over_single_zone,omitempty"`
	Unsupported string   `json:"unsupported,omitempty"`
}

// ByCategory sums an offering's lines per category, in report order.
func (o OfferingEstimate) ByCategory() []Line {
	sums := map[string]float64{}
	for _, l := range o.Lines {
		sums[l.Category] += l.Monthly
	}
	var out []Line
	for _, c := range Categories() {
		if v, ok := sums[c]; ok {
			out = append(out, Line{Category: c, Monthly: v})
		}
	}
	return out
}

// Compute prices every offering for the profile's engine family on the
// cloud, with opts.Samples Monte Carlo draws over the fits' prediction
// intervals (seeded with opts.Seed).
func Compute(cat *Catalog, p *Profile, opts Options) (*Estimate, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Samples == 0 {
		opts.Samples = 500
	}
	name := p.Engine
	if opts.Engine != "" {
		name = opts.Engine
	}
	eng, err := LookupEngine(name)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	prm, err := loadParams(cat)
	if err != nil {
		return nil, err
	}
	est := &Estimate{
		Run: p.Run, Engine: eng.Name, Target: opts.Target, Cloud: opts.Cloud, Survive: opts.Survive,
		Commitment: opts.Commitment, Seed: opts.Seed, Samples: opts.Samples, Profile: p, Catalog: cat.Sources,
	}
	est.Notes = append(est.Notes, p.Notes...)
	mean := demandAt(p, eng, opts.Target, 0.5, 0.5, 0.5, 0.5, 0.5)
	est.Notes = append(est.Notes, fitNotes(p, opts.Target.QPS, mean)...)
	if eng.Name != canonical(p.Engine) {
		est.Notes = append(est.Notes, fmt.Sprintf("priced as %s although the run measured %q", eng.Title, excerpt.Value(p.Engine)))
	}
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0x6661756c746c696e)) // "faultlin"
	draws := make([]demand, opts.Samples)
	for i := range draws {
		draws[i] = demandAt(p, eng, opts.Target, r.Float64(), r.Float64(), r.Float64(), r.Float64(), r.Float64())
	}
	for _, of := range selectOfferings(eng, opts) {
		oe, err := priceOffering(cat, prm, eng, opts, of, mean, draws)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", of.ID, err)
		}
		est.Offerings = append(est.Offerings, oe)
	}
	return est, nil
}

// canonical is an engine's canonical name, or the name itself.
func canonical(name string) string {
	if e, err := LookupEngine(name); err == nil {
		return e.Name
	}
	return name
}

func selectOfferings(eng Engine, opts Options) []Offering {
	var out []Offering
	for _, of := range Offerings() {
		if len(opts.Offerings) > 0 {
			if slices.Contains(opts.Offerings, of.ID) {
				out = append(out, of)
			}
			continue
		}
		if of.Families != nil && !slices.Contains(of.Families, eng.Family) {
			continue
		}
		if of.Clouds != nil && !slices.Contains(of.Clouds, opts.Cloud) {
			continue
		}
		out = append(out, of)
	}
	return out
}

func priceOffering(cat *Catalog, prm params, eng Engine, opts Options, of Offering, mean demand, draws []demand) (OfferingEstimate, error) {
	e := env{cat: cat, cloud: opts.Cloud, survive: opts.Survive, commit: opts.Commitment, engine: eng, p: prm}
	oe := OfferingEstimate{ID: of.ID, Title: of.Title, Kind: of.Kind}
	if of.Kind == SelfHosted {
		oe.Title = eng.SelfHosted + " (" + servicesOf(opts.Cloud).kubernetes + ")"
	}
	b, err := of.price(e, mean)
	if err != nil {
		return oe, err
	}
	oe.Unsupported, oe.Sizing, oe.Lines, oe.Notes = b.unsupported, b.sizing, b.lines, b.notes
	oe.Monthly = b.total()
	oe.PerKOps = oe.Monthly / (opts.Target.QPS / 1000)
	if b.unsupported == "" {
		totals := make([]float64, len(draws))
		for i, d := range draws {
			bd, err := of.price(e, d)
			if err != nil {
				return oe, err
			}
			totals[i] = bd.total()
		}
		sort.Float64s(totals)
		oe.P10 = stat.Quantile(0.1, stat.Empirical, totals, nil)
		oe.P50 = stat.Quantile(0.5, stat.Empirical, totals, nil)
		oe.P90 = stat.Quantile(0.9, stat.Empirical, totals, nil)
	}
	var base float64
	for _, lvl := range SurvivalLevels() {
		le := e
		le.survive = lvl
		lb, err := of.price(le, mean)
		if err != nil {
			return oe, err
		}
		l := Level{Survive: lvl, Unsupported: lb.unsupported}
		if lb.unsupported == "" {
			l.Monthly = lb.total()
		}
		if lvl == SingleZone {
			base = l.Monthly
		}
		if lb.unsupported == "" && base > 0 {
			prem := l.Monthly - base
			l.Premium = &prem
		}
		oe.Resilience = append(oe.Resilience, l)
	}
	return oe, nil
}

// demandAt turns a profile into the demand at the target, at the given
// quantiles of the fits' predictive distributions (0.5 everywhere is the
// fitted mean): one for CPU, one for memory, one for disk, one for the
// network and one for storage amplification.
func demandAt(p *Profile, eng Engine, t Target, uCPU, uMem, uDisk, uNet, uAmp float64) demand {
	x := t.QPS
	d := demand{
		qps:          x,
		cores:        p.CPU.Quantile(x, uCPU),
		busiest:      p.Busiest.Quantile(x, uCPU),
		memBytes:     math.Max(p.Memory.Quantile(x, uMem), minY(p.Memory)),
		diskWriteBps: p.DiskWrite.Quantile(x, uDisk),
		diskReadBps:  p.DiskRead.Quantile(x, uDisk),
		diskOps:      p.DiskOps.Quantile(x, uDisk),
		netBps:       p.Net.Quantile(x, uNet),
		netMeasured:  !slices.Contains(p.Unmeasured, measure.CounterNet),
		diskMeasured: !slices.Contains(p.Unmeasured, measure.CounterDisk),
		logical:      t.DataBytes,
		rowBytes:     t.RowBytes,
		egress:       t.EgressBytes,
		nodes:        max(p.Nodes, 1),
		replicas:     max(p.Replicas, 1),
		measured:     canonical(p.Engine),
		reads:        t.ReadFraction,
	}
	if d.reads < 0 {
		d.reads = p.ReadFraction
	}
	if p.CPU.Model == Linear || p.CPU.Model == Constant {
		d.idleCores = math.Max(0, math.Min(p.CPU.Intercept, d.cores))
	}
	if p.Busiest.Model == Linear || p.Busiest.Model == Constant {
		d.busiestIdle = math.Max(0, math.Min(p.Busiest.Intercept, d.busiest))
	}
	// Amplification: measured when the run stored enough to tell (±10%),
	// the engine's default otherwise (±30%).
	if p.LogicalBytes >= MinLogicalForAmplification && p.Amplification > 0 {
		d.amp = p.Amplification * (0.9 + 0.2*uAmp)
		d.ampSource = fmt.Sprintf("storage amplification %.2f measured (on-disk per replica ÷ logical bytes written)", p.Amplification)
	} else {
		d.amp = eng.Amplification * (0.7 + 0.6*uAmp)
		d.ampSource = fmt.Sprintf("storage amplification %.2f, the engine's default (%s): the run stored %s, too little to measure it",
			eng.Amplification, eng.Sources["amplification"], FormatBytes(p.LogicalBytes))
	}
	return d
}

// minY is the smallest observation of a fit (0 without any).
func minY(f Fit) float64 {
	if len(f.Points) == 0 {
		return 0
	}
	m := math.Inf(1)
	for _, p := range f.Points {
		m = math.Min(m, p.Y)
	}
	return m
}

// fitNotes say how far each figure is extrapolated and how uncertain it
// is there.
func fitNotes(p *Profile, qps float64, d demand) []string {
	out := []string{
		coverage("CPU", p.CPU, qps),
		coverage("busiest node's CPU", p.Busiest, qps),
	}
	if d.diskMeasured {
		out = append(out, coverage("disk operations", p.DiskOps, qps))
	}
	if d.netMeasured {
		out = append(out, coverage("network", p.Net, qps))
	}
	if p.CPU.N < 5 {
		out = append(out, fmt.Sprintf("only %d points behind the CPU fit: the P10–P90 range is wide on purpose", p.CPU.N))
	}
	return out
}

// Cheapest returns the supported offerings in order of P50.
func (est *Estimate) Cheapest() []OfferingEstimate {
	var out []OfferingEstimate
	for _, o := range est.Offerings {
		if o.Unsupported == "" {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].P50 < out[j].P50 })
	return out
}

// SurvivalTitle names a survival level for people.
func SurvivalTitle(s string) string {
	switch s {
	case SingleZone:
		return "single zone"
	case ZoneSurvival:
		return "zone survival"
	case RegionSurvival:
		return "region survival"
	}
	return strings.TrimSpace(s)
}
