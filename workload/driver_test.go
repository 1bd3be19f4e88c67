package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// scriptClient completes ops by a rule; it stands in for a database in
// tests of the driver's own logic.
type scriptClient struct {
	outcome func(op Op) Type
}

func (c scriptClient) Invoke(ctx context.Context, op Op) Op {
	op.Type = c.outcome(op)
	if op.Type == Info {
		op.Error = "timeout"
	}
	if op.F == FLedgerRead {
		op.Keys = []string{"l000000001"}
	}
	return op
}

func (scriptClient) Close() error { return nil }

func TestDriverRecordsEveryOp(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf, NewClock(), Meta{})
	var n atomic.Int64
	d := &Driver{
		Config: Config{Concurrency: 3, Duration: 200 * time.Millisecond, Seed: 1},
		Gen:    NewRegister(4, DefaultMix),
		Open: func(ctx context.Context, w int) (Client, error) {
			return scriptClient{outcome: func(Op) Type {
				// Every fifth op has an unknown outcome.
				if n.Add(1)%5 == 0 {
					return Info
				}
				return OK
			}}, nil
		},
		Recorder: rec,
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) < 10 {
		t.Fatalf("only %d ops in 200ms", len(h.Ops))
	}
	total := d.Counters.OK.Load() + d.Counters.Fail.Load() + d.Counters.Info.Load()
	if total != int64(len(h.Ops)) {
		t.Errorf("counters say %d ops, history has %d", total, len(h.Ops))
	}
	// A process never has two ops in flight: after an info op the worker
	// moves on as a new process.
	last := map[int]Op{}
	for _, o := range h.Ops {
		if p, ok := last[o.Process]; ok {
			if p.Type == Info {
				t.Fatalf("process %d issued %v after its info op %v", o.Process, o, p)
			}
			if o.Call < p.Return {
				t.Fatalf("process %d overlaps: %v and %v", o.Process, p, o)
			}
		}
		last[o.Process] = o
		if o.Type == Invoke {
			t.Fatalf("bad op %v", o)
		}
	}
}

func TestDriverRate(t *testing.T) {
	var buf bytes.Buffer
	d := &Driver{
		Config: Config{Concurrency: 4, Rate: 100, Duration: 500 * time.Millisecond, Seed: 2},
		Gen:    NewRegister(2, DefaultMix),
		Open: func(context.Context, int) (Client, error) {
			return scriptClient{outcome: func(Op) Type { return OK }}, nil
		},
		Recorder: NewRecorder(&buf, NewClock(), Meta{}),
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 100/s for 0.5s with a burst of 4: about 54 ops, never hundreds.
	if got := d.Counters.OK.Load(); got < 30 || got > 70 {
		t.Errorf("%d ops at 100/s for 0.5s", got)
	}
}

func TestDriverNoClient(t *testing.T) {
	var buf bytes.Buffer
	d := &Driver{
		Config:   Config{Concurrency: 2, Duration: 300 * time.Millisecond},
		Gen:      NewRegister(2, DefaultMix),
		Open:     func(context.Context, int) (Client, error) { return nil, errors.New("connection refused") },
		Recorder: NewRecorder(&buf, NewClock(), Meta{}),
	}
	err := d.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run = %v, want the connection error", err)
	}
}

