package delayer

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// schedule decides when each held packet is released: its arrival plus
// the delay, drawn uniformly from [delay-jitter, delay+jitter] as netem
// draws it without a distribution table. A packet never leaves before an
// earlier packet of its flow, so jitter reorders packets of different
// flows but never those of one flow (unlike netem, which reorders a
// flow's packets too): within a flow a packet whose draw would overtake
// its predecessor waits for it, which skews a busy flow's delays upward.
// It is not safe for concurrent use.
type schedule struct {
	delay, jitter time.Duration
	rand          *rand.Rand
	held          entries
	// last is each flow's latest release time, kept only while jitter
	// can reorder; entries in the past are swept.
	last      map[uint64]time.Time
	lastSweep time.Time
}

type entry struct {
	at   time.Time
	seq  uint64 // arrival order, to break ties
	id   uint32
	mark uint32
}

func newSchedule(delay, jitter time.Duration, seed uint64) *schedule {
	return &schedule{
		delay:  delay,
		jitter: jitter,
		rand:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		last:   map[uint64]time.Time{},
	}
}

// draw is the delay of one packet.
func (s *schedule) draw() time.Duration {
	if s.jitter <= 0 {
		return s.delay
	}
	d := s.delay - s.jitter + time.Duration(s.rand.Int64N(int64(2*s.jitter)+1))
	return max(d, 0)
}

// add holds packet id (with mark) that arrived at now in flow, and
// returns when it is due.
func (s *schedule) add(now time.Time, flow uint64, id, mark uint32, seq uint64) time.Time {
	at := now.Add(s.draw())
	if s.jitter > 0 {
		if prev, ok := s.last[flow]; ok && prev.After(at) {
			at = prev
		}
		s.last[flow] = at
		s.sweep(now)
	}
	heap.Push(&s.held, entry{at: at, seq: seq, id: id, mark: mark})
	return at
}

// sweep forgets flows whose last packet is due, once a second.
func (s *schedule) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Second {
		return
	}
	s.lastSweep = now
	for k, at := range s.last {
		if !at.After(now) {
			delete(s.last, k)
		}
	}
}

// due removes and appends to out every packet due at now, earliest
// first, and returns when the next one is due (the zero Time if none is
// held).
func (s *schedule) due(now time.Time, out []entry) ([]entry, time.Time) {
	for len(s.held) > 0 {
		if s.held[0].at.After(now) {
			return out, s.held[0].at
		}
		out = append(out, heap.Pop(&s.held).(entry))
	}
	return out, time.Time{}
}

// drain removes every held packet, earliest first.
func (s *schedule) drain(out []entry) []entry {
	for len(s.held) > 0 {
		out = append(out, heap.Pop(&s.held).(entry))
	}
	return out
}

// len is the number of packets held.
func (s *schedule) len() int { return len(s.held) }

// entries is a min-heap of packets by release time, then arrival.
type entries []entry

func (h entries) Len() int { return len(h) }
func (h entries) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h entries) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entries) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *entries) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
