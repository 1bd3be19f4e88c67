package workload

import (
	"context"
	"time"
)

// Waiter is how a client waits: for its connection's descriptor, or for
// a call that blocks in some other way (connecting, say). A worker of a
// driver that runs its workers on one goroutine (see Multiplexed) waits
// through that goroutine's loop, which runs the other workers meanwhile;
// elsewhere, and by default, a Waiter blocks the calling goroutine.
type Waiter interface {
	// Wait returns once fd is readable (writable when write is set) or
	// has an error or hang-up pending, true; or false once deadline
	// has passed without that (a zero deadline is no deadline). fd must
	// be non-blocking, and the caller must have tried its read or
	// write first and seen EAGAIN, or know that it would (readiness is
	// reported as it changes, as epoll's edge-triggered mode does).
	Wait(fd int, write bool, deadline time.Time) bool
	// Closing forgets fd before the caller closes it, so that a new
	// descriptor of the same number starts afresh.
	Closing(fd int)
	// Do runs f, which may block on anything, and returns once f has
	// returned; other workers run meanwhile. f may run on another
	// goroutine: it must not use this Waiter.
	Do(f func())
	// Sleep returns after d; other workers run meanwhile.
	Sleep(d time.Duration)
}

// Multiplexed is implemented by clients whose Invoke blocks only through
// the Waiter of the context it is given (WaiterFrom), so that the driver
// can run every worker on one goroutine that waits on all their
// connections at once, as pgbench's threads do, instead of a goroutine
// per worker and a thread woken at every round trip. Multiplexed reports
// whether this client does (a client on TLS, for one, cannot).
type Multiplexed interface {
	Multiplexed() bool
}

type waiterKey struct{}

// WithWaiter returns a context that carries w for WaiterFrom.
func WithWaiter(ctx context.Context, w Waiter) context.Context {
	return context.WithValue(ctx, waiterKey{}, w)
}

// WaiterFrom returns the Waiter ctx carries, or one that blocks the
// calling goroutine.
func WaiterFrom(ctx context.Context) Waiter {
	if w, ok := ctx.Value(waiterKey{}).(Waiter); ok {
		return w
	}
	return blocking{}
}

// blocking is the Waiter of a goroutine of its own: it blocks in poll(2).
type blocking struct{}

func (blocking) Closing(int) {}

func (blocking) Do(f func()) { f() }

func (blocking) Sleep(d time.Duration) { time.Sleep(d) }

func (blocking) Wait(fd int, write bool, deadline time.Time) bool {
	for {
		timeout := -1
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return false
			}
			// Round up: poll's timeout is in milliseconds.
			timeout = int((d + time.Millisecond - 1) / time.Millisecond)
		}
		ready, err := poll(fd, write, timeout)
		if err != nil || ready {
			// An error of poll itself (EBADF) shows on the next read.
			return true
		}
	}
}
