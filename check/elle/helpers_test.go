package elle

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// tx is a transaction in a hand-built history. mops is a compact
// notation: "r 1 1,2" reads key 1 as [1 2], "r 1 -" reads it as empty,
// "a 1 3" appends 3 to key 1; micro-ops are separated by ";".
type tx struct {
	typ  workload.Type
	mops string
	// p is the process; -1 (the default from mk) gives each transaction
	// its own.
	p int
	// call and ret default to every transaction overlapping every other,
	// so that no real-time order joins them.
	call, ret time.Duration
}

func ok(mops string) tx   { return tx{typ: workload.OK, mops: mops, p: -1} }
func fail(mops string) tx { return tx{typ: workload.Fail, mops: mops, p: -1} }
func info(mops string) tx { return tx{typ: workload.Info, mops: mops, p: -1} }

// at sets a transaction's call and return, in milliseconds.
func (t tx) at(call, ret int) tx {
	t.call, t.ret = time.Duration(call)*time.Millisecond, time.Duration(ret)*time.Millisecond
	return t
}

// on sets a transaction's process.
func (t tx) on(p int) tx { t.p = p; return t }

func history(t testing.TB, txs ...tx) *workload.History {
	t.Helper()
	h := &workload.History{}
	for i, x := range txs {
		op := workload.Op{Index: int64(i), Process: x.p, Type: x.typ, F: workload.FTxn, Txn: parseMops(t, x.mops)}
		if op.Process < 0 {
			op.Process = i
		}
		op.Call, op.Return = x.call, x.ret
		if x.call == 0 && x.ret == 0 {
			op.Call = time.Duration(i) * time.Microsecond
			op.Return = time.Second + op.Call
		}
		h.Ops = append(h.Ops, op)
	}
	h.Sort()
	return h
}

func parseMops(t testing.TB, s string) []workload.Mop {
	t.Helper()
	var mops []workload.Mop
	for _, part := range strings.Split(s, ";") {
		f := strings.Fields(part)
		if len(f) != 3 {
			t.Fatalf("bad mop %q", part)
		}
		k := atoi(t, f[1])
		switch f[0] {
		case "a":
			mops = append(mops, workload.Mop{F: workload.MAppend, Key: k, Value: atoi(t, f[2])})
		case "r":
			m := workload.Mop{F: workload.MRead, Key: k}
			if f[2] != "-" {
				for _, v := range strings.Split(f[2], ",") {
					m.List = append(m.List, atoi(t, v))
				}
			}
			mops = append(mops, m)
		case "x": // a micro-op the checker does not know
			mops = append(mops, workload.Mop{F: "w", Key: k, Value: atoi(t, f[2])})
		default:
			t.Fatalf("bad mop %q", part)
		}
	}
	return mops
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}
