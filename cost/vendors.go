package cost

import (
	"fmt"
	"math"
)

// RUModel is CockroachDB Cloud's published request-unit formula
// (cockroachdb/docs, cockroachcloud/resource-usage-basic.md): 1 RU is
// 3 ms of SQL CPU, 1 KiB of egress to the client, 2 storage read batches,
// 8 read requests, 64 KiB read, 1 write batch, 1 write request or 1 KiB
// written — every write counted once per replica.
type RUModel struct {
	// SQL CPU per statement, in milliseconds. The defaults are what the
	// docs' own examples imply once their storage I/O is taken out: a
	// 64-byte point read costs 1.03 RU, a 64-byte insert 6.71 RU
	// (learn-about-request-units.md).
	ReadCPUms, WriteCPUms float64
	// Replicas each write is counted for.
	Replicas int
}

// DefaultRUModel is the model with the SQL CPU the published examples
// imply and three replicas.
func DefaultRUModel() RUModel { return RUModel{ReadCPUms: 1.0, WriteCPUms: 1.4, Replicas: 3} }

// ReadRU is the RUs of a point read of a row of the given size: one read
// batch, one request, the payload and the row sent back to the client.
func (m RUModel) ReadRU(rowBytes float64) float64 {
	kib := rowBytes / 1024
	return m.ReadCPUms/3 + 1.0/2 + 1.0/8 + kib/64 + kib
}

// WriteRU is the RUs of a single-row write: a batch, a request and the
// payload on every replica, and a small reply.
func (m RUModel) WriteRU(rowBytes float64) float64 {
	kib := rowBytes / 1024
	const replyKiB = 50.0 / 1024
	return m.WriteCPUms/3 + float64(m.Replicas)*(1+1+kib) + replyKiB
}

// PerOp is the mean RUs of one operation with the given read share.
func (m RUModel) PerOp(reads, rowBytes float64) float64 {
	return reads*m.ReadRU(rowBytes) + (1-reads)*m.WriteRU(rowBytes)
}

// RUsPerVCPU is CockroachDB Standard's conversion of provisioned
// capacity: about 500 RU/s per vCPU (plan-your-cluster.md).
const RUsPerVCPU = 500

// crdbBasic prices CockroachDB Basic: request units from the published
// formula, and logical storage. It always spreads over three zones; a
// multi-region cluster keeps one more replica per extra region.
func crdbBasic(e env, d demand) (bill, error) {
	var b bill
	ru, err := e.cat.MustGet("cockroach/basic/request-units")
	if err != nil {
		return b, err
	}
	st, err := e.cat.MustGet("cockroach/basic/storage")
	if err != nil {
		return b, err
	}
	alwaysZones(&e, &b, "Basic")
	m := DefaultRUModel()
	storeMult := 1.0
	if e.survive == RegionSurvival {
		m.Replicas = 5
		storeMult = 5.0 / 3
	}
	perOp := m.PerOp(d.reads, d.rowBytes)
	rus := perOp * d.qps
	monthly := rus * secondsPerMonth / 1e6
	b.add(CatCompute, monthly*ru.Price,
		fmt.Sprintf("%.0f RU/s (%.2f RU per op: reads %.2f, writes %.2f, %.0f%% reads, %s rows, %d replicas) = %.0f M RU/month × $%s per million",
			rus, perOp, m.ReadRU(d.rowBytes), m.WriteRU(d.rowBytes), 100*d.reads, FormatBytes(d.rowBytes), m.Replicas, monthly, trimFloat(ru.Price)),
		[]Price{ru}, "CockroachDB's published RU formula; target read share and row size", "SQL CPU per statement implied by the docs' examples")
	g := gib(d.logical) * storeMult
	b.add(CatStorage, g*st.Price, fmt.Sprintf("%.0f GiB logical%s × $%s/GiB-month", g, multNote(storeMult), trimFloat(st.Price)), []Price{st})
	b.add(CatIOPS, 0, "storage I/O is in the request units", nil)
	b.add(CatBackups, 0, "daily backups are included in the request units", nil)
	b.add(CatCrossZone, 0, "data transfer is in the request units", nil)
	b.sizing = fmt.Sprintf("%.0f RU/s, %.0f GiB", rus, g)
	b.note("priced from CockroachDB's published RU formula, not from the measured resources: the measurements only give the read share")
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}

