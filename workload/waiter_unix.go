//go:build unix

package workload

import "golang.org/x/sys/unix"

// poll waits up to ms milliseconds (-1: for ever) for fd to be ready; an
// interrupted wait is not ready, for the caller to wait again.
func poll(fd int, write bool, ms int) (bool, error) {
	events := int16(unix.POLLIN)
	if write {
		events = unix.POLLOUT
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := unix.Poll(fds, ms)
	if err == unix.EINTR {
		return false, nil
	}
	return n > 0, err
}
