package workload

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pairServer answers the requests of fake clients over socket pairs: one
// byte in, one byte out. It holds every request until hold of them are
// outstanding at once (or, when hold is 0, answers at once), and never
// answers a request whose byte is mute.
type pairServer struct {
	hold int
	mute byte

	mu          sync.Mutex
	outstanding []int // server ends with a request waiting
	maxAtOnce   int
	wg          sync.WaitGroup
}

const mute = 'm'

// serve answers on fd until it is closed.
func (s *pairServer) serve(fd int) {
	defer s.wg.Done()
	defer unix.Close(fd)
	buf := make([]byte, 1)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if n <= 0 || err != nil {
			return
		}
		if buf[0] == mute {
			continue
		}
		s.mu.Lock()
		s.outstanding = append(s.outstanding, fd)
		s.maxAtOnce = max(s.maxAtOnce, len(s.outstanding))
		var answer []int
		if len(s.outstanding) >= s.hold {
			answer, s.outstanding = s.outstanding, nil
		}
		s.mu.Unlock()
		for _, a := range answer {
			unix.Write(a, []byte{'k'})
		}
	}
}

// pairClient is a Multiplexed client over its end of a socket pair.
type pairClient struct {
	fd     int
	looped *atomic.Int64 // Invokes that got a loop's Waiter
}

func (s *pairServer) open(t *testing.T, looped *atomic.Int64) Opener {
	return func(ctx context.Context, worker int) (Client, error) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		if err := unix.SetNonblock(fds[1], false); err != nil {
			t.Fatal(err)
		}
		s.wg.Add(1)
		go s.serve(fds[1])
		return &pairClient{fd: fds[0], looped: looped}, nil
	}
}

func (c *pairClient) Multiplexed() bool { return true }

func (c *pairClient) Close() error { return unix.Close(c.fd) }

// Invoke sends the op's key's first byte ('m' for a mute one) and waits
// for the answer through ctx's Waiter.
func (c *pairClient) Invoke(ctx context.Context, op Op) Op {
	w := WaiterFrom(ctx)
	if _, ok := w.(*coworker); ok {
		c.looped.Add(1)
	}
	req := []byte{'x'}
	if op.Key != "" {
		req[0] = op.Key[0]
	}
	if _, err := unix.Write(c.fd, req); err != nil {
		op.Type, op.Error = Fail, err.Error()
		return op
	}
	deadline, _ := ctx.Deadline()
	buf := make([]byte, 1)
	for {
		_, err := unix.Read(c.fd, buf)
		switch {
		case err == nil:
			op.Type = OK
			return op
		case errors.Is(err, unix.EAGAIN):
			if !w.Wait(c.fd, false, deadline) {
				op.Type, op.Error = Info, "timeout"
				return op
			}
		default:
			op.Type, op.Error = Info, err.Error()
			return op
		}
	}
}

// keyGen generates ops of one key; the op numbered muteAt (from 0) is
// mute.
type keyGen struct {
	n      atomic.Int64
	muteAt int64
}

func (g *keyGen) Name() string { return "pair" }
func (g *keyGen) Next(*rand.Rand, int) Op {
	if g.n.Add(1)-1 == g.muteAt {
		return Op{F: FRead, Key: string(rune(mute))}
	}
	return Op{F: FRead, Key: "x"}
}
func (g *keyGen) Final() []Op { return nil }

func runPairs(t *testing.T, srv *pairServer, gen Generator, cfg Config) (*History, int64) {
	t.Helper()
	var looped atomic.Int64
	rec := NewRecorder(io.Discard, NewClock(), Meta{})
	d := &Driver{Config: cfg, Gen: gen, Open: srv.open(t, &looped), Recorder: rec}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.wg.Wait()
	return rec.History(), looped.Load()
}

func TestLoopRunsEveryWorkerAtOnce(t *testing.T) {
	// The server answers only once all eight workers have a request
	// outstanding: the load moves only if one goroutine keeps eight
	// operations in flight.
	srv := &pairServer{hold: 8}
	h, looped := runPairs(t, srv, &keyGen{muteAt: -1}, Config{Concurrency: 8, Duration: 300 * time.Millisecond, Timeout: time.Second})
	if looped == 0 {
		t.Fatal("no operation ran in a loop")
	}
	ok := 0
	for _, op := range h.Ops {
		if op.Type == OK {
			ok++
		}
	}
	if ok < 8 || srv.maxAtOnce != 8 {
		t.Fatalf("%d ok operations, at most %d in flight at once; want all 8 in flight", ok, srv.maxAtOnce)
	}
	if int64(len(h.Ops)) != looped {
		t.Errorf("%d operations, %d through the loop", len(h.Ops), looped)
	}
}

func TestLoopTimesOutAnOperationAndGoesOn(t *testing.T) {
	srv := &pairServer{}
	h, _ := runPairs(t, srv, &keyGen{muteAt: 3}, Config{Concurrency: 2, Duration: 400 * time.Millisecond, Timeout: 100 * time.Millisecond})
	var timedOut []Op
	ok := 0
	for _, op := range h.Ops {
		switch op.Type {
		case Info:
			timedOut = append(timedOut, op)
		case OK:
			ok++
		}
	}
	if len(timedOut) != 1 || timedOut[0].Error != "timeout" {
		t.Fatalf("info operations %+v; want the one mute operation, timed out", timedOut)
	}
	if d := timedOut[0].Return - timedOut[0].Call; d < 100*time.Millisecond {
		t.Errorf("timed out after %v, before its 100ms timeout", d)
	}
	if ok == 0 {
		t.Error("no operation completed besides the mute one")
	}
}

func TestLoopKeepsTheOpenSchedule(t *testing.T) {
	// 200 ops/s for a second: exactly 200 intended starts, each taken,
	// each operation invoked at or after its intended start.
	srv := &pairServer{}
	h, looped := runPairs(t, srv, &keyGen{muteAt: -1}, Config{Concurrency: 4, Rate: 200, Duration: time.Second, Timeout: 5 * time.Second})
	if looped == 0 {
		t.Fatal("no operation ran in a loop")
	}
	if len(h.Ops) != 200 {
		t.Fatalf("%d operations; want 200", len(h.Ops))
	}
	seen := map[time.Duration]bool{}
	for _, op := range h.Ops {
		if op.Call < op.Intended || seen[op.Intended] {
			t.Fatalf("op %d: intended %v, called %v (intended starts seen twice: %v)", op.Index, op.Intended, op.Call, seen[op.Intended])
		}
		seen[op.Intended] = true
	}
}

func TestLoopEndsWithItsContext(t *testing.T) {
	// Closed loop at 5 ops/s over an hour: the workers sleep in the
	// loop, and cancelling the run wakes them at once.
	srv := &pairServer{}
	var looped atomic.Int64
	rec := NewRecorder(io.Discard, NewClock(), Meta{})
	d := &Driver{Config: Config{Concurrency: 3, Rate: 5, Mode: Closed, Duration: time.Hour, Timeout: time.Second}, Gen: &keyGen{muteAt: -1}, Open: srv.open(t, &looped), Recorder: rec}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context's end")
	}
	srv.wg.Wait()
	h := rec.History()
	if len(h.Ops) == 0 || looped.Load() == 0 {
		t.Fatalf("%d operations, %d through the loop", len(h.Ops), looped.Load())
	}
	for _, op := range h.Ops {
		if op.Type != OK {
			t.Errorf("op %d: %s %s", op.Index, op.Type, op.Error)
		}
	}
}
