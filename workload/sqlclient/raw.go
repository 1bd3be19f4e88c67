//go:build unix

package sqlclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/sys/unix"

	"github.com/faultline-dev/faultline/workload"
)

// rawAvailable says whether this platform has rawSession.
const rawAvailable = true

// rawSession is a session on a PostgreSQL connection that pgx opened and
// then handed over (hijacked): its socket is used directly, non-blocking,
// and every wait goes through the workload.Waiter of the operation's
// context. A driver can then run every worker on one goroutine that
// waits on all their sockets at once (workload.Multiplexed), rather than
// a goroutine per worker parked and woken, with a thread, at every round
// trip. The protocol is pgSession's: statements prepared once per
// connection and run with Bind, Execute and Sync, text arguments and
// results, the isolation level the session's default, BEGIN and COMMIT
// as simple queries. Plain TCP and Unix sockets only: a TLS connection
// stays with pgSession.
type rawSession struct {
	cfg   *pgx.ConnConfig
	conn  fdConn // fd -1: not connected
	fe    *pgproto3.Frontend
	stmts map[string]string // prepared name by text, on this connection
	inTx  bool
	args  argBuffer
}

func newRawSession(cfg *pgx.ConnConfig) *rawSession {
	return &rawSession{cfg: cfg, conn: fdConn{fd: -1}}
}

// fdConn reads and writes a non-blocking socket, waiting through w until
// deadline.
type fdConn struct {
	fd       int
	w        workload.Waiter
	deadline time.Time
	// drained: the last read emptied the socket, so the next one waits
	// for readiness first rather than meeting EAGAIN.
	drained bool
}

// errTimeout is what a read or write past the operation's deadline
// returns: an i/o timeout.
var errTimeout = fmt.Errorf("sql client: %w", os.ErrDeadlineExceeded)

func (c *fdConn) Read(p []byte) (int, error) {
	for {
		if c.drained && !c.w.Wait(c.fd, false, c.deadline) {
			return 0, errTimeout
		}
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EAGAIN:
			c.drained = true
			continue
		case err == unix.EINTR:
			c.drained = false
			continue
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		c.drained = n < len(p)
		return n, nil
	}
}

func (c *fdConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(c.fd, p[n:])
		switch {
		case err == unix.EAGAIN:
			if !c.w.Wait(c.fd, true, c.deadline) {
				return n, errTimeout
			}
			continue
		case err == unix.EINTR:
			continue
		case err != nil:
			return n, os.NewSyscallError("write", err)
		}
		n += m
	}
	return n, nil
}

// use points the connection at ctx's waiter and deadline.
func (s *rawSession) use(ctx context.Context) {
	s.conn.w = workload.WaiterFrom(ctx)
	s.conn.deadline, _ = ctx.Deadline()
}

func (s *rawSession) connect(ctx context.Context) error {
	s.use(ctx)
	if s.conn.fd >= 0 {
		return nil
	}
	var (
		fd  int
		err error
	)
	s.conn.w.Do(func() { fd, err = dialRaw(ctx, s.cfg) })
	if err != nil {
		return &notSent{err}
	}
	s.conn.fd, s.conn.drained = fd, true
	s.fe = pgproto3.NewFrontend(&s.conn, &s.conn)
	s.stmts, s.inTx = map[string]string{}, false
	return nil
}

