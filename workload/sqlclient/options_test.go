package sqlclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/workload"
)

func TestCheckOptions(t *testing.T) {
	tests := []struct {
		protocol, kind string
		opts           map[string]string
		want           []string // substrings, one per error, in order
	}{
		{engines.ProtocolPostgres, KindAppend, nil, nil},
		{engines.ProtocolPostgres, KindBank, map[string]string{OptIsolation: RepeatableRead, OptRetries: "3"}, nil},
		{engines.ProtocolMySQL, KindRegister, map[string]string{OptIsolation: ReadUncommitted}, nil},
		{engines.ProtocolPostgres, KindAppend, map[string]string{OptIsolation: ReadUncommitted}, []string{"isolation: \"read-uncommitted\" is not an isolation level of postgres"}},
		{engines.ProtocolMySQL, KindAppend, map[string]string{OptRetries: "-1", "pool": "2"}, []string{"pool: unknown option", "retries: \"-1\" is not a whole number"}},
		{engines.ProtocolPostgres, "queue", nil, []string{"kind: \"queue\" is not a workload"}},
		{"etcd", KindAppend, nil, []string{"protocol \"etcd\""}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%v", tt.protocol, tt.kind, tt.opts), func(t *testing.T) {
			errs := CheckOptions(tt.protocol, tt.kind, tt.opts)
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %d", errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d: %v, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}

func TestClaimed(t *testing.T) {
	tests := []struct {
		protocol, isolation string
		want                elle.Level
	}{
		{engines.ProtocolPostgres, "", elle.Serializable},
		{engines.ProtocolPostgres, Serializable, elle.Serializable},
		{engines.ProtocolPostgres, RepeatableRead, elle.SnapshotIsolation},
		{engines.ProtocolPostgres, ReadCommitted, elle.ReadCommitted},
		{engines.ProtocolMySQL, RepeatableRead, elle.ReadCommitted},
		{engines.ProtocolMySQL, ReadUncommitted, elle.ReadUncommitted},
		{engines.ProtocolMySQL, "bogus", elle.Serializable},
	}
	for _, tt := range tests {
		if got := Claimed(tt.protocol, tt.isolation); got != tt.want {
			t.Errorf("Claimed(%s, %q) = %s, want %s", tt.protocol, tt.isolation, got, tt.want)
		}
	}
}

func TestTablesFor(t *testing.T) {
	a, b := tablesFor("run-1"), tablesFor("run_1")
	if a.list == b.list {
		t.Errorf("runs run-1 and run_1 share table %s", a.list)
	}
	if got := tablesFor("r1").bank; got != "fl_r1_bank" {
		t.Errorf("bank table of r1: %s", got)
	}
	long := tablesFor(strings.Repeat("x", 200) + "; DROP TABLE y").register
	if len(long) > 63 || strings.ContainsAny(long, " ;") {
		t.Errorf("table name %q is not a safe identifier of at most 63 bytes", long)
	}
}

func TestPlaceholders(t *testing.T) {
	if got := postgres.phs("UPDATE t SET v = ? WHERE k = ? AND v = ?"); got != "UPDATE t SET v = $1 WHERE k = $2 AND v = $3" {
		t.Errorf("postgres: %s", got)
	}
	if got := mysqlish.phs("SELECT ? "); got != "SELECT ? " {
		t.Errorf("mysql: %s", got)
	}
}

func TestOutcome(t *testing.T) {
	serialization := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	tests := []struct {
		name     string
		phase    phase
		readOnly bool
		err      error
		want     workload.Type
		conflict bool
	}{
		{"serialization failure at commit", atCommit, false, serialization, workload.Fail, true},
		{"wrapped serialization failure", beforeCommit, false, fmt.Errorf("append 3 to 1: %w", serialization), workload.Fail, true},
		{"postgres deadlock", beforeCommit, false, &pgconn.PgError{Code: "40P01"}, workload.Fail, true},
		{"mysql deadlock", beforeCommit, false, &mysql.MySQLError{Number: 1213}, workload.Fail, true},
		{"mysql lock wait timeout", beforeCommit, false, &mysql.MySQLError{Number: 1205}, workload.Fail, true},
		{"connection refused before commit", beforeCommit, false, errors.New("dial tcp: connection refused"), workload.Fail, false},
		{"lost connection at commit", atCommit, false, errors.New("unexpected EOF"), workload.Info, false},
		{"timeout at commit", atCommit, false, context.DeadlineExceeded, workload.Info, false},
		{"lost connection at commit of a read", atCommit, true, errors.New("unexpected EOF"), workload.Fail, false},
		{"commit that rolled back", atCommit, false, pgx.ErrTxCommitRollback, workload.Fail, false},
		{"shutdown at commit", atCommit, false, &pgconn.PgError{Code: "57P01"}, workload.Info, false},
		{"statement alone: serialization failure", alone, false, serialization, workload.Fail, true},
		{"statement alone: error answered", alone, false, &pgconn.PgError{Severity: "ERROR", Code: "23505"}, workload.Fail, false},
		{"statement alone: shutdown", alone, false, &pgconn.PgError{Severity: "FATAL", Code: "57P01"}, workload.Info, false},
		{"statement alone: lost connection", alone, false, errors.New("unexpected EOF"), workload.Info, false},
		{"statement alone: timeout", alone, false, fmt.Errorf("write: %w", context.DeadlineExceeded), workload.Info, false},
		{"statement alone: could not connect", alone, false, &notSent{errors.New("dial tcp: connection refused")}, workload.Fail, false},
		{"read alone: lost connection", alone, true, errors.New("unexpected EOF"), workload.Fail, false},
		{"statement alone: answer lost after sending", alone, false, &sentError{safeToRetry{errors.New("receive message failed")}}, workload.Info, false},
		{"statement alone: FATAL read after sending", alone, false, &sentError{&pgconn.PgError{Severity: "FATAL", Code: "57P01"}}, workload.Info, false},
		{"statement alone: nothing written", alone, false, safeToRetry{errors.New("write failed")}, workload.Fail, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := outcome(workload.Op{F: workload.FTxn}, tt.phase, tt.readOnly, tt.err)
			if op.Type != tt.want {
				t.Errorf("type %s, want %s (%s)", op.Type, tt.want, op.Error)
			}
			if got := strings.HasPrefix(op.Error, workload.ErrConflict); got != tt.conflict {
				t.Errorf("error %q: conflict %v, want %v", op.Error, got, tt.conflict)
			}
			if op.Declined() != tt.conflict {
				t.Errorf("Declined() = %v for %q", op.Declined(), op.Error)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		bad  bool
	}{
		{"", "[]", false},
		{"1", "[1]", false},
		{"1,2,30", "[1 2 30]", false},
		{"1,,2", "", true},
	} {
		got, err := parseList(tt.in)
		if (err != nil) != tt.bad || !tt.bad && fmt.Sprint(got) != tt.want {
			t.Errorf("parseList(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// safeToRetry is an error pgconn marks as safe to retry, as it marks
// every failed receive: after a statement was sent it must not count as
// "not sent".
type safeToRetry struct{ error }

func (safeToRetry) SafeToRetry() bool { return true }

func TestTableKey(t *testing.T) {
	d, _ := dialectFor("mysql")
	tb := tablesFor("run-1")
	got := map[string]string{}
	for _, kind := range Kinds() {
		for _, stmt := range d.schema(tb, kind) {
			table, key := tableKey(stmt)
			got[table] = key
		}
	}
	want := map[string]string{tb.register: "k", tb.ledger: "k", tb.bank: "id", tb.list: "k"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for table, key := range want {
		if got[table] != key {
			t.Errorf("%s: key %q, want %q", table, got[table], key)
		}
	}
}
