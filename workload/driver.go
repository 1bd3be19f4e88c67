package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Client performs operations against a database. Invoke takes an op with
// its function and inputs set and returns it completed: Type ok, fail or
// info, outputs filled in. A client must say info, not fail, whenever the
// operation may have taken effect (a timeout, a lost connection during
// commit). Each worker has its own Client; a Client need not be safe for
// concurrent use.
type Client interface {
	Invoke(ctx context.Context, op Op) Op
	Close() error
}

// Retrier is implemented by clients that retry, on the client side, an
// operation the database aborted (its Error starts with ErrConflict), as
// applications do with serialization failures. The driver re-issues such
// an operation up to Retries times, each attempt its own operation in the
// history, so that checkers see every abort. A generator that is a
// Renewer gives each attempt fresh unique values.
type Retrier interface {
	Retries() int
}

// Renewer is implemented by generators whose operations carry values that
// must never repeat, even across a failed attempt (list-append: Elle takes
// a value read as proof of the one append that wrote it). Renew returns op
// with the same function and keys and fresh values.
type Renewer interface {
	Renew(op Op) Op
}

// Opener opens a client for one worker.
type Opener func(ctx context.Context, worker int) (Client, error)

// Generator produces the operations of a workload. Next is called from
// every worker at once, each with its own seeded random source, so a
// Generator must be safe for concurrent use.
type Generator interface {
	// Name is the workload kind: register, bank, append, ledger.
	Name() string
	// Next returns the next operation for a process, with only its
	// function and inputs set.
	Next(r *rand.Rand, process int) Op
	// Final returns the reads to make once every fault is healed.
	Final() []Op
}

// Config says how hard and how long to drive a workload.
type Config struct {
	// Concurrency is the number of workers, each with its own client.
	Concurrency int
	// Rate caps the total operations started per second; 0 is no cap.
	Rate float64
	// Duration is how long workers start new operations.
	Duration time.Duration
	// Timeout bounds each operation; one that runs out is info.
	Timeout time.Duration
	// Seed seeds every worker's random source (worker w uses Seed and w).
	Seed int64
}

// Counters are the running totals a Driver exposes for progress displays.
type Counters struct {
	OK, Fail, Info atomic.Int64
}

// Driver runs a workload's generator against clients and records every
// operation.
type Driver struct {
	Config   Config
	Gen      Generator
	Open     Opener
	Recorder *Recorder
	Counters Counters
}

// Run drives the workload until its duration has passed or ctx is done,
// then waits for operations in flight. It fails only if no worker could
// open a client; a worker that cannot open one retries until the end, its
// failure recorded as failed operations so that unavailability shows in
// the history.
func (d *Driver) Run(ctx context.Context) error {
	if d.Config.Concurrency < 1 {
		return errors.New("workload: concurrency must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, d.Config.Duration)
	defer cancel()
	var lim *rate.Limiter
	if d.Config.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(d.Config.Rate), max(1, d.Config.Concurrency))
	}
	var (
		wg     sync.WaitGroup
		opened atomic.Int64
		errMu  sync.Mutex
		first  error
	)
	for w := 0; w < d.Config.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.worker(ctx, w, lim, &opened)
			if err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if opened.Load() == 0 && first != nil {
		return fmt.Errorf("workload: no client could connect: %w", first)
	}
	return nil
}

func (d *Driver) worker(ctx context.Context, w int, lim *rate.Limiter, opened *atomic.Int64) error {
	r := rand.New(rand.NewPCG(uint64(d.Config.Seed), uint64(w)))
	process := w
	var (
		c        Client
		lastErr  error
		retry    *Op // the next attempt of an aborted operation
		attempts int // retries of the current operation so far
	)
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for ctx.Err() == nil {
		if lim != nil {
			if err := lim.Wait(ctx); err != nil {
				return lastErr
			}
		}
		if c == nil {
			var err error
			c, err = d.Open(ctx, w)
			if err != nil {
				lastErr = err
				c = nil
				sleep(ctx, 100*time.Millisecond)
				continue
			}
			opened.Add(1)
		}
		var op Op
		if retry != nil {
			op, retry = *retry, nil
		} else {
			op, attempts = d.Gen.Next(r, process), 0
		}
		inputs := op
		op.Process = process
		op = d.Recorder.Invoke(op)
		done := d.perform(ctx, c, op)
		if again, ok := d.retry(c, inputs, done, attempts); ok {
			retry = &again
			attempts++
		}
		switch done.Type {
		case OK:
			d.Counters.OK.Add(1)
		case Fail:
			d.Counters.Fail.Add(1)
		default:
			d.Counters.Info.Add(1)
			// The op may still be in flight: this worker continues as a
			// new process, as Jepsen's do.
			process += d.Config.Concurrency
		}
	}
	return lastErr
}

// retry returns the next attempt of an operation the database aborted,
// if c retries and attempts are left.
func (d *Driver) retry(c Client, inputs, done Op, attempts int) (Op, bool) {
	rc, ok := c.(Retrier)
	if !ok || done.Type != Fail || !strings.HasPrefix(done.Error, ErrConflict) || attempts >= rc.Retries() {
		return Op{}, false
	}
	if rn, ok := d.Gen.(Renewer); ok {
		return rn.Renew(inputs), true
	}
	return inputs, true
}

// perform runs one op with the per-op timeout. The op is not cut short by
// the end of the run: ops in flight finish (or time out) and are recorded.
func (d *Driver) perform(ctx context.Context, c Client, op Op) Op {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout())
	defer cancel()
	done := c.Invoke(octx, op)
	done.Index, done.Process, done.Call, done.Final = op.Index, op.Process, op.Call, op.Final
	if done.F == "" {
		done.F = op.F
	}
	return d.Recorder.Complete(done)
}

func (d *Driver) timeout() time.Duration {
	if d.Config.Timeout > 0 {
		return d.Config.Timeout
	}
	return 5 * time.Second
}

// Final performs the generator's final reads, retrying each until it
// succeeds or ctx is done, and marks them Final. It returns an error if a
// read never succeeded; the attempts are in the history either way.
func (d *Driver) Final(ctx context.Context) error {
	var errs []error
	for _, want := range d.Gen.Final() {
		if err := d.final(ctx, want); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Driver) final(ctx context.Context, want Op) error {
	// Final reads use their own process numbers, after every worker's.
	process := 1 << 20
	var last string
	for attempt := 0; ctx.Err() == nil; attempt++ {
		c, err := d.Open(ctx, attempt)
		if err != nil {
			last = err.Error()
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		op := want
		op.Process = process + attempt
		op.Final = true
		op = d.Recorder.Invoke(op)
		done := d.perform(ctx, c, op)
		c.Close()
		if done.Type == OK {
			return nil
		}
		last = done.Error
		sleep(ctx, 500*time.Millisecond)
	}
	return fmt.Errorf("workload: final %s never succeeded: %s", want.F, last)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
