package vitess

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/platform"
)

// Process names on a node. A tablet node runs ProcMySQL and ProcTablet;
// the control-plane node runs the topology server, vtctld, VTOrc and one
// vtgate per cell ("vtgate-CELL").
const (
	ProcMySQL  = "mysqld"
	ProcTablet = "vttablet"
	procTopo   = "topo"
	procVtctld = "vtctld"
	procVTOrc  = "vtorc"
)

// portAllocator is implemented by clusters that hand out stable ports per
// node (the local platform).
type portAllocator interface {
	PortFor(node, name string) (int, error)
}

// deployment is Vitess on one local cluster.
type deployment struct {
	cfg    config
	plan   plan
	dist   dist.Dist
	server serverBinary
	cp     platform.Node
	ctl    vtctl
	// bin maps each program node processes run to the path they run it
	// at (platform.FileSharer).
	bin   map[string]string
	gates []gate // one per cell, in cell order

	mu   sync.Mutex
	last []primary // the primaries last read, for Leaders during a topo outage
	// routed maps each table of a sharded keyspace to its key column:
	// the VSchema's tables.
	routed map[string]string
	// kube is set for a deployment on Kubernetes without the operator
	// (statefulset.go): pods on the nodes' networks rather than processes.
	kube *kubeState
}

// gate is a vtgate: the MySQL endpoint of one cell.
type gate struct {
	Cell  cell
	MySQL string // host:port
}

// topoArgs are the flags that point a Vitess program at the topology.
func topoArgs(etcdAddr string) []string {
	return []string{
		"--topo-implementation=etcd2",
		"--topo-global-server-address=" + etcdAddr,
		"--topo-global-root=/vitess/global",
	}
}

// logArgs are the logging flags of every Vitess program: v24 logs
// structured JSON to standard error by default, which the platform
// collects in the process's log file.
var logArgs = []string{"--log-level=info"}

func port(c platform.Cluster, node, name string) (int, error) {
	pa, ok := c.(portAllocator)
	if !ok {
		return 0, fmt.Errorf("cluster %s hands out no ports", c.Name())
	}
	return pa.PortFor(node, name)
}

func hostPort(n platform.Node, p int) string { return net.JoinHostPort(n.Addr, strconv.Itoa(p)) }

