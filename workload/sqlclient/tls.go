package sqlclient

import (
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/faultline-dev/faultline/engines"
)

// tlsDSN gives a PostgreSQL connection string the endpoint's TLS
// material: pgx takes a tls.Config only on a parsed configuration, which
// is registered with its database/sql driver under a name that stands in
// for the connection string. Other DSNs (plaintext, MySQL's, which carry
// their tls.Config themselves) are returned as they are.
func (d dialect) tlsDSN(dsn string, ep engines.Endpoint) (string, error) {
	if ep.TLS == nil || d.protocol != engines.ProtocolPostgres {
		return dsn, nil
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
	}
	tc, err := ep.TLS.Config()
	if err != nil {
		return "", fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
	}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(ep.Addr)
	}
	cfg.TLSConfig = tc
	cfg.Fallbacks = nil
	return stdlib.RegisterConnConfig(cfg), nil
}
