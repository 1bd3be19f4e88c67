package cockroachdb

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

// connect opens a SQL session to an endpoint.
func connect(ctx context.Context, ep engines.Endpoint) (*pgx.Conn, error) {
	host, p, err := net.SplitHostPort(ep.Addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database = host, uint16(port), ep.User, ep.Database
	cfg.ConnectTimeout = 5 * time.Second
	cfg.TLSConfig = nil
	if ep.TLS != nil {
		if cfg.TLSConfig, err = ep.TLS.Config(); err != nil {
			return nil, err
		}
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// prepare runs SQL on every region's endpoint and, on the first, makes
// defaultdb a multi-region database with the survival goal when one is
// asked for. It is idempotent.
func (d *deployment) prepare(ctx context.Context) error {
	eps, err := d.endpoints(ctx)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := connect(qctx, ep)
		if err == nil {
			_, err = conn.Exec(qctx, "SELECT 1")
			conn.Close(context.WithoutCancel(ctx))
		}
		cancel()
		if err != nil {
			return fmt.Errorf("region %s: %w", ep.Region, err)
		}
	}
	if d.cfg.Survival == SurviveDefault {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := connect(qctx, eps[0])
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stmts := []string{fmt.Sprintf(`ALTER DATABASE defaultdb SET PRIMARY REGION %q`, d.regions[0].Name)}
	for _, r := range d.regions[1:] {
		stmts = append(stmts, fmt.Sprintf(`ALTER DATABASE defaultdb ADD REGION IF NOT EXISTS %q`, r.Name))
	}
	goal := "ZONE"
	if d.cfg.Survival == SurviveRegion {
		goal = "REGION"
	}
	stmts = append(stmts, "ALTER DATABASE defaultdb SURVIVE "+goal+" FAILURE")
	for _, s := range stmts {
		if _, err := conn.Exec(qctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// Leaders implements engines.Leaders: the leaseholder of every range of
// the workload's database, one Leadership per range (Shard "range N"),
// sorted by range.
func (e *Engine) Leaders(ctx context.Context, c platform.Cluster) ([]engines.Leadership, error) {
	d, err := e.deployment(c)
	if err != nil {
		return nil, err
	}
	return d.leaseholders(ctx)
}

// Leader implements engines.Leader: the leaseholder of the database's
// first range.
func (e *Engine) Leader(ctx context.Context, c platform.Cluster) (engines.Leadership, error) {
	ls, err := e.Leaders(ctx, c)
	if err != nil {
		return engines.Leadership{}, err
	}
	if len(ls) == 0 {
		return engines.Leadership{}, fmt.Errorf("cockroachdb: no range has a leaseholder")
	}
	return ls[0], nil
}

func (d *deployment) leaseholders(ctx context.Context) ([]engines.Leadership, error) {
	eps, err := d.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	var last error
	for _, ep := range eps {
		ls, err := d.leaseholdersVia(ctx, ep)
		if err == nil {
			return ls, nil
		}
		last = err
	}
	return nil, fmt.Errorf("cockroachdb: leaseholders: %w", last)
}

// leaseholdersVia asks one endpoint for the ranges of defaultdb and maps
// each leaseholder's locality (region, zone) to the worker of that zone
// that runs a CockroachDB pod.
func (d *deployment) leaseholdersVia(ctx context.Context, ep engines.Endpoint) ([]engines.Leadership, error) {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := connect(qctx, ep)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(qctx, "SHOW RANGES FROM DATABASE defaultdb WITH DETAILS")
	if err != nil {
		return nil, err
	}
	cols := map[string]int{}
	for i, f := range rows.FieldDescriptions() {
		cols[f.Name] = i
	}
	for _, c := range []string{"range_id", "lease_holder", "lease_holder_locality"} {
		if _, ok := cols[c]; !ok {
			rows.Close()
			return nil, fmt.Errorf("SHOW RANGES has no column %s", c)
		}
	}
	zoneNode, err := d.zoneNodes(qctx)
	if err != nil {
		rows.Close()
		return nil, err
	}
	var out []engines.Leadership
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			rows.Close()
			return nil, err
		}
		rangeID := fmt.Sprint(vals[cols["range_id"]])
		loc := fmt.Sprint(vals[cols["lease_holder_locality"]])
		zone := localityTier(loc, "zone")
		node, ok := zoneNode[zone]
		if !ok {
			continue
		}
		id, _ := strconv.ParseUint(rangeID, 10, 64)
		out = append(out, engines.Leadership{Node: node, Shard: "range " + rangeID, Term: id})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Term < out[j].Term })
	for i := range out {
		out[i].Term = 0
	}
	return out, nil
}

// localityTier reads a tier ("zone") of a locality ("region=r1,zone=a").
func localityTier(loc, tier string) string {
	for _, kv := range strings.Split(loc, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == tier {
			return v
		}
	}
	return ""
}

// zoneNodes maps each zone to the node of a CockroachDB pod in it.
func (d *deployment) zoneNodes(ctx context.Context) (map[string]string, error) {
	nodes, err := d.cl.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range d.regions {
		pods, err := d.kc.Typed.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=cockroachdb"})
		if err != nil {
			return nil, err
		}
		for _, p := range pods.Items {
			if n, ok := platform.Find(nodes, p.Spec.NodeName); ok {
				if _, seen := out[n.Zone]; !seen {
					out[n.Zone] = n.Name
				}
			}
		}
	}
	return out, nil
}