// alwaysZones prices an offering that always spans three zones as for
// zone survival when a single zone was asked for, and says so.
func alwaysZones(e *env, b *bill, name string) {
	if e.survive == SingleZone {
		e.survive = ZoneSurvival
		b.note("%s always spans three zones: a single zone is priced as zone survival", name)
	}
}

func multNote(m float64) string {
	if m == 1 {
		return ""
	}
	return fmt.Sprintf(" × %.2f (extra-region replicas)", m)
}

// crdbVCPUs is the vCPUs a CockroachDB deployment needs for the target:
// measured cores when the run was CockroachDB, else the RU formula's
// equivalent at 500 RU/s per vCPU.
func crdbVCPUs(e env, d demand, replicas int) (float64, string) {
	if d.measured == "cockroachdb" {
		return (d.perNodeIdle()*3 + d.workCores(replicas)) / e.p.util.Price, "measured CockroachDB cores at the target"
	}
	m := DefaultRUModel()
	m.Replicas = replicas
	rus := m.PerOp(d.reads, d.rowBytes) * d.qps
	return rus / RUsPerVCPU / e.p.util.Price, fmt.Sprintf("%.0f RU/s from the published formula at 500 RU/s per vCPU (the run measured %s, not CockroachDB)", rus, d.measured)
}

// crdbTransfer prices CockroachDB Cloud's data transfer between zones and
// regions at the cloud's list prices, as Standard and Advanced bill it.
func crdbTransfer(e env, b *bill, d demand, nodes, replicas int) error {
	bps := d.replicationBps(replicas)
	what := "replication: measured bytes between nodes"
	measured := d.netMeasured
	if d.measured != "cockroachdb" {
		// One write's payload to every other replica.
		bps = (1 - d.reads) * d.qps * d.rowBytes * float64(replicas-1)
		what = "replication: each write's row to every other replica (the run did not measure CockroachDB)"
		measured = true
	}
	return e.transfer(b, bps, nodes, topologyFor(e.survive), measured, what)
}

// crdbStandard prices CockroachDB Standard: provisioned vCPUs, logical
// storage (the second and third replicas free, further ones billed), and
// data transfer at the cloud's list price.
func crdbStandard(e env, d demand) (bill, error) {
	var b bill
	vp, err := e.cat.MustGet("cockroach/standard/vcpu")
	if err != nil {
		return b, err
	}
	st, err := e.cat.MustGet("cockroach/standard/storage")
	if err != nil {
		return b, err
	}
	alwaysZones(&e, &b, "Standard")
	replicas := 3
	if e.survive == RegionSurvival {
		replicas = 5
	}
	need, why := crdbVCPUs(e, d, replicas)
	vcpus := math.Max(2, math.Ceil(need))
	cost := vcpus * vp.Price * HoursPerMonth
	used := need * e.p.util.Price
	b.add(CatCompute, cost*used/vcpus, fmt.Sprintf("%.0f vCPU provisioned × $%s/vCPU-hour; %.1f used", vcpus, trimFloat(vp.Price), used), []Price{vp, e.p.util}, why)
	b.add(CatHeadroom, cost*(1-used/vcpus), "provisioned capacity above the load", []Price{e.p.util})
	mult := 1.0 + float64(replicas-3)
	g := gib(d.logical)
	b.add(CatStorage, g*mult*st.Price, fmt.Sprintf("%.0f GiB logical × %.0f (replicas beyond three) × $%s/GiB-month", g, mult, trimFloat(st.Price)), []Price{st})
	b.add(CatIOPS, 0, "IOPS are in the storage price", nil)
	b.add(CatBackups, 0, "managed backups are not billed during the usage-based billing preview (costs.md)", nil)
	if err := crdbTransfer(e, &b, d, 3*topologyFor(e.survive).regions, replicas); err != nil {
		return b, err
	}
	b.sizing = fmt.Sprintf("%.0f vCPU, %.0f GiB", vcpus, g)
	if err := e.egress(&b, d); err != nil {
		return b, err
	}
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}

