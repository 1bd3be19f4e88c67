package mariadb_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/dbtest"
	"github.com/faultline-dev/faultline/engines/mariadb"
	"github.com/faultline-dev/faultline/internal/agent"
)

func TestMain(m *testing.M) {
	agent.Main(dbtest.Agents())
	os.Exit(m.Run())
}

func TestDeployKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB; skipped under -short")
	}
	s := dbtest.Start(t, mariadb.New(), engines.Spec{})
	t.Logf("endpoint %s", s.Endpoint.Addr)
	_ = sql.ErrNoRows
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Kill(ctx, s.Endpoint.Node); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, s.Endpoint.Node); err != nil {
		t.Fatal(err)
	}
}
