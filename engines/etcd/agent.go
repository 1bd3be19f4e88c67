package etcd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/server/v3/embed"
)

// AgentName is the agent name under which faultline binaries (and the test
// binaries of packages that start local etcd clusters) register Agent.
const AgentName = "etcd"

// Agent runs one etcd member, an embedded etcd server of the version
// faultline was built with, until ctx is cancelled (SIGTERM), when it shuts
// down cleanly. Its flags are etcd's own: --name, --data-dir,
// --listen-client-urls, --advertise-client-urls, --listen-peer-urls,
// --initial-advertise-peer-urls, --initial-cluster,
// --initial-cluster-token, --snapshot-count, --heartbeat-interval and
// --election-timeout (milliseconds), --quota-backend-bytes,
// --unsafe-no-fsync, --pre-vote and --log-level.
//
// A member whose data directory already holds a write-ahead log restarts
// from it and rejoins its cluster; the initial-cluster flags only matter
// the first time.
func Agent(ctx context.Context, args []string) error {
	cfg, err := agentConfig(args)
	if err != nil {
		return fmt.Errorf("etcd agent: %w", err)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("etcd agent: start: %w", err)
	}
	defer e.Close()
	select {
	case <-ctx.Done():
		return nil
	case err := <-e.Err():
		return fmt.Errorf("etcd agent: %w", err)
	case <-e.Server.StopNotify():
		return errors.New("etcd agent: the server stopped on its own (removed from the cluster?)")
	}
}

// agentConfig parses the agent's flags into an embedded server's config.
func agentConfig(args []string) (*embed.Config, error) {
	cfg := embed.NewConfig()
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	var lcurls, acurls, lpurls, apurls string
	fs.StringVar(&cfg.Name, "name", "", "member name")
	fs.StringVar(&cfg.Dir, "data-dir", "", "data directory")
	fs.StringVar(&lcurls, "listen-client-urls", "", "URLs to serve clients on")
	fs.StringVar(&acurls, "advertise-client-urls", "", "client URLs to advertise")
	fs.StringVar(&lpurls, "listen-peer-urls", "", "URLs to serve peers on")
	fs.StringVar(&apurls, "initial-advertise-peer-urls", "", "peer URLs to advertise")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "NAME=PEER-URL,… of every initial member")
	fs.StringVar(&cfg.InitialClusterToken, "initial-cluster-token", "", "token that makes the cluster's identity unique")
	fs.Uint64Var(&cfg.SnapshotCount, "snapshot-count", cfg.SnapshotCount, "transactions between snapshots")
	fs.UintVar(&cfg.TickMs, "heartbeat-interval", cfg.TickMs, "heartbeat interval in ms")
	fs.UintVar(&cfg.ElectionMs, "election-timeout", cfg.ElectionMs, "election timeout in ms")
	fs.Int64Var(&cfg.QuotaBackendBytes, "quota-backend-bytes", cfg.QuotaBackendBytes, "backend quota in bytes")
	fs.BoolVar(&cfg.UnsafeNoFsync, "unsafe-no-fsync", false, "skip fsync")
	fs.BoolVar(&cfg.PreVote, "pre-vote", cfg.PreVote, "raft pre-vote")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		val  string
		dst  *[]url.URL
	}{
		{"listen-client-urls", lcurls, &cfg.ListenClientUrls},
		{"advertise-client-urls", acurls, &cfg.AdvertiseClientUrls},
		{"listen-peer-urls", lpurls, &cfg.ListenPeerUrls},
		{"initial-advertise-peer-urls", apurls, &cfg.AdvertisePeerUrls},
	} {
		us, err := parseURLs(f.val)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", f.name, err)
		}
		*f.dst = us
	}
	if cfg.Name == "" || cfg.Dir == "" || cfg.InitialCluster == "" {
		return nil, errors.New("--name, --data-dir and --initial-cluster are required")
	}
	cfg.ClusterState = embed.ClusterStateFlagNew
	if hasWAL(cfg.Dir) {
		// etcd restarts from the log whatever the flag says; saying so
		// keeps the member's log honest about what happened.
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.LogOutputs = []string{"stderr"}
	// Nothing here scrapes metrics; no extra listener.
	cfg.ListenMetricsUrls = nil
	return cfg, nil
}

func parseURLs(s string) ([]url.URL, error) {
	if s == "" {
		return nil, errors.New("required")
	}
	var out []url.URL
	for _, p := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, nil
}

// hasWAL reports whether dir holds a member's write-ahead log.
func hasWAL(dir string) bool {
	ents, err := os.ReadDir(filepath.Join(dir, "member", "wal"))
	return err == nil && len(ents) > 0
}
