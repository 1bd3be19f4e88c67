package cloudnativepg

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
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

// option is one engine option: its documentation, default, and setter.
type option struct {
	doc, def string
	set      func(c *config, v string) error
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
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
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*dst(c) = b
		return nil
	}
}

// options lists every option, named after the Cluster fields they set.
func options() map[string]option {
	return map[string]option{
		"operator": {doc: "how the operator is installed: manifest (its release manifest, as the maintainers' install guide does) or chart (cloudnative-pg Helm chart " + ChartVersion + ")", def: InstallManifest,
			set: func(c *config, v string) error { c.Install = v; return oneOf(v, InstallManifest, InstallChart) }},
		"operator-source": {doc: "where the manifest (URL or file) or chart (repository URL, oci:// reference or directory) comes from", def: ManifestURL + " or " + ChartRepo,
			set: func(c *config, v string) error { c.Source = v; return nil }},
		"operator-on-control-plane": {doc: "run the operator on the control-plane node, which faults spare: a single operator replica on a node a fault takes down stalls failover until it is rescheduled (about 6 minutes instead of 1)", def: "false",
			set: boolean(func(c *config) *bool { return &c.OperatorOnControlPlane })},
		"synchronous": {doc: "replication: any (quorum), first (priority) or off (asynchronous: acknowledged writes can be lost on failover)", def: "any",
			set: func(c *config, v string) error { c.Synchronous = v; return oneOf(v, "any", "first", "off") }},
		"sync-number": {doc: "standbys that must acknowledge each commit (postgresql.synchronous.number)", def: "1",
			set: func(c *config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return fmt.Errorf("%q is not a positive integer", v)
				}
				c.SyncNumber = n
				return nil
			}},
		"data-durability": {doc: "required: writes stop when too few standbys acknowledge; preferred: they go on asynchronously (postgresql.synchronous.dataDurability)", def: "required",
			set: func(c *config, v string) error { c.DataDurability = v; return oneOf(v, "required", "preferred") }},
		"failover-quorum": {doc: "promote only a standby a quorum agrees holds every synchronous commit (postgresql.synchronous.failoverQuorum)", def: "true",
			set: boolean(func(c *config) *bool { return &c.FailoverQuorum })},
		"failover-delay": {doc: "seconds the operator waits before failing over from an unhealthy primary (failoverDelay)", def: "0",
			set: func(c *config, v string) error { return seconds(&c.FailoverDelay, 0)(c, v) }},
		"switchover-delay": {doc: "seconds a primary gets to shut down cleanly on failover before it is stopped (switchoverDelay): RPO against RTO", def: "3600",
			set: func(c *config, v string) error { return seconds(&c.SwitchoverDelay, 0)(c, v) }},
		"lease-duration": {doc: "seconds the primary's Kubernetes Lease stays valid; after an abrupt loss a standby waits this long before promoting (primaryLease.leaseDurationSeconds)", def: "15",
			set: func(c *config, v string) error { return seconds(&c.LeaseDuration, 2)(c, v) }},
		"lease-renew-deadline": {doc: "seconds the primary retries renewing its lease before it stops (primaryLease.renewDeadlineSeconds); less than lease-duration", def: "10",
			set: func(c *config, v string) error { return seconds(&c.LeaseRenewDeadline, 1)(c, v) }},
		"cpu":           {doc: "each instance's CPU request and limit (equal: Guaranteed QoS)", def: "500m", set: func(c *config, v string) error { return quantity(&c.CPU)(c, v) }},
		"memory":        {doc: "each instance's memory request and limit (equal: Guaranteed QoS)", def: "512Mi", set: func(c *config, v string) error { return quantity(&c.Memory)(c, v) }},
		"storage":       {doc: "each instance's volume size", def: "1Gi", set: func(c *config, v string) error { return quantity(&c.Storage)(c, v) }},
		"storage-class": {doc: "each instance's storage class (default: the cluster's default class)", def: "", set: func(c *config, v string) error { c.StorageClass = v; return nil }},
		"anti-affinity": {doc: "required: at most one instance per zone (topology.kubernetes.io/zone); preferred: spread when possible", def: "required",
			set: func(c *config, v string) error { c.AntiAffinity = v; return oneOf(v, "required", "preferred") }},
	}
}

// parseOptions turns a spec's options into a config, returning every
// problem, each naming its field.
func parseOptions(opts map[string]string) (config, []error) {
	c := defaultConfig()
	known := options()
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		o, ok := known[k]
		if !ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: unknown option (known: %s)", k, strings.Join(optionNames(known), ", ")))
			continue
		}
		if err := o.set(&c, strings.TrimSpace(opts[k])); err != nil {
			errs = append(errs, fmt.Errorf("engine.options.%s: %w", k, err))
		}
	}
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

func optionNames(m map[string]option) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
