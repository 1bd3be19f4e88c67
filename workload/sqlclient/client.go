package sqlclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Client performs one worker's operations over one connection. It
// implements workload.Client and workload.Retrier.
//
// An operation of one statement (a register read, write or cas, a ledger
// insert or read) runs as that statement alone, its own transaction at
// the session's isolation level, when the session allows it (singles):
// one round trip. Operations of several statements (transfers, balance
// reads, list-append transactions) run between BEGIN and COMMIT.
type Client struct {
	s       session
	singles bool
	q       *statements
	node    string
	retries int
}

// statements are the SQL of every operation, in the dialect, written once
// per run rather than once per operation.
type statements struct {
	readRegister, writeRegister, casRegister string
	ledgerAdd, ledgerRead                    string
	balance, setBalance, accounts            string
	appendList, readList                     string
}

func newStatements(d dialect, t tables) *statements {
	return &statements{
		readRegister:  d.phs("SELECT v FROM " + t.register + " WHERE k = ?"),
		writeRegister: d.upsertRegister(t.register),
		casRegister:   d.phs("UPDATE " + t.register + " SET v = ? WHERE k = ? AND v = ?"),
		ledgerAdd:     d.phs("INSERT INTO " + t.ledger + " (k) VALUES (?)"),
		ledgerRead:    "SELECT k FROM " + t.ledger + " ORDER BY k",
		balance:       d.phs("SELECT balance FROM " + t.bank + " WHERE id = ?"),
		setBalance:    d.phs("UPDATE " + t.bank + " SET balance = ? WHERE id = ?"),
		accounts:      "SELECT id FROM " + t.bank + " ORDER BY id",
		appendList:    d.appendElement(t.list),
		readList:      d.phs("SELECT v FROM " + t.list + " WHERE k = ?"),
	}
}

// Close implements workload.Client.
func (c *Client) Close() error { return c.s.close() }

// Multiplexed implements workload.Multiplexed: a client whose session
// waits through the operation's workload.Waiter (PostgreSQL without
// TLS) can share one goroutine with the other workers.
func (c *Client) Multiplexed() bool {
	_, ok := c.s.(*rawSession)
	return ok
}

// Retries implements workload.Retrier: how many times the driver re-issues
// an operation the database aborted.
func (c *Client) Retries() int { return c.retries }

// Invoke implements workload.Client.
func (c *Client) Invoke(ctx context.Context, op workload.Op) workload.Op {
	op.Node = c.node
	switch op.F {
	case workload.FRead:
		return c.read(ctx, op)
	case workload.FWrite:
		return c.write(ctx, op)
	case workload.FCAS:
		return c.cas(ctx, op)
	case workload.FLedgerAdd:
		return c.ledgerAdd(ctx, op)
	case workload.FLedgerRead:
		return c.ledgerRead(ctx, op)
	case workload.FTransfer:
		return c.transfer(ctx, op)
	case workload.FBalances:
		return c.balances(ctx, op)
	case workload.FTxn:
		return c.txn(ctx, op)
	}
	op.Type, op.Error = workload.Fail, fmt.Sprintf("sql client: unsupported function %q", op.F)
	return op
}

// beginBackoff is how long a client waits after it could not begin a
// transaction.
const beginBackoff = 100 * time.Millisecond

// pause waits d, or until ctx's deadline if that comes first, through
// ctx's workload.Waiter.
func pause(ctx context.Context, d time.Duration) {
	if deadline, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(deadline))
	}
	workload.WaiterFrom(ctx).Sleep(d)
}

// declined is a precondition the data did not meet: the transaction is
// rolled back and the operation fails with workload.ErrPrecondition.
type declined struct{ detail string }

func (e *declined) Error() string { return workload.ErrPrecondition + ": " + e.detail }

