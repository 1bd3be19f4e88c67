package workload

import (
	"bytes"
	"context"
	"errors"
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
