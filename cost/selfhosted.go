package cost

import (
	"fmt"
	"math"
)

// cloudServices names the catalog entries self-hosting uses on each cloud.
type cloudServices struct {
	compute, volume, volumeIOPS, volumeMBps, object, controlPlane string
	interZone, interRegion, internet                              string
	kubernetes                                                    string
	// senderAndReceiverPay is AWS's rule for traffic between zones: both
	// ends are billed; GCP bills the sender, Azure neither.
	senderAndReceiverPay bool
}

func servicesOf(cloud string) cloudServices {
	switch cloud {
	case GCP:
		return cloudServices{compute: "gcp/gce", volume: "gcp/pd/balanced", object: "gcp/gcs/standard",
			controlPlane: "gcp/gke/cluster-fee", kubernetes: "GKE",
			interZone: "gcp/transfer/inter-zone", interRegion: "gcp/transfer/inter-region", internet: "gcp/transfer/internet"}
	case Azure:
		return cloudServices{compute: "azure/vm", volume: "azure/disk/premium-ssd-v2",
			volumeIOPS: "azure/disk/premium-ssd-v2-iops", volumeMBps: "azure/disk/premium-ssd-v2-throughput",
			object: "azure/blob/hot-lrs", controlPlane: "azure/aks/standard-tier", kubernetes: "AKS",
			interZone: "azure/transfer/inter-az", interRegion: "azure/transfer/inter-region", internet: "azure/transfer/internet"}
	}
	return cloudServices{compute: "aws/ec2", volume: "aws/ebs/gp3", volumeIOPS: "aws/ebs/gp3-iops",
		volumeMBps: "aws/ebs/gp3-throughput", object: "aws/s3/standard", controlPlane: "aws/eks/control-plane", kubernetes: "EKS",
		interZone: "aws/transfer/inter-az", interRegion: "aws/transfer/inter-region", internet: "aws/transfer/internet",
		senderAndReceiverPay: true}
}

// instances lists the priced instance types under a catalog prefix.
func instances(c *Catalog, prefix string) []Price {
	var out []Price
	for _, p := range c.Find(prefix + "/") {
		if p.Attrs.VCPU > 0 && p.Unit == "hour" && p.Purchase == OnDemand {
			out = append(out, p)
		}
	}
	return out
}

// layout is a self-hosted cluster sized for one instance type.
type layout struct {
	inst      Price
	nodes     int
	rf        int     // copies of the data
	needCores float64 // CPU the load needs, all nodes
	volGB     float64 // provisioned per node
	storedGB  float64 // data per node
	iops      float64 // needed per node
	mbps      float64 // needed per node
	fits      bool
	why       string
	monthly   float64 // instances and volumes, for choosing
}

