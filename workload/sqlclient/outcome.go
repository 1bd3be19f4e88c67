package sqlclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/faultline-dev/faultline/workload"
)

// PostgreSQL SQLSTATEs (also CockroachDB's) and MySQL/MariaDB error
// numbers of a definite abort caused by concurrent transactions.
const (
	stateSerializationFailure = "40001" // CockroachDB's retry errors too
	stateDeadlock             = "40P01"
	mysqlDeadlock             = 1213 // ER_LOCK_DEADLOCK: the transaction was rolled back
	mysqlLockWaitTimeout      = 1205 // ER_LOCK_WAIT_TIMEOUT: we roll it back
)

// conflict reports whether err is a definite abort because of concurrent
// transactions, and names it.
func conflict(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case stateSerializationFailure:
			return "serialization failure (SQLSTATE 40001)", true
		case stateDeadlock:
			return "deadlock (SQLSTATE 40P01)", true
		}
		return "", false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlDeadlock:
			return "deadlock (error 1213)", true
		case mysqlLockWaitTimeout:
			return "lock wait timeout (error 1205)", true
		}
	}
	return "", false
}

// answeredAbort reports whether err is the server's own answer that the
// transaction did not commit, given at COMMIT: a conflict, or pgx's
// report that COMMIT rolled back a transaction that had already failed.
func answeredAbort(err error) bool {
	if _, ok := conflict(err); ok {
		return true
	}
	return errors.Is(err, pgx.ErrTxCommitRollback)
}

// phase is how far a transaction got when it failed.
type phase int

const (
	// beforeCommit: BEGIN or a statement failed, or a precondition did
	// not hold. COMMIT was never sent, and a transaction is rolled back
	// when its session ends, so nothing happened.
	beforeCommit phase = iota
	// atCommit: COMMIT was sent. Unless the server answered that it
	// aborted, the transaction may have committed.
	atCommit
	// alone: a statement that was its own transaction (no BEGIN) was
	// sent. It committed when it succeeded, so an error means nothing
	// happened only when the server answered with an error that ends
	// the statement (severity ERROR: the implicit transaction rolled
	// back) or when nothing was sent; a lost connection, a timeout or
	// a FATAL error may have come after the commit.
	alone
)

// outcome completes op after err in phase p. readOnly transactions change
// nothing, so they fail whatever happened.
func outcome(op workload.Op, p phase, readOnly bool, err error) workload.Op {
	if name, ok := conflict(err); ok {
		op.Type, op.Error = workload.Fail, fmt.Sprintf("%s: %s: %v", workload.ErrConflict, name, err)
		return op
	}
	switch {
	case p == beforeCommit, readOnly, answeredAbort(err), p == alone && statementFailed(err):
		op.Type = workload.Fail
	default:
		op.Type = workload.Info
	}
	op.Error = err.Error()
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(op.Error, "timeout") {
		op.Error = "timeout: " + op.Error
	}
	return op
}

// statementFailed reports whether err says that a statement sent alone
// certainly did not take effect: the server answered it with an error of
// severity ERROR, or the statement was never sent.
func statementFailed(err error) bool {
	var ns *notSent
	if errors.As(err, &ns) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Severity == "ERROR"
}
