package cost

import (
	"fmt"
	"math"
	"strings"
)

// Clouds.
const (
	AWS   = "aws"
	GCP   = "gcp"
	Azure = "azure"
)

// Survival levels: what failure the deployment must ride out.
const (
	// SingleZone survives a node, not a zone.
	SingleZone = "none"
	// ZoneSurvival keeps serving when a zone is lost.
	ZoneSurvival = "zone"
	// RegionSurvival keeps serving when a region is lost.
	RegionSurvival = "region"
)

// SurvivalLevels lists the levels in order of strength.
func SurvivalLevels() []string { return []string{SingleZone, ZoneSurvival, RegionSurvival} }

// Commitments: on-demand, or a 1- or 3-year commitment.
const (
	NoCommitment = "none"
	OneYear      = "1y"
	ThreeYears   = "3y"
)

// Line categories of a monthly breakdown, in the order reports show them.
const (
	CatCompute     = "compute"
	CatStorage     = "storage"
	CatIOPS        = "iops"
	CatBackups     = "backups"
	CatCrossZone   = "cross-zone"
	CatCrossRegion = "cross-region"
	CatEgress      = "egress"
	CatFees        = "fees"
	CatEngineering = "engineering"
	CatHeadroom    = "headroom"
)

// Categories lists the line categories in report order.
func Categories() []string {
	return []string{CatCompute, CatStorage, CatIOPS, CatBackups, CatCrossZone, CatCrossRegion, CatEgress, CatFees, CatEngineering, CatHeadroom}
}

// HoursPerMonth is the month clouds bill by (8,760 h / 12).
const HoursPerMonth = 730

const secondsPerMonth = HoursPerMonth * 3600

// Line is one item of a monthly bill: how much, and from which prices and
// which measurements.
type Line struct {
	Category string  `json:"category"`
	Monthly  float64 `json:"monthly"`
	Detail   string  `json:"detail"`
	// Prices are the catalog entries the line used, cited with their
	// date and confidence.
	Prices []string `json:"prices,omitempty"`
	// Uses are the measurements and assumptions it rests on.
	Uses []string `json:"uses,omitempty"`
}

// bill is one offering's priced deployment for one draw of the demand.
type bill struct {
	lines  []Line
	sizing string
	notes  []string
	// unsupported says why the offering cannot meet the survival level;
	// the bill is then empty.
	unsupported string
}

func (b *bill) add(cat string, monthly float64, detail string, prices []Price, uses ...string) {
	l := Line{Category: cat, Monthly: monthly, Detail: detail, Uses: uses}
	for _, p := range prices {
		l.Prices = append(l.Prices, p.Cite())
	}
	b.lines = append(b.lines, l)
}

func (b *bill) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *bill) total() float64 {
	var t float64
	for _, l := range b.lines {
		t += l.Monthly
	}
	return t
}

// demand is the workload's need for resources at the target, as one draw
// from the profile's fits (or their means). Rates are for the measured
// cluster, with its node count and replication.
type demand struct {
	qps float64
	// CPU cores, all nodes and the busiest one, at the target rate and
	// idle (the fits' intercepts).
	cores, idleCores     float64
	busiest, busiestIdle float64
	memBytes             float64 // working set, all nodes
	diskWriteBps         float64
	diskReadBps          float64
	diskOps              float64
	netBps               float64 // between nodes, all classes
	netMeasured          bool
	diskMeasured         bool
	// amp is on-disk bytes per replica over logical bytes.
	amp       float64
	ampSource string
	reads     float64 // read share of operations
	logical   float64 // target logical bytes
	rowBytes  float64
	egress    float64 // bytes a month
	nodes     int     // measured
	replicas  int     // measured
	measured  string  // the engine that was measured
}

// perNodeIdle is the idle CPU of one measured node.
func (d demand) perNodeIdle() float64 { return d.idleCores / float64(max(d.nodes, 1)) }

// workCores is the CPU the operations themselves take, at the target,
// scaled from the measured replication to rf copies: replication work
// grows with the copies kept.
func (d demand) workCores(rf int) float64 {
	return math.Max(0, d.cores-d.idleCores) * float64(rf) / float64(max(d.replicas, 1))
}

// replicationBps is the bytes a second between nodes at the target for
// rf copies: the measured traffic scaled by the number of other copies.
func (d demand) replicationBps(rf int) float64 {
	if d.replicas <= 1 {
		return d.netBps * float64(rf-1)
	}
	return d.netBps * float64(rf-1) / float64(d.replicas-1)
}

// env is what every offering is priced in.
type env struct {
	cat     *Catalog
	cloud   string
	survive string
	commit  string
	engine  Engine
	p       params
}

// params are the modelling parameters, each a catalog entry so that its
// source is cited and a user catalog can change it.
type params struct {
	util, failUtil, fill, memUtil, backupCopies Price
	wage, wageShare                             Price
}