// selfHosted prices running the measured engine on the cloud's managed
// Kubernetes: it tries every instance type in the catalog and keeps the
// cheapest layout that fits.
func selfHosted(e env, d demand) (bill, error) {
	var b bill
	svc := servicesOf(e.cloud)
	topo := topologyFor(e.survive)
	eng := e.engine
	vol, err := e.cat.MustGet(svc.volume)
	if err != nil {
		return b, err
	}
	ratio, commitPrices := e.commitment(&b, svc.compute)
	l, err := chooseLayout(e, d, svc, vol, topo, ratio)
	if err != nil {
		return b, err
	}
	if eng.MaxDataBytes > 0 && d.logical > eng.MaxDataBytes {
		b.note("%s holds at most %s (%s): %s of data is beyond it", eng.Title, FormatBytes(eng.MaxDataBytes), eng.Sources["max_data"], FormatBytes(d.logical))
	}
	if !l.fits {
		b.note("no instance type in the catalog fits: %s; priced with the largest, which will not keep up", l.why)
	}
	b.sizing = fmt.Sprintf("%d × %s (%g vCPU, %g GiB) in %d zone(s) of %d region(s), %.0f GB %s each; %d copies of the data",
		l.nodes, l.inst.SKU, l.inst.Attrs.VCPU, l.inst.Attrs.MemoryGiB, topo.zones(), topo.regions, l.volGB, vol.SKU, l.rf)
	headroom := e.clusterLines(&b, d, l, vol, ratio, commitPrices)
	if err := e.volumePerformance(&b, d, l, vol, svc); err != nil {
		return b, err
	}
	if err := e.backups(&b, d, svc.object); err != nil {
		return b, err
	}
	if err := e.transfer(&b, d.replicationBps(l.rf), l.nodes, topo, d.netMeasured,
		fmt.Sprintf("replication traffic: measured bytes between nodes scaled from %d to %d copies", d.replicas, l.rf)); err != nil {
		return b, err
	}
	if err := e.egress(&b, d); err != nil {
		return b, err
	}
	cp, err := e.cat.MustGet(svc.controlPlane)
	if err != nil {
		return b, err
	}
	b.add(CatFees, float64(topo.regions)*cp.Price*HoursPerMonth,
		fmt.Sprintf("%d %s cluster(s), one per region, × $%s/h", topo.regions, svc.kubernetes, trimFloat(cp.Price)), []Price{cp})
	e.engineering(&b, eng.FTE, eng.Sources["fte"])
	b.add(CatHeadroom, headroom,
		fmt.Sprintf("capacity kept free: CPU for %.0f%% utilisation and for losing a %s, storage for %.0f%% fill",
			100*e.p.util.Price, domainName(e.survive), 100*e.p.fill.Price),
		[]Price{e.p.util, e.p.failUtil, e.p.fill})
	return b, nil
}

// chooseLayout sizes the cluster on every instance type in the catalog
// and keeps the cheapest that fits (instances and volumes).
func chooseLayout(e env, d demand, svc cloudServices, vol Price, topo topology, ratio float64) (layout, error) {
	var best *layout
	for _, inst := range instances(e.cat, svc.compute) {
		l := sizeSelfHosted(e, d, inst, vol, topo)
		l.monthly = float64(l.nodes) * (inst.Price*ratio*HoursPerMonth + l.volGB*vol.Price)
		if best == nil || better(l, *best) {
			lc := l
			best = &lc
		}
	}
	if best == nil {
		return layout{}, fmt.Errorf("catalog has no instance types under %s/", svc.compute)
	}
	return *best, nil
}

// clusterLines prices the instances and their volumes, each split into
// what the load uses and the headroom kept for the target utilisation,
// for surviving a failure and for the target fill; it returns the
// headroom.
func (e env) clusterLines(b *bill, d demand, l layout, vol Price, ratio float64, commitPrices []Price) float64 {
	computeCost := float64(l.nodes) * l.inst.Price * ratio * HoursPerMonth
	provisioned := float64(l.nodes) * l.inst.Attrs.VCPU
	used := math.Min(l.needCores, provisioned)
	b.add(CatCompute, computeCost*used/provisioned,
		fmt.Sprintf("%.1f of %.0f vCPU used: %d × %s at $%s/h%s", used, provisioned, l.nodes, l.inst.SKU, trimFloat(l.inst.Price), commitText(ratio, e.commit)),
		append([]Price{l.inst}, commitPrices...),
		fmt.Sprintf("CPU %.2f cores at the target (fit of the measured cores against ops/s)", l.needCores))
	storageCost := float64(l.nodes) * l.volGB * vol.Price
	b.add(CatStorage, storageCost*l.storedGB/l.volGB,
		fmt.Sprintf("%.0f GB stored per node (%s logical × %.2f amplification × %d copies ÷ %d nodes) of %.0f GB provisioned × $%s/GB-month",
			l.storedGB, FormatBytes(d.logical), d.amp, l.rf, l.nodes, l.volGB, trimFloat(vol.Price)),
		[]Price{vol, e.p.fill}, d.ampSource)
	return computeCost*(1-used/provisioned) + storageCost*(1-l.storedGB/l.volGB)
}

