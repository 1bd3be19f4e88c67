package vitess

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/engines/internal/localdb"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kube"
)

// The StatefulSet path: Vitess on Kubernetes without vitess-operator,
// laid out as on the local platform. Every pod uses its node's network
// (hostNetwork), so that each tablet listens on its node's address, the
// harness reaches vtctld, the tablets and the vtgates at node addresses,
// and faultline's partitions (between node addresses) and node faults
// act on Vitess as they do on the local platform. The topology server,
// vtctld, VTOrc and one vtgate per cell run on the control-plane node,
// which faults spare unless a scenario names it; each cell (zone) has a
// StatefulSet of tablets, one pod per worker node of the zone, pinned to
// it by the zone's node labels.

// Where the StatefulSet path runs.
const (
	// StatefulSetNamespace holds the deployment; Deploy recreates it.
	StatefulSetNamespace = "faultline-vitess"
	// KubeImage is the image the StatefulSet path runs by default: the
	// Vitess programs of package dist and Debian's MariaDB, which
	// `faultline images build vitess` makes locally (images.OfficialVitess;
	// no registry publishes it). engine.image replaces it.
	KubeImage = "faultline/vitess:v24.0.4-mariadb"
	// kubeRollout bounds the wait for the pods.
	kubeRollout = 5 * time.Minute
	// dataRoot is VTDATAROOT in the image, each tablet's volume.
	dataRoot = "/vt/vtdataroot"
	// kubeUID is the uid the image's programs run as (mysqlctl refuses
	// root).
	kubeUID = 1000
)

// Ports of the StatefulSet path, on the nodes' addresses. The
// control-plane node's own etcd holds 2379 and 2380, hence the topology
// server's.
const (
	kubeTopoClient  = 12379
	kubeTopoPeer    = 12380
	kubeVtctldHTTP  = 15000
	kubeVtctldGRPC  = 15999
	kubeVTOrcHTTP   = 15200
	kubeTabletHTTP  = 15100
	kubeTabletGRPC  = 16100
	kubeMySQL       = 3306
	kubeGateHTTP    = 15300 // + the cell's index
	kubeGateGRPC    = 15400 // + the cell's index
	kubeGateMySQL   = 15306 // + 100 × the cell's index
	labelName       = "app.kubernetes.io/name"
	labelComponent  = "app.kubernetes.io/component"
	labelManagedBy  = "app.kubernetes.io/managed-by"
	labelCell       = "vitess.faultline.dev/cell"
	labelHostname   = "kubernetes.io/hostname"
	controlPlaneKey = "node-role.kubernetes.io/control-plane"
)

// gatePortsOf are the ports of the vtgate of the i-th cell.
func gatePortsOf(i int) gatePorts {
	return gatePorts{HTTP: kubeGateHTTP + i, GRPC: kubeGateGRPC + i, MySQL: kubeGateMySQL + 100*i}
}

// kubePath says which way vitess is deployed on a Kubernetes cluster:
// the option, or under auto the StatefulSet path where the cluster holds
// faultline's image (an ImageMapper that maps KubeImage, as kind does
// after `faultline images build vitess`), else vitess-operator. An
// engine.image alone decides nothing: the operator path takes one too
// (in place of vitess/lite).
func kubePath(c platform.Cluster, spec engines.Spec, cfg config) string {
	if cfg.Deploy != DeployAuto {
		return cfg.Deploy
	}
	if c != nil && spec.MapImage(c, KubeImage) != KubeImage {
		return DeployStatefulSet
	}
	return DeployOperator
}

// kubeImage is the image the StatefulSet path runs.
func kubeImage(c platform.Cluster, spec engines.Spec) string {
	if spec.Image != "" {
		return spec.Image
	}
	return spec.MapImage(c, KubeImage)
}

// topoImage is the topology server's image: the etcd engine's (the
// official release of the etcd faultline links, or the cluster's local
// stand-in for it).
func topoImage(c platform.Cluster, spec engines.Spec) string {
	return spec.MapImage(c, etcd.OfficialImage+":"+etcd.New().DefaultVersion())
}

