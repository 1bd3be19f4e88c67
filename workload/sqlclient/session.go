package sqlclient

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
)

// session is one worker's connection: its statements run one at a time,
// each outside a transaction (its own, implicit one) unless begin opened
// one. A session reconnects by itself when its connection was lost; an
// error from connecting is a notSent.
type session interface {
	// exec runs a statement and returns how many rows it affected.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// one scans the only row of a query into dest; errNoRows if the
	// query returned none.
	one(ctx context.Context, q string, args []any, dest ...any) error
	// each calls f for every row of a query; f reads the row with scan.
	each(ctx context.Context, q string, args []any, f func(scan func(dest ...any) error) error) error
	// begin opens a transaction at the client's isolation level.
	begin(ctx context.Context) error
	// commit commits the open transaction; nil once the server
	// acknowledged it. A COMMIT the server answered by rolling back
	// (the transaction had failed) is pgx.ErrTxCommitRollback.
	commit(ctx context.Context) error
	// rollback abandons the open transaction, if any; errors are
	// dropped (a session that failed mid-transaction reconnects).
	rollback(ctx context.Context)
	// close releases the connection.
	close() error
}

// errNoRows is what one returns for a query that returned no row.
var errNoRows = errors.New("no rows")

// notSent is an error from before anything of an operation reached the
// server: connecting, preparing or writing failed before the statement
// left. Nothing happened.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

// pgSession is a session on pgx's native connection: every statement
// with arguments is prepared once per connection and then runs in one
// round trip (Bind, Execute, Sync), and the isolation level is the
// session's default (default_transaction_isolation in the startup
// message), so that a statement outside a transaction is a transaction
// at that level and BEGIN needs no options.
type pgSession struct {
	cfg   *pgx.ConnConfig
	conn  *pgx.Conn
	tx    pgx.Tx
	stmts map[string]*wireStatement // by text, on this connection
	args  argBuffer
}

func (s *pgSession) connect(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.tx = nil
	c, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return nil, &notSent{err}
	}
	s.conn, s.stmts = c, map[string]*wireStatement{}
	return c, nil
}

// prepared returns the session's connection with q prepared on it when
// it has arguments (for each). Statements are prepared by name (their
// text), not through pgx's statement cache: pgx drops a cached statement
// after any error and prepares it again, two more round trips after
// every serialization failure, while a named one stays.
func (s *pgSession) prepared(ctx context.Context, q string, args []any) (*pgx.Conn, error) {
	c, err := s.connect(ctx)
	if err != nil || len(args) == 0 {
		return c, err
	}
	if _, err := c.Prepare(ctx, q, q); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *pgSession) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return s.run(ctx, q, args, nil)
}

func (s *pgSession) one(ctx context.Context, q string, args []any, dest ...any) error {
	return scanOne(ctx, s, q, args, dest)
}

func (s *pgSession) each(ctx context.Context, q string, args []any, f func(scan func(dest ...any) error) error) error {
	c, err := s.prepared(ctx, q, args)
	if err != nil {
		return err
	}
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *pgSession) begin(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	s.tx, err = c.Begin(ctx)
	return err
}

func (s *pgSession) commit(ctx context.Context) error {
	if s.tx == nil {
		return errors.New("commit without a transaction")
	}
	tx := s.tx
	s.tx = nil
	return tx.Commit(ctx)
}

func (s *pgSession) rollback(ctx context.Context) {
	if s.tx != nil && s.conn != nil && !s.conn.IsClosed() {
		s.tx.Rollback(ctx)
	}
	s.tx = nil
}

func (s *pgSession) close() error {
	if s.conn == nil || s.conn.IsClosed() {
		return nil
	}
	return s.conn.Close(context.Background())
}

// sqlSession is a session on database/sql, for the MySQL protocol. Its
// *sql.DB holds one connection (database/sql reconnects it when it breaks)
// and its DSN interpolates arguments on the client, so that each
// statement is one round trip rather than prepare, execute and close.
// Every operation keeps its explicit transaction at the client's level
// (SET TRANSACTION ISOLATION LEVEL, START TRANSACTION): a session-wide
// level would pin a connection in proxies such as Vitess's vtgate.
type sqlSession struct {
	db    *sql.DB
	level sql.IsolationLevel
	tx    *sql.Tx
}

func (s *sqlSession) execer() interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
} {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

func (s *sqlSession) exec(ctx context.Context, q string, args ...any) (int64, error) {
	r, err := s.execer().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (s *sqlSession) one(ctx context.Context, q string, args []any, dest ...any) error {
	err := s.execer().QueryRowContext(ctx, q, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}

func (s *sqlSession) each(ctx context.Context, q string, args []any, f func(scan func(dest ...any) error) error) error {
	rows, err := s.execer().QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *sqlSession) begin(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: s.level})
	if err != nil {
		return err
	}
	s.tx = tx
	return nil
}

func (s *sqlSession) commit(context.Context) error {
	if s.tx == nil {
		return errors.New("commit without a transaction")
	}
	tx := s.tx
	s.tx = nil
	return tx.Commit()
}

func (s *sqlSession) rollback(context.Context) {
	if s.tx != nil {
		s.tx.Rollback()
	}
	s.tx = nil
}

func (s *sqlSession) close() error { return s.db.Close() }

// pgLevel is PostgreSQL's name of an isolation option, for
// default_transaction_isolation. Options are checked before: an unknown
// one is serializable, the strictest.
func pgLevel(level string) string {
	switch level {
	case ReadUncommitted:
		return "read uncommitted"
	case ReadCommitted:
		return "read committed"
	case RepeatableRead:
		return "repeatable read"
	}
	return "serializable"
}