// better prefers a layout that fits, then the cheaper; among layouts
// that do not fit, the biggest instance.
func better(a, b layout) bool {
	switch {
	case a.fits != b.fits:
		return a.fits
	case a.fits:
		return a.monthly < b.monthly
	case a.inst.Attrs.VCPU != b.inst.Attrs.VCPU:
		return a.inst.Attrs.VCPU > b.inst.Attrs.VCPU
	}
	return a.inst.Attrs.MemoryGiB > b.inst.Attrs.MemoryGiB
}

func commitText(ratio float64, commit string) string {
	if ratio == 1 {
		return ""
	}
	return fmt.Sprintf(" × %.3f (%s commitment)", ratio, commit)
}

func domainName(survive string) string {
	switch survive {
	case ZoneSurvival:
		return "zone"
	case RegionSurvival:
		return "region"
	}
	return "node"
}

// sizeSelfHosted lays the cluster out on one instance type.
func sizeSelfHosted(e env, d demand, inst, vol Price, topo topology) layout {
	eng := e.engine
	l := layout{inst: inst, fits: true}
	util, failUtil := e.p.util.Price, e.p.failUtil.Price
	v := inst.Attrs.VCPU
	minNodes := eng.MinNodes
	rf := eng.RF
	if e.survive == RegionSurvival {
		minNodes, rf = eng.RegionNodes, eng.RegionRF
	}
	// A scale-out engine's nodes are spread evenly over the zones; an
	// engine that keeps a full copy per node runs its fixed members.
	step := topo.zones()
	if eng.ScaleOut {
		minNodes = roundUp(max(minNodes, step), step)
	}
	var memNeed float64 // GiB per node
	if eng.ScaleOut {
		l.nodes = minNodes
		for ; l.nodes <= 3000; l.nodes += step {
			l.needCores = d.perNodeIdle()*float64(l.nodes) + d.workCores(rf)
			lost := 0
			if k := topo.domains(e.survive); k > 0 {
				lost = l.nodes / k
			}
			if float64(l.nodes)*v*util >= l.needCores && float64(l.nodes-lost)*v*failUtil >= l.needCores {
				break
			}
		}
		if l.nodes > 3000 {
			l.fits, l.why = false, fmt.Sprintf("%s needs more than 3,000 nodes", inst.SKU)
			l.nodes = 3000
		}
		memNeed = gib(d.memBytes) / float64(max(d.nodes, 1)) / e.p.memUtil.Price
	} else {
		l.nodes = minNodes
		// Every node must carry the primary's load: it may become it.
		// The others replay what it writes, as the measured non-busiest
		// nodes did.
		busy := d.busiest
		other := math.Max(0, d.cores-d.busiest) / float64(max(d.nodes-1, 1))
		l.needCores = busy + other*float64(l.nodes-1)
		if busy > v*util {
			l.fits, l.why = false, fmt.Sprintf("the primary needs %.1f cores, %.0f%% of %s's %g vCPU is %.1f", busy, 100*util, inst.SKU, v, v*util)
		}
		memNeed = gib(d.memBytes) / float64(max(d.nodes, 1)) / e.p.memUtil.Price
		rf = l.nodes
	}
	memNeed = math.Max(memNeed, math.Max(eng.MinMemoryGiB, eng.MemPerVCPU*v))
	if inst.Attrs.MemoryGiB < memNeed-1e-9 {
		l.fits = false
		l.why = fmt.Sprintf("%s has %g GiB, a node needs %.1f GiB", inst.SKU, inst.Attrs.MemoryGiB, memNeed)
	}
	l.rf = rf
	sizeVolumes(e, d, &l, vol)
	return l
}

