package workload

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loop runs a driver's workers as coroutines on one goroutine and waits
// for all of them at once, in one epoll instance: a worker that waits
// (for its connection, for its next intended start) suspends, and the
// loop resumes it when its descriptor is ready or its time has come. An
// operation then costs its own write and read and a share of one
// epoll_wait, with no goroutine parked and woken and no thread woken for
// it, as in pgbench's threads.
type loop struct {
	epfd int
	// wake is an eventfd, written when a worker's Do returns or the
	// run's context ends.
	wake int
	fds  map[int]*fdState
	// timers are the workers waiting with a deadline, earliest first.
	timers timerHeap
	ready  []*coworker
	events []unix.EpollEvent
	live   int
	// yielded is when the loop last yielded its processor.
	yielded time.Time

	mu       sync.Mutex
	returned []*coworker // whose Do has returned
	ended    bool        // the run's context is done
}

// fdState is what the loop knows of one registered descriptor: whether
// it became readable or writable since a worker last looked (epoll's
// edge-triggered mode reports changes, not levels), and who waits on it.
type fdState struct {
	readable, writable bool
	waiter             *coworker
}

// coworker is one worker run as a coroutine. It is the Waiter of the
// worker's operations.
type coworker struct {
	l     *loop
	yield func(struct{}) bool
	next  func() (struct{}, bool)
	// The wait it is suspended in: on fd (-1: a sleep), until deadline
	// (zero: none).
	fd       int
	write    bool
	deadline time.Time
	sleeping bool // a Sleep, ended early by the run's end
	index    int  // in timers; -1 when not there
	ok       bool // the wait's result
}

func newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("workload: epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("workload: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("workload: epoll_ctl: %w", err)
	}
	return &loop{epfd: epfd, wake: wake, fds: map[int]*fdState{}, events: make([]unix.EpollEvent, 128)}, nil
}

func (l *loop) close() {
	unix.Close(l.epfd)
	unix.Close(l.wake)
}

// run runs each body as a worker until every one has returned. The run's
// end (ctx done) ends every Sleep at once; waits on descriptors keep
// their deadlines, so that operations in flight finish.
func (l *loop) run(ctx context.Context, bodies []func(w *coworker)) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.ended = true
		l.mu.Unlock()
		l.signal()
	})
	defer stop()
	for _, body := range bodies {
		cw := &coworker{l: l, fd: -1, index: -1}
		next, cancel := iter.Pull(func(yield func(struct{}) bool) {
			cw.yield = yield
			body(cw)
		})
		defer cancel()
		cw.next = next
		l.live++
		l.ready = append(l.ready, cw)
	}
	for {
		// Resuming a worker makes none ready: only poll and woken do.
		for _, cw := range l.ready {
			if _, alive := cw.next(); !alive {
				l.live--
			}
		}
		clear(l.ready)
		l.ready = l.ready[:0]
		if l.live == 0 {
			return
		}
		l.yieldNow()
		l.poll()
	}
}

// yieldInterval is how often the loop's goroutine yields its processor.
const yieldInterval = time.Millisecond

// yieldNow lets Go's scheduler run once in a while. The loop's goroutine
// never parks: it waits in epoll_wait, a system call. To Go's runtime a
// goroutine that has not been rescheduled for 10 ms is running too long:
// sysmon preempts it and takes its processor during its next wait, then
// wakes at every system call the loop makes and polls every 20 µs for a
// while (at 2,000 ops/s that was a third of the client's CPU). A
// yield a millisecond keeps the loop's goroutine rescheduled.
func (l *loop) yieldNow() {
	if now := time.Now(); now.Sub(l.yielded) >= yieldInterval {
		l.yielded = now
		runtime.Gosched()
	}
}

// poll waits for the first descriptor, deadline or wake-up and makes
// ready the workers it concerns.
func (l *loop) poll() {
	timeout := time.Duration(-1)
	if len(l.timers) > 0 {
		timeout = max(0, time.Until(l.timers[0].deadline))
	}
	n, err := epollWait(l.epfd, l.events, timeout)
	if err != nil && !errors.Is(err, unix.EINTR) {
		// Nothing a worker did can make epoll_wait fail; back off
		// rather than spin.
		time.Sleep(time.Millisecond)
	}
	for _, ev := range l.events[:max(n, 0)] {
		fd := int(ev.Fd)
		if fd == l.wake {
			l.woken()
			continue
		}
		st := l.fds[fd]
		if st == nil {
			continue
		}
		trouble := ev.Events&(unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) != 0
		if ev.Events&unix.EPOLLIN != 0 || trouble {
			st.readable = true
		}
		if ev.Events&unix.EPOLLOUT != 0 || trouble {
			st.writable = true
		}
		if cw := st.waiter; cw != nil && st.take(cw.write) {
			st.waiter = nil
			l.wakeUp(cw, true)
		}
	}
	now := time.Now()
	for len(l.timers) > 0 && !l.timers[0].deadline.After(now) {
		cw := l.timers[0]
		if cw.fd >= 0 {
			if st := l.fds[cw.fd]; st != nil && st.waiter == cw {
				st.waiter = nil
			}
		}
		l.wakeUp(cw, false)
	}
}

