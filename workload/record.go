package workload

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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

// Recorder writes a history as the run goes, one line per record, flushed
// as soon as it is written, so that a crash loses nothing that was
// acknowledged. It also keeps the merged history in memory. A Recorder is
// safe for concurrent use.
type Recorder struct {
	clock Clock

	mu      sync.Mutex
	w       *bufio.Writer
	err     error
	next    int64
	h       History
	pending map[int64]int // op index → position in h.Ops
	faults  map[int]int   // fault ID → position in h.Faults
}

// NewRecorder starts a history on w with the given metadata. Meta.Start is
// set from the clock.
func NewRecorder(w io.Writer, clock Clock, meta Meta) *Recorder {
	meta.Start = clock.Start()
	r := &Recorder{
		clock:   clock,
		w:       bufio.NewWriter(w),
		pending: map[int64]int{},
		faults:  map[int]int{},
	}
	r.h.Meta = meta
	r.write(line{Meta: &meta})
	return r
}

// Clock returns the recorder's clock.
func (r *Recorder) Clock() Clock { return r.clock }

// SetNodes records the cluster's nodes in the history's metadata, once
// they are known. The history file gets a new meta line; readers keep the
// last one.
func (r *Recorder) SetNodes(nodes []NodeInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Meta.Nodes = append([]NodeInfo(nil), nodes...)
	meta := r.h.Meta
	r.write(line{Meta: &meta})
}

// Invoke stamps op with the next index and the current offset, records the
// invocation and returns the stamped op for the client to perform.
func (r *Recorder) Invoke(op Op) Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = r.next
	r.next++
	op.Type = Invoke
	op.Call = r.clock.Now()
	op.Return = 0
	r.write(line{Op: &op})
	r.pending[op.Index] = len(r.h.Ops)
	r.h.Ops = append(r.h.Ops, op)
	return op
}

// Complete records the completion of an invoked op. The op's Type must be
// ok, fail or info; Return is stamped now unless the client set it.
func (r *Recorder) Complete(op Op) Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !op.Type.Valid() || op.Type == Invoke {
		op.Type = Info
		op.Error = "client returned no outcome"
	}
	if op.Return == 0 {
		op.Return = r.clock.Now()
	}
	r.write(line{Op: &op})
	if i, ok := r.pending[op.Index]; ok {
		op.Call = r.h.Ops[i].Call
		r.h.Ops[i] = op
		delete(r.pending, op.Index)
	}
	return op
}

// FaultStart records that a fault is being injected. Start is stamped now,
// before the injection, so that a fault's window covers all of it.
func (r *Recorder) FaultStart(f FaultWindow) FaultWindow {
	r.mu.Lock()
	defer r.mu.Unlock()
	f.Start = r.clock.Now()
	f.End, f.Open = 0, false
	r.write(line{Fault: &f})
	r.faults[f.ID] = len(r.h.Faults)
	r.h.Faults = append(r.h.Faults, f)
	return f
}

// FaultEnd records that the fault with the given ID was healed, or that
// its injection failed. mechanism, if not empty, says how it was carried
// out; err is the failure, if any.
func (r *Recorder) FaultEnd(id int, mechanism string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := FaultEnd{ID: id, End: r.clock.Now(), Mechanism: mechanism}
	if err != nil {
		e.Error = err.Error()
	}
	r.write(line{FaultEnd: &e})
	if i, ok := r.faults[id]; ok {
		r.h.Faults[i].End = e.End
		if mechanism != "" {
			r.h.Faults[i].Mechanism = mechanism
		}
		if e.Error != "" {
			r.h.Faults[i].Error = joinErr(r.h.Faults[i].Error, e.Error)
		}
	}
}

// Sample records resource samples. A sample whose Time is zero is stamped
// now.
func (r *Recorder) Sample(ss ...Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	for _, s := range ss {
		if s.Time == 0 {
			s.Time = now
		}
		r.write(line{Sample: &s})
		r.h.Samples = append(r.h.Samples, s)
	}
}

// Event records an engine event. An event whose Time is zero is stamped now.
func (r *Recorder) Event(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Time == 0 {
		e.Time = r.clock.Now()
	}
	r.write(line{Event: &e})
	r.h.Events = append(r.h.Events, e)
}

// History returns a copy of the history recorded so far, merged as Read
// would merge it: operations still in flight are info.
func (r *Recorder) History() *History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &History{
		Meta:    r.h.Meta,
		Ops:     append([]Op(nil), r.h.Ops...),
		Faults:  append([]FaultWindow(nil), r.h.Faults...),
		Samples: append([]Sample(nil), r.h.Samples...),
		Events:  append([]Event(nil), r.h.Events...),
	}
	closeOpen(h)
	return h
}

// Err returns the first write error, if any. Recording goes on in memory
// after a write error so that the run can still be checked.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Recorder) write(l line) {
	if r.err != nil {
		return
	}
	b, err := json.Marshal(l)
	if err != nil {
		r.err = fmt.Errorf("history: encode: %w", err)
		return
	}
	b = append(b, '\n')
	if _, err := r.w.Write(b); err != nil {
		r.err = fmt.Errorf("history: write: %w", err)
		return
	}
	if err := r.w.Flush(); err != nil {
		r.err = fmt.Errorf("history: write: %w", err)
	}
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
