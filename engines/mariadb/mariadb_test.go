package mariadb_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/dbtest"
	"github.com/faultline-dev/faultline/engines/mariadb"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
)

func TestMain(m *testing.M) {
	agent.Main(dbtest.Agents())
	os.Exit(m.Run())
}

func TestValidate(t *testing.T) {
	errs := mariadb.New().Validate(engines.Spec{
		Replicas: 2, Image: "mariadb:11",
		Options: map[string]string{"innodb_flush_log_at_trx_commit": "5", "sync_binlog": "1"},
	}, target("kind", 3))
	all := ""
	for _, e := range errs {
		all += e.Error() + "\n"
	}
	for _, w := range []string{
		`engine.options.innodb_flush_log_at_trx_commit: "5" is not one of 0, 1, 2, 3`,
		"engine.options.sync_binlog: unknown option",
		"engine.replicas: 2, but mariadb runs a single instance",
		"platform: mariadb runs the server installed on this machine, so it needs a platform that runs processes (local), not \"kind\"",
		"engine.image:",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("errors:\n%swant one containing %q", all, w)
		}
	}
}

// TestFaults kills and pauses a real server: data committed before a kill
// survives it, and a paused server answers nothing until resumed.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB; skipped under -short")
	}
	s := dbtest.Start(t, mariadb.New(), engines.Spec{})
	node := s.Endpoint.Node
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = s.Endpoint.User, s.Endpoint.Password, "tcp", s.Endpoint.Addr, s.Endpoint.Database
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE TABLE t (k INT PRIMARY KEY)", "INSERT INTO t VALUES (1)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Kill(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := dbtest.Retry(ctx, func() error { return db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n) }); err != nil || n != 1 {
		t.Fatalf("after kill -9: %d rows, %v", n, err)
	}
	if err := s.Pause(ctx, node); err != nil {
		t.Fatal(err)
	}
	qctx, qcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = db.QueryRowContext(qctx, "SELECT 1").Scan(&n)
	qcancel()
	if err == nil {
		t.Error("the server answered while paused")
	}
	if err := s.Resume(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := dbtest.Retry(ctx, func() error { return db.QueryRowContext(ctx, "SELECT 1").Scan(&n) }); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}

// target is where a test validates a spec: the named platform's
// capabilities, as its package states them.
func target(platformName string, workers int) engines.Target {
	caps := map[string]platform.Capabilities{
		"local": {Processes: true, NodeControl: true, Network: true},
		"kind":  {Kubernetes: true, NodeControl: true, Network: true},
	}
	return engines.Target{Platform: platformName, Workers: workers, Capabilities: caps[platformName]}
}
