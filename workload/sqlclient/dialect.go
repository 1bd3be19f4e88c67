package sqlclient

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/faultline-dev/faultline/engines"
)

// dialect is what differs between the PostgreSQL and MySQL protocols: the
// driver, the connection string, placeholders and the one statement that
// has no portable form, the upsert. Everything else the clients send is
// the same SQL on PostgreSQL, CockroachDB, MySQL and MariaDB.
type dialect struct {
	protocol string
	driver   string // database/sql driver name
	// levels are the isolation levels the protocol's engines accept.
	levels []string
}

var (
	postgres = dialect{protocol: engines.ProtocolPostgres, driver: "pgx", levels: []string{ReadCommitted, RepeatableRead, Serializable}}
	mysqlish = dialect{protocol: engines.ProtocolMySQL, driver: "mysql", levels: []string{ReadUncommitted, ReadCommitted, RepeatableRead, Serializable}}
)

func dialectFor(protocol string) (dialect, error) {
	switch protocol {
	case engines.ProtocolPostgres:
		return postgres, nil
	case engines.ProtocolMySQL:
		return mysqlish, nil
	}
	return dialect{}, fmt.Errorf("sql client: protocol %q is neither %s nor %s", protocol, engines.ProtocolPostgres, engines.ProtocolMySQL)
}

// dsn is the connection string for one endpoint. Connecting and each
// statement are bounded by the operation's context; connectTimeout only
// keeps a dial to a paused server from outliving it.
func (d dialect) dsn(ep engines.Endpoint, connectTimeout time.Duration) (string, error) {
	host, port, err := net.SplitHostPort(ep.Addr)
	if err != nil {
		return "", fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("sql client: endpoint %s: port %q: %w", ep.Node, port, err)
	}
	switch d.protocol {
	case engines.ProtocolPostgres:
		u := url.URL{
			Scheme: "postgres",
			User:   url.UserPassword(ep.User, ep.Password),
			Host:   net.JoinHostPort(host, port),
			Path:   "/" + ep.Database,
		}
		q := url.Values{}
		q.Set("sslmode", "disable")
		if ep.TLS != nil {
			// The TLS configuration itself is set on the parsed
			// connection config (tlsDSN); require keeps pgx from
			// falling back to plaintext.
			q.Set("sslmode", "require")
		}
		q.Set("connect_timeout", strconv.Itoa(max(1, int(connectTimeout/time.Second))))
		q.Set("application_name", "faultline")
		u.RawQuery = q.Encode()
		return u.String(), nil
	default:
		c := mysql.NewConfig()
		c.User, c.Passwd = ep.User, ep.Password
		c.Net, c.Addr, c.DBName = "tcp", net.JoinHostPort(host, port), ep.Database
		c.Timeout = connectTimeout
		// UPDATE reports the rows it matched, not only those it changed,
		// as PostgreSQL does.
		c.ClientFoundRows = true
		// Arguments are quoted into the statement on the client: one
		// round trip per statement instead of prepare, execute, close.
		c.InterpolateParams = true
		if ep.TLS != nil {
			tc, err := ep.TLS.Config()
			if err != nil {
				return "", fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
			}
			if tc.ServerName == "" {
				tc.ServerName = host
			}
			// A DSN names a registered configuration; the name is
			// the endpoint's, so registering again replaces it.
			name := "faultline-" + ep.Addr
			if err := mysql.RegisterTLSConfig(name, tc); err != nil {
				return "", fmt.Errorf("sql client: endpoint %s: %w", ep.Node, err)
			}
			c.TLSConfig = name
		}
		return c.FormatDSN(), nil
	}
}

// ph is the n-th placeholder (from 1).
func (d dialect) ph(n int) string {
	if d.protocol == engines.ProtocolPostgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// phs rewrites "?" placeholders into the dialect's, so that statements are
// written once.
func (d dialect) phs(q string) string {
	if d.protocol != engines.ProtocolPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString(d.ph(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// upsertRegister sets register k to v whether or not its row exists.
func (d dialect) upsertRegister(table string) string {
	if d.protocol == engines.ProtocolPostgres {
		return "INSERT INTO " + table + " (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
	}
	return "INSERT INTO " + table + " (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)"
}

// appendElement appends ",v" to list k, creating it if it does not exist.
// The concatenation reads the row's current version inside the statement
// (an update reads the latest committed row on every engine), as Elle's
// SQL clients do.
func (d dialect) appendElement(table string) string {
	if d.protocol == engines.ProtocolPostgres {
		return "INSERT INTO " + table + " AS t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = CONCAT(t.v, ',', excluded.v)"
	}
	return "INSERT INTO " + table + " (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', VALUES(v))"
}

// listType is the column type of a list: PostgreSQL's TEXT, MySQL's
// LONGTEXT (TEXT holds only 64 KiB).
func (d dialect) listType() string {
	if d.protocol == engines.ProtocolPostgres {
		return "TEXT"
	}
	return "LONGTEXT"
}