func loadParams(c *Catalog) (params, error) {
	var p params
	var errs []string
	get := func(id string) Price {
		v, err := c.MustGet(id)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return v
	}
	p.util = get("param/target-utilisation")
	p.failUtil = get("param/failure-utilisation")
	p.fill = get("param/target-fill")
	p.memUtil = get("param/memory-utilisation")
	p.backupCopies = get("param/backup-copies")
	p.wage = get("labor/dba/median-wage")
	p.wageShare = get("labor/wage-share")
	if len(errs) > 0 {
		return p, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	for _, f := range []Price{p.util, p.failUtil, p.fill, p.memUtil, p.wageShare} {
		if f.Price <= 0 || f.Price > 1 {
			return p, fmt.Errorf("catalog %s: %v is not a fraction in (0, 1]", f.ID, f.Price)
		}
	}
	return p, nil
}

// monthlySalary is the loaded cost of one engineer a month: the median
// wage grossed up by the wage share of total compensation.
func (p params) monthlySalary() float64 { return p.wage.Price / p.wageShare.Price / 12 }

// engineering prices fte of an engineer.
func (e env) engineering(b *bill, fte float64, source string) {
	b.add(CatEngineering, fte*e.p.monthlySalary(),
		fmt.Sprintf("%.2f FTE × $%.0f a month (median wage / wage share / 12)", fte, e.p.monthlySalary()),
		[]Price{e.p.wage, e.p.wageShare}, source)
}

// topology is the layout a survival level asks for.
type topology struct {
	regions, zonesPerRegion int
}

func topologyFor(survive string) topology {
	switch survive {
	case ZoneSurvival:
		return topology{regions: 1, zonesPerRegion: 3}
	case RegionSurvival:
		return topology{regions: 3, zonesPerRegion: 3}
	}
	return topology{regions: 1, zonesPerRegion: 1}
}

func (t topology) zones() int { return t.regions * t.zonesPerRegion }

// domains is how many failure domains the layout must survive losing
// one of (0: none).
func (t topology) domains(survive string) int {
	switch survive {
	case ZoneSurvival:
		return t.zonesPerRegion
	case RegionSurvival:
		return t.regions
	}
	return 0
}

// classShares splits traffic from one node to the n-1 others, spread
// evenly over the layout's zones, into same-zone, cross-zone and
// cross-region shares.
func (t topology) classShares(n int) (same, crossZone, crossRegion float64) {
	if n <= 1 {
		return 1, 0, 0
	}
	perRegion := float64(n) / float64(t.regions)
	perZone := perRegion / float64(t.zonesPerRegion)
	others := float64(n - 1)
	crossRegion = (float64(n) - perRegion) / others
	crossZone = (perRegion - perZone) / others
	same = 1 - crossRegion - crossZone
	return same, crossZone, crossRegion
}

// transfer prices bytes a second between nodes of one deployment,
// split by the layout, under the cloud's billing rule for each class.
func (e env) transfer(b *bill, bps float64, n int, t topology, measured bool, what string) error {
	_, cz, cr := t.classShares(n)
	gbMonth := bps * secondsPerMonth / 1e9
	uses := []string{what}
	if !measured {
		uses = append(uses, "network not measured: priced as zero")
		gbMonth = 0
	}
	svc := servicesOf(e.cloud)
	if cz > 0 {
		p, err := e.cat.MustGet(svc.interZone)
		if err != nil {
			return err
		}
		mult, rule := 1.0, "billed to the sender"
		if svc.senderAndReceiverPay {
			mult, rule = 2, "billed out and in"
		}
		gb := gbMonth * cz
		b.add(CatCrossZone, gb*p.Price*mult,
			fmt.Sprintf("%.0f GB/month cross-zone (%.0f%% of %s) × $%s/GB, %s", gb, 100*cz, FormatBytes(bps)+"/s", trimFloat(p.Price), rule),
			[]Price{p}, uses...)
	}
	if cr > 0 {
		p, err := e.cat.MustGet(svc.interRegion)
		if err != nil {
			return err
		}
		gb := gbMonth * cr
		b.add(CatCrossRegion, gb*p.Price,
			fmt.Sprintf("%.0f GB/month cross-region (%.0f%% of %s) × $%s/GB, billed to the sender", gb, 100*cr, FormatBytes(bps)+"/s", trimFloat(p.Price)),
			[]Price{p}, uses...)
	}
	return nil
}

// egress prices the target's internet egress on the cloud.
func (e env) egress(b *bill, d demand) error {
	if d.egress <= 0 {
		return nil
	}
	p, err := e.cat.MustGet(servicesOf(e.cloud).internet)
	if err != nil {
		return err
	}
	gb := d.egress / 1e9
	b.add(CatEgress, gb*p.Price, fmt.Sprintf("%.0f GB/month to the internet × $%s/GB", gb, trimFloat(p.Price)), []Price{p}, "target egress")
	return nil
}

// commitment returns the ratio a commitment multiplies a service's
// on-demand price by (1 with a note when the catalog has none).
func (e env) commitment(b *bill, service string) (float64, []Price) {
	if e.commit == NoCommitment || e.commit == "" {
		return 1, nil
	}
	p, ok := e.cat.Get(service + "/commitment/" + e.commit)
	if !ok {
		b.note("no %s commitment price for %s in the catalog: priced on demand", e.commit, service)
		return 1, nil
	}
	return p.Price, []Price{p}
}

func gib(bytes float64) float64 { return bytes / (1 << 30) }
func gb(bytes float64) float64  { return bytes / 1e9 }