// crdbAdvanced prices CockroachDB Advanced: dedicated nodes of a chosen
// size (three per region at least), provisioned storage per node, and
// data transfer at the cloud's list price.
func crdbAdvanced(e env, d demand) (bill, error) {
	var b bill
	st, err := e.cat.MustGet("cockroach/advanced/storage")
	if err != nil {
		return b, err
	}
	alwaysZones(&e, &b, "Advanced")
	replicas, minNodes, step := 3, 3, 3
	if e.survive == RegionSurvival {
		replicas, minNodes, step = 5, 9, 9
	}
	need, why := crdbVCPUs(e, d, replicas)
	var best Price
	bestN, bestCost := 0, math.Inf(1)
	for _, node := range e.cat.Find("cockroach/advanced/node-") {
		v := node.Attrs.VCPU
		n := minNodes
		k := topologyFor(e.survive).domains(e.survive)
		for ; n < 3000; n += step {
			lost := 0
			if k > 0 {
				lost = n / k
			}
			if float64(n)*v >= need && float64(n-lost)*v*e.p.failUtil.Price >= need*e.p.util.Price {
				break
			}
		}
		if c := float64(n) * node.Price; c < bestCost {
			best, bestN, bestCost = node, n, c
		}
	}
	if bestN == 0 {
		return b, fmt.Errorf("catalog has no CockroachDB Advanced node prices")
	}
	cost := bestCost * HoursPerMonth
	prov := float64(bestN) * best.Attrs.VCPU
	used := math.Min(need*e.p.util.Price, prov)
	b.add(CatCompute, cost*used/prov, fmt.Sprintf("%d × %s at $%s/h; %.1f of %.0f vCPU used", bestN, best.SKU, trimFloat(best.Price), used, prov), []Price{best}, why)
	b.add(CatHeadroom, cost*(1-used/prov), "node capacity above the load, kept for utilisation and failures", []Price{e.p.util, e.p.failUtil})
	perNode := math.Ceil(gib(d.logical*d.amp*float64(replicas)/float64(bestN)) / e.p.fill.Price)
	b.add(CatStorage, float64(bestN)*perNode*st.Price*HoursPerMonth,
		fmt.Sprintf("%d × %.0f GiB per node × $%s/GiB-hour", bestN, perNode, trimFloat(st.Price)), []Price{st, e.p.fill}, d.ampSource)
	b.add(CatIOPS, 0, "IOPS are provisioned with storage (extra on AWS not priced)", nil)
	b.add(CatBackups, 0, "managed backups are not billed during the usage-based billing preview (costs.md)", nil)
	if err := crdbTransfer(e, &b, d, bestN, replicas); err != nil {
		return b, err
	}
	b.sizing = fmt.Sprintf("%d × %s, %.0f GiB each", bestN, best.SKU, perNode)
	if err := e.egress(&b, d); err != nil {
		return b, err
	}
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}