// validateStatefulSet checks a scenario for the StatefulSet path: the
// options, one tablet per worker node, the version the image carries and
// MariaDB (the image's server).
func validateStatefulSet(spec engines.Spec, t engines.Target) []error {
	cfg, errs := parseConfig(spec.Options)
	for _, name := range operatorOnly {
		if _, ok := spec.Options[name]; ok {
			errs = append(errs, fmt.Errorf("engine.options.%s: applies to deploy: operator, not to deploy: statefulset", name))
		}
	}
	if spec.Replicas != 0 && spec.Replicas != t.Workers {
		errs = append(errs, fmt.Errorf("engine.replicas: %d, but vitess runs one tablet on each of the %d worker nodes (leave it 0)", spec.Replicas, t.Workers))
	}
	if v := strings.TrimPrefix(spec.Version, "v"); v != "" && spec.Image == "" && v != strings.TrimPrefix(dist.Release(dist.ModuleVersion), "v") {
		errs = append(errs, fmt.Errorf("engine.version: faultline's Vitess image carries %s only, not %q (set engine.image for another)", dist.Release(dist.ModuleVersion), spec.Version))
	}
	if cfg.Shards == 0 {
		return errs
	}
	if cfg.Flavor != dist.MariaDB {
		errs = append(errs, fmt.Errorf("engine.options.flavor: faultline's Vitess image runs MariaDB, not %q (deploy: operator runs MySQL 8)", cfg.Flavor))
	}
	if p, err := newPlan(platform.Workers(t.Topology.Layout()), cfg.Shards); err != nil {
		errs = append(errs, fmt.Errorf("engine.options.shards: %w", err))
	} else if err := p.check(cfg.Durability); err != nil {
		errs = append(errs, fmt.Errorf("engine.options.durability: %w", err))
	}
	return errs
}

// kubeManifests are the objects of the StatefulSet path for plan p with
// the control plane on cp: the topology server, vtctld, VTOrc, a vtgate
// per cell and a StatefulSet of tablets per cell. Tablets take their uid
// from the node they land on (p's tablet of that node).
type kubeManifests struct {
	// Control are the topology server and vtctld, started first.
	Control []runtime.Object
	// Tablets are the cells' StatefulSets.
	Tablets []runtime.Object
	// Gates are VTOrc and the vtgates, started once the primaries are.
	Gates []runtime.Object
}

// statefulSetManifests generates the StatefulSet path's objects.
func statefulSetManifests(p plan, cp platform.Node, image, topoImage string, cfg config) kubeManifests {
	topoAddr := net.JoinHostPort(cp.Addr, strconv.Itoa(kubeTopoClient))
	topo := topoArgs(topoAddr)
	var m kubeManifests
	onCP := func(name, img string, command, args []string) runtime.Object {
		return controlDeployment(name, cp, img, command, args)
	}
	m.Control = append(m.Control,
		onCP("topo", topoImage, []string{"/usr/local/bin/etcd"}, topoServerArgs(topoAddr, net.JoinHostPort(cp.Addr, strconv.Itoa(kubeTopoPeer)), "/var/lib/etcd/topo", "faultline-vitess")),
		onCP(procVtctld, image, []string{"vtctld"}, vtctldArgs(topo, p.Cells[0].Name, cp.Addr, kubeVtctldHTTP, kubeVtctldGRPC)),
	)
	for _, cl := range p.Cells {
		m.Tablets = append(m.Tablets, tabletStatefulSet(p, cl, image, topo, cfg))
	}
	m.Gates = append(m.Gates, onCP(procVTOrc, image, []string{"vtorc"}, vtorcArgs(topo, p.Cells[0].Name, cp.Addr, kubeVTOrcHTTP, cfg.VTOrc)))
	for i, cl := range p.Cells {
		args := vtgateArgs(topo, cl, p.cellNames(), cp.Addr, gatePortsOf(i), cfg)
		m.Gates = append(m.Gates, onCP(gateName(cl), image, []string{"vtgate"}, args))
	}
	return m
}

