package cost

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// RefLine is one figure of a reference document, recomputed from the
// catalog with the document's own assumptions.
type RefLine struct {
	Offering string `json:"offering"`
	Item     string `json:"item"`
	// Document is the figure as the document wrote it; DocLow and DocHigh
	// its value (equal unless it gave a range).
	Document string  `json:"document"`
	DocLow   float64 `json:"doc_low"`
	DocHigh  float64 `json:"doc_high"`
	// Recomputed is the catalog's figure for the same thing, Basis how it
	// was computed.
	Recomputed float64  `json:"recomputed"`
	Basis      string   `json:"basis"`
	Prices     []string `json:"prices,omitempty"`
	// Diff is (recomputed - document) / document; nil when the document
	// gives nothing to compare with (a range, or no volume).
	Diff *float64 `json:"diff,omitempty"`
	// Explanation says why the figures differ by more than
	// ReferenceTolerance, or why they cannot be compared.
	Explanation string `json:"explanation,omitempty"`
}

// ReferenceTolerance is the relative difference past which a reference
// line must be explained.
const ReferenceTolerance = 0.20

// Reference is a recomputed document.
type Reference struct {
	Name   string    `json:"name"`
	Title  string    `json:"title"`
	Cloud  string    `json:"cloud"`
	Lines  []RefLine `json:"lines"`
	Notes  []string  `json:"notes,omitempty"`
	Target Target    `json:"target"`
}

// References lists the documents --reference knows.
func References() []string { return []string{"seed"} }

// seedTarget is the seed document's workload: 100 GB at 10,000 queries a
// second. It gives no read share or row size; the recomputation assumes
// 80% reads and 1 KiB rows where it needs them, and says so.
func seedTarget() Target {
	return Target{QPS: 10000, DataBytes: 100e9, ReadFraction: 0.8, RowBytes: 1024}
}

// SeedReference recomputes the project's seed document (its comparison of
// a 100 GB, 10K QPS workload) from the catalog, for self-hosting on the
// given cloud.
func SeedReference(cat *Catalog, cloud string) (*Reference, error) {
	prm, err := loadParams(cat)
	if err != nil {
		return nil, err
	}
	t := seedTarget()
	ref := &Reference{Name: "seed", Title: "the seed document's comparison (100 GB, 10K QPS)", Cloud: cloud, Target: t}
	ref.Notes = append(ref.Notes,
		"the document names sizes but not instance types or a cloud: self-hosting is recomputed with the cheapest catalog type of that size on "+strings.ToUpper(cloud),
		"where a figure depends on the workload's mix, 80% reads and 1 KiB rows are assumed (the document gives neither)")
	r := refBuilder{cat: cat, ref: ref, cloud: cloud, t: t, prm: prm}
	for _, section := range []func() error{r.seedCockroachSelfHosted, r.seedServerless, r.seedCloudNativePG, r.seedRDS, r.seedNeon} {
		if err := section(); err != nil {
			return nil, err
		}
	}
	return ref, nil
}

// seedCockroachSelfHosted recomputes self-hosted CockroachDB: 3 × 8 vCPU/32 GB, 3 × 200 GB SSD,
// inter-region traffic, 0.2 FTE.
func (r refBuilder) seedCockroachSelfHosted() error {
	crdbCompute := r.instances("CockroachDB self-hosted", "compute: 3 × 8 vCPU / 32 GB", "≈ $600", 600, r.cloud, 8, 32, 3)
	crdbDisk := r.volume("CockroachDB self-hosted", "storage: 3 × 200 GB SSD", "≈ $60", 60, r.cloud, 600)
	crdbXR := r.interRegion("CockroachDB self-hosted", r.cloud, r.t)
	crdbEng := r.add(RefLine{Offering: "CockroachDB self-hosted", Item: "engineering: 0.2 FTE", Document: "≈ $3,000", DocLow: 3000, DocHigh: 3000,
		Recomputed: 0.2 * r.salary(), Basis: fmt.Sprintf("0.2 × $%.0f a month (BLS median wage ÷ wage share ÷ 12)", r.salary()), Prices: cites(r.prm.wage, r.prm.wageShare)},
		"the document's $15,000 a month per engineer is a loaded salary of $180,000 a year; the catalog's BLS-based figure is "+Money(r.salary()*12)+" a year")
	r.total("CockroachDB self-hosted", "≈ $3,800", 3800, crdbCompute+crdbDisk+crdbXR+crdbEng)
	return nil
}

