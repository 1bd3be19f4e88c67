// Package sqlclient is the SQL client of the register, bank, list-append
// and ledger workloads, for engines that speak the PostgreSQL protocol
// (through pgx) or the MySQL protocol (through go-sql-driver/mysql), with
// every outcome classified as ok, fail (certainly did not happen) or info
// (may have happened).
package sqlclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/workload"
)

// connectTimeout bounds each dial, so that a worker does not hang on a
// paused server for longer than an operation may take.
const connectTimeout = 2 * time.Second

// Config says what to connect a workload to.
type Config struct {
	// Protocol is engines.ProtocolPostgres or engines.ProtocolMySQL.
	Protocol string
	// Kind is the workload kind (see Kinds).
	Kind string
	// Endpoints are the engine's SQL endpoints, with database, user and
	// password; worker w uses endpoint w mod n.
	Endpoints []engines.Endpoint
	// Options are the client options (see OptionDocs).
	Options map[string]string
	// Generator is the workload's generator; the bank's gives the
	// initial balances.
	Generator workload.Generator
	// Run names the run; its tables are named after it.
	Run string
	// Route, if set, is called after each table is created, with the
	// table and its key column, before any row is written: for engines
	// that must be told how to route a table (engines.TableRouter).
	Route func(ctx context.Context, table, key string) error
}

// Connect checks the configuration, creates the workload's tables (and
// the bank's accounts) through the first endpoint, and returns the Opener
// of the workers' clients and a function that releases what Connect holds.
// Setup is idempotent: connecting twice for the same run reuses the
// tables as they are.
func Connect(ctx context.Context, cfg Config) (workload.Opener, func(), error) {
	opts, errs := parseOptions(cfg.Protocol, cfg.Kind, cfg.Options)
	if len(cfg.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: none"))
	}
	if cfg.Generator == nil {
		errs = append(errs, errors.New("generator: none"))
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("sql client: %w", errors.Join(errs...))
	}
	d, _ := dialectFor(cfg.Protocol)
	open, setupDB, err := d.openers(cfg.Endpoints, opts)
	if err != nil {
		return nil, nil, err
	}
	t := tablesFor(cfg.Run)
	db, err := setupDB()
	if err != nil {
		return nil, nil, fmt.Errorf("sql client: %w", err)
	}
	defer db.Close()
	if err := setup(ctx, db, d, t, cfg.Kind, cfg.Generator, cfg.Route); err != nil {
		return nil, nil, fmt.Errorf("sql client: setup on %s: %w", cfg.Endpoints[0].Node, err)
	}
	q := newStatements(d, t)
	workers := func(ctx context.Context, worker int) (workload.Client, error) {
		i := worker % len(cfg.Endpoints)
		s, singles, err := open(ctx, i)
		if err != nil {
			return nil, err
		}
		return &Client{s: s, singles: singles, q: q, node: cfg.Endpoints[i].Node, retries: opts.Retries}, nil
	}
	return workers, func() {}, nil
}

// plain reports whether every way cfg may connect is without TLS, so
// that a rawSession can take the socket over.
func plain(cfg *pgx.ConnConfig) bool {
	if cfg.TLSConfig != nil {
		return false
	}
	for _, f := range cfg.Fallbacks {
		if f.TLSConfig != nil {
			return false
		}
	}
	return true
}

// openers returns what opens worker sessions on the i-th endpoint
// (and whether they run single statements alone), and what opens a
// database/sql handle on the first endpoint for setup.
//
// Sessions connect on their first statement, so that a server that is
// down shows as failed operations in the history.
func (d dialect) openers(eps []engines.Endpoint, opts Options) (func(ctx context.Context, i int) (session, bool, error), func() (*sql.DB, error), error) {
	dsns := make([]string, len(eps))
	for i, ep := range eps {
		var err error
		if dsns[i], err = d.dsn(ep, connectTimeout); err != nil {
			return nil, nil, err
		}
	}
	if d.protocol != engines.ProtocolPostgres {
		level := txLevel(opts.Isolation)
		open := func(_ context.Context, i int) (session, bool, error) {
			db, err := sql.Open(d.driver, dsns[i])
			if err != nil {
				return nil, false, fmt.Errorf("sql client: %w", err)
			}
			// One connection per worker: a worker's operations are
			// one session's, one after another, as a process's are.
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			return &sqlSession{db: db, level: level}, false, nil
		}
		setupDB := func() (*sql.DB, error) { return sql.Open(d.driver, dsns[0]) }
		return open, setupDB, nil
	}
	cfgs := make([]*pgx.ConnConfig, len(eps))
	for i, ep := range eps {
		cfg, err := pgConfig(dsns[i], ep)
		if err != nil {
			return nil, nil, err
		}
		cfgs[i] = cfg
	}
	setupCfg := cfgs[0].Copy()
	for _, cfg := range cfgs {
		// Every transaction of the session, implicit ones included,
		// runs at the client's level, set once in the startup message.
		cfg.RuntimeParams["default_transaction_isolation"] = pgLevel(opts.Isolation)
	}
	open := func(_ context.Context, i int) (session, bool, error) {
		if rawAvailable && plain(cfgs[i]) {
			return newRawSession(cfgs[i]), true, nil
		}
		return &pgSession{cfg: cfgs[i]}, true, nil
	}
	setupDB := func() (*sql.DB, error) { return stdlib.OpenDB(*setupCfg), nil }
	return open, setupDB, nil
}