// dialRaw connects as pgx does (startup, authentication, parameters),
// then takes the connection's socket over: a duplicate of its descriptor,
// non-blocking, once pgx has let go of the original.
func dialRaw(ctx context.Context, cfg *pgx.ConnConfig) (int, error) {
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return -1, err
	}
	pc := c.PgConn()
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(ctx)
		return -1, err
	}
	hj, err := pc.Hijack()
	if err != nil {
		pc.Close(ctx)
		return -1, err
	}
	defer hj.Conn.Close()
	sc, ok := hj.Conn.(syscall.Conn)
	if !ok || hj.TLSConfig != nil {
		return -1, fmt.Errorf("sql client: a %T connection is not a plain socket", hj.Conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(orig uintptr) {
		fd, dupErr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, os.NewSyscallError("fcntl", dupErr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// drop closes a connection whose exchange was cut short: what is left on
// it is unknown.
func (s *rawSession) drop() {
	if s.conn.fd < 0 {
		return
	}
	s.conn.w.Closing(s.conn.fd)
	unix.Close(s.conn.fd)
	s.conn.fd, s.fe, s.stmts, s.inTx = -1, nil, nil, false
}

// flush sends what the frontend holds. On an error the connection is
// dropped and the error says whether nothing left (pgconn.SafeToRetry).
func (s *rawSession) flush() error {
	if err := s.fe.Flush(); err != nil {
		s.drop()
		return err
	}
	return nil
}

// sent classifies an error of flush after a statement: notSent when
// nothing of it left, else sentError (it may have run).
func sent(err error) error {
	if pgconn.SafeToRetry(err) {
		return &notSent{err}
	}
	return &sentError{err}
}

// receive reads the answer to what was sent, up to ReadyForQuery: rows
// to row, the command's tag, and the server's error (or the row
// callback's). On a failure to read (err) the connection is dropped.
func (s *rawSession) receive(row func(values [][]byte) error) (tag string, answer error, err error) {
	for {
		msg, err := s.fe.Receive()
		if err != nil {
			s.drop()
			return "", nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if answer == nil && row != nil {
				answer = row(m.Values)
			}
		case *pgproto3.CommandComplete:
			tag = string(m.CommandTag)
		case *pgproto3.ErrorResponse:
			if answer == nil {
				answer = pgconn.ErrorResponseToPgError(m)
			}
		case *pgproto3.ReadyForQuery:
			s.inTx = m.TxStatus != 'I'
			return tag, answer, nil
		}
	}
}

// prepare prepares q on the connection under a name of its own.
// Preparing runs nothing: whatever fails, the statement did not happen.
func (s *rawSession) prepare(q string) (string, error) {
	if name, ok := s.stmts[q]; ok {
		return name, nil
	}
	name := "fl" + strconv.Itoa(len(s.stmts))
	s.fe.SendParse(&pgproto3.Parse{Name: name, Query: q})
	s.fe.SendSync(&pgproto3.Sync{})
	if err := s.flush(); err != nil {
		return "", &notSent{err}
	}
	_, answer, err := s.receive(nil)
	if err != nil {
		return "", &notSent{err}
	}
	if answer != nil {
		return "", answer
	}
	s.stmts[q] = name
	return name, nil
}

// run executes q with args in one round trip, as pgSession.run does.
func (s *rawSession) run(ctx context.Context, q string, args []any, row func(values [][]byte) error) (int64, error) {
	if err := s.connect(ctx); err != nil {
		return 0, err
	}
	name, err := s.prepare(q)
	if err != nil {
		return 0, err
	}
	params, err := s.args.encode(args)
	if err != nil {
		return 0, err
	}
	s.fe.SendBind(&pgproto3.Bind{PreparedStatement: name, Parameters: params})
	s.fe.SendExecute(&pgproto3.Execute{})
	s.fe.SendSync(&pgproto3.Sync{})
	if err := s.flush(); err != nil {
		return 0, sent(err)
	}
	tag, answer, err := s.receive(row)
	if err != nil {
		return 0, &sentError{err}
	}
	return pgconn.NewCommandTag(tag).RowsAffected(), answer
}

// simple runs a query without arguments on the simple protocol.
func (s *rawSession) simple(ctx context.Context, q string) (string, error) {
	if err := s.connect(ctx); err != nil {
		return "", err
	}
	s.fe.SendQuery(&pgproto3.Query{String: q})
	if err := s.flush(); err != nil {
		return "", sent(err)
	}
	tag, answer, err := s.receive(nil)
	if err != nil {
		return "", &sentError{err}
	}
	return tag, answer
}

func (s *rawSession) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return s.run(ctx, q, args, nil)
}

func (s *rawSession) one(ctx context.Context, q string, args []any, dest ...any) error {
	return scanOne(ctx, s, q, args, dest)
}

func (s *rawSession) each(ctx context.Context, q string, args []any, f func(scan func(dest ...any) error) error) error {
	_, err := s.run(ctx, q, args, func(values [][]byte) error {
		return f(func(dest ...any) error { return scanRow(values, dest) })
	})
	return err
}

func (s *rawSession) begin(ctx context.Context) error {
	_, err := s.simple(ctx, "begin")
	return err
}

// commit is nil once the server acknowledged it; a COMMIT it answered by
// rolling back (the transaction had failed) is pgx.ErrTxCommitRollback,
// as pgx says it.
func (s *rawSession) commit(ctx context.Context) error {
	if !s.inTx {
		return errors.New("commit without a transaction")
	}
	tag, err := s.simple(ctx, "commit")
	if err == nil && tag == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return err
}

func (s *rawSession) rollback(ctx context.Context) {
	if s.conn.fd < 0 || !s.inTx {
		return
	}
	if _, err := s.simple(ctx, "rollback"); err != nil {
		s.drop()
	}
}

func (s *rawSession) close() error {
	if s.conn.fd < 0 {
		return nil
	}
	// Say goodbye, as pgx does, without waiting: the server ends the
	// session either way once the socket closes.
	s.fe.Send(&pgproto3.Terminate{})
	s.fe.Flush()
	s.drop()
	return nil
}
