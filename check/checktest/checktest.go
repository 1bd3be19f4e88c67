// Package checktest builds synthetic histories for the tests, examples and
// benchmarks of checkers and reports: a simulated register-and-ledger
// database under closed-loop load, whose faults make it unavailable for a
// set time and can lose acknowledged writes. It is test support, not a
// model of any engine.
package checktest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Fault is a simulated fault.
type Fault struct {
	Name, Kind, Target string
	Start, Duration    time.Duration
	// Outage is how long from Start the database refuses requests or lets
	// them time out; zero is no outage.
	Outage time.Duration
	// Lose is how many ledger writes acknowledged just before Start are
	// missing from the final read.
	Lose int
	// Down are the nodes the fault stops: their samples say Up false while
	// it lasts and their counters start again from zero after.
	Down []string
	// Leader, if set, is elected when the outage ends.
	Leader string
	// Error, if set, marks the fault as failed to inject.
	Error string
}

// Config describes the load and what goes wrong under it.
type Config struct {
	Duration time.Duration
	Workers  int
	// Keys is the number of registers; Mix weighs the operations.
	Keys int
	Mix  workload.Mix
	// Latency is the median latency of an operation when all is well.
	Latency time.Duration
	// Think is the pause between one operation's completion and the
	// worker's next call.
	Think time.Duration
	// Timeout is how long an operation lasts when it times out (info).
	Timeout time.Duration
	Nodes   []workload.NodeInfo
	Faults  []Fault
	// StaleReads is how many ok reads are made to return a value that had
	// been overwritten before they began: linearizability violations.
	StaleReads int
}

// Generate simulates the load of c and returns its history, sorted. The
// same r state yields the same history.
func Generate(r *rand.Rand, c Config) *workload.History {
	c = withDefaults(c)
	s := &sim{r: r, c: c}
	for w := range c.Workers {
		s.drive(w)
	}
	s.apply()
	s.stale()
	h := &workload.History{
		Meta: workload.Meta{Run: "synthetic", Scenario: "synthetic", Seed: 1, Platform: "simulated",
			Start:  time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
			Engine: "simulated", Version: "0", Workload: "register", Nodes: c.Nodes},
		Ops: s.ops,
	}
	h.Ops = append(h.Ops, s.finalRead())
	for i, f := range c.Faults {
		h.Faults = append(h.Faults, workload.FaultWindow{ID: i, Name: f.Name, Kind: f.Kind, Target: f.Target,
			Nodes: f.Down, Start: f.Start, End: f.Start + f.Duration, Mechanism: "simulated", Error: f.Error})
	}
	h.Events = s.events()
	h.Samples = s.samples()
	h.Sort()
	for i := range h.Ops {
		h.Ops[i].Index = int64(i)
	}
	return h
}

