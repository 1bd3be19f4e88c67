package cost

import (
	"fmt"
	"math"
)

// primaryNeed is what one primary instance must provide at the target:
// the busiest measured node's CPU at the target utilisation, and memory.
func (e env) primaryNeed(d demand) (cores, memGiB float64) {
	cores = d.busiest / e.p.util.Price
	memGiB = gib(d.memBytes) / float64(max(d.nodes, 1)) / e.p.memUtil.Price
	return cores, math.Max(memGiB, e.engine.MinMemoryGiB)
}

// pickClass returns the cheapest class with enough vCPU and memory, or
// the largest with a note when none has.
func pickClass(b *bill, classes []Price, cores, memGiB float64) (Price, error) {
	if len(classes) == 0 {
		return Price{}, fmt.Errorf("catalog has no instance classes for this offering")
	}
	var best, largest Price
	found := false
	for _, c := range classes {
		if c.Attrs.VCPU > largest.Attrs.VCPU {
			largest = c
		}
		if c.Attrs.VCPU >= cores && c.Attrs.MemoryGiB >= memGiB && (!found || c.Price < best.Price) {
			best, found = c, true
		}
	}
	if !found {
		b.note("no class in the catalog fits a primary needing %.1f vCPU and %.0f GiB: priced with %s, which will not keep up (add read replicas or shard)", cores, memGiB, largest.SKU)
		return largest, nil
	}
	return best, nil
}

// instanceLines prices count instances of a class, the primary's need
// counted as compute and the rest as headroom (including standbys, which
// are paid for and kept idle).
func (e env) instanceLines(b *bill, class Price, count int, mult float64, ratio float64, extra []Price, what string, need float64) {
	cost := float64(count) * class.Price * mult * ratio * HoursPerMonth
	prov := float64(count) * class.Attrs.VCPU
	used := math.Min(need*e.p.util.Price, prov)
	b.add(CatCompute, cost*used/prov,
		fmt.Sprintf("%s: %d × %s at $%s/h%s%s; %.1f of %.0f vCPU used", what, count, class.SKU, trimFloat(class.Price),
			multText(mult), commitText(ratio, e.commit), used, prov),
		append([]Price{class}, extra...), fmt.Sprintf("the busiest measured node's CPU at the target: %.2f cores", need*e.p.util.Price))
	b.add(CatHeadroom, cost*(1-used/prov),
		fmt.Sprintf("instance capacity not used by the primary's load (standbys, and CPU kept free for %.0f%% utilisation)", 100*e.p.util.Price),
		[]Price{e.p.util})
}

func multText(m float64) string {
	if m == 1 {
		return ""
	}
	return fmt.Sprintf(" × %g", m)
}

// storedGB is the logical data with the engine's overhead, in GB.
func storedGB(d demand) float64 { return gb(d.logical * d.amp) }

// rds prices RDS for PostgreSQL or MySQL: Single-AZ for one zone,
// Multi-AZ (an instance and a synchronous standby, both billed) for zone
// survival, and a cross-region read replica on top for region survival.
func rds(engine string) func(e env, d demand) (bill, error) {
	return func(e env, d demand) (bill, error) {
		var b bill
		cat := e.cat
		classes := instances(cat, "aws/rds/"+engine)
		cores, mem := e.primaryNeed(d)
		class, err := pickClass(&b, classes, cores, mem)
		if err != nil {
			return b, err
		}
		ratio, cp := e.commitment(&b, "aws/rds")
		multi, err := cat.MustGet("aws/rds/multi-az")
		if err != nil {
			return b, err
		}
		storeID, iopsID := "aws/rds/gp3", "aws/rds/gp3-iops"
		mult, what := 1.0, "Single-AZ"
		if e.survive != SingleZone {
			storeID, iopsID, mult, what = "aws/rds/gp3-multi-az", "aws/rds/gp3-iops-multi-az", multi.Price, "Multi-AZ"
			cp = append(cp, multi)
		}
		e.instanceLines(&b, class, 1, mult, ratio, cp, what, cores)
		prov, err := e.rdsStorage(&b, d, storeID, iopsID)
		if err != nil {
			return b, err
		}
		if e.survive != SingleZone {
			b.add(CatCrossZone, 0, "Multi-AZ replication traffic is not billed", nil)
		}
		if e.survive == RegionSurvival {
			if err := e.rdsReplica(&b, d, class, ratio, prov); err != nil {
				return b, err
			}
		}
		b.sizing = fmt.Sprintf("%s %s, %.0f GB gp3", what, class.SKU, prov)
		if err := e.egress(&b, d); err != nil {
			return b, err
		}
		e.engineering(&b, ManagedFTE, managedFTESource)
		return b, nil
	}
}

