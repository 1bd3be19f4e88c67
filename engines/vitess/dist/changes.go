package dist

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Change is one of faultline's MariaDB compatibility changes to the Vitess
// module source: a small edit that answers one behaviour of MariaDB that
// stock Vitess v24 does not expect (see ../shared/notes/vitess-local.md
// for how each was met).
type Change struct {
	// Name is short and stable; it appears in build manifests and
	// reports.
	Name string
	// Why is the MariaDB behaviour the change answers.
	Why string
	// Edits are the source edits, applied in order.
	Edits []Edit
}

// Edit replaces the one occurrence of Old in File (a path relative to the
// module's root) with New. An empty Old creates File with New as its
// content; the file must not exist.
type Edit struct {
	File string
	Old  string
	New  string
}

// EditError says that the upstream text an edit expects is not in the
// module source (a different version, or upstream changed it): the
// changes must be rewritten for that source, never skipped.
type EditError struct {
	Change, File string
	// Count is how many times the text was found (0 or several).
	Count int
}

// Error implements error.
func (e *EditError) Error() string {
	if e.Count == 0 {
		return fmt.Sprintf("MariaDB change %s: the upstream text to change is not in %s (has the Vitess version changed?)", e.Change, e.File)
	}
	return fmt.Sprintf("MariaDB change %s: the upstream text to change occurs %d times in %s, not once", e.Change, e.Count, e.File)
}

