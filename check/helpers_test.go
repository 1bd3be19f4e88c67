package check_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// ms is a time in milliseconds, to keep hand-built histories legible.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// builder builds a history by hand, numbering operations as it goes.
type builder struct{ h workload.History }

func (b *builder) add(o workload.Op) *builder {
	o.Index = int64(len(b.h.Ops))
	b.h.Ops = append(b.h.Ops, o)
	return b
}

func (b *builder) read(p int, t workload.Type, key string, v *int64, call, ret int) *builder {
	return b.add(workload.Op{Process: p, Type: t, F: workload.FRead, Key: key, Value: v, Call: ms(call), Return: ms(ret)})
}

func (b *builder) write(p int, t workload.Type, key string, v int64, call, ret int) *builder {
	return b.add(workload.Op{Process: p, Type: t, F: workload.FWrite, Key: key, Value: workload.Int(v), Call: ms(call), Return: ms(ret)})
}

func (b *builder) cas(p int, t workload.Type, key string, prev, v int64, call, ret int) *builder {
	return b.add(workload.Op{Process: p, Type: t, F: workload.FCAS, Key: key, Prev: workload.Int(prev), Value: workload.Int(v), Call: ms(call), Return: ms(ret)})
}

func (b *builder) ledger(p int, t workload.Type, key string, call, ret int) *builder {
	return b.add(workload.Op{Process: p, Type: t, F: workload.FLedgerAdd, Key: key, Call: ms(call), Return: ms(ret)})
}

func (b *builder) final(keys []string, call, ret int) *builder {
	return b.add(workload.Op{Process: 1 << 20, Type: workload.OK, F: workload.FLedgerRead, Keys: keys, Call: ms(call), Return: ms(ret), Final: true})
}

func (b *builder) fault(id int, name string, start, end int) *builder {
	b.h.Faults = append(b.h.Faults, workload.FaultWindow{ID: id, Name: name, Kind: "kill", Start: ms(start), End: ms(end)})
	return b
}

// writes adds one write every step ms from from to to (exclusive) on
// process p, each lasting 5 ms, with the outcome outcome(call).
func (b *builder) writes(p int, from, to, step int, outcome func(call int) workload.Type) *builder {
	for t := from; t < to; t += step {
		typ := outcome(t)
		o := workload.Op{Process: p, Type: typ, F: workload.FWrite, Key: "k", Value: workload.Int(int64(len(b.h.Ops) + 1)), Call: ms(t), Return: ms(t + 5)}
		if typ != workload.OK {
			o.Error = "connection refused"
		}
		b.add(o)
	}
	return b
}

func (b *builder) history() *workload.History {
	h := b.h
	h.Ops = append([]workload.Op(nil), b.h.Ops...)
	h.Sort()
	return &h
}

// down returns an outcome function: fail in [from, to), ok otherwise.
func down(from, to int) func(int) workload.Type {
	return func(t int) workload.Type {
		if t >= from && t < to {
			return workload.Fail
		}
		return workload.OK
	}
}

func always(t workload.Type) func(int) workload.Type { return func(int) workload.Type { return t } }

// faultMetrics returns a result's metrics for a fault, failing the test if
// there are none.
func faultMetrics(t *testing.T, r check.Result, id int) check.FaultMetrics {
	t.Helper()
	for _, f := range r.Faults {
		if f.Fault == id {
			return f
		}
	}
	t.Fatalf("%s: no metrics for fault %d in %+v", r.Checker, id, r.Faults)
	return check.FaultMetrics{}
}

// near reports whether a is within a millisecond of b.
func near(a, b float64) bool { return a-b < 0.001 && b-a < 0.001 }

func readTestdata(t *testing.T, name string) *workload.History {
	t.Helper()
	h, err := workload.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func hasNote(fm check.FaultMetrics, part string) bool {
	for _, n := range fm.Notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func run(c check.Checker, h *workload.History) check.Result {
	return check.Run(context.Background(), h, c)[0]
}
