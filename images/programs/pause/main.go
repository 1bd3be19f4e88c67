// Command pause holds a pod's namespaces, as the Kubernetes pause image
// does: it reaps orphaned children and exits on SIGINT or SIGTERM. It is
// built into the registry.k8s.io/pause image of faultline's kind node.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGINT, syscall.SIGTERM)
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, syscall.SIGCHLD)
	for {
		select {
		case <-term:
			os.Exit(0)
		case <-chld:
			reap()
		}
	}
}

// reap collects every child that has exited.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