// rdsStorage prices RDS gp3 storage, IOPS above its baseline and backups
// beyond the free allowance; it returns the provisioned GB.
func (e env) rdsStorage(b *bill, d demand, storeID, iopsID string) (float64, error) {
	store, err := e.cat.MustGet(storeID)
	if err != nil {
		return 0, err
	}
	iops, err := e.cat.MustGet(iopsID)
	if err != nil {
		return 0, err
	}
	prov := math.Max(20, math.Ceil(storedGB(d)/e.p.fill.Price))
	b.add(CatStorage, prov*store.Price, fmt.Sprintf("%.0f GB gp3 (%s × %.2f ÷ %.0f%% fill) × $%s/GB-month", prov, FormatBytes(d.logical), d.amp, 100*e.p.fill.Price, trimFloat(store.Price)),
		[]Price{store, e.p.fill}, d.ampSource)
	baseline := 3000.0
	if prov >= 400 {
		baseline = 12000
	}
	need := d.diskOps / float64(max(d.replicas, 1)) / e.p.util.Price
	extra := 0.0
	if d.diskMeasured {
		extra = math.Max(0, math.Ceil(need-baseline))
	}
	b.add(CatIOPS, extra*iops.Price, fmt.Sprintf("%.0f IOPS needed, %.0f included at %.0f GB; %.0f above × $%s", need, baseline, prov, extra, trimFloat(iops.Price)),
		[]Price{iops}, "one copy's measured disk operations per op at the target")
	bk, err := e.cat.MustGet("aws/rds/backup")
	if err != nil {
		return 0, err
	}
	over := math.Max(0, gb(d.logical)*e.p.backupCopies.Price-prov)
	b.add(CatBackups, over*bk.Price, fmt.Sprintf("%.0f GB beyond the free 100%% of provisioned storage × $%s", over, trimFloat(bk.Price)), []Price{bk, e.p.backupCopies})
	return prov, nil
}

// rdsReplica prices a cross-region read replica of one class, its
// storage and the replication stream to it.
func (e env) rdsReplica(b *bill, d demand, class Price, ratio, prov float64) error {
	e.instanceLines(b, class, 1, 1, ratio, nil, "cross-region read replica", 0)
	single, err := e.cat.MustGet("aws/rds/gp3")
	if err != nil {
		return err
	}
	b.add(CatStorage, prov*single.Price, fmt.Sprintf("the replica's %.0f GB gp3", prov), []Price{single})
	if err := e.transfer(b, d.replicationBps(2), 2, topology{regions: 2, zonesPerRegion: 1}, d.netMeasured,
		"one replication stream, from the measured bytes between nodes per copy"); err != nil {
		return err
	}
	b.note("region survival by promoting a cross-region read replica: asynchronous, so recent writes can be lost (RPO > 0)")
	return nil
}

