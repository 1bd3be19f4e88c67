package main

import (
	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/local"
)

// agents are the helper programs the faultline binary runs when it
// re-executes itself (see internal/agent).
func agents() map[string]agent.Func {
	m := map[string]agent.Func{
		// An etcd member on a node of the local platform.
		etcd.AgentName: etcd.Agent,
		// The reachability probe that shows partitions work on a host.
		local.ProbeAgentName: local.ProbeAgent,
		// The packet delayer of latency faults and region latency, in a
		// node's network namespace.
		delayer.AgentName: delayer.Agent,
	}
	// The OCI runtime shim of faultline's own Docker daemon.
	for name, f := range dockerd.Agents() {
		m[name] = f
	}
	return m
}
