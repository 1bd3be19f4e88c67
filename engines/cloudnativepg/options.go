package cloudnativepg

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/faultline-dev/faultline/engines/internal/option"
)

// Operator install methods (option operator).
const (
	InstallManifest = "manifest"
	InstallChart    = "chart"
)

// config is what the engine's options set.
type config struct {
	// Install is InstallManifest or InstallChart; Source overrides where
	// the manifest or chart comes from.
	Install, Source string
	// OperatorOnControlPlane pins the operator to the control plane,
	// away from the nodes faults take down.
	OperatorOnControlPlane bool
	// Synchronous is off (asynchronous replication), any or first.
	Synchronous    string
	SyncNumber     int
	DataDurability string
	FailoverQuorum bool
	// FailoverDelay and SwitchoverDelay are in seconds.
	FailoverDelay, SwitchoverDelay int32
	// LeaseDuration and LeaseRenewDeadline are the primary lease's, in
	// seconds.
	LeaseDuration, LeaseRenewDeadline int32
	// CPU and Memory are each instance's requests and limits (equal:
	// Guaranteed QoS).
	CPU, Memory resource.Quantity
	// Storage is each instance's volume; StorageClass its class.
	Storage      resource.Quantity
	StorageClass string
	// AntiAffinity is required or preferred, over zones.
	AntiAffinity string
}

func defaultConfig() config {
	return config{
		Install:            InstallManifest,
		Synchronous:        "any",
		SyncNumber:         1,
		DataDurability:     "required",
		FailoverQuorum:     true,
		SwitchoverDelay:    3600,
		LeaseDuration:      15,
		LeaseRenewDeadline: 10,
		CPU:                resource.MustParse("500m"),
		Memory:             resource.MustParse("512Mi"),
		Storage:            resource.MustParse("1Gi"),
		AntiAffinity:       "required",
	}
}

func seconds(dst *int32, min int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("%q is not a whole number of seconds ≥ %d", v, min)
		}
		*dst = int32(n)
		return nil
	}
}

func quantity(dst *resource.Quantity) func(*config, string) error {
	return func(c *config, v string) error {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("%q is not a positive quantity (like 500m, 512Mi, 1Gi)", v)
		}
		*dst = q
		return nil
	}
}

func boolean(dst func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) (err error) {
		*dst(c), err = option.Bool(v)
		return err
	}
}

// options lists every option, named after the Cluster fields they set.
func options() option.Table[config] {
	return option.Table[config]{
		"operator": {Doc: "how the operator is installed: manifest (its release manifest, as the maintainers' install guide does) or chart (cloudnative-pg Helm chart " + ChartVersion + ")", Default: InstallManifest,
			Set: func(c *config, v string) error { c.Install = v; return option.OneOf(v, InstallManifest, InstallChart) }},
		"operator-source": {Doc: "where the manifest (URL or file) or chart (repository URL, oci:// reference or directory) comes from", Default: ManifestURL + " or " + ChartRepo,
			Set: func(c *config, v string) error { c.Source = v; return nil }},
		"operator-on-control-plane": {Doc: "run the operator on the control-plane node, which faults spare: a single operator replica on a node a fault takes down stalls failover until it is rescheduled (about 6 minutes instead of 1)", Default: "false",
			Set: boolean(func(c *config) *bool { return &c.OperatorOnControlPlane })},
		"synchronous": {Doc: "replication: any (quorum), first (priority) or off (asynchronous: acknowledged writes can be lost on failover)", Default: "any",
			Set: func(c *config, v string) error { c.Synchronous = v; return option.OneOf(v, "any", "first", "off") }},
		"sync-number": {Doc: "standbys that must acknowledge each commit (postgresql.synchronous.number)", Default: "1",
			Set: func(c *config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return fmt.Errorf("%q is not a positive integer", v)
				}
				c.SyncNumber = n
				return nil
			}},
		"data-durability": {Doc: "required: writes stop when too few standbys acknowledge; preferred: they go on asynchronously (postgresql.synchronous.dataDurability)", Default: "required",
			Set: func(c *config, v string) error { c.DataDurability = v; return option.OneOf(v, "required", "preferred") }},
		"failover-quorum": {Doc: "promote only a standby a quorum agrees holds every synchronous commit (postgresql.synchronous.failoverQuorum)", Default: "true",
			Set: boolean(func(c *config) *bool { return &c.FailoverQuorum })},
		"failover-delay": {Doc: "seconds the operator waits before failing over from an unhealthy primary (failoverDelay)", Default: "0",
			Set: func(c *config, v string) error { return seconds(&c.FailoverDelay, 0)(c, v) }},
		"switchover-delay": {Doc: "seconds a primary gets to shut down cleanly on failover before it is stopped (switchoverDelay): RPO against RTO", Default: "3600",
			Set: func(c *config, v string) error { return seconds(&c.SwitchoverDelay, 0)(c, v) }},
		"lease-duration": {Doc: "seconds the primary's Kubernetes Lease stays valid; after an abrupt loss a standby waits this long before promoting (primaryLease.leaseDurationSeconds)", Default: "15",
			Set: func(c *config, v string) error { return seconds(&c.LeaseDuration, 2)(c, v) }},
		"lease-renew-deadline": {Doc: "seconds the primary retries renewing its lease before it stops (primaryLease.renewDeadlineSeconds); less than lease-duration", Default: "10",
			Set: func(c *config, v string) error { return seconds(&c.LeaseRenewDeadline, 1)(c, v) }},
		"cpu":           {Doc: "each instance's CPU request and limit (equal: Guaranteed QoS)", Default: "500m", Set: func(c *config, v string) error { return quantity(&c.CPU)(c, v) }},
		"memory":        {Doc: "each instance's memory request and limit (equal: Guaranteed QoS)", Default: "512Mi", Set: func(c *config, v string) error { return quantity(&c.Memory)(c, v) }},
		"storage":       {Doc: "each instance's volume size", Default: "1Gi", Set: func(c *config, v string) error { return quantity(&c.Storage)(c, v) }},
		"storage-class": {Doc: "each instance's storage class (default: the cluster's default class)", Default: "", Set: func(c *config, v string) error { c.StorageClass = v; return nil }},
		"anti-affinity": {Doc: "required: at most one instance per zone (topology.kubernetes.io/zone); preferred: spread when possible", Default: "required",
			Set: func(c *config, v string) error { c.AntiAffinity = v; return option.OneOf(v, "required", "preferred") }},
	}
}

// parseOptions turns a spec's options into a config, returning every
// problem, each naming its field.
func parseOptions(opts map[string]string) (config, []error) {
	c := defaultConfig()
	errs := options().Parse(&c, opts)
	if len(errs) > 0 {
		return c, errs
	}
	if c.LeaseRenewDeadline >= c.LeaseDuration {
		errs = append(errs, fmt.Errorf("engine.options.lease-renew-deadline: %ds must be less than lease-duration (%ds)", c.LeaseRenewDeadline, c.LeaseDuration))
	}
	if c.Synchronous == "off" {
		for _, k := range []string{"sync-number", "data-durability", "failover-quorum"} {
			if _, set := opts[k]; set {
				errs = append(errs, fmt.Errorf("engine.options.%s: applies to synchronous replication, and synchronous is off", k))
			}
		}
	}
	return c, errs
}
