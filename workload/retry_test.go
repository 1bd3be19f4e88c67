package workload

import (
	"context"
	"io"
	"testing"
	"time"
)

// abortingClient commits every third attempt and aborts the others with
// a conflict: it stands in for a database that answers serialization
// failures, to test the driver's retry logic.
type abortingClient struct {
	retries int
	calls   int
}

func (c *abortingClient) Invoke(ctx context.Context, op Op) Op {
	c.calls++
	// Every third attempt commits; the others abort.
	if c.calls%3 != 0 {
		op.Type, op.Error = Fail, ErrConflict+": serialization failure (SQLSTATE 40001)"
		return op
	}
	op.Type = OK
	return op
}

func (c *abortingClient) Close() error { return nil }
func (c *abortingClient) Retries() int { return c.retries }

func TestDriverRetriesConflicts(t *testing.T) {
	for _, retries := range []int{0, 1, 2} {
		g, err := NewListAppend(ListAppendOptions{Keys: 16, MinTxnLen: 2, MaxTxnLen: 2, ReadFraction: 0.0001})
		if err != nil {
			t.Fatal(err)
		}
		rec := NewRecorder(io.Discard, NewClock(), Meta{})
		d := &Driver{
			Config: Config{Concurrency: 1, Duration: 50 * time.Millisecond, Seed: 1},
			Gen:    g,
			Open: func(ctx context.Context, w int) (Client, error) {
				return &abortingClient{retries: retries}, nil
			},
			Recorder: rec,
		}
		if err := d.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		ops := rec.History().Ops
		// With one process and a client that commits every third
		// attempt, retries=2 re-issues every aborted op (same keys,
		// fresh values) until it commits; retries=0 moves on.
		fails, oks, retried := 0, 0, 0
		seen := map[int64]bool{}
		for i, o := range ops {
			for _, m := range o.Txn {
				if m.F == MAppend {
					if seen[m.Value] {
						t.Errorf("retries=%d: value %d appended by two attempts", retries, m.Value)
					}
					seen[m.Value] = true
				}
			}
			if o.Type == OK {
				oks++
				continue
			}
			fails++
			if i+1 < len(ops) && sameKeys(o, ops[i+1]) {
				retried++
			}
		}
		if oks < 3 || fails < 3 {
			t.Fatalf("retries=%d: %d ok, %d fail", retries, oks, fails)
		}
		switch {
		case retries == 2 && retried < fails-1:
			t.Errorf("retries=2: only %d of %d aborted ops were retried", retried, fails)
		case retries == 0 && retried > fails/2:
			t.Errorf("retries=0: %d of %d aborted ops were followed by the same transaction", retried, fails)
		}
	}
}

func sameKeys(a, b Op) bool {
	if len(a.Txn) != len(b.Txn) {
		return false
	}
	for i := range a.Txn {
		if a.Txn[i].F != b.Txn[i].F || a.Txn[i].Key != b.Txn[i].Key {
			return false
		}
	}
	return true
}
