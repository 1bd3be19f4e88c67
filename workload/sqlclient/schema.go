package sqlclient

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/workload"
)

// maxRunInName bounds the part of a table name taken from the run's name:
// PostgreSQL cuts identifiers at 63 bytes, MySQL refuses more than 64.
const maxRunInName = 32

// tables are the names of a run's tables.
type tables struct {
	register, ledger, bank, list string
}

// tablesFor names the tables of a run: fl_RUN_register and so on, RUN
// reduced to lower-case letters, digits and underscores (and shortened
// with a hash of the whole name when long), so that runs sharing a
// database never see each other's rows.
func tablesFor(run string) tables {
	var b strings.Builder
	for _, r := range strings.ToLower(run) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_")
	if len(name) > maxRunInName || name != strings.ToLower(run) {
		h := fnv.New32a()
		h.Write([]byte(run))
		name = fmt.Sprintf("%s_%08x", name[:min(len(name), maxRunInName-9)], h.Sum32())
	}
	p := "fl_" + name + "_"
	return tables{register: p + "register", ledger: p + "ledger", bank: p + "bank", list: p + "append"}
}

// schema returns the statements that create the tables a workload kind
// uses. Every statement runs on PostgreSQL, CockroachDB, MySQL and
// MariaDB alike; IF NOT EXISTS makes setup idempotent.
func (d dialect) schema(t tables, kind string) []string {
	ledger := "CREATE TABLE IF NOT EXISTS " + t.ledger + " (k VARCHAR(64) NOT NULL PRIMARY KEY)"
	switch kind {
	case KindRegister:
		// The register workload mixes in ledger inserts for RPO.
		return []string{"CREATE TABLE IF NOT EXISTS " + t.register + " (k VARCHAR(64) NOT NULL PRIMARY KEY, v BIGINT NOT NULL)", ledger}
	case KindLedger:
		return []string{ledger}
	case KindBank:
		return []string{"CREATE TABLE IF NOT EXISTS " + t.bank + " (id BIGINT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL)"}
	case KindAppend:
		// One row per key, its list as comma-separated decimals: Elle's
		// standard SQL schema, appended to by concatenation.
		return []string{"CREATE TABLE IF NOT EXISTS " + t.list + " (k BIGINT NOT NULL PRIMARY KEY, v " + d.listType() + " NOT NULL)"}
	}
	return nil
}

// tableKey reads the table and its first column, the key, from one of
// schema's CREATE TABLE statements.
func tableKey(stmt string) (table, key string) {
	rest := strings.TrimPrefix(stmt, "CREATE TABLE IF NOT EXISTS ")
	table, rest, _ = strings.Cut(rest, " (")
	key, _, _ = strings.Cut(rest, " ")
	return table, key
}

// balancer is the bank generator's view Setup needs.
type balancer interface {
	InitialBalances() map[string]int64
}

// setup creates the workload's tables and, for the bank, its accounts
// with their initial balances. Run twice for the same run, it leaves the
// tables as they are.
func setup(ctx context.Context, db *sql.DB, d dialect, t tables, kind string, gen workload.Generator, route func(ctx context.Context, table, key string) error) error {
	for _, stmt := range d.schema(t, kind) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create tables: %s: %w", stmt, err)
		}
		if route == nil {
			continue
		}
		table, key := tableKey(stmt)
		if err := route(ctx, table, key); err != nil {
			return fmt.Errorf("route table %s by %s: %w", table, key, err)
		}
	}
	if kind != KindBank {
		return nil
	}
	b, ok := gen.(balancer)
	if !ok {
		return fmt.Errorf("bank: generator %s has no initial balances", gen.Name())
	}
	return fundAccounts(ctx, db, d, t.bank, b.InitialBalances())
}

// fundAccounts inserts every account with its initial balance, in one
// serializable transaction, unless the table already holds accounts.
func fundAccounts(ctx context.Context, db *sql.DB, d dialect, table string, balances map[string]int64) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return fmt.Errorf("bank: fund accounts: %w", err)
	}
	defer tx.Rollback()
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		return fmt.Errorf("bank: fund accounts: %w", err)
	}
	if n > 0 {
		return nil
	}
	for acct, bal := range balances {
		id, err := strconv.ParseInt(acct, 10, 64)
		if err != nil {
			return fmt.Errorf("bank: account %q is not an integer id", acct)
		}
		if _, err := tx.ExecContext(ctx, d.phs("INSERT INTO "+table+" (id, balance) VALUES (?, ?)"), id, bal); err != nil {
			return fmt.Errorf("bank: fund account %s: %w", acct, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("bank: fund accounts: %w", err)
	}
	return nil
}