// neon prices Neon's Scale plan: compute-unit hours (1 CU is 1 vCPU and
// about 4 GB; at a steady load the compute never scales to zero) and
// logical storage. Neon's storage is replicated over zones, its compute
// restarts elsewhere after a zone failure; it offers no region failover.
func neon(e env, d demand) (bill, error) {
	var b bill
	if e.survive == RegionSurvival {
		b.unsupported = "Neon has no cross-region failover"
		return b, nil
	}
	cu, err := e.cat.MustGet("neon/scale/compute")
	if err != nil {
		return b, err
	}
	st, err := e.cat.MustGet("neon/storage")
	if err != nil {
		return b, err
	}
	cores, mem := e.primaryNeed(d)
	units := math.Max(math.Ceil(4*cores)/4, math.Ceil(mem/4*4)/4)
	units = math.Max(units, 0.25)
	total := units * HoursPerMonth * cu.Price
	used := math.Min(d.busiest, units)
	b.add(CatCompute, total*used/units,
		fmt.Sprintf("%.2f CU always on × %d h × $%s/CU-hour; %.2f CU of work", units, HoursPerMonth, trimFloat(cu.Price), used), []Price{cu},
		fmt.Sprintf("the busiest measured node's CPU at the target: %.2f cores", d.busiest))
	b.add(CatHeadroom, total*(1-used/units), "compute units kept for the target utilisation", []Price{e.p.util})
	g := gb(d.logical)
	b.add(CatStorage, g*st.Price, fmt.Sprintf("%.0f GB logical × $%s/GB-month", g, trimFloat(st.Price)), []Price{st})
	b.add(CatIOPS, 0, "I/O is not billed", nil)
	b.add(CatBackups, 0, "history for point-in-time restore within the plan's window; longer retention not priced", nil)
	if units > 16 {
		b.note("%.2f CU is more than one Neon compute autoscales to (16 CU on the plans read): the workload needs read replicas or sharding", units)
	}
	if e.survive == ZoneSurvival {
		b.note("zone survival: storage survives a zone, compute restarts in another (seconds to minutes of unavailability)")
	}
	b.sizing = fmt.Sprintf("%.2f CU, %.0f GB", units, g)
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}

// planetScale prices a PlanetScale cluster (Postgres, or Vitess for
// MySQL): a primary and two replicas in three zones in every size, sizes
// doubling from PS-10 (1/8 vCPU, 1 GB); Vitess shards when one size is not
// enough. Per-size prices are derived from PS-10's in proportion to vCPUs.
func planetScale(product string) func(e env, d demand) (bill, error) {
	return func(e env, d demand) (bill, error) {
		var b bill
		if e.survive == RegionSurvival {
			b.unsupported = "read-only regions are not a failover target, and their price is not in the catalog"
			return b, nil
		}
		id := "planetscale/postgres/ps-10-ha"
		if product == "vitess" {
			id = "planetscale/vitess/ps-10"
		}
		base, err := e.cat.MustGet(id)
		if err != nil {
			return b, err
		}
		st, err := e.cat.MustGet("planetscale/storage")
		if err != nil {
			return b, err
		}
		alwaysZones(&e, &b, "PlanetScale")
		cores, mem := e.primaryNeed(d)
		vcpu, shards := base.Attrs.VCPU, 1.0
		for vcpu < cores || 8*vcpu < mem {
			if vcpu >= 64 {
				if product != "vitess" {
					b.note("a primary needs %.1f vCPU, more than the largest size (64 vCPU)", cores)
					break
				}
				shards = math.Ceil(cores / vcpu)
				break
			}
			vcpu *= 2
		}
		size := fmt.Sprintf("PS-%.0f", vcpu*80)
		monthly := base.Price * vcpu / base.Attrs.VCPU * shards
		used := math.Min(d.busiest, vcpu*shards)
		prov := 3 * vcpu * shards
		b.add(CatCompute, monthly*used/prov, fmt.Sprintf("%.0f shard(s) of %s (%g vCPU × 3 instances) at $%.0f a month each (derived from %s $%s)",
			shards, size, vcpu, monthly/shards, base.SKU, trimFloat(base.Price)), []Price{base},
			fmt.Sprintf("the busiest measured node's CPU at the target: %.2f cores", d.busiest))
		b.add(CatHeadroom, monthly*(1-used/prov), "replicas and CPU kept free", []Price{e.p.util})
		g := math.Max(0, storedGB(d)-10)
		b.add(CatStorage, g*st.Price, fmt.Sprintf("%.0f GB beyond the included 10 GB × $%s/GB-month (all three instances)", g, trimFloat(st.Price)), []Price{st}, d.ampSource)
		b.add(CatIOPS, 0, "I/O is not billed", nil)
		b.add(CatBackups, 0, "daily backups included", nil)
		b.sizing = fmt.Sprintf("%.0f × %s", shards, size)
		if err := e.egress(&b, d); err != nil {
			return b, err
		}
		e.engineering(&b, ManagedFTE, managedFTESource)
		return b, nil
	}
}
