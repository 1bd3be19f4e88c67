// Package delayer holds packets that netfilter queues to it (the NFQUEUE
// target) and releases each after a delay: latency and jitter where the
// kernel lacks sch_netem. It speaks the NFQUEUE netlink protocol itself
// over github.com/mdlayher/netlink.
//
// A released packet gets the delayer's mark bit and the verdict NF_REPEAT,
// so that it runs through the same table's hook again: the rule that
// queued it skips packets with its bit, and the rules of other delayers on
// the same path still see it, so delays between the same nodes add up
// (a latency fault on top of the standing inter-region latency).
//
// The queue fails open: when it or the socket is full the kernel lets
// packets pass undelayed, counted in Stats, rather than dropping them; and
// rules that queue to a delayer should carry --queue-bypass, so that
// packets pass when no delayer listens (it crashed, or was never started).
package delayer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Config configures a Delayer.
type Config struct {
	// Queue is the first queue number tried; Open takes the first free
	// one from there (another process may hold a queue).
	Queue uint16
	// Tries is how many queue numbers Open tries; zero is 64.
	Tries int
	// Delay and Jitter: each packet is held for a time drawn uniformly
	// from [Delay-Jitter, Delay+Jitter], keeping each flow's order.
	Delay, Jitter time.Duration
	// Seed seeds the jitter.
	Seed uint64
	// Mark is the bit set on released packets, which are repeated through
	// their hook (NF_REPEAT); zero accepts them instead (NF_ACCEPT), which
	// skips the rest of the table.
	Mark uint32
	// MaxLen bounds the packets the kernel holds for the queue; past it
	// packets pass undelayed. Zero is 16384.
	MaxLen uint32
	// NetNS is the path of the network namespace to work in
	// (/proc/PID/ns/net, /run/netns/NAME); empty is the caller's.
	NetNS string
}

// copyRange is how much of each packet the kernel copies to us: enough
// for the IP and transport headers that name its flow.
const copyRange = 64

// Stats count what a Delayer did.
type Stats struct {
	Queue    uint16 `json:"queue"`
	Received uint64 `json:"received"`
	Released uint64 `json:"released"`
	MaxHeld  int    `json:"max_held"`
	// FailedOpen counts packets the kernel could not hand us (the socket
	// buffer was full) and let pass undelayed: gaps in packet ids.
	FailedOpen uint64 `json:"failed_open"`
	// NoBuffer counts the times the socket reported lost messages.
	NoBuffer uint64 `json:"no_buffer"`
	// Saturated counts packets that arrived with MaxLen packets held:
	// after each, the kernel lets new packets pass undelayed until one is
	// released.
	Saturated uint64 `json:"saturated"`
	// Errors counts messages the kernel answered with an error (a verdict
	// for a packet it no longer holds).
	Errors uint64 `json:"errors"`
}

// Delayer is a bound NFQUEUE queue and the packets held from it.
type Delayer struct {
	cfg   Config
	conn  *netlink.Conn
	queue uint16

	mu       sync.Mutex
	sched    *schedule
	seq      uint64
	lastID   uint32
	draining bool
	stats    Stats
	wake     chan struct{}
}

// Open binds the first free queue from cfg.Queue on and configures it.
func Open(cfg Config) (*Delayer, error) {
	if cfg.Delay < 0 || cfg.Jitter < 0 {
		return nil, fmt.Errorf("delayer: negative delay %s or jitter %s", cfg.Delay, cfg.Jitter)
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 64
	}
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 16384
	}
	conn, err := dial(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	d := &Delayer{cfg: cfg, conn: conn, sched: newSchedule(cfg.Delay, cfg.Jitter, cfg.Seed), wake: make(chan struct{}, 1)}
	if err := d.bind(); err != nil {
		conn.Close()
		return nil, err
	}
	d.stats.Queue = d.queue
	return d, nil
}

func dial(netns string) (*netlink.Conn, error) {
	nc := &netlink.Config{MessageBufferSize: 1 << 16}
	if netns != "" {
		f, err := os.Open(netns)
		if err != nil {
			return nil, fmt.Errorf("delayer: network namespace: %w", err)
		}
		defer f.Close()
		nc.NetNS = int(f.Fd())
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, nc)
	if err != nil {
		return nil, fmt.Errorf("delayer: netlink: %w", err)
	}
	// Room for bursts: a held packet costs the socket only its message.
	// SO_RCVBUFFORCE passes rmem_max for root; otherwise fall back.
	if rc, err := conn.SyscallConn(); err == nil {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		})
		if serr != nil {
			conn.SetReadBuffer(16 << 20)
		}
	}
	return conn, nil
}

// bind takes the first queue number that is free.
func (d *Delayer) bind() error {
	var lastErr error
	for i := 0; i < d.cfg.Tries; i++ {
		q := d.cfg.Queue + uint16(i)
		m, err := bindMessage(q, cmdBind)
		if err != nil {
			return err
		}
		if _, err := d.conn.Execute(m); err != nil {
			// Another socket holds the queue: EBUSY, or EPERM from
			// kernels that report it so.
			if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EPERM) {
				lastErr = err
				continue
			}
			return fmt.Errorf("delayer: bind queue %d: %w", q, err)
		}
		m, err = paramsMessage(q, copyRange, d.cfg.MaxLen, flagFailOpen|flagGSO)
		if err != nil {
			return err
		}
		if _, err := d.conn.Execute(m); err != nil {
			return fmt.Errorf("delayer: configure queue %d: %w", q, err)
		}
		d.queue = q
		return nil
	}
	return fmt.Errorf("delayer: no free queue in %d–%d: %w", d.cfg.Queue, int(d.cfg.Queue)+d.cfg.Tries-1, lastErr)
}