// woken takes what the eventfd announced: returned Dos, the run's end.
func (l *loop) woken() {
	var buf [8]byte
	unix.Read(l.wake, buf[:])
	l.mu.Lock()
	returned := l.returned
	l.returned = nil
	ended := l.ended
	l.mu.Unlock()
	l.ready = append(l.ready, returned...)
	// A worker that sleeps once the run has ended returns at once
	// (coworker.sleep), so only those asleep before need waking.
	if ended {
		for _, cw := range append([]*coworker(nil), l.timers...) {
			if cw.sleeping {
				l.wakeUp(cw, false)
			}
		}
	}
}

// signal wakes the loop from another goroutine.
func (l *loop) signal() {
	one := [8]byte{1}
	unix.Write(l.wake, one[:])
}

// wakeUp makes cw ready with the result ok.
func (l *loop) wakeUp(cw *coworker, ok bool) {
	if cw.index >= 0 {
		heap.Remove(&l.timers, cw.index)
	}
	cw.ok, cw.sleeping = ok, false
	l.ready = append(l.ready, cw)
}

// take consumes the change a waiter for writing (or reading) needs.
func (st *fdState) take(write bool) bool {
	if write {
		ok := st.writable
		st.writable = false
		return ok
	}
	ok := st.readable
	st.readable = false
	return ok
}

// suspend hands control back to the loop until a wakeUp.
func (cw *coworker) suspend() bool {
	if !cw.deadline.IsZero() {
		heap.Push(&cw.l.timers, cw)
	}
	cw.yield(struct{}{})
	return cw.ok
}

// Wait implements Waiter.
func (cw *coworker) Wait(fd int, write bool, deadline time.Time) bool {
	l := cw.l
	st := l.fds[fd]
	if st == nil {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			// The read or write that follows reports what is wrong
			// with fd.
			return true
		}
		st = &fdState{}
		l.fds[fd] = st
	}
	if st.take(write) {
		return true
	}
	if !deadline.IsZero() && !deadline.After(time.Now()) {
		return false
	}
	st.waiter = cw
	cw.fd, cw.write, cw.deadline = fd, write, deadline
	return cw.suspend()
}

// Closing implements Waiter.
func (cw *coworker) Closing(fd int) {
	l := cw.l
	if _, ok := l.fds[fd]; ok {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		delete(l.fds, fd)
	}
}

// Do implements Waiter: f runs on a goroutine of its own.
func (cw *coworker) Do(f func()) {
	l := cw.l
	go func() {
		f()
		l.mu.Lock()
		l.returned = append(l.returned, cw)
		l.mu.Unlock()
		l.signal()
	}()
	cw.fd, cw.deadline = -1, time.Time{}
	cw.suspend()
}

// Sleep implements Waiter.
func (cw *coworker) Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	cw.fd, cw.deadline = -1, time.Now().Add(d)
	cw.suspend()
}

// sleep waits d, or less if the run ends first: false then.
func (cw *coworker) sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d > 0 {
		cw.fd, cw.deadline, cw.sleeping = -1, time.Now().Add(d), true
		cw.suspend()
	}
	return ctx.Err() == nil
}

// timerHeap orders waiting workers by deadline.
type timerHeap []*coworker

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	cw := x.(*coworker)
	cw.index = len(*h)
	*h = append(*h, cw)
}
func (h *timerHeap) Pop() any {
	old := *h
	cw := old[len(old)-1]
	old[len(old)-1] = nil
	cw.index = -1
	*h = old[:len(old)-1]
	return cw
}

// epollWait is epoll_pwait2, whose timeout has nanoseconds (epoll_wait's
// has milliseconds, too coarse for intended starts half a millisecond
// apart), falling back to epoll_wait on kernels before 5.11. A negative
// timeout waits for ever.
func epollWait(epfd int, events []unix.EpollEvent, timeout time.Duration) (int, error) {
	var ts *unix.Timespec
	if timeout >= 0 {
		t := unix.NsecToTimespec(int64(timeout))
		ts = &t
	}
	n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(unsafe.Pointer(ts)), 0, 0)
	if errno == unix.ENOSYS {
		ms := -1
		if timeout >= 0 {
			ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
		}
		return unix.EpollWait(epfd, events, ms)
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
