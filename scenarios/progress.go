package scenarios

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// progress prints the run's state on stderr: phase, elapsed time, ops/s,
// errors and the faults in force. On a terminal it rewrites one line; in a
// log it prints a line every few seconds.
type progress struct {
	w        io.Writer
	terminal bool
	start    time.Time

	mu       sync.Mutex
	phase    string
	counters *workload.Counters
	faults   []string
	lastOK   int64
	lastAt   time.Time
	lastLine time.Time
}

func newProgress(w io.Writer, terminal bool) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, terminal: terminal, start: time.Now()}
}

// Phase starts a new phase and prints it on its own line.
func (p *progress) Phase(name string, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = name
	p.clearLine()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(p.w, "[%6.1fs] %-8s %s\n", time.Since(p.start).Seconds(), name, msg)
}

// Printf prints a note under the current phase.
func (p *progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
	fmt.Fprintf(p.w, "[%6.1fs] %-8s %s\n", time.Since(p.start).Seconds(), p.phase, fmt.Sprintf(format, args...))
}

// Watch makes Tick report these counters.
func (p *progress) Watch(c *workload.Counters) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counters = c
	p.lastOK, p.lastAt = c.OK.Load(), time.Now()
}

// Faults sets the faults in force and prints them on their own line, so
// that a log shows when each fault started and was healed.
func (p *progress) Faults(active []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append([]string(nil), active...)
	now := "none"
	if len(active) > 0 {
		now = strings.Join(active, ", ")
	}
	p.clearLine()
	fmt.Fprintf(p.w, "[%6.1fs] %-8s faults in force: %s\n", time.Since(p.start).Seconds(), p.phase, now)
}

// Tick prints the load's state.
func (p *progress) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counters == nil {
		return
	}
	now := time.Now()
	ok := p.counters.OK.Load()
	rate := float64(ok-p.lastOK) / now.Sub(p.lastAt).Seconds()
	p.lastOK, p.lastAt = ok, now
	faults := "none"
	if len(p.faults) > 0 {
		faults = strings.Join(p.faults, ", ")
	}
	line := fmt.Sprintf("[%6.1fs] %-8s %6.0f ops/s  ok %d  fail %d  info %d  faults: %s",
		time.Since(p.start).Seconds(), p.phase, rate, ok, p.counters.Fail.Load(), p.counters.Info.Load(), faults)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	if now.Sub(p.lastLine) >= 5*time.Second {
		fmt.Fprintln(p.w, line)
		p.lastLine = now
	}
}

func (p *progress) clearLine() {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
