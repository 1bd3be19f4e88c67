package cockroachdb

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/faultline-dev/faultline/engines/internal/option"
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

func parseBool(dst *bool, v string) (err error) {
	*dst, err = option.Bool(v)
	return err
}

func parseQuantity(dst *resource.Quantity, v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		return fmt.Errorf("%q is not a positive quantity (like 1, 500m, 2Gi)", v)
	}
	*dst = q
	return nil
}

func options() option.Table[config] {
	return option.Table[config]{
		"tls": {Doc: "secure mode: the database chart's self-signer makes the CA, node and client certificates, and clients connect as root with the client certificate; false runs insecure (tests)", Default: "false",
			Set: func(c *config, v string) error { return parseBool(&c.TLS, v) }},
		"survival": {Doc: "the survival goal of the workload's database: default (no multi-region database), zone (SURVIVE ZONE FAILURE) or region (SURVIVE REGION FAILURE, needs three regions); zone and region make it a multi-region database with every topology region added", Default: SurviveDefault,
			Set: func(c *config, v string) error {
				c.Survival = v
				if v != SurviveDefault && v != SurviveZone && v != SurviveRegion {
					return fmt.Errorf("%q is not default, zone or region", v)
				}
				return nil
			}},
		"operator-chart": {Doc: "the operator chart's source: a repository URL (" + OperatorChartRepo + "), an oci:// reference or a directory", Default: "the charts module in the Go module cache",
			Set: func(c *config, v string) error { c.OperatorChart = v; return nil }},
		"database-chart": {Doc: "the database chart's source: an oci:// reference (" + DatabaseOCI + "), a repository URL or a directory", Default: "the charts module in the Go module cache",
			Set: func(c *config, v string) error { c.DatabaseChart = v; return nil }},
		"operator-on-control-plane": {Doc: "run the operators on the control-plane node, which faults spare", Default: "false",
			Set: func(c *config, v string) error { return parseBool(&c.OperatorOnControlPlane, v) }},
		"cpu":     {Doc: "each node's CPU request and limit", Default: "1", Set: func(c *config, v string) error { return parseQuantity(&c.CPU, v) }},
		"memory":  {Doc: "each node's memory request and limit", Default: "2Gi", Set: func(c *config, v string) error { return parseQuantity(&c.Memory, v) }},
		"storage": {Doc: "each node's volume size", Default: "2Gi", Set: func(c *config, v string) error { return parseQuantity(&c.Storage, v) }},
	}
}

func parseOptions(opts map[string]string) (config, []error) {
	c := defaultConfig()
	return c, options().Parse(&c, opts)
}
