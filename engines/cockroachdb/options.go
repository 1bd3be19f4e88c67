package cockroachdb

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Survival goals (option survival).
const (
	SurviveDefault = "default"
	SurviveZone    = "zone"
	SurviveRegion  = "region"
)

// config is what the engine's options set.
type config struct {
	TLS                    bool
	Survival               string
	OperatorChart          string
	DatabaseChart          string
	OperatorOnControlPlane bool
	CPU, Memory, Storage   resource.Quantity
}

func defaultConfig() config {
	return config{
		Survival: SurviveDefault,
		CPU:      resource.MustParse("1"),
		Memory:   resource.MustParse("2Gi"),
		Storage:  resource.MustParse("2Gi"),
	}
}

type option struct {
	doc, def string
	set      func(c *config, v string) error
}

func parseBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*dst = b
	return nil
}

func parseQuantity(dst *resource.Quantity, v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		return fmt.Errorf("%q is not a positive quantity (like 1, 500m, 2Gi)", v)
	}
	*dst = q
	return nil
}

func options() map[string]option {
	return map[string]option{
		"tls": {doc: "secure mode: the database chart's self-signer makes the CA, node and client certificates, and clients connect as root with the client certificate; false runs insecure (tests)", def: "false",
			set: func(c *config, v string) error { return parseBool(&c.TLS, v) }},
		"survival": {doc: "the survival goal of the workload's database: default (no multi-region database), zone (SURVIVE ZONE FAILURE) or region (SURVIVE REGION FAILURE, needs three regions); zone and region make it a multi-region database with every topology region added", def: SurviveDefault,
			set: func(c *config, v string) error {
				c.Survival = v
				if v != SurviveDefault && v != SurviveZone && v != SurviveRegion {
					return fmt.Errorf("%q is not default, zone or region", v)
				}
				return nil
			}},
		"operator-chart": {doc: "the operator chart's source: a repository URL (" + OperatorChartRepo + "), an oci:// reference or a directory", def: "the charts module in the Go module cache",
			set: func(c *config, v string) error { c.OperatorChart = v; return nil }},
		"database-chart": {doc: "the database chart's source: an oci:// reference (" + DatabaseOCI + "), a repository URL or a directory", def: "the charts module in the Go module cache",
			set: func(c *config, v string) error { c.DatabaseChart = v; return nil }},
		"operator-on-control-plane": {doc: "run the operators on the control-plane node, which faults spare", def: "false",
			set: func(c *config, v string) error { return parseBool(&c.OperatorOnControlPlane, v) }},
		"cpu":     {doc: "each node's CPU request and limit", def: "1", set: func(c *config, v string) error { return parseQuantity(&c.CPU, v) }},
		"memory":  {doc: "each node's memory request and limit", def: "2Gi", set: func(c *config, v string) error { return parseQuantity(&c.Memory, v) }},
		"storage": {doc: "each node's volume size", def: "2Gi", set: func(c *config, v string) error { return parseQuantity(&c.Storage, v) }},
	}
}

func parseOptions(opts map[string]string) (config, []error) {
	c := defaultConfig()
	known := options()
	var names []string
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		o, ok := known[k]
		if !ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: unknown option (known: %s)", k, strings.Join(names, ", ")))
			continue
		}
		if err := o.set(&c, strings.TrimSpace(opts[k])); err != nil {
			errs = append(errs, fmt.Errorf("engine.options.%s: %w", k, err))
		}
	}
	return c, errs
}
