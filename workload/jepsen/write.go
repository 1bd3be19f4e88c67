package jepsen

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/workload"
)

// WriteEDN writes a faultline history as Jepsen's history.edn: one map per
// line, each operation as its invocation and its completion, in time
// order, numbered by :index. Elle (list-append), Knossos (register) and
// Jepsen's bank checker read it. Register ops carry [key value] tuples, as
// Jepsen's independent checker expects, when the history has more than
// one key. Ledger operations have no Jepsen counterpart and are left out.
func WriteEDN(w io.Writer, h *workload.History) error {
	keys := map[string]bool{}
	for i := range h.Ops {
		if f := h.Ops[i].F; f == workload.FRead || f == workload.FWrite || f == workload.FCAS {
			keys[h.Ops[i].Key] = true
		}
	}
	independent := len(keys) > 1
	type ev struct {
		at     int64
		op     *workload.Op
		invoke bool
	}
	var evs []ev
	for i := range h.Ops {
		op := &h.Ops[i]
		if jepsenF(op.F) == "" {
			continue
		}
		evs = append(evs, ev{at: int64(op.Call), op: op, invoke: true})
		if op.Type != workload.Invoke {
			evs = append(evs, ev{at: int64(op.Return), op: op})
		}
	}
	// Invocations before completions at the same instant, so that each
	// completion follows its own invocation.
	slices.SortStableFunc(evs, func(a, b ev) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(b2i(!a.invoke), b2i(!b.invoke)))
	})
	bw := bufio.NewWriter(w)
	for i, e := range evs {
		typ := e.op.Type
		if e.invoke {
			typ = workload.Invoke
		}
		fmt.Fprintf(bw, "{:index %d, :time %d, :type :%s, :process %d, :f :%s, :value %s",
			i, e.at, typ, e.op.Process, jepsenF(e.op.F), ednValue(e.op, e.invoke, independent))
		if !e.invoke && e.op.Error != "" {
			fmt.Fprintf(bw, ", :error %s", strconv.Quote(e.op.Error))
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}

func jepsenF(f string) string {
	switch f {
	case workload.FRead, workload.FWrite, workload.FCAS, workload.FTxn, workload.FTransfer:
		return f
	case workload.FBalances:
		return "read"
	}
	return ""
}

// ednValue renders an op's :value as the invocation (what was asked) or
// the completion (what came back) shows it.
func ednValue(op *workload.Op, invoke, independent bool) string {
	var v string
	switch op.F {
	case workload.FRead:
		v = "nil"
		if !invoke && op.Type == workload.OK {
			v = ednInt(op.Value)
		}
	case workload.FWrite:
		v = ednInt(op.Value)
	case workload.FCAS:
		v = "[" + ednInt(op.Prev) + " " + ednInt(op.Value) + "]"
	case workload.FTxn:
		var b strings.Builder
		b.WriteByte('[')
		for i, m := range op.Txn {
			if i > 0 {
				b.WriteByte(' ')
			}
			switch {
			case m.F == workload.MAppend:
				fmt.Fprintf(&b, "[:append %d %d]", m.Key, m.Value)
			case invoke || op.Type != workload.OK:
				fmt.Fprintf(&b, "[:r %d nil]", m.Key)
			default:
				fmt.Fprintf(&b, "[:r %d [%s]]", m.Key, joinInts(m.List))
			}
		}
		b.WriteByte(']')
		return b.String()
	case workload.FTransfer:
		t := op.Transfer
		if t == nil {
			return "nil"
		}
		return fmt.Sprintf("{:from %s, :to %s, :amount %d}", ednKey(t.From), ednKey(t.To), t.Amount)
	case workload.FBalances:
		if invoke || op.Type != workload.OK {
			return "nil"
		}
		accts := make([]string, 0, len(op.Balances))
		for a := range op.Balances {
			accts = append(accts, a)
		}
		slices.Sort(accts)
		parts := make([]string, len(accts))
		for i, a := range accts {
			parts[i] = fmt.Sprintf("%s %d", ednKey(a), op.Balances[a])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if independent {
		return "[" + ednKey(op.Key) + " " + v + "]"
	}
	return v
}

func ednInt(p *int64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatInt(*p, 10)
}

// ednKey writes a key or account as an integer when it is one, else as a
// string.
func ednKey(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	return strconv.Quote(s)
}

func joinInts(l []int64) string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, " ")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
