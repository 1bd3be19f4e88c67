package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/faultline-dev/faultline/platform"
)

// Mechanisms shaping faults report (Mechanism, FaultWindow.Mechanism).
const (
	MechNetem     = "tc netem"
	MechDelayer   = "nfqueue delayer"
	MechStatistic = "iptables statistic"
	MechHTB       = "tc htb"
)

// netemProber finds out, once per network namespace, whether tc netem
// works there: it adds a netem qdisc to a veth pair it creates for the
// purpose, and deletes the pair. The answer is cached for the prober's
// life (a fault's, or one RegionLatency call's). netem is a kernel
// feature, so namespaces of one kernel agree; the probe still runs where
// the qdisc would go, because loading the sch_netem module on demand can
// depend on what the namespace's owner may do.
type netemProber struct {
	mu    sync.Mutex
	cache map[string]bool
}

// has reports whether netem works in node's namespace. Failures to probe
// count as no.
func (p *netemProber) has(ctx context.Context, nc platform.NetworkController, node string, log *Log) bool {
	ns := nc.NetNamespace(node)
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.cache[ns]; ok {
		return v
	}
	if p.cache == nil {
		p.cache = map[string]bool{}
	}
	v := probeNetem(ctx, nc, node, log)
	p.cache[ns] = v
	return v
}

func probeNetem(ctx context.Context, nc platform.NetworkController, node string, log *Log) bool {
	b := make([]byte, 3)
	rand.Read(b)
	a, z := "flp"+hex.EncodeToString(b)+"a", "flp"+hex.EncodeToString(b)+"z"
	if _, err := netExec(ctx, nc, node, []string{"ip", "link", "add", a, "type", "veth", "peer", "name", z}, log); err != nil {
		log.Printf("%snetem probe: cannot create a veth pair to probe with; assuming no netem", prefix(node))
		return false
	}
	defer netExec(context.WithoutCancel(ctx), nc, node, []string{"ip", "link", "del", a}, log)
	_, err := netExec(ctx, nc, node, []string{"tc", "qdisc", "add", "dev", a, "root", "netem", "delay", "1ms"}, log)
	if err != nil {
		reason := "it failed"
		if strings.Contains(err.Error(), "unknown") || strings.Contains(err.Error(), "not found") {
			reason = "this kernel lacks sch_netem"
		}
		log.Printf("%snetem probe: %s; shaping falls back to the nfqueue delayer and iptables statistic", prefix(node), reason)
		return false
	}
	return true
}

// HasNetem reports whether tc netem works in node's network namespace,
// probing with a veth pair of its own (see netemProber). Injectors that
// shape traffic by other means on the same kernel (Chaos Mesh's daemon
// runs tc netem in pods' namespaces) ask it before the load.
func HasNetem(ctx context.Context, nc platform.NetworkController, node string, log *Log) bool {
	return probeNetem(ctx, nc, node, log)
}
