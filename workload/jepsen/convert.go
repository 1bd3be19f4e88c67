package jepsen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/workload"
)

// assemble pairs invocations with completions by process, as Jepsen does
// (a process has at most one operation in flight), and converts each pair
// into a workload.Op of the model.
func assemble(events []event, model string) (*workload.History, error) {
	synthetic := false
	for i := range events {
		if !events[i].hasTime {
			synthetic = true
		}
	}
	var end int64
	for i := range events {
		e := &events[i]
		if synthetic {
			e.time = int64(e.pos) * int64(time.Microsecond)
		}
		if !e.hasIndex {
			e.index = int64(e.pos)
		}
		end = max(end, e.time)
	}
	h := &workload.History{}
	pending := map[int]*event{}
	for i := range events {
		e := &events[i]
		if e.nemesis {
			continue
		}
		if e.typ == workload.Invoke {
			if p, ok := pending[e.process]; ok {
				return nil, fmt.Errorf("op %d (index %d): process %d invoked again before its op %d completed",
					e.pos, e.index, e.process, p.index)
			}
			pending[e.process] = e
			continue
		}
		inv, ok := pending[e.process]
		if ok {
			delete(pending, e.process)
		} else {
			inv = e // a completion alone: a history of completed ops
		}
		if e.time < inv.time {
			return nil, fmt.Errorf("op %d (index %d): completes at %d, before its invocation at %d", e.pos, e.index, e.time, inv.time)
		}
		op, err := convert(inv, e, model)
		if err != nil {
			return nil, fmt.Errorf("op %d (index %d): %w", e.pos, e.index, err)
		}
		h.Ops = append(h.Ops, op)
	}
	// Invocations that never completed may have happened: info, ending
	// with the history.
	for _, inv := range pending {
		done := *inv
		done.typ, done.time, done.err = workload.Info, end, "no completion recorded"
		op, err := convert(inv, &done, model)
		if err != nil {
			return nil, fmt.Errorf("op %d (index %d): %w", inv.pos, inv.index, err)
		}
		h.Ops = append(h.Ops, op)
	}
	h.Sort()
	return h, nil
}

// convert makes the op for an invocation and its completion.
func convert(inv, done *event, model string) (workload.Op, error) {
	op := workload.Op{
		Index:   inv.index,
		Process: inv.process,
		Type:    done.typ,
		F:       inv.f,
		Call:    time.Duration(inv.time),
		Return:  time.Duration(done.time),
		Error:   done.err,
	}
	// The completion carries what was read; the invocation what was
	// asked for. Failed and indeterminate completions usually repeat the
	// invocation's value.
	value := done.value
	if value == nil {
		value = inv.value
	}
	var err error
	switch model {
	case ModelRegister, ModelCASRegister:
		err = registerOp(&op, inv.value, value)
	case ModelBank:
		err = bankOp(&op, value)
	case ModelListAppend:
		err = txnOp(&op, value)
	}
	return op, err
}

// registerOp reads :read, :write and :cas ops of a single register, or of
// Jepsen's independent registers, whose values are [key value] tuples.
func registerOp(op *workload.Op, asked, value any) error {
	op.Key = "0"
	switch op.F {
	case workload.FRead:
		if t, ok := value.([]any); ok && len(t) == 2 {
			op.Key, value = keyName(t[0]), t[1]
		} else if t, ok := asked.([]any); ok && len(t) == 2 {
			op.Key, value = keyName(t[0]), nil
		}
		if op.Type != workload.OK {
			value = nil
		}
		v, err := optInt(value)
		op.Value = v
		return wrap("read value", err)
	case workload.FWrite:
		if t, ok := value.([]any); ok && len(t) == 2 {
			op.Key, value = keyName(t[0]), t[1]
		}
		v, err := optInt(value)
		if v == nil && err == nil {
			err = fmt.Errorf("missing")
		}
		op.Value = v
		return wrap("write value", err)
	case workload.FCAS:
		t, ok := value.([]any)
		if ok && len(t) == 2 {
			if inner, ok := t[1].([]any); ok {
				op.Key, t = keyName(t[0]), inner
			}
		}
		if len(t) != 2 {
			return fmt.Errorf("cas value %s, want [from to]", describe(value))
		}
		from, err := optInt(t[0])
		if err != nil {
			return wrap("cas from", err)
		}
		to, err := optInt(t[1])
		if err != nil || to == nil {
			return fmt.Errorf("cas to %s, want an integer", describe(t[1]))
		}
		op.Prev, op.Value = from, to
		return nil
	}
	return fmt.Errorf(":f %q is not a register operation (read, write, cas)", excerpt.Value(op.F))
}

