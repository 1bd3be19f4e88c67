package local

import (
	"errors"
	"os/exec"
	"runtime"
)

// spawner starts every process of a cluster from one OS thread that lives
// as long as the cluster. The kernel sends Pdeathsig when the thread that
// forked a child exits, not the process; the Go runtime ends a thread
// when a goroutine locked to it returns, so a process started from a
// caller's locked goroutine (network namespace code locks threads) would
// be killed when that goroutine ended. The spawner's own thread ends only
// after Delete, when Pdeathsig is what we want.
type spawner struct {
	reqs chan spawnReq
	quit chan struct{}
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), quit: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	// Never unlocked: when loop returns, the thread goes with it.
	runtime.LockOSThread()
	for {
		select {
		case r := <-s.reqs:
			r.done <- r.cmd.Start()
		case <-s.quit:
			return
		}
	}
}

// start starts cmd on the spawner's thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
		return <-r.done
	case <-s.quit:
		return errors.New("the cluster is deleted")
	}
}

// stop ends the spawner's thread; it is called once.
func (s *spawner) stop() { close(s.quit) }