// seedServerless recomputes CockroachDB Serverless (now Basic), 100 GB × $1 and
// 10K RU/s × $0.20.
func (r refBuilder) seedServerless() error {
	ru, err := r.cat.MustGet("cockroach/basic/request-units")
	if err != nil {
		return err
	}
	st, err := r.cat.MustGet("cockroach/basic/storage")
	if err != nil {
		return err
	}
	bStore := r.add(RefLine{Offering: "CockroachDB Serverless (Basic)", Item: "storage: 100 GB × $1", Document: "≈ $100", DocLow: 100, DocHigh: 100,
		Recomputed: gib(r.t.DataBytes) * st.Price, Basis: fmt.Sprintf("%.1f GiB × $%s/GiB-month", gib(r.t.DataBytes), trimFloat(st.Price)), Prices: cites(st)},
		fmt.Sprintf("Basic storage is $%s per GiB-month, not $1 per GB (plan-your-cluster-basic.md), and 100 GB is 93 GiB", trimFloat(st.Price)))
	ruMonth := 10000.0 * secondsPerMonth / 1e6
	perOp := DefaultRUModel().PerOp(r.t.ReadFraction, r.t.RowBytes)
	bCompute := r.add(RefLine{Offering: "CockroachDB Serverless (Basic)", Item: "compute: 10K RU/s × $0.20", Document: "≈ $200", DocLow: 200, DocHigh: 200,
		Recomputed: ruMonth * ru.Price, Basis: fmt.Sprintf("10,000 RU/s × %d s = %.0f M RU a month × $%s per million", secondsPerMonth, ruMonth, trimFloat(ru.Price)), Prices: cites(ru)},
		fmt.Sprintf("$%s is the price of a million RUs, and 10K RU/s is %.1f billion RUs a month: the document priced a month's RUs as if it were one million. "+
			"And 10K QPS is not 10K RU/s: by the published formula a 1 KiB point read costs %.2f RU and a 1 KiB write %.2f RU, so at 80%% reads the workload takes %.0f RU/s, %s a month",
			trimFloat(ru.Price), ruMonth/1000, DefaultRUModel().ReadRU(1024), DefaultRUModel().WriteRU(1024), perOp*r.t.QPS, Money(perOp*r.t.QPS*secondsPerMonth/1e6*ru.Price)))
	r.total("CockroachDB Serverless (Basic)", "≈ $300", 300, bStore+bCompute)
	return nil
}

// seedCloudNativePG recomputes self-hosted CloudNativePG: 3 × 4 vCPU/16 GB, 3 × 100 GB, 0.1 FTE.
func (r refBuilder) seedCloudNativePG() error {
	pgCompute := r.instances("CloudNativePG self-hosted", "compute: 3 × 4 vCPU / 16 GB", "≈ $300", 300, r.cloud, 4, 16, 3)
	pgDisk := r.volume("CloudNativePG self-hosted", "storage: 3 × 100 GB", "≈ $30", 30, r.cloud, 300)
	pgEng := r.add(RefLine{Offering: "CloudNativePG self-hosted", Item: "engineering: 0.1 FTE", Document: "≈ $1,500", DocLow: 1500, DocHigh: 1500,
		Recomputed: 0.1 * r.salary(), Basis: fmt.Sprintf("0.1 × $%.0f a month", r.salary()), Prices: cites(r.prm.wage, r.prm.wageShare)}, "")
	r.total("CloudNativePG self-hosted", "≈ $1,830", 1830, pgCompute+pgDisk+pgEng)
	return nil
}

// seedRDS recomputes RDS PostgreSQL Multi-AZ, db.r6g.xlarge × 2 and 100 GB gp3.
func (r refBuilder) seedRDS() error {
	cls, err := r.cat.MustGet("aws/rds/postgres/db.r6g.xlarge")
	if err != nil {
		return err
	}
	multi, err := r.cat.MustGet("aws/rds/multi-az")
	if err != nil {
		return err
	}
	ri, _ := r.cat.Get("aws/rds/commitment/1y")
	rdsInst := r.add(RefLine{Offering: "RDS PostgreSQL Multi-AZ", Item: "db.r6g.xlarge × 2", Document: "≈ $500", DocLow: 500, DocHigh: 500,
		Recomputed: cls.Price * multi.Price * HoursPerMonth, Basis: fmt.Sprintf("$%s/h × %g (Multi-AZ) × %d h", trimFloat(cls.Price), multi.Price, HoursPerMonth), Prices: cites(cls, multi)},
		fmt.Sprintf("Multi-AZ bills the primary and the standby at $%s/h each; $500 is $%.3f/h for the pair, close to the 1-year reserved rate (× %.3f = %s)",
			trimFloat(cls.Price), 500.0/HoursPerMonth/multi.Price, ri.Price, Money(cls.Price*multi.Price*HoursPerMonth*ri.Price)))
	gp3, err := r.cat.MustGet("aws/rds/gp3-multi-az")
	if err != nil {
		return err
	}
	rdsDisk := r.add(RefLine{Offering: "RDS PostgreSQL Multi-AZ", Item: "storage: 100 GB gp3", Document: "≈ $15", DocLow: 15, DocHigh: 15,
		Recomputed: 100 * gp3.Price, Basis: fmt.Sprintf("100 GB × $%s/GB-month (Multi-AZ)", trimFloat(gp3.Price)), Prices: cites(gp3)},
		fmt.Sprintf("RDS gp3 storage is $%s per GB-month Single-AZ and Multi-AZ bills both copies ($%s); $15 matches neither (nor EBS gp3's $0.08)",
			trimFloat(r.cat.byID["aws/rds/gp3"].Price), trimFloat(gp3.Price)))
	r.total("RDS PostgreSQL Multi-AZ", "≈ $515", 515, rdsInst+rdsDisk)
	return nil
}

