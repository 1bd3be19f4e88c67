package vitess

// The Kubernetes path: Vitess through vitess-operator, deployed as
// Vitess's own operator guide deploys it (examples/operator of
// vitessio/vitess: `kubectl apply -f operator.yaml`, then a VitessCluster
// and its Secret in the namespace the operator watches).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/gomod"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// Pinned sources of the operator path. The operator manifest is the one
// Vitess's operator guide applies at the Vitess release faultline builds
// (v24.0.4): it runs vitess-operator v2.17.1 in namespace default,
// watching default and example, and the guide's cluster runs
// vitess/lite:v24.0.4 for every Vitess component and for mysqld (MySQL
// 8.0) with prom/mysqld-exporter:v0.14.0 beside it. The topology store is
// the operator's own etcd, quay.io/coreos/etcd:v3.5.17
// (pkg/apis/planetscale/v2/defaults.go of vitess-operator v2.17.0).
const (
	OperatorVitessRelease = "v24.0.4"
	OperatorVersion       = "v2.17.1"
	OperatorManifestURL   = "https://raw.githubusercontent.com/vitessio/vitess/" + OperatorVitessRelease + "/examples/operator/operator.yaml"
	OperatorImage         = "planetscale/vitess-operator:" + OperatorVersion
	OperatorNamespace     = "default"
	OperatorDeployment    = "vitess-operator"
	// OperatorClusterNamespace is the namespace the guide's manifest has
	// the operator watch (WATCH_NAMESPACE "default,example") and grants
	// its backup-storage role in; faultline's VitessCluster lives there.
	OperatorClusterNamespace = "example"
	OperatorClusterName      = "faultline"
	LiteImage                = "vitess/lite:" + OperatorVitessRelease
	MysqldExporterImage      = "prom/mysqld-exporter:v0.14.0"
	LockserverImage          = "quay.io/coreos/etcd:v3.5.17"
	// GatewayPort is vtgate's MySQL port.
	GatewayPort = 3306
	// VitessModule and VitessModuleVersion are the Go module whose
	// config/init_db.sql (the script Vitess runs on a fresh data
	// directory: its users and grants) the shards' init Secret carries.
	VitessModule        = "vitess.io/vitess"
	VitessModuleVersion = "v0.24.4"
)

const (
	opSecret        = "faultline-vitess"
	opLabelZone     = "topology.kubernetes.io/zone"
	opLabelCP       = "node-role.kubernetes.io/control-plane"
	opLabelManaged  = "app.kubernetes.io/managed-by"
	opOperatorWait  = 4 * time.Minute
	opComponent     = "planetscale.com/component"
	opLabelCell     = "planetscale.com/cell"
	opLabelTabletID = "planetscale.com/tablet-uid"
)

// opConfig is what the engine's options set on the operator path.
type opConfig struct {
	// Durability is the keyspace's durability policy: semi_sync,
	// cross_cell or none.
	Durability string
	// Shards is how many equal shards the keyspace has.
	Shards int
	// Source overrides where the operator manifest comes from (a URL or
	// a file, such as the copy in the Vitess module's examples/operator).
	Source string
	// InitDB is the init SQL file; empty is the Vitess module's
	// config/init_db.sql.
	InitDB string
	// ControlOnControlPlane runs the operator and VTOrc on the control
	// plane, which faults spare.
	ControlOnControlPlane bool
	// Storage is each tablet's volume.
	Storage resource.Quantity
	// GatewayFlags and VTOrcFlags are vtgate's and VTOrc's flags from
	// the options both paths share (transaction mode, buffering, VTOrc's
	// polling and timeouts), without their dashes.
	GatewayFlags, VTOrcFlags map[string]string
}

func defaultOpConfig() opConfig {
	return opConfig{Durability: "semi_sync", Shards: 1, ControlOnControlPlane: true, Storage: resource.MustParse("1Gi")}
}

// opOption is one option of the operator path.
type opOption struct {
	doc, def string
	set      func(c *opConfig, v string) error
}

