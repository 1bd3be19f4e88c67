package workload

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// A history file holds one JSON object per line. Each line carries exactly
// one of the fields below; see docs/history-format.md for the full format.
type line struct {
	Meta     *Meta        `json:"meta,omitempty"`
	Op       *Op          `json:"op,omitempty"`
	Fault    *FaultWindow `json:"fault,omitempty"`
	FaultEnd *FaultEnd    `json:"fault_end,omitempty"`
	Sample   *Sample      `json:"sample,omitempty"`
	Event    *Event       `json:"event,omitempty"`
}

// FaultEnd closes the fault window with the same ID.
type FaultEnd struct {
	ID  int           `json:"id"`
	End time.Duration `json:"end"`
	// Mechanism says how the fault was carried out, when the injector
	// only knew once it had injected it.
	Mechanism string `json:"mechanism,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Clock gives offsets from a run's start on the monotonic clock, so that
// every op, fault and sample of a run shares one timeline.
type Clock struct{ start time.Time }

// NewClock starts a clock now.
func NewClock() Clock { return Clock{start: time.Now()} }

// Start is the wall-clock (and monotonic) time of offset zero.
func (c Clock) Start() time.Time { return c.start }

// Now is the offset of this instant from the start.
func (c Clock) Now() time.Duration { return time.Since(c.start) }

// DefaultFlushInterval bounds how long a record waits in the recorder's
// buffer before it is written.
const DefaultFlushInterval = 100 * time.Millisecond

// flushSize is the buffered size past which the recording goroutine
// writes at once rather than waiting for the interval.
const flushSize = 1 << 20

// Recorder writes a history as the run goes, one line per record. Records
// are buffered and written in batches: a record reaches the writer within
// the flush interval (DefaultFlushInterval), and Flush and Close write
// everything recorded so far, so that an interrupted run keeps it all and
// a crash loses at most the last interval. Stamping and encoding a record
// take one short critical section; no write happens under it.
//
// A Recorder made by NewRecorder also keeps the merged history in memory
// (memory grows with the run); one made by CreateRecorder keeps nothing
// and History reads its file back. A Recorder is safe for concurrent use.
type Recorder struct {
	clock    Clock
	interval time.Duration

	mu    sync.Mutex // guards everything below it up to wmu
	buf   []byte
	next  int64
	meta  Meta
	armed bool // a timed flush is scheduled
	timer *time.Timer
	mem   *memory // nil when the history is read back from path
	err   error   // the first write error

	wmu    sync.Mutex // serialises writes, in the order buffers were taken
	w      io.Writer
	gz     *gzip.Writer
	file   *os.File
	spare  []byte
	closed bool
	path   string
}

// memory is the merged history a NewRecorder keeps.
type memory struct {
	h       History
	pending map[int64]int // op index → position in h.Ops
	faults  map[int]int   // fault ID → position in h.Faults
}

// NewRecorder starts a history on w with the given metadata, and keeps the
// merged history in memory for History. Meta.Start is set from the clock.
func NewRecorder(w io.Writer, clock Clock, meta Meta) *Recorder {
	r := &Recorder{
		clock:    clock,
		interval: DefaultFlushInterval,
		w:        w,
		mem:      &memory{pending: map[int64]int{}, faults: map[int]int{}},
	}
	r.start(meta)
	return r
}

// FileOptions say how CreateRecorder writes its file.
type FileOptions struct {
	// Compress writes the file gzip-compressed (ReadFile and Read
	// recognise it whatever its name). Each flush ends a compressed
	// block, so an interrupted file reads up to its last flush.
	Compress bool
	// FlushInterval bounds how long a record waits before it is
	// written. Default DefaultFlushInterval.
	FlushInterval time.Duration
}

// CreateRecorder creates (or truncates) the history file at path and
// records into it without keeping the history in memory: History reads
// the file back. Close flushes and closes the file.
func CreateRecorder(path string, clock Clock, meta Meta, opts FileOptions) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	r := &Recorder{clock: clock, interval: opts.FlushInterval, w: f, file: f, path: path}
	if r.interval <= 0 {
		r.interval = DefaultFlushInterval
	}
	if opts.Compress {
		r.gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed) // a valid level: no error
		r.w = r.gz
	}
	r.start(meta)
	return r, nil
}

func (r *Recorder) start(meta Meta) {
	meta.Start = r.clock.Start()
	r.meta = meta
	if r.mem != nil {
		r.mem.h.Meta = meta
	}
	r.mu.Lock()
	r.appendLine(line{Meta: &meta})
	r.mu.Unlock()
	r.Flush()
}

// Path is the file a CreateRecorder writes, empty for NewRecorder's.
func (r *Recorder) Path() string { return r.path }

// Clock returns the recorder's clock.
func (r *Recorder) Clock() Clock { return r.clock }

// SetNodes records the cluster's nodes in the history's metadata, once
// they are known. The history file gets a new meta line; readers keep the
// last one.
func (r *Recorder) SetNodes(nodes []NodeInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.meta.Nodes = append([]NodeInfo(nil), nodes...)
	meta := r.meta
	if r.mem != nil {
		r.mem.h.Meta = meta
	}
	r.appendLine(line{Meta: &meta})
}

// Invoke stamps op with the next index and the current offset, records the
// invocation and returns the stamped op for the client to perform.
func (r *Recorder) Invoke(op Op) Op {
	op.Type = Invoke
	op.Return = 0
	r.mu.Lock()
	op.Index = r.next
	r.next++
	op.Call = r.clock.Now()
	r.buf = appendOpLine(r.buf, &op)
	if m := r.mem; m != nil {
		m.pending[op.Index] = len(m.h.Ops)
		m.h.Ops = append(m.h.Ops, op)
	}
	r.appended()
	return op
}

// Complete records the completion of an invoked op. The op's Type must be
// ok, fail or info; Return is stamped now unless the client set it.
func (r *Recorder) Complete(op Op) Op {
	if !op.Type.Valid() || op.Type == Invoke {
		op.Type = Info
		op.Error = "client returned no outcome"
	}
	if op.Return == 0 {
		op.Return = r.clock.Now()
	}
	r.mu.Lock()
	r.buf = appendOpLine(r.buf, &op)
	if m := r.mem; m != nil {
		if i, ok := m.pending[op.Index]; ok {
			op.Call = m.h.Ops[i].Call
			m.h.Ops[i] = op
			delete(m.pending, op.Index)
		}
	}
	r.appended()
	return op
}

// FaultStart records that a fault is being injected. Start is stamped now,
// before the injection, so that a fault's window covers all of it. The
// record is written before FaultStart returns.
func (r *Recorder) FaultStart(f FaultWindow) FaultWindow {
	r.mu.Lock()
	f.Start = r.clock.Now()
	f.End, f.Open = 0, false
	r.appendLine(line{Fault: &f})
	if m := r.mem; m != nil {
		m.faults[f.ID] = len(m.h.Faults)
		m.h.Faults = append(m.h.Faults, f)
	}
	r.mu.Unlock()
	r.Flush()
	return f
}

// FaultEnd records that the fault with the given ID was healed, or that
// its injection failed. mechanism, if not empty, says how it was carried
// out; err is the failure, if any. The record is written before FaultEnd
// returns.
func (r *Recorder) FaultEnd(id int, mechanism string, err error) {
	r.mu.Lock()
	e := FaultEnd{ID: id, End: r.clock.Now(), Mechanism: mechanism}
	if err != nil {
		e.Error = err.Error()
	}
	r.appendLine(line{FaultEnd: &e})
	if m := r.mem; m != nil {
		if i, ok := m.faults[id]; ok {
			m.h.Faults[i].End = e.End
			if mechanism != "" {
				m.h.Faults[i].Mechanism = mechanism
			}
			if e.Error != "" {
				m.h.Faults[i].Error = joinErr(m.h.Faults[i].Error, e.Error)
			}
		}
	}
	r.mu.Unlock()
	r.Flush()
}

// Sample records resource samples. A sample whose Time is zero is stamped
// now.
func (r *Recorder) Sample(ss ...Sample) {
	r.mu.Lock()
	now := r.clock.Now()
	for _, s := range ss {
		if s.Time == 0 {
			s.Time = now
		}
		r.appendLine(line{Sample: &s})
		if r.mem != nil {
			r.mem.h.Samples = append(r.mem.h.Samples, s)
		}
	}
	r.appended()
}

// Event records an engine event. An event whose Time is zero is stamped now.
func (r *Recorder) Event(e Event) {
	r.mu.Lock()
	if e.Time == 0 {
		e.Time = r.clock.Now()
	}
	r.appendLine(line{Event: &e})
	if r.mem != nil {
		r.mem.h.Events = append(r.mem.h.Events, e)
	}
	r.appended()
}

// History returns the history recorded so far, merged as Read would merge
// it: operations still in flight are info. A NewRecorder's is a copy of
// what it holds in memory; a CreateRecorder's is its file, flushed and
// read back (an error reading it is returned by Err).
func (r *Recorder) History() *History {
	r.mu.Lock()
	if m := r.mem; m != nil {
		h := &History{
			Meta:    m.h.Meta,
			Ops:     append([]Op(nil), m.h.Ops...),
			Faults:  append([]FaultWindow(nil), m.h.Faults...),
			Samples: append([]Sample(nil), m.h.Samples...),
			Events:  append([]Event(nil), m.h.Events...),
		}
		r.mu.Unlock()
		closeOpen(h)
		return h
	}
	meta := r.meta
	r.mu.Unlock()
	r.Flush()
	h, err := ReadFile(r.path)
	if err != nil {
		r.fail(err)
		return &History{Meta: meta}
	}
	return h
}

// Err returns the first write error, if any. A NewRecorder goes on
// recording in memory after a write error, so that the run can still be
// checked.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Flush writes everything recorded so far.
func (r *Recorder) Flush() {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	b := r.buf
	r.buf = r.spare[:0]
	r.mu.Unlock()
	r.spare = b[:0]
	if len(b) == 0 || r.closed {
		return
	}
	if _, err := r.w.Write(b); err != nil {
		r.fail(fmt.Errorf("history: write: %w", err))
		return
	}
	if r.gz != nil {
		if err := r.gz.Flush(); err != nil {
			r.fail(fmt.Errorf("history: write: %w", err))
		}
	}
	if cap(r.spare) > 4*flushSize {
		r.spare = nil // a burst made it large: let it go
	}
}

// Close flushes the history and, for a CreateRecorder, ends the
// compressed stream and closes the file. Recording after Close is lost;
// History still reads the file.
func (r *Recorder) Close() error {
	r.Flush()
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		return r.Err()
	}
	r.closed = true
	if r.gz != nil {
		if err := r.gz.Close(); err != nil {
			r.fail(fmt.Errorf("history: write: %w", err))
		}
	}
	if r.file != nil {
		if err := r.file.Close(); err != nil {
			r.fail(fmt.Errorf("history: close: %w", err))
		}
	}
	return r.Err()
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// appendLine encodes a record other than an op (rare ones: meta, faults,
// samples, events) into the buffer; r.mu is held.
func (r *Recorder) appendLine(l line) {
	b, err := json.Marshal(l)
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("history: encode: %w", err)
		}
		return
	}
	r.buf = append(append(r.buf, b...), '\n')
}

// appended schedules the timed flush of what was just buffered and
// releases r.mu; past flushSize it writes at once instead.
func (r *Recorder) appended() {
	big := len(r.buf) >= flushSize
	if !big && !r.armed {
		r.armed = true
		if r.timer == nil {
			r.timer = time.AfterFunc(r.interval, r.timed)
		} else {
			r.timer.Reset(r.interval)
		}
	}
	r.mu.Unlock()
	if big {
		r.Flush()
	}
}

func (r *Recorder) timed() {
	r.mu.Lock()
	r.armed = false
	r.mu.Unlock()
	r.Flush()
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// closeOpen turns operations that never completed into info operations
// that end with the history, and marks faults that were never healed as
// open.
func closeOpen(h *History) {
	end := h.End()
	for i := range h.Ops {
		if h.Ops[i].Type == Invoke {
			h.Ops[i].Type = Info
			h.Ops[i].Return = end
			h.Ops[i].Error = joinErr(h.Ops[i].Error, "no completion recorded")
		}
	}
	for i := range h.Faults {
		if h.Faults[i].End == 0 {
			h.Faults[i].Open = true
		}
	}
}
