package vitess

import (
	"strconv"
	"strings"
)

// The flags of each Vitess program, shared by the local platform's
// processes and the pods of the StatefulSet path: the same programs, run
// the same way, whether on this machine or in faultline's image.

// vtctldArgs are vtctld's flags: listening on addr, in cell.
func vtctldArgs(topo []string, cell, addr string, http, grpc int) []string {
	args := append(append([]string{}, topo...), logArgs...)
	return append(args,
		"--cell="+cell,
		"--service-map=grpc-vtctl,grpc-vtctld",
		"--port="+strconv.Itoa(http), "--grpc-port="+strconv.Itoa(grpc),
		"--bind-address="+addr, "--grpc-bind-address="+addr,
	)
}

// vttabletArgs are a vttablet's flags but its --tablet-path: a replica
// of shard of the keyspace at first, listening on host, which is also
// the host name it registers (its mysqld's, for replication).
func vttabletArgs(topo []string, host, shard string, http, grpc int) []string {
	args := append(append([]string{}, topo...), logArgs...)
	return append(args,
		"--tablet-hostname="+host,
		"--init-keyspace="+Keyspace,
		"--init-shard="+shard,
		"--init-tablet-type=replica",
		"--port="+strconv.Itoa(http), "--grpc-port="+strconv.Itoa(grpc),
		"--bind-address="+host, "--grpc-bind-address="+host,
		"--service-map=grpc-queryservice,grpc-tabletmanager,grpc-updatestream",
		"--heartbeat-on-demand-duration=5s",
		"--config-file-not-found-handling=ignore",
	)
}

// vtorcArgs are VTOrc's flags: in cell, serving HTTP on addr.
func vtorcArgs(topo []string, cell, addr string, http int, c vtorcConfig) []string {
	args := append(append([]string{}, topo...), logArgs...)
	args = append(args, "--cell="+cell, "--port="+strconv.Itoa(http), "--bind-address="+addr)
	return append(args, c.args()...)
}

// gatePorts are a vtgate's ports.
type gatePorts struct {
	HTTP, GRPC, MySQL int
}

// vtgateArgs are the flags of cell's vtgate, which watches every cell
// and listens on addr.
func vtgateArgs(topo []string, cl cell, cells []string, addr string, p gatePorts, cfg config) []string {
	args := append(append([]string{}, topo...), logArgs...)
	return append(args,
		"--cell="+cl.Name,
		"--cells-to-watch="+strings.Join(cells, ","),
		"--tablet-types-to-wait=PRIMARY",
		"--port="+strconv.Itoa(p.HTTP), "--grpc-port="+strconv.Itoa(p.GRPC),
		"--bind-address="+addr, "--grpc-bind-address="+addr,
		"--mysql-server-port="+strconv.Itoa(p.MySQL),
		"--mysql-server-bind-address="+addr,
		"--mysql-auth-server-impl=none",
		"--service-map=grpc-vtgateservice",
		"--transaction-mode="+cfg.TransactionMode,
		"--tablet-refresh-interval=5s",
		"--enable-buffer="+strconv.FormatBool(cfg.Buffer),
	)
}

// topoServerArgs are the topology server's flags (an etcd member alone):
// client and peer addresses, its data directory and the cluster token.
func topoServerArgs(clientAddr, peerAddr, dataDir, token string) []string {
	return []string{
		"--name=topo",
		"--data-dir=" + dataDir,
		"--listen-client-urls=http://" + clientAddr,
		"--advertise-client-urls=http://" + clientAddr,
		"--listen-peer-urls=http://" + peerAddr,
		"--initial-advertise-peer-urls=http://" + peerAddr,
		"--initial-cluster=topo=http://" + peerAddr,
		"--initial-cluster-token=" + token,
		"--log-level=warn",
	}
}