// aurora prices Aurora (PostgreSQL or MySQL compatible), Standard (I/O
// billed per request) or I/O-Optimized (instances 30% dearer, storage
// dearer, I/O free). The cluster volume is replicated over three zones
// and billed once; zone survival adds a reader in another zone to fail
// over to, region survival a Global Database secondary.
func aurora(engine string, ioOptimized bool) func(e env, d demand) (bill, error) {
	return func(e env, d demand) (bill, error) {
		var b bill
		cat := e.cat
		cores, mem := e.primaryNeed(d)
		class, err := pickClass(&b, instances(cat, "aws/aurora/"+engine), cores, mem)
		if err != nil {
			return b, err
		}
		mult := 1.0
		var extra []Price
		storeID := "aws/aurora/storage"
		if ioOptimized {
			up, err := cat.MustGet("aws/aurora/io-optimized-uplift")
			if err != nil {
				return b, err
			}
			mult, storeID, extra = up.Price, "aws/aurora/storage-io-optimized", []Price{up}
		}
		count := map[string]int{SingleZone: 1, ZoneSurvival: 2, RegionSurvival: 3}[e.survive]
		e.instanceLines(&b, class, count, mult, 1, extra, "writer, readers to fail over to, and a secondary-region reader as the level needs", cores)
		if err := e.auroraStorage(&b, d, storeID, ioOptimized); err != nil {
			return b, err
		}
		if e.survive == RegionSurvival {
			if err := e.transfer(&b, d.replicationBps(2), 2, topology{regions: 2, zonesPerRegion: 1}, d.netMeasured,
				"Global Database replication, from the measured bytes between nodes per copy"); err != nil {
				return b, err
			}
			b.note("Global Database replicates asynchronously (typically under a second): RPO > 0 on a region failover")
		}
		b.sizing = fmt.Sprintf("%d × %s", count, class.SKU)
		if err := e.egress(&b, d); err != nil {
			return b, err
		}
		e.engineering(&b, ManagedFTE, managedFTESource)
		return b, nil
	}
}

// auroraStorage prices the cluster volume (in each region it is kept
// in), I/O requests on Standard, and backups beyond the volume.
func (e env) auroraStorage(b *bill, d demand, storeID string, ioOptimized bool) error {
	store, err := e.cat.MustGet(storeID)
	if err != nil {
		return err
	}
	g := storedGB(d)
	regions := 1.0
	if e.survive == RegionSurvival {
		regions = 2
	}
	b.add(CatStorage, regions*g*store.Price, fmt.Sprintf("%.0f GB cluster volume (billed once, six copies over three zones included) × %.0f region(s) × $%s/GB-month", g, regions, trimFloat(store.Price)),
		[]Price{store}, d.ampSource)
	ios := d.diskOps / float64(max(d.replicas, 1)) * secondsPerMonth / 1e6
	if !d.diskMeasured {
		ios = 0
	}
	if ioOptimized {
		b.add(CatIOPS, 0, "I/O-Optimized: I/O requests are not billed", nil)
	} else {
		io, err := e.cat.MustGet("aws/aurora/io")
		if err != nil {
			return err
		}
		b.add(CatIOPS, ios*io.Price, fmt.Sprintf("%.0f M I/O requests a month × $%s per million", ios, trimFloat(io.Price)),
			[]Price{io}, "one copy's measured disk operations per op as a proxy for Aurora's I/Os (8 KiB page reads, 4 KiB log writes)")
	}
	bk, err := e.cat.MustGet("aws/aurora/backup")
	if err != nil {
		return err
	}
	over := math.Max(0, gb(d.logical)*(e.p.backupCopies.Price-1))
	b.add(CatBackups, over*bk.Price, fmt.Sprintf("%.0f GB beyond the cluster volume × $%s", over, trimFloat(bk.Price)), []Price{bk, e.p.backupCopies})
	return nil
}

