package delayer

import (
	"testing"
	"time"
)

func TestScheduleWithoutJitterIsFIFO(t *testing.T) {
	s := newSchedule(50*time.Millisecond, 0, 1)
	t0 := time.Now()
	for i := range 10 {
		s.add(t0.Add(time.Duration(i)*time.Millisecond), uint64(i%3), uint32(i+1), 0, uint64(i))
	}
	out, next := s.due(t0.Add(49*time.Millisecond), nil)
	if len(out) != 0 || !next.Equal(t0.Add(50*time.Millisecond)) {
		t.Fatalf("before the delay: released %d, next %v", len(out), next.Sub(t0))
	}
	out, next = s.due(t0.Add(54*time.Millisecond), nil)
	if len(out) != 5 {
		t.Fatalf("at 54ms released %d packets, want 5", len(out))
	}
	for i, e := range out {
		if e.id != uint32(i+1) {
			t.Errorf("release %d is packet %d", i, e.id)
		}
	}
	if !next.Equal(t0.Add(55 * time.Millisecond)) {
		t.Errorf("next due at %v, want 55ms", next.Sub(t0))
	}
	if rest := s.drain(nil); len(rest) != 5 || s.len() != 0 {
		t.Errorf("drain returned %d, %d left", len(rest), s.len())
	}
}

// With jitter, each delay lies in [delay-jitter, delay+jitter], the
// draws spread over that range, and no packet of a flow overtakes an
// earlier one.
func TestScheduleJitter(t *testing.T) {
	const (
		delay  = 50 * time.Millisecond
		jitter = 20 * time.Millisecond
		n      = 2000
	)
	s := newSchedule(delay, jitter, 7)
	t0 := time.Now()
	var lo, hi time.Duration = time.Hour, 0
	for i := range n {
		// Packets 100ms apart never wait for each other.
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		d := s.add(at, uint64(i), uint32(i), 0, uint64(i)).Sub(at)
		if d < delay-jitter || d > delay+jitter {
			t.Fatalf("delay %v outside [%v, %v]", d, delay-jitter, delay+jitter)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > delay-jitter+2*time.Millisecond || hi < delay+jitter-2*time.Millisecond {
		t.Errorf("delays span only [%v, %v]", lo, hi)
	}

	// One flow, packets 1ms apart: releases keep arrival order.
	s = newSchedule(delay, jitter, 7)
	for i := range n {
		s.add(t0.Add(time.Duration(i)*time.Millisecond), 99, uint32(i), 0, uint64(i))
	}
	out := s.drain(nil)
	for i, e := range out {
		if e.id != uint32(i) {
			t.Fatalf("release %d is packet %d: the flow was reordered", i, e.id)
		}
	}
}

// Same seed, same delays: runs repeat.
func TestScheduleSeeded(t *testing.T) {
	draws := func(seed uint64) []time.Duration {
		s := newSchedule(50*time.Millisecond, 20*time.Millisecond, seed)
		var out []time.Duration
		for range 20 {
			out = append(out, s.draw())
		}
		return out
	}
	a, b, c := draws(3), draws(3), draws(4)
	same := func(x, y []time.Duration) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed drew different delays")
	}
	if same(a, c) {
		t.Error("different seeds drew the same delays")
	}
}
