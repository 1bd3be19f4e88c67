package sqlclient

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/engines"
)

// Isolation levels, as scenarios write them under workload.options.
const (
	ReadUncommitted = "read-uncommitted"
	ReadCommitted   = "read-committed"
	RepeatableRead  = "repeatable-read"
	Serializable    = "serializable"
)

// Client options, as scenarios write them under workload.options.
const (
	// OptIsolation is the isolation level of every transaction.
	OptIsolation = "isolation"
	// OptRetries is how many times a definite abort is retried.
	OptRetries = "retries"
)

// Workload kinds the clients run (the generators' names).
const (
	KindRegister = "register"
	KindBank     = "bank"
	KindAppend   = "append"
	KindLedger   = "ledger"
)

// DefaultIsolation is the level when a scenario names none.
const DefaultIsolation = Serializable

// maxRetries bounds the retries option: beyond a few, retries only hide a
// database that aborts everything.
const maxRetries = 100

// Kinds lists the workload kinds the SQL clients run.
func Kinds() []string { return []string{KindAppend, KindBank, KindLedger, KindRegister} }

// OptionDocs documents each client option of protocol, for `faultline
// list workloads`.
func OptionDocs(protocol string) map[string]string {
	d, err := dialectFor(protocol)
	if err != nil {
		return nil
	}
	return map[string]string{
		OptIsolation: "isolation level of every transaction: " + strings.Join(d.levels, ", ") + " (default " + DefaultIsolation + ")",
		OptRetries:   "client-side retries of a transaction the database aborted (serialization failure, deadlock, lock wait timeout), each attempt recorded as its own operation (default 0)",
	}
}

// Options are the parsed client options.
type Options struct {
	// Isolation is one of the level constants.
	Isolation string
	// Retries is how many times the driver re-issues an operation the
	// database aborted.
	Retries int
}

// CheckOptions returns every problem with opts for a workload kind on
// protocol, each naming the option.
func CheckOptions(protocol, kind string, opts map[string]string) []error {
	_, errs := parseOptions(protocol, kind, opts)
	return errs
}

func parseOptions(protocol, kind string, opts map[string]string) (Options, []error) {
	o := Options{Isolation: DefaultIsolation}
	d, err := dialectFor(protocol)
	if err != nil {
		return o, []error{err}
	}
	var errs []error
	if !slices.Contains(Kinds(), kind) {
		errs = append(errs, fmt.Errorf("kind: %q is not a workload the %s clients run (known: %s)", kind, protocol, strings.Join(Kinds(), ", ")))
	}
	for k, v := range opts {
		switch k {
		case OptIsolation:
			if !slices.Contains(d.levels, v) {
				errs = append(errs, fmt.Errorf("%s: %q is not an isolation level of %s (known: %s)", k, v, protocol, strings.Join(d.levels, ", ")))
				continue
			}
			o.Isolation = v
		case OptRetries:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxRetries {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number from 0 to %d", k, v, maxRetries))
				continue
			}
			o.Retries = n
		default:
			errs = append(errs, fmt.Errorf("%s: unknown option for %s clients (known: %s, %s)", k, protocol, OptIsolation, OptRetries))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return o, errs
}

// txLevel is the database/sql level of an isolation option.
func txLevel(level string) sql.IsolationLevel {
	switch level {
	case ReadUncommitted:
		return sql.LevelReadUncommitted
	case ReadCommitted:
		return sql.LevelReadCommitted
	case RepeatableRead:
		return sql.LevelRepeatableRead
	}
	return sql.LevelSerializable
}

// Claimed is the isolation level, in Elle's terms, that an engine speaking
// protocol promises when asked for isolation: what the list-append check
// should hold it to.
//
//   - PostgreSQL: READ COMMITTED is read committed; REPEATABLE READ is
//     snapshot isolation (PostgreSQL's documentation says so, and it
//     forbids G-single while allowing G2-item write skew); SERIALIZABLE
//     is serializable (SSI).
//   - MySQL and MariaDB: REPEATABLE READ is held only to read committed.
//     InnoDB reads from a snapshot but writes (UPDATE, INSERT … ON
//     DUPLICATE KEY) act on the latest committed row, so a transaction can
//     overwrite what it never saw: lost updates, G-single and even
//     non-repeatable reads of a row after writing it (Jepsen, MySQL 8.0.34,
//     2023), none of which Adya's repeatable read (PL-2.99) or snapshot
//     isolation allows. READ UNCOMMITTED is read uncommitted, SERIALIZABLE
//     serializable (every plain read takes a shared lock).
//
// An empty isolation is DefaultIsolation; an unknown one is serializable,
// the strictest claim, so that a mistake cannot let anomalies pass.
func Claimed(protocol, isolation string) elle.Level {
	switch isolation {
	case "", Serializable:
		return elle.Serializable
	case ReadUncommitted:
		return elle.ReadUncommitted
	case ReadCommitted:
		return elle.ReadCommitted
	case RepeatableRead:
		if protocol == engines.ProtocolPostgres {
			return elle.SnapshotIsolation
		}
		return elle.ReadCommitted
	}
	return elle.Serializable
}
