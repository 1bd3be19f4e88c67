package platform

import (
	"context"
	"syscall"
)

// The interfaces below are optional capabilities of a Cluster or Platform,
// found by type assertion.

// Capabilities says, before any cluster exists, what the clusters of a
// platform offer, so that an engine can refuse a platform it cannot run
// on during validation. Each field matches an optional Cluster interface.
type Capabilities struct {
	// Processes: clusters run engine processes on their nodes
	// (ProcessHost).
	Processes bool `json:"processes,omitempty"`
	// Kubernetes: clusters run Kubernetes (Kubernetes).
	Kubernetes bool `json:"kubernetes,omitempty"`
	// NodeControl: faultline can kill, stop and pause nodes
	// (NodeController).
	NodeControl bool `json:"node_control,omitempty"`
	// Network: faultline can run commands in nodes' network namespaces
	// (NetworkController).
	Network bool `json:"network,omitempty"`
}

// Describer is implemented by platforms that state their clusters'
// Capabilities without creating one.
type Describer interface {
	// Capabilities is what every cluster the platform creates offers. It
	// does no I/O.
	Capabilities() Capabilities
}

// CapabilitiesOf returns what p's clusters offer, or the zero
// Capabilities if p does not say.
func CapabilitiesOf(p Platform) Capabilities {
	if d, ok := p.(Describer); ok {
		return d.Capabilities()
	}
	return Capabilities{}
}

// Process is a program a ProcessHost runs on a node.
type Process struct {
	// Name names the program in logs ("etcd", "postgres").
	Name string
	// Path is the executable. When Agent is set it is ignored: the
	// platform runs the faultline binary itself as that agent (see
	// internal/agent), so that engines such as etcd need nothing installed.
	Path  string
	Agent string
	Args  []string
	Env   []string
	// Ready, if set, is polled after each start until it returns nil.
	Ready func(ctx context.Context) error
	// StopSignal asks the process to shut down gracefully (Stop); zero is
	// SIGTERM. PostgreSQL wants SIGINT (fast shutdown): on SIGTERM it
	// waits for every client to leave.
	StopSignal syscall.Signal
	// Tree makes Kill, Pause and Resume signal the process and every
	// process descended from it, so that a server that forks workers
	// (PostgreSQL's backends, each in a session of its own) is killed or
	// frozen all at once, as a machine failure would. Stop signals the
	// process alone, which shuts its workers down itself.
	Tree bool
}

// ProcessHost is implemented by clusters that run engine processes
// directly on their nodes: the local platform. A node runs one or more
// processes, each under a name of its own (Process.Name); they are the
// node to NodeController, whose methods act on all of them (start in the
// order Run first started them, kill and stop in the reverse order).
type ProcessHost interface {
	// Run starts p on node and supervises it until the cluster is
	// deleted; it returns once p.Ready succeeds. A second process of the
	// same name on the node is an error.
	Run(ctx context.Context, node string, p Process) error
	// DataDir is node's private data directory, owned by the user the
	// node's process runs as.
	DataDir(node string) string
	// PID is the process id of node's first process, or 0 if it is not
	// running.
	PID(node string) int
}

// NodeController is implemented by clusters whose nodes faultline can stop,
// start and freeze: node containers on kind, processes on the local
// platform. Every method is idempotent.
type NodeController interface {
	// Kill stops node at once (SIGKILL, docker kill).
	Kill(ctx context.Context, node string) error
	// Stop stops node gracefully (SIGTERM, docker stop).
	Stop(ctx context.Context, node string) error
	// Start starts a killed or stopped node again.
	Start(ctx context.Context, node string) error
	// Pause freezes node (SIGSTOP, the cgroup freezer).
	Pause(ctx context.Context, node string) error
	// Resume thaws a paused node.
	Resume(ctx context.Context, node string) error
}

// NetworkController is implemented by clusters in which faultline can run
// commands (iptables, tc, its own delayer) in a node's network namespace.
type NetworkController interface {
	// NetExec runs argv in node's network namespace and returns its
	// combined output; a failure is a *CommandError.
	NetExec(ctx context.Context, node string, argv ...string) ([]byte, error)
	// NetNamespace names node's network namespace. Nodes that share one
	// (every node of the local platform shares the host's) return the
	// same name, so that rules are installed once per namespace.
	NetNamespace(node string) string
}

// FaultSupport is implemented by platforms that can tell, before anything
// starts, that their own mechanisms (NodeController, NetworkController)
// cannot inject a kind of fault, and why. Faults carried by other
// injectors (Chaos Mesh, the Kubernetes API) do not ask it.
type FaultSupport interface {
	// CanInject returns nil if the platform can inject faults of the kind
	// (see package faults for the kinds), or an error that says why not.
	CanInject(kind string) error
}

// MechanismNamer is implemented by platforms that name their own way of
// injecting faults ("docker" for kind's node containers, "process" for
// the local platform's signals and iptables), for listings.
type MechanismNamer interface {
	// FaultMechanism names it in a word. It is constant.
	FaultMechanism() string
}

// FaultPermission is implemented by platforms and clusters on which no
// fault may be injected unless the user allowed it: clusters faultline
// did not create. Every injector asks it.
type FaultPermission interface {
	// PermitFaults returns nil if faults may be injected, or an error
	// that says how to allow them.
	PermitFaults() error
}