// operatorOptions are the options the operator path reads.
func operatorOptions() map[string]opOption {
	return map[string]opOption{
		"durability": {doc: "the keyspace's durability policy: semi_sync (a replica acknowledges each commit), cross_cell (a replica in another cell does) or none", def: "semi_sync",
			set: func(c *opConfig, v string) error {
				c.Durability = v
				switch v {
				case "semi_sync", "cross_cell", "none":
					return nil
				}
				return fmt.Errorf("%q is not one of semi_sync, cross_cell, none", v)
			}},
		"shards": {doc: "how many equal shards the keyspace has", def: "1",
			set: func(c *opConfig, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 16 {
					return fmt.Errorf("%q is not a whole number from 1 to 16", v)
				}
				c.Shards = n
				return nil
			}},
		"operator-source": {doc: "where vitess-operator's manifest comes from: a URL or a file (Vitess's module carries it as examples/operator/operator.yaml)", def: OperatorManifestURL,
			set: func(c *opConfig, v string) error { c.Source = v; return nil }},
		"init-db": {doc: "the SQL file run on each tablet's fresh data directory (its users and grants)", def: "config/init_db.sql of " + VitessModule + "@" + VitessModuleVersion,
			set: func(c *opConfig, v string) error { c.InitDB = v; return nil }},
		"control-on-control-plane": {doc: "run vitess-operator and VTOrc on the control-plane node, which faults spare; false lets the scheduler place them, where a node fault can take failover down with it", def: "true",
			set: func(c *opConfig, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("%q is not true or false", v)
				}
				c.ControlOnControlPlane = b
				return nil
			}},
		"storage": {doc: "each tablet's volume size", def: "1Gi",
			set: func(c *opConfig, v string) error {
				q, err := resource.ParseQuantity(v)
				if err != nil || q.Sign() <= 0 {
					return fmt.Errorf("%q is not a positive quantity (like 1Gi)", v)
				}
				c.Storage = q
				return nil
			}},
	}
}

// parseOperatorOptions reads the operator path's options from opts,
// ignoring the others (the engine checks that every option is known to
// one of its paths).
func parseOperatorOptions(opts map[string]string) (opConfig, []error) {
	c := defaultOpConfig()
	known := operatorOptions()
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		o, ok := known[k]
		if !ok {
			continue
		}
		if err := o.set(&c, strings.TrimSpace(opts[k])); err != nil {
			errs = append(errs, fmt.Errorf("engine.options.%s: %w", k, err))
		}
	}
	return c, errs
}

// vitessModuleDir is the Vitess module's directory in the Go module
// cache, whether or not it exists.
func vitessModuleDir() string { return gomod.Dir(VitessModule, VitessModuleVersion) }

// initDB reads the init SQL.
func (c opConfig) initDB() (string, error) {
	path := c.InitDB
	if path == "" {
		path = filepath.Join(vitessModuleDir(), "config", "init_db.sql")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if c.InitDB == "" {
			return "", fmt.Errorf("engine.options.init-db: %w", &engines.NotInstalledError{
				Program: "the init SQL of " + VitessModule + "@" + VitessModuleVersion + " (" + path + ")",
				Install: fmt.Sprintf("fetch the module with `go mod download %s@%s` (make vitess does), or point engine.options.init-db at a file", VitessModule, VitessModuleVersion),
			})
		}
		return "", fmt.Errorf("engine.options.init-db: %w", err)
	}
	return string(b), nil
}

// opCells maps each zone's name to its cell (CellNames), in topology
// order.
func opCells(t platform.Topology) ([]string, map[string]string) {
	pairs := t.Zones()
	names := CellNames(pairs)
	zones := make([]string, len(pairs))
	cells := map[string]string{}
	for i, z := range pairs {
		zones[i] = z[1]
		cells[z[1]] = names[i]
	}
	return zones, cells
}

func inZone(zone string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: opLabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}},
		}}},
	}}
}

func onControlPlane() (*corev1.Affinity, []corev1.Toleration) {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: opLabelCP, Operator: corev1.NodeSelectorOpExists}},
			}}},
		}},
		[]corev1.Toleration{{Key: opLabelCP, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
}

func resources(cpu, mem, memLimit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memLimit)},
	}
}

// opImages are the images the cluster runs: engine.image replaces
// vitess/lite everywhere; engine.images and --image-override map each.
func opImages(spec engines.Spec, c platform.Cluster) (lite, exporter, etcd string) {
	lite = LiteImage
	if spec.Image != "" {
		lite = spec.Image
	}
	return spec.MapImage(c, lite), spec.MapImage(c, MysqldExporterImage), spec.MapImage(c, LockserverImage)
}

// usersJSON is vtgate's static users file: one user, faultline, with an
// empty password, as in Vitess's operator guide (a test cluster, reached
// only by the harness).
const usersJSON = `{"` + User + `": [{"UserData": "` + User + `", "Password": ""}]}`

