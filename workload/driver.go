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

// Mode is how a driver keeps a target rate.
type Mode string

// The two modes of a driver with a target rate. Without a rate both run
// every client as fast as it goes.
const (
	// Open schedules operations at intended start times, Rate per
	// second, whatever the database does: a slow database makes them
	// wait for a free client, and the wait counts in their latency
	// (Op.Intended). This is how a population of independent users
	// loads a service, and the default.
	Open Mode = "open"
	// Closed makes each client wait for a token before its next
	// operation, Jepsen's way: when the database slows down the clients
	// slow down with it, and the achieved rate falls below Rate.
	Closed Mode = "closed"
)

// Modes lists the driver's modes.
func Modes() []Mode { return []Mode{Open, Closed} }

// Config says how hard and how long to drive a workload.
type Config struct {
	// Concurrency is the number of workers, each with its own client:
	// in open mode, the pool of operations in flight that serves the
	// schedule.
	Concurrency int
	// Rate is the target of operations started per second, over all
	// workers; 0 is as fast as the workers go.
	Rate float64
	// Mode is how Rate is kept: Open (the default, also when empty) or
	// Closed. In open mode an intended start that no worker could begin
	// within Timeout of it is skipped (its operation would have timed
	// out waiting) and counted in Counters.Skipped and a load-shortfall
	// event: the shortfall is recorded, never hidden.
	Mode Mode
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
	// Skipped counts the intended starts of open-mode load that no
	// worker began within the operation timeout.
	Skipped atomic.Int64
}

// Driver runs a workload's generator against clients and records every
// operation.
type Driver struct {
	Config   Config
	Gen      Generator
	Open     Opener
	Recorder *Recorder
	Counters Counters

	kept RateKept
}

// RateKept is how far the last Run kept its target rate.
type RateKept struct {
	Mode Mode
	// Target and Achieved are operations started per second; Target
	// is zero when the load had no target.
	Target, Achieved float64
	// Skipped counts intended starts no worker began in time.
	Skipped int64
}

// String renders it as the load-rate event's Detail.
func (k RateKept) String() string {
	return fmt.Sprintf("mode=%s target=%g achieved=%.1f skipped=%d", k.Mode, k.Target, k.Achieved, k.Skipped)
}

// Kept returns how far the last Run kept its target rate.
func (d *Driver) Kept() RateKept { return d.kept }

// Run drives the workload until its duration has passed or ctx is done,
// then waits for operations in flight and flushes the recorder. It fails
// only if no worker could open a client; a worker that cannot open one
// retries until the end (in open mode the intended starts it misses are
// counted as skipped). With a target rate it records, at its end, a
// load-rate event with the target and the achieved rate.
func (d *Driver) Run(ctx context.Context) error {
	if d.Config.Concurrency < 1 {
		return errors.New("workload: concurrency must be at least 1")
	}
	switch d.Config.Mode {
	case "", Open, Closed:
	default:
		return fmt.Errorf("workload: mode %q is neither %s nor %s", d.Config.Mode, Open, Closed)
	}
	ctx, cancel := context.WithTimeout(ctx, d.Config.Duration)
	defer cancel()
	clock := d.Recorder.Clock()
	p := pacer{clock: clock}
	switch {
	case d.Config.Rate <= 0:
	case d.Config.Mode == Closed:
		p.lim = rate.NewLimiter(rate.Limit(d.Config.Rate), max(1, d.Config.Concurrency))
	default:
		now := clock.Now()
		p.sched = &schedule{start: now, end: now + d.Config.Duration, period: float64(time.Second) / d.Config.Rate}
	}
	d.kept = RateKept{}
	started := clock.Now()
	var before int64
	if d.Config.Rate > 0 {
		before = d.Counters.OK.Load() + d.Counters.Fail.Load() + d.Counters.Info.Load()
	}
	var (
		opened atomic.Int64
		errMu  sync.Mutex
		first  error
	)
	fail := func(err error) {
		if err != nil {
			errMu.Lock()
			if first == nil {
				first = err
			}
			errMu.Unlock()
		}
	}
	// Worker 0's client says whether the workers can share a loop.
	c0, err := d.Open(ctx, 0)
	if err != nil {
		c0 = nil
		fail(err)
	} else {
		opened.Add(1)
	}
	var l *loop
	if m, ok := c0.(Multiplexed); ok && m.Multiplexed() {
		// Where no loop can be made, the workers run on goroutines.
		l, _ = newLoop()
	}
	if l != nil {
		bodies := make([]func(*coworker), d.Config.Concurrency)
		for w := range bodies {
			bodies[w] = func(cw *coworker) {
				fail(d.worker(WithWaiter(ctx, cw), w, &p, &opened, first0(w, c0), cw))
			}
		}
		l.run(ctx, bodies)
		l.close()
	} else {
		var wg sync.WaitGroup
		for w := 0; w < d.Config.Concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fail(d.worker(ctx, w, &p, &opened, first0(w, c0), newTimerPace()))
			}()
		}
		wg.Wait()
	}
	if d.Config.Rate > 0 {
		d.recordRate(clock.Now()-started, d.Counters.OK.Load()+d.Counters.Fail.Load()+d.Counters.Info.Load()-before, p.skipped.Load())
	}
	d.Recorder.Flush()
	if opened.Load() == 0 && first != nil {
		return fmt.Errorf("workload: no client could connect: %w", first)
	}
	return nil
}

