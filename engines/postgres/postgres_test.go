package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/dbtest"
	"github.com/faultline-dev/faultline/engines/postgres"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
)

func TestMain(m *testing.M) {
	agent.Main(dbtest.Agents())
	os.Exit(m.Run())
}

func TestValidate(t *testing.T) {
	missing := &postgres.Engine{Root: t.TempDir()}
	tests := []struct {
		name     string
		e        *postgres.Engine
		spec     engines.Spec
		platform string
		want     []string
	}{
		{"missing binaries", missing, engines.Spec{}, "local", []string{"postgres: initdb is not installed; install postgresql-15 or run scripts/install-databases.sh"}},
		{"bad options", missing, engines.Spec{Options: map[string]string{"fsync": "maybe", "shared_buffers": "1GB"}}, "kind",
			[]string{`engine.options.fsync: "maybe" is not one of on, off`, "engine.options.shared_buffers: unknown option", "platform: postgres runs the server installed on this machine", "engine.replicas: 3"}},
	}
	tests[1].spec.Replicas = 3
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.e.Validate(tt.spec, target(tt.platform, 1))
			all := ""
			for _, e := range errs {
				all += e.Error() + "\n"
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors:\n%swant one containing %q", all, w)
				}
			}
		})
	}
}

func dsn(ep engines.Endpoint) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(ep.User, ep.Password), Host: ep.Addr, Path: "/" + ep.Database, RawQuery: "sslmode=disable"}
	return u.String()
}

// TestFaults kills, pauses and stops a real server: data committed before
// a kill survives it, a pause freezes every backend (a connection opened
// before it cannot answer), and a stop is a fast shutdown.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL; skipped under -short")
	}
	s := dbtest.Start(t, postgres.New(), engines.Spec{})
	node := s.Endpoint.Node
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", dsn(s.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k INT PRIMARY KEY); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
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

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := s.Pause(ctx, node); err != nil {
		t.Fatal(err)
	}
	qctx, qcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = conn.QueryRowContext(qctx, "SELECT 1").Scan(&n)
	qcancel()
	if err == nil {
		t.Error("a backend answered while the server was paused")
	}
	if err := s.Resume(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := dbtest.Retry(ctx, func() error { return db.QueryRowContext(ctx, "SELECT 1").Scan(&n) }); err != nil {
		t.Fatalf("after resume: %v", err)
	}

	start := time.Now()
	if err := s.Stop(ctx, node); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %s: not a fast shutdown", d)
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