// gateName is the name of a cell's vtgate object: Kubernetes names allow
// no '_' or '.', which cell names may hold.
func gateName(cl cell) string {
	return "vtgate-" + strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(cl.Name))
}

func objectMeta(name, component string, extra map[string]string) metav1.ObjectMeta {
	labels := map[string]string{labelName: "vitess", labelComponent: component, labelManagedBy: "faultline"}
	for k, v := range extra {
		labels[k] = v
	}
	return metav1.ObjectMeta{Name: name, Namespace: StatefulSetNamespace, Labels: labels}
}

// controlDeployment runs one control-plane program on node cp, on its
// network.
func controlDeployment(name string, cp platform.Node, image string, command, args []string) *appsv1.Deployment {
	meta := objectMeta(name, name, nil)
	pod := corev1.PodSpec{
		HostNetwork:                   true,
		DNSPolicy:                     corev1.DNSClusterFirstWithHostNet,
		TerminationGracePeriodSeconds: ptr.To[int64](5),
		NodeSelector:                  map[string]string{labelHostname: cp.Name},
		Tolerations: []corev1.Toleration{
			{Key: controlPlaneKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		},
		Containers: []corev1.Container{{
			Name: name, Image: image, Command: command, Args: args,
			Env:             []corev1.EnvVar{{Name: "TMPDIR", Value: "/tmp"}},
			ImagePullPolicy: corev1.PullIfNotPresent,
			Resources:       requests("20m", "64Mi"),
			VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/etcd"}},
		}},
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			// A second copy would fight the first for its ports.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: meta.Labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels}, Spec: pod},
		},
	}
}

func requests(cpu, mem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
	}}
}