// Kubernetes is implemented by clusters that run Kubernetes.
type Kubernetes interface {
	// Kubeconfig is the path of a kubeconfig file for the cluster, and
	// Context the context in it to use.
	Kubeconfig() string
	Context() string
}

// NodePortHost is implemented by clusters whose node addresses the
// harness reaches, so that a NodePort Service serves it from outside the
// cluster (kind); elsewhere faultline forwards ports through the API
// server.
type NodePortHost interface {
	// NodePortAddr is the address of a node that serves node ports and
	// that faults never take down (the control plane).
	NodePortAddr(ctx context.Context) (string, error)
}

// Owned is implemented by clusters that say whether faultline created
// them. Destructive faults are refused on clusters it did not create
// unless the user allowed them by naming the context.
type Owned interface {
	Owned() bool
}

// LogExporter is implemented by clusters that can copy their nodes' and
// engines' logs into a directory, for the run directory.
type LogExporter interface {
	ExportLogs(ctx context.Context, dir string) error
}

// ImageMapper is implemented by clusters that hold local stand-ins for
// official images (built without a registry and loaded into the nodes).
// Engines deploy MapImage(ref) where they would deploy their official
// ref; an image the scenario names explicitly is used as it is.
type ImageMapper interface {
	// MapImage returns the local image standing in for ref, or ref.
	MapImage(ref string) string
}

// StandInLister is implemented by platforms that know, before a cluster
// exists, which local images its clusters will run in place of official
// ones (kind: faultline's builds that its Docker daemon holds), so that
// `faultline manifests` can say what a run would deploy.
type StandInLister interface {
	// StandIns maps official image references to the local images that
	// will stand in for them; empty when the platform holds none or
	// cannot look without starting something.
	StandIns(ctx context.Context) (map[string]string, error)
}

// LocalImageLoader is implemented by clusters whose nodes can be given
// images that the platform's own image store holds (kind: the Docker
// daemon its nodes run on), so that a scenario's image overrides may name
// local builds that no registry serves.
type LocalImageLoader interface {
	// LoadLocalImages copies into every node each of refs that the
	// platform's image store holds, and returns those it copied; a ref it
	// does not hold is left for the nodes to pull. An error means an image
	// it holds could not be copied, or the store could not be asked.
	LoadLocalImages(ctx context.Context, refs ...string) ([]string, error)
}

// ImageLoader is implemented by clusters that copy images of the Docker
// daemon they run on into their nodes on demand (kind): whoever deploys a
// stand-in that MapImage handed out and that may not be in the nodes yet
// loads it first. Loading an image the nodes hold already is harmless.
type ImageLoader interface {
	// LoadImages copies refs, each an image the daemon holds, into every
	// node; an error means one could not be copied.
	LoadImages(ctx context.Context, refs ...string) error
}

// MapImage returns the image a cluster runs for ref: its local stand-in
// if the cluster has one, else ref.
func MapImage(c Cluster, ref string) string {
	if m, ok := c.(ImageMapper); ok {
		return m.MapImage(ref)
	}
	return ref
}

// RestartHooks is implemented by clusters whose nodes come back from a
// restart without the network state faultline put in them: a kind node
// container that is started again gets a new network namespace, without
// the iptables rules, qdiscs and packet delayers of the shaping in force.
// Whoever installs standing state registers a hook that installs it
// again.
type RestartHooks interface {
	// AddRestartHook registers f, which NodeController.Start runs with
	// the node's name after the node is running again and before Start
	// returns (so before the engine on it serves again); an error from f
	// is Start's error. The returned function unregisters f and is safe
	// to call more than once.
	AddRestartHook(f func(ctx context.Context, node string) error) (remove func())
}

// ProcessController is implemented by ProcessHosts that act on one named
// process of a node, for engines that run several on each (Vitess runs
// mysqld and vttablet), so that a fault can take down one of them alone.
// NodeController's methods act on every process of a node.
type ProcessController interface {
	// Processes lists the names of node's processes, in the order they
	// first started.
	Processes(node string) []string
	// ProcessPID is the pid of node's process name, or 0 if it is not
	// running.
	ProcessPID(node, name string) int
	// KillProcess sends SIGKILL to node's process name and waits until
	// it has exited; a process that is not running is left alone.
	KillProcess(ctx context.Context, node, name string) error
	// StartProcess starts node's process name again with the spec it
	// first ran with and waits until it is ready; a running process is
	// left alone.
	StartProcess(ctx context.Context, node, name string) error
}

// ControlPlaneHost is implemented by ProcessHosts that give an engine a
// node outside the topology's zones for its control-plane processes (a
// topology server, an orchestrator): faults leave it alone unless a
// scenario targets it by name.
type ControlPlaneHost interface {
	// ControlPlane returns the cluster's control-plane node, adding it
	// on the first call: Role RoleControlPlane, no zone or region, an
	// address, data directory and (when nodes run as their own uids) uid
	// of its own. From then on Nodes lists it after the workers. It runs
	// processes through Run and is stopped and started like any node.
	ControlPlane(ctx context.Context) (Node, error)
}

// FileSharer is implemented by clusters whose node processes cannot read
// every file the harness can (the local platform runs them as their own
// uids, and /root is closed to them): an engine shares the programs it
// runs from such places.
type FileSharer interface {
	// Share returns a path under which every node process can read (and,
	// if path is executable, run) the file at path: path itself when it
	// is reachable, else a link or copy the cluster removes with itself.
	// Sharing the same path again returns the same result.
	Share(path string) (string, error)
}
