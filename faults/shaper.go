package faults

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// shaper installs shapes on the links of one cluster.
type shaper struct {
	c      platform.Cluster
	nc     platform.NetworkController
	prober *netemProber
	log    *Log
	// seed seeds the delayers' jitter, mixed with each namespace's name.
	seed uint64
	// only, when set, limits installing to that network namespace: the
	// namespace of a node that came back without its rules.
	only string
}

// groups groups links by the namespace of their at end, keeping only
// s.only's when it is set.
func (s *shaper) groups(links []Link, at side) []nsLinks {
	gs := groupLinks(links, at, s.nc.NetNamespace)
	if s.only == "" {
		return gs
	}
	var out []nsLinks
	for _, g := range gs {
		if g.ns == s.only {
			out = append(out, g)
		}
	}
	return out
}

// restorer installs a shaping again in the namespace of a node that
// restarted without it (platform.RestartHooks), and heals what it
// installed along with the original.
type restorer struct {
	s       *shaper
	purpose string
	links   []Link
	shape   Shape
	what    string // names the shaping in the fault log

	mu    sync.Mutex
	heals []Heal
}

// standing installs links' shape for purpose and, where the cluster's
// nodes lose their network state on a restart, keeps it installed on each
// node that comes back, until the returned Heal (which also removes what
// was installed again).
func (s *shaper) standing(ctx context.Context, purpose, what string, links []Link, shape Shape) (Heal, string, error) {
	heal, mech, err := s.install(ctx, purpose, links, shape)
	if err != nil {
		return nil, mech, err
	}
	rh, ok := s.c.(platform.RestartHooks)
	if !ok {
		return heal, mech, nil
	}
	r := &restorer{s: s, purpose: purpose, links: links, shape: shape, what: what}
	unhook := rh.AddRestartHook(r.restore)
	return onceHeal(func(ctx context.Context) error {
		unhook()
		r.mu.Lock()
		again := r.heals
		r.heals = nil
		r.mu.Unlock()
		var errs []error
		for _, h := range again {
			errs = append(errs, h(ctx))
		}
		errs = append(errs, heal(ctx))
		return errors.Join(errs...)
	}), mech, nil
}

// restore installs the shaping again in node's namespace, if any of its
// links end there.
func (r *restorer) restore(ctx context.Context, node string) error {
	s := *r.s
	s.only = s.nc.NetNamespace(node)
	if len(s.groups(r.links, atDst)) == 0 && len(s.groups(r.links, atSrc)) == 0 {
		return nil
	}
	start := time.Now()
	heal, mech, err := s.install(ctx, r.purpose, r.links, r.shape)
	if heal != nil {
		r.mu.Lock()
		r.heals = append(r.heals, heal)
		r.mu.Unlock()
	}
	if err != nil {
		r.s.log.Printf("%s: installing again on %s after its restart failed: %v", r.what, node, err)
		return fmt.Errorf("%s: %w", r.what, err)
	}
	r.s.log.Printf("%s: installed again on %s after its restart (%s, in %s)", r.what, node, mech, time.Since(start).Round(time.Millisecond))
	return nil
}

// podNetworker is platform.PodNetworks: clusters whose nodes also carry
// pod traffic at other addresses, without NAT (kind).
type podNetworker interface {
	PodNetworks(ctx context.Context) (map[string][]string, error)
}

// install shapes the packets of links, in chains and classes named for
// purpose, and returns the Heal that undoes it and the mechanisms used.
// netem does delay and loss where every namespace involved has it;
// otherwise the nfqueue delayer delays and the statistic match drops.
// htb caps rates. A failure heals what was done before it returns.
func (s *shaper) install(ctx context.Context, purpose string, links []Link, shape Shape) (Heal, string, error) {
	var nets map[string][]string
	if pn, ok := s.c.(podNetworker); ok {
		var err error
		if nets, err = pn.PodNetworks(ctx); err != nil {
			return nil, "", fmt.Errorf("pod networks: %w", err)
		}
	}
	chain := chainName(s.c, purpose)
	netem := (shape.Delay > 0 || shape.Loss > 0) && s.allHaveNetem(ctx, links)
	var steps []shapeStep
	if shape.Rate > 0 || netem {
		tcShape, mech := shape, MechHTB
		switch {
		case !netem:
			tcShape.Delay, tcShape.Jitter, tcShape.Loss = 0, 0, 0
		case shape.Rate > 0:
			mech = MechNetem + " + " + MechHTB
		default:
			mech = MechNetem
		}
		steps = append(steps, shapeStep{mech, func(ctx context.Context) (Heal, error) {
			return s.installTC(ctx, chain, links, nets, tcShape)
		}})
	}
	if !netem && shape.Loss > 0 {
		steps = append(steps, shapeStep{MechStatistic, func(ctx context.Context) (Heal, error) {
			return s.installLoss(ctx, chain, links, nets, shape.Loss)
		}})
	}
	if !netem && shape.Delay > 0 {
		steps = append(steps, shapeStep{MechDelayer, func(ctx context.Context) (Heal, error) {
			return s.installDelay(ctx, chain, links, nets, shape)
		}})
	}
	return runSteps(ctx, steps)
}