// inTx runs body in a transaction at the client's isolation level and
// completes op: ok once COMMIT is acknowledged, otherwise as outcome
// classifies the error. body must not commit or roll back.
func (c *Client) inTx(ctx context.Context, op workload.Op, readOnly bool, body func() error) workload.Op {
	if err := c.s.begin(ctx); err != nil {
		// Most likely the server is down: pause before answering, so
		// that a worker does not record thousands of refused
		// connections a second while it is.
		pause(ctx, beginBackoff)
		return outcome(op, beforeCommit, readOnly, err)
	}
	if err := body(); err != nil {
		c.s.rollback(ctx)
		var de *declined
		if errors.As(err, &de) {
			op.Type, op.Error = workload.Fail, de.Error()
			return op
		}
		return outcome(op, beforeCommit, readOnly, err)
	}
	if err := c.s.commit(ctx); err != nil {
		return outcome(op, atCommit, readOnly, err)
	}
	op.Type, op.Error = workload.OK, ""
	return op
}

// single runs body, one statement, as its own transaction when the
// session allows it, else as inTx does; it completes op as inTx does.
func (c *Client) single(ctx context.Context, op workload.Op, readOnly bool, body func() error) workload.Op {
	if !c.singles {
		return c.inTx(ctx, op, readOnly, body)
	}
	err := body()
	if err == nil {
		op.Type, op.Error = workload.OK, ""
		return op
	}
	var de *declined
	if errors.As(err, &de) {
		op.Type, op.Error = workload.Fail, de.Error()
		return op
	}
	var ns *notSent
	if errors.As(err, &ns) {
		pause(ctx, beginBackoff) // as for a BEGIN that failed
	}
	return outcome(op, alone, readOnly, err)
}

func (c *Client) read(ctx context.Context, op workload.Op) workload.Op {
	var v *int64
	op = c.single(ctx, op, true, func() error {
		var x int64
		err := c.s.one(ctx, c.q.readRegister, []any{op.Key}, &x)
		switch {
		case errors.Is(err, errNoRows):
			return nil
		case err != nil:
			return err
		}
		v = &x
		return nil
	})
	if op.Type == workload.OK {
		op.Value = v
	}
	return op
}

func (c *Client) write(ctx context.Context, op workload.Op) workload.Op {
	if op.Value == nil {
		op.Type, op.Error = workload.Fail, "write without a value"
		return op
	}
	return c.single(ctx, op, false, func() error {
		_, err := c.s.exec(ctx, c.q.writeRegister, op.Key, *op.Value)
		return err
	})
}

// cas sets the register to Value if it holds Prev; an absent register
// holds nothing, so the precondition fails.
func (c *Client) cas(ctx context.Context, op workload.Op) workload.Op {
	if op.Value == nil || op.Prev == nil {
		op.Type, op.Error = workload.Fail, "cas without a value and a previous value"
		return op
	}
	return c.single(ctx, op, false, func() error {
		n, err := c.s.exec(ctx, c.q.casRegister, *op.Value, op.Key, *op.Prev)
		if err != nil {
			return err
		}
		if n == 0 {
			return &declined{detail: fmt.Sprintf("%s does not hold %d", op.Key, *op.Prev)}
		}
		return nil
	})
}

func (c *Client) ledgerAdd(ctx context.Context, op workload.Op) workload.Op {
	if op.Key == "" {
		op.Type, op.Error = workload.Fail, "ledger-add without a key"
		return op
	}
	return c.single(ctx, op, false, func() error {
		_, err := c.s.exec(ctx, c.q.ledgerAdd, op.Key)
		return err
	})
}

func (c *Client) ledgerRead(ctx context.Context, op workload.Op) workload.Op {
	var keys []string
	op = c.single(ctx, op, true, func() error {
		keys = keys[:0]
		return c.s.each(ctx, c.q.ledgerRead, nil, func(scan func(...any) error) error {
			var k string
			if err := scan(&k); err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		})
	})
	if op.Type == workload.OK {
		op.Keys = append([]string{}, keys...)
	}
	return op
}