// recordRate records how far the load kept its target rate.
func (d *Driver) recordRate(elapsed time.Duration, ops, skipped int64) {
	mode := d.Config.Mode
	if mode == "" {
		mode = Open
	}
	d.kept = RateKept{Mode: mode, Target: d.Config.Rate, Skipped: skipped}
	if s := min(elapsed, d.Config.Duration).Seconds(); s > 0 {
		d.kept.Achieved = float64(ops) / s
	}
	d.Recorder.Event(Event{Kind: EventLoadRate, Detail: d.kept.String()})
}

// pacer paces the workers of one Run: a closed-loop limiter, an
// open-loop schedule, or neither (as fast as they go).
type pacer struct {
	clock   Clock
	lim     *rate.Limiter
	sched   *schedule
	skipped atomic.Int64
	// lastEvent is the second of the last load-shortfall event.
	lastEvent atomic.Int64
}

// schedule hands out the intended start times of open-loop load: start,
// start+period, start+2·period… up to end, each to one worker.
type schedule struct {
	start, end time.Duration
	period     float64 // nanoseconds between intended starts
	next       atomic.Int64
}

func (s *schedule) take() (time.Duration, bool) {
	k := s.next.Add(1) - 1
	t := s.start + time.Duration(float64(k)*s.period)
	return t, t < s.end
}

// first0 is worker w's first client: c0 for worker 0, none (to open)
// for the others.
func first0(w int, c0 Client) Client {
	if w == 0 {
		return c0
	}
	return nil
}

// pace is how a worker waits: for time, and for calls that block (its
// client's Open). A worker on a goroutine of its own blocks; a worker of
// the loop suspends, and the loop runs the others.
type pace interface {
	// sleep waits d, or less if ctx ends first; it reports whether ctx
	// is still live.
	sleep(ctx context.Context, d time.Duration) bool
	// Do runs f and returns once it has returned.
	Do(f func())
}

// timerPace is the pace of a worker on a goroutine of its own.
type timerPace struct{ t *time.Timer }

func newTimerPace() *timerPace {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timerPace{t: t}
}

func (tp *timerPace) Do(f func()) { f() }

func (tp *timerPace) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	tp.t.Reset(d)
	select {
	case <-ctx.Done():
		tp.t.Stop()
		return false
	case <-tp.t.C:
		return ctx.Err() == nil
	}
}

// wait holds a worker until its next operation may start and returns
// that operation's intended start (zero when the load has no schedule).
// It returns false when the load is over.
func (d *Driver) wait(ctx context.Context, p *pacer, s pace) (time.Duration, bool) {
	switch {
	case p.lim != nil:
		r := p.lim.Reserve()
		if !r.OK() {
			return 0, false
		}
		if !s.sleep(ctx, r.Delay()) {
			r.Cancel()
			return 0, false
		}
		return 0, true
	case p.sched == nil:
		return 0, ctx.Err() == nil
	}
	for {
		at, ok := p.sched.take()
		if !ok || ctx.Err() != nil {
			return 0, false
		}
		now := p.clock.Now()
		if now-at > d.timeout() {
			d.skip(p, now)
			continue
		}
		if at <= now {
			return at, true
		}
		if !s.sleep(ctx, at-now) {
			return 0, false
		}
		return at, true
	}
}

// skip counts an intended start no worker began in time, and records a
// load-shortfall event at most once a second with the total so far.
func (d *Driver) skip(p *pacer, now time.Duration) {
	n := p.skipped.Add(1)
	d.Counters.Skipped.Add(1)
	sec := int64(now/time.Second) + 1
	if last := p.lastEvent.Load(); last != sec && p.lastEvent.CompareAndSwap(last, sec) {
		d.Recorder.Event(Event{Kind: EventLoadShortfall, Detail: fmt.Sprintf("skipped=%d", n)})
	}
}

// worker runs worker w's operations, on c (nil: a client it opens), until
// the load is over.
func (d *Driver) worker(ctx context.Context, w int, p *pacer, opened *atomic.Int64, c Client, s pace) error {
	r := rand.New(rand.NewPCG(uint64(d.Config.Seed), uint64(w)))
	process := w
	var (
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
		if c == nil {
			var err error
			s.Do(func() { c, err = d.Open(ctx, w) })
			if err != nil {
				lastErr = err
				c = nil
				s.sleep(ctx, 100*time.Millisecond)
				continue
			}
			opened.Add(1)
		}
		var op Op
		if retry != nil {
			// A retry follows its abort at once, as an application's
			// does: it has no intended start of its own.
			op, retry = *retry, nil
		} else {
			at, ok := d.wait(ctx, p, s)
			if !ok {
				return lastErr
			}
			op, attempts = d.Gen.Next(r, process), 0
			op.Intended = at
		}
		inputs := op
		inputs.Intended = 0
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
	done.Index, done.Process, done.Call, done.Intended, done.Final = op.Index, op.Process, op.Call, op.Intended, op.Final
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
// read never succeeded; the attempts are in the history either way, and
// flushed to its writer when Final returns.
func (d *Driver) Final(ctx context.Context) error {
	defer d.Recorder.Flush()
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
