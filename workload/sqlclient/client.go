package sqlclient

import (
	"context"
	"database/sql"
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
type Client struct {
	db      *sql.DB
	d       dialect
	t       tables
	level   sql.IsolationLevel
	node    string
	retries int
}

// Close implements workload.Client.
func (c *Client) Close() error { return c.db.Close() }

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

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// declined is a precondition the data did not meet: the transaction is
// rolled back and the operation fails with workload.ErrPrecondition.
type declined struct{ detail string }

func (e *declined) Error() string { return workload.ErrPrecondition + ": " + e.detail }

// inTx runs body in a transaction at the client's isolation level and
// completes op: ok once COMMIT is acknowledged, otherwise as outcome
// classifies the error. body must not commit or roll back.
func (c *Client) inTx(ctx context.Context, op workload.Op, readOnly bool, body func(tx *sql.Tx) error) workload.Op {
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{Isolation: c.level})
	if err != nil {
		// Most likely the server is down: pause before answering, so
		// that a worker does not record thousands of refused
		// connections a second while it is.
		pause(ctx, beginBackoff)
		return outcome(op, beforeCommit, readOnly, err)
	}
	if err := body(tx); err != nil {
		tx.Rollback()
		var de *declined
		if errors.As(err, &de) {
			op.Type, op.Error = workload.Fail, de.Error()
			return op
		}
		return outcome(op, beforeCommit, readOnly, err)
	}
	if err := tx.Commit(); err != nil {
		return outcome(op, atCommit, readOnly, err)
	}
	op.Type, op.Error = workload.OK, ""
	return op
}

func (c *Client) read(ctx context.Context, op workload.Op) workload.Op {
	var v *int64
	op = c.inTx(ctx, op, true, func(tx *sql.Tx) error {
		var x int64
		err := tx.QueryRowContext(ctx, c.d.phs("SELECT v FROM "+c.t.register+" WHERE k = ?"), op.Key).Scan(&x)
		switch {
		case errors.Is(err, sql.ErrNoRows):
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
	return c.inTx(ctx, op, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, c.d.upsertRegister(c.t.register), op.Key, *op.Value)
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
	return c.inTx(ctx, op, false, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, c.d.phs("UPDATE "+c.t.register+" SET v = ? WHERE k = ? AND v = ?"), *op.Value, op.Key, *op.Prev)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
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
	return c.inTx(ctx, op, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, c.d.phs("INSERT INTO "+c.t.ledger+" (k) VALUES (?)"), op.Key)
		return err
	})
}

func (c *Client) ledgerRead(ctx context.Context, op workload.Op) workload.Op {
	var keys []string
	op = c.inTx(ctx, op, true, func(tx *sql.Tx) error {
		keys = keys[:0]
		rows, err := tx.QueryContext(ctx, "SELECT k FROM "+c.t.ledger+" ORDER BY k")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
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
	sel := c.d.phs("SELECT balance FROM " + c.t.bank + " WHERE id = ?")
	upd := c.d.phs("UPDATE " + c.t.bank + " SET balance = ? WHERE id = ?")
	return c.inTx(ctx, op, false, func(tx *sql.Tx) error {
		var a, b int64
		if err := tx.QueryRowContext(ctx, sel, from).Scan(&a); err != nil {
			return fmt.Errorf("read account %d: %w", from, err)
		}
		if err := tx.QueryRowContext(ctx, sel, to).Scan(&b); err != nil {
			return fmt.Errorf("read account %d: %w", to, err)
		}
		if a < t.Amount {
			return &declined{detail: fmt.Sprintf("account %d holds %d, less than %d", from, a, t.Amount)}
		}
		if _, err := tx.ExecContext(ctx, upd, a-t.Amount, from); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, upd, b+t.Amount, to)
		return err
	})
}

// balances reads every account, one statement per account, in one
// transaction. Separate statements let the isolation level, not the
// atomicity of a single statement, decide whether the reads agree: at read
// committed each statement may see a different committed state.
func (c *Client) balances(ctx context.Context, op workload.Op) workload.Op {
	out := map[string]int64{}
	op = c.inTx(ctx, op, true, func(tx *sql.Tx) error {
		clear(out)
		rows, err := tx.QueryContext(ctx, "SELECT id FROM "+c.t.bank+" ORDER BY id")
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		sel := c.d.phs("SELECT balance FROM " + c.t.bank + " WHERE id = ?")
		for _, id := range ids {
			var bal int64
			err := tx.QueryRowContext(ctx, sel, id).Scan(&bal)
			if errors.Is(err, sql.ErrNoRows) {
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
	app := c.d.appendElement(c.t.list)
	sel := c.d.phs("SELECT v FROM " + c.t.list + " WHERE k = ?")
	op = c.inTx(ctx, op, readOnly, func(tx *sql.Tx) error {
		for i, m := range op.Txn {
			done[i].List = nil
			switch m.F {
			case workload.MAppend:
				if _, err := tx.ExecContext(ctx, app, m.Key, strconv.FormatInt(m.Value, 10)); err != nil {
					return fmt.Errorf("append %d to %d: %w", m.Value, m.Key, err)
				}
			case workload.MRead:
				var s string
				err := tx.QueryRowContext(ctx, sel, m.Key).Scan(&s)
				if errors.Is(err, sql.ErrNoRows) {
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