// shapeStep installs one mechanism.
type shapeStep struct {
	mechanism string
	do        func(ctx context.Context) (Heal, error)
}

// runSteps runs steps in order and returns the Heal that undoes them all
// (in reverse), and their mechanisms; if one fails, those before it are
// undone. A step that fails may still return a Heal for what it did.
func runSteps(ctx context.Context, steps []shapeStep) (Heal, string, error) {
	var (
		heals []Heal
		mechs []string
	)
	undo := func(ctx context.Context) error {
		var errs []error
		for i := len(heals) - 1; i >= 0; i-- {
			errs = append(errs, heals[i](ctx))
		}
		return errors.Join(errs...)
	}
	for _, st := range steps {
		h, err := st.do(ctx)
		if h != nil {
			heals = append(heals, h)
		}
		if err != nil {
			undo(context.WithoutCancel(ctx))
			return nil, strings.Join(mechs, " + "), err
		}
		mechs = append(mechs, st.mechanism)
	}
	return onceHeal(undo), strings.Join(mechs, " + "), nil
}

// allHaveNetem probes the namespace of every end of links.
func (s *shaper) allHaveNetem(ctx context.Context, links []Link) bool {
	seen := map[string]bool{}
	for _, l := range links {
		for _, n := range []platform.Node{l.Src, l.Dst} {
			ns := s.nc.NetNamespace(n.Name)
			if seen[ns] {
				continue
			}
			seen[ns] = true
			if !s.prober.has(ctx, s.nc, n.Name, s.log) {
				return false
			}
		}
	}
	return true
}

// installLoss drops packets where they arrive, with the statistic match.
func (s *shaper) installLoss(ctx context.Context, chain string, links []Link, nets map[string][]string, loss float64) (Heal, error) {
	var sets []RuleSet
	for _, g := range s.groups(links, atDst) {
		sets = append(sets, lossRules(chain, g, nets, loss))
	}
	return InstallRules(ctx, s.nc, sets, s.log)
}

// installDelay starts a delayer in each namespace where the links'
// packets arrive and queues the packets to it. The heal removes the rules
// first, then stops the delayers, which release what they hold.
func (s *shaper) installDelay(ctx context.Context, chain string, links []Link, nets map[string][]string, shape Shape) (Heal, error) {
	var (
		procs []*delayerProc
		rules []Heal
	)
	heal := func(ctx context.Context) error {
		var errs []error
		for _, h := range rules {
			errs = append(errs, h(ctx))
		}
		for _, p := range procs {
			errs = append(errs, p.stop(ctx, s.log))
		}
		return errors.Join(errs...)
	}
	for _, g := range s.groups(links, atDst) {
		h, p, err := s.delayNamespace(ctx, chain, g, nets, shape)
		if p != nil {
			procs = append(procs, p)
		}
		if h != nil {
			rules = append(rules, h)
		}
		if err != nil {
			return heal, err
		}
	}
	return heal, nil
}

// delayNamespace holds the host lock from choosing the delayer's mark bit
// until the rules that use it are in, so that no other delay in the
// namespace takes the same bit.
func (s *shaper) delayNamespace(ctx context.Context, chain string, g nsLinks, nets map[string][]string, shape Shape) (Heal, *delayerProc, error) {
	unlock, err := lockHost(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	save, err := netExec(ctx, s.nc, g.node, []string{"iptables", "-w", "5", "-t", tableDelay, "-S"}, s.log)
	if err != nil {
		return nil, nil, err
	}
	mark, err := freeMark(save)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", g.node, err)
	}
	h := fnv.New64a()
	h.Write([]byte(g.ns))
	p, err := startDelayer(ctx, s.c, g.node, shape, mark, s.seed^h.Sum64(), s.log)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", g.node, err)
	}
	heal, err := InstallRules(ctx, s.nc, []RuleSet{queueRules(chain, g, nets, p.queue, mark)}, s.log)
	return heal, p, err
}