// seedNeon recomputes Neon: 100 GB × $0.25 plus active compute, $50–200 in all.
func (r refBuilder) seedNeon() error {
	ns, err := r.cat.MustGet("neon/storage")
	if err != nil {
		return err
	}
	nl, err := r.cat.MustGet("neon/launch/compute")
	if err != nil {
		return err
	}
	nStore := r.add(RefLine{Offering: "Neon", Item: "storage: 100 GB × $0.25", Document: "≈ $25", DocLow: 25, DocHigh: 25,
		Recomputed: gb(r.t.DataBytes) * ns.Price, Basis: fmt.Sprintf("100 GB × $%s/GB-month", trimFloat(ns.Price)), Prices: cites(ns)},
		fmt.Sprintf("Neon's paid plans charge $%s per GB-month for storage (plans.md, %s)", trimFloat(ns.Price), ns.Effective))
	perCU := nl.Price * HoursPerMonth
	r.add(RefLine{Offering: "Neon", Item: "active compute", Document: "$25–175 (the rest of $50–200)", DocLow: 25, DocHigh: 175,
		Recomputed: perCU, Basis: fmt.Sprintf("one compute unit always on: $%s/CU-hour (Launch) × %d h", trimFloat(nl.Price), HoursPerMonth), Prices: cites(nl)},
		fmt.Sprintf("the document gives no CPU figure: $25–175 buys %.1f–%.1f CUs always on (at 10K QPS the compute never suspends). "+
			"How many CUs 10K QPS needs is what a measured run tells: `faultline cost --run DIR`", 25/perCU, 175/perCU))
	r.add(RefLine{Offering: "Neon", Item: "total", Document: "$50–200", DocLow: 50, DocHigh: 200, Recomputed: nStore + perCU,
		Basis: "storage plus one CU always on"}, "a range: see the compute line")
	return nil
}

// refBuilder adds lines and computes their differences.
type refBuilder struct {
	cat   *Catalog
	ref   *Reference
	cloud string
	t     Target
	prm   params
}

func (r refBuilder) salary() float64 { return r.prm.monthlySalary() }

// add appends a line, computes its difference and keeps the explanation
// only when one is owed (a difference over the tolerance, or nothing to
// compare). It returns the recomputed figure, for totals.
func (r refBuilder) add(l RefLine, explanation string) float64 {
	if l.DocLow == l.DocHigh && l.DocLow > 0 {
		d := (l.Recomputed - l.DocLow) / l.DocLow
		l.Diff = &d
		if math.Abs(d) > ReferenceTolerance+1e-9 {
			l.Explanation = explanation
			if l.Explanation == "" {
				l.Explanation = "differs by more than 20% with no known cause"
			}
		}
	} else {
		l.Explanation = explanation
	}
	r.ref.Lines = append(r.ref.Lines, l)
	return l.Recomputed
}

func (r refBuilder) total(offering, doc string, docValue, recomputed float64) {
	r.add(RefLine{Offering: offering, Item: "total", Document: doc, DocLow: docValue, DocHigh: docValue, Recomputed: recomputed, Basis: "sum of the lines above"},
		"the sum of the differences above")
}

