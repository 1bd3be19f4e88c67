// Package workload generates operations, runs them against a database through
// protocol clients, and records every invocation and completion in a History.
package workload

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Type is the phase or outcome of an operation, as Jepsen names them.
type Type string

// The four types of an operation. An invocation is followed by exactly one
// completion: ok (it happened), fail (it certainly did not happen) or info
// (unknown: it may have happened, at any time after its call).
const (
	Invoke Type = "invoke"
	OK     Type = "ok"
	Fail   Type = "fail"
	Info   Type = "info"
)

// Valid reports whether t is one of the four types.
func (t Type) Valid() bool {
	switch t {
	case Invoke, OK, Fail, Info:
		return true
	}
	return false
}

// Functions an operation can perform. Each workload uses a subset.
const (
	// Register model (etcd and SQL register workloads): Key, Value, Prev.
	FRead  = "read"  // Value is the value read (nil: the key is absent).
	FWrite = "write" // Value is the value written.
	FCAS   = "cas"   // Prev is the expected value, Value the new one.

	// Ledger (RPO): a unique Key per acknowledged insert.
	FLedgerAdd  = "ledger-add"  // Key is the unique entry.
	FLedgerRead = "ledger-read" // Keys is every entry present, read after recovery.

	// Bank: a fixed total spread over accounts.
	FTransfer = "transfer" // Transfer says what moved.
	FBalances = "balances" // Balances maps each account to its balance.

	// List-append (Elle): Txn holds micro-operations.
	FTxn = "txn"
)

// Micro-operation functions inside a list-append transaction.
const (
	MAppend = "append"
	MRead   = "r"
)

// Mop is one micro-operation of a list-append transaction: an append of a
// unique Value to the list at Key, or a read of that whole list into List.
// A read whose List is nil either has not completed or read a missing key;
// Elle treats both as the empty list once the transaction is ok.
type Mop struct {
	F     string  `json:"f"`
	Key   int64   `json:"key"`
	Value int64   `json:"value,omitempty"`
	List  []int64 `json:"list,omitempty"`
}

// Transfer moves Amount from account From to account To.
type Transfer struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

// Op is one operation. In a history file an operation appears twice: once
// as its invocation (Type Invoke, Call set) and once as its completion
// (Type ok, fail or info, Return set). In a History in memory the two are
// merged: Type is the outcome and both Call and Return are set.
//
// Times are offsets from the run's start on one monotonic clock.
type Op struct {
	// Index numbers operations in invocation order, from 0.
	Index int64 `json:"index"`
	// Process is the logical process that issued the operation. A worker
	// whose operation ends in info takes a fresh process number, because
	// the old one may still have that operation in flight.
	Process int    `json:"process"`
	Type    Type   `json:"type"`
	F       string `json:"f"`

	Key      string           `json:"key,omitempty"`
	Value    *int64           `json:"value,omitempty"`
	Prev     *int64           `json:"prev,omitempty"`
	Txn      []Mop            `json:"txn,omitempty"`
	Transfer *Transfer        `json:"transfer,omitempty"`
	Balances map[string]int64 `json:"balances,omitempty"`
	Keys     []string         `json:"keys,omitempty"`

	Call   time.Duration `json:"call"`
	Return time.Duration `json:"return,omitempty"`
	// Intended is when the load's schedule meant the operation to start:
	// set by open-loop load at a target rate, zero otherwise. Call is
	// when it was actually invoked, so Call - Intended is the time it
	// waited for a free client, a delay a real client population sees
	// and that latency includes (see Latency). Checkers of order use
	// Call: the operation cannot have taken effect before it.
	Intended time.Duration `json:"intended,omitempty"`
	// Node is the node whose endpoint served the operation, when known.
	Node string `json:"node,omitempty"`
	// Error explains a fail or info outcome.
	Error string `json:"error,omitempty"`
	// Final marks the reads made after every fault was healed, that
	// checkers compare acknowledged writes against.
	Final bool `json:"final,omitempty"`
}

// ErrPrecondition is the Error (or part of it) of an operation the
// database answered by declining it because the data did not allow it: a
// cas whose register did not hold Prev, a transfer from an account without
// the funds. Such an operation has Type fail. The database was available,
// so RTO and error counts leave it out; clients may add detail around it
// ("cas k3: precondition failed: holds 17").
const ErrPrecondition = "precondition failed"

// ErrConflict is the Error prefix of an operation the database aborted
// because of concurrent transactions: a serialization failure (SQLSTATE
// 40001, CockroachDB's retry errors), a deadlock (40P01, MySQL 1213) or a
// lock wait timeout (MySQL 1205). Such an operation has Type fail: it
// certainly did not happen. Like a failed precondition it is the
// database's answer, not unavailability ("conflict: serialization
// failure (SQLSTATE 40001): ...").
const ErrConflict = "conflict"

// Declined reports whether the operation failed because the database
// declined it (its Error contains ErrPrecondition or ErrConflict), not
// because it was unavailable.
func (o Op) Declined() bool {
	return o.Type == Fail && (strings.Contains(o.Error, ErrPrecondition) || strings.HasPrefix(o.Error, ErrConflict))
}

// Int returns a pointer to v, for Op.Value and Op.Prev.
func Int(v int64) *int64 { return &v }

// Start is when the operation was meant to start: Intended when the load
// had a schedule, else Call.
func (o Op) Start() time.Duration {
	if o.Intended > 0 && o.Intended < o.Call {
		return o.Intended
	}
	return o.Call
}

// Latency is the time from the operation's intended start (Start) to its
// return: under open-loop load it includes the wait for a free client, so
// that a stall of the database shows in the latencies of every operation
// the schedule meant to start during it, not only of the few in flight
// (no coordinated omission).
func (o Op) Latency() time.Duration { return o.Return - o.Start() }

// IsWrite reports whether the operation changes state (for RTO, a cas whose
// precondition failed is not an unavailability, so callers look at Error).
func (o Op) IsWrite() bool {
	switch o.F {
	case FWrite, FCAS, FLedgerAdd, FTransfer:
		return true
	case FTxn:
		for _, m := range o.Txn {
			if m.F == MAppend {
				return true
			}
		}
	}
	return false
}

// String renders the operation compactly, the way reports quote it.
func (o Op) String() string {
	s := fmt.Sprintf("#%d p%d %s %s", o.Index, o.Process, o.Type, o.F)
	if o.Key != "" {
		s += " " + o.Key
	}
	switch o.F {
	case FCAS:
		s += fmt.Sprintf(" %s→%s", fmtInt(o.Prev), fmtInt(o.Value))
	case FRead, FWrite:
		s += " " + fmtInt(o.Value)
	case FTransfer:
		if o.Transfer != nil {
			s += fmt.Sprintf(" %d %s→%s", o.Transfer.Amount, o.Transfer.From, o.Transfer.To)
		}
	case FBalances:
		b, _ := json.Marshal(o.Balances)
		s += " " + string(b)
	case FTxn:
		b, _ := json.Marshal(o.Txn)
		s += " " + string(b)
	case FLedgerRead:
		s += fmt.Sprintf(" (%d keys)", len(o.Keys))
	}
	s += fmt.Sprintf(" [%s, %s]", o.Call.Round(time.Microsecond), o.Return.Round(time.Microsecond))
	if o.Error != "" {
		s += " " + o.Error
	}
	return s
}

func fmtInt(p *int64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}
