package sqlclient

import (
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"

	"github.com/faultline-dev/faultline/engines"
)

// pgConfig parses a PostgreSQL connection string into pgx's configuration
// and gives it the endpoint's TLS material, which pgx takes only on a
// parsed configuration (the DSN's sslmode=require keeps it from falling
// back to plaintext).
func pgConfig(dsn string, ep engines.Endpoint) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
	}
	if ep.TLS == nil {
		return cfg, nil
	}
	tc, err := ep.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
	}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(ep.Addr)
	}
	cfg.TLSConfig = tc
	cfg.Fallbacks = nil
	return cfg, nil
}