// instances recomputes n instances of a size with the cheapest matching
// type of the cloud; when it differs by more than the tolerance, the
// explanation names the other types of that size.
func (r refBuilder) instances(offering, item, doc string, docValue float64, cloud string, vcpu, mem float64, n int) float64 {
	var match []Price
	for _, p := range instances(r.cat, servicesOf(cloud).compute) {
		if p.Attrs.VCPU == vcpu && p.Attrs.MemoryGiB == mem {
			match = append(match, p)
		}
	}
	if len(match) == 0 {
		return r.add(RefLine{Offering: offering, Item: item, Document: doc, DocLow: docValue, DocHigh: docValue, Basis: "no such size in the catalog"}, "no instance of that size in the catalog")
	}
	best := match[0]
	for _, p := range match {
		if p.Price < best.Price {
			best = p
		}
	}
	var alts []string
	for _, p := range match {
		alts = append(alts, fmt.Sprintf("%s %s", p.SKU, Money(float64(n)*p.Price*HoursPerMonth)))
	}
	rec := float64(n) * best.Price * HoursPerMonth
	return r.add(RefLine{Offering: offering, Item: item, Document: doc, DocLow: docValue, DocHigh: docValue, Recomputed: rec,
		Basis: fmt.Sprintf("%d × %s $%s/h × %d h (cheapest of: %s)", n, best.SKU, trimFloat(best.Price), HoursPerMonth, strings.Join(alts, ", ")), Prices: cites(best)},
		fmt.Sprintf("%s is $%.3f an instance-hour; no %g vCPU / %g GiB type in the catalog costs that on demand (%s); a 1- or 3-year commitment would",
			doc, docValue/float64(n)/HoursPerMonth, vcpu, mem, strings.Join(alts, ", ")))
}

// volume recomputes provisioned block storage on the cloud.
func (r refBuilder) volume(offering, item, doc string, docValue float64, cloud string, gbs float64) float64 {
	v, err := r.cat.MustGet(servicesOf(cloud).volume)
	if err != nil {
		return r.add(RefLine{Offering: offering, Item: item, Document: doc, DocLow: docValue, DocHigh: docValue}, err.Error())
	}
	return r.add(RefLine{Offering: offering, Item: item, Document: doc, DocLow: docValue, DocHigh: docValue, Recomputed: gbs * v.Price,
		Basis: fmt.Sprintf("%.0f GB %s × $%s/GB-month", gbs, v.SKU, trimFloat(v.Price)), Prices: cites(v)},
		fmt.Sprintf("%s is $%.3f per GB-month; %s is $%s", doc, docValue/gbs, v.SKU, trimFloat(v.Price)))
}

// interRegion recomputes the seed's inter-region line. The document gives
// no volume, so the line states what its figure implies and what a
// stated assumption gives instead: three nodes in three regions, each
// write's row sent to the two remote replicas, billed to the sender.
func (r refBuilder) interRegion(offering, cloud string, t Target) float64 {
	p, err := r.cat.MustGet(servicesOf(cloud).interRegion)
	if err != nil {
		return r.add(RefLine{Offering: offering, Item: "inter-region traffic", Document: "≈ $100"}, err.Error())
	}
	implied := 100 / p.Price
	bps := (1 - t.ReadFraction) * t.QPS * t.RowBytes * 2
	gbMonth := bps * secondsPerMonth / 1e9
	rec := gbMonth * p.Price
	r.add(RefLine{Offering: offering, Item: "inter-region traffic", Document: "≈ $100", DocLow: 0, DocHigh: 0, Recomputed: rec,
		Basis: fmt.Sprintf("assumed: 20%% writes × 10K ops/s × 1 KiB × 2 remote replicas = %.0f GB/month × $%s/GB", gbMonth, trimFloat(p.Price)), Prices: cites(p)},
		fmt.Sprintf("the document gives no traffic volume: $100 at $%s/GB is %.0f GB a month, %.0f bytes per operation at 10K ops/s — less than one 1 KiB row sent to one other region per write at 20%% writes. "+
			"With the stated assumption it is %s; a measured run gives the real bytes per operation", trimFloat(p.Price), implied, implied*1e9/secondsPerMonth/t.QPS, Money(rec)))
	return rec
}

func cites(ps ...Price) []string {
	var out []string
	for _, p := range ps {
		if p.ID != "" {
			out = append(out, p.Cite())
		}
	}
	return out
}

// WriteReferenceText writes a recomputed document side by side with its
// figures.
func WriteReferenceText(w io.Writer, ref *Reference) error {
	fmt.Fprintf(w, "Recomputing %s from the catalog (self-hosting on %s).\n\n", ref.Title, strings.ToUpper(ref.Cloud))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFERING\tITEM\tDOCUMENT\tRECOMPUTED\tDIFF\tBASIS")
	for _, l := range ref.Lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Offering, l.Item, l.Document, Money(l.Recomputed), diffText(l.Diff), l.Basis)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDifferences over 20%, and figures that cannot be compared:")
	for _, l := range ref.Lines {
		if l.Explanation != "" {
			fmt.Fprintf(w, "  - %s, %s (%s → %s, %s): %s\n", l.Offering, l.Item, l.Document, Money(l.Recomputed), diffText(l.Diff), l.Explanation)
		}
	}
	if len(ref.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range ref.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	fmt.Fprintln(w, "\nPrices used:")
	seen := map[string]bool{}
	for _, l := range ref.Lines {
		for _, p := range l.Prices {
			if !seen[p] {
				seen[p] = true
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
	return nil
}

func diffText(d *float64) string {
	if d == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.0f%%", 100**d)
}
