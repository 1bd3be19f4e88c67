package workload

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRecorderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf, NewClock(), Meta{Scenario: "s", Seed: 3})
	rec.SetNodes([]NodeInfo{{Name: "n1", Zone: "a"}})
	w := rec.Invoke(Op{Process: 0, F: FWrite, Key: "k0", Value: Int(1)})
	r := rec.Invoke(Op{Process: 1, F: FRead, Key: "k0"})
	w.Type = OK
	rec.Complete(w)
	rec.FaultStart(FaultWindow{ID: 0, Name: "kill n1", Kind: "kill", Nodes: []string{"n1"}})
	r.Type, r.Value = OK, Int(1)
	rec.Complete(r)
	lost := rec.Invoke(Op{Process: 2, F: FLedgerAdd, Key: "l1"})
	_ = lost // never completes: the crash case
	rec.FaultEnd(0, "SIGKILL", nil)
	rec.Sample(Sample{Node: "n1", CPUSeconds: 1.5, Up: true})
	rec.Event(Event{Kind: EventLeader, Node: "n1", Term: 2})
	rec.Flush()
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}

	h, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if h.Meta.Scenario != "s" || h.Meta.Seed != 3 || len(h.Meta.Nodes) != 1 {
		t.Errorf("meta = %+v, want the last meta line with nodes", h.Meta)
	}
	if len(h.Ops) != 3 {
		t.Fatalf("ops = %d, want 3", len(h.Ops))
	}
	if o := h.Ops[0]; o.Type != OK || o.F != FWrite || o.Return < o.Call {
		t.Errorf("op 0 = %v", o)
	}
	if o := h.Ops[1]; o.Type != OK || o.Value == nil || *o.Value != 1 {
		t.Errorf("op 1 = %v", o)
	}
	if o := h.Ops[2]; o.Type != Info || !strings.Contains(o.Error, "no completion") || o.Return != h.End() {
		t.Errorf("op 2 = %v, want info ending with the history", o)
	}
	if f := h.Faults[0]; f.End == 0 || f.Open || f.Mechanism != "SIGKILL" {
		t.Errorf("fault = %+v", f)
	}
	if len(h.Samples) != 1 || len(h.Events) != 1 {
		t.Errorf("samples %d events %d, want 1 and 1", len(h.Samples), len(h.Events))
	}

	// The recorder's own view agrees with the file's.
	mem := rec.History()
	if len(mem.Ops) != 3 || mem.Ops[2].Type != Info {
		t.Errorf("in-memory ops = %v", mem.Ops)
	}
}

func TestReadCutOffLastLine(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf, NewClock(), Meta{})
	op := rec.Invoke(Op{F: FWrite, Key: "k", Value: Int(1)})
	op.Type = OK
	rec.Complete(op)
	rec.Flush()
	data := buf.String()
	data += `{"op":{"index":1,"process":0,"type":"inv` // a crash in mid-write
	h, err := Read(strings.NewReader(data))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(h.Ops) != 1 || h.Ops[0].Type != OK {
		t.Errorf("ops = %v", h.Ops)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"malformed line", "{nope\n{}\n", "line 1"},
		{"two records on a line", `{"meta":{},"event":{"kind":"x"}}` + "\n", "exactly one"},
		{"empty record", "{}\n", "exactly one"},
		{"unknown type", `{"op":{"index":0,"type":"maybe","f":"read"}}` + "\n", `unknown type "maybe"`},
		{"invoked twice", `{"op":{"index":0,"type":"invoke","f":"read"}}` + "\n" + `{"op":{"index":0,"type":"invoke","f":"read"}}` + "\n", "invoked twice"},
		{"return before call", `{"op":{"index":0,"type":"invoke","f":"read","call":50}}` + "\n" + `{"op":{"index":0,"type":"ok","f":"read","return":10}}` + "\n", "before its call"},
		{"end of unknown fault", `{"fault_end":{"id":4,"end":1}}` + "\n", "no such fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestWriteThenRead(t *testing.T) {
	h := &History{
		Meta: Meta{Model: "register"},
		Ops: []Op{
			{Index: 0, Process: 0, Type: OK, F: FWrite, Key: "x", Value: Int(2), Call: 1, Return: 5},
			{Index: 1, Process: 1, Type: Info, F: FCAS, Key: "x", Prev: Int(2), Value: Int(3), Call: 2, Return: 9, Error: "timeout"},
		},
		Faults: []FaultWindow{{ID: 0, Kind: "kill", Start: 3, End: 8}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, h); err != nil {
		t.Fatal(err)
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Ops) != 2 || got.Ops[1].Error != "timeout" || *got.Ops[1].Prev != 2 || got.Faults[0].End != 8 || got.Faults[0].Open {
		t.Errorf("round trip lost something: %+v", got)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRecorderKeepsGoingAfterWriteError(t *testing.T) {
	rec := NewRecorder(failWriter{}, NewClock(), Meta{})
	op := rec.Invoke(Op{F: FRead, Key: "k"})
	op.Type = OK
	rec.Complete(op)
	rec.Flush()
	if err := rec.Err(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Err = %v, want the write error", err)
	}
	if h := rec.History(); len(h.Ops) != 1 || h.Ops[0].Type != OK {
		t.Errorf("history = %v, want the op kept in memory", h.Ops)
	}
}

func TestClockIsMonotonic(t *testing.T) {
	c := NewClock()
	a := c.Now()
	time.Sleep(time.Millisecond)
	if b := c.Now(); b <= a {
		t.Errorf("clock went from %s to %s", a, b)
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf, NewClock(), Meta{Scenario: "seed"})
	op := rec.Invoke(Op{F: FTxn, Txn: []Mop{{F: MAppend, Key: 1, Value: 2}, {F: MRead, Key: 1, List: []int64{2}}}})
	op.Type = OK
	rec.Complete(op)
	rec.FaultStart(FaultWindow{ID: 0, Kind: "kill"})
	rec.FaultEnd(0, "SIGKILL", nil)
	rec.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte(`{"op":{"index":0,"type":"ok","f":"transfer","transfer":{"from":"a","to":"b","amount":3}}}`))
	f.Add([]byte("{}\n{\n"))
	f.Add([]byte(`{"op":{"index":0,"type":"` + strings.Repeat("ok", 3000) + `"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Read(bytes.NewReader(data))
		if err != nil {
			if n := len(err.Error()); n > 4<<10 {
				t.Fatalf("error message of %d bytes: %.300s…", n, err)
			}
			return
		}
		// Whatever reads must be well formed: every op completed, times
		// ordered, and writing it out reads back the same ops.
		for _, o := range h.Ops {
			if o.Type == Invoke {
				t.Fatalf("op %d left as an invocation", o.Index)
			}
			if o.Return < o.Call {
				t.Fatalf("op %d returns before its call", o.Index)
			}
		}
		var out bytes.Buffer
		if err := Write(&out, h); err != nil {
			t.Fatal(err)
		}
		h2, err := Read(&out)
		if err != nil {
			t.Fatalf("reading what Write wrote: %v", err)
		}
		if len(h2.Ops) != len(h.Ops) {
			t.Fatalf("ops %d, then %d", len(h.Ops), len(h2.Ops))
		}
	})
}