func TestDriverFinalRetries(t *testing.T) {
	var buf bytes.Buffer
	var calls atomic.Int64
	d := &Driver{
		Config: Config{Concurrency: 1, Duration: time.Second},
		Gen:    NewRegister(1, DefaultMix),
		Open: func(context.Context, int) (Client, error) {
			return scriptClient{outcome: func(Op) Type {
				if calls.Add(1) < 3 {
					return Fail
				}
				return OK
			}}, nil
		},
		Recorder: NewRecorder(&buf, NewClock(), Meta{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Final(ctx); err != nil {
		t.Fatal(err)
	}
	h := d.Recorder.History()
	if len(h.Ops) != 3 {
		t.Fatalf("ops = %v, want two failed attempts and one success", h.Ops)
	}
	for _, o := range h.Ops {
		if !o.Final || o.F != FLedgerRead {
			t.Errorf("op %v is not a final ledger read", o)
		}
	}
	if h.Ops[2].Type != OK || len(h.Ops[2].Keys) != 1 {
		t.Errorf("last attempt = %v", h.Ops[2])
	}
}

func TestRegisterGenerator(t *testing.T) {
	g := NewRegister(3, Mix{Write: 1, CAS: 1, Ledger: 1})
	r := rand.New(rand.NewPCG(1, 1))
	seen := map[int64]bool{}
	ledger := map[string]bool{}
	for i := 0; i < 1000; i++ {
		op := g.Next(r, 0)
		switch op.F {
		case FWrite, FCAS:
			if seen[*op.Value] {
				t.Fatalf("value %d written twice", *op.Value)
			}
			seen[*op.Value] = true
		case FLedgerAdd:
			if ledger[op.Key] {
				t.Fatalf("ledger key %s twice", op.Key)
			}
			ledger[op.Key] = true
		case FRead:
			t.Fatalf("read generated with zero read weight")
		}
	}
	// The same seed gives the same sequence.
	a, b := NewRegister(3, DefaultMix), NewRegister(3, DefaultMix)
	ra, rb := rand.New(rand.NewPCG(9, 0)), rand.New(rand.NewPCG(9, 0))
	for i := 0; i < 100; i++ {
		if x, y := a.Next(ra, 0), b.Next(rb, 0); x.String() != y.String() {
			t.Fatalf("step %d: %v != %v", i, x, y)
		}
	}
}

// pausingClient answers at once, except while paused: an operation that
// arrives then waits until the pause ends (or its context does), as a
// client of a stopped database server does.
type pausingClient struct {
	clock    Clock
	from, to time.Duration
}

func (c pausingClient) Invoke(ctx context.Context, op Op) Op {
	if now := c.clock.Now(); now >= c.from && now < c.to {
		t := time.NewTimer(c.to - now)
		defer t.Stop()
		select {
		case <-ctx.Done():
			op.Type, op.Error = Info, "timeout"
			return op
		case <-t.C:
		}
	}
	op.Type = OK
	return op
}

func (pausingClient) Close() error { return nil }

// TestOpenLoopShowsTheQueueingDelay drives the same load through a pause
// of the "database" in both modes. Open loop: every operation the schedule
// meant to start during the pause waits for it, and its latency (from its
// intended start) says so. Closed loop: only the operations in flight
// when the pause began are slow; the others were never issued, so the
// latencies hide the pause (coordinated omission).
func TestOpenLoopShowsTheQueueingDelay(t *testing.T) {
	const (
		pause   = 600 * time.Millisecond
		workers = 2
	)
	slow := map[Mode]int{}
	for _, mode := range Modes() {
		t.Run(string(mode), func(t *testing.T) {
			rec := NewRecorder(io.Discard, NewClock(), Meta{})
			from := rec.Clock().Now() + 300*time.Millisecond
			d := &Driver{
				Config: Config{Concurrency: workers, Rate: 200, Mode: mode, Duration: 1500 * time.Millisecond, Timeout: 10 * time.Second, Seed: 3},
				Gen:    NewRegister(4, DefaultMix),
				Open: func(context.Context, int) (Client, error) {
					return pausingClient{clock: rec.Clock(), from: from, to: from + pause}, nil
				},
				Recorder: rec,
			}
			if err := d.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			h := rec.History()
			for _, o := range h.Ops {
				if o.Latency() > pause/3 {
					slow[mode]++
				}
				if mode == Closed && o.Intended != 0 {
					t.Fatalf("closed-loop op %v has an intended start", o)
				}
				if mode == Open && (o.Intended == 0 || o.Intended > o.Call) {
					t.Fatalf("open-loop op %v: intended start missing or after the call", o)
				}
			}
			var rateEvents int
			for _, e := range h.Events {
				if e.Kind == EventLoadRate {
					rateEvents++
					t.Logf("%s: %s", mode, e.Detail)
				}
			}
			if rateEvents != 1 {
				t.Errorf("%d load-rate events, want 1", rateEvents)
			}
			t.Logf("%s: %d ops, %d slower than %s", mode, len(h.Ops), slow[mode], pause/3)
		})
	}
	// 200/s over a 600ms pause: about 120 operations meant to start in
	// it, most of which wait more than 200ms.
	if slow[Open] < 40 {
		t.Errorf("open loop: %d operations slower than %s, want the pause's queue (dozens)", slow[Open], pause/3)
	}
	if slow[Closed] > workers {
		t.Errorf("closed loop: %d operations slower than %s, want at most the %d in flight", slow[Closed], pause/3, workers)
	}
}

// TestOpenLoopSkipsAndCounts: when no worker is free before an intended
// start's operation would time out, the start is skipped and counted.
func TestOpenLoopSkipsAndCounts(t *testing.T) {
	rec := NewRecorder(io.Discard, NewClock(), Meta{})
	d := &Driver{
		// One worker whose every op takes its whole 50ms timeout, at
		// 200/s: most intended starts find no worker in time.
		Config: Config{Concurrency: 1, Rate: 200, Duration: time.Second, Timeout: 50 * time.Millisecond},
		Gen:    NewRegister(2, DefaultMix),
		Open: func(context.Context, int) (Client, error) {
			return pausingClient{clock: rec.Clock(), from: 0, to: time.Hour}, nil
		},
		Recorder: rec,
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	skipped := d.Counters.Skipped.Load()
	ran := d.Counters.Info.Load()
	if skipped < 100 || ran == 0 || ran > 25 {
		t.Errorf("skipped %d, ran %d; want most of 200 starts skipped and about 20 run", skipped, ran)
	}
	h := rec.History()
	var shortfall, summary bool
	for _, e := range h.Events {
		shortfall = shortfall || e.Kind == EventLoadShortfall
		if e.Kind == EventLoadRate {
			summary = strings.Contains(e.Detail, fmt.Sprintf("skipped=%d", skipped)) && strings.Contains(e.Detail, "target=200")
			t.Logf("%s", e.Detail)
		}
	}
	if !shortfall || !summary {
		t.Errorf("events %v: want a load-shortfall and a load-rate event with the skipped count", h.Events)
	}
}

func TestDriverRejectsUnknownMode(t *testing.T) {
	d := &Driver{Config: Config{Concurrency: 1, Duration: time.Second, Mode: "half-open"}, Recorder: NewRecorder(io.Discard, NewClock(), Meta{})}
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "half-open") {
		t.Errorf("Run = %v, want an error naming the mode", err)
	}
}