// sizeVolumes gives each node its share of every copy of the data, kept
// below the target fill, and works out the disk work each node does at
// the target with the same headroom as CPU; volumes whose performance
// grows with size are made big enough for it.
func sizeVolumes(e env, d demand, l *layout, vol Price) {
	stored := d.logical * d.amp * float64(l.rf) / float64(l.nodes)
	l.storedGB = gb(stored)
	l.volGB = math.Ceil(l.storedGB / e.p.fill.Price)
	share := float64(l.rf) / float64(max(d.replicas, 1)) / float64(l.nodes)
	l.iops = d.diskOps * share / e.p.util.Price
	l.mbps = (d.diskWriteBps + d.diskReadBps) * share / e.p.util.Price / 1e6
	if a := vol.Attrs; a.IOPSPerGB > 0 && l.iops > a.BaselineIOPS {
		l.volGB = math.Max(l.volGB, math.Ceil((l.iops-a.BaselineIOPS)/a.IOPSPerGB))
	}
	if a := vol.Attrs; a.MBpsPerGB > 0 && l.mbps > a.BaselineMBps {
		l.volGB = math.Max(l.volGB, math.Ceil((l.mbps-a.BaselineMBps)/a.MBpsPerGB))
	}
	l.volGB = math.Max(l.volGB, 10)
}

func roundUp(n, step int) int {
	if step <= 1 {
		return n
	}
	return (n + step - 1) / step * step
}

// volumePerformance prices IOPS and throughput above the volumes'
// included baseline.
func (e env) volumePerformance(b *bill, d demand, l layout, vol Price, svc cloudServices) error {
	uses := []string{fmt.Sprintf("%.0f IOPS and %.1f MB/s per node at the target (measured disk operations and bytes per op)", l.iops, l.mbps)}
	if !d.diskMeasured {
		uses = append(uses, "disk I/O not measured: priced as zero")
	}
	a := vol.Attrs
	if max := a.MaxIOPS; max > 0 && l.iops > max {
		b.note("a node needs %.0f IOPS, more than one %s volume's %.0f: stripe volumes or pick a faster type", l.iops, vol.SKU, max)
	}
	if svc.volumeIOPS == "" {
		b.add(CatIOPS, 0, fmt.Sprintf("%s includes %.0f IOPS + %.0f/GB and %.0f MB/s + %.2f/GB: volumes sized to cover the need",
			vol.SKU, a.BaselineIOPS, a.IOPSPerGB, a.BaselineMBps, a.MBpsPerGB), []Price{vol}, uses...)
		return nil
	}
	ip, err := e.cat.MustGet(svc.volumeIOPS)
	if err != nil {
		return err
	}
	tp, err := e.cat.MustGet(svc.volumeMBps)
	if err != nil {
		return err
	}
	extraIOPS, extraMBps := 0.0, 0.0
	if d.diskMeasured {
		extraIOPS = math.Max(0, math.Ceil(l.iops-a.BaselineIOPS))
		extraMBps = math.Max(0, math.Ceil(l.mbps-a.BaselineMBps))
	}
	n := float64(l.nodes)
	b.add(CatIOPS, n*(extraIOPS*ip.Price+extraMBps*tp.Price),
		fmt.Sprintf("%d nodes × (%.0f IOPS above %.0f × $%s + %.0f MB/s above %.0f × $%s)",
			l.nodes, extraIOPS, a.BaselineIOPS, trimFloat(ip.Price), extraMBps, a.BaselineMBps, trimFloat(tp.Price)),
		[]Price{ip, tp}, uses...)
	return nil
}

// backups prices the configured copies of the logical data in object
// storage.
func (e env) backups(b *bill, d demand, object string) error {
	op, err := e.cat.MustGet(object)
	if err != nil {
		return err
	}
	g := gb(d.logical) * e.p.backupCopies.Price
	b.add(CatBackups, g*op.Price, fmt.Sprintf("%.0f GB (%.1f copies of the logical data) × $%s/GB-month", g, e.p.backupCopies.Price, trimFloat(op.Price)),
		[]Price{op, e.p.backupCopies})
	return nil
}
