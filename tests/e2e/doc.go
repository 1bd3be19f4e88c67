// Package e2e is faultline's end-to-end suite (build tag e2e): it boots
// the three-zone kind cluster of kind-configs/three-zones.yaml through an
// e2e-framework provider (platform/kind/e2ekind), deploys etcd on it, and
// runs etcd scenarios through the real runner (scenarios.Run) with a
// node kill, a zone outage, a zone partition and inter-zone latency. Each
// must pass, lose no acknowledged write, and have a measured RTO. The
// same holds with the faults carried out by Chaos Mesh (label
// injector:chaos-mesh: PodChaos pod-kill, pod-failure and container-kill
// of the leader, NetworkChaos partition of a zone and bandwidth cap of the
// leader (peers rest: a lone tbf, seen on the node), TimeChaos, and
// StressChaos CPU and memory on the leader (memStress's memory seen on
// the node)), installed from its module's chart with the images
// `faultline images build chaos-mesh` makes; an interrupted run must leave
// no experiment behind, and latency, loss and bandwidth towards chosen
// peers must be refused before the load where the kernel has no
// sch_netem, IOChaos where the daemon image lacks toda. Label
// platform:existing runs etcd on the same cluster as platform existing,
// through its kubeconfig: `faultline doctor --platform existing`, the
// refusal of every fault without --allow-destructive, and a pod-delete of
// the leader plus a Chaos Mesh zone partition with it. Vitess (label
// engine:vitess) runs on the same cluster without its operator, from
// faultline's image (`faultline images build vitess`): two primary node
// kills, a partition and an outage of the primary's zone (the built-in
// scenarios), and the primary's tablet pod deleted through the Kubernetes
// API and killed by Chaos Mesh, each with no lost write and a measured
// RTO. For the
// operator-managed engines (cloudnativepg, cockroachdb, etcd through
// etcd-operator) it installs the upstream CRDs of FAULTLINE_SHARED/schemas,
// has the API server accept every object faultline generates in a
// server-side dry run, and checks that a deploy whose images the nodes
// cannot pull fails within 60 s naming the image.
//
// It is configured by environment variables:
//
//	FAULTLINE_DOCKER_HOST  the Docker daemon that runs the nodes (default: as `faultline run` picks it, scenarios.PrepareKind:
//	                       $DOCKER_HOST if it can run privileged containers, else faultline's own daemon)
//	FAULTLINE_NODE_IMAGE   the kind node image (default: the local build of `make images`, else kind's official image)
//	FAULTLINE_ETCD_IMAGE   the etcd image, loaded into the nodes (default: the local build, else etcd's official image, pulled)
//	FAULTLINE_E2E_OUT      where run directories and junit.xml go (default a new temporary directory)
//	FAULTLINE_E2E_CLUSTER  the kind cluster's name (default faultline-e2e)
//	FAULTLINE_SHARED       the shared notes and schemas (default ../shared from the repository root)
//
// Run it with
//
//	go test -tags e2e -timeout 40m ./tests/e2e/ -ginkgo.v
//
// and select by label: -ginkgo.label-filter='fault:kill', 'engine:cloudnativepg',
// 'injector:chaos-mesh' or 'platform:existing'.
package e2e