// installTC shapes packets as they leave: a class per source node under
// faultline's root qdisc on the device towards its peers, CLASSIFY rules
// and u32 filters that put the links' packets into it. The rules go in
// before the classes, so that a class is never without the rule that
// keeps sweepTC from taking it for garbage.
func (s *shaper) installTC(ctx context.Context, chain string, links []Link, nets map[string][]string, shape Shape) (Heal, error) {
	groups := s.groups(links, atSrc)
	var rules Heal
	err := func() error {
		unlock, err := lockHost(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		var (
			sets    []RuleSet
			classes [][]tcClass
		)
		for _, g := range groups {
			cls, classOf, err := s.planClasses(ctx, g, nets, shape)
			if err != nil {
				return err
			}
			sets = append(sets, classifyRules(chain, g, nets, classOf))
			classes = append(classes, cls)
		}
		if rules, err = InstallRules(ctx, s.nc, sets, s.log); err != nil {
			return err
		}
		for i, g := range groups {
			for _, cl := range classes[i] {
				for _, argv := range cl.InstallArgv() {
					if _, err := netExec(ctx, s.nc, g.node, argv, s.log); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}()
	heal := s.tcHeal(groups, rules)
	if err != nil {
		heal(context.WithoutCancel(ctx))
		return nil, err
	}
	return heal, nil
}

// planClasses chooses, in namespace g, the device and class of each
// source node and adds faultline's root qdisc where it is missing.
func (s *shaper) planClasses(ctx context.Context, g nsLinks, nets map[string][]string, shape Shape) ([]tcClass, map[string]string, error) {
	var (
		order   []string
		byNode  = map[string]*tcClass{}
		taken   = map[string]map[uint16]bool{} // device → minors chosen here
		classOf = map[string]string{}
	)
	var netem []string
	if shape.Delay > 0 || shape.Loss > 0 {
		netem = netemArgs(shape)
	}
	for _, l := range g.links {
		cl, ok := byNode[l.Src.Name]
		if !ok {
			dev, err := egressDev(ctx, s.nc, g.node, l.Dst.Addr, s.log)
			if err != nil {
				return nil, nil, err
			}
			if err := ensureRoot(ctx, s.nc, g.node, dev, s.log); err != nil {
				return nil, nil, err
			}
			out, err := netExec(ctx, s.nc, g.node, []string{"tc", "class", "show", "dev", dev}, s.log)
			if err != nil {
				return nil, nil, err
			}
			if taken[dev] == nil {
				taken[dev] = map[uint16]bool{}
			}
			minor, err := freeMinor(parseClasses(out), taken[dev])
			if err != nil {
				return nil, nil, err
			}
			taken[dev][minor] = true
			cl = &tcClass{Dev: dev, Minor: minor, Rate: shape.Rate, Netem: netem}
			byNode[l.Src.Name] = cl
			order = append(order, l.Src.Name)
			classOf[l.Src.Name] = cl.ID()
		}
		for _, src := range nodeAddrs(l.Src, nets) {
			for _, dst := range nodeAddrs(l.Dst, nets) {
				cl.Filters = append(cl.Filters, [2]string{src, dst})
			}
		}
	}
	out := make([]tcClass, 0, len(order))
	for _, n := range order {
		out = append(out, *byNode[n])
	}
	return out, classOf, nil
}

// tcHeal removes the classifying rules, then every class no rule names
// any more (this fault's) and root qdiscs left empty, in each namespace.
func (s *shaper) tcHeal(groups []nsLinks, rules Heal) Heal {
	return func(ctx context.Context) error {
		unlock, err := lockHost(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		var errs []error
		if rules != nil {
			errs = append(errs, rules(ctx))
		}
		for _, g := range groups {
			errs = append(errs, sweepTC(ctx, s.nc, g.node, s.log, io.Discard))
		}
		return errors.Join(errs...)
	}
}