// operatorPlan is what the operator path installs: the cluster's
// namespace (the manifest grants a role in it), vitess-operator's
// manifest, then the Secret and the VitessCluster: one cell per zone, a
// vtgate and one replica-type tablet of every shard in each cell, VTOrc
// and the durability policy of cfg.
func operatorPlan(spec engines.Spec, t platform.Topology, c platform.Cluster, cfg opConfig) (kube.Plan, error) {
	zones, cells := opCells(t)
	if len(zones) == 0 {
		return nil, errors.New("the topology has no zones")
	}
	if cfg.Durability == "cross_cell" && len(zones) < 2 {
		return nil, fmt.Errorf("engine.options.durability: cross_cell needs at least two zones, the topology has %d", len(zones))
	}
	initSQL, err := cfg.initDB()
	if err != nil {
		return nil, err
	}
	lite, exporter, etcdImage := opImages(spec, c)
	labels := map[string]string{opLabelManaged: "faultline"}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorClusterNamespace, Labels: labels}}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: opSecret, Namespace: OperatorClusterNamespace, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"users.json": usersJSON, "init_db.sql": initSQL},
	}
	vc := &VitessCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: VitessClusterGVK.GroupVersion().String(), Kind: VitessClusterGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: OperatorClusterName, Namespace: OperatorClusterNamespace, Labels: labels},
		Spec: VitessClusterSpec{
			Images: VitessImages{
				Vtctld: lite, Vtgate: lite, Vttablet: lite, Vtorc: lite, Vtbackup: lite,
				Mysqld:         &MysqldImage{Mysql80Compatible: lite},
				MysqldExporter: exporter,
			},
			GlobalLockserver: &GlobalLockserver{Etcd: &EtcdLockserverTemplate{Image: etcdImage, Affinity: spreadEtcd(len(zones))}},
			UpdateStrategy:   &UpdateStrategy{Type: "Immediate"},
		},
	}
	var cellNames []string
	for _, z := range zones {
		cellNames = append(cellNames, cells[z])
		gw := VitessCellGateway{
			Authentication: &GatewayAuthentication{Static: &StaticAuthentication{Secret: &SecretSource{Name: opSecret, Key: "users.json"}}},
			Replicas:       ptr.To[int32](1),
			Resources:      resources("100m", "256Mi", "256Mi"),
			Affinity:       inZone(z),
		}
		gw.ExtraFlags = maps.Clone(cfg.GatewayFlags)
		if cfg.Shards > 1 {
			// VSchema DDL through vtgate, for the workload's tables.
			if gw.ExtraFlags == nil {
				gw.ExtraFlags = map[string]string{}
			}
			gw.ExtraFlags["vschema-ddl-authorized-users"] = User
		}
		vc.Spec.Cells = append(vc.Spec.Cells, VitessCellTemplate{Name: cells[z], Gateway: gw})
	}
	vc.Spec.VitessDashboard = &VitessDashboard{Cells: cellNames, Replicas: ptr.To[int32](1), Resources: resources("100m", "128Mi", "128Mi")}
	orc := &VitessOrchestratorSpec{Resources: resources("100m", "128Mi", "128Mi"), ExtraFlags: maps.Clone(cfg.VTOrcFlags)}
	if cfg.ControlOnControlPlane {
		orc.Affinity, orc.Tolerations = onControlPlane()
	}
	var pools []VitessShardTabletPool
	for _, z := range zones {
		pools = append(pools, VitessShardTabletPool{
			Cell: cells[z], Type: "replica", Replicas: 1,
			Vttablet: VttabletSpec{Resources: resources("100m", "256Mi", "256Mi")},
			Mysqld:   &MysqldSpec{Resources: resources("100m", "512Mi", "1Gi")},
			DataVolumeClaimTemplate: &corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: cfg.Storage}},
			},
			Affinity: inZone(z),
		})
	}
	ks := VitessKeyspaceTemplate{
		Name:               Keyspace,
		TurndownPolicy:     "Immediate",
		VitessOrchestrator: orc,
		Partitionings: []VitessKeyspacePartitioning{{Equal: &VitessKeyspaceEqualPartitioning{
			Parts:         int32(cfg.Shards),
			ShardTemplate: VitessShardTemplate{DatabaseInitScriptSecret: SecretSource{Name: opSecret, Key: "init_db.sql"}, TabletPools: pools},
		}}},
	}
	if cfg.Durability != "none" {
		ks.DurabilityPolicy = cfg.Durability
	}
	vc.Spec.Keyspaces = []VitessKeyspaceTemplate{ks}

	nsObjs, err := kube.ToUnstructured(ns)
	if err != nil {
		return nil, err
	}
	objs, err := kube.ToUnstructured(secret, vc)
	if err != nil {
		return nil, err
	}
	src := cfg.Source
	if src == "" {
		src = OperatorManifestURL
	}
	m := &kube.ReleaseManifest{Source: src, PullIfNotPresent: true, Namespace: OperatorNamespace}
	if img := spec.MapImage(c, OperatorImage); img != OperatorImage {
		m.Images = map[string]string{OperatorImage: img}
	}
	if cfg.ControlOnControlPlane {
		_, tol := onControlPlane()
		m.NodeSelector, m.Tolerations = map[string]string{opLabelCP: ""}, tol
	}
	return kube.Plan{
		{Name: "namespace", Objects: nsObjs},
		{Name: "operator", Manifest: m, Images: []string{spec.MapImage(c, OperatorImage)}},
		{Name: "cluster", Objects: objs, Images: []string{lite, exporter, etcdImage}},
	}, nil
}