// tabletStatefulSet is cell cl's tablets: one pod on each of its worker
// nodes, pinned to the zone by its node labels (and to the nodes the plan
// gave tablets), each pod's mysqld and vttablet taking the uid of the
// node's tablet.
func tabletStatefulSet(p plan, cl cell, image string, topo []string, cfg config) *appsv1.StatefulSet {
	var ts []tablet
	for _, t := range p.Tablets {
		if t.Cell == cl.Name {
			ts = append(ts, t)
		}
	}
	name := "tablets-" + strings.TrimPrefix(gateName(cl), "vtgate-")
	meta := objectMeta(name, ProcTablet, map[string]string{labelCell: cl.Name})
	var uidCase strings.Builder
	uidCase.WriteString("case \"$NODE_NAME\" in\n")
	hostnames := make([]string, 0, len(ts))
	for _, t := range ts {
		fmt.Fprintf(&uidCase, "%s) uid=%d; shard=%s ;;\n", quote(t.Node.Name), t.UID, quote(t.Shard))
		hostnames = append(hostnames, t.Node.Name)
	}
	fmt.Fprintf(&uidCase, "*) echo \"faultline: no tablet of cell %s is planned on node $NODE_NAME\" >&2; exit 1 ;;\nesac\n", cl.Name)
	uidCase.WriteString("dir=" + dataRoot + "/vt_$(printf %010d \"$uid\")\n")
	sort.Strings(hostnames)

	// MariaDB 10.11 knows slave_net_timeout only.
	mysqld := "set -e\n" + uidCase.String() +
		"printf '%s\\n' \"bind-address=$HOST_IP\" " + quote("slave_net_timeout="+strconv.Itoa(cfg.ReplicaNetTimeout)) + " > \"$EXTRA_MY_CNF\"\n" +
		"if [ ! -e \"$dir/.faultline-initialized\" ]; then\n" +
		"\trm -rf \"$dir\"\n" +
		"\tmysqlctl --tablet-uid=\"$uid\" --mysql-port=" + strconv.Itoa(kubeMySQL) + " init\n" +
		"\tmysqlctl --tablet-uid=\"$uid\" --mysql-port=" + strconv.Itoa(kubeMySQL) + " shutdown\n" +
		"\t: > \"$dir/.faultline-initialized\"\n" +
		"fi\n" +
		"rm -f \"$dir/mysql.sock.lock\"\n" +
		"exec mariadbd --defaults-file=\"$dir/my.cnf\" --basedir=/usr\n"
	// vttablet waits for the instance to be initialized (mysqlctl init
	// starts and stops a server of its own first) and its server to
	// answer: a killed server leaves its socket file behind. mariadb-admin
	// ping succeeds for a running server even when it refuses the user.
	vttablet := "set -e\n" + uidCase.String() +
		"until [ -e \"$dir/.faultline-initialized\" ] && mariadb-admin --no-defaults --socket=\"$dir/mysql.sock\" --connect-timeout=2 ping >/dev/null 2>&1; do sleep 0.5; done\n" +
		"exec vttablet --tablet-path=" + cl.Name + "-$(printf %010d \"$uid\") --init-shard=\"$shard\" \"$@\"\n"
	// The shard comes from the script (the node's tablet's), which
	// --init-shard after it in "$@" must not override.
	targs := vttabletArgs(topo, "$(HOST_IP)", "", kubeTabletHTTP, kubeTabletGRPC)
	targs = removeFlag(targs, "--init-shard=")

	env := []corev1.EnvVar{
		fieldEnv("NODE_NAME", "spec.nodeName"), fieldEnv("HOST_IP", "status.hostIP"),
		{Name: "VTDATAROOT", Value: dataRoot}, {Name: "VT_MYSQL_ROOT", Value: "/usr"},
		{Name: "EXTRA_MY_CNF", Value: dataRoot + "/extra.cnf"}, {Name: "TMPDIR", Value: dataRoot},
		{Name: "LC_ALL", Value: "C"},
	}
	mount := []corev1.VolumeMount{{Name: "data", MountPath: dataRoot}}
	zoneTerm := []corev1.NodeSelectorRequirement{
		{Key: kube.LabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{cl.Zone}},
		{Key: labelHostname, Operator: corev1.NodeSelectorOpIn, Values: hostnames},
	}
	if cl.Region != "" {
		zoneTerm = append(zoneTerm, corev1.NodeSelectorRequirement{Key: kube.LabelRegion, Operator: corev1.NodeSelectorOpIn, Values: []string{cl.Region}})
	}
	selector := &metav1.LabelSelector{MatchLabels: meta.Labels}
	pod := corev1.PodSpec{
		HostNetwork:                   true,
		DNSPolicy:                     corev1.DNSClusterFirstWithHostNet,
		TerminationGracePeriodSeconds: ptr.To[int64](10),
		SecurityContext:               &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](kubeUID), RunAsGroup: ptr.To[int64](kubeUID), FSGroup: ptr.To[int64](kubeUID)},
		Affinity: &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: zoneTerm}},
			}},
			// Tablets of every cell share the nodes' ports: one per node.
			PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelName: "vitess", labelComponent: ProcTablet}},
				TopologyKey:   labelHostname,
			}}},
		},
		Containers: []corev1.Container{
			{
				Name: ProcMySQL, Image: image, Command: []string{"/bin/bash", "-c", mysqld},
				Env: env, VolumeMounts: mount, ImagePullPolicy: corev1.PullIfNotPresent,
				Resources: requests("50m", "128Mi"),
			},
			{
				Name: ProcTablet, Image: image, Command: []string{"/bin/bash", "-c", vttablet, ProcTablet}, Args: targs,
				Env: env, VolumeMounts: mount, ImagePullPolicy: corev1.PullIfNotPresent,
				Resources: requests("50m", "128Mi"),
			},
		},
	}
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: meta,
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(len(ts))),
			ServiceName:         name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            selector,
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels}, Spec: pod},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: meta.Labels},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// removeFlag drops the flags starting with prefix.
func removeFlag(args []string, prefix string) []string {
	out := args[:0:0]
	for _, a := range args {
		if !strings.HasPrefix(a, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// controlPlaneNode is the node the StatefulSet path's control programs
// run on: the cluster's control-plane node.
func controlPlaneNode(nodes []platform.Node) (platform.Node, error) {
	for _, n := range nodes {
		if n.Role == platform.RoleControlPlane && n.Addr != "" {
			return n, nil
		}
	}
	return platform.Node{}, fmt.Errorf("no control-plane node with an address for the topology server, vtctld, VTOrc and the vtgates (use deploy: operator)")
}

// deployStatefulSets deploys the StatefulSet path on c and returns the
// deployment, which the local path's readiness, endpoints and leaders
// serve from then on.
func deployStatefulSets(ctx context.Context, c platform.Cluster, k platform.Kubernetes, spec engines.Spec, cfg config, d dist.Dist, logf func(string, ...any)) (*deployment, error) {
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
	cp, err := controlPlaneNode(nodes)
	if err != nil {
		return nil, err
	}
	kc, err := kube.Connect(k)
	if err != nil {
		return nil, err
	}
	image := kubeImage(c, spec)
	m := statefulSetManifests(p, cp, image, topoImage(c, spec), cfg)
	start := time.Now()
	step := func(format string, args ...any) {
		logf("vitess: %s: "+format, append([]any{time.Since(start).Round(100 * time.Millisecond)}, args...)...)
	}
	if err := kube.RecreateNamespace(ctx, kc.Typed, StatefulSetNamespace, map[string]string{labelManagedBy: "faultline"}); err != nil {
		return nil, err
	}
	apply := func(objs []runtime.Object) error {
		u, err := kube.ToUnstructured(objs...)
		if err != nil {
			return err
		}
		return kube.Apply(ctx, kc, u, kube.ApplyOptions{})
	}
	wctx, cancel := context.WithTimeout(ctx, kubeRollout)
	defer cancel()
	// Every wait also watches for pods whose image cannot be pulled.
	wait := func(addr string) error {
		return waitListening(wctx, addr, func() string { return kube.PodProblems(wctx, kc.Typed, StatefulSetNamespace) })
	}
	if err := apply(m.Control); err != nil {
		return nil, err
	}
	topoAddr := net.JoinHostPort(cp.Addr, strconv.Itoa(kubeTopoClient))
	if err := wait(topoAddr); err != nil {
		return nil, fmt.Errorf("topology server: %w", err)
	}
	topo := topoArgs(topoAddr)
	internal := vtctl{path: d.Path("vtctldclient"), server: "internal", topo: topo}
	for _, cl := range p.Cells {
		if _, err := internal.run(ctx, "AddCellInfo", "--root=/vitess/"+cl.Name, "--server-address="+topoAddr, cl.Name); err != nil && !strings.Contains(err.Error(), "already exists") {
			return nil, fmt.Errorf("add cell %s: %w", cl.Name, err)
		}
	}
	grpc := net.JoinHostPort(cp.Addr, strconv.Itoa(kubeVtctldGRPC))
	if err := wait(grpc); err != nil {
		return nil, fmt.Errorf("vtctld: %w", err)
	}
	dep := &deployment{
		cfg: cfg, plan: p, dist: d, cp: cp,
		ctl:    vtctl{path: d.Path("vtctldclient"), server: grpc},
		server: serverBinary{Flavor: dist.MariaDB, Version: "10.11 (Debian) in " + image},
		kube:   &kubeState{kc: kc, image: image},
	}
	step("topology server and vtctld on %s (%s), cells %s", cp.Name, cp.Addr, strings.Join(p.cellNames(), ", "))
	if _, err := dep.ctl.run(ctx, "CreateKeyspace", "--durability-policy="+cfg.Durability, Keyspace); err != nil && !strings.Contains(err.Error(), "already exists") {
		return nil, fmt.Errorf("create keyspace %s: %w", Keyspace, err)
	}
	if err := apply(m.Tablets); err != nil {
		return nil, err
	}
	for _, t := range p.Tablets {
		if err := wait(net.JoinHostPort(t.Node.Addr, strconv.Itoa(kubeTabletGRPC))); err != nil {
			return nil, fmt.Errorf("tablet %s on %s: %w", t.Alias(), t.Node.Name, err)
		}
	}
	step("%d tablets (mysqld and vttablet) in %d StatefulSets", len(p.Tablets), len(m.Tablets))
	if err := dep.initPrimaries(ctx); err != nil {
		return nil, err
	}
	step("primaries of %s elected", strings.Join(p.Shards, ", "))
	if cfg.Shards > 1 {
		if _, err := dep.ctl.run(ctx, "ApplyVSchema", "--vschema="+shardedVSchema, Keyspace); err != nil {
			return nil, fmt.Errorf("apply the sharded VSchema: %w", err)
		}
	}
	if err := apply(m.Gates); err != nil {
		return nil, err
	}
	for i, cl := range p.Cells {
		g := gate{Cell: cl, MySQL: net.JoinHostPort(cp.Addr, strconv.Itoa(gatePortsOf(i).MySQL))}
		if err := wait(g.MySQL); err != nil {
			return nil, fmt.Errorf("vtgate of cell %s: %w", cl.Name, err)
		}
		if err := pollReady(wctx, localdb.Ping("mysql", dsn(g.MySQL, ""))); err != nil {
			return nil, fmt.Errorf("vtgate of cell %s: %w", cl.Name, err)
		}
		dep.gates = append(dep.gates, g)
	}
	step("VTOrc and %d vtgates", len(dep.gates))
	return dep, nil
}

// statefulSetPlan is what the StatefulSet path applies for spec on a
// cluster of t's topology, in order, for `faultline manifests`: the
// nodes' names and addresses are placeholders (the topology's n1, n2…,
// "control-plane", NAME.address), and the images the official ones
// mapped by spec.Images. Between the steps the harness runs vtctldclient:
// it adds the cells and creates the keyspace once vtctld answers, and
// elects each shard's first primary once the tablets do.
func statefulSetPlan(spec engines.Spec, t engines.Target, cfg config) (kube.Plan, error) {
	nodes := t.Topology.Layout()
	for i := range nodes {
		nodes[i].Addr = nodes[i].Name + ".address"
	}
	p, err := newPlan(nodes, cfg.Shards)
	if err != nil {
		return nil, err
	}
	if err := p.check(cfg.Durability); err != nil {
		return nil, err
	}
	cp := platform.Node{Name: "control-plane", Role: platform.RoleControlPlane, Addr: "control-plane.address"}
	m := statefulSetManifests(p, cp, kubeImage(nil, spec), topoImage(nil, spec), cfg)
	ns := &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: StatefulSetNamespace, Labels: map[string]string{labelManagedBy: "faultline"}},
	}
	var plan kube.Plan
	for _, st := range []struct {
		name string
		objs []runtime.Object
	}{
		{"namespace", []runtime.Object{ns}},
		{"control (then vtctldclient adds the cells and creates the keyspace)", m.Control},
		{"tablets (then vtctldclient elects the primaries)", m.Tablets},
		{"vtorc and vtgates", m.Gates},
	} {
		objs, err := kube.ToUnstructured(st.objs...)
		if err != nil {
			return nil, err
		}
		plan = append(plan, kube.Step{Name: st.name, Objects: objs, Images: kube.Images(objs)})
	}
	return plan, nil
}

// kubeState is what the StatefulSet path keeps of a deployment.
type kubeState struct {
	kc    *kube.Clients
	image string
}

// teardown deletes the namespace, and with it every pod and volume.
func (k *kubeState) teardown(ctx context.Context) error {
	err := k.kc.Typed.CoreV1().Namespaces().Delete(ctx, StatefulSetNamespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("vitess: delete namespace %s: %w", StatefulSetNamespace, err)
	}
	return nil
}

// waitListening polls until addr accepts connections; problems describes
// what keeps it from doing so when ctx ends.
func waitListening(ctx context.Context, addr string, problems func() string) error {
	err := pollReady(ctx, listening(addr))
	if err != nil {
		return fmt.Errorf("%s: %w (pods: %s)", addr, err, kube.Truncate(problems(), 2000))
	}
	return nil
}

// pollReady calls ready every half second until it returns nil or ctx
// ends, and then returns its last error with ctx's.
func pollReady(ctx context.Context, ready func(context.Context) error) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := ready(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
