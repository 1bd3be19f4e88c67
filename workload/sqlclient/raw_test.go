//go:build unix

package sqlclient

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/sys/unix"

	"github.com/faultline-dev/faultline/workload"
)

// rawPair returns a rawSession connected to a fake server: serve reads
// the session's messages and answers them through its Backend, until it
// returns (and its end of the socket closes).
func rawPair(t *testing.T, serve func(b *pgproto3.Backend)) *rawSession {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[1]), "server")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close()
		serve(pgproto3.NewBackend(conn, conn))
	}()
	s := newRawSession(nil)
	s.conn.fd, s.conn.drained = fds[0], true
	s.fe = pgproto3.NewFrontend(&s.conn, &s.conn)
	s.stmts = map[string]string{}
	t.Cleanup(func() {
		s.close()
		<-done
	})
	return s
}

// until receives messages until one of type T, and returns it.
func until[T pgproto3.FrontendMessage](b *pgproto3.Backend) bool {
	for {
		m, err := b.Receive()
		if err != nil {
			return false
		}
		if _, ok := m.(T); ok {
			return true
		}
	}
}

func ready(b *pgproto3.Backend, status byte) {
	b.Send(&pgproto3.ReadyForQuery{TxStatus: status})
	b.Flush()
}

// parsed answers the session's Parse and Sync: the statement is prepared.
func parsed(b *pgproto3.Backend) {
	until[*pgproto3.Sync](b)
	b.Send(&pgproto3.ParseComplete{})
	ready(b, 'I')
}

func TestRawSessionClassifiesWhatHappened(t *testing.T) {
	ctx := context.Background()
	update := func(s *rawSession) error {
		_, err := s.exec(ctx, "UPDATE t SET v = $1", int64(1))
		return err
	}
	tests := []struct {
		name  string
		serve func(b *pgproto3.Backend)
		run   func(s *rawSession) error
		// at is how far the operation got, and want its outcome: fail
		// when it certainly did not take effect.
		at    phase
		want  workload.Type
		check func(t *testing.T, err error)
	}{{
		name: "connection lost while preparing: nothing ran",
		serve: func(b *pgproto3.Backend) {
			until[*pgproto3.Sync](b)
		},
		run: update,
		at:  alone, want: workload.Fail,
	}, {
		name: "connection lost after the statement: it may have run",
		serve: func(b *pgproto3.Backend) {
			parsed(b)
			until[*pgproto3.Execute](b)
		},
		run: update,
		at:  alone, want: workload.Info,
	}, {
		name: "server's error: the implicit transaction rolled back",
		serve: func(b *pgproto3.Backend) {
			parsed(b)
			until[*pgproto3.Sync](b)
			b.Send(&pgproto3.ErrorResponse{Severity: "ERROR", Code: "40001", Message: "could not serialize access"})
			ready(b, 'I')
			until[*pgproto3.Terminate](b)
		},
		run: update,
		at:  alone, want: workload.Fail,
		check: func(t *testing.T, err error) {
			if _, ok := conflict(err); !ok {
				t.Errorf("%v is not a conflict", err)
			}
		},
	}, {
		name: "no answer before the deadline: a timeout, maybe done",
		serve: func(b *pgproto3.Backend) {
			parsed(b)
			until[*pgproto3.Terminate](b) // never sent: the session drops the connection
		},
		run: func(s *rawSession) error {
			ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			_, err := s.exec(ctx, "UPDATE t SET v = $1", int64(1))
			return err
		},
		at: alone, want: workload.Info,
		check: func(t *testing.T, err error) {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%v is not a timeout", err)
			}
		},
	}, {
		name: "COMMIT of a failed transaction answered ROLLBACK",
		serve: func(b *pgproto3.Backend) {
			until[*pgproto3.Query](b)
			b.Send(&pgproto3.CommandComplete{CommandTag: []byte("BEGIN")})
			ready(b, 'T')
			until[*pgproto3.Query](b)
			b.Send(&pgproto3.CommandComplete{CommandTag: []byte("ROLLBACK")})
			ready(b, 'I')
			until[*pgproto3.Terminate](b)
		},
		run: func(s *rawSession) error {
			if err := s.begin(ctx); err != nil {
				return err
			}
			return s.commit(ctx)
		},
		at: atCommit, want: workload.Fail,
		check: func(t *testing.T, err error) {
			if !errors.Is(err, pgx.ErrTxCommitRollback) || !answeredAbort(err) {
				t.Errorf("%v is not the server's rollback", err)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rawPair(t, tt.serve)
			err := tt.run(s)
			if err == nil {
				t.Fatal("no error")
			}
			op := outcome(workload.Op{F: workload.FWrite}, tt.at, false, err)
			if op.Type != tt.want {
				t.Errorf("%v: %s, want %s", err, op.Type, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestRawSessionReadsRows(t *testing.T) {
	s := rawPair(t, func(b *pgproto3.Backend) {
		parsed(b)
		until[*pgproto3.Sync](b)
		b.Send(&pgproto3.BindComplete{})
		for _, v := range []string{"a", "b", "c"} {
			b.Send(&pgproto3.DataRow{Values: [][]byte{[]byte(v)}})
		}
		b.Send(&pgproto3.CommandComplete{CommandTag: []byte("SELECT 3")})
		ready(b, 'I')
		until[*pgproto3.Terminate](b)
	})
	var got []string
	err := s.each(context.Background(), "SELECT k FROM t", nil, func(scan func(...any) error) error {
		var k string
		if err := scan(&k); err != nil {
			return err
		}
		got = append(got, k)
		return nil
	})
	if err != nil || len(got) != 3 || got[2] != "c" {
		t.Fatalf("rows %q, error %v", got, err)
	}
}