// cloudSQL prices Cloud SQL for PostgreSQL (Enterprise edition): zonal for
// one zone, HA (a standby in another zone, both billed in the HA rates)
// for zone survival, plus a cross-region replica for region survival.
func cloudSQL(e env, d demand) (bill, error) {
	var b bill
	cat := e.cat
	cores, mem := e.primaryNeed(d)
	vcpu := math.Max(2, 2*math.Ceil(cores/2)) // 1 or an even number; 2 at least for HA
	ram := math.Ceil(math.Max(mem, 3.75*vcpu))
	kind := "ha"
	if e.survive == SingleZone {
		kind = "zonal"
	}
	get := func(id string) Price {
		p, err := cat.MustGet(id)
		if err != nil {
			b.note("%v", err)
		}
		return p
	}
	pv, pr, ps := get("gcp/cloudsql/"+kind+"-vcpu"), get("gcp/cloudsql/"+kind+"-ram"), get("gcp/cloudsql/"+kind+"-ssd")
	ratio, cp := e.commitment(&b, "gcp/cloudsql")
	class := Price{ID: pv.ID, SKU: fmt.Sprintf("custom-%g-%g (%s)", vcpu, ram, kind), Price: vcpu*pv.Price + ram*pr.Price,
		Attrs: Attrs{VCPU: vcpu, MemoryGiB: ram}, Unit: "hour", Confidence: pv.Confidence, Effective: pv.Effective}
	e.instanceLines(&b, class, 1, 1, ratio, append([]Price{pv, pr}, cp...), "instance ("+kind+" rates include the standby)", cores)
	prov := math.Max(10, math.Ceil(storedGB(d)/e.p.fill.Price))
	b.add(CatStorage, prov*ps.Price, fmt.Sprintf("%.0f GB SSD × $%s/GB-month (%s)", prov, trimFloat(ps.Price), kind), []Price{ps, e.p.fill}, d.ampSource)
	b.add(CatIOPS, 0, "Cloud SQL SSD performance grows with size; not billed separately", nil)
	bk := get("gcp/cloudsql/backup")
	g := gb(d.logical) * e.p.backupCopies.Price
	b.add(CatBackups, g*bk.Price, fmt.Sprintf("%.0f GB × $%s/GB-month", g, trimFloat(bk.Price)), []Price{bk, e.p.backupCopies})
	if e.survive == RegionSurvival {
		zv, zr, zs := get("gcp/cloudsql/zonal-vcpu"), get("gcp/cloudsql/zonal-ram"), get("gcp/cloudsql/zonal-ssd")
		rep := Price{ID: zv.ID, SKU: fmt.Sprintf("custom-%g-%g (zonal)", vcpu, ram), Price: vcpu*zv.Price + ram*zr.Price, Attrs: Attrs{VCPU: vcpu, MemoryGiB: ram}}
		e.instanceLines(&b, rep, 1, 1, ratio, []Price{zv, zr}, "cross-region read replica", 0)
		b.add(CatStorage, prov*zs.Price, fmt.Sprintf("the replica's %.0f GB SSD", prov), []Price{zs})
		if err := e.transfer(&b, d.replicationBps(2), 2, topology{regions: 2, zonesPerRegion: 1}, d.netMeasured, "one replication stream"); err != nil {
			return b, err
		}
	}
	b.sizing = fmt.Sprintf("%s, %.0f GB SSD", class.SKU, prov)
	if err := e.egress(&b, d); err != nil {
		return b, err
	}
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}

