package sqlclient

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The statements of the workloads run on PostgreSQL's extended protocol
// directly (Bind, Execute, Sync; then read to ReadyForQuery), through
// pgconn's public low-level calls, rather than through pgx.Conn's Exec
// and Query. Per operation that saves pgx's argument and row mapping,
// and two timers: the context watcher's and the 15 ms slow-write timer
// pgconn arms around every write, which wakes Go's network poller each
// time (together a tenth of the load's client CPU). The operation's
// timeout is the connection's deadline instead. Arguments and results
// are text: int64 and string arguments, *int64 and *string results.

// sentError is a failure after a statement was sent, before its answer
// was read (a lost connection, the deadline): it may have taken effect.
// The connection is closed.
type sentError struct{ err error }

func (e *sentError) Error() string { return e.err.Error() }
func (e *sentError) Unwrap() error { return e.err }

// wireStatement is a statement prepared on one connection.
type wireStatement struct {
	name string
}

// run executes q with args on the session's connection in one round
// trip and calls row for each row of its result (values valid only
// during the call). It returns the rows affected and the server's error
// of severity ERROR, if any; other failures are notSent (nothing sent)
// or sentError (maybe done; the connection is closed).
func (s *pgSession) run(ctx context.Context, q string, args []any, row func(values [][]byte) error) (int64, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return 0, err
	}
	st, ok := s.stmts[q]
	if !ok {
		name := "fl" + strconv.Itoa(len(s.stmts))
		if _, err := c.PgConn().Prepare(ctx, name, q, nil); err != nil {
			// Preparing runs nothing: the statement did not happen.
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Severity == "ERROR" {
				return 0, err
			}
			s.drop()
			return 0, &notSent{err}
		}
		st = &wireStatement{name: name}
		s.stmts[q] = st
	}
	params, err := s.args.encode(args)
	if err != nil {
		return 0, err
	}
	pc := c.PgConn()
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		if err := pc.Conn().SetDeadline(deadline); err != nil {
			return 0, &notSent{err}
		}
		defer pc.Conn().SetDeadline(time.Time{})
	}
	fe := pc.Frontend()
	fe.SendBind(&pgproto3.Bind{PreparedStatement: st.name, Parameters: params})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendSync(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		s.drop()
		if pgconn.SafeToRetry(err) {
			return 0, &notSent{err}
		}
		return 0, &sentError{err}
	}
	var (
		affected int64
		answer   error // the server's error, or the row callback's
	)
	for {
		// context.Background: pgconn watches no context, the deadline
		// bounds the read.
		msg, err := pc.ReceiveMessage(context.Background())
		if err != nil {
			s.drop()
			return 0, &sentError{err}
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if answer == nil && row != nil {
				answer = row(m.Values)
			}
		case *pgproto3.CommandComplete:
			affected = pgconn.NewCommandTag(string(m.CommandTag)).RowsAffected()
		case *pgproto3.ErrorResponse:
			if answer == nil {
				answer = pgconn.ErrorResponseToPgError(m)
			}
		case *pgproto3.ReadyForQuery:
			return affected, answer
		}
	}
}

// drop closes a connection whose exchange was cut short: what is left on
// it is unknown.
func (s *pgSession) drop() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s.conn.Close(ctx)
	s.conn, s.tx, s.stmts = nil, nil, nil
}

// argBuffer holds a statement's arguments rendered as text parameters,
// reused from one statement to the next.
type argBuffer struct {
	buf    []byte
	ends   []int
	params [][]byte
}

// encode renders arguments as text parameters, valid until the next call.
func (b *argBuffer) encode(args []any) ([][]byte, error) {
	b.buf = b.buf[:0]
	ends := b.ends[:0]
	for _, a := range args {
		switch v := a.(type) {
		case int64:
			b.buf = strconv.AppendInt(b.buf, v, 10)
		case string:
			b.buf = append(b.buf, v...)
		default:
			return nil, fmt.Errorf("sql client: argument of type %T", a)
		}
		ends = append(ends, len(b.buf))
	}
	b.ends = ends
	params := b.params[:0]
	start := 0
	for _, end := range ends {
		params = append(params, b.buf[start:end:end])
		start = end
	}
	b.params = params
	return params, nil
}

// statementRunner runs a statement in one round trip and passes each
// row of its result to row: pgSession and rawSession.
type statementRunner interface {
	run(ctx context.Context, q string, args []any, row func(values [][]byte) error) (int64, error)
}

// scanOne runs q through r and scans the first row of its result into
// dest; errNoRows if there was none.
func scanOne(ctx context.Context, r statementRunner, q string, args []any, dest []any) error {
	found := false
	_, err := r.run(ctx, q, args, func(values [][]byte) error {
		if found {
			return nil
		}
		found = true
		return scanRow(values, dest)
	})
	if err == nil && !found {
		return errNoRows
	}
	return err
}

// scanRow reads a row of text values into dest.
func scanRow(values [][]byte, dest []any) error {
	if len(values) != len(dest) {
		return fmt.Errorf("sql client: %d columns, want %d", len(values), len(dest))
	}
	for i, v := range values {
		if err := scanText(v, dest[i]); err != nil {
			return err
		}
	}
	return nil
}

// scanText reads one text value into dest, an *int64 or a *string.
func scanText(v []byte, dest any) error {
	if v == nil {
		return errors.New("sql client: NULL where a value was expected")
	}
	switch d := dest.(type) {
	case *int64:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("sql client: %q is not an integer", v)
		}
		*d = n
	case *string:
		*d = string(v)
	default:
		return fmt.Errorf("sql client: cannot read into %T", dest)
	}
	return nil
}