// Apply applies c's edits to the module source under root, which must be
// writable.
func (c Change) Apply(root string) error {
	for _, e := range c.Edits {
		path := filepath.Join(root, filepath.FromSlash(e.File))
		if e.Old == "" {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return fmt.Errorf("MariaDB change %s: %w", c.Name, err)
			}
			if _, err := f.WriteString(e.New); err != nil {
				f.Close()
				return fmt.Errorf("MariaDB change %s: %w", c.Name, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("MariaDB change %s: %w", c.Name, err)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("MariaDB change %s: %w", c.Name, err)
		}
		if n := bytes.Count(b, []byte(e.Old)); n != 1 {
			return &EditError{Change: c.Name, File: e.File, Count: n}
		}
		b = bytes.Replace(b, []byte(e.Old), []byte(e.New), 1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("MariaDB change %s: %w", c.Name, err)
		}
	}
	return nil
}

// MariaDBChanges are the changes faultline applies to vitess.io/vitess
// v0.24.4 to run its tablets on MariaDB 10.11 (Debian 12's). Each is
// marked in the source by a comment starting "faultline (MariaDB)".
// Without them, PlannedReparentShard fails, VTOrc discovers no tablet and
// runs spurious failovers, demotion leaves the old primary writable, and
// an emergency reparent waits on a file position that MariaDB cannot
// parse as a GTID list.
func MariaDBChanges() []Change {
	return []Change{
		{
			Name: "errant-gtid-server-uuid",
			Why:  "MariaDB has no server_uuid, so a primary's ServerUuid is empty and parsing it as a MySQL 5.6 SID fails every SetReplicationSource and tablet start",
			Edits: []Edit{
				{
					File: "go/vt/vttablet/tabletmanager/rpc_replication.go",
					Old: `		primarySid, err := replication.ParseSID(primaryStatus.ServerUuid)
		if err != nil {
			return err
		}
`,
					New: `		// faultline (MariaDB): MariaDB reports no server_uuid; the errant
		// GTID check only applies to MySQL 5.6 GTID sets anyway.
		var primarySid replication.SID
		if primaryStatus.ServerUuid != "" {
			primarySid, err = replication.ParseSID(primaryStatus.ServerUuid)
			if err != nil {
				return err
			}
		}
`,
				},
				{
					File: "go/vt/vttablet/tabletmanager/tm_init.go",
					Old: `	primarySid, err := replication.ParseSID(primaryStatus.ServerUuid)
	if err != nil {
		return "", err
	}
`,
					New: `	// faultline (MariaDB): MariaDB reports no server_uuid; the errant
	// GTID check only applies to MySQL 5.6 GTID sets anyway.
	var primarySid replication.SID
	if primaryStatus.ServerUuid != "" {
		primarySid, err = replication.ParseSID(primaryStatus.ServerUuid)
		if err != nil {
			return "", err
		}
	}
`,
				},
			},
		},
		{
			Name: "read-only-for-super-read-only",
			Why:  "MariaDB has no super_read_only (error 1193), so FullStatus fails for every tablet (VTOrc then discovers none) and a demoted primary stays writable; read_only is MariaDB's nearest variable",
			Edits: []Edit{
				{
					File: "go/vt/mysqlctl/faultline_mariadb.go",
					New: `package mysqlctl

import (
	"errors"

	"vitess.io/vitess/go/mysql/sqlerror"
)

// unknownSystemVariable reports whether err is MariaDB's (and MySQL's)
// error 1193, which MariaDB returns for super_read_only.
// faultline (MariaDB): added by faultline's MariaDB compatibility changes.
func unknownSystemVariable(err error) bool {
	sqlErr, ok := errors.AsType[*sqlerror.SQLError](err)
	return ok && sqlErr.Number() == sqlerror.ERUnknownSystemVariable
}
`,
				},
				{
					File: "go/vt/mysqlctl/replication.go",
					Old: `	qr, err := mysqld.FetchSuperQuery(ctx, "SELECT @@global.super_read_only")
	if err != nil {
		return false, err
	}
`,
					New: `	qr, err := mysqld.FetchSuperQuery(ctx, "SELECT @@global.super_read_only")
	if unknownSystemVariable(err) {
		// faultline (MariaDB): no super_read_only; read_only stands in.
		return mysqld.IsReadOnly(ctx)
	}
	if err != nil {
		return false, err
	}
`,
				},
				{
					File: "go/vt/mysqlctl/replication.go",
					Old: `	superReadOnlyEnabled, err := mysqld.IsSuperReadOnly(ctx)
	if err != nil {
		return nil, err
	}
`,
					New: `	// faultline (MariaDB): no super_read_only; set read_only instead,
	// and reset it to what it was.
	if _, err := mysqld.FetchSuperQuery(ctx, "SELECT @@global.super_read_only"); unknownSystemVariable(err) {
		was, err := mysqld.IsReadOnly(ctx)
		if err != nil {
			return nil, err
		}
		if err := mysqld.SetReadOnly(ctx, on); err != nil {
			return nil, err
		}
		if was == on {
			return nil, nil
		}
		return func() error { return mysqld.SetReadOnly(context.Background(), was) }, nil
	}

	superReadOnlyEnabled, err := mysqld.IsSuperReadOnly(ctx)
	if err != nil {
		return nil, err
	}
`,
				},
			},
		},
		{
			Name: "semi-sync-status-without-regexp-like",
			Why:  "MariaDB has no REGEXP_LIKE function, and its performance_schema is off by default, so DemotePrimary and the semi-sync monitor fail reading the semi-sync status; information_schema.global_status has it, under upper-case names",
			Edits: []Edit{
				{
					File: "go/vt/mysqlctl/replication.go",
					Old:  `	semiSyncWaitSessionsRead := "select variable_value from performance_schema.global_status where regexp_like(variable_name, 'Rpl_semi_sync_(source|master)_wait_sessions')"`,
					New: `	// faultline (MariaDB): no REGEXP_LIKE; information_schema has the status.
	semiSyncWaitSessionsRead := "select variable_value from information_schema.global_status where variable_name in ('Rpl_semi_sync_source_wait_sessions', 'Rpl_semi_sync_master_wait_sessions')"`,
				},
				{
					File: "go/vt/vttablet/tabletmanager/semisyncmonitor/monitor.go",
					Old:  `	semiSyncStatsQuery     = "SELECT /*+ MAX_EXECUTION_TIME(%d) */ variable_name, variable_value FROM performance_schema.global_status WHERE REGEXP_LIKE(variable_name, 'Rpl_semi_sync_(source|master)_(wait_sessions|yes_tx)')"`,
					New: `	// faultline (MariaDB): no REGEXP_LIKE; information_schema has the
	// status, with names in upper case, spelled back as the code expects.
	semiSyncStatsQuery = "SELECT /*+ MAX_EXECUTION_TIME(%d) */ REPLACE(LOWER(variable_name), 'rpl_semi_sync', 'Rpl_semi_sync'), variable_value FROM information_schema.global_status WHERE variable_name IN ('Rpl_semi_sync_master_wait_sessions', 'Rpl_semi_sync_master_yes_tx')"`,
				},
			},
		},
		{
			Name: "relay-log-position-from-gtid-io-pos",
			Why:  "for MariaDB the replication status never sets RelayLogPosition, so an emergency reparent waits for a binlog file position, which MASTER_GTID_WAIT rejects (error 1941): a second failover hangs; Gtid_IO_Pos is what the replica has received",
			Edits: []Edit{
				{
					File: "go/mysql/replication/replication_status.go",
					Old: `		return ReplicationStatus{}, vterrors.Wrapf(err, "ReplicationStatus can't parse MariaDB GTID (Gtid_Slave_Pos: %#v)", resultMap["Gtid_Slave_Pos"])
	}
`,
					New: `		return ReplicationStatus{}, vterrors.Wrapf(err, "ReplicationStatus can't parse MariaDB GTID (Gtid_Slave_Pos: %#v)", resultMap["Gtid_Slave_Pos"])
	}
	// faultline (MariaDB): the relay log holds what the IO thread
	// received, Gtid_IO_Pos, on top of what was applied.
	ioSet, err := ParseMariadbGTIDSet(resultMap["Gtid_IO_Pos"])
	if err != nil {
		return ReplicationStatus{}, vterrors.Wrapf(err, "ReplicationStatus can't parse MariaDB GTID (Gtid_IO_Pos: %#v)", resultMap["Gtid_IO_Pos"])
	}
	status.RelayLogPosition.GTIDSet = status.Position.GTIDSet.Union(ioSet)
`,
				},
			},
		},
		{
			Name: "tx-isolation-for-set-transaction",
			Why:  "MariaDB 10.11 names the session's isolation level tx_isolation (transaction_isolation only arrived in 11.1), and vtgate turns every SET TRANSACTION ISOLATION LEVEL (which go-sql-driver/mysql sends for a transaction's level) into a check and a setting of @@transaction_isolation, which MariaDB rejects (error 1193)",
			Edits: []Edit{
				{
					File: "go/vt/sqlparser/sql.go",
					Old:  `			yyLOCAL = &SetExpr{Var: NewSetVariable(TransactionIsolationStr, NextTxScope), Expr: NewStrLiteral(yyDollar[3].str())}`,
					New: `			// faultline (MariaDB): MariaDB 10.11 knows tx_isolation only.
			yyLOCAL = &SetExpr{Var: NewSetVariable("tx_isolation", NextTxScope), Expr: NewStrLiteral(yyDollar[3].str())}`,
				},
			},
		},
		{
			Name: "init-db-without-super-read-only",
			Why:  "the embedded init_db.sql that mysqlctl init runs reads and sets super_read_only, which MariaDB rejects (error 1193), so init fails",
			Edits: []Edit{
				{
					File: "config/init_db.sql",
					Old: `SET @original_super_read_only=IF(@@global.super_read_only=1, 'ON', 'OFF');
SET GLOBAL super_read_only='OFF';
`,
					New: `# faultline (MariaDB): MariaDB has no super_read_only.
`,
				},
				{
					File: "config/init_db.sql",
					Old: `SET GLOBAL super_read_only=IFNULL(@original_super_read_only, 'ON');
`,
					New: `# faultline (MariaDB): MariaDB has no super_read_only.
`,
				},
			},
		},
	}
}