// Queue is the queue number the delayer holds.
func (d *Delayer) Queue() uint16 { return d.queue }

// Stats returns the counts so far.
func (d *Delayer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Run holds and releases packets until ctx is done. Then it releases
// every packet it holds at once, and any still queued to it, and closes
// the queue, so that nothing is lost when the fault heals.
func (d *Delayer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recvDone := make(chan error, 1)
	go func() {
		err := d.receive()
		cancel()
		recvDone <- err
	}()
	d.release(ctx)
	// Release what is held, then catch what was still on its way: the
	// rules are gone by now, so the socket empties.
	d.mu.Lock()
	d.draining = true
	held := d.sched.drain(nil)
	d.mu.Unlock()
	d.verdicts(held)
	d.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	err := <-recvDone
	if isTimeout(err) {
		err = nil
	}
	if m, merr := bindMessage(d.queue, cmdUnbind); merr == nil {
		d.conn.Execute(m)
	}
	d.conn.Close()
	return err
}

// receive reads queued packets and schedules them, until the socket
// fails or, once draining, goes quiet.
func (d *Delayer) receive() error {
	var (
		now    []entry
		failed int // errors in a row
	)
	for {
		msgs, err := d.conn.Receive()
		switch {
		case err == nil:
			failed = 0
			now = d.hold(msgs, now[:0])
			d.verdicts(now)
		case isTimeout(err):
			d.mu.Lock()
			draining := d.draining
			d.mu.Unlock()
			if draining {
				return err
			}
		case errors.Is(err, os.ErrClosed), errors.Is(err, unix.EBADF):
			return fmt.Errorf("delayer: receive: %w", err)
		default:
			// ENOBUFS (messages were lost; the kernel let those packets
			// pass) or the kernel's error answer to one verdict: count
			// it and go on, unless the socket keeps failing.
			d.mu.Lock()
			if errors.Is(err, unix.ENOBUFS) {
				d.stats.NoBuffer++
			} else {
				d.stats.Errors++
			}
			d.mu.Unlock()
			if failed++; failed > 1000 {
				return fmt.Errorf("delayer: receive: %w", err)
			}
		}
	}
}

// hold schedules each packet in msgs and returns those to release at
// once (while draining).
func (d *Delayer) hold(msgs []netlink.Message, now []entry) []entry {
	t := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	wake := false
	for _, m := range msgs {
		p, err := decodePacket(m)
		if err != nil {
			continue
		}
		d.stats.Received++
		if d.lastID != 0 && p.ID > d.lastID+1 {
			d.stats.FailedOpen += uint64(p.ID - d.lastID - 1)
		}
		d.lastID = p.ID
		if d.draining {
			now = append(now, entry{id: p.ID, mark: p.Mark})
			continue
		}
		d.seq++
		at := d.sched.add(t, flowKey(p.Payload), p.ID, p.Mark, d.seq)
		held := d.sched.len()
		if held > d.stats.MaxHeld {
			d.stats.MaxHeld = held
		}
		if uint32(held) >= d.cfg.MaxLen {
			d.stats.Saturated++
		}
		if held == 1 || !d.sched.held[0].at.Before(at) {
			wake = true
		}
	}
	if wake {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	return now
}

// release sends the verdicts of packets as they fall due, until ctx is
// done.
func (d *Delayer) release(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// Packets due within early of now go together: a wake-up and a
	// system call per batch rather than per packet. Timers fire late by
	// about as much, so releases are not biased early.
	early := min(releaseQuantum, d.cfg.Delay/40)
	var batch []entry
	for {
		d.mu.Lock()
		var next time.Time
		batch, next = d.sched.due(time.Now().Add(early), batch[:0])
		d.mu.Unlock()
		d.verdicts(batch)
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// maxBatch bounds the verdicts sent in one system call.
const maxBatch = 256

// releaseQuantum is how early a packet may leave to join a batch.
const releaseQuantum = 250 * time.Microsecond

// verdicts releases the packets.
func (d *Delayer) verdicts(es []entry) {
	if len(es) == 0 {
		return
	}
	msgs := make([]netlink.Message, 0, min(len(es), maxBatch))
	flush := func() {
		if len(msgs) == 0 {
			return
		}
		d.conn.SendMessages(msgs)
		msgs = msgs[:0]
	}
	verdict := uint32(verdictAccept)
	if d.cfg.Mark != 0 {
		verdict = verdictRepeat
	}
	for _, e := range es {
		m, err := verdictMessage(d.queue, e.id, verdict, e.mark|d.cfg.Mark)
		if err != nil {
			continue
		}
		msgs = append(msgs, m)
		if len(msgs) == maxBatch {
			flush()
		}
	}
	flush()
	d.mu.Lock()
	d.stats.Released += uint64(len(es))
	d.mu.Unlock()
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