// alloyDB prices AlloyDB for PostgreSQL: a basic (one-node) primary for
// one zone, an HA primary (two nodes, both billed) for zone survival, and
// a secondary cluster for region survival. Machine shapes have 8 GB per
// vCPU.
func alloyDB(e env, d demand) (bill, error) {
	var b bill
	cat := e.cat
	cores, mem := e.primaryNeed(d)
	vcpu := 2.0
	for vcpu < cores && vcpu < 128 {
		vcpu *= 2
	}
	ram := 8 * vcpu
	if ram < mem {
		b.note("a primary needs %.0f GiB; the %g-vCPU shape has %g GB", mem, vcpu, ram)
	}
	pv, err := cat.MustGet("gcp/alloydb/vcpu")
	if err != nil {
		return b, err
	}
	pm, err := cat.MustGet("gcp/alloydb/memory")
	if err != nil {
		return b, err
	}
	ps, err := cat.MustGet("gcp/alloydb/storage")
	if err != nil {
		return b, err
	}
	nodes := map[string]int{SingleZone: 1, ZoneSurvival: 2, RegionSurvival: 3}[e.survive]
	node := Price{ID: pv.ID, SKU: fmt.Sprintf("%g vCPU / %g GB node", vcpu, ram), Price: vcpu*pv.Price + ram*pm.Price, Attrs: Attrs{VCPU: vcpu, MemoryGiB: ram}}
	ratio, cp := e.commitment(&b, "gcp/alloydb")
	e.instanceLines(&b, node, nodes, 1, ratio, append([]Price{pv, pm}, cp...), "primary nodes (two for HA) and a secondary as the level needs", cores)
	clusters := 1.0
	if e.survive == RegionSurvival {
		clusters = 2
	}
	g := storedGB(d)
	b.add(CatStorage, clusters*g*ps.Price, fmt.Sprintf("%.0f GB regional storage × %.0f cluster(s) × $%s/GB-month", g, clusters, trimFloat(ps.Price)), []Price{ps}, d.ampSource)
	b.add(CatIOPS, 0, "AlloyDB does not bill I/O", nil)
	b.add(CatBackups, 0, "AlloyDB backup storage is not in the catalog: not priced", nil)
	b.note("AlloyDB backups are not priced: the catalog has no rate for them")
	if e.survive == RegionSurvival {
		if err := e.transfer(&b, d.replicationBps(2), 2, topology{regions: 2, zonesPerRegion: 1}, d.netMeasured, "secondary-cluster replication"); err != nil {
			return b, err
		}
	}
	b.sizing = fmt.Sprintf("%d × %s", nodes, node.SKU)
	if err := e.egress(&b, d); err != nil {
		return b, err
	}
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}

// azurePostgres prices Azure Database for PostgreSQL flexible server,
// General Purpose: one server for a zone, zone-redundant HA (a standby
// in another zone, billed like the primary, with its own storage) for
// zone survival, and a geo read replica for region survival.
func azurePostgres(e env, d demand) (bill, error) {
	var b bill
	cat := e.cat
	cores, mem := e.primaryNeed(d)
	class, err := pickClass(&b, instances(cat, "azure/postgres-flexible"), cores, mem)
	if err != nil {
		return b, err
	}
	if class.Region != "eastus" {
		b.note("the catalog prices %s in %s", class.SKU, class.Region)
	}
	servers := map[string]int{SingleZone: 1, ZoneSurvival: 2, RegionSurvival: 3}[e.survive]
	ratio, cp := e.commitment(&b, "azure/postgres-flexible")
	e.instanceLines(&b, class, servers, 1, ratio, cp, "primary, HA standby and geo replica as the level needs", cores)
	st, err := cat.MustGet("azure/postgres-flexible/storage")
	if err != nil {
		return b, err
	}
	prov := math.Max(32, math.Ceil(storedGB(d)/e.p.fill.Price))
	b.add(CatStorage, float64(servers)*prov*st.Price, fmt.Sprintf("%d × %.0f GB × $%s/GB-month", servers, prov, trimFloat(st.Price)), []Price{st, e.p.fill}, d.ampSource)
	b.add(CatIOPS, 0, "included IOPS grow with the storage size; not priced separately", nil)
	b.add(CatBackups, 0, "backup storage up to the provisioned size is free; more is not in the catalog", nil)
	if e.survive != SingleZone {
		b.add(CatCrossZone, 0, "Azure does not bill traffic between availability zones", []Price{cat.byID["azure/transfer/inter-az"]})
	}
	if e.survive == RegionSurvival {
		if err := e.transfer(&b, d.replicationBps(2), 2, topology{regions: 2, zonesPerRegion: 1}, d.netMeasured, "geo-replica stream"); err != nil {
			return b, err
		}
	}
	b.sizing = fmt.Sprintf("%d × %s, %.0f GB each", servers, class.SKU, prov)
	if err := e.egress(&b, d); err != nil {
		return b, err
	}
	e.engineering(&b, ManagedFTE, managedFTESource)
	return b, nil
}