// transfer reads both balances and writes both back, Jepsen's way, in one
// transaction: the isolation level alone decides whether concurrent
// transfers can lose each other's updates. A transfer that would overdraw
// its From account is declined.
func (c *Client) transfer(ctx context.Context, op workload.Op) workload.Op {
	t := op.Transfer
	if t == nil || t.Amount <= 0 {
		op.Type, op.Error = workload.Fail, "transfer without a positive amount"
		return op
	}
	from, err1 := strconv.ParseInt(t.From, 10, 64)
	to, err2 := strconv.ParseInt(t.To, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		op.Type, op.Error = workload.Fail, "transfer between accounts that are not integer ids: "+err.Error()
		return op
	}
	sel, upd := c.q.balance, c.q.setBalance
	return c.inTx(ctx, op, false, func() error {
		var a, b int64
		if err := c.s.one(ctx, sel, []any{from}, &a); err != nil {
			return fmt.Errorf("read account %d: %w", from, err)
		}
		if err := c.s.one(ctx, sel, []any{to}, &b); err != nil {
			return fmt.Errorf("read account %d: %w", to, err)
		}
		if a < t.Amount {
			return &declined{detail: fmt.Sprintf("account %d holds %d, less than %d", from, a, t.Amount)}
		}
		if _, err := c.s.exec(ctx, upd, a-t.Amount, from); err != nil {
			return err
		}
		_, err := c.s.exec(ctx, upd, b+t.Amount, to)
		return err
	})
}

// balances reads every account, one statement per account, in one
// transaction. Separate statements let the isolation level, not the
// atomicity of a single statement, decide whether the reads agree: at read
// committed each statement may see a different committed state.
func (c *Client) balances(ctx context.Context, op workload.Op) workload.Op {
	out := map[string]int64{}
	op = c.inTx(ctx, op, true, func() error {
		clear(out)
		var ids []int64
		err := c.s.each(ctx, c.q.accounts, nil, func(scan func(...any) error) error {
			var id int64
			if err := scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		})
		if err != nil {
			return err
		}
		sel := c.q.balance
		for _, id := range ids {
			var bal int64
			err := c.s.one(ctx, sel, []any{id}, &bal)
			if errors.Is(err, errNoRows) {
				continue // gone since listed: the checker reports it missing
			}
			if err != nil {
				return fmt.Errorf("read account %d: %w", id, err)
			}
			out[strconv.FormatInt(id, 10)] = bal
		}
		return nil
	})
	if op.Type == workload.OK {
		op.Balances = out
	}
	return op
}

// txn performs a list-append transaction: each append concatenates its
// value to the key's list, each read reads the whole list.
func (c *Client) txn(ctx context.Context, op workload.Op) workload.Op {
	readOnly := !op.IsWrite()
	done := slices.Clone(op.Txn)
	app, sel := c.q.appendList, c.q.readList
	op = c.inTx(ctx, op, readOnly, func() error {
		for i, m := range op.Txn {
			done[i].List = nil
			switch m.F {
			case workload.MAppend:
				if _, err := c.s.exec(ctx, app, m.Key, strconv.FormatInt(m.Value, 10)); err != nil {
					return fmt.Errorf("append %d to %d: %w", m.Value, m.Key, err)
				}
			case workload.MRead:
				var s string
				err := c.s.one(ctx, sel, []any{m.Key}, &s)
				if errors.Is(err, errNoRows) {
					done[i].List = []int64{}
					continue
				}
				if err != nil {
					return fmt.Errorf("read %d: %w", m.Key, err)
				}
				l, err := parseList(s)
				if err != nil {
					return fmt.Errorf("read %d: %w", m.Key, err)
				}
				done[i].List = l
			default:
				return fmt.Errorf("unknown micro-operation %q", m.F)
			}
		}
		return nil
	})
	if op.Type == workload.OK {
		op.Txn = done
	}
	return op
}

// parseList parses a list as stored: comma-separated decimals.
func parseList(s string) ([]int64, error) {
	if s == "" {
		return []int64{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list %q: element %d: %w", s, i, err)
		}
		out[i] = v
	}
	return out, nil
}