// spreadEtcd keeps the operator's three etcd members in different zones:
// required where there are three zones or more, preferred otherwise.
func spreadEtcd(zones int) *corev1.Affinity {
	term := corev1.PodAffinityTerm{
		TopologyKey:   opLabelZone,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{opComponent: "etcd"}},
	}
	if zones >= 3 {
		return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}}}
	}
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: term}}}}
}

// opDeployment is a VitessCluster on one Kubernetes cluster.
type opDeployment struct {
	cl    platform.Cluster
	kc    *kube.Clients
	cfg   opConfig
	reach *kube.Reach
}

// deployOperator installs vitess-operator, waits for it to roll out
// (failing at once when an image cannot be pulled), then applies the
// Secret and the VitessCluster.
func deployOperator(ctx context.Context, c platform.Cluster, spec engines.Spec, cfg opConfig) (*opDeployment, error) {
	k, ok := c.(platform.Kubernetes)
	if !ok {
		return nil, fmt.Errorf("vitess: deploy: cluster %s runs no Kubernetes", c.Name())
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("vitess: deploy: %w", err)
	}
	topo := platform.TopologyOf(nodes)
	p, err := operatorPlan(spec, topo, c, cfg)
	if err != nil {
		return nil, fmt.Errorf("vitess: deploy: %w", err)
	}
	kc, err := kube.Connect(k)
	if err != nil {
		return nil, fmt.Errorf("vitess: deploy: %w", err)
	}
	if err := p[:2].Install(ctx, kc, spec.Artifacts); err != nil {
		return nil, fmt.Errorf("vitess: deploy operator: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, opOperatorWait)
	defer cancel()
	w := kube.Waiter{C: kc, Namespaces: []string{OperatorNamespace}}
	if err := w.WaitDeployment(wctx, OperatorNamespace, OperatorDeployment); err != nil {
		return nil, fmt.Errorf("vitess: deploy operator: %w", err)
	}
	if err := p[2:].Install(ctx, kc, spec.Artifacts); err != nil {
		return nil, fmt.Errorf("vitess: deploy: %w", err)
	}
	return &opDeployment{cl: c, kc: kc, cfg: cfg}, nil
}

// waitReady waits until the keyspace has every shard and tablet ready,
// the vtgate Service is named, every shard has a primary, and a query
// through vtgate reaches each shard's primary.
func (d *opDeployment) waitReady(ctx context.Context) error {
	w := kube.Waiter{C: d.kc, Namespaces: []string{OperatorClusterNamespace, OperatorNamespace}}
	err := kube.WaitFor(ctx, w, VitessClusterGVK, OperatorClusterNamespace, OperatorClusterName, func(vc *VitessCluster) (bool, string) {
		s := vc.Status
		if s == nil {
			return false, "no status yet"
		}
		ks := s.Keyspaces[Keyspace]
		switch {
		case ks.DesiredShards == 0:
			return false, "keyspace not reconciled yet"
		case ks.ReadyShards != ks.DesiredShards:
			return false, fmt.Sprintf("%d of %d shards ready", ks.ReadyShards, ks.DesiredShards)
		case ks.ReadyTablets != ks.DesiredTablets:
			return false, fmt.Sprintf("%d of %d tablets ready", ks.ReadyTablets, ks.DesiredTablets)
		case s.GatewayServiceName == "":
			return false, "no vtgate Service yet"
		}
		return true, ""
	})
	if err != nil {
		return fmt.Errorf("vitess: %w", err)
	}
	for {
		ls, err := d.leaders(ctx)
		if err == nil && len(ls) == d.cfg.Shards {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d of %d shards have a serving primary", len(ls), d.cfg.Shards)
			}
			return fmt.Errorf("vitess: wait for primaries: %w (%w)", ctx.Err(), err)
		case <-time.After(2 * time.Second):
		}
	}
}

// cluster reads the VitessCluster.
func (d *opDeployment) cluster(ctx context.Context) (*VitessCluster, error) {
	ri, _, err := kube.Resource(d.kc, VitessClusterGVK, OperatorClusterNamespace)
	if err != nil {
		return nil, err
	}
	u, err := ri.Get(ctx, OperatorClusterName, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var vc VitessCluster
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &vc); err != nil {
		return nil, fmt.Errorf("vitess: decode VitessCluster: %w", err)
	}
	return &vc, nil
}

// endpoints is the vtgate Service, reached from the harness.
func (d *opDeployment) endpoints(ctx context.Context) ([]engines.Endpoint, error) {
	if d.reach == nil {
		vc, err := d.cluster(ctx)
		if err != nil {
			return nil, fmt.Errorf("vitess: %w", err)
		}
		if vc.Status == nil || vc.Status.GatewayServiceName == "" {
			return nil, errors.New("vitess: the VitessCluster names no vtgate Service yet")
		}
		r, err := kube.ReachService(ctx, d.cl, d.kc, OperatorClusterNamespace, vc.Status.GatewayServiceName, GatewayPort)
		if err != nil {
			return nil, fmt.Errorf("vitess: %w", err)
		}
		d.reach = &r
	}
	return []engines.Endpoint{{Node: "vtgate", Addr: d.reach.Addr, Database: Keyspace, User: User}}, nil
}

// leaders asks vtgate for the serving primaries (SHOW vitess_tablets,
// which reflects VTOrc's reparents at once, where VitessShard's
// masterAlias can lag) and maps each tablet to its pod's node.
func (d *opDeployment) leaders(ctx context.Context) ([]engines.Leadership, error) {
	eps, err := d.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := showTablets(ctx, eps[0].Addr)
	if err != nil {
		err = fmt.Errorf("vitess: SHOW vitess_tablets: %w", err)
	}
	if err != nil {
		return nil, err
	}
	pods, err := d.kc.Typed.CoreV1().Pods(OperatorClusterNamespace).List(ctx, metav1.ListOptions{LabelSelector: opComponent + "=vttablet"})
	if err != nil {
		return nil, fmt.Errorf("vitess: list tablets' pods: %w", err)
	}
	return primaries(rows, pods.Items)
}

// primaries picks each shard's serving primary of rows and names the
// node its pod runs on; the term is the primary's term start, in Unix
// seconds.
func primaries(rows []tabletRow, pods []corev1.Pod) ([]engines.Leadership, error) {
	var out []engines.Leadership
	for _, r := range rows {
		if r.Keyspace != Keyspace || !strings.EqualFold(r.Type, "PRIMARY") || !strings.EqualFold(r.State, "SERVING") {
			continue
		}
		cell, uid, ok := splitAlias(r.Alias)
		if !ok {
			return nil, fmt.Errorf("vitess: tablet alias %q is not CELL-UID", r.Alias)
		}
		node := ""
		for _, p := range pods {
			n, err := strconv.ParseUint(p.Labels[opLabelTabletID], 10, 32)
			if err == nil && p.Labels[opLabelCell] == cell && uint32(n) == uid {
				node = p.Spec.NodeName
			}
		}
		if node == "" {
			return nil, fmt.Errorf("vitess: no pod of tablet %s", r.Alias)
		}
		l := engines.Leadership{Node: node, Shard: r.Keyspace + "/" + r.Shard}
		if ts, err := time.Parse(time.RFC3339, r.TermStart); err == nil {
			l.Term = uint64(ts.Unix())
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shard < out[j].Shard })
	return out, nil
}

// splitAlias splits a tablet alias, CELL-UID (the UID zero-padded).
func splitAlias(alias string) (cell string, uid uint32, ok bool) {
	i := strings.LastIndex(alias, "-")
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(alias[i+1:], 10, 32)
	if err != nil {
		return "", 0, false
	}
	return alias[:i], uint32(n), true
}

// teardown closes the way to vtgate and deletes the VitessCluster's
// namespace; the operator stays in its namespace (as after the guide's
// own clean-up of a cluster).
func (d *opDeployment) teardown(ctx context.Context) error {
	if d.reach != nil {
		d.reach.Close()
	}
	err := d.kc.Typed.CoreV1().Namespaces().Delete(ctx, OperatorClusterNamespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("vitess: delete namespace %s: %w", OperatorClusterNamespace, err)
	}
	return nil
}