func withDefaults(c Config) Config {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Keys <= 0 {
		c.Keys = 4
	}
	if c.Mix == (workload.Mix{}) {
		c.Mix = workload.DefaultMix
	}
	if c.Latency <= 0 {
		c.Latency = 5 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if len(c.Nodes) == 0 {
		c.Nodes = []workload.NodeInfo{{Name: "n1", Zone: "a"}, {Name: "n2", Zone: "b"}, {Name: "n3", Zone: "c"}}
	}
	return c
}

type sim struct {
	r     *rand.Rand
	c     Config
	ops   []workload.Op
	at    []time.Duration // linearization point of ops[i]; -1: never took effect
	value int64
	adds  int64
	last  []int64
	// present is the ledger's content after apply.
	present map[string]bool
}

// outage returns the end of the outage in force at t, if any.
func (s *sim) outage(t time.Duration) (time.Duration, bool) {
	for _, f := range s.c.Faults {
		if f.Error == "" && t >= f.Start && t < f.Start+f.Outage {
			return f.Start + f.Outage, true
		}
	}
	return 0, false
}

func (s *sim) inFault(t time.Duration) bool {
	for _, f := range s.c.Faults {
		if f.Error == "" && t >= f.Start && t < f.Start+f.Duration {
			return true
		}
	}
	return false
}

// drive runs worker w's closed loop.
func (s *sim) drive(w int) {
	if s.last == nil {
		s.last = make([]int64, s.c.Keys)
	}
	process := w
	t := time.Duration(s.r.Int64N(int64(s.c.Think + time.Millisecond)))
	for t < s.c.Duration {
		o := s.next()
		o.Process, o.Call = process, t
		at := time.Duration(-1)
		if end, down := s.outage(t); down {
			if s.r.IntN(2) == 0 {
				o.Type, o.Return, o.Error = workload.Fail, t+time.Millisecond, "connection refused"
			} else {
				o.Type, o.Return, o.Error = workload.Info, t+s.c.Timeout, "context deadline exceeded"
				if o.IsWrite() && s.r.IntN(2) == 0 {
					at = max(end, t) + time.Millisecond // queued, committed on recovery
				}
				process += s.c.Workers
			}
		} else {
			lat := s.latency(t)
			o.Type, o.Return = workload.OK, t+lat
			at = t + time.Duration(s.r.Int64N(int64(lat)+1))
		}
		s.ops = append(s.ops, o)
		s.at = append(s.at, at)
		t = o.Return + s.c.Think
	}
}

// latency draws a log-normal latency around the median, slower while a
// fault is in force.
func (s *sim) latency(t time.Duration) time.Duration {
	l := float64(s.c.Latency) * math.Exp(0.5*s.r.NormFloat64())
	if s.inFault(t) {
		l *= 1.8
	}
	return time.Duration(max(l, float64(50*time.Microsecond)))
}

func (s *sim) next() workload.Op {
	m := s.c.Mix
	x := s.r.Float64() * (m.Read + m.Write + m.CAS + m.Ledger)
	k := s.r.IntN(s.c.Keys)
	key := workload.RegisterKey(k)
	switch {
	case x < m.Read:
		return workload.Op{F: workload.FRead, Key: key}
	case x < m.Read+m.Write:
		s.value++
		s.last[k] = s.value
		return workload.Op{F: workload.FWrite, Key: key, Value: workload.Int(s.value)}
	case x < m.Read+m.Write+m.CAS:
		s.value++
		prev := s.last[k]
		s.last[k] = s.value
		return workload.Op{F: workload.FCAS, Key: key, Prev: workload.Int(prev), Value: workload.Int(s.value)}
	default:
		s.adds++
		return workload.Op{F: workload.FLedgerAdd, Key: workload.LedgerKey(s.adds)}
	}
}

// apply replays every operation that took effect in the order of its
// linearization point, filling in what reads saw and which cas applied.
func (s *sim) apply() {
	order := make([]int, 0, len(s.ops))
	for i, at := range s.at {
		if at >= 0 {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return s.at[order[a]] < s.at[order[b]] })
	regs := map[string]int64{}
	s.present = map[string]bool{}
	for _, i := range order {
		o := &s.ops[i]
		switch o.F {
		case workload.FRead:
			if v, ok := regs[o.Key]; ok {
				o.Value = workload.Int(v)
			}
		case workload.FWrite:
			regs[o.Key] = *o.Value
		case workload.FCAS:
			if v, ok := regs[o.Key]; ok && v == *o.Prev {
				regs[o.Key] = *o.Value
			} else if o.Type == workload.OK {
				o.Type, o.Error = workload.Fail, workload.ErrPrecondition
			}
		case workload.FLedgerAdd:
			s.present[o.Key] = true
		}
	}
}

// stale makes StaleReads ok reads return a value overwritten before they
// began: a write w1, a write w2 invoked after w1 completed, and a read
// invoked after w2 completed, which is made to return w1's value.
func (s *sim) stale() {
	okWrites := map[string][]int{}
	for i, o := range s.ops {
		if o.F == workload.FWrite && o.Type == workload.OK {
			okWrites[o.Key] = append(okWrites[o.Key], i)
		}
	}
	done := 0
	for i := range s.ops {
		o := &s.ops[i]
		if done >= s.c.StaleReads || o.F != workload.FRead || o.Type != workload.OK || o.Call < s.c.Duration/4 {
			continue
		}
		if v, ok := s.overwritten(okWrites[o.Key], o.Call); ok {
			o.Value = workload.Int(v)
			done++
		}
	}
}

func (s *sim) overwritten(writes []int, before time.Duration) (int64, bool) {
	for j := len(writes) - 1; j >= 0; j-- {
		w2 := s.ops[writes[j]]
		if w2.Return >= before {
			continue
		}
		for k := j - 1; k >= 0; k-- {
			if w1 := s.ops[writes[k]]; w1.Return < w2.Call {
				return *w1.Value, true
			}
		}
	}
	return 0, false
}

// finalRead reads the ledger after the load, less the writes each fault
// loses.
func (s *sim) finalRead() workload.Op {
	lost := map[string]bool{}
	for _, f := range s.c.Faults {
		var acked []workload.Op
		for _, o := range s.ops {
			if o.F == workload.FLedgerAdd && o.Type == workload.OK && o.Return < f.Start {
				acked = append(acked, o)
			}
		}
		sort.Slice(acked, func(i, j int) bool { return acked[i].Return > acked[j].Return })
		for _, o := range acked[:min(f.Lose, len(acked))] {
			lost[o.Key] = true
		}
	}
	var keys []string
	for k := range s.present {
		if !lost[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	end := s.c.Duration + s.c.Timeout + time.Second
	return workload.Op{Process: 1 << 20, Type: workload.OK, F: workload.FLedgerRead, Keys: keys,
		Call: end, Return: end + 20*time.Millisecond, Final: true}
}

func (s *sim) events() []workload.Event {
	evs := []workload.Event{{Time: time.Millisecond, Kind: workload.EventLeader, Node: s.c.Nodes[0].Name, Term: 1}}
	term := uint64(1)
	for _, f := range s.c.Faults {
		if f.Leader != "" && f.Error == "" {
			term++
			evs = append(evs, workload.Event{Time: f.Start + f.Outage, Kind: workload.EventLeader, Node: f.Leader, Term: term})
		}
	}
	return evs
}

// samples reads every node's counters once a second.
func (s *sim) samples() []workload.Sample {
	var out []workload.Sample
	for _, n := range s.c.Nodes {
		var cpu float64
		var written, data int64
		wasDown := false
		for t := time.Duration(0); t <= s.c.Duration; t += time.Second {
			down := s.down(n.Name, t)
			if down {
				out = append(out, workload.Sample{Time: t, Node: n.Name, Zone: n.Zone, Region: n.Region, Up: false})
				wasDown = true
				continue
			}
			if wasDown {
				cpu, written, wasDown = 0, 0, false // a restarted process counts from zero
			}
			cpu += 0.25 + 0.1*s.r.Float64()
			written += 2<<20 + s.r.Int64N(1<<20)
			data += 1<<20 + s.r.Int64N(1<<19)
			out = append(out, workload.Sample{Time: t, Node: n.Name, Zone: n.Zone, Region: n.Region, Up: true,
				CPUSeconds: cpu, MemoryBytes: 180<<20 + int64(t/time.Second)<<20 + s.r.Int64N(8<<20),
				DiskWriteBytes: written, DataBytes: 64<<20 + data,
				NetSameZoneBytes: int64(t/time.Second) << 18, NetCrossZoneBytes: int64(t/time.Second) << 20})
		}
	}
	return out
}

func (s *sim) down(node string, t time.Duration) bool {
	for _, f := range s.c.Faults {
		if f.Error == "" && t >= f.Start && t < f.Start+f.Duration && slices.Contains(f.Down, node) {
			return true
		}
	}
	return false
}

// Standard is a realistic run for reports and examples: a minute of load
// on three nodes, a leader kill at 15s with a 3s outage that loses a few
// acknowledged writes, and a zone outage at 38s with a 1.5s outage.
func Standard() Config {
	return Config{
		Duration: 60 * time.Second,
		Workers:  8,
		Keys:     8,
		Latency:  4 * time.Millisecond,
		Think:    20 * time.Millisecond,
		Timeout:  time.Second,
		Nodes: []workload.NodeInfo{
			{Name: "n1", Zone: "zone-a", Region: "r1"},
			{Name: "n2", Zone: "zone-b", Region: "r1"},
			{Name: "n3", Zone: "zone-c", Region: "r1"},
		},
		Faults: []Fault{
			{Name: "kill leader", Kind: "kill", Target: "leader", Start: 15 * time.Second, Duration: 8 * time.Second,
				Outage: 3 * time.Second, Lose: 3, Down: []string{"n1"}, Leader: "n2"},
			{Name: "zone-outage zone-b", Kind: "zone-outage", Target: "zone:zone-b", Start: 38 * time.Second, Duration: 10 * time.Second,
				Outage: 1500 * time.Millisecond, Down: []string{"n2"}, Leader: "n3"},
		},
	}
}

// String describes a fault for test names.
func (f Fault) String() string {
	return fmt.Sprintf("%s at %s for %s (outage %s)", f.Name, f.Start, f.Duration, f.Outage)
}
