package etcd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/engines/internal/option"
)

// config is the member configuration the engine's options set, shared by
// every member of a deployment.
type config struct {
	SnapshotCount     uint64
	HeartbeatInterval time.Duration
	ElectionTimeout   time.Duration
	QuotaBackendBytes int64
	UnsafeNoFsync     bool
	PreVote           bool
	LogLevel          string
	// Deploy is how etcd is deployed on Kubernetes: DeployStatefulSet
	// (faultline's own manifests) or DeployOperator (etcd-operator).
	Deploy string
	// OperatorSource overrides where etcd-operator's release manifest
	// comes from (a URL or a file).
	OperatorSource string
}

// Kubernetes deployment methods (option deploy).
const (
	DeployStatefulSet = "statefulset"
	DeployOperator    = "operator"
)

// defaultConfig is etcd's own defaults, the configuration of a member
// whose scenario sets no options.
func defaultConfig() config {
	return config{
		SnapshotCount:     10000,
		HeartbeatInterval: 100 * time.Millisecond,
		ElectionTimeout:   time.Second,
		QuotaBackendBytes: 2 << 30,
		PreVote:           true,
		LogLevel:          "info",
		Deploy:            DeployStatefulSet,
	}
}

// options lists every option the etcd engine accepts, named as etcd's own
// flags are.
var options = option.Table[config]{
	"snapshot-count": {
		Doc:     "committed transactions between snapshots of the raft log (etcd --snapshot-count); lower values make followers catch up from snapshots sooner",
		Default: "10000",
		Set: func(c *config, v string) error {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				return fmt.Errorf("%q is not a positive integer", v)
			}
			c.SnapshotCount = n
			return nil
		},
	},
	"heartbeat-interval": {
		Doc:     "how often the leader heartbeats its followers (etcd --heartbeat-interval), as a duration",
		Default: "100ms",
		Set: func(c *config, v string) error {
			d, err := millis(v)
			c.HeartbeatInterval = d
			return err
		},
	},
	"election-timeout": {
		Doc:     "how long a follower waits without a heartbeat before it calls an election (etcd --election-timeout), as a duration; at least 5 × heartbeat-interval and at most 50s. It bounds how fast etcd fails over",
		Default: "1s",
		Set: func(c *config, v string) error {
			d, err := millis(v)
			c.ElectionTimeout = d
			return err
		},
	},
	"quota-backend-bytes": {
		Doc:     "size at which the backend raises the NOSPACE alarm and refuses writes (etcd --quota-backend-bytes), in bytes or with a KiB/MiB/GiB suffix",
		Default: "2GiB",
		Set: func(c *config, v string) error {
			n, err := bytesize(v)
			c.QuotaBackendBytes = n
			return err
		},
	},
	"unsafe-no-fsync": {
		Doc:     "skip fsync of the raft log and backend (etcd --unsafe-no-fsync): faster on slow disks, but a killed member may lose acknowledged writes; for experiments only",
		Default: "false",
		Set: func(c *config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.UnsafeNoFsync = b
			return nil
		},
	},
	"pre-vote": {
		Doc:     "run raft's pre-vote phase before elections (etcd --pre-vote), so that a member rejoining after a partition does not depose a healthy leader",
		Default: "true",
		Set: func(c *config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.PreVote = b
			return nil
		},
	},
	"deploy": {
		Doc:     "how etcd is deployed on Kubernetes: statefulset (faultline's manifests: one member per node, required spread over zones) or operator (etcd-operator " + OperatorVersion + ", an EtcdCluster; v0.2.0 cannot place members by zone, replace failed members or report status)",
		Default: DeployStatefulSet,
		Set: func(c *config, v string) error {
			if v != DeployStatefulSet && v != DeployOperator {
				return fmt.Errorf("%q is not statefulset or operator", v)
			}
			c.Deploy = v
			return nil
		},
	},
	"operator-source": {
		Doc:     "where etcd-operator's release manifest comes from, with deploy: operator (a URL or a file)",
		Default: OperatorManifestURL,
		Set:     func(c *config, v string) error { c.OperatorSource = v; return nil },
	},
	"log-level": {
		Doc:     "members' log level (debug, info, warn, error); member logs land in each node's log file",
		Default: "info",
		Set: func(c *config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("%q is not one of debug, info, warn, error", v)
		},
	},
}

// parseOptions turns a spec's options into a config, returning every
// problem, each naming its field.
func parseOptions(opts map[string]string) (config, []error) {
	c := defaultConfig()
	errs := options.Parse(&c, opts)
	if len(errs) > 0 {
		return c, errs
	}
	// etcd's own rules (embed.Config.Validate), checked before anything
	// starts rather than in a member's log.
	if c.ElectionTimeout < 5*c.HeartbeatInterval {
		errs = append(errs, fmt.Errorf("engine.options.election-timeout: %s must be at least 5 × heartbeat-interval (%s)", c.ElectionTimeout, c.HeartbeatInterval))
	}
	if c.ElectionTimeout > 50*time.Second {
		errs = append(errs, fmt.Errorf("engine.options.election-timeout: %s is longer than etcd's limit of 50s", c.ElectionTimeout))
	}
	return c, errs
}

// millis parses a duration of at least a millisecond, etcd's unit.
func millis(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like 100ms or 1s)", v)
	}
	if d < time.Millisecond || d%time.Millisecond != 0 {
		return 0, fmt.Errorf("%s is not a positive whole number of milliseconds", d)
	}
	return d, nil
}

// bytesize parses "1073741824", "512MiB" or "2GiB".
func bytesize(v string) (int64, error) {
	mult := int64(1)
	num := v
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(v, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (like 2GiB or 536870912)", v)
	}
	return n * mult, nil
}

// args renders the config as the etcd agent's flags.
func (c config) args() []string {
	return []string{
		"--snapshot-count=" + strconv.FormatUint(c.SnapshotCount, 10),
		"--heartbeat-interval=" + strconv.FormatInt(c.HeartbeatInterval.Milliseconds(), 10),
		"--election-timeout=" + strconv.FormatInt(c.ElectionTimeout.Milliseconds(), 10),
		"--quota-backend-bytes=" + strconv.FormatInt(c.QuotaBackendBytes, 10),
		"--unsafe-no-fsync=" + strconv.FormatBool(c.UnsafeNoFsync),
		"--pre-vote=" + strconv.FormatBool(c.PreVote),
		"--log-level=" + c.LogLevel,
	}
}