// bankOp reads :transfer {:from :to :amount} and :read {account balance}.
func bankOp(op *workload.Op, value any) error {
	switch op.F {
	case workload.FTransfer:
		m, ok := value.(map[any]any)
		if !ok {
			return fmt.Errorf("transfer value %s, want {:from :to :amount}", describe(value))
		}
		amount, ok := m["amount"].(int64)
		if !ok || m["from"] == nil || m["to"] == nil {
			return fmt.Errorf("transfer value %s, want {:from :to :amount}", describe(value))
		}
		op.Transfer = &workload.Transfer{From: keyName(m["from"]), To: keyName(m["to"]), Amount: amount}
		return nil
	case workload.FRead, workload.FBalances:
		op.F = workload.FBalances
		if op.Type != workload.OK {
			return nil
		}
		m, ok := value.(map[any]any)
		if !ok {
			return fmt.Errorf("read value %s, want {account balance …}", describe(value))
		}
		op.Balances = make(map[string]int64, len(m))
		for k, v := range m {
			b, ok := v.(int64)
			if !ok {
				return fmt.Errorf("balance of %s is %s, want an integer", keyName(k), describe(v))
			}
			op.Balances[keyName(k)] = b
		}
		return nil
	}
	return fmt.Errorf(":f %q is not a bank operation (transfer, read)", excerpt.Value(op.F))
}

// txnOp reads :txn [[:append k v] [:r k [v …]] …].
func txnOp(op *workload.Op, value any) error {
	if op.F == "" {
		op.F = workload.FTxn // Elle's own test histories leave :f out
	}
	if op.F != workload.FTxn {
		return fmt.Errorf(":f %q is not a list-append operation (txn)", excerpt.Value(op.F))
	}
	mops, ok := value.([]any)
	if !ok {
		return fmt.Errorf("txn value %s, want a vector of micro-ops", describe(value))
	}
	op.Txn = make([]workload.Mop, len(mops))
	for i, x := range mops {
		m, ok := x.([]any)
		if !ok || len(m) != 3 {
			return fmt.Errorf("micro-op %d: %s, want [f k v]", i, describe(x))
		}
		f, _ := m[0].(string)
		k, ok := m[1].(int64)
		if !ok {
			return fmt.Errorf("micro-op %d: key %s, want an integer", i, describe(m[1]))
		}
		switch strings.TrimPrefix(f, ":") {
		case workload.MAppend:
			v, ok := m[2].(int64)
			if !ok {
				return fmt.Errorf("micro-op %d: appended value %s, want an integer", i, describe(m[2]))
			}
			op.Txn[i] = workload.Mop{F: workload.MAppend, Key: k, Value: v}
		case workload.MRead:
			op.Txn[i] = workload.Mop{F: workload.MRead, Key: k}
			if op.Type != workload.OK || m[2] == nil {
				continue
			}
			list, ok := m[2].([]any)
			if !ok {
				return fmt.Errorf("micro-op %d: read %s, want a vector of integers", i, describe(m[2]))
			}
			op.Txn[i].List = make([]int64, len(list))
			for j, e := range list {
				if op.Txn[i].List[j], ok = e.(int64); !ok {
					return fmt.Errorf("micro-op %d: read element %s, want an integer", i, describe(e))
				}
			}
		default:
			return fmt.Errorf("micro-op %d: function %s, want :append or :r", i, describe(m[0]))
		}
	}
	return nil
}

// keyName renders a key or account: integers in decimal, keywords and
// strings as they are.
func keyName(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return render(v)
}

func optInt(v any) (*int64, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return &x, nil
	}
	return nil, fmt.Errorf("%s, want an integer or nil", describe(v))
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