// deployLocal starts everything: the topology server, vtctld, the tablets
// (mysqld and vttablet on every worker), the initial primaries, VTOrc and
// the vtgates.
func deployLocal(ctx context.Context, c platform.Cluster, host platform.ProcessHost, cfg config, d dist.Dist, server serverBinary, log func(string, ...any)) (*deployment, error) {
	cph, ok := c.(platform.ControlPlaneHost)
	if !ok {
		return nil, fmt.Errorf("cluster %s cannot give the topology server and vtctld a control-plane node", c.Name())
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	p, err := newPlan(platform.Workers(nodes), cfg.Shards)
	if err != nil {
		return nil, err
	}
	if err := p.check(cfg.Durability); err != nil {
		return nil, err
	}
	cp, err := cph.ControlPlane(ctx)
	if err != nil {
		return nil, err
	}
	dep := &deployment{cfg: cfg, plan: p, dist: d, server: server, cp: cp, bin: map[string]string{}}
	for _, prog := range []string{"mysqlctl", "vtctld", "vtgate", "vtorc", "vttablet"} {
		dep.bin[prog] = d.Path(prog)
		if fs, ok := c.(platform.FileSharer); ok {
			if dep.bin[prog], err = fs.Share(d.Path(prog)); err != nil {
				return nil, err
			}
		}
	}
	start := time.Now()
	step := func(format string, args ...any) {
		log("vitess: %s: "+format, append([]any{time.Since(start).Round(100 * time.Millisecond)}, args...)...)
	}

	// The topology server: an etcd member on the control plane.
	etcdAddr, err := dep.startTopo(ctx, c, host)
	if err != nil {
		return nil, fmt.Errorf("topology server: %w", err)
	}
	topo := topoArgs(etcdAddr)
	step("topology server (etcd) on %s", etcdAddr)
	internal := vtctl{path: d.Path("vtctldclient"), server: "internal", topo: topo}
	for _, cl := range p.Cells {
		if _, err := internal.run(ctx, "AddCellInfo", "--root=/vitess/"+cl.Name, "--server-address="+etcdAddr, cl.Name); err != nil && !strings.Contains(err.Error(), "already exists") {
			return nil, fmt.Errorf("add cell %s: %w", cl.Name, err)
		}
	}
	grpc, err := dep.startVtctld(ctx, c, host, topo)
	if err != nil {
		return nil, fmt.Errorf("vtctld: %w", err)
	}
	dep.ctl = vtctl{path: d.Path("vtctldclient"), server: grpc}
	step("cells %s and vtctld on %s", strings.Join(p.cellNames(), ", "), grpc)
	if _, err := dep.ctl.run(ctx, "CreateKeyspace", "--durability-policy="+cfg.Durability, Keyspace); err != nil && !strings.Contains(err.Error(), "already exists") {
		return nil, fmt.Errorf("create keyspace %s: %w", Keyspace, err)
	}

	g, gctx := errgroup.WithContext(ctx)
	for _, t := range p.Tablets {
		g.Go(func() error { return dep.startTablet(gctx, c, host, topo, t) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	step("%d tablets (mysqld %s and vttablet)", len(p.Tablets), server.Flavor)
	if err := dep.initPrimaries(ctx); err != nil {
		return nil, err
	}
	step("primaries of %s elected", strings.Join(p.Shards, ", "))
	if cfg.Shards > 1 {
		if _, err := dep.ctl.run(ctx, "ApplyVSchema", "--vschema="+shardedVSchema, Keyspace); err != nil {
			return nil, fmt.Errorf("apply the sharded VSchema: %w", err)
		}
	}
	if err := dep.startVTOrc(ctx, c, host, topo); err != nil {
		return nil, fmt.Errorf("vtorc: %w", err)
	}
	dep.gates = make([]gate, len(p.Cells))
	g, gctx = errgroup.WithContext(ctx)
	for i, cl := range p.Cells {
		g.Go(func() error {
			gt, err := dep.startGate(gctx, c, host, topo, cl)
			if err != nil {
				return fmt.Errorf("vtgate of cell %s: %w", cl.Name, err)
			}
			dep.gates[i] = gt
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	step("VTOrc and %d vtgates", len(dep.gates))
	return dep, nil
}

// shardedVSchema is a sharded keyspace's VSchema before any table: tables
// are added as the workload creates them (RouteTable), each routed by
// the xxhash of its key column, which takes any column type.
const shardedVSchema = `{"sharded": true, "vindexes": {"xxhash": {"type": "xxhash"}}}`

// vschema is a sharded keyspace's VSchema with tables routed by key.
func vschema(tables map[string]string) ([]byte, error) {
	type colVindex struct {
		Column string `json:"column"`
		Name   string `json:"name"`
	}
	type table struct {
		ColumnVindexes []colVindex `json:"column_vindexes"`
	}
	v := struct {
		Sharded  bool                         `json:"sharded"`
		Vindexes map[string]map[string]string `json:"vindexes"`
		Tables   map[string]table             `json:"tables"`
	}{Sharded: true, Vindexes: map[string]map[string]string{"xxhash": {"type": "xxhash"}}, Tables: map[string]table{}}
	for name, key := range tables {
		v.Tables[name] = table{ColumnVindexes: []colVindex{{Column: key, Name: "xxhash"}}}
	}
	return json.Marshal(v)
}

// routeTable adds table to a sharded keyspace's VSchema, routed by key,
// and waits until every vtgate knows it. An unsharded keyspace needs
// nothing.
func (dep *deployment) routeTable(ctx context.Context, table, key string) error {
	if dep.cfg.Shards <= 1 {
		return nil
	}
	dep.mu.Lock()
	if dep.routed == nil {
		dep.routed = map[string]string{}
	}
	dep.routed[table] = key
	b, err := vschema(dep.routed)
	dep.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := dep.ctl.run(ctx, "ApplyVSchema", "--vschema="+string(b), Keyspace); err != nil {
		return fmt.Errorf("vitess: apply the VSchema: %w", err)
	}
	for _, g := range dep.gates {
		if err := waitVSchemaTable(ctx, g.MySQL, table); err != nil {
			return fmt.Errorf("vitess: vtgate of cell %s: %w", g.Cell.Name, err)
		}
	}
	return nil
}

// waitVSchemaTable polls a vtgate until its VSchema for the keyspace
// lists table.
func waitVSchemaTable(ctx context.Context, addr, table string) error {
	db, err := sql.Open("mysql", dsn(addr, Keyspace))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		rows, err := db.QueryContext(ctx, "SHOW VSCHEMA TABLES")
		if err == nil {
			found := false
			for rows.Next() {
				var name string
				if rows.Scan(&name) == nil && name == table {
					found = true
				}
			}
			rows.Close()
			if found {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s not in its VSchema: %w (last error: %v)", table, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (dep *deployment) startTopo(ctx context.Context, c platform.Cluster, host platform.ProcessHost) (string, error) {
	client, err := port(c, dep.cp.Name, "topo-client")
	if err != nil {
		return "", err
	}
	peer, err := port(c, dep.cp.Name, "topo-peer")
	if err != nil {
		return "", err
	}
	clientAddr, peerAddr := hostPort(dep.cp, client), hostPort(dep.cp, peer)
	err = host.Run(ctx, dep.cp.Name, platform.Process{
		Name:  procTopo,
		Agent: etcd.AgentName,
		Args:  topoServerArgs(clientAddr, peerAddr, filepath.Join(host.DataDir(dep.cp.Name), "topo"), "faultline-vitess-"+c.Name()),
		Ready: listening(clientAddr),
	})
	return clientAddr, err
}

func (dep *deployment) startVtctld(ctx context.Context, c platform.Cluster, host platform.ProcessHost, topo []string) (string, error) {
	http, err := port(c, dep.cp.Name, "vtctld-http")
	if err != nil {
		return "", err
	}
	grpc, err := port(c, dep.cp.Name, "vtctld-grpc")
	if err != nil {
		return "", err
	}
	addr := hostPort(dep.cp, grpc)
	args := vtctldArgs(topo, dep.plan.Cells[0].Name, dep.cp.Addr, http, grpc)
	err = host.Run(ctx, dep.cp.Name, platform.Process{
		Name: procVtctld, Path: dep.bin["vtctld"], Args: args,
		Env:   []string{"TMPDIR=" + host.DataDir(dep.cp.Name)},
		Ready: listening(addr),
	})
	return addr, err
}

// startTablet starts a worker's mysqld (initialized by mysqlctl the first
// time) and then its vttablet.
func (dep *deployment) startTablet(ctx context.Context, c platform.Cluster, host platform.ProcessHost, topo []string, t tablet) error {
	n := t.Node
	mysqlPort, err := port(c, n.Name, "mysql")
	if err != nil {
		return err
	}
	httpPort, err := port(c, n.Name, "vttablet-http")
	if err != nil {
		return err
	}
	grpcPort, err := port(c, n.Name, "vttablet-grpc")
	if err != nil {
		return err
	}
	root := host.DataDir(n.Name)
	if err := host.Run(ctx, n.Name, dep.mysqldProcess(root, n, t.UID, mysqlPort)); err != nil {
		return fmt.Errorf("tablet %s: %w", t.Alias(), err)
	}
	args := append([]string{"--tablet-path=" + t.Alias()}, vttabletArgs(topo, n.Addr, t.Shard, httpPort, grpcPort)...)
	err = host.Run(ctx, n.Name, platform.Process{
		Name: ProcTablet, Path: dep.bin["vttablet"], Args: args,
		Env:   []string{"VTDATAROOT=" + root, "TMPDIR=" + root},
		Ready: listening(hostPort(n, grpcPort)),
	})
	if err != nil {
		return fmt.Errorf("tablet %s: %w", t.Alias(), err)
	}
	return nil
}

// mysqldProcess is a tablet's mysqld: a script that, the first time,
// has mysqlctl initialize the instance (my.cnf from Vitess's templates for
// the flavour, the data directory, init_db.sql) and shut it down, and
// then runs the server itself in the foreground, so that the platform's
// signals reach it.
func (dep *deployment) mysqldProcess(root string, n platform.Node, uid uint32, mysqlPort int) platform.Process {
	dir := filepath.Join(root, fmt.Sprintf("vt_%010d", uid))
	done := filepath.Join(dir, ".faultline-initialized")
	extra := filepath.Join(root, "extra.cnf")
	mysqlctl := []string{dep.bin["mysqlctl"], "--tablet-uid=" + strconv.FormatUint(uint64(uid), 10), "--mysql-port=" + strconv.Itoa(mysqlPort)}
	var b strings.Builder
	b.WriteString("set -e\n")
	if dep.server.Identity != "" {
		// mysql_install_db asks who runs it; nodes run as uids
		// without a passwd entry.
		fmt.Fprintf(&b, "if ! getent passwd \"$(id -u)\" >/dev/null; then\n"+
			"\tprintf 'faultline:x:%%s:%%s:faultline:%%s:/bin/false\\n' \"$(id -u)\" \"$(id -g)\" %s > %s\n"+
			"\tprintf 'faultline:x:%%s:\\n' \"$(id -g)\" > %s\n"+
			"\texport LD_PRELOAD=%s NSS_WRAPPER_PASSWD=%s NSS_WRAPPER_GROUP=%s\n"+
			"fi\n",
			quote(root), quote(filepath.Join(root, "passwd")), quote(filepath.Join(root, "group")),
			quote(dep.server.Identity), quote(filepath.Join(root, "passwd")), quote(filepath.Join(root, "group")))
	}
	// MariaDB 10.11 knows slave_net_timeout only; MySQL 8.4 replica_net_timeout.
	netTimeout := "slave_net_timeout"
	if dep.server.Flavor == dist.MySQL {
		netTimeout = "replica_net_timeout"
	}
	fmt.Fprintf(&b, "printf '%%s\\n' %s %s > %s\n", quote("bind-address="+n.Addr), quote(netTimeout+"="+strconv.Itoa(dep.cfg.ReplicaNetTimeout)), quote(extra))
	fmt.Fprintf(&b, "if [ ! -e %s ]; then\n\trm -rf %s\n\t%s init\n\t%s shutdown\n\t: > %s\nfi\n",
		quote(done), quote(dir), join(mysqlctl), join(mysqlctl), quote(done))
	// A server killed without mysqld_safe leaves its socket's lock file
	// behind (MySQL 8), which keeps it from starting again.
	fmt.Fprintf(&b, "rm -f %s\n", quote(filepath.Join(dir, "mysql.sock.lock")))
	fmt.Fprintf(&b, "exec %s --defaults-file=%s --basedir=%s\n", quote(dep.server.Mysqld), quote(filepath.Join(dir, "my.cnf")), quote(dep.server.Root))
	addr := hostPort(n, mysqlPort)
	return platform.Process{
		Name: ProcMySQL,
		Path: "/bin/sh",
		Args: []string{"-c", b.String()},
		Env: []string{
			"VTDATAROOT=" + root, "VT_MYSQL_ROOT=" + dep.server.Root, "EXTRA_MY_CNF=" + extra,
			"TMPDIR=" + root, "LC_ALL=C", "LANG=C",
		},
		Ready: listening(addr),
	}
}

// initPrimaries waits for every tablet to be in the topology and then
// makes each shard's first tablet its primary (PlannedReparentShard).
func (dep *deployment) initPrimaries(ctx context.Context) error {
	for _, s := range dep.plan.Shards {
		ts := dep.plan.shardTablets(s)
		var last error
		for attempt := 0; ; attempt++ {
			_, err := dep.ctl.run(ctx, "PlannedReparentShard", "--new-primary="+ts[0].Alias(), "--wait-replicas-timeout=30s", Keyspace+"/"+s)
			if err == nil {
				break
			}
			last = err
			if attempt >= 10 || ctx.Err() != nil {
				return fmt.Errorf("make %s the primary of shard %s: %w", ts[0].Alias(), s, last)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (dep *deployment) startVTOrc(ctx context.Context, c platform.Cluster, host platform.ProcessHost, topo []string) error {
	http, err := port(c, dep.cp.Name, "vtorc-http")
	if err != nil {
		return err
	}
	args := vtorcArgs(topo, dep.plan.Cells[0].Name, dep.cp.Addr, http, dep.cfg.VTOrc)
	return host.Run(ctx, dep.cp.Name, platform.Process{
		Name: procVTOrc, Path: dep.bin["vtorc"], Args: args,
		Env:   []string{"TMPDIR=" + host.DataDir(dep.cp.Name)},
		Ready: listening(hostPort(dep.cp, http)),
	})
}

func (dep *deployment) startGate(ctx context.Context, c platform.Cluster, host platform.ProcessHost, topo []string, cl cell) (gate, error) {
	ports := map[string]int{}
	for _, k := range []string{"http", "grpc", "mysql"} {
		p, err := port(c, dep.cp.Name, "vtgate-"+cl.Name+"-"+k)
		if err != nil {
			return gate{}, err
		}
		ports[k] = p
	}
	args := vtgateArgs(topo, cl, dep.plan.cellNames(), dep.cp.Addr, gatePorts{HTTP: ports["http"], GRPC: ports["grpc"], MySQL: ports["mysql"]}, dep.cfg)
	gt := gate{Cell: cl, MySQL: hostPort(dep.cp, ports["mysql"])}
	err := host.Run(ctx, dep.cp.Name, platform.Process{
		Name: "vtgate-" + cl.Name, Path: dep.bin["vtgate"], Args: args,
		Env: []string{"TMPDIR=" + host.DataDir(dep.cp.Name)},
		// A MySQL handshake, not a mere connection: the server's own.
		Ready: localdb.Ping("mysql", dsn(gt.MySQL, "")),
	})
	return gt, err
}

// endpoints are the vtgates' MySQL addresses, one per cell, each with its
// cell's zone; the SQL clients take them in turn (worker w the vtgate of
// cell w mod cells), so each client stays with one cell's vtgate.
func (dep *deployment) endpoints() []engines.Endpoint {
	out := make([]engines.Endpoint, len(dep.gates))
	for i, g := range dep.gates {
		out[i] = engines.Endpoint{
			Node: dep.cp.Name, Zone: g.Cell.Zone, Region: g.Cell.Region, Addr: g.MySQL,
			Database: Keyspace, User: User,
		}
	}
	return out
}

// User is the user clients log in as; vtgate authenticates no one
// (--mysql-auth-server-impl=none).
const User = "faultline"

// dsn is the DSN of a vtgate.
func dsn(addr, target string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = User, "tcp", addr, target
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 2*time.Second, 5*time.Second, 5*time.Second
	return c.FormatDSN()
}

// waitReady polls until every shard has a primary serving and every
// tablet serves, as each vtgate sees it, and each vtgate answers a query
// on the primaries.
func (dep *deployment) waitReady(ctx context.Context) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		last = dep.ready(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vitess: not ready: %w (last check: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

func (dep *deployment) ready(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	prim, err := dep.ctl.primaries(rctx, Keyspace)
	if err != nil {
		return err
	}
	for _, g := range dep.gates {
		rows, err := showTablets(rctx, g.MySQL)
		if err != nil {
			return fmt.Errorf("vtgate of cell %s: %w", g.Cell.Name, err)
		}
		if problems := servingProblems(dep.plan, prim, rows); len(problems) > 0 {
			return fmt.Errorf("vtgate of cell %s: %s", g.Cell.Name, strings.Join(problems, "; "))
		}
		if err := localdb.Ping("mysql", dsn(g.MySQL, Keyspace+"@primary"))(rctx); err != nil {
			return fmt.Errorf("vtgate of cell %s: %w", g.Cell.Name, err)
		}
	}
	return nil
}

// showTablets reads SHOW vitess_tablets from a vtgate.
func showTablets(ctx context.Context, addr string) ([]tabletRow, error) {
	db, err := sql.Open("mysql", dsn(addr, ""))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SHOW vitess_tablets")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []tabletRow
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var r tabletRow
		for i, c := range cols {
			v := vals[i].String
			switch strings.ToLower(c) {
			case "cell":
				r.Cell = v
			case "keyspace":
				r.Keyspace = v
			case "shard":
				r.Shard = v
			case "tablettype":
				r.Type = v
			case "state":
				r.State = v
			case "alias":
				r.Alias = v
			case "primarytermstarttime":
				r.TermStart = v
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// leaders reads every shard's primary from the topology; when the
// topology cannot be asked it returns the primaries it last read with the
// error.
func (dep *deployment) leaders(ctx context.Context) ([]engines.Leadership, error) {
	prim, err := dep.ctl.primaries(ctx, Keyspace)
	if err != nil {
		return nil, fmt.Errorf("vitess: primaries: %w", err)
	}
	dep.mu.Lock()
	dep.last = prim
	dep.mu.Unlock()
	var out []engines.Leadership
	for _, p := range prim {
		t, ok := dep.plan.byAlias(p.Alias)
		if !ok {
			continue
		}
		out = append(out, engines.Leadership{Node: t.Node.Name, Term: p.Term, Shard: Keyspace + "/" + p.Shard})
	}
	return out, nil
}

// listening is a process's readiness: its port accepts connections.
func listening(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// errNoPrimary says a shard has no primary.
var errNoPrimary = errors.New("no primary")

// quote quotes s for the shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func join(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}
